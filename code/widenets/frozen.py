"""Why features don't move (chapter 4): per-neuron scaling measurements and lazy training.

Two experiments, each a pure function returning arrays, plus a plotting function for each.

:func:`width_sweep` trains an MLP (default: 2 hidden ReLU layers, NTK parametrization,
full-batch GD on the squared loss, the same learning rate at every width) for a fixed
number of steps, for several widths n and seeds, and measures how far each ingredient moved
between initialization (time 0) and the end of training (time T), on the training inputs:

* ``preact_change[l]``  = RMS over inputs and neurons of h^l_i(x; T) - h^l_i(x; 0),
  one neuron's pre-activation in hidden layer l (theory, NTK parametrization: O(n^{-1/2}));
* ``contribution_change`` = RMS over inputs, neurons and outputs of c_i(x; T) - c_i(x; 0),
  where c_i = x^L_i W^{L+1}_i / sqrt(n) is neuron i's term of the output
  (:meth:`widenets.mlp.MLP.readout_contributions`; theory O(1/n));
* ``output_change``     = RMS of f(x; T) - f(x; 0) (theory O(1): n terms of size 1/n that
  all move the same way);
* ``kernel_change[l]``  = ||K_l(T) - K_l(0)||_F / ||K_l(0)||_F for the feature kernel
  K_l = x^l x^l^T / n of hidden layer l. The naive bound is O(n^{-1/2}) (each h_i moves
  by n^{-1/2}); the leading order is O(1/n), because the move of neuron i carries the random
  sign of its outgoing weights and averages out against h_i in the sum over neurons;
* ``alignment_before/after`` = CKA of the last hidden layer's feature kernel with the labels
  (:func:`widenets.features.label_alignment`), on the test inputs (``train_alignment_*``: on
  the training inputs), at time 0 and T.

:func:`lazy_sweep` is the lazy-training demonstration of Chizat, Oyallon & Bach (2019):
a *fixed small* network whose output is multiplied by alpha, in the centred form

    f_alpha(x; theta) = alpha * (f(x; theta) - f(x; theta_0)),

(``mlp.mlp(..., output_scale=alpha)`` minus its own output at initialization, so f_alpha
starts at 0 for every alpha) trained by GD with learning rate eta / alpha^2. This equals GD
with rate eta on Chizat et al.'s objective L(f_alpha) / alpha^2, and makes the function-space
dynamics at t = 0 independent of alpha (the tangent kernel of f_alpha is alpha^2 times that of
f), while each parameter moves 1/alpha as far: the features freeze like 1/alpha.

Heavy sweeps run in float32 by default (``dtype``); everything is ``jit``-compiled once per
width and ``vmap``-ped over seeds.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, data, features, mlp, plotting, scaling, train


def _rms(a):
    return jnp.sqrt(jnp.mean(a * a))


def _keys(seed: int, seeds: int):
    """``seeds`` PRNG keys split from ``jax.random.key(seed, impl="rbg")``. The "rbg" generator
    (XLA's RngBitGenerator) is used instead of the default threefry because the chapters
    compile one program per width, and threefry's compile time on CPU (seconds per program)
    would dominate their run time."""
    return jax.random.split(jax.random.key(int(seed), impl="rbg"), seeds)


def _check_task(task):
    return _checks.task(task)


def _check_seq(values, name, integer=False):
    return (_checks.positive_ints if integer else _checks.positive_numbers)(values, name)


def _stack(rows, name, layered=False):
    a = np.stack([np.asarray(r[name], dtype=np.float64) for r in rows])
    return np.moveaxis(a, 1, 2) if layered else a  # (m, S, L) -> (m, L, S)


def _accuracies(r, task):
    # a diverged seed (non-finite outputs) has no accuracy: nan, and the sweeps warn
    acc = lambda o, labels: data.accuracy(o, labels) if np.all(np.isfinite(o)) else np.nan  # noqa: E731
    r["train_accuracy"] = np.array([acc(o, task.labels_train) for o in r.pop("out_train")])
    r["test_accuracy"] = np.array([acc(o, task.labels_test) for o in r.pop("out_eval")])
    return r


# ------------------------------------------------------------------------------------------
# the width sweep
# ------------------------------------------------------------------------------------------
class WidthSweep(NamedTuple):
    """Results of :func:`width_sweep`; m widths, S seeds, L hidden layers.

    ``widths`` (m,); ``preact_change``, ``preact_scale``, ``kernel_change``: (m, L, S);
    ``contribution_change``, ``contribution_scale``, ``output_change``, ``alignment_before``,
    ``alignment_after``, ``train_alignment_before``, ``train_alignment_after``,
    ``train_accuracy``, ``test_accuracy``: (m, S); ``loss``: (m, S, steps + 1) training loss
    curves. ``preact_scale`` and ``contribution_scale`` are the RMS sizes at initialization
    (O(1) and O(n^{-1/2})), for comparison with the changes.
    """

    widths: np.ndarray
    preact_change: np.ndarray
    preact_scale: np.ndarray
    contribution_change: np.ndarray
    contribution_scale: np.ndarray
    output_change: np.ndarray
    kernel_change: np.ndarray
    alignment_before: np.ndarray
    alignment_after: np.ndarray
    train_alignment_before: np.ndarray
    train_alignment_after: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    loss: np.ndarray


def _np_rms(a):
    return float(np.sqrt(np.mean(np.square(a))))


def _np_kernel(a):
    return a @ a.T / a.shape[1]


def _np_cka(k1, k2):
    return float(features._cka(k1, k2))


def _run_width(net, x, y, x_eval, y_eval, keys, steps, lr, dtype):
    """Train one width for every key and return a dict of measurements (leading axis S).

    Training is one ``jit(vmap(...))`` over the keys, with the data passed as arguments (as
    closed-over constants XLA would constant-fold them, slowly); the measurements are cheap
    and done eagerly in float64, which keeps the compiled program small."""
    scales = net.lr_scales()

    def fit(key, x, y):
        p0 = net.init(key, dtype)
        pT, hist = train.gradient_descent(train.squared_loss(net.apply, x, y), p0, steps, lr, scales)
        return p0, pT, hist["loss"]

    P0, PT, loss = jax.jit(jax.vmap(fit, in_axes=(0, None, None)))(keys, x, y)
    forward = jax.jit(net.forward)
    contrib = jax.jit(net.readout_contributions)
    y, y_eval = np.asarray(y, np.float64), np.asarray(y_eval, np.float64)
    ky, ky_eval = y @ y.T, y_eval @ y_eval.T
    out = {k: [] for k in ("preact_change", "preact_scale", "kernel_change", "contribution_change",
                           "contribution_scale", "output_change", "alignment_before",
                           "alignment_after", "train_alignment_before", "train_alignment_after",
                           "out_train", "out_eval")}
    for s in range(keys.shape[0]):
        p0 = jax.tree_util.tree_map(lambda a: a[s], P0)
        pT = jax.tree_util.tree_map(lambda a: a[s], PT)
        f0, fT, e0, eT = (jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), forward(p, z))
                          for p, z in ((p0, x), (pT, x), (p0, x_eval), (pT, x_eval)))
        c0, cT = (np.asarray(contrib(p, x), np.float64) for p in (p0, pT))
        k0 = [_np_kernel(a) for a in f0.acts]
        kT = [_np_kernel(a) for a in fT.acts]
        out["preact_change"].append([_np_rms(b - a) for a, b in zip(f0.preacts, fT.preacts)])
        out["preact_scale"].append([_np_rms(a) for a in f0.preacts])
        out["kernel_change"].append([np.linalg.norm(b - a) / np.linalg.norm(a) for a, b in zip(k0, kT)])
        out["contribution_change"].append(_np_rms(cT - c0))
        out["contribution_scale"].append(_np_rms(c0))
        out["output_change"].append(_np_rms(fT.output - f0.output))
        out["alignment_before"].append(_np_cka(_np_kernel(e0.acts[-1]), ky_eval))
        out["alignment_after"].append(_np_cka(_np_kernel(eT.acts[-1]), ky_eval))
        out["train_alignment_before"].append(_np_cka(k0[-1], ky))
        out["train_alignment_after"].append(_np_cka(kT[-1], ky))
        out["out_train"].append(fT.output)
        out["out_eval"].append(eT.output)
    out = {k: np.asarray(v) for k, v in out.items()}
    out["loss"] = np.asarray(loss, np.float64)
    return out


def width_sweep(
    task: data.Task,
    widths: Sequence[int] = (32, 64, 128, 256, 512),
    seeds: int = 3,
    steps: int = 200,
    lr: float = 1.0,
    depth: int = 2,
    parametrization: str = "ntk",
    activation: str = "relu",
    dtype=jnp.float32,
    seed: int = 0,
) -> WidthSweep:
    """Train ``depth``-hidden-layer MLPs of each width on ``task`` and measure what moved.

    GD with learning rate ``lr`` (times the parametrization's per-layer factors n^{-c_l},
    all 1 for ``ntk``) for ``steps`` steps on the loss 1/(2N) sum ||f(x_i) - y_i||^2 over the
    training set of ``task``; ``seeds`` initializations per width from
    ``seed`` (the same keys at every width; see :func:`_keys`). Alignment is measured on
    the test inputs of ``task``. See the module docstring for the definitions; returns a
    :class:`WidthSweep`.
    """
    task = _check_task(task)
    widths = _check_seq(widths, "widths", integer=True)
    seeds = _checks.positive_int(seeds, "seeds")
    steps = _checks.positive_int(steps, "steps")
    lr = _checks.positive(lr, "lr")
    x, y = (jnp.asarray(a, dtype) for a in (task.x_train, task.y_train))
    xe, ye = (jnp.asarray(a, dtype) for a in (task.x_test, task.y_test))
    keys = _keys(seed, seeds)
    rows = []
    for n in widths:
        net = mlp.mlp(x.shape[1], n, y.shape[1], depth=depth, activation=activation,
                      parametrization=parametrization)
        r = jax.tree_util.tree_map(np.asarray, _run_width(net, x, y, xe, ye, keys, steps, lr, dtype))
        rows.append(_accuracies(r, task))
    _checks.warn_if_diverged([r["loss"] for r in rows], "width_sweep: training")
    s = lambda name, layered=False: _stack(rows, name, layered)  # noqa: E731
    return WidthSweep(
        np.asarray(widths, dtype=np.float64),
        s("preact_change", True), s("preact_scale", True),
        s("contribution_change"), s("contribution_scale"), s("output_change"),
        s("kernel_change", True),
        s("alignment_before"), s("alignment_after"),
        s("train_alignment_before"), s("train_alignment_after"),
        s("train_accuracy"), s("test_accuracy"), s("loss"),
    )


class SweepSlopes(NamedTuple):
    """Fitted width exponents (:func:`widenets.scaling.fit_power_law`) of a :class:`WidthSweep`,
    each a PowerLawFit (slope, intercept, stderr); ``preact`` and ``kernel``: one per layer;
    ``kernel_tail``: the kernel fits over the three largest widths only."""

    preact: list
    contribution: scaling.PowerLawFit
    output: scaling.PowerLawFit
    kernel: list
    kernel_tail: list


def sweep_slopes(sweep: WidthSweep) -> SweepSlopes:
    """Fit the width exponent of every measured change in ``sweep`` (needs >= 2 widths;
    ``kernel_tail`` uses the last three widths, or all if there are fewer)."""
    w = sweep.widths
    tail = slice(-3, None)
    L = sweep.preact_change.shape[1]
    return SweepSlopes(
        [scaling.fit_power_law(w, sweep.preact_change[:, l]) for l in range(L)],
        scaling.fit_power_law(w, sweep.contribution_change),
        scaling.fit_power_law(w, sweep.output_change),
        [scaling.fit_power_law(w, sweep.kernel_change[:, l]) for l in range(L)],
        [scaling.fit_power_law(w[tail], sweep.kernel_change[tail, l]) for l in range(L)],
    )


_LAYER_COLORS = (plotting.PALETTE["blue"], plotting.PALETTE["sky"], plotting.PALETTE["green"])


def plot_width_sweep(sweep: WidthSweep, title: str = "2-hidden-layer ReLU MLP, NTK parametrization"):
    """Three panels: (a) per-neuron pre-activation change, per-neuron output-term change and
    output change vs width, with fitted slopes and theory slopes -1/2, -1, 0; (b) relative
    change of each hidden layer's feature kernel, with the naive -1/2 and the leading-order -1;
    (c) test-input label alignment (CKA) of the last hidden layer's kernel before and after
    training. Returns ``(fig, axes)``."""
    fig, axes = plotting.figure(3, 1, width=14.0, height=4.3)
    w = sweep.widths
    c = plotting.PALETTE
    L = sweep.preact_change.shape[1]
    ax = axes[0]
    for l in range(L):
        plotting.scaling_plot(ax, w, sweep.preact_change[:, l], f"pre-activation $h^{l + 1}_i$",
                              color=_LAYER_COLORS[l % 3], theory_slope=-0.5 if l == L - 1 else None)
    plotting.scaling_plot(ax, w, sweep.contribution_change, "one neuron's output term",
                          color=c["vermillion"], theory_slope=-1.0)
    plotting.scaling_plot(ax, w, sweep.output_change, "output $f$", color=c["black"],
                          theory_slope=0.0)
    plotting.label(ax, "width n", "RMS change during training", "(a) what moves, per unit", legend=False)
    key = axes[0].figure.axes[3]  # the free fourth cell of the 2 x 2 grid holds (a)'s legend
    key.set_visible(True)
    key.axis("off")
    with plotting.style():
        key.legend(*ax.get_legend_handles_labels(), loc="center", title="(a)")
    ax = axes[1]
    for l in range(L):
        plotting.scaling_plot(ax, w, sweep.kernel_change[:, l], f"layer {l + 1}",
                              color=_LAYER_COLORS[l % 3])
    m0 = sweep.kernel_change[0, -1].mean()
    ax.plot(w, m0 * (w / w[0]) ** -0.5, ":", color=c["black"], label="naive bound: slope -0.50")
    ax.plot(w, m0 * (w / w[0]) ** -1.0, "--", color=c["black"], alpha=0.6,
            label="leading order: slope -1.00")
    plotting.label(ax, "width n", r"$\|K_h(T)-K_h(0)\|_F\,/\,\|K_h(0)\|_F$",
                   "(b) feature kernel: relative change")
    ax = axes[2]
    for name, vals, col, fmt in (("before training", sweep.alignment_before, c["blue"], "o-"),
                                 ("after training", sweep.alignment_after, c["vermillion"], "s--")):
        m, sd = scaling.mean_and_spread(vals, axis=1)
        ax.errorbar(w, m, yerr=sd, fmt=fmt, color=col, capsize=2, label=name)
    ax.set_xscale("log", base=2)
    plotting.label(ax, "width n", "CKA(last hidden kernel, labels), test inputs",
                   "(c) label alignment of the features")
    fig.suptitle(title)
    return fig, axes


# ------------------------------------------------------------------------------------------
# lazy training
# ------------------------------------------------------------------------------------------
class LazySweep(NamedTuple):
    """Results of :func:`lazy_sweep`; m scales alpha, S seeds, L hidden layers.

    ``alphas`` (m,); ``width``; ``kernel_change`` (m, L, S) relative change of each hidden
    feature kernel; ``weight_change`` (m, S): ||w_T - w_0|| / ||w_0|| over the hidden-layer
    weight matrices; ``train_accuracy``, ``test_accuracy`` (m, S); ``loss`` (m, S, steps + 1)
    the training loss of f_alpha.
    """

    alphas: np.ndarray
    width: int
    kernel_change: np.ndarray
    weight_change: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    loss: np.ndarray


def lazy_sweep(
    task: data.Task,
    alphas: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
    width: int = 32,
    seeds: int = 3,
    steps: int = 200,
    lr: float = 1.0,
    depth: int = 2,
    parametrization: str = "ntk",
    dtype=jnp.float32,
    seed: int = 0,
) -> LazySweep:
    """Train the centred, alpha-scaled model f_alpha = alpha (f(theta) - f(theta_0)) of a
    fixed ``width`` with GD at learning rate ``lr / alpha^2`` for each alpha in ``alphas``.

    The same initializations (``seeds`` keys from ``seed``, see :func:`_keys`) serve every alpha, so
    the only difference between rows is alpha. Returns a :class:`LazySweep`.
    """
    task = _check_task(task)
    alphas = _check_seq(alphas, "alphas")
    width = _checks.positive_int(width, "width")
    seeds = _checks.positive_int(seeds, "seeds")
    steps = _checks.positive_int(steps, "steps")
    lr = _checks.positive(lr, "lr")
    x, y = (jnp.asarray(a, dtype) for a in (task.x_train, task.y_train))
    xe = jnp.asarray(task.x_test, dtype)
    keys = _keys(seed, seeds)
    base = mlp.mlp(x.shape[1], width, y.shape[1], depth=depth, parametrization=parametrization)
    L = base.depth
    kern = features._feature_kernel

    def one(key, alpha, x, y, xe):
        p0 = base.init(key, dtype)

        def f_alpha(p, inputs):
            return alpha * (base.apply(p, inputs) - base.apply(p0, inputs))

        mse = train.squared_loss(f_alpha, x, y)
        # GD at rate lr / alpha^2 on L  ==  GD at rate lr on L / alpha^2 (alpha stays traced)
        pT, hist = train.gradient_descent(lambda p: mse(p) / alpha**2, p0, steps, lr,
                                          base.lr_scales())
        a0, aT = base.forward(p0, x).acts, base.forward(pT, x).acts
        w0 = jnp.concatenate([jnp.ravel(p["w"]) for p in p0[:L]])
        wT = jnp.concatenate([jnp.ravel(p["w"]) for p in pT[:L]])
        return {
            "kernel_change": jnp.stack(
                [features._relative_change(kern(a), kern(b)) for a, b in zip(a0, aT)]),
            "weight_change": features._relative_change(w0, wT),
            "out_train": f_alpha(pT, x),
            "out_eval": f_alpha(pT, xe),
            "loss": hist["loss"] * alpha**2,
        }

    run = jax.jit(jax.vmap(one, in_axes=(0, None, None, None, None)))
    rows = []
    for alpha in alphas:
        r = jax.tree_util.tree_map(np.asarray, run(keys, jnp.asarray(alpha, dtype), x, y, xe))
        rows.append(_accuracies(r, task))
    _checks.warn_if_diverged([r["loss"] for r in rows], "lazy_sweep: training")
    s = lambda name, layered=False: _stack(rows, name, layered)  # noqa: E731
    return LazySweep(np.asarray(alphas, dtype=np.float64), width, s("kernel_change", True),
                     s("weight_change"), s("train_accuracy"), s("test_accuracy"), s("loss"))


def plot_lazy(sweep: LazySweep):
    """Two panels: (a) relative change of the hidden feature kernels and of the hidden
    weights vs alpha (log-log, theory slope -1); (b) the training-loss curves for each alpha,
    which nearly coincide because the function-space dynamics do not depend on alpha.
    Returns ``(fig, axes)``."""
    fig, axes = plotting.figure(2, 1, width=11.0, height=4.0)
    a = sweep.alphas
    L = sweep.kernel_change.shape[1]
    ax = axes[0]
    for l in range(L):
        plotting.scaling_plot(ax, a, sweep.kernel_change[:, l], f"feature kernel, layer {l + 1}",
                              color=_LAYER_COLORS[l % 3], theory_slope=-1.0 if l == L - 1 else None)
    plotting.scaling_plot(ax, a, sweep.weight_change, "hidden weights",
                          color=plotting.PALETTE["vermillion"])
    plotting.label(ax, r"output scale $\alpha$", "relative change during training",
                   f"(a) width {sweep.width}: the larger alpha, the lazier")
    ax = axes[1]
    steps = np.arange(sweep.loss.shape[2])
    for i, alpha in enumerate(a):
        ax.plot(steps, sweep.loss[i].mean(axis=0), **plotting.series(i), markevery=max(1, len(steps) // 6),
                label=rf"$\alpha$ = {alpha:g}")
    ax.set_yscale("log")
    plotting.label(ax, "GD step", "training loss (mean over seeds)", "(b) the same fit for every alpha")
    return fig, axes
