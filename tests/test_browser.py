"""The built book in a real browser: headless Chromium (Debian's) driven by Playwright.

For every page in _toc.yml it checks that MathJax typeset every formula (no raw ``$$`` or
``\\begin`` left in the text), that every image loaded, that solution toggles open, that the
launch buttons are there, and that the book's own files log no console errors. It saves a
screenshot of each page under ``test-artifacts/screenshots/``.

The machine has no network, so the MathJax that the pages load from a CDN is served from
the copy in the ``django-static-mathjax`` package (MathJax 3.2.2, pinned in requirements.txt);
every other outside request is refused.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p["chapters"]]


def _mathjax_dir() -> Path:
    import mathjax  # from django-static-mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax"


@pytest.fixture(scope="module")
def server():
    if not (HTML / "book" / "intro.html").exists():
        pytest.fail("the book is not built: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        msg = (f"Chromium not found at {CHROMIUM}: install Debian's browser with "
               "`make browser` (runs `apt-get install chromium`), or set CHROMIUM=/path/to/chromium")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _route(mathjax_dir: Path, origin: str):
    def handle(route):
        url = route.request.url
        if url.startswith(origin):
            return route.continue_()
        if "/mathjax@3/" in url:
            rel = url.split("/mathjax@3/", 1)[1].split("?", 1)[0]
            path = mathjax_dir / rel
            if path.is_file():
                return route.fulfill(path=str(path))
        return route.abort()

    return handle


@pytest.fixture(scope="module")
def rendered(server, browser):
    """Open every page once; return {page: facts} gathered in the browser."""
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    mj = _mathjax_dir()
    facts = {}
    for name in _toc_pages():
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m, e=errors: e.append(f"console {m.type}: {m.text} @ {m.location.get('url', '')}")
                if m.type == "error" and m.location.get("url", "").startswith(server) else None)
        page.on("pageerror", lambda exc, e=errors: e.append(f"page error: {exc}"))
        page.route("**/*", _route(mj, server))
        page.goto(f"{server}/{name}.html", wait_until="load")
        if page.query_selector("script[src*='mathjax']"):  # Sphinx loads MathJax only where there is math
            page.wait_for_function(
                "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)", timeout=30000)
            page.evaluate("() => MathJax.startup.promise.then(() => true)")
        info = page.evaluate(
            """() => {
            const art = document.querySelector('article') || document.body;
            const clone = art.cloneNode(true);
            clone.querySelectorAll('pre, code, .highlight, mjx-container, script').forEach(n => n.remove());
            const text = clone.innerText;
            const imgs = [...art.querySelectorAll('img')].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
            return {
              raw_dollars: text.includes('$$'),
              raw_begin: text.includes('\\\\begin'),
              raw_inline: /\\$[^$\\s][^$]*\\\\[a-zA-Z]+[^$]*\\$/.test(text),
              math_nodes: art.querySelectorAll('.math').length,
              typeset: art.querySelectorAll('mjx-container').length,
              mjx_errors: art.querySelectorAll('mjx-merror').length,
              // MathJax's noundefined extension typesets an unknown macro as red text, not as an
              // error node: walk the typeset math for both (undefined macros, parse errors)
              bad_math: (() => {
                const bad = [];
                const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
                if (!doc || !doc.math) return bad;
                for (const item of doc.math) {
                  if (!item.root) continue;
                  item.root.walkTree((node) => {
                    if (node.isKind('merror') ||
                        (node.isKind('mtext') && node.attributes.get('mathcolor') === 'red')) {
                      bad.push(item.math.slice(0, 80));
                    }
                  });
                }
                return bad;
              })(),
              images: imgs,
              launch: !!document.querySelector('a[href*="mybinder.org"], .dropdown-launch-buttons'),
              thebe: !!document.querySelector('.thebe-launch-button, button[onclick*="initThebe"]'),
              has_code: art.querySelectorAll('.cell').length > 0,
              toggles: art.querySelectorAll('.solution.dropdown, details.solution, .solution.toggle').length,
            };
        }"""
        )
        # open every solution toggle and check that its body becomes visible
        opened = 0
        for sol in page.query_selector_all("article .solution.dropdown, article .solution.toggle"):
            # the chevron button: the title's centre is often sphinx-exercise's link back to the
            # exercise, which navigates instead of toggling (and trips sphinx-togglebutton's handler)
            button = sol.query_selector(".toggle-button") or sol.query_selector(".admonition-title, summary")
            if button is None:
                continue
            button.click()
            page.wait_for_timeout(150)
            body = sol.query_selector("section, .admonition-title ~ *")
            if body is not None and body.is_visible():
                opened += 1
        for det in page.query_selector_all("article details.solution"):
            det.query_selector("summary").click()
            if det.get_attribute("open") is not None:
                opened += 1
        info["opened"] = opened
        info["errors"] = errors
        page.screenshot(path=str(SHOTS / f"{name.replace('/', '_')}.png"), full_page=False)
        page.close()
        facts[name] = info
    return facts


def test_math_is_typeset(rendered):
    for name, f in rendered.items():
        assert not f["raw_dollars"], f"{name}: raw $$ left in the page text"
        assert not f["raw_begin"], f"{name}: raw \\begin left in the page text"
        assert not f["raw_inline"], f"{name}: raw inline $...$ math left in the page text"
        assert f["mjx_errors"] == 0, f"{name}: MathJax reported {f['mjx_errors']} errors (undefined macro?)"
        assert not f["bad_math"], f"{name}: formulas with undefined macros or errors: {f['bad_math']}"
        assert f["typeset"] >= f["math_nodes"], (
            f"{name}: {f['math_nodes']} formulas but only {f['typeset']} typeset by MathJax")
    assert rendered["book/intro"]["typeset"] > 5


def test_every_image_loads(rendered):
    for name, f in rendered.items():
        bad = [i["src"] for i in f["images"] if not i["ok"]]
        assert not bad, f"{name}: images failed to load: {bad}"


def test_solution_toggles_open(rendered):
    for name, f in rendered.items():
        assert f["opened"] == f["toggles"], f"{name}: {f['toggles']} solutions, {f['opened']} opened"


def test_launch_buttons_present(rendered):
    for name, f in rendered.items():
        if f["has_code"]:
            assert f["launch"], f"{name}: no Binder launch button"


def test_no_console_errors_from_the_book(rendered):
    for name, f in rendered.items():
        assert not f["errors"], f"{name}: " + "; ".join(f["errors"])
