"""muTransfer: learning-rate sweeps across widths, best-lr extraction, and what transfer saves.

Tensor Programs V (Yang et al. 2022) observe that under the maximal-update parametrization
(muP) the optimal hyperparameters of a network, the learning rate first of all, do not depend
on its width, whereas under the standard parametrization (SP) they drift. So one can tune a
narrow *proxy* and copy the learning rate to the wide *target* ("muTransfer").

This module measures that on digits with the book's MLPs:

* :func:`lr_sweeps` trains, for every width n in ``widths``, every learning rate
  eta = 2^k (k in the grid) and every seed, a network ``mlp.mlp(d, n, k, depth,
  parametrization, optimizer)`` for ``steps`` full-batch steps of :func:`train.gradient_descent`
  or :func:`train.adam` (per-layer factors :meth:`mlp.MLP.lr_scales`) on the squared loss
  of a class-balanced subsample of digits. All parametrizations, learning rates and seeds
  of one width run in one call, ``jax.jit(jax.vmap(run))`` over a flat axis of runs,
  compiled once per width and optimizer (shapes change with the width), in float32. This
  works because the learning rate is passed inside the per-layer factors (so it can be
  traced) and because SP and muP are run in their equivalent form with all multipliers
  a_l = 0 (:func:`a_zero_form`), where they differ only in data: init scales and lr factors.
* Divergence is explicit: a run *diverged* if its loss trajectory contains nan/inf or its
  final loss exceeds its initial loss. :func:`best_lr_index` takes, per width, the
  learning rate with the lowest seed-mean final training loss among those where no seed
  diverged; :func:`lr_drift` is how many grid steps that best learning rate moves across
  widths.
* :func:`tuning_cost` counts the training runs and FLOPs of tuning the wide model directly
  against tuning a narrow proxy and training the wide model once.

Initialization is *nested*: one standard-normal draw of the widest network's shape per seed
(:func:`standard_normals`), of which the width-n network uses its first n hidden units,
scaled by n^{-b_l} as :meth:`mlp.MLP.init` does (:func:`nested_init`). The widths of one
seed therefore share their random numbers, which makes curves across widths comparable
(and costs one compilation of the random draw instead of one per width).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, data, mlp, plotting, train

#: The learning-rate grids (log2 eta, step 1) of the chapter, one per panel.
GRIDS: dict[tuple[str, str], tuple[float, ...]] = {
    ("sp", "sgd"): tuple(float(k) for k in range(-11, -1)),
    ("mup", "sgd"): tuple(float(k) for k in range(-5, 5)),
    ("sp", "adam"): tuple(float(k) for k in range(-12, -2)),
    ("mup", "adam"): tuple(float(k) for k in range(-8, 2)),
}

#: The arguments of the full-size sweep (run it on a GPU): every width 2^6..2^13, the whole
#: digits training set, 1000 steps, a finer grid (half steps), 5 seeds. See :func:`full_size_sweep`.
FULL_SIZE: dict[str, object] = dict(
    widths=tuple(2**k for k in range(6, 14)), n_train=None, steps=1000, n_seeds=5, grid_step=0.5
)


class Sweep(NamedTuple):
    """A learning-rate sweep. ``widths`` (W,), ``log2_lrs`` (L,); per (width, lr, seed):
    ``train_loss`` (W, L, S) final training loss (nan/inf where it blew up),
    ``initial_loss`` (W, L, S), ``test_accuracy`` (W, L, S), ``diverged`` (W, L, S) bool."""

    parametrization: str
    optimizer: str
    widths: np.ndarray
    log2_lrs: np.ndarray
    train_loss: np.ndarray
    initial_loss: np.ndarray
    test_accuracy: np.ndarray
    diverged: np.ndarray
    steps: int
    n_train: int
    depth: int


# --------------------------------------------------------------------------------------
# grids and initialization
# --------------------------------------------------------------------------------------
def lr_grid(log2_min: float, log2_max: float, step: float = 1.0) -> np.ndarray:
    """The grid log2(eta) = log2_min, log2_min + step, ..., log2_max (inclusive), shape (L,)."""
    step = _checks.positive(step, "step")
    lo, hi = float(log2_min), float(log2_max)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"log2_max must be a finite number >= log2_min, got {log2_min!r}, {log2_max!r}")
    m = int(round((hi - lo) / step))
    return lo + step * np.arange(m + 1)


def _check_widths(widths: Sequence[int]) -> np.ndarray:
    return np.asarray(_checks.positive_ints(widths, "widths", increasing=True))


def standard_normals(key: jax.Array, in_dim: int, width: int, out_dim: int, depth: int,
                     dtype=jnp.float32) -> list:
    """One N(0, 1) draw per parameter of the width-``width`` MLP: a list like params,
    layer l with ``w`` (fan_in, fan_out) and ``b`` (fan_out,), drawn as one flat vector."""
    dims = [in_dim] + [width] * depth + [out_dim]
    shapes = [((a, b), (b,)) for a, b in zip(dims[:-1], dims[1:])]
    total = sum(math.prod(sw) + math.prod(sb) for sw, sb in shapes)
    flat = jax.random.normal(key, (total,), dtype)
    out, i = [], 0
    for sw, sb in shapes:
        nw, nb = math.prod(sw), math.prod(sb)
        out.append({"w": flat[i:i + nw].reshape(sw), "b": flat[i + nw:i + nw + nb]})
        i += nw + nb
    return out


def _init_scales(net: mlp.MLP) -> list:
    """The factors n^{-b_l} (weights) and n^{-bias_b_l} (biases) of :meth:`mlp.MLP.init`."""
    n, p = float(net.width), net.param
    return [{"w": n ** (-p.b[l]), "b": n ** (-p.bias_b[l])} for l in range(net.depth + 1)]


def _nested(normals: list, width: int, depth: int, scales: list) -> list:
    out = []
    for l, layer in enumerate(normals):
        w, b = layer["w"], layer["b"]
        rows = w.shape[-2] if l == 0 else width
        cols = width if l < depth else w.shape[-1]
        out.append({"w": w[..., :rows, :cols] * scales[l]["w"], "b": b[..., :cols] * scales[l]["b"]})
    return out


def nested_init(net: mlp.MLP, normals: list) -> list:
    """Params of ``net`` from standard normals of a network at least as wide: keep the first
    ``net.width`` hidden units and scale layer l by n^{-b_l} (biases n^{-bias_b_l}), exactly
    as :meth:`mlp.MLP.init` scales its draws. ``normals`` may carry leading batch axes."""
    if len(normals) != net.depth + 1:
        raise ValueError(f"normals must have {net.depth + 1} layers, got {len(normals)}")
    if normals[0]["w"].shape[-1] < net.width or normals[0]["w"].shape[-2] != net.in_dim:
        raise ValueError(f"normals must be for in_dim {net.in_dim} and at least width {net.width}, "
                         f"got a first layer of shape {normals[0]['w'].shape}")
    return _nested(normals, net.width, net.depth, _init_scales(net))


def a_zero_form(param: mlp.Parametrization, optimizer: str) -> mlp.Parametrization:
    """The equivalent parametrization with every multiplier exponent a_l = 0.

    The abc symmetry (Yang & Hu 2021): a -> a + t, b -> b - t, c -> c - 2t (SGD) or
    c - t (Adam, which ignores the gradient's scale) leaves the trained function unchanged.
    With t = -a: b' = b + a, c' = c + 2a (SGD) or c + a (Adam), per layer and for biases.
    Then SP and muP differ only in init scales and learning-rate factors, which are *data*,
    so one compiled training function serves both. (Adam's eps breaks the symmetry at
    gradients of size ~eps.)
    """
    _checks.one_of(optimizer, mlp.OPTIMIZERS, "optimizer")
    k = 2.0 if optimizer == "sgd" else 1.0
    z = (0.0,) * len(param.a)
    return mlp.abc(
        z, [b + a for a, b in zip(param.a, param.b)], [c + k * a for a, c in zip(param.a, param.c)],
        bias_a=z, bias_b=[b + a for a, b in zip(param.bias_a, param.bias_b)],
        bias_c=[c + k * a for a, c in zip(param.bias_a, param.bias_c)], name=param.name + "-a0",
    )


# --------------------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------------------
def diverged(losses: np.ndarray) -> np.ndarray:
    """``losses`` (..., T): True where the trajectory has a nan/inf or ends above its start."""
    losses = np.asarray(losses)
    bad = ~np.all(np.isfinite(losses), axis=-1)
    with np.errstate(invalid="ignore"):
        worse = losses[..., -1] > losses[..., 0]
    return bad | worse


def _width_runner(net: mlp.MLP, optimizer: str, steps: int, x, y, x_test, labels_test):
    """The compiled sweep at one width: ``f(lrs (R,), seed (R,), normals (S, ...),
    init_scales (R, ...), lr_scales (R, ...))`` -> loss trajectories (R, steps + 1) and test
    accuracies (R,), one row per run. ``net`` is in :func:`a_zero_form`, so its forward
    pass is the same for every parametrization; they differ only in the scales passed in.
    (One flat vmap over runs compiles faster than nested vmaps over parametrization, lr, seed.)"""
    loss = train.mse_loss(net.apply, x, y)
    fit = train.gradient_descent if optimizer == "sgd" else train.adam

    def run(lr, seed, normals, init_scales, lr_scales):
        mine = jax.tree_util.tree_map(lambda z: z[seed], normals)
        params = _nested(mine, net.width, net.depth, init_scales)
        # the learning rate enters through the per-leaf factors so that it can be traced
        scales = jax.tree_util.tree_map(lambda s: lr * s, lr_scales)
        final, hist = fit(loss, params, steps, 1.0, scales)
        pred = jnp.argmax(net.apply(final, x_test), axis=1)
        return hist["loss"], jnp.mean(pred == labels_test)

    return jax.jit(jax.vmap(run, (0, 0, None, 0, 0)))


def lr_sweeps(
    parametrizations: Sequence[str],
    optimizer: str,
    widths: Sequence[int],
    grids: dict[str, Sequence[float]],
    key: jax.Array,
    n_seeds: int = 2,
    n_train: int | None = 128,
    steps: int = 30,
    depth: int = 1,
    activation: str = "relu",
    data_seed: int = 0,
) -> dict[str, Sweep]:
    """Train every (parametrization, width, learning rate, seed); returns {name: :class:`Sweep`}.

    Data: ``data.digits(seed=data_seed)`` (10 classes, centred one-hot targets), training set
    subsampled to ``n_train`` class-balanced examples (``None``: all 1257). Loss
    L = 1/(2N) sum ||f(x) - y||^2, full batch, ``steps`` steps of SGD or Adam
    (:mod:`widenets.train`) with learning rate eta = 2^k, k in ``grids[name]`` (all grids of
    the same length L), times :meth:`mlp.MLP.lr_scales` of the named parametrization.
    Seeds: ``jax.random.split(key, n_seeds)``, nested over widths (:func:`nested_init`).
    Each width is one compiled call, vmapped over parametrizations, learning rates and seeds
    (the parametrizations in :func:`a_zero_form`). Computed in float32.
    """
    names = tuple(parametrizations)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"parametrizations must be distinct names, got {parametrizations!r}")
    for name in names:
        _checks.one_of(name, ("sp", "mup"), "parametrization")
    _checks.one_of(optimizer, mlp.OPTIMIZERS, "optimizer")
    w = _check_widths(widths)
    g = []
    for name in names:
        if name not in grids:
            raise ValueError(f"grids has no learning-rate grid for {name!r}")
        grid = np.asarray(grids[name], dtype=np.float64)
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
            raise ValueError(f"grids[{name!r}] (log2_lrs) must be a non-empty 1-D sequence of finite numbers")
        g.append(grid)
    if len({grid.size for grid in g}) != 1:
        raise ValueError("the grids (log2_lrs) of all parametrizations must have the same length")
    n_seeds = _checks.positive_int(n_seeds, "n_seeds")
    steps = _checks.positive_int(steps, "steps")
    depth = _checks.positive_int(depth, "depth")
    _checks.prng_key(key)
    task = data.digits(seed=data_seed)
    if n_train is not None:
        task = data.subsample(task, _checks.positive_int(n_train, "n_train"), seed=data_seed)
    d, k = task.x_train.shape[1], task.y_train.shape[1]
    losses, accs = [], []

    def stack(trees):
        return jax.tree_util.tree_map(lambda *v: jnp.asarray(v, jnp.float32), *trees)

    # float32 throughout: half the memory traffic of float64, and enough for a loss curve
    with jax.enable_x64(False):
        x, y = jnp.asarray(task.x_train, jnp.float32), jnp.asarray(task.y_train, jnp.float32)
        xt, lt = jnp.asarray(task.x_test, jnp.float32), jnp.asarray(task.labels_test)
        normals = jax.vmap(lambda kk: standard_normals(kk, d, int(w[-1]), k, depth))(
            jax.random.split(key, n_seeds))
        n_p, n_l = len(names), g[0].size
        # one row per run, ordered (parametrization, lr, seed)
        lrs = jnp.asarray(np.repeat(2.0 ** np.stack(g).ravel(), n_seeds), jnp.float32)
        seed = jnp.asarray(np.tile(np.arange(n_seeds), n_p * n_l))
        per_run = np.repeat(np.arange(n_p), n_l * n_seeds)
        for n in w:
            nets = [mlp.mlp(d, int(n), k, depth, activation,
                            a_zero_form(mlp.parametrization(name, depth, optimizer), optimizer))
                    for name in names]
            run = _width_runner(nets[0], optimizer, steps, x, y, xt, lt)
            hist, acc = run(lrs, seed, normals, stack([_init_scales(nets[i]) for i in per_run]),
                            stack([nets[i].lr_scales() for i in per_run]))
            losses.append(np.asarray(hist, dtype=np.float64).reshape(n_p, n_l, n_seeds, steps + 1))
            accs.append(np.asarray(acc, dtype=np.float64).reshape(n_p, n_l, n_seeds))
    losses = np.stack(losses, axis=1)  # (P, W, L, S, T)
    accs = np.stack(accs, axis=1)
    return {
        name: Sweep(name, optimizer, w, g[i], losses[i, ..., -1], losses[i, ..., 0], accs[i],
                    diverged(losses[i]), steps, int(task.x_train.shape[0]), depth)
        for i, name in enumerate(names)
    }


def lr_sweep(parametrization: str, optimizer: str, widths: Sequence[int], log2_lrs: Sequence[float],
             key: jax.Array, **kwargs) -> Sweep:
    """One parametrization's :func:`lr_sweeps` on the grid ``log2_lrs``."""
    return lr_sweeps((parametrization,), optimizer, widths, {parametrization: log2_lrs}, key, **kwargs)[parametrization]


def chapter_sweeps(key: jax.Array, widths: Sequence[int] = (64, 128, 256, 512, 1024, 2048),
                   grids: dict | None = None, optimizers: Sequence[str] = ("sgd", "adam"),
                   **kwargs) -> dict[tuple[str, str], Sweep]:
    """The sweeps of the chapter's figure, keyed (parametrization, optimizer): SP and muP for
    each of ``optimizers``, on the grids :data:`GRIDS` (or ``grids``); ``kwargs`` go to
    :func:`lr_sweeps`."""
    grids = GRIDS if grids is None else grids
    out = {}
    for opt in optimizers:
        _checks.one_of(opt, mlp.OPTIMIZERS, "optimizers")
        res = lr_sweeps(("sp", "mup"), opt, widths, {p: grids[(p, opt)] for p in ("sp", "mup")}, key, **kwargs)
        out.update({(p, opt): s for p, s in res.items()})
    return out


def full_size_grids(step: float = 0.5, margin: float = 2.0) -> dict[tuple[str, str], tuple[float, ...]]:
    """The chapter's grids :data:`GRIDS` widened by ``margin`` on each side (wider nets and
    longer training move SP's optimum further) and refined to ``step``."""
    margin = _checks.nonnegative(margin, "margin")
    return {kp: tuple(lr_grid(g[0] - margin, g[-1] + margin, step)) for kp, g in GRIDS.items()}


def full_size_sweep(key: jax.Array, **overrides) -> dict[tuple[str, str], Sweep]:
    """The full-size version of the chapter's figure, for a GPU: :data:`FULL_SIZE`
    (widths 2^6..2^13, all 1257 training digits, 1000 full-batch steps, 5 seeds) on
    :func:`full_size_grids` (log2 lr in half steps). ``overrides`` replace any argument
    of :data:`FULL_SIZE` (e.g. ``steps=300``) or of :func:`lr_sweeps`."""
    cfg = dict(FULL_SIZE)
    cfg.update(overrides)
    grids = full_size_grids(cfg.pop("grid_step"))
    return chapter_sweeps(key, grids=grids, **cfg)


# --------------------------------------------------------------------------------------
# reading a sweep
# --------------------------------------------------------------------------------------
def mean_loss(sweep: Sweep) -> np.ndarray:
    """Seed-mean final training loss (W, L), +inf where any seed diverged."""
    return np.where(sweep.diverged.any(axis=2), np.inf, np.where(sweep.diverged, 0.0, sweep.train_loss).mean(axis=2))


def best_lr_index(sweep: Sweep) -> np.ndarray:
    """Per width, the grid index of the learning rate with the lowest :func:`mean_loss` (W,).
    Raises if every learning rate diverged at some width."""
    m = mean_loss(sweep)
    if np.any(np.all(~np.isfinite(m), axis=1)):
        bad = sweep.widths[np.all(~np.isfinite(m), axis=1)]
        raise ValueError(f"every learning rate diverged at widths {bad.tolist()}")
    return np.argmin(m, axis=1)


def best_log2_lr(sweep: Sweep) -> np.ndarray:
    """Per width, log2 of the best learning rate (W,)."""
    return sweep.log2_lrs[best_lr_index(sweep)]


def lr_drift(sweep: Sweep) -> int:
    """How many grid steps the best learning rate spans across widths: max - min index."""
    i = best_lr_index(sweep)
    return int(i.max() - i.min())


def transferred_loss(sweep: Sweep, proxy: int = 0) -> np.ndarray:
    """Seed-mean final training loss of every width at the best learning rate of the
    ``proxy``-th width (W,); inf where it diverged."""
    w = len(sweep.widths)
    if isinstance(proxy, bool) or not isinstance(proxy, (int, np.integer)) or not -w <= proxy < w:
        raise ValueError(f"proxy must be an integer index into the {w} widths (-{w} .. {w - 1}), got {proxy!r}")
    return mean_loss(sweep)[:, best_lr_index(sweep)[proxy]]


def summary(sweep: Sweep) -> str:
    """One line per width: best log2 lr, its loss, and the loss at the narrowest width's best lr."""
    best = best_log2_lr(sweep)
    m = mean_loss(sweep)
    tl = transferred_loss(sweep)
    i = best_lr_index(sweep)
    edge = " (a best lr is on the grid's edge: widen the grid)" if i.min() == 0 or i.max() == sweep.log2_lrs.size - 1 else ""
    lines = [f"{sweep.parametrization.upper()} + {sweep.optimizer}: grid log2 lr = "
             f"{sweep.log2_lrs[0]:g}..{sweep.log2_lrs[-1]:g} (step {np.diff(sweep.log2_lrs).min() if sweep.log2_lrs.size > 1 else 0:g}), "
             f"drift {lr_drift(sweep)} grid steps{edge}"]
    for j, n in enumerate(sweep.widths):
        lines.append(f"  width {n:5d}: best log2 lr {best[j]:+5.1f}, loss {m[j].min():.4f}, "
                     f"loss at the width-{sweep.widths[0]} lr {tl[j]:.4f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# cost accounting
# --------------------------------------------------------------------------------------
def flops_per_step(in_dim: int, width: int, out_dim: int, depth: int, n_train: int) -> float:
    """FLOPs of one full-batch training step: forward 2 N P multiply-adds counted as 2 FLOPs
    each, backward twice the forward, so 6 N P with P = d n + (L - 1) n^2 + n k weights."""
    for v, name in ((in_dim, "in_dim"), (width, "width"), (out_dim, "out_dim"),
                    (depth, "depth"), (n_train, "n_train")):
        _checks.positive_int(v, name)
    p = in_dim * width + (depth - 1) * width**2 + width * out_dim
    return 6.0 * n_train * p


def tuning_cost(proxy_width: int, target_width: int, n_lrs: int, n_seeds: int, steps: int,
                n_train: int, in_dim: int = 64, out_dim: int = 10, depth: int = 1) -> dict[str, float]:
    """Training runs and FLOPs of two ways to get a tuned wide model.

    * direct: sweep ``n_lrs`` learning rates x ``n_seeds`` seeds at ``target_width``;
    * muTransfer: the same sweep at ``proxy_width``, then one run at ``target_width``.

    Returns runs and FLOPs of each (``direct_runs``, ``direct_flops``, ``transfer_runs``,
    ``transfer_flops``, ``wide_runs_saved``) and ``saving`` = direct / transfer FLOPs.
    """
    for v, name in ((n_lrs, "n_lrs"), (n_seeds, "n_seeds"), (steps, "steps")):
        _checks.positive_int(v, name)
    if _checks.positive_int(proxy_width, "proxy_width") > _checks.positive_int(target_width, "target_width"):
        raise ValueError(f"proxy_width must be <= target_width, got {proxy_width} > {target_width}")
    wide = steps * flops_per_step(in_dim, target_width, out_dim, depth, n_train)
    narrow = steps * flops_per_step(in_dim, proxy_width, out_dim, depth, n_train)
    runs = n_lrs * n_seeds
    direct, transfer = runs * wide, runs * narrow + wide
    return {"direct_runs": runs, "direct_flops": direct, "transfer_runs": runs + 1,
            "transfer_wide_runs": 1, "transfer_flops": transfer, "wide_runs_saved": runs - 1,
            "saving": direct / transfer}


# --------------------------------------------------------------------------------------
# plotting
# --------------------------------------------------------------------------------------
def plot_sweep(ax, sweep: Sweep, cap: float | None = None, metric: str = "train_loss") -> None:
    """Loss (or test accuracy) against log2 learning rate, one curve per width, darker = wider.

    Diverged points are clipped to ``cap`` (default: 1.5 x the largest finite seed-mean loss)
    and marked with x; the best learning rate of each width is a filled dot.
    """
    _checks.one_of(metric, ("train_loss", "test_accuracy"), "metric")
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("viridis")
    m = mean_loss(sweep)
    best = best_lr_index(sweep)
    if metric == "train_loss":
        vals = m
        finite = vals[np.isfinite(vals)]
        cap = float(cap) if cap is not None else 1.5 * float(finite.max()) if finite.size else 1.0
    else:
        vals = np.where(sweep.diverged.any(axis=2), np.nan, sweep.test_accuracy.mean(axis=2))
    for j, n in enumerate(sweep.widths):
        # viridis up to 0.6 only: its light end has too little contrast on white
        color = cmap(0.6 * (1 - j / max(len(sweep.widths) - 1, 1)))
        div = ~np.isfinite(vals[j])
        shown = np.where(div, cap if metric == "train_loss" else np.nan, vals[j])
        ax.plot(sweep.log2_lrs, shown, linestyle=plotting.LINESTYLES[j % len(plotting.LINESTYLES)],
                color=color, label=f"width {n}")
        if metric == "train_loss":
            ax.plot(sweep.log2_lrs[div], np.full(div.sum(), cap), "x", color=color)
        ax.plot(sweep.log2_lrs[best[j]], shown[best[j]], "o", color=color)
    if metric == "train_loss":
        ax.set_yscale("log")
    name = {"sp": "SP", "mup": "μP"}[sweep.parametrization]
    plotting.label(ax, r"$\log_2$ learning rate", "training loss" if metric == "train_loss" else "test accuracy",
                   f"{name}, {'SGD' if sweep.optimizer == 'sgd' else 'Adam'}", legend=False)


def plot_sweeps(sweeps: dict[tuple[str, str], Sweep], metric: str = "train_loss"):
    """The chapter's 2 x 2 figure (rows SGD/Adam, columns SP/muP); returns ``(fig, axes)``."""
    fig, axes = plotting.figure(2, 2, height=6.4)
    with plotting.style():
        for ax, key in zip(axes, [("sp", "sgd"), ("mup", "sgd"), ("sp", "adam"), ("mup", "adam")]):
            plot_sweep(ax, sweeps[key], metric=metric)
        handles, labels = axes[1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5))
    return fig, axes
