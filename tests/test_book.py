"""Checks of the built HTML book (run by `make test` right after the strict build).

These read the files in _build/html; the browser test (MathJax rendering, images,
toggles) is separate.
"""
import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    if not (HTML / "book" / "intro.html").exists():
        pytest.fail("the book is not built: run `make book` (or `make test`) first")
    return {f: (HTML / f"{f}.html").read_text(encoding="utf-8") for f in _toc_files()}


def test_every_toc_entry_was_built(pages):
    for name, text in pages.items():
        assert "<h1" in text, f"{name}.html has no title"


def test_preface_has_claims_table_math_and_launch_buttons(pages):
    intro = pages["book/intro"]
    assert "Kernels vs. Features" in intro
    assert intro.count("<tr") >= 10, "the claims table is missing"
    assert "tangent space of the initialization" in intro
    assert "\\nabla_\\btheta" in intro, "display math did not reach the page for MathJax"
    assert "mybinder.org" in intro, "Binder launch button missing"
    assert "thebe" in intro.lower(), "Thebe live-code button missing"
    assert "kernels-vs-features" in intro, "repository button missing"


def test_notebook_outputs_have_no_errors_or_stderr(pages):
    for name, text in pages.items():
        assert "Traceback" not in text, f"{name}: a traceback reached the page"
        assert "cudart_stub" not in text and "absl::" not in text, f"{name}: TensorFlow log lines"
        assert "output stderr" not in text, f"{name}: stderr output in the page"
        assert "Warning:" not in text, f"{name}: a warning reached an output"


def test_environment_cell_agrees_with_closed_form(pages):
    m = re.search(r"neural-tangents NTK ([0-9.]+), closed form ([0-9.]+)", pages["book/intro"])
    assert m, "the preface's environment cell did not print its check"
    assert abs(float(m.group(1)) - float(m.group(2))) < 1e-9


def test_api_appendix_lists_every_public_module(pages):
    api = pages["book/appendix_api"]
    modules = sorted(
        p.stem for p in (ROOT / "code" / "widenets").glob("*.py") if not p.stem.startswith("_")
    ) + sorted(
        p.name for p in (ROOT / "code" / "widenets").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    )
    for mod in modules:
        assert f"widenets.{mod}" in api, f"widenets.{mod} is missing from the API appendix"


def test_execution_statistics_and_bibliography(pages):
    assert "Execution statistics" in pages["book/appendix_execution"]
    assert "intro" in pages["book/appendix_execution"]
    assert "Jacot" in pages["book/bibliography"]


def _figure_cells(md: str) -> int:
    """Executed code cells of a chapter that draw a figure (assign ``fig``)."""
    count = 0
    for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", md, flags=re.S):
        if "skip-execution" in cell or "remove-output" in cell or "remove-cell" in cell:
            continue
        if re.search(r"^fig\b[^=\n]*=", cell, flags=re.M):
            count += 1
    return count


def test_every_figure_cell_shows_its_figure(pages):
    # a figure created but never displayed (e.g. the inline backend's interactive flag lost)
    # leaves no image in the page: each figure-drawing cell must show at least one
    for name, text in pages.items():
        expected = _figure_cells((ROOT / f"{name}.md").read_text(encoding="utf-8"))
        shown = len(re.findall(r'<img[^>]+src="[^"]*_images/', text))
        assert shown >= expected, f"{name}: {expected} cells draw a figure but the page shows {shown} images"
