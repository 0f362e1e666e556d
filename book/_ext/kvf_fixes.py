"""Small Sphinx fixes for the book's build.

sphinx-thebe 0.3.1 registers its inline configuration script (``const THEBE_JS_URL = ...``)
both with the application and with the already-initialised HTML builder under Sphinx 7
(once with filename None, once with ""), so every page declared the constant twice and the
browser logged a SyntaxError. This extension drops duplicate scripts from each page.
"""
from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
