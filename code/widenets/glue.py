"""Numbers a chapter records for other pages of the book (chapter 11's summary table).

:func:`glue` stores a value's display data in the executed notebook, exactly as
``myst_nb.glue(name, value, display=False)`` does, so that another page can quote it with
myst-nb's ``glue:text`` role and a target such as ``05_transfer.md::key:.2f``. It is written
here because importing ``myst_nb`` in a kernel costs about 3 s (it pulls in docutils and the
MyST parser), once per chapter; the format it writes is myst-nb's (papermill's "scrapbook" convention), checked
against ``myst_nb.glue`` by the tests.
"""
from __future__ import annotations

from typing import Any

#: The mime-type prefix of a value recorded without being displayed (myst-nb, papermill).
GLUE_PREFIX = "application/papermill.record/"


def glue_bundle(name: str, value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (mimebundle, metadata) pair that records ``value`` under ``name``, not displayed.

    numpy scalars are converted to Python numbers first, so that the stored text is ``0.5``
    rather than ``np.float64(0.5)`` (myst-nb's ``{glue:text}`` parses the text as a literal).
    """
    import IPython.core.formatters

    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    bundle, metadata = IPython.core.formatters.format_display_data(value)
    metadata = dict(metadata, scrapbook={"name": name, "mime_prefix": GLUE_PREFIX})
    return {GLUE_PREFIX + k: v for k, v in bundle.items()}, metadata


def glue(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` in the running notebook's outputs (shows nothing)."""
    from IPython.display import display

    bundle, metadata = glue_bundle(name, value)
    display(bundle, raw=True, metadata=metadata)
