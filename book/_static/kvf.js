// Kernels vs. Features: small page behaviours (loaded by book/_ext/kvf_fixes.py).
//
// 1. A solution's title toggles the solution. sphinx-exercise puts a link back to the exercise
//    in most of the title, so a click there jumped up the page and left the solution closed
//    (sphinx-togglebutton's handler then failed on the link). A click anywhere on the title now
//    toggles, through the toggle button that sphinx-togglebutton adds.
// 2. A click on a notebook figure opens the image full size in a new tab.
document.addEventListener("click", (event) => {
  const title = event.target.closest(".solution.dropdown > .admonition-title");
  if (title) {
    const button = title.querySelector("button.toggle-button");
    if (button && !event.target.closest("button.toggle-button")) {
      event.preventDefault();
      event.stopPropagation();
      button.click();
    }
    return;
  }
  const img = event.target.closest(".cell_output figure img");
  if (img && img.src) {
    window.open(img.src, "_blank", "noopener");
  }
}, true);
