"""Small Sphinx fixes for the book's build.

sphinx-thebe 0.3.1 registers its inline configuration script (``const THEBE_JS_URL = ...``)
both with the application and with the already-initialised HTML builder under Sphinx 7
(once with filename None, once with ""), so every page declared the constant twice and the
browser logged a SyntaxError. This extension drops duplicate scripts from each page.

It also adds the book's own page fixes, book/_static/kvf.css and kvf.js: math that scrolls
instead of being clipped, figure captions, result tables, and solution titles that toggle.
"""
from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

STATIC = Path(__file__).resolve().parents[1] / "_static"
#: the execution budgets of the book on a 2-core CPU (the execution-statistics appendix)
CHAPTER_BUDGET_S = 60.0
BOOK_BUDGET_S = 360.0


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (getattr(js, "filename", None) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique


class ExecutionBudget(SphinxPostTransform):
    """On the page with myst-nb's execution-statistics table: write its status column as words
    (its check-mark glyph is missing from common fonts), and add under the table the budget
    status computed from the measured run times in it."""

    default_priority = 9  # after myst-nb has built the table (8)

    def run(self, **kwargs) -> None:
        try:
            from myst_nb.sphinx_ import NbMetadataCollector
        except ImportError:  # pragma: no cover
            return
        data = NbMetadataCollector.get_doc_data(self.env)
        if not data.get(self.env.docname, {}).get("has_exec_table"):
            return
        for table in self.document.findall(nodes.table):
            if "✅" not in table.astext() and "❌" not in table.astext():
                continue
            for text in list(table.findall(nodes.Text)):
                if text.astext() in ("✅", "❌"):
                    text.parent.replace(text, nodes.Text("ok" if text.astext() == "✅" else "failed"))
            table.parent.insert(table.parent.index(table) + 1, _budget_paragraph(data))



def _budget_paragraph(data) -> nodes.paragraph:
    times = {doc: d["exec_data"].get("runtime") for doc, d in sorted(data.items()) if d.get("exec_data")}
    measured = {doc: t for doc, t in times.items() if t is not None}
    total = sum(measured.values())
    over = [f"{doc.rsplit('/', 1)[-1]} ({t:.0f} s)" for doc, t in measured.items() if t > CHAPTER_BUDGET_S]
    slowest = max(measured, key=measured.get) if measured else None
    parts = [f"Budget status, computed from the run times in this table: "]
    if over:
        parts.append(f"{len(over)} of {len(measured)} notebooks over the {CHAPTER_BUDGET_S:.0f} s budget "
                     f"({', '.join(over)}); ")
    elif measured:
        parts.append(f"all {len(measured)} notebooks within the {CHAPTER_BUDGET_S:.0f} s budget (slowest: "
                     f"{slowest.rsplit('/', 1)[-1]}, {measured[slowest]:.0f} s); ")
    verdict = "within" if total <= BOOK_BUDGET_S else "over"
    parts.append(f"{total:.0f} s in all, {verdict} the {BOOK_BUDGET_S:.0f} s budget for the whole book.")
    if len(measured) < len(times):
        parts.append(f" {len(times) - len(measured)} notebooks have no recorded run time.")
    para = nodes.paragraph(text="".join(parts))
    para["classes"].append("kvf-budget-status")
    return para


def _add_static(app, config):
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("config-inited", _add_static)
    app.add_css_file("kvf.css")
    app.add_js_file("kvf.js")
    app.add_post_transform(ExecutionBudget)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
