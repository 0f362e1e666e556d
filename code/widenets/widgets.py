"""Interactive explorers (ipywidgets) of the book, with their logic in pure functions.

Each explorer is split in three so that it can be tested without a browser:
a pure function that computes what is drawn (``*_curves``), a function that draws it on
matplotlib axes (``draw_*``), and a function that builds the ipywidgets UI (``*_explorer``).
A static grid of the same drawing (``*_static_figure``) stands beside each explorer for
readers of the HTML book, where no Python kernel runs.
"""
from __future__ import annotations

import warnings
from functools import lru_cache
from typing import NamedTuple, Sequence

import jax
import numpy as np

from widenets import _checks, data, linearization, mlp, plotting

#: The slider ranges of :func:`linearization_explorer`.
WIDTH_EXPONENTS = (5, 12)  # widths 2^5 .. 2^12
LEARNING_RATES = (0.05, 2.0)


class ExplorerCurves(NamedTuple):
    """What the linearization explorer draws, for one width and learning rate.

    ``t_test`` (M,) angles of the test grid; ``f0``, ``f_net``, ``f_lin`` (M,) outputs at
    initialization and after training; ``t_train`` (N,), ``y_train`` (N,) the data;
    ``loss_net``, ``loss_lin`` (steps + 1,) training losses; ``max_gap`` the largest
    ``|f_net - f_lin|`` over training and test points; ``weight_change`` ||theta_T - theta_0||/||theta_0||.
    """

    t_test: np.ndarray
    f0: np.ndarray
    f_net: np.ndarray
    f_lin: np.ndarray
    t_train: np.ndarray
    y_train: np.ndarray
    loss_net: np.ndarray
    loss_lin: np.ndarray
    max_gap: float
    weight_change: float


@lru_cache(maxsize=64)
def _curves(width: int, lr: float, steps: int, seed: int, n_train: int) -> ExplorerCurves:
    r = data.regression_1d(n_train, 100, seed=0)
    net = mlp.mlp(2, width, 1, 1, "relu", "ntk")
    with warnings.catch_warnings():
        # the explorer is for finding where training diverges: it reports it (max_gap = inf)
        warnings.simplefilter("ignore", _checks.DivergenceWarning)
        run = linearization.train_pair(
            net, r.x_train, r.y_train, r.x_test, steps, lr, jax.random.PRNGKey(seed), 1, np.float32
        )
    gap = np.abs(run.f_net - run.f_lin)
    return ExplorerCurves(
        r.t_test, run.f_net[0, 0, :, 0], run.f_net[0, -1, :, 0], run.f_lin[0, -1, :, 0],
        r.t_train, r.y_train[:, 0], run.loss_net[0], run.loss_lin[0],
        float(np.nan_to_num(gap.max(), nan=np.inf)), float(run.weight_change[0]),
    )


def linearization_curves(
    width: int, lr: float, steps: int = 150, seed: int = 0, n_train: int = 16
) -> ExplorerCurves:
    """Train an NTK-parametrized ReLU MLP of ``width`` and its linearization with GD at ``lr``
    on :func:`widenets.data.regression_1d` (``n_train`` points) and return the curves
    (cached, float32). Diverging runs give non-finite losses and ``max_gap = inf``."""
    width = _checks.positive_int(width, "width")
    lr = _checks.positive(lr, "lr")
    steps = _checks.positive_int(steps, "steps")
    n_train = _checks.positive_int(n_train, "n_train")
    return _curves(width, float(lr), steps, int(seed), n_train)


def draw_linearization(axes, c: ExplorerCurves, width: int, lr: float) -> None:
    """Draw ``c`` on two axes: functions after training, and training losses."""
    ax, bx = axes
    ax.plot(c.t_test, c.f0, color="0.6", lw=1, label="$f_0$")
    ax.plot(c.t_test, c.f_net, color=plotting.MODEL_COLORS["ntk"], label="network")
    ax.plot(c.t_test, c.f_lin, "--", color=plotting.MODEL_COLORS["linearized"], label="linearization")
    ax.plot(c.t_train, c.y_train, "k.", ms=7, label="data")
    lo, hi = np.nanmin(c.y_train) - 1.5, np.nanmax(c.y_train) + 1.5
    ax.set_ylim(lo, hi)
    plotting.label(ax, "input angle $t$ (rad)", "output $f(x)$",
                   f"$n={width}$, $\\eta={lr:g}$: max gap {c.max_gap:.3g}")
    bx.plot(np.clip(c.loss_net, 1e-12, 1e6), color=plotting.MODEL_COLORS["ntk"], label="network")
    bx.plot(np.clip(c.loss_lin, 1e-12, 1e6), "--", color=plotting.MODEL_COLORS["linearized"], label="linearization")
    bx.set_yscale("log")
    plotting.label(bx, "GD step", "training loss", f"weight change {c.weight_change:.3g}")


def linearization_static_figure(
    combos: Sequence[tuple[int, float]] = ((32, 0.5), (2048, 0.5), (32, 1.0)), steps: int = 150
):
    """A grid of :func:`draw_linearization` panel pairs, one per (width, lr) in ``combos``:
    the HTML reader's version of :func:`linearization_explorer`. Returns the figure."""
    combos = list(combos)
    if not combos:
        raise ValueError("combos must contain at least one (width, lr) pair")
    fig, axes = plotting.figure(ncols=4, nrows=(len(combos) + 1) // 2, width=13.0)
    for i, (w, lr) in enumerate(combos):
        draw_linearization(axes[2 * i: 2 * i + 2], linearization_curves(w, lr, steps), w, lr)
    for ax in axes[2 * len(combos):]:
        ax.set_visible(False)
    return fig


def linearization_explorer(steps: int = 150):
    """An ipywidgets UI: sliders for log2(width) and the learning rate, redrawing
    :func:`draw_linearization`. Returns the ``ipywidgets.VBox`` (display it in Jupyter)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    steps = _checks.positive_int(steps, "steps")
    width_slider = w.IntSlider(value=7, min=WIDTH_EXPONENTS[0], max=WIDTH_EXPONENTS[1],
                               description="log2 width", continuous_update=False)
    lr_slider = w.FloatLogSlider(value=0.5, base=10, min=np.log10(LEARNING_RATES[0]),
                                 max=np.log10(LEARNING_RATES[1]), step=0.05,
                                 description="learning rate", continuous_update=False)
    out = w.Output()

    def redraw(*_):
        n, lr = 2 ** width_slider.value, lr_slider.value
        with out:
            out.clear_output(wait=True)
            fig, axes = plotting.figure(ncols=2, width=10.0)
            draw_linearization(axes, linearization_curves(n, lr, steps), n, lr)
            plt.show()

    width_slider.observe(redraw, names="value")
    lr_slider.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([width_slider, lr_slider]), out])
