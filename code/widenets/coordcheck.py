"""Coordinate checks and the regime map of abc-parametrizations.

A *coordinate check* (Tensor Programs V) trains networks of several widths for a few SGD
steps and records, for every layer, the mean absolute coordinate of its activations
x^l_t and of their change x^l_t - x^l_0. In a stable parametrization the activations stay
Theta(1); in a feature-learning one the change is Theta(1) too; in a kernel one it
vanishes like n^{-1/2}; with SP and a fixed learning rate it grows with width.

The *regime map* follows the one-parameter family of 1-hidden-layer parametrizations

    a = (0, 1/2 + r),  b = (0, 0),  c = (-2r, -2r),      0 <= r <= 1/2,

from the NTK parametrization (r = 0) to mean field / muP (r = 1/2): the output multiplier
is n^{-1/2-r}, and the learning rate n^{2r} keeps the output's update Theta(1). The
hidden pre-activations then move by Theta(n^{r-1/2}) relative to their size.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, _norms, mlp, plotting, scaling, train


class CoordCheck(NamedTuple):
    """Result of :func:`coord_check`. ``size[w, s, t, l]`` = mean ``|x^l_t|`` and
    ``change[w, s, t, l]`` = mean ``|x^l_t - x^l_0|`` for width ``widths[w]``, seed s, step t
    (0..steps) and layer l (hidden activations x^1..x^L, then the output f); shape
    (widths, seeds, steps + 1, L + 1)."""

    name: str
    widths: np.ndarray
    size: np.ndarray
    change: np.ndarray

    @property
    def diverged(self) -> np.ndarray:
        """(widths, seeds): True where the run blew up (a recorded size or change is nan or inf).
        Coordinate checks explore divergence on purpose (SP at large widths), so they report it
        here rather than warn."""
        return ~np.all(np.isfinite(self.size) & np.isfinite(self.change), axis=(2, 3))

    @property
    def layers(self) -> list[str]:
        """Layer labels: x^1 .. x^L, then f."""
        return [f"$x^{l + 1}$" for l in range(self.size.shape[-1] - 1)] + ["$f$"]


def _widths(widths) -> np.ndarray:
    return np.asarray(_checks.positive_ints(widths, "widths", min_len=2))


def coord_check(
    parametrization: str | mlp.Parametrization,
    x: jax.Array,
    y: jax.Array,
    widths: Sequence[int] = (64, 256, 1024, 4096),
    steps: int = 3,
    lr: float = 0.1,
    depth: int = 2,
    activation: str = "relu",
    seeds: int = 2,
    key: jax.Array | None = None,
    dtype=jnp.float32,
) -> CoordCheck:
    """Train an MLP of each width for ``steps`` full-batch SGD steps on (``x`` (N, d), ``y`` (N, k))
    with learning rate ``lr * n^{-c_l}`` and record its activations (see :class:`CoordCheck`).

    Uses ``dtype`` (float32 by default: the measured quantities are ratios of O(1) numbers).
    """
    _checks.finite_array(x, "x", ndim=2)
    _checks.finite_array(y, "y", ndim=2)
    _checks.same_length(x, y, "x", "y")
    widths = _widths(widths)
    steps = _checks.positive_int(steps, "steps")
    lr = _checks.positive(lr, "lr")
    seeds = _checks.positive_int(seeds, "seeds")
    key = jax.random.PRNGKey(0) if key is None else _checks.prng_key(key)
    xs, ys = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    sizes, changes = [], []
    name = parametrization if isinstance(parametrization, str) else parametrization.name
    for n in widths:
        net = mlp.mlp(x.shape[1], int(n), y.shape[1], depth, activation, parametrization)
        # one compiled step and record per width, whatever the parametrization: the network's
        # multipliers and learning-rate factors are traced arguments of a fixed base network
        base = mlp.mlp(x.shape[1], int(n), y.shape[1], depth, activation, "ntk")
        mults = jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype), net.multipliers())
        scales = jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype), net.lr_scales())
        s_w, c_w = [], []
        for s in range(seeds):
            p = net.init(jax.random.fold_in(key, s), dtype)
            recs = [_record(base, mults, p, xs)]
            for _ in range(steps):
                p = _sgd_step(base, float(lr), mults, scales, p, xs, ys)
                recs.append(_record(base, mults, p, xs))
            # averages in numpy: each eager jnp reduction would compile anew for every width
            rec = [np.stack([np.asarray(r[l], np.float64) for r in recs]) for l in range(len(recs[0]))]
            s_w.append([np.mean(np.abs(r), axis=(1, 2)) for r in rec])
            c_w.append([np.mean(np.abs(r - r[0]), axis=(1, 2)) for r in rec])
        sizes.append(np.transpose(np.asarray(s_w), (0, 2, 1)))
        changes.append(np.transpose(np.asarray(c_w), (0, 2, 1)))
    return CoordCheck(name, widths, np.asarray(sizes, np.float64), np.asarray(changes, np.float64))


@partial(jax.jit, static_argnums=(0, 1))
def _sgd_step(base, lr, mults, scales, p, xs, ys):
    """One SGD step p <- p - lr * scale * dL/dp of ``base`` run with multipliers ``mults``
    (the update of :func:`widenets.train.gradient_descent`)."""
    loss = train.squared_loss(lambda q, x: base.forward(q, x, mults).output, xs, ys)
    g = jax.grad(loss)(p)
    return jax.tree_util.tree_map(lambda a, sc, dd: a - lr * sc * dd, p, scales, g)


@partial(jax.jit, static_argnums=(0,))
def _record(base, mults, p, xs):
    """Activations x^1..x^L and output f of ``base`` run with multipliers ``mults``."""
    fw = base.forward(p, xs, mults)
    return list(fw.acts) + [fw.output]


def coord_slopes(result: CoordCheck, quantity: str = "change") -> np.ndarray:
    """Fitted exponent of ``quantity`` ("size" or "change") against width, per step and layer:
    shape (steps + 1, L + 1) (NaN where the quantity is 0, e.g. the change at step 0)."""
    _checks.one_of(quantity, ("size", "change"), "quantity")
    v = getattr(result, quantity)
    out = np.full(v.shape[2:], np.nan)
    for t in range(v.shape[2]):
        for l in range(v.shape[3]):
            vals = v[:, :, t, l]
            if np.all(vals > 0) and np.all(np.isfinite(vals)):
                out[t, l] = scaling.fit_power_law(result.widths, vals).slope
    return out


def plot_coord_check(results: Sequence[CoordCheck], quantity: str = "size", width: float = 11.0):
    """One row per parametrization, one panel per step: mean ``|coordinate|`` of ``quantity``
    ("size": x^l_t, "change": x^l_t - x^l_0, steps >= 1) against width, log-log, one line
    per layer. Returns the figure."""
    _checks.one_of(quantity, ("size", "change"), "quantity")
    if not results:
        raise ValueError("results must contain at least one CoordCheck")
    first = 0 if quantity == "size" else 1
    n_steps = results[0].size.shape[2]
    ncols = n_steps - first
    fig, axes = plotting.figure(ncols, len(results), width=width, height=2.3 * len(results))
    for row, res in enumerate(results):
        v = getattr(res, quantity)
        for col, t in enumerate(range(first, n_steps)):
            ax = axes[row * ncols + col]
            for l, lab in enumerate(res.layers):
                mean = v[:, :, t, l].mean(axis=1)
                ax.plot(res.widths, mean, label=lab, **plotting.series(l))
            ax.set_xscale("log", base=2)
            ax.set_xticks(np.asarray(res.widths)[::2])  # every other width: narrow panels
            ax.set_yscale("log")
            lo, hi = ax.get_ylim()
            if hi < 10 * lo:  # show flat lines as flat: every panel spans at least a decade
                mid = np.sqrt(lo * hi)
                ax.set_ylim(mid / np.sqrt(10), mid * np.sqrt(10))
            what = "mean $|x_t|$" if quantity == "size" else "mean $|x_t - x_0|$"
            plotting.label(ax, "width $n$", what if col == 0 else "",
                           f"{res.name}, step {t}", legend=False)
    handles, labels = axes[0].get_legend_handles_labels()
    with plotting.style():
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    return fig


# --------------------------------------------------------------------------------------
# The regime map: NTK (r = 0) -> muP (r = 1/2)
# --------------------------------------------------------------------------------------
def regime_family(r: float) -> mlp.Parametrization:
    """The 1-hidden-layer parametrization a = (0, 1/2 + r), b = (0, 0), c = (-2r, -2r)."""
    r = _checks.in_interval(r, "r", 0.0, 0.5, "[]")
    return mlp.abc((0.0, 0.5 + r), (0.0, 0.0), (-2 * r, -2 * r), name=f"r={r:g}")


def relative_feature_change(
    r: float,
    x: jax.Array,
    y: jax.Array,
    widths: Sequence[int] = (128, 512, 2048),
    steps: int = 5,
    lr: float = 0.05,
    activation: str = "tanh",
    seeds: int = 2,
    key: jax.Array | None = None,
) -> np.ndarray:
    """||h_T - h_0||_F / ||h_0||_F of the hidden pre-activations on ``x`` (N, d) after ``steps``
    SGD steps on ``y`` (N, k), for the family member ``r``; shape (widths, seeds). Float32."""
    _checks.finite_array(x, "x", ndim=2)
    _checks.finite_array(y, "y", ndim=2)
    _checks.same_length(x, y, "x", "y")
    widths = _widths(widths)
    steps = _checks.positive_int(steps, "steps")
    lr = _checks.positive(lr, "lr")
    seeds = _checks.positive_int(seeds, "seeds")
    key = jax.random.PRNGKey(0) if key is None else _checks.prng_key(key)
    param = regime_family(r)
    xs, ys = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    out = np.zeros((widths.size, seeds))
    for i, n in enumerate(widths):
        net = mlp.mlp(x.shape[1], int(n), y.shape[1], 1, activation, param, sigma_b=0.5)
        base = mlp.mlp(x.shape[1], int(n), y.shape[1], 1, activation, regime_family(0.0), sigma_b=0.5)
        mults = jax.tree_util.tree_map(jnp.float32, net.multipliers())
        scales = jax.tree_util.tree_map(jnp.float32, net.lr_scales())
        for s in range(seeds):
            p0 = net.init(jax.random.fold_in(key, s), jnp.float32)
            out[i, s] = float(_feature_change(base, steps, lr, mults, scales, p0, xs, ys))
    return out


@partial(jax.jit, static_argnums=(0, 1, 2))
def _feature_change(base, steps, lr, mults, scales, p0, xs, ys):
    """||h_T - h_0|| / ||h_0|| after ``steps`` SGD steps of the network ``base`` run with the
    member's multipliers ``mults`` and learning-rate factors ``scales`` (traced, so the family's
    members share one compiled program per width; their inits agree, since b = 0 for all r)."""
    apply = lambda p, x: base.forward(p, x, mults).output  # noqa: E731
    p, _ = train.gradient_descent(train.squared_loss(apply, xs, ys), p0, steps, lr, scales)
    h0, h = base.forward(p0, xs, mults).preacts[0], base.forward(p, xs, mults).preacts[0]
    return _norms.relative_change(h, h0)


class RegimeMap(NamedTuple):
    """Fitted exponents of the relative feature change vs width along the family:
    ``rs`` (m,), ``slopes`` (m,), ``stderr`` (m,), ``changes`` (m, widths, seeds)."""

    rs: np.ndarray
    widths: np.ndarray
    slopes: np.ndarray
    stderr: np.ndarray
    changes: np.ndarray


def regime_map(rs: Sequence[float], x: jax.Array, y: jax.Array, widths: Sequence[int] = (128, 512, 2048),
               **kwargs) -> RegimeMap:
    """:func:`relative_feature_change` for each r in ``rs`` and its fitted exponent (theory: r - 1/2)."""
    rs = np.asarray(_checks.finite_array(np.asarray(rs, np.float64), "rs", ndim=1))
    if rs.size < 1:
        raise ValueError("rs must be a non-empty 1-D sequence of numbers in [0, 0.5]")
    for r in rs:
        _checks.in_interval(r, "rs", 0.0, 0.5, "[]")
    widths = _widths(widths)
    ch = np.stack([relative_feature_change(r, x, y, widths, **kwargs) for r in rs])
    fits = [scaling.fit_power_law(widths, c) for c in ch]
    return RegimeMap(rs, widths, np.array([f.slope for f in fits]), np.array([f.stderr for f in fits]), ch)


def plot_regime_map(rmap: RegimeMap, width: float = 10.0):
    """Left: relative feature change vs width per r (log-log); right: fitted exponent vs r
    with the theory line r - 1/2. Returns the figure."""
    fig, axes = plotting.figure(2, width=width)
    for i, r in enumerate(rmap.rs):
        plotting.scaling_plot(axes[0], rmap.widths, rmap.changes[i], f"r={r:g}",
                              color=plotting.CYCLE[i % len(plotting.CYCLE)])
    plotting.label(axes[0], "width $n$", r"$\|h_T-h_0\|/\|h_0\|$", "relative feature change")
    rr = np.linspace(0, 0.5, 50)
    axes[1].plot(rr, rr - 0.5, ":", color=plotting.MODEL_COLORS["theory"], label="theory $r-1/2$")
    axes[1].errorbar(rmap.rs, rmap.slopes, yerr=rmap.stderr, fmt="o", color=plotting.MODEL_COLORS["mup"],
                     capsize=3, label="measured")
    axes[1].annotate("NTK", (0, -0.5), textcoords="offset points", xytext=(5, -12))
    axes[1].annotate(r"$\mu$P / MF", (0.5, 0), textcoords="offset points", xytext=(-45, 5))
    plotting.label(axes[1], "$r$ (output multiplier $n^{-1/2-r}$, lr $\\propto n^{2r}$)",
                   "exponent of feature change", "regime map")
    return fig
