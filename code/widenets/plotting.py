"""The house style of the book's figures, and the plots every chapter shares.

One look for every figure: a colour-blind-safe palette (Okabe & Ito, with the light orange,
sky blue and pink darkened to at least 3.5:1 contrast on white), markers and line styles that
tell series apart in greyscale, labelled axes, legends beside the data rather than on it, and
log-log axes with the fitted exponent printed wherever a scaling law is shown.

Figures are drawn for the book's content column: :data:`CONTENT_WIDTH_PX` pixels (the text
column of the HTML book in a 1280 px window) at :data:`DPI`, so they are shown at their natural
size and a ``FONT_PT`` size of ``s`` points appears as ``s * DPI / 72`` pixels. No text is smaller
than :data:`MIN_FONT_PT`; :func:`figure` checks this whenever a figure is drawn and warns
otherwise. Rows of more than :data:`MAX_COLUMNS` panels are folded into a grid.

Figures are created inside :func:`style` so the style never leaks into a reader's own plots.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from typing import Iterator, Sequence

import importlib
import types

import matplotlib
import numpy as np
from matplotlib import ticker, transforms

from widenets import _checks, scaling


class _Pyplot(types.ModuleType):
    """``matplotlib.pyplot``, imported when a figure is first drawn, not when widenets is.

    pyplot costs about 1.6x the import time of JAX (backend selection, font cache), which every
    chapter and test process would otherwise pay on ``import widenets.<module>``.
    """

    def __getattr__(self, attr):
        return getattr(importlib.import_module("matplotlib.pyplot"), attr)


plt = _Pyplot("matplotlib.pyplot (imported on first use)")

#: Okabe-Ito palette, safe for the common forms of colour blindness; orange, sky and purple
#: are darker than Okabe & Ito's originals (2.3:1, 2.3:1, 3.1:1 against white) so that every
#: colour used for a series has at least 3.5:1 contrast on the white page.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#A86400",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#3B8BC2",
    "purple": "#AA4499",
    "yellow": "#F0E442",
    "black": "#000000",
}
CYCLE: list[str] = [PALETTE[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky", "black")]
#: Markers and line styles that go with :data:`CYCLE`, so series differ without colour too.
MARKERS: list[str] = ["o", "s", "^", "D", "v", "P", "X"]
LINESTYLES: list = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1))]

#: The colour of each parametrization or model, the same in every chapter.
MODEL_COLORS: dict[str, str] = {
    "sp": PALETTE["orange"],
    "ntk": PALETTE["blue"],
    "nngp": PALETTE["sky"],
    "mup": PALETTE["vermillion"],
    "mf": PALETTE["purple"],
    "linearized": PALETTE["green"],
    "theory": PALETTE["black"],
}
#: Marker and line style of each model, so that models differ in greyscale as well.
MODEL_MARKERS: dict[str, str] = {"sp": "v", "ntk": "o", "nngp": "^", "mup": "s", "mf": "D",
                                 "linearized": "P", "theory": ""}
MODEL_LINESTYLES: dict[str, object] = {"sp": "-.", "ntk": "-", "nngp": ":", "mup": "--",
                                       "mf": (0, (5, 1, 1, 1)), "linearized": "--", "theory": ":"}

#: Resolution of the figures (the PNGs carry it), and the width of the book's content column.
DPI: int = 110
CONTENT_WIDTH_PX: int = 688
CONTENT_WIDTH_IN: float = CONTENT_WIDTH_PX / DPI
#: Panels per row at most: wider rows are folded into a grid.
MAX_COLUMNS: int = 2
#: Font sizes (points) of the house style; MIN_FONT_PT is the smallest text in any figure.
FONT_PT: dict[str, float] = {"base": 9.5, "title": 10.0, "label": 9.5, "tick": 8.5, "legend": 8.5,
                             "small": 8.0, "suptitle": 10.5}
MIN_FONT_PT: float = 8.0
#: The smallest text of a figure shown at its natural size, in CSS pixels.
MIN_FONT_PX: float = MIN_FONT_PT * DPI / 72

RC: dict[str, object] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (CONTENT_WIDTH_IN, 0.62 * CONTENT_WIDTH_IN),
    "figure.constrained_layout.use": True,
    "font.size": FONT_PT["base"],
    "axes.titlesize": FONT_PT["title"],
    "axes.labelsize": FONT_PT["label"],
    "xtick.labelsize": FONT_PT["tick"],
    "ytick.labelsize": FONT_PT["tick"],
    "figure.titlesize": FONT_PT["suptitle"],
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
    "legend.frameon": False,
    "legend.fontsize": FONT_PT["legend"],
    "legend.title_fontsize": FONT_PT["legend"],
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
}


def series(i: int) -> dict:
    """Colour, marker and line style of the ``i``-th series (``ax.plot(..., **series(i))``)."""
    i = int(i)
    return {"color": CYCLE[i % len(CYCLE)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def model_style(name: str) -> dict:
    """Colour, marker and line style of a parametrization or model (keys of MODEL_COLORS)."""
    return {"color": MODEL_COLORS.get(name, PALETTE["black"]), "marker": MODEL_MARKERS.get(name, "o"),
            "linestyle": MODEL_LINESTYLES.get(name, "-")}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager: figures created inside it use the house style.

    ``rc_context`` restores *every* rcParam on exit, including ``interactive``, which
    Jupyter's inline backend switches on when it is first activated (possibly inside this
    context). Restoring it to the pre-context value would stop later figures from being
    displayed, so the interactive state reached inside the context is kept.
    """
    with plt.rc_context(RC):
        yield
        interactive = matplotlib.is_interactive()
    matplotlib.interactive(interactive)


def smallest_font_pt(fig) -> float:
    """The size in points of the smallest visible, non-empty text in ``fig`` (inf if none)."""
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and _shown(t)]
    return float(min(sizes)) if sizes else math.inf


def _shown(artist) -> bool:
    ax = getattr(artist, "axes", None)
    return ax is None or ax.get_visible()


def _check_fonts(event) -> None:
    fig = event.canvas.figure
    smallest = smallest_font_pt(fig)
    fig._kvf_smallest_font_pt = smallest
    if smallest < MIN_FONT_PT - 1e-9:
        warnings.warn(f"figure text of {smallest:g} pt is below the house minimum of {MIN_FONT_PT:g} pt",
                      stacklevel=2)


def figure(ncols: int = 1, nrows: int = 1, width: float = CONTENT_WIDTH_IN, height: float | None = None):
    """A new figure with ``nrows x ncols`` axes in the house style; returns ``(fig, axes)``
    with ``axes`` a flat array of ``nrows * ncols`` axes in reading order.

    The figure is at most :data:`CONTENT_WIDTH_IN` wide (a larger ``width`` is reduced to it), so
    it is shown at its natural size in the book. A single row of more than :data:`MAX_COLUMNS`
    panels is folded into rows of two (unused grid cells are hidden). ``height`` is for the
    requested layout; the height per row defaults to about 0.45 * the figure's width (at least
    2.6 in), and is kept between 2.4 and 3.4 in when the layout is folded."""
    ncols = _checks.positive_int(ncols, "ncols")
    nrows = _checks.positive_int(nrows, "nrows")
    width = min(_checks.positive(width, "width"), CONTENT_WIDTH_IN)
    if height is not None:
        height = _checks.positive(height, "height")
    count = ncols * nrows
    gcols, grows = ncols, nrows
    if nrows == 1 and ncols > MAX_COLUMNS:
        gcols, grows = MAX_COLUMNS, -(-ncols // MAX_COLUMNS)
    per_row = max(2.6, 0.9 * width / gcols) if height is None else height / nrows
    if (gcols, grows) != (ncols, nrows):
        per_row = min(max(per_row, 2.4), 3.4)
    with style():
        fig, axes = plt.subplots(grows, gcols, figsize=(width, per_row * grows), squeeze=False)
    axes = axes.ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    fig.canvas.mpl_connect("draw_event", _check_fonts)
    return fig, axes[:count]


def scaling_plot(
    ax,
    widths: Sequence[float],
    values: np.ndarray,
    label: str,
    color: str | None = None,
    theory_slope: float | None = None,
    marker: str | None = None,
    linestyle=None,
) -> scaling.PowerLawFit:
    """Plot ``values`` against ``widths`` on log-log axes with the fitted power law.

    ``values`` is (m,) or (m, seeds) (mean shown, spread as error bars). The legend entry
    reads ``label (slope s ± se)``; a dotted line of slope ``theory_slope`` through the
    first point is drawn if given. The k-th series on ``ax`` gets ``series(k)``'s colour,
    marker and (fit-line) style unless given. Returns the fit.
    """
    w = np.asarray(widths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    fit = scaling.fit_power_law(w, v)
    mean, spread = scaling.mean_and_spread(v, axis=1) if v.ndim == 2 else (v, np.zeros_like(v))
    k = getattr(ax, "_kvf_series", 0)
    ax._kvf_series = k + 1
    st = series(k)
    color = color or st["color"]
    marker = marker or st["marker"]
    linestyle = st["linestyle"] if linestyle is None else linestyle
    with style():
        ax.errorbar(w, mean, yerr=spread if v.ndim == 2 else None, fmt=marker, color=color,
                    capsize=2, label=f"{label} (slope {fit.slope:+.2f} ± {fit.stderr:.2f})")
        ax.plot(w, fit.predict(w), linestyle=linestyle, color=color, alpha=0.7)
        if theory_slope is not None:
            anchor = mean[0]
            ax.plot(w, anchor * (w / w[0]) ** theory_slope, ":", color=MODEL_COLORS["theory"],
                    label=f"theory: slope {theory_slope:+.2f}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    return fit


def place_legend(ax, ncol: int | None = None, **kwargs):
    """The house legend: below the axes (under the x label), never on the data. ``ncol``
    defaults to 2 when there are more than 3 entries on a wide axes, else 1."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if ncol is None:
        wide = ax.get_position().width * ax.figure.get_figwidth() > 4.0
        ncol = 2 if (len(labels) > 3 and wide) else 1
    kwargs.setdefault("fontsize", FONT_PT["legend"])
    below = transforms.offset_copy(ax.transAxes, fig=ax.figure, y=-38, units="points")
    with style():
        return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                         bbox_transform=below, ncol=ncol, borderaxespad=0.0, **kwargs)


def legend_in_free_cell(ax, **kwargs):
    """Draw ``ax``'s legend in the first hidden cell of its figure's grid (the free fourth cell
    when :func:`figure` folds three panels into 2 x 2), or below ``ax`` if there is none."""
    free = [a for a in ax.figure.axes if not a.get_visible()]
    if not free:
        return place_legend(ax, **kwargs)
    key = free[0]
    key.set_visible(True)
    key.axis("off")
    kwargs.setdefault("fontsize", FONT_PT["legend"])
    with style():
        return key.legend(*ax.get_legend_handles_labels(), loc="center", **kwargs)


class _SparseLogFormatter(ticker.LogFormatterSciNotation):
    """Minor tick labels of a base-10 log axis at 2 and 5 times a power of ten only (matplotlib
    labels 2, 3, 4 and 6, which run into each other on a narrow axis); every minor tick is
    labelled only when less than 0.15 decades are shown."""

    def set_locs(self, locs=None):
        super().set_locs(locs)
        if self._sublabels is not None and len(self._sublabels) > 3:
            self._sublabels = {1.0, 2.0, 5.0}


def label(ax, xlabel: str, ylabel: str, title: str | None = None, legend: bool = True) -> None:
    """Set the axis labels (and title), keep log-axis minor tick labels from colliding, and
    draw the house legend (:func:`place_legend`, below the axes) if any artist has a label."""
    with style():
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log" and getattr(axis.get_transform(), "base", 10) == 10:
            axis.set_minor_formatter(_SparseLogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.15)))
    if legend and any(not h.startswith("_") for h in ax.get_legend_handles_labels()[1]):
        place_legend(ax)


def results_table(rows: Sequence[Sequence[object]], columns: Sequence[str], caption: str | None = None) -> str:
    """A table of results as HTML in the book's table style (display it with
    ``IPython.display.HTML``): ``rows`` of already formatted cells under ``columns``, numbers
    right-aligned, with an optional caption."""
    import html

    if not columns:
        raise ValueError("columns must name at least one column")
    for r in rows:
        if len(r) != len(columns):
            raise ValueError(f"every row must have {len(columns)} cells, got {len(r)}: {r!r}")

    def cell(tag, v, first):
        align = "" if first else ' style="text-align: right"'
        return f"<{tag}{align}>{html.escape(str(v))}</{tag}>"

    head = "".join(cell("th", c, i == 0) for i, c in enumerate(columns))
    body = "".join("<tr>" + "".join(cell("td", v, i == 0) for i, v in enumerate(r)) + "</tr>" for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="table kvf-results">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")
