"""Transfer learning protocols: pretrain on task A, then learn task B from few examples.

The protocol of chapters 5 and 8 for a 1-hidden-layer ReLU network (:func:`widenets.mlp.mlp`):

1. **pretrain**: full-batch gradient descent on task A's squared loss (``steps_a`` steps);
2. **linear probe**: ridge regression of task B's few-shot targets on the hidden features
   h(x) = phi(h^1(x)) of the pretrained network, ridge chosen by leave-one-out validation
   (:func:`ridge_probe`);
3. **fine-tune**: replace the readout by a new one initialised at zero and train every
   layer by GD on task B's few-shot set (``steps_b`` steps);

and the same probe and fine-tuning from the random initialization, with the same key.
The *transfer gain* is (test error from random init) - (test error after pretraining);
test errors on regression tasks are MSE relative to Var(y_B), so 1 is "predict the mean".

:func:`transfer_sweep` runs the whole protocol for several parametrizations and widths,
vmapped over seeds and parametrizations (one jit per width: every parametrization is run as
the NTK-parametrized network with the factors of :func:`effective_scales`), in float32 for speed.
Everything here is a pure function of explicit PRNG keys and data.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, _norms, data, features, mlp, scaling, train

DEFAULT_RIDGES = tuple(float(r) for r in np.logspace(-5, 2, 15))


# --------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------
def hidden_features(net: mlp.MLP, params, x: jax.Array) -> jax.Array:
    """The last hidden layer's activations phi(h^L(x)), shape (N, n), for x of shape (N, d)."""
    return net.forward(params, x).acts[-1]


def _loo_ridge(k_train, k_test_train, y_train, ridges):
    """Kernel ridge regression with the ridge picked by exact leave-one-out error.

    With K = U diag(e) U^T and A = (K + lam I)^{-1}, the LOO residual of point i is
    (A y)_i / A_ii. Ridges are relative to the mean eigenvalue tr(K)/N.
    Returns (test predictions (M, k), chosen relative ridge, LOO MSE of it).
    """
    n = k_train.shape[0]
    mean = jnp.mean(y_train, axis=0)
    yc = y_train - mean
    e, u = jnp.linalg.eigh(k_train)
    scale = jnp.maximum(jnp.trace(k_train) / n, 1e-12)

    def loo(lam):
        inv_e = 1.0 / (jnp.maximum(e, 0.0) + lam * scale)
        alpha = u @ (inv_e[:, None] * (u.T @ yc))
        diag = jnp.einsum("ij,j,ij->i", u, inv_e, u)
        res = alpha / diag[:, None]
        return jnp.mean(res**2), alpha

    errs, alphas = jax.vmap(loo)(jnp.asarray(ridges, dtype=k_train.dtype))
    best = jnp.argmin(errs)
    pred = k_test_train @ alphas[best] + mean
    return pred, jnp.asarray(ridges)[best], errs[best]


_loo_ridge_jit = jax.jit(_loo_ridge, static_argnums=3)  # one jit object: traced once per shape


def ridge_probe(
    feats_train: jax.Array,
    y_train: jax.Array,
    feats_test: jax.Array,
    ridges: Sequence[float] = DEFAULT_RIDGES,
) -> tuple[jax.Array, jax.Array]:
    """A linear probe: ridge regression of ``y_train`` (N, k) on features (N, n), the ridge
    chosen from ``ridges`` by exact leave-one-out error. The intercept is the training mean of
    ``y`` (fixed, not refitted with the weights).

    Solved in the dual: with K = F F^T / n, prediction(x) = mean(y) + k(x)^T (K + lam s I)^{-1}
    (y - mean(y)), s = tr(K)/N, so the cost is O(N^2 n) whatever the width.
    Returns (predictions on ``feats_test`` (M, k), chosen relative ridge).
    """
    _checks.matrix(feats_train, "feats_train")
    _checks.matrix(feats_test, "feats_test", cols=np.shape(feats_train)[1], cols_what="feats_train's width")
    _checks.matrix(y_train, "y_train", rows=np.shape(feats_train)[0])
    _ridges(ridges)
    n = feats_train.shape[1]
    k_tr = feats_train @ feats_train.T / n
    k_te = feats_test @ feats_train.T / n
    pred, lam, _ = _loo_ridge(k_tr, k_te, y_train, ridges)
    return pred, lam


def kernel_probe(
    k_train: jax.Array, k_test_train: jax.Array, y_train: jax.Array,
    ridges: Sequence[float] = DEFAULT_RIDGES,
) -> tuple[jax.Array, jax.Array]:
    """The same leave-one-out ridge regression given kernels: ``k_train`` (N, N), ``k_test_train``
    (M, N). Used for the infinite-width NNGP/NTK limits. Returns (predictions (M, k), ridge)."""
    _checks.psd_matrix(k_train, "k_train")  # checks only: the arrays pass on in their own dtype
    n = np.shape(k_train)[0]
    _checks.matrix(k_test_train, "k_test_train", cols=n, cols_what="one per training point")
    _checks.matrix(y_train, "y_train", rows=n)
    _ridges(ridges)
    pred, lam, _ = _loo_ridge_jit(
        jnp.asarray(k_train), jnp.asarray(k_test_train), jnp.asarray(y_train), tuple(ridges))
    return pred, lam


def _ridges(ridges) -> None:
    vals = list(ridges) if isinstance(ridges, (list, tuple, np.ndarray)) else []
    if not vals:
        raise ValueError(f"ridges must be a non-empty sequence of numbers > 0, got {ridges!r}")
    for r in vals:
        _checks.positive(r, "ridges")


def relative_mse(pred: jax.Array, y: jax.Array) -> jax.Array:
    """Test MSE relative to the variance of the targets: mean ||pred - y||^2 / sum_j Var(y_j).

    ``pred`` and ``y`` (M, k). Targets without variance (the ratio is then x/0) raise
    ``ValueError`` when the values can be read (not inside ``jit``)."""
    _checks.matrix(pred, "pred")
    _checks.matrix(y, "y")
    if np.shape(pred) != np.shape(y):
        raise ValueError(f"pred and y must have the same shape (M, k), got {np.shape(pred)} and {np.shape(y)}")
    if not _checks.is_traced(y) and not np.any(np.ptp(np.asarray(y), axis=0) > 0):
        raise ValueError(f"y must vary across its {np.shape(y)[0]} rows (its variance is the denominator)")
    var = jnp.sum(jnp.var(y, axis=0))
    return jnp.mean(jnp.sum((pred - y) ** 2, axis=-1)) / var


def new_head(net_b: mlp.MLP, params) -> list:
    """``params`` with the readout replaced by zeros of ``net_b``'s output shape (a fresh task head)."""
    fan_in, fan_out = net_b.layer_dims()[-1]
    dtype = params[-1]["w"].dtype
    return list(params[:-1]) + [{"w": jnp.zeros((fan_in, fan_out), dtype), "b": jnp.zeros((fan_out,), dtype)}]


def weight_alignment(w: jax.Array, projection: jax.Array) -> jax.Array:
    """||P W||_F / ||W||_F for first-layer weights W (d, n) and a projection P (k, d) with
    orthonormal rows: the fraction of W's norm inside the teacher's subspace. A random W
    gives about sqrt(k/d)."""
    _checks.matrix(w, "w")
    _checks.matrix(projection, "projection", cols=np.shape(w)[0], cols_what="the rows of w")
    if not _checks.is_traced(w) and not np.any(np.asarray(w)):
        raise ValueError("w is all zeros, so its alignment ||P W|| / ||W|| is undefined")
    return _norms.frobenius(projection @ w) / _norms.frobenius(w)


# --------------------------------------------------------------------------------------
# the protocol for one seed (pure, vmapped over seeds by the sweeps)
# --------------------------------------------------------------------------------------
def _score(pred, y, classify):
    if classify:
        return 1.0 - jnp.mean(jnp.argmax(pred, axis=1) == jnp.argmax(y, axis=1))
    return relative_mse(pred, y)


def effective_scales(parametrization: str, width: int, in_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Express a 1-hidden-layer ``parametrization`` (SGD) as the NTK-parametrized network with
    per-layer factors: ``(init_factor, lr_factor)``, each (2,) for (input, output) weights.

    Layer l computes W_l = m_l w_l with w_l ~ N(0, s_l^2) and GD learning rate eta n^{-c_l} on w_l,
    so the effective weight W_l starts with std m_l s_l and moves with learning rate
    eta m_l^2 n^{-c_l}. The NTK-parametrized network (m0, s0, c0) has the same effective
    dynamics if its w_l starts with std s0 * init_factor and has learning rate eta * lr_factor,

        init_factor = m s / (m0 s0),    lr_factor = m^2 n^{-c} / (m0^2 n^{-c0}).

    (abc-symmetry; biases are off, sigma_b = 0). For muP: init_factor = (1, n^{-1/2}),
    lr_factor = (n, 1). One compiled program then serves every parametrization (vmapped)."""
    _checks.one_of(parametrization, mlp.PARAMETRIZATIONS, "parametrization")
    width = _checks.positive_int(width, "width")
    net = mlp.mlp(in_dim, width, 1, 1, "relu", parametrization)
    base = mlp.mlp(in_dim, width, 1, 1, "relu", "ntk")
    init, lr = [], []
    for l in range(2):
        m, m0 = net.multipliers()[l][0], base.multipliers()[l][0]
        sd, sd0 = width ** (-net.param.b[l]), width ** (-base.param.b[l])
        c, c0 = net.lr_scales()[l]["w"], base.lr_scales()[l]["w"]
        init.append(m * sd / (m0 * sd0))
        lr.append(m**2 * c / (m0**2 * c0))
    return np.array(init), np.array(lr)


def _protocol(net_a, net_b, steps_a, steps_b, lr, classify, init_f, lr_f, q0, xa, ya, xb, yb, xt, yt, proj):
    # net_a / net_b are NTK-parametrized and q0 = net_a.init(key) (drawn outside the jit, see
    # MLP.init_many); init_f, lr_f (traced) turn them into any abc-parametrization
    p0 = [{"w": q["w"] * f, "b": q["b"]} for q, f in zip(q0, init_f)]
    scales = [{"w": f, "b": 1.0} for f in lr_f]
    p1, hist = train.gradient_descent(train.squared_loss(net_a.apply, xa, ya), p0, steps_a, lr, scales)

    def kernels_b(p):
        f_tr, f_te = hidden_features(net_a, p, xb), hidden_features(net_a, p, xt)
        return f_tr @ f_tr.T / f_tr.shape[1], f_te @ f_tr.T / f_tr.shape[1]

    def finetune(p):
        q, _ = train.gradient_descent(train.squared_loss(net_b.apply, xb, yb), new_head(net_b, p), steps_b, lr, scales)
        return _score(net_b.apply(q, xt), yt, classify)

    # fine-tune from the random and the pretrained weights in one vmapped loop
    ft = jax.vmap(finetune)(jax.tree_util.tree_map(lambda u, v: jnp.stack([u, v]), p0, p1))

    # feature kernel of task A's first 100 training inputs, before and after pretraining
    xs, ys = xa[:100], ya[:100]
    k0 = features._feature_kernel(hidden_features(net_a, p0, xs))
    k1 = features._feature_kernel(hidden_features(net_a, p1, xs))
    ky = ys @ ys.T
    metrics = dict(
        finetune_random=ft[0], finetune_pretrained=ft[1], loss_a=hist["loss"][-1],
        align_random=weight_alignment(p0[0]["w"], proj), align_pretrained=weight_alignment(p1[0]["w"], proj),
        kernel_change=features._relative_change(k0, k1),
        label_align_random=features._cka(k0, ky), label_align_pretrained=features._cka(k1, ky),
    )
    return kernels_b(p0), kernels_b(p1), metrics


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4, 5))
def _protocol_all(net_a, net_b, steps_a, steps_b, lr, classify, init_f, lr_f, inits, *arrays):
    """vmap over parametrizations (init_f, lr_f: (P, 2)) and seeds (inits, arrays: leading S)."""
    run = partial(_protocol, net_a, net_b, steps_a, steps_b, lr, classify)
    over_seeds = jax.vmap(run, in_axes=(None, None, 0) + (0,) * len(arrays))
    return jax.vmap(over_seeds, in_axes=(0, 0, None) + (None,) * len(arrays))(init_f, lr_f, inits, *arrays)


@partial(jax.jit, static_argnums=(4,))
def _probe_scores(k_tr, k_te, yb, yt, classify):
    """LOO-ridge probe scores for kernels (P, S, N, N), (P, S, M, N) and targets (S, N, k), (S, M, k)."""
    def one(kt, ke, y, y_test):
        pred, _, _ = _loo_ridge(kt, ke, y, DEFAULT_RIDGES)
        return _score(pred, y_test, classify)

    return jax.vmap(jax.vmap(one), in_axes=(0, 0, None, None))(k_tr, k_te, yb, yt)


# --------------------------------------------------------------------------------------
# sweeps over parametrizations, widths and seeds
# --------------------------------------------------------------------------------------
class TransferSweep(NamedTuple):
    """Results of :func:`transfer_sweep` / :func:`digits_sweep`. Arrays have shape
    (len(parametrizations), len(widths), len(seeds)). ``*_random``/``*_pretrained``: task-B test
    error (relative MSE or 1 - accuracy) of the probe / fine-tuning from the random init and after
    pretraining; ``loss_a``: final task-A training loss; ``align_*``: first-layer weight alignment
    with the task's relevant subspace; ``kernel_change``: relative change of the hidden feature
    kernel during pretraining; ``label_align_*``: its CKA with task A's label kernel."""

    parametrizations: tuple[str, ...]
    widths: np.ndarray
    seeds: np.ndarray
    probe_random: np.ndarray
    probe_pretrained: np.ndarray
    finetune_random: np.ndarray
    finetune_pretrained: np.ndarray
    loss_a: np.ndarray
    align_random: np.ndarray
    align_pretrained: np.ndarray
    kernel_change: np.ndarray
    label_align_random: np.ndarray
    label_align_pretrained: np.ndarray

    def gain(self, mode: str = "probe") -> np.ndarray:
        """Transfer gain (error from random init) - (error after pretraining), shape (P, W, S),
        for ``mode`` 'probe' or 'finetune'. Positive means pretraining helped."""
        _checks.one_of(mode, ("probe", "finetune"), "mode")
        return getattr(self, f"{mode}_random") - getattr(self, f"{mode}_pretrained")

    def index(self, parametrization: str) -> int:
        """Position of ``parametrization`` on the first axis."""
        _checks.one_of(parametrization, self.parametrizations, "parametrization")
        return self.parametrizations.index(parametrization)


def _check_sweep_args(widths, seeds, parametrizations, steps_a, steps_b, lr):
    widths = np.array(_checks.positive_ints(widths, "widths"))
    seeds = np.array([int(s) for s in seeds])
    if seeds.size == 0 or widths.size == 0:
        raise ValueError("widths and seeds must be non-empty")
    parametrizations = tuple(parametrizations)
    for p in parametrizations:
        _checks.one_of(p, mlp.PARAMETRIZATIONS, "parametrizations")
    return (widths, seeds, parametrizations, _checks.positive_int(steps_a, "steps_a"),
            _checks.positive_int(steps_b, "steps_b"), _checks.positive(lr, "lr"))


def _sweep(arrays, widths, seeds, parametrizations, steps_a, steps_b, lr, classify):
    d, k_a, k_b = arrays[0].shape[2], arrays[1].shape[2], arrays[3].shape[2]
    dtype = arrays[0].dtype
    keys = [jax.random.PRNGKey(int(s)) for s in seeds]
    fields = TransferSweep._fields[3:]
    out = {f: np.zeros((len(parametrizations), widths.size, seeds.size)) for f in fields}
    for j, n in enumerate(widths):
        facs = [effective_scales(p, int(n), d) for p in parametrizations]
        init_f = jnp.asarray(np.stack([f[0] for f in facs]), dtype)
        lr_f = jnp.asarray(np.stack([f[1] for f in facs]), dtype)
        net_a = mlp.mlp(d, int(n), k_a, 1, "relu", "ntk")
        net_b = mlp.mlp(d, int(n), k_b, 1, "relu", "ntk")
        kern0, kern1, metrics = _protocol_all(net_a, net_b, steps_a, steps_b, lr, classify,
                                              init_f, lr_f, net_a.init_many(keys, dtype), *arrays)
        yb, yt = arrays[3], arrays[5]
        metrics["probe_random"] = _probe_scores(*kern0, yb, yt, classify)
        metrics["probe_pretrained"] = _probe_scores(*kern1, yb, yt, classify)
        for f in fields:
            out[f][:, j] = np.asarray(metrics[f], dtype=np.float64)
    # pretraining that diverged leaves nan/inf in its loss and in every later number
    _checks.warn_if_diverged(out["loss_a"], "the task-A pretraining loss of a transfer sweep")
    return TransferSweep(parametrizations, widths, seeds, **out)


# The synthetic pair of chapters 5 and 8, in one place: d = 16 inputs, k = 2 relevant directions,
# 256 examples of task A, 100 of task B, 500 test points; 100 GD steps on A and 100 when
# fine-tuning on B, learning rate 2. Task B has 100 examples (not 50) and fine-tuning 100 steps
# (not 30) so that the baselines are better than predicting the mean: with 50 examples every
# kernel baseline had relative MSE >= 1 (issue 13, finding 10).
PAIR = dict(d=16, k=2, n_a=256, n_b=100, n_test=500)
PROTOCOL = dict(steps_a=100, steps_b=100, lr=2.0)


def pair_arrays(seeds: Sequence[int], d: int = PAIR["d"], k: int = PAIR["k"], n_a: int = PAIR["n_a"],
                n_b: int = PAIR["n_b"], n_test: int = PAIR["n_test"], dtype=jnp.float32) -> tuple:
    """Stacked per-seed arrays (x_a, y_a, x_b, y_b, x_test, y_test, projection) of
    :func:`widenets.data.multi_index_pair` (``seed=s`` for each of ``seeds``), leading axis seeds:
    the data :func:`transfer_sweep` runs on (defaults: :data:`PAIR`)."""
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must be non-empty")
    pairs = [data.multi_index_pair(d, k, n_a, n_b, n_test, s) for s in seeds]
    fields = ("x_a", "y_a", "x_b", "y_b", "x_test", "y_test", "projection")
    return tuple(jnp.asarray(np.stack([getattr(p, f) for p in pairs]), dtype) for f in fields)


def transfer_sweep(
    widths: Sequence[int] = (16, 64, 256, 1024, 4096),
    seeds: Sequence[int] = (0, 1, 2, 3),
    parametrizations: Sequence[str] = ("ntk", "mup"),
    d: int = PAIR["d"],
    k: int = PAIR["k"],
    n_a: int = PAIR["n_a"],
    n_b: int = PAIR["n_b"],
    n_test: int = PAIR["n_test"],
    steps_a: int = PROTOCOL["steps_a"],
    steps_b: int = PROTOCOL["steps_b"],
    lr: float = PROTOCOL["lr"],
    dtype=jnp.float32,
) -> TransferSweep:
    """Run the transfer protocol on :func:`widenets.data.multi_index_pair` for every
    parametrization and width, vmapped over ``seeds``; errors are relative test MSEs on B.

    Seed s fixes the teacher and data (``multi_index_pair(d, k, n_a, n_b, n_test, seed=s)``) and
    the network's initialization (``jax.random.PRNGKey(s)``), so parametrizations and widths see
    the same data for the same seed. Networks are 1-hidden-layer ReLU MLPs trained by full-batch
    GD with learning rate ``lr`` times the parametrization's n^{-c_l} factors (all 1 for SGD).
    ``lr = 2`` is below the kernel-regime stability bound 2 / lambda_max(Theta / N) ~ 3 for these
    inputs. Cost: one jit per (parametrization, width); O(steps_a n_a d n) per seed; float32.
    """
    widths, seeds, parametrizations, steps_a, steps_b, lr = _check_sweep_args(
        widths, seeds, parametrizations, steps_a, steps_b, lr)
    arrays = pair_arrays(seeds, d, k, n_a, n_b, n_test, dtype)
    return _sweep(arrays, widths, seeds, parametrizations, steps_a, steps_b, lr, False)


def digits_arrays(seeds: Sequence[int], shots: int = 5, noise_dims: int = 128, n_a: int = 300,
                  dtype=jnp.float32) -> tuple[jax.Array, ...]:
    """Stacked per-seed arrays (x_a, y_a, x_b, y_b, x_test, y_test, signal) of the noisy digits
    pair (:func:`widenets.data.noisy_transfer_pair`): ``n_a`` task-A (0-4) training examples,
    ``shots`` per class of task B (5-9), task B's full test set. Leading axis: seeds."""
    shots = _checks.positive_int(shots, "shots")
    n_a = _checks.positive_int(n_a, "n_a")
    rows = []
    for s in seeds:
        a, b, signal = data.noisy_transfer_pair(noise_dims, int(s))
        a = data.subsample(a, n_a, int(s))
        b = data.few_shot(b, shots, int(s))
        rows.append((a.x_train, a.y_train, b.x_train, b.y_train, b.x_test, b.y_test, signal))
    return tuple(jnp.asarray(np.stack(col), dtype) for col in zip(*rows))


def digits_sweep(
    widths: Sequence[int] = (64, 256, 1024),
    seeds: Sequence[int] = (0, 1, 2),
    parametrizations: Sequence[str] = ("ntk", "mup"),
    shots: int = 5,
    noise_dims: int = 128,
    n_a: int = 300,
    steps_a: int = 100,
    steps_b: int = 30,
    lr: float = 2.0,
    dtype=jnp.float32,
) -> TransferSweep:
    """The transfer protocol on noisy digits, 0-4 -> 5-9, with ``shots`` examples per class of
    task B; errors are test error rates (1 - accuracy) on task B. See :func:`digits_arrays`
    and :func:`transfer_sweep` (same networks, training and seeds convention)."""
    widths, seeds, parametrizations, steps_a, steps_b, lr = _check_sweep_args(
        widths, seeds, parametrizations, steps_a, steps_b, lr)
    arrays = digits_arrays(seeds, shots, noise_dims, n_a, dtype)
    return _sweep(arrays, widths, seeds, parametrizations, steps_a, steps_b, lr, True)


def summary(sweep: TransferSweep, mode: str = "probe") -> dict[str, np.ndarray]:
    """Mean and spread (sample SD over seeds) of the gain, per parametrization: a dict
    name -> array (W, 2) of [mean, sd] for each width."""
    g = sweep.gain(mode)
    return {p: np.stack(scaling.mean_and_spread(g[i], axis=-1), axis=-1)
            for i, p in enumerate(sweep.parametrizations)}


# --------------------------------------------------------------------------------------
# infinite-width limits on task B
# --------------------------------------------------------------------------------------
def kernel_limit_errors(arrays: tuple, classify: bool = False) -> dict[str, np.ndarray]:
    """Task-B test errors of the infinite-width kernel limits, one per seed.

    ``arrays`` = (x_a, y_a, x_b, y_b, x_test, y_test, proj) stacked over seeds (as used by the
    sweeps). For each seed: leave-one-out ridge regression (:func:`kernel_probe`) on task B with

    * ``"nngp"``: the NNGP kernel of the 1-hidden-layer ReLU network, proportional to the
      infinite-width hidden feature kernel E[phi(h(x)) phi(h(x'))]: the limit of the linear probe,
      from the random init *and* after NTK-parametrized pretraining (whose features do not move);
    * ``"ntk"``: the same ridge regression with the NTK (a reference row; it is not the limit of
      the fine-tuning protocol, which is :func:`finetune_limit_errors`).

    Kernels from :mod:`widenets.kernels` (float64). Returns name -> (seeds,) errors.
    """
    from widenets import kernels

    _, _, xb, yb, xt, yt, _ = (np.asarray(a, dtype=np.float64) for a in arrays)
    out = {"nngp": [], "ntk": []}
    for s in range(xb.shape[0]):
        for name, fn in (("nngp", kernels.nngp), ("ntk", kernels.ntk)):
            k_tr = fn(xb[s], depth=1, activation="relu")
            k_te = fn(xt[s], xb[s], depth=1, activation="relu")
            pred, _ = kernel_probe(k_tr, k_te, yb[s])
            out[name].append(float(_score(pred, jnp.asarray(yt[s]), classify)))
    return {k: np.array(v) for k, v in out.items()}


def finetune_limit_errors(arrays: tuple, steps: int = PROTOCOL["steps_b"], lr: float = PROTOCOL["lr"],
                          classify: bool = False) -> np.ndarray:
    """Task-B test errors of the infinite-width limit of *fine-tuning* (a new readout started at
    zero, every layer trained by ``steps`` full-batch GD steps with learning rate ``lr``), one
    per seed, shape (seeds,).

    In NTK parametrization with a zero readout the tangent kernel of the fine-tuned network
    tends to its readout part, the NNGP kernel K (the input-layer part is O(||v||^2 / n)), and
    the features do not move, so fine-tuning tends to ``steps`` steps of kernel gradient descent
    with K from the zero function (:func:`widenets.limits.kernel_gd`), not to kernel ridge
    regression: early stopping is part of the limit. The same from the random init and after
    NTK-parametrized pretraining. ``arrays`` as in :func:`kernel_limit_errors`; float64."""
    from widenets import kernels
    from widenets.limits import kernel_gd

    steps = _checks.positive_int(steps, "steps")
    lr = _checks.positive(lr, "lr")
    _, _, xb, yb, xt, yt, _ = (np.asarray(a, dtype=np.float64) for a in arrays)
    out = []
    for s in range(xb.shape[0]):
        k_tr = kernels.nngp(xb[s], depth=1, activation="relu")
        k_te = kernels.nngp(xt[s], xb[s], depth=1, activation="relu")
        pred = kernel_gd(k_tr, yb[s], steps, lr, k_eval=k_te)["outputs"][-1]
        out.append(float(_score(pred, jnp.asarray(yt[s]), classify)))
    return np.array(out)


def linear_mup_limit_errors(arrays: tuple, steps: int = 100, lr: float = 1.0,
                            classify: bool = True) -> dict[str, np.ndarray]:
    """Task-B test errors of a linear probe on the features of the *infinite-width* linear
    network f(x) = x U V (muP), per seed: ``"linear_gp"`` from its initial feature kernel
    x.x'/d (the linear NNGP; also its NTK-parametrized limit after pretraining) and
    ``"linear_mup"`` after pretraining on task A with :func:`widenets.limits.linear_mup_train`
    (``steps`` GD steps, learning rate ``lr``), feature kernel
    :func:`widenets.limits.linear_mup_feature_kernel`. Returns name -> (seeds,) errors."""
    from widenets import limits

    steps = _checks.positive_int(steps, "steps")
    xa, ya, xb, yb, xt, yt, _ = (np.asarray(a, dtype=np.float64) for a in arrays)
    out = {"linear_gp": [], "linear_mup": []}
    for s in range(xb.shape[0]):
        state0 = limits.linear_mup_init(xa.shape[2], ya.shape[2])
        state1, _ = limits.linear_mup_train(xa[s], ya[s], steps, lr)
        for name, st in (("linear_gp", state0), ("linear_mup", state1)):
            out[name].append(_linear_probe_error(st, xb[s], yb[s], xt[s], yt[s], classify))
    return {k: np.array(v) for k, v in out.items()}


def _linear_probe_error(state, xb, yb, xt, yt, classify, gram=None) -> float:
    """Task-B error of the LOO-ridge probe on the feature kernel of a linear muP network's
    ``state`` (the limit for ``gram=None``, a finite network with its Gram matrix otherwise)."""
    from widenets import limits

    k_tr = limits.linear_mup_feature_kernel(state, xb, gram=gram)
    k_te = limits.linear_mup_feature_kernel(state, xt, xb, gram=gram)
    pred, _ = kernel_probe(k_tr, k_te, yb)
    return float(_score(pred, jnp.asarray(yt), classify))


def linear_mup_finite_errors(arrays: tuple, widths: Sequence[int], steps: int = 100, lr: float = 1.0,
                             classify: bool = True) -> dict[str, np.ndarray]:
    """The finite-width counterpart of :func:`linear_mup_limit_errors`: task-B test errors of the
    linear probe on the hidden features h = x U of the linear network f(x) = x U V of each width
    n, muP (``mlp.mlp(d, n, k, 1, "identity", "mup")``, seed s initialized with ``PRNGKey(s)``),
    pretrained on task A by ``steps`` GD steps with learning rate ``lr`` times its per-layer
    factors. The network is trained exactly, in the coefficient space of chapter 7: with the
    Gram matrix G of its initial weight vectors (:func:`widenets.limits.linear_mup_gram`),
    :func:`widenets.limits.linear_mup_train` reproduces the width-n network to rounding error,
    and its feature kernel h(x).h(x')/n is ``linear_mup_feature_kernel(state, x, x', gram=G)``;
    the limit is G = I. The networks of one seed are nested: the width-n network is the first n
    hidden units of the widest one, its weights rescaled from std n_max^{-b} to n^{-b}, which
    has the distribution of ``net.init`` (one random draw, compiled once, serves every width).
    Returns ``"linear_mup n=<n>"`` -> (seeds,) errors."""
    from widenets import limits

    steps = _checks.positive_int(steps, "steps")
    lr = _checks.positive(lr, "lr")
    widths = [_checks.positive_int(w, "widths") for w in widths]
    if not widths:
        raise ValueError("widths must not be empty")
    xa, ya, xb, yb, xt, yt, _ = (np.asarray(a, dtype=np.float64) for a in arrays)
    d, k, n_seeds, n_max = xa.shape[2], ya.shape[2], xa.shape[0], max(widths)
    widest = mlp.mlp(d, n_max, k, 1, "identity", "mup")
    big = jax.jit(jax.vmap(widest.init))(jax.vmap(jax.random.PRNGKey)(jnp.arange(n_seeds)))
    big = [{"w": np.asarray(layer["w"])} for layer in big[:2]]  # sliced on the host, no compiles
    out = {}
    for n in widths:
        net = mlp.mlp(d, n, k, 1, "identity", "mup")
        r_in, r_out = ((n / n_max) ** (-b) for b in net.param.b[:2])
        errs = []
        for s in range(n_seeds):
            params = [{"w": big[0]["w"][s][:, :n] * r_in}, {"w": big[1]["w"][s][:n, :] * r_out}]
            gram = limits.linear_mup_gram(net, params)
            state, _ = limits.linear_mup_train(xa[s], ya[s], steps, lr, gram=gram)
            errs.append(_linear_probe_error(state, xb[s], yb[s], xt[s], yt[s], classify, gram))
        out[f"linear_mup n={n}"] = np.array(errs)
    return out


def comparison_table(sweep: TransferSweep, limits_: dict[str, np.ndarray],
                     finite: dict[str, np.ndarray] | None = None) -> list[tuple[str, float, float]]:
    """Rows (model, mean task-B test accuracy, spread over seeds) for the chapter-8 table:
    the limits in ``limits_`` (name -> (seeds,) error rates) first, then the rows of ``finite``
    (name -> (seeds,) error rates, e.g. :func:`linear_mup_finite_errors`), then every
    parametrization and width of ``sweep`` (probe on pretrained features). Accuracy = 1 - error."""
    rows = []
    named = [(f"{name} limit", err) for name, err in limits_.items()] + list((finite or {}).items())
    for name, err in named:
        m, sd = scaling.mean_and_spread(1.0 - np.asarray(err))
        rows.append((name, float(m), float(sd)))
    for i, p in enumerate(sweep.parametrizations):
        for j, n in enumerate(sweep.widths):
            m, sd = scaling.mean_and_spread(1.0 - sweep.probe_pretrained[i, j])
            rows.append((f"{p} n={int(n)}", float(m), float(sd)))
    return rows


# --------------------------------------------------------------------------------------
# the GP side: exact Bayesian conditioning of the first layer on task A
# --------------------------------------------------------------------------------------
class GPConditioning(NamedTuple):
    """Prior and posterior of a feature statistic q(W) for each width (arrays (W,)):
    ``q`` = weight alignment ||P W|| / ||W|| with the teacher subspace. ``prior``, ``posterior``:
    its means; ``prior_sd``: its standard deviation under the prior (the prior's own spread);
    ``stderr``: Monte Carlo standard error of posterior - prior; ``ess``: Kish's effective
    sample size of the importance weights (out of ``n_samples``); ``ess_threshold``: estimates
    with ``ess`` below it are not to be read (or drawn) as data."""

    widths: np.ndarray
    prior: np.ndarray
    posterior: np.ndarray
    stderr: np.ndarray
    ess: np.ndarray
    prior_sd: np.ndarray
    ess_threshold: float

    @property
    def reliable(self) -> np.ndarray:
        """(W,) bool: widths whose effective sample size reaches ``ess_threshold``."""
        return self.ess >= self.ess_threshold

    @property
    def shift_in_prior_sd(self) -> np.ndarray:
        """(W,) (posterior - prior) / prior_sd: the shift in units of the prior's own spread."""
        return (self.posterior - self.prior) / self.prior_sd

    @property
    def stderr_in_prior_sd(self) -> np.ndarray:
        """(W,) ``stderr`` / prior_sd."""
        return self.stderr / self.prior_sd


def gp_conditioning(
    pair: data.MultiIndexPair,
    widths: Sequence[int] = (2, 8, 32, 128, 512),
    n_samples: int = 20_000,
    n_cond: int = 6,
    noise: float = 0.5,
    key: jax.Array | None = None,
    ess_threshold: float = 100.0,
    chunk: int = 2000,
) -> GPConditioning:
    """Condition a 1-hidden-layer ReLU network on task A exactly, readout integrated out.

    Prior: first-layer weights W (d, n) with entries N(0, 1), h = sqrt(2/d) x W, readout
    v ~ N(0, 2/n) per output, Gaussian noise ``noise``^2. Given W, task A's outputs on the first
    ``n_cond`` inputs are Gaussian with covariance K_W + s^2 I, K_W = (2/n) relu(h) relu(h)^T, so

        p(W | y_A)  propto  p(W) prod_j N(y_A[:, j]; 0, K_W + s^2 I).

    Self-normalised importance sampling with ``n_samples`` prior draws (float32, in chunks of
    ``chunk``) gives the posterior mean of q(W) = ||P W||_F / ||W||_F. The widths are nested:
    each draw has max(widths) columns and the width-n network uses its first n, so one draw
    serves every width. Importance sampling is only as good as its effective sample size
    (:func:`widenets.scaling.effective_sample_size`): the narrower the network and the more
    points conditioned on, the more peaked the likelihood; widths whose ESS is below
    ``ess_threshold`` are flagged (:attr:`GPConditioning.reliable`). As n grows K_W concentrates on
    the NNGP kernel, the likelihood stops depending on W and the posterior approaches the prior.
    """
    widths = np.array([_checks.positive_int(w, "widths") for w in widths])
    if widths.size == 0:
        raise ValueError("widths must be non-empty")
    n_samples = _checks.positive_int(n_samples, "n_samples")
    n_cond = _checks.positive_int(n_cond, "n_cond")
    chunk = min(_checks.positive_int(chunk, "chunk"), n_samples)
    ess_threshold = _checks.positive(ess_threshold, "ess_threshold")
    s2 = _checks.positive(noise, "noise") ** 2
    key = jax.random.PRNGKey(0) if key is None else key
    x = jnp.asarray(pair.x_a[:n_cond], jnp.float32)
    y = jnp.asarray(pair.y_a[:n_cond], jnp.float32)
    proj = jnp.asarray(pair.projection, jnp.float32)
    d, n_max = x.shape[1], int(widths.max())
    ns = jnp.asarray(widths, jnp.int32)

    def one(k):
        w = jax.random.normal(k, (d, n_max), jnp.float32)
        f = jax.nn.relu(x @ w * jnp.sqrt(2.0 / d))                          # (n_cond, n_max)
        outer = jnp.cumsum(f[:, None, :] * f[None, :, :], axis=-1)           # running sums of f_i f_i^T
        in_p = jnp.cumsum(jnp.sum((proj @ w) ** 2, axis=0))
        tot = jnp.cumsum(jnp.sum(w**2, axis=0))

        def at(n):
            cov = 2.0 * outer[:, :, n - 1] / n + s2 * jnp.eye(n_cond)
            chol = jnp.linalg.cholesky(cov)
            alpha = jax.scipy.linalg.solve_triangular(chol, y, lower=True)
            ll = -0.5 * jnp.sum(alpha**2) - y.shape[1] * jnp.sum(jnp.log(jnp.diag(chol)))
            return ll, jnp.sqrt(in_p[n - 1] / tot[n - 1])

        return jax.vmap(at)(ns)                                              # (W,), (W,)

    batch = jax.jit(jax.vmap(one))
    lls, qs = [], []
    keys = jax.random.split(key, n_samples)
    for i in range(0, n_samples, chunk):
        ll, q = batch(keys[i:i + chunk])
        lls.append(np.asarray(ll, np.float64))
        qs.append(np.asarray(q, np.float64))
    ll, q = np.concatenate(lls).T, np.concatenate(qs).T                      # (W, S)
    prior, post, err, ess, sd = [], [], [], [], []
    for lw, qw in zip(ll, q):
        wts = np.exp(lw - lw.max())
        wts /= wts.sum()
        m_post, m_prior = float(wts @ qw), float(qw.mean())
        # delta-method standard error of sum w q - mean q under self-normalised IS
        err.append(np.sqrt(np.sum(wts**2 * (qw - m_post) ** 2) + qw.var() / qw.size))
        prior.append(m_prior)
        post.append(m_post)
        sd.append(qw.std(ddof=1))
        ess.append(scaling.effective_sample_size(lw))
    return GPConditioning(widths, *(np.asarray(v, dtype=np.float64) for v in (prior, post, err, ess, sd)),
                          float(ess_threshold))


# --------------------------------------------------------------------------------------
# learned first-layer weights as images, and figures
# --------------------------------------------------------------------------------------
def digits_first_layer(parametrization: str = "mup", width: int = 256, seed: int = 0,
                       noise_dims: int = 128, n_a: int = 300, steps: int = 100,
                       lr: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Effective first-layer weights W = m w mapped back to pixel space, before and after
    pretraining on noisy digits 0-4: returns ``(w0, w1)``, each (64, width), the columns of
    ``signal @ W`` (the same ``w0`` for every parametrization with the same seed; signal:
    the rotated pixel subspace of :func:`widenets.data.noisy_transfer_pair`). Same network,
    data and training as :func:`digits_sweep` for ``seed``."""
    _checks.one_of(parametrization, mlp.PARAMETRIZATIONS, "parametrization")
    width = _checks.positive_int(width, "width")
    steps = _checks.positive_int(steps, "steps")
    xa, ya, _, _, _, _, signal = (a[0] for a in digits_arrays((seed,), 1, noise_dims, n_a))
    net = mlp.mlp(xa.shape[1], width, ya.shape[1], 1, "relu", parametrization)
    p0 = net.init(jax.random.PRNGKey(seed), dtype=xa.dtype)
    p1, _ = jax.jit(lambda p: train.gradient_descent(train.squared_loss(net.apply, xa, ya), p, steps, lr,
                                                     net.lr_scales()))(p0)
    m = net.multipliers()[0][0]  # effective weights W = m w: the same at init in every parametrization
    return np.asarray(signal @ (m * p0[0]["w"])), np.asarray(signal @ (m * p1[0]["w"]))


def top_directions(w: np.ndarray, count: int = 4) -> np.ndarray:
    """The ``count`` top left singular vectors of ``w`` (64, n) as 8x8 images, shape (count, 8, 8):
    the pixel patterns the first layer is most sensitive to."""
    count = _checks.positive_int(count, "count")
    w = np.asarray(_checks.finite_array(w, "w", ndim=2), dtype=np.float64)
    if w.shape[0] != 64:
        raise ValueError(f"w must have 64 rows (8x8 pixels), got shape {w.shape}")
    u, _, _ = np.linalg.svd(w - w.mean(axis=1, keepdims=True), full_matrices=False)
    return u[:, :count].T.reshape(count, 8, 8)


def plot_gains(ax, sweep: TransferSweep, mode: str = "probe", limit: float | None = None,
               ylabel: str = "transfer gain (drop in task-B relative MSE)") -> dict[str, np.ndarray]:
    """Transfer gain (mean +- SD over seeds) against width, one line per parametrization, on a
    log2 width axis; a horizontal line at ``limit`` (the infinite-width gain) if given.
    Returns :func:`summary`."""
    from widenets import plotting

    summ = summary(sweep, mode)
    for p, ms in summ.items():
        ax.errorbar(sweep.widths, ms[:, 0], yerr=ms[:, 1], capsize=3, **plotting.model_style(p),
                    label=f"{p} ({mode})")
    if limit is not None:
        ax.axhline(limit, ls=":", color=plotting.MODEL_COLORS["theory"], label="infinite width (kernel)")
    ax.set_xscale("log", base=2)
    plotting.label(ax, "width n", ylabel)
    return summ


def plot_alignment(ax, sweep: TransferSweep, random_level: float | None = None) -> None:
    """First-layer weight alignment with the relevant subspace after pretraining (mean +- SD over
    seeds) against width, one line per parametrization; dotted: the random-init level."""
    from widenets import plotting

    for i, p in enumerate(sweep.parametrizations):
        m, sd = scaling.mean_and_spread(sweep.align_pretrained[i], axis=-1)
        ax.errorbar(sweep.widths, m, yerr=sd, capsize=3, **plotting.model_style(p),
                    label=f"{p}, after pretraining")
    if random_level is not None:
        ax.axhline(random_level, ls=":", color=plotting.MODEL_COLORS["theory"], label="random init")
    ax.set_xscale("log", base=2)
    plotting.label(ax, "width n", r"alignment $\|PW\|_F/\|W\|_F$")


def plot_gp_conditioning(ax, g: GPConditioning) -> None:
    """Posterior minus prior mean of the weight alignment, in units of the prior's own standard
    deviation, against width, with +-2 Monte Carlo standard errors; widths whose effective sample
    size is below ``g.ess_threshold`` are not drawn (their positions are marked on the x axis)."""
    from widenets import plotting

    ok = g.reliable
    ax.axhline(0.0, ls=":", color=plotting.MODEL_COLORS["theory"], label="prior (no shift)")
    ax.errorbar(g.widths[ok], g.shift_in_prior_sd[ok], yerr=2 * g.stderr_in_prior_sd[ok], capsize=3,
                **{**plotting.model_style("nngp"), "linestyle": "-"}, label="posterior given task A (±2 s.e.)")
    if np.any(~ok):
        ax.plot(g.widths[~ok], np.zeros(int(np.sum(~ok))), "x", color=plotting.PALETTE["black"],
                label=f"ESS < {g.ess_threshold:.0f}: not shown")
    ax.set_xscale("log", base=2)
    plotting.label(ax, "width n", "(posterior − prior) mean alignment / prior SD")
