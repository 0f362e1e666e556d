"""The house style of the book's figures, and the plots every chapter shares.

One look for every figure: a colour-blind-safe palette (Okabe & Ito), labelled axes,
log-log axes with the fitted exponent printed wherever a scaling law is shown. Figures are
created inside :func:`style` so the style never leaks into a reader's own plots.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from widenets import _checks, scaling

#: Okabe-Ito palette, safe for the common forms of colour blindness.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
CYCLE: list[str] = [PALETTE[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky", "black")]

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

RC: dict[str, object] = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.figsize": (6.0, 4.0),
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
}


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


def figure(ncols: int = 1, nrows: int = 1, width: float = 6.0, height: float | None = None):
    """A new figure with ``nrows x ncols`` axes in the house style; returns ``(fig, axes)``
    with ``axes`` always a flat array. ``height`` defaults to 0.7 * width / ncols per row."""
    ncols = _checks.positive_int(ncols, "ncols")
    nrows = _checks.positive_int(nrows, "nrows")
    width = _checks.positive(width, "width")
    if height is None:
        height = max(2.6, 0.72 * width / ncols) * nrows
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    return fig, axes.ravel()


def scaling_plot(
    ax,
    widths: Sequence[float],
    values: np.ndarray,
    label: str,
    color: str | None = None,
    theory_slope: float | None = None,
    marker: str = "o",
) -> scaling.PowerLawFit:
    """Plot ``values`` against ``widths`` on log-log axes with the fitted power law.

    ``values`` is (m,) or (m, seeds) (mean shown, spread as error bars). The legend entry
    reads ``label (slope s ± se)``; a dotted line of slope ``theory_slope`` through the
    first point is drawn if given. Returns the fit.
    """
    w = np.asarray(widths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    fit = scaling.fit_power_law(w, v)
    mean, spread = scaling.mean_and_spread(v, axis=1) if v.ndim == 2 else (v, np.zeros_like(v))
    color = color or CYCLE[len(ax.lines) % len(CYCLE)]
    ax.errorbar(w, mean, yerr=spread if v.ndim == 2 else None, fmt=marker, color=color,
                capsize=2, label=f"{label} (slope {fit.slope:+.2f} ± {fit.stderr:.2f})")
    ax.plot(w, fit.predict(w), "-", color=color, alpha=0.7)
    if theory_slope is not None:
        anchor = mean[0]
        ax.plot(w, anchor * (w / w[0]) ** theory_slope, ":", color=MODEL_COLORS["theory"],
                label=f"theory: slope {theory_slope:+.2f}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    return fit


def label(ax, xlabel: str, ylabel: str, title: str | None = None, legend: bool = True) -> None:
    """Set the axis labels (and title), and draw the legend if any artist has a label."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend and any(not h.startswith("_") for h in ax.get_legend_handles_labels()[1]):
        ax.legend()
