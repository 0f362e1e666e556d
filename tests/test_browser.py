"""The built book in a real browser: headless Chromium (Debian's) driven by Playwright.

For every page in _toc.yml it checks that MathJax typeset every formula (no raw ``$$`` or
``\\begin`` left in the text), that every image loaded, that solution toggles open (by a click
on the solution's title, as the preface tells readers), that the launch buttons are there, and
that the book's own files log no console errors. The page as a reader sees it: every figure of a
chapter is numbered and captioned and has alt text that is not a file path, and its smallest text
(the house style's smallest font, at the DPI the PNG records, scaled by the width the browser
shows it at) is at least ``MIN_FIGURE_FONT_PX``; no typeset formula is clipped at 1280 px or
390 px (it fits in its box, or a box around it scrolls); no code cell scrolls sideways at 1280 px;
no raw TeX in the navigation; no doubled reference words ("Proposition Proposition"); a search for
"μP" finds pages. It saves screenshots of each page (1280 px and 390 px, and each chapter's first
figure) under ``test-artifacts/screenshots/`` and the measurements in
``test-artifacts/page-report.json``.

The machine has no network, so the MathJax that the pages load from a CDN is served from
the copy in the ``django-static-mathjax`` package (MathJax 3.2.2, pinned in requirements.txt);
every other outside request is refused.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "test-artifacts" / "screenshots"
REPORT = ROOT / "test-artifacts" / "page-report.json"
#: the smallest text a figure may show at 1280 px, in CSS pixels
MIN_FIGURE_FONT_PX = 9.0
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


# Layout facts gathered in the page at a given window width.
LAYOUT_JS = r"""() => {
  const art = document.querySelector('article') || document.body;
  const vw = document.documentElement.clientWidth;
  // a box clips what pokes out of it when its overflow is hidden or clip; a box that scrolls
  // (auto/scroll) with the content inside its scroll range shows all of it to a reader
  const clipped = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return null;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const st = getComputedStyle(a);
      const ox = st.overflowX;
      if (ox === 'auto' || ox === 'scroll') return null;
      if (ox === 'hidden' || ox === 'clip') {
        const b = a.getBoundingClientRect();
        if (r.right > b.right + 1 || r.left < b.left - 1) return a.tagName.toLowerCase() + '.' + [...a.classList].join('.');
      }
    }
    if (r.right > vw + 1) return 'the window';
    return null;
  };
  const math = [];
  for (const m of art.querySelectorAll('mjx-container')) {
    // the typeset formula itself (mjx-math), against every box around it up to the window
    const where = clipped(m.querySelector('mjx-math') || m);
    if (where) {
      const sect = m.closest('section');
      math.push({where: where, section: sect ? sect.id : '', display: m.getAttribute('display') === 'true',
                 width: Math.round((m.querySelector('mjx-math') || m).getBoundingClientRect().width)});
    }
  }
  const code = [...art.querySelectorAll('.cell_input pre')].filter(p => p.scrollWidth > p.clientWidth + 1)
    .map(p => ({first: p.innerText.split('\n')[0].slice(0, 60), over: p.scrollWidth - p.clientWidth}));
  return {math_clipped: math, math_total: art.querySelectorAll('mjx-container').length, code_wide: code,
          code_total: art.querySelectorAll('.cell_input pre').length,
          page_scrolls: document.documentElement.scrollWidth > vw + 1};
}"""

FIGURES_JS = r"""() => {
  const art = document.querySelector('article') || document.body;
  return [...art.querySelectorAll('.cell_output img')].map(i => {
    const fig = i.closest('figure');
    const cap = fig ? fig.querySelector('figcaption') : null;
    const num = cap ? cap.querySelector('.caption-number') : null;
    return {src: i.getAttribute('src'), url: i.src, alt: i.getAttribute('alt') || '',
            caption: cap ? cap.innerText.trim() : '', number: num ? num.innerText.trim() : '',
            id: fig ? fig.id : '', shown: i.getBoundingClientRect().width, natural: i.naturalWidth};
  });
}"""


def _figure_font(fig: dict, server: str) -> dict:
    """The smallest text of a figure as shown: the house style's smallest font (points) at the
    DPI the PNG records, times the shown / natural width."""
    from widenets import plotting

    path = HTML / urlparse(fig["url"]).path.lstrip("/")
    dpi = _png_dpi(path) if path.is_file() else None
    out = {"dpi": dpi}
    if dpi and fig["natural"]:
        out["smallest_font_px"] = round(plotting.MIN_FONT_PT * dpi / 72 * fig["shown"] / fig["natural"], 2)
    return out


def _png_dpi(path: Path) -> float | None:
    """The DPI a PNG records (its pHYs chunk, pixels per metre), or None."""
    data = path.read_bytes()
    i = data.find(b"pHYs")
    if i < 0:
        return None
    ppu_x = int.from_bytes(data[i + 4:i + 8], "big")
    unit = data[i + 12]
    return ppu_x * 0.0254 if unit == 1 else None


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
        stem = name.replace("/", "_")
        info.update(page.evaluate(
            """() => {
            const art = document.querySelector('article') || document.body;
            const nav = document.querySelector('.bd-sidebar-primary, nav.bd-docs-nav');
            return {nav_text: nav ? nav.innerText : '', title: document.title,
                    article_text: art.innerText};
        }"""))
        info["figures"] = page.evaluate(FIGURES_JS)
        for fig in info["figures"]:
            fig.update(_figure_font(fig, server))
        page.screenshot(path=str(SHOTS / f"{stem}.png"), full_page=False)
        first_fig = page.query_selector("article .cell_output figure, article .cell_output img")
        if first_fig is not None:
            first_fig.scroll_into_view_if_needed()
            first_fig.screenshot(path=str(SHOTS / f"{stem}-figure1.png"))
        # open every solution by a click on its title (the preface tells readers to do this):
        # the body must show, and the click must not navigate away (the title holds a link
        # back to the exercise)
        opened = 0
        for sol in page.query_selector_all("article .solution.dropdown, article .solution.toggle"):
            title = sol.query_selector(".admonition-title, summary")
            if title is None:
                continue
            url = page.url
            title.scroll_into_view_if_needed()
            title.click()
            page.wait_for_timeout(150)
            body = sol.query_selector("section, .admonition-title ~ *")
            if body is not None and body.is_visible() and page.url == url:
                opened += 1
        for det in page.query_selector_all("article details.solution"):
            det.query_selector("summary").click()
            if det.get_attribute("open") is not None:
                opened += 1
        info["opened"] = opened
        # with every solution open, so that their formulas are measured too
        info["wide"] = page.evaluate(LAYOUT_JS)
        page.set_viewport_size(NARROW)
        page.wait_for_timeout(300)
        page.evaluate("() => window.scrollTo(0, 0)")
        info["narrow"] = page.evaluate(LAYOUT_JS)
        page.screenshot(path=str(SHOTS / f"{stem}-390px.png"), full_page=False)
        info["errors"] = errors
        page.close()
        facts[name] = info
    _write_report(facts)
    return facts


def _write_report(facts: dict) -> None:
    """Measurements for a reader of the test run: test-artifacts/page-report.json."""
    report = {}
    for name, f in facts.items():
        report[name] = {
            "figures": [{k: fig[k] for k in ("number", "id", "shown", "natural", "smallest_font_px")
                         if k in fig} for fig in f["figures"]],
            "math_total": f["wide"]["math_total"],
            "math_clipped_1280": f["wide"]["math_clipped"],
            "math_clipped_390": f["narrow"]["math_clipped"],
            "code_cells": f["wide"]["code_total"],
            "code_wide_1280": f["wide"]["code_wide"],
        }
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False))


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


def _chapters(rendered) -> dict:
    return {n: f for n, f in rendered.items() if re.match(r"book/\d\d_", n)}


def test_every_chapter_figure_is_numbered_captioned_and_described(rendered):
    figures = 0
    for name, f in _chapters(rendered).items():
        for fig in f["figures"]:
            figures += 1
            where = f"{name}: figure {fig['src']}"
            assert fig["number"].startswith("Fig"), f"{where} has no figure number"
            assert len(fig["caption"]) > len(fig["number"]) + 20, f"{where} has no caption"
            assert fig["id"], f"{where} has no name to refer to it by"
            alt = fig["alt"]
            assert len(alt) >= 30 and not re.search(r"\.(png|svg|jpe?g)$|^\.\./|_images/", alt), (
                f"{where}: its alt text does not say what it shows: {alt!r}")
    assert figures >= 20, f"only {figures} figures found in the chapters"


def test_figure_text_is_readable_at_1280px(rendered):
    from widenets import plotting

    for name, f in _chapters(rendered).items():
        for fig in f["figures"]:
            where = f"{name}: {fig['number'] or fig['src']}"
            assert fig["dpi"] is not None and abs(fig["dpi"] - plotting.DPI) < 1, (
                f"{where}: not drawn in the house style (PNG at {fig['dpi']} dpi, house {plotting.DPI})")
            assert fig["smallest_font_px"] >= MIN_FIGURE_FONT_PX, (
                f"{where}: smallest text {fig['smallest_font_px']} px on the page (shown {fig['shown']:.0f} px "
                f"of {fig['natural']} px); at least {MIN_FIGURE_FONT_PX} px needed")


def test_no_typeset_math_is_clipped(rendered):
    for name, f in rendered.items():
        for width in ("wide", "narrow"):
            bad = f[width]["math_clipped"]
            px = 1280 if width == "wide" else 390
            assert not bad, f"{name}: {len(bad)} formulas clipped at {px} px, e.g. {bad[:3]}"


def test_code_cells_fit_the_column_at_1280px(rendered):
    for name, f in rendered.items():
        wide = f["wide"]["code_wide"]
        assert not wide, f"{name}: {len(wide)} code cells scroll sideways at 1280 px: {wide[:3]}"


def test_navigation_has_no_raw_tex(rendered):
    for name, f in rendered.items():
        assert "\\(" not in f["nav_text"] and "\\muP" not in f["nav_text"], f"{name}: raw TeX in the sidebar"
        assert "\\(" not in f["title"] and "$" not in f["title"], f"{name}: raw TeX in the page title"


def test_no_doubled_reference_words(rendered):
    for name, f in rendered.items():
        text = f["article_text"]
        for word in ("Proposition", "Theorem", "Definition", "Lemma", "Exercise", "Solution", "Figure"):
            assert not re.search(rf"\b{word}\s+{word}\b", text, re.I), f"{name}: '{word} {word}' in the text"


def test_search_finds_mup(server, browser):
    page = browser.new_page(viewport=WIDE)
    page.route("**/*", _route(_mathjax_dir(), server))
    page.goto(f"{server}/search.html?q=%CE%BCP", wait_until="load")
    page.wait_for_selector("#search-results li, #search-results p", timeout=20000)
    page.wait_for_function("() => !document.querySelector('#search-progress') || "
                           "!document.querySelector('#search-progress').innerText.includes('Preparing')",
                           timeout=20000)
    page.wait_for_timeout(500)
    hits = page.evaluate("() => [...document.querySelectorAll('#search-results li a')].map(a => a.innerText)")
    page.screenshot(path=str(SHOTS / "search-muP.png"))
    page.close()
    assert any("μP" in h for h in hits), f"a search for μP finds no page titled with it: {hits[:5]}"
    assert not any("\\(" in h for h in hits), f"raw TeX in search results: {hits[:5]}"


def test_execution_appendix_states_what_its_table_is(rendered):
    text = rendered["book/appendix_execution"]["article_text"]
    assert "record of the machine that built this page" in text
    assert "Budget status, computed from the run times in this table" in text
    assert "✅" not in text and "❌" not in text, "status glyphs that common fonts lack"
    assert "repository's design" not in text


def test_result_tables_are_html_tables(rendered):
    text = rendered["book/08_feature_transfer"]["article_text"]
    assert "NNGP kernel regression (infinite width)" in text, "chapter 8's comparison table"
    assert "std. dev. over seeds" in text
    assert not re.search(r"linear_gp limit\s+0\.\d{3}", text), "the table is still a text dump"
