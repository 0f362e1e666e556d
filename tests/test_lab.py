"""The chapters as a JupyterLab user meets them: `make lab`'s server, a chapter opened by its path.

It starts the JupyterLab of the book's environment on a free localhost port (no token, the
root folder ``book/`` as in ``make lab``), opens a chapter's ``.md`` file by its URL in headless
Chromium, and checks that it opens as a notebook (jupytext's viewer, made the default for
Markdown by the settings postBuild writes) with code cells, and that jupyterlab-myst renders
its MyST: a theorem-like block and an exercise show as rendered blocks, not as raw fenced text.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).with_name("jupyter")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("lab") / "jupyterlab.log"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(log.parent / "runtime"))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(JUPYTER), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root",
             f"--ServerApp.root_dir={ROOT / 'book'}"],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_postbuild_settings_make_notebooks_the_default_viewer():
    import json

    settings = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    viewers = json.loads(settings.read_text())["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"


def test_a_chapter_opens_as_a_notebook_with_myst_rendered(lab_url):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{lab_url}/lab/tree/01_linearization.md", timeout=90_000)
        notebook = page.locator(".jp-NotebookPanel")
        notebook.locator(".jp-CodeCell").first.wait_for(timeout=90_000)
        # jupyterlab-myst renders a markdown cell's directives into blocks with their titles
        page.get_by_text("Definition 1", exact=False).first.wait_for(timeout=60_000)
        # JupyterLab renders only the cells near the viewport: scroll through the notebook and
        # collect what was shown on the way down to the exercises at its end
        # (the rendered MyST of a markdown cell is its div.myst; the cell's source stays in a
        # hidden editor beside it)
        rendered = notebook.locator(".jp-MarkdownCell .myst")
        seen, code_cells, proofs = "", 0, 0
        notebook.locator(".jp-WindowedPanel-outer, .jp-Notebook").first.hover()
        for _ in range(120):
            seen += "\n".join(rendered.all_inner_texts())
            code_cells = max(code_cells, notebook.locator(".jp-CodeCell").count())
            proofs = max(proofs, notebook.locator(".jp-MarkdownCell aside.myst-proof").count())
            if "Exercise" in seen and "Solution" in seen:
                break
            page.mouse.wheel(0, 800)
            page.wait_for_timeout(250)
        assert code_cells >= 2, "no code cells rendered"
        assert proofs >= 1, "no theorem-like block rendered by jupyterlab-myst"
        assert "Exercise" in seen, "the exercises at the end were not rendered as MyST blocks"
        for raw in ("```{prf:", "```{exercise", "```{solution", ":::{"):
            assert raw not in seen, f"raw MyST {raw!r} shown in the notebook"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "lab_01_linearization.png"))
        browser.close()
