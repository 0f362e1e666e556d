"""Experiments of chapters 1 and 2: how close a wide network stays to its linearization.

Each function trains or samples networks of several widths, vmapped over seeds, and returns
plain arrays; the ``plot_*`` functions draw them in the house style. Networks are the
NTK-parametrized MLPs of :mod:`widenets.mlp`, trained by full-batch gradient descent on
the loss of :func:`widenets.train.mse_loss`.

Measured quantities (theory for n -> infinity in brackets, Lee et al. 2019):

* ``max_gap``: max over training steps and evaluation points of ``|f_t(x) - f_lin_t(x)|``, the
  network against its linearization trained with the same GD from the same theta_0;
* ``weight_change``: ||theta_T - theta_0|| / ||theta_0|| of the network  [O(n^{-1/2})];
* ``ntk_error``: ||Theta_hat_0 - Theta||_F / ||Theta||_F, empirical NTK at init against the
  analytic one of :mod:`widenets.kernels`  [O(n^{-1/2}), a central limit fluctuation];
* ``ntk_change``: ||Theta_hat_T - Theta_hat_0||_F / ||Theta_hat_0||_F over training.

``dtype`` is float64 by default; the chapters pass float32 for the larger sweeps (the
gaps measured stay above 1e-5, far above float32 round-off of the outputs, ~1e-7).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, _norms, kernels, mlp, plotting, scaling, tangent, train


class PairRun(NamedTuple):
    """Network and linearization trained together, stacked over seeds (leading axis S).

    ``f_net``, ``f_lin``: (S, T+1, M, k) outputs on the evaluation points after each step;
    ``loss_net``, ``loss_lin``: (S, T+1) training losses; ``weight_change``: (S,)
    ||theta_T - theta_0|| / ||theta_0|| of the network; ``weight_change_lin``: (S,) the same
    for the linearized model."""

    f_net: np.ndarray
    f_lin: np.ndarray
    loss_net: np.ndarray
    loss_lin: np.ndarray
    weight_change: np.ndarray
    weight_change_lin: np.ndarray

    @property
    def max_gap(self) -> np.ndarray:
        """(S,) max over steps and evaluation points of ``|f_net - f_lin|``."""
        return np.max(np.abs(self.f_net - self.f_lin), axis=(1, 2, 3))


def _check_xy(x, y, x_eval, net=None, eval_name="x_eval"):
    _checks.matching_features(x, x_eval, "x", eval_name)
    _checks.matrix(y, "y")
    _checks.same_length(x, y, "x", "y")
    if net is not None:
        _checks.net_inputs(net, x)
        _checks.net_targets(net, y)


def _seeds(seeds):
    return _checks.positive_int(seeds, "seeds")


def train_pair(
    net: mlp.MLP,
    x: np.ndarray,
    y: np.ndarray,
    x_eval: np.ndarray,
    steps: int,
    lr: float,
    key: jax.Array,
    seeds: int = 1,
    dtype=jnp.float64,
    params0=None,
) -> PairRun:
    """Train ``net`` and its linearization around the same theta_0 with the same GD.

    For each of ``seeds`` keys split from ``key``: theta_0 = ``net.init`` (or, if given,
    ``params0``: parameters stacked over seeds, e.g. from :func:`nested_params`); the network
    minimises mse_loss(f) and the linearized model f_lin (:func:`widenets.tangent.linearize`)
    minimises mse_loss(f_lin), both by ``steps`` steps of GD with learning rate ``lr`` (times
    ``net.lr_scales()``). ``x`` (N, d), ``y`` (N, k), ``x_eval`` (M, d). One ``jit``, vmapped
    over seeds.
    """
    if not isinstance(net, mlp.MLP):
        raise ValueError(f"net must be a widenets.mlp.MLP, got {type(net).__name__}")
    _check_xy(x, y, x_eval, net)
    seeds = _seeds(seeds)
    _checks.nonnegative_int(steps, "steps")
    _checks.positive(lr, "lr")
    if params0 is None:
        _checks.prng_key(key)
    else:
        _checks.net_params(net, params0, "params0", stacked=True)
        if jax.tree_util.tree_leaves(params0)[0].shape[0] != seeds:
            raise ValueError(f"params0 must be stacked over seeds={seeds} networks on its leading axis, "
                             f"got {jax.tree_util.tree_leaves(params0)[0].shape[0]}")
    x, y, x_eval = (jnp.asarray(a, dtype) for a in (x, y, x_eval))
    scales = net.lr_scales()

    def run(p0):
        f_lin = tangent.linearize(net.apply, p0)
        loss_net = train.squared_loss(net.apply, x, y)
        loss_lin = train.squared_loss(f_lin, x, y)

        def loss(pp):
            return loss_net(pp[0]) + loss_lin(pp[1])

        def record(pp):
            return net.apply(pp[0], x_eval), f_lin(pp[1], x_eval), loss_net(pp[0]), loss_lin(pp[1])

        final, hist = train.gradient_descent(loss, (p0, p0), steps, lr, (scales, scales), record)
        fn, fl, ln, ll = hist["record"]
        return fn, fl, ln, ll, tangent.relative_change(final[0], p0), tangent.relative_change(final[1], p0)

    if params0 is None:
        params0 = net.init_many(jax.random.split(key, seeds), dtype)
    out = jax.jit(jax.vmap(run))(params0)
    run_ = PairRun(*(np.asarray(o, dtype=np.float64) for o in out))
    _checks.warn_if_diverged((run_.loss_net, run_.loss_lin), "train_pair: training")
    return run_


def nested_params(params, width: int):
    """The first ``width`` neurons of every hidden layer of ``params`` (a wider MLP's
    parameters, optionally stacked over seeds on a leading axis).

    In the NTK parametrization every trainable parameter is a standard normal whatever the
    width, so these are exactly distributed as ``mlp.mlp(..., width, ...).init``: the sweeps
    draw the widest network once (one compilation of the random draws instead of one per
    width) and nest the narrower ones inside it, which also correlates the widths like
    common random numbers."""
    width = _checks.positive_int(width, "width")
    depth = len(params) - 1
    if params[0]["b"].shape[-1] < width:
        raise ValueError(f"width={width} exceeds the width {params[0]['b'].shape[-1]} of params")
    out = []
    for l, p in enumerate(params):
        w, b = p["w"], p["b"]
        if l < depth:
            w = w[..., :width] if l == 0 else w[..., :width, :width]
            b = b[..., :width]
        else:
            w = w[..., :width, :]
        out.append({"w": w, "b": b})
    return out


class Sweep(NamedTuple):
    """Results over widths: ``widths`` (m,), ``max_gap`` and ``weight_change`` (m, S)."""

    widths: np.ndarray
    max_gap: np.ndarray
    weight_change: np.ndarray


def _widths(widths):
    return np.asarray(_checks.positive_ints(widths, "widths", min_len=2))


def linearization_sweep(
    x: np.ndarray,
    y: np.ndarray,
    x_eval: np.ndarray,
    widths: Sequence[int],
    steps: int,
    lr: float,
    key: jax.Array,
    seeds: int = 2,
    depth: int = 1,
    activation: str = "relu",
    dtype=jnp.float32,
) -> Sweep:
    """:func:`train_pair` at each width (NTK parametrization): the largest output gap between
    network and linearization, and the relative weight change, each (m, seeds). The
    networks of one seed are nested (:func:`nested_params`) in the widest one."""
    _check_xy(x, y, x_eval)
    widths = _widths(widths)
    seeds = _seeds(seeds)
    _checks.prng_key(key)
    widest = mlp.mlp(np.shape(x)[1], int(widths.max()), np.shape(y)[1], depth, activation, "ntk")
    big = widest.init_many(jax.random.split(key, seeds), dtype)
    gaps, changes = [], []
    for n in widths:
        net = mlp.mlp(np.shape(x)[1], int(n), np.shape(y)[1], depth, activation, "ntk")
        run = train_pair(net, x, y, x_eval, steps, lr, key, seeds, dtype, nested_params(big, int(n)))
        gaps.append(run.max_gap)
        changes.append(run.weight_change)
    return Sweep(widths, np.stack(gaps), np.stack(changes))


def ntk_convergence(
    x: np.ndarray,
    widths: Sequence[int],
    key: jax.Array,
    seeds: int = 4,
    depth: int = 1,
    activation: str = "relu",
    sigma_b: float = 0.0,
    dtype=jnp.float64,
) -> np.ndarray:
    """Relative Frobenius error ||Theta_hat_0 - Theta||_F / ||Theta||_F of the empirical NTK at
    initialization (one output) against :func:`widenets.kernels.ntk`, shape (m, seeds).
    Networks of one seed are nested in the widest (:func:`nested_params`)."""
    _checks.matrix(x, "x")
    widths = _widths(widths)
    seeds = _seeds(seeds)
    _checks.prng_key(key)
    exact = kernels.ntk(x, depth=depth, activation=activation, sigma_b=sigma_b)
    xx = jnp.asarray(x, dtype)
    widest = mlp.mlp(xx.shape[1], int(widths.max()), 1, depth, activation, "ntk", sigma_b=sigma_b)
    big = widest.init_many(jax.random.split(key, seeds), dtype)
    out = []
    for n in widths:
        net = mlp.mlp(xx.shape[1], int(n), 1, depth, activation, "ntk", sigma_b=sigma_b)

        def err(p):
            emp = tangent._empirical_ntk(net.apply, p, xx, None, True)
            return _norms.relative_change(emp, exact)

        out.append(np.asarray(jax.jit(jax.vmap(err))(nested_params(big, int(n))), dtype=np.float64))
    return np.stack(out)


def ntk_change(
    x: np.ndarray,
    y: np.ndarray,
    widths: Sequence[int],
    steps: int,
    lr: float,
    key: jax.Array,
    seeds: int = 2,
    depth: int = 1,
    activation: str = "relu",
    dtype=jnp.float64,
) -> np.ndarray:
    """Relative change ||Theta_hat_T - Theta_hat_0||_F / ||Theta_hat_0||_F of the empirical NTK
    on the training inputs over ``steps`` steps of GD on (x, y), shape (m, seeds)."""
    _check_xy(x, y, x)
    widths = _widths(widths)
    seeds = _seeds(seeds)
    _checks.nonnegative_int(steps, "steps")
    _checks.positive(lr, "lr")
    _checks.prng_key(key)
    xx, yy = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    widest = mlp.mlp(xx.shape[1], int(widths.max()), yy.shape[1], depth, activation, "ntk")
    big = widest.init_many(jax.random.split(key, seeds), dtype)
    out = []
    for n in widths:
        net = mlp.mlp(xx.shape[1], int(n), yy.shape[1], depth, activation, "ntk")

        def change(p0):
            pT, _ = train.gradient_descent(train.squared_loss(net.apply, xx, yy), p0, steps, lr, net.lr_scales())
            k0 = tangent._empirical_ntk(net.apply, p0, xx, None, True)
            kT = tangent._empirical_ntk(net.apply, pT, xx, None, True)
            return _norms.relative_change(kT, k0)

        out.append(np.asarray(jax.jit(jax.vmap(change))(nested_params(big, int(n))), dtype=np.float64))
    out = np.stack(out)
    _checks.warn_if_diverged(out, "ntk_change: training")
    return out


class FlowComparison(NamedTuple):
    """A trained network against the closed-form kernel prediction, on a time grid.

    ``steps`` (T,); ``f_net``: (T, M, k) network outputs on the test points; ``f_pred``:
    (T, M, k) continuous-time (gradient-flow) closed-form prediction with the analytic NTK;
    ``f_net_train`` and ``f_pred_train``: (T, N, k) the same on the training points;
    ``f_disc`` (T, M, k) and ``f_disc_train`` (T, N, k): the discrete-time prediction
    (I - eta Theta/N)^t, exact for ``steps`` of GD with the fixed analytic kernel."""

    steps: np.ndarray
    f_net: np.ndarray
    f_pred: np.ndarray
    f_net_train: np.ndarray
    f_pred_train: np.ndarray
    f_disc: np.ndarray
    f_disc_train: np.ndarray

    def errors(self) -> dict:
        """Max over test points of abs(a - b) at each recorded step, (T,) each:
        ``"network - discrete"`` (finite width), ``"network - continuous"`` and
        ``"continuous - discrete"`` (time discretisation)."""
        d = lambda a, b: np.max(np.abs(a - b), axis=(1, 2))  # noqa: E731
        return {"network - discrete": d(self.f_net, self.f_disc),
                "network - continuous": d(self.f_net, self.f_pred),
                "continuous - discrete": d(self.f_pred, self.f_disc)}


def flow_comparison(
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    width: int,
    steps: int,
    lr: float,
    key: jax.Array,
    depth: int = 1,
    activation: str = "relu",
    every: int = 1,
) -> FlowComparison:
    """Train one NTK-parametrized network by GD and compare it, every ``every`` steps, with
    :func:`widenets.kernels.gradient_flow_prediction` from the same f_0 and the analytic
    NTK: f_t = f_0 + Theta(., X) Theta^{-1} (I - exp(-eta Theta t / N)) (y - f_0) in
    continuous time, and with (I - eta Theta / N)^t in place of the exponential (the
    discrete-time prediction of GD, ``discrete=True``). float64."""
    _check_xy(x, y, x_test, eval_name="x_test")
    every = _checks.positive_int(every, "every")
    _checks.nonnegative_int(steps, "steps")
    _checks.positive(lr, "lr")
    _checks.prng_key(key)
    net = mlp.mlp(np.shape(x)[1], width, np.shape(y)[1], depth, activation, "ntk")
    xx, yy, xt = (jnp.asarray(a, jnp.float64) for a in (x, y, x_test))
    p0 = net.init(key)
    _, hist = jax.jit(
        lambda p: train.gradient_descent(
            train.squared_loss(net.apply, xx, yy), p, steps, lr, net.lr_scales(),
            lambda q: (net.apply(q, xt), net.apply(q, xx)),
        )
    )(p0)
    grid = np.arange(0, steps + 1, every)
    f_test, f_train = (np.asarray(r)[grid] for r in hist["record"])
    _checks.warn_if_diverged((f_test, f_train), "flow_comparison: training")
    K = kernels.ntk(xx, depth=depth, activation=activation)
    Ks = kernels.ntk(xt, xx, depth=depth, activation=activation)
    pred = kernels.gradient_flow_prediction(K, yy, f_train[0], grid, lr, Ks, f_test[0])
    disc = kernels.gradient_flow_prediction(K, yy, f_train[0], grid, lr, Ks, f_test[0], discrete=True)
    return FlowComparison(grid, f_test, np.asarray(pred.test), f_train, np.asarray(pred.train),
                          np.asarray(disc.test), np.asarray(disc.train))


# --- figures -----------------------------------------------------------------------------------
def plot_sweeps(sweeps: dict):
    """For each task in ``sweeps`` (dict name -> :class:`Sweep`) two log-log panels: max output
    gap and relative weight change vs width, with fitted slopes. Returns (figure, fits) with
    fits[name] = (gap fit, weight-change fit)."""
    fig, axes = plotting.figure(ncols=2, width=10.0)
    fits = {}
    for j, (name, sw) in enumerate(sweeps.items()):
        c = plotting.CYCLE[j]
        fg = plotting.scaling_plot(axes[0], sw.widths, sw.max_gap, name, c, theory_slope=-0.5 if j == 0 else None)
        fw = plotting.scaling_plot(axes[1], sw.widths, sw.weight_change, name, c, theory_slope=-0.5 if j == 0 else None)
        fits[name] = (fg, fw)
    plotting.label(axes[0], "width $n$", r"$\max_{t,x} |f_t(x) - f^{lin}_t(x)|$", "network vs linearization")
    plotting.label(axes[1], "width $n$", r"$\|\theta_T - \theta_0\| / \|\theta_0\|$", "relative weight change")
    return fig, fits


def plot_flow_comparison(cmp: FlowComparison, t_test: np.ndarray, t_train: np.ndarray, y_train: np.ndarray,
                         times: Sequence[int], discrete: bool = True):
    """The network (solid) and the closed-form prediction (dotted; the discrete-time one
    ``cmp.f_disc`` unless ``discrete=False``) at the given step indices of ``cmp.steps``, on a
    1-D test grid. Returns the figure."""
    fig, axes = plotting.figure(ncols=1, width=7.0, height=3.6)
    ax = axes[0]
    order = np.argsort(t_test)
    pred = cmp.f_disc if discrete else cmp.f_pred
    for j, i in enumerate(times):
        st = plotting.series(j)
        ax.plot(t_test[order], cmp.f_net[i, order, 0], **st, markevery=6,
                label=f"network, step {int(cmp.steps[i])}")
        ax.plot(t_test[order], pred[i, order, 0], ":", color="k", lw=1.4)
    ax.plot([], [], ":", color="k", label="closed-form NTK prediction" + (" (discrete time)" if discrete else ""))
    ax.plot(t_train, y_train[:, 0], "k.", ms=7, label="training data")
    plotting.label(ax, "input angle $t$ (rad)", "output $f(x)$", "gradient descent vs the NTK closed form",
                   legend=False)
    plotting.place_legend(ax, ncol=2)
    return fig


def plot_ntk_scaling(widths: Sequence[int], ntk_error: np.ndarray, ntk_change: np.ndarray):
    """Two log-log panels against width: the empirical NTK's error at init (``ntk_error``,
    (m, seeds), from :func:`ntk_convergence`) and its change over training (``ntk_change``,
    from :func:`ntk_change`), with fitted slopes and the n^{-1/2} and n^{-1} guides.
    Returns (figure, (error fit, change fit))."""
    fig, axes = plotting.figure(ncols=2, width=10.0)
    w = np.asarray(widths, dtype=np.float64)
    f1 = plotting.scaling_plot(axes[0], w, ntk_error, "empirical vs analytic", plotting.MODEL_COLORS["ntk"], theory_slope=-0.5)
    f2 = plotting.scaling_plot(axes[1], w, ntk_change, "change over training", plotting.MODEL_COLORS["ntk"], theory_slope=-0.5)
    anchor = np.asarray(ntk_change).reshape(len(w), -1).mean(axis=1)[0]
    axes[1].plot(w, anchor * (w / w[0]) ** -1.0, "--", color="0.5", label="slope $-1$")
    plotting.label(axes[0], "width $n$", r"$\|\hat\Theta_0 - \Theta\|_F / \|\Theta\|_F$", "NTK at initialization")
    plotting.label(axes[1], "width $n$", r"$\|\hat\Theta_T - \hat\Theta_0\|_F / \|\hat\Theta_0\|_F$", "NTK during training")
    return fig, (f1, f2)


def plot_flow_errors(cmp: FlowComparison):
    """One log-scale panel against the GD step: the largest test-point gap between the network
    and the discrete-time prediction (finite-width error), between the network and the
    continuous-time one, and between the two predictions (time-discretisation error), from
    :meth:`FlowComparison.errors`. Returns (figure, errors)."""
    errs = cmp.errors()
    fig, axes = plotting.figure(ncols=1, width=7.0, height=3.2)
    ax = axes[0]
    pos = cmp.steps > 0  # all three are 0 at step 0 (same f_0); log axes from step 1
    for j, (name, e) in enumerate(errs.items()):
        st = plotting.series(j)
        ax.plot(cmp.steps[pos], np.maximum(e[pos], 1e-16), **st, markevery=0.08, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plotting.label(ax, "GD step $t$", r"$\max_{x} |\,\cdot\,|$ on test points", "errors of the closed form")
    return fig, errs


def _exponent_plot(ax, widths, values, label: str, k: int) -> scaling.Exponent:
    """Mean and seed spread of ``values`` (m, S) against ``widths`` on log-log axes, the power
    law with the per-seed mean slope through the data, legend ``label (slope s ± sd)`` with the
    seed-to-seed spread of per-seed slopes (:func:`widenets.scaling.exponent`)."""
    w = np.asarray(widths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    ex = scaling.exponent(w, v)
    mean, spread = scaling.mean_and_spread(v, axis=1)
    gm = np.exp(np.log(v).mean(axis=1))
    st = plotting.series(k)
    with plotting.style():
        ax.errorbar(w, mean, yerr=spread, fmt=st["marker"], color=st["color"], capsize=2,
                    label=f"{label} (slope {ex.slope:+.2f} ± {ex.spread:.2f})")
        c = np.mean(np.log(gm) - ex.slope * np.log(w))
        ax.plot(w, np.exp(c) * w ** ex.slope, linestyle=st["linestyle"], color=st["color"], alpha=0.7)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    return ex


def _guides(ax, w, anchor, slopes=(-0.5, -1.0)):
    styles = {-0.5: ":", -1.0: "--"}
    for s in slopes:
        ax.plot(w, anchor * (w / w[0]) ** s, styles.get(s, "-."), color="0.5", lw=1.2, label=f"slope ${s:+g}$")


def plot_gap_by_activation(sweeps: dict):
    """Network-vs-linearization sweeps (:func:`linearization_sweep`) of several activations,
    ``sweeps`` dict name -> :class:`Sweep` on the same task: two log-log panels (max output gap,
    relative weight change) against width, each series with its per-seed slope ± seed spread
    (:func:`widenets.scaling.exponent`) and grey guides of slopes -1/2 and -1. Returns
    (figure, exps) with exps[name] = (gap Exponent, weight-change Exponent)."""
    fig, axes = plotting.figure(ncols=2, width=10.0)
    exps = {}
    for k, (name, sw) in enumerate(sweeps.items()):
        eg = _exponent_plot(axes[0], sw.widths, sw.max_gap, name, k)
        ew = _exponent_plot(axes[1], sw.widths, sw.weight_change, name, k)
        exps[name] = (eg, ew)
    w = np.asarray(next(iter(sweeps.values())).widths, dtype=np.float64)
    top = max(np.exp(np.log(sw.max_gap).mean(axis=1))[0] for sw in sweeps.values())
    _guides(axes[0], w, top)
    top = max(np.exp(np.log(sw.weight_change).mean(axis=1))[0] for sw in sweeps.values())
    _guides(axes[1], w, top, slopes=(-0.5,))
    plotting.label(axes[0], "width $n$", r"$\max_{t,x} |f_t(x) - f^{lin}_t(x)|$", "network vs linearization")
    plotting.label(axes[1], "width $n$", r"$\|\theta_T - \theta_0\| / \|\theta_0\|$", "relative weight change")
    return fig, exps


def plot_ntk_motion(widths: Sequence[int], changes: dict):
    """The NTK's relative change over training (:func:`ntk_change`, (m, seeds) each) for
    several activations, ``changes`` dict name -> array. Left: log-log against width with the
    per-seed slope ± seed spread and guides of slopes -1/2 and -1; right: the local slopes
    between successive widths (seed-averaged in log space), placed at their geometric-mean width.
    Returns (figure, exps) with exps[name] the :class:`widenets.scaling.Exponent`."""
    fig, axes = plotting.figure(ncols=2, width=10.0)
    w = np.asarray(widths, dtype=np.float64)
    exps = {}
    mid = np.sqrt(w[1:] * w[:-1])
    for k, (name, ch) in enumerate(changes.items()):
        ex = _exponent_plot(axes[0], w, ch, name, k)
        exps[name] = ex
        st = plotting.series(k)
        axes[1].plot(mid, ex.local, **st, label=name)
    top = max(np.exp(np.log(np.asarray(c)).mean(axis=1))[0] for c in changes.values())
    _guides(axes[0], w, top)
    for s, ls in ((-0.5, ":"), (-1.0, "--")):
        axes[1].axhline(s, linestyle=ls, color="0.5", lw=1.2, label=f"${s:+g}$")
    axes[1].set_xscale("log", base=2)
    plotting.label(axes[0], "width $n$", r"$\|\hat\Theta_T - \hat\Theta_0\|_F / \|\hat\Theta_0\|_F$",
                   "NTK during training")
    plotting.label(axes[1], "width $n$ (geometric mean of the pair)", "local slope", "local slopes")
    return fig, exps
