"""Ensembles of finite networks: random ones (to see the NNGP prior) and trained ones.

Chapter 3 checks two infinite-width statements with many finite networks:

* **The prior.** The outputs f(X) of a random network, over the draw of its parameters,
  tend to N(0, K) with K the NNGP kernel. :func:`prior_outputs` samples S networks;
  :func:`second_moment` estimates E[f f^T] from them (the prior mean is exactly 0, so the
  uncentred second moment is the unbiased estimator of the covariance); and
  :func:`covariance_error_vs_width` measures ||C_S - K||_F / ||K||_F against the width.
  That error has two parts: Monte Carlo noise, about sqrt(1/S) whatever the width, and the
  finite-width bias. For one hidden layer the bias is exactly 0 (E over the first layer of
  phi(h(x)) phi(h(x')) *is* the kernel's expectation), for deeper networks it is O(1/n).
  :func:`gaussian_floor` measures the Monte Carlo part alone, by drawing S exact samples
  of N(0, K). Non-Gaussianity itself is seen in the excess kurtosis of f(x) (0 for a
  Gaussian), :func:`excess_kurtosis`, which the CLT makes O(1/n).
* **Training.** :func:`trained_outputs` trains S networks from independent initializations
  with full-batch GD on L = 1/(2N) sum ||f - y||^2 (:func:`widenets.train.mse_loss`) and
  returns their outputs; their mean and covariance over seeds (:func:`mean_and_cov`) are
  compared with :func:`widenets.gp.gd_ensemble`.

Sampling runs ``jax.lax.map`` over seeds in batches (``batch`` networks at a time are
vmapped), so memory stays bounded. Use float32 (the default ``dtype`` here) for speed: the
quantities estimated carry Monte Carlo errors far above float32 round-off.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, mlp as mlp_module, train


# --------------------------------------------------------------------------- sampling
def _keys(key, n: int) -> jax.Array:
    return jax.random.split(key, n)


def prior_outputs(net: mlp_module.MLP, x, key, n_nets: int, batch: int = 256, dtype=jnp.float32) -> np.ndarray:
    """Outputs of ``n_nets`` independently initialized copies of ``net`` on ``x`` (N, d).

    Returns an array of shape (n_nets, N, out_dim). Network s uses ``jax.random.split(key,
    n_nets)[s]``, so the draws do not depend on ``batch``.
    """
    if not isinstance(net, mlp_module.MLP):
        raise ValueError(f"net must be a widenets.mlp.MLP, got {type(net).__name__}")
    _checks.net_inputs(net, x)
    _checks.prng_key(key)
    n_nets = _checks.positive_int(n_nets, "n_nets")
    batch = _checks.positive_int(batch, "batch")
    xj = jnp.asarray(x, dtype)
    out = _prior_outputs(net, xj, _keys(key, n_nets), min(batch, n_nets), jnp.dtype(dtype))
    return np.asarray(out)


def _prior_outputs_impl(net, x, keys, batch, dtype):
    def one(k):
        return net.apply(net.init(k, dtype), x)

    return jax.lax.map(one, keys, batch_size=batch)


_prior_outputs = jax.jit(_prior_outputs_impl, static_argnums=(0, 3, 4))


def second_moment(outputs) -> np.ndarray:
    """E[f(x) f(x')] estimated from ``outputs`` (S, N, k): the mean over the S networks and the
    k output channels of f f^T, shape (N, N). The prior mean is 0, so this is the covariance."""
    _checks.finite_array(outputs, "outputs", ndim=3)
    o = np.asarray(outputs, dtype=np.float64)
    s, n, k = o.shape
    return np.einsum("sik,sjk->ij", o, o) / (s * k)


def relative_error(estimate, reference) -> float:
    """||estimate - reference||_F / ||reference||_F for two arrays of the same shape."""
    _checks.finite_array(estimate, "estimate")
    _checks.finite_array(reference, "reference")
    a, b = np.asarray(estimate, np.float64), np.asarray(reference, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"estimate and reference must have the same shape, got {a.shape} and {b.shape}")
    nb = np.linalg.norm(b)
    if nb == 0:
        raise ValueError("reference must not be all zeros")
    return float(np.linalg.norm(a - b) / nb)


def excess_kurtosis(samples) -> np.ndarray:
    """Excess kurtosis E[(f - m)^4] / Var(f)^2 - 3 over the first axis of ``samples`` (S, ...).

    0 for a Gaussian; its sampling standard error for Gaussian samples is about sqrt(24 / S).
    Constant samples (variance 0, kurtosis 0/0) raise ``ValueError``.
    """
    _checks.finite_array(samples, "samples")
    s = np.asarray(samples, np.float64)
    if s.ndim < 1 or s.shape[0] < 4:
        raise ValueError(f"samples must have at least 4 draws along axis 0, got shape {s.shape}")
    _checks.nonconstant(s, "samples", axis=0)
    c = s - s.mean(axis=0)
    var = np.mean(c**2, axis=0)
    return np.mean(c**4, axis=0) / var**2 - 3.0


class PriorCheck(NamedTuple):
    """Results of :func:`covariance_error_vs_width`: for each width, the relative Frobenius
    error of the empirical covariance of ``n_nets`` random networks against the closed-form
    kernel (``error``, (m, repeats)), and the excess kurtosis of f(x_0) (``kurtosis``, (m, repeats))."""

    widths: np.ndarray
    error: np.ndarray
    kurtosis: np.ndarray
    n_nets: int


def _nested_impl(x, keys, widths, depth, activation, sigma_w, sigma_b):
    """Outputs (len(widths), S, N) of S random MLPs truncated to each width (see
    :func:`nested_prior_outputs`); pure jnp."""
    phi = mlp_module.activations.get(activation)
    n_max = max(widths)
    d = x.shape[1]

    def one(k):
        ks = jax.random.split(k, 2 * depth + 2)
        w1 = jax.random.normal(ks[0], (d, n_max), x.dtype)
        b1 = jax.random.normal(ks[1], (n_max,), x.dtype)
        hidden = [(jax.random.normal(ks[2 + 2 * l], (n_max, n_max), x.dtype),
                   jax.random.normal(ks[3 + 2 * l], (n_max,), x.dtype)) for l in range(depth - 1)]
        v = jax.random.normal(ks[-2], (n_max,), x.dtype)
        bv = jax.random.normal(ks[-1], (), x.dtype)
        outs = []
        for n in widths:
            z = phi(sigma_w / jnp.sqrt(d) * x @ w1[:, :n] + sigma_b * b1[:n])
            for w, b in hidden:
                z = phi(sigma_w / jnp.sqrt(n) * z @ w[:n, :n] + sigma_b * b[:n])
            outs.append(sigma_w / jnp.sqrt(n) * z @ v[:n] + sigma_b * bv)
        return jnp.stack(outs)

    return jnp.moveaxis(jax.vmap(one)(keys), 0, 1)


_nested = jax.jit(_nested_impl, static_argnums=(2, 3, 4, 5, 6))


def nested_prior_outputs(
    x,
    widths: Sequence[int],
    n_nets: int,
    key,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
    chunk: int = 250,
    dtype=jnp.float32,
) -> np.ndarray:
    """Outputs of ``n_nets`` random NTK-parametrized MLPs at every width in ``widths``, shape
    (len(widths), n_nets, N), for inputs ``x`` (N, d) and one output.

    One network of the largest width n_max is drawn per seed (all weights N(0, 1)) and the
    width-n network is its truncation: the first n neurons of every hidden layer, with the
    NTK-parametrization multipliers sigma_w / sqrt(fan_in) of width n,

        h^1 = sigma_w x W^1[:, :n] / sqrt(d) + sigma_b b^1[:n],
        h^{l+1} = sigma_w phi(h^l) W^{l+1}[:n, :n] / sqrt(n) + sigma_b b^{l+1}[:n],
        f = sigma_w phi(h^L) v[:n] / sqrt(n) + sigma_b b^{out}.

    Each truncation has exactly the distribution of :func:`widenets.mlp.mlp`'s width-n
    network (``parametrization="ntk"``, the same ``sigma_w``, ``sigma_b``), so all widths
    come from one compiled function. Networks are drawn ``chunk`` at a time.
    """
    _checks.matrix(x, "x")
    widths = tuple(_checks.positive_ints(widths, "widths"))
    _checks.prng_key(key)
    n_nets = _checks.positive_int(n_nets, "n_nets")
    depth = _checks.positive_int(depth, "depth")
    _checks.one_of(activation, tuple(mlp_module.activations.ACTIVATIONS), "activation")
    if sigma_w is None:
        sigma_w = float(np.sqrt(2.0)) if activation == "relu" else 1.0
    sigma_w = _checks.positive(sigma_w, "sigma_w")
    sigma_b = _checks.nonnegative(sigma_b, "sigma_b")
    chunk = min(_checks.positive_int(chunk, "chunk"), n_nets)
    n_chunks = -(-n_nets // chunk)
    keys = _keys(key, n_chunks * chunk)
    xj = jnp.asarray(x, dtype)
    outs = [_nested(xj, keys[c * chunk:(c + 1) * chunk], widths, depth, activation, sigma_w, sigma_b)
            for c in range(n_chunks)]
    return np.concatenate([np.asarray(o) for o in outs], axis=1)[:, :n_nets]


def covariance_error_vs_width(
    x,
    kernel,
    widths: Sequence[int],
    n_nets: int,
    key,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
    repeats: int = 1,
    chunk: int = 250,
    dtype=jnp.float32,
) -> PriorCheck:
    """Empirical NNGP covariance of ``n_nets`` random NTK-parametrized MLPs vs ``kernel``.

    ``x`` (N, d) inputs; ``kernel`` (N, N) the closed-form NNGP of the same architecture
    (e.g. ``widenets.kernels.nngp(x, depth=depth, ...)``); ``widths`` the hidden widths.
    For each width and each of ``repeats`` independent ensembles (keys folded from ``key``)
    returns ||C_S - K||_F / ||K||_F and the excess kurtosis of f(x_0) over the S networks.
    Networks come from :func:`nested_prior_outputs` (the widths share their draws).
    """
    _checks.matrix(x, "x")
    k = _checks.psd_matrix(kernel, "kernel", np.shape(x)[0])
    repeats = _checks.positive_int(repeats, "repeats")
    errs, kurts = [], []
    for r in range(repeats):
        out = nested_prior_outputs(x, widths, n_nets, jax.random.fold_in(key, r), depth, activation,
                                   sigma_w, sigma_b, chunk, dtype)
        errs.append([relative_error(second_moment(o[:, :, None]), k) for o in out])
        kurts.append(excess_kurtosis(out[:, :, 0].T))
    return PriorCheck(np.asarray(widths), np.asarray(errs).T, np.asarray(kurts).T, int(n_nets))


def error_over_floor(check: PriorCheck, floor) -> np.ndarray:
    """Per width, the covariance error of ``check`` averaged over its repeats, divided by the
    mean of ``floor`` (from :func:`gaussian_floor` with the same ``n_nets``): about 1 where the
    networks are as good as exact Gaussian samples, above 1 where a bias or heavy tails add
    to the error. Shape (len(check.widths),)."""
    fl = np.asarray(floor, dtype=np.float64)
    if fl.ndim != 1 or fl.size == 0 or not np.all(np.isfinite(fl)) or np.any(fl <= 0):
        raise ValueError("floor must be a non-empty 1-D array of positive errors (from gaussian_floor)")
    return np.asarray(check.error, np.float64).mean(axis=1) / float(np.mean(fl))


def gaussian_floor(kernel, n_nets: int, seed: int = 0, repeats: int = 20) -> np.ndarray:
    """The Monte Carlo part of :func:`covariance_error_vs_width`: the relative Frobenius error of
    the second moment of ``n_nets`` exact samples of N(0, ``kernel``), for ``repeats`` draws.

    Draws come from ``np.random.default_rng(seed)``. Returns (repeats,) errors. A width-n ensemble whose error sits at this floor is, as far
    as ``n_nets`` samples can tell, distributed like the GP.
    """
    k = _checks.psd_matrix(kernel, "kernel")
    n_nets = _checks.positive_int(n_nets, "n_nets")
    repeats = _checks.positive_int(repeats, "repeats")
    lam, vec = np.linalg.eigh(k)
    root = vec * np.sqrt(np.clip(lam, 0.0, None))
    rng = np.random.default_rng(seed)
    out = np.empty(repeats)
    for r in range(repeats):
        f = rng.standard_normal((n_nets, k.shape[0])) @ root.T
        out[r] = relative_error(f.T @ f / n_nets, k)
    return out


# --------------------------------------------------------------------------- training
def trained_outputs(
    net: mlp_module.MLP,
    x_train,
    y_train,
    x_test,
    key,
    n_nets: int,
    steps: int,
    lr: float,
    batch: int = 32,
    dtype=jnp.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Train ``n_nets`` copies of ``net`` from independent initializations and return their
    outputs ``(test (n_nets, M, k), train (n_nets, N, k))`` after ``steps`` steps of full-batch
    GD with learning rate ``lr`` (times ``net.lr_scales()``) on 1/(2N) sum ||f - y||^2.

    Network s starts from ``net.init(jax.random.split(key, n_nets)[s])``.
    """
    if not isinstance(net, mlp_module.MLP):
        raise ValueError(f"net must be a widenets.mlp.MLP, got {type(net).__name__}")
    _checks.net_inputs(net, x_train, "x_train")
    _checks.matrix(y_train, "y_train")
    _checks.same_length(x_train, y_train, "x_train", "y_train")
    _checks.net_targets(net, y_train, "y_train")
    _checks.net_inputs(net, x_test, "x_test")
    _checks.prng_key(key)
    n_nets = _checks.positive_int(n_nets, "n_nets")
    batch = _checks.positive_int(batch, "batch")
    steps = _checks.nonnegative_int(steps, "steps")
    lr = _checks.positive(lr, "lr")
    xs = [jnp.asarray(a, dtype) for a in (x_train, y_train, x_test)]
    params0 = net.init_many(_keys(key, n_nets), dtype)  # drawn outside the jit: see MLP.init_many
    test, tr = _trained(net, *xs, params0, int(steps), float(lr), min(batch, n_nets))
    test, tr = np.asarray(test), np.asarray(tr)
    _checks.warn_if_diverged((test, tr), "trained_outputs: training")
    return test, tr


def _trained_impl(net, x, y, xt, params0, steps, lr, batch):
    loss = train.squared_loss(net.apply, x, y)
    scales = net.lr_scales()

    def one(p0):
        params, _ = train.gradient_descent(loss, p0, steps, lr, scales)
        return net.apply(params, xt), net.apply(params, x)

    return jax.lax.map(one, params0, batch_size=batch)


_trained = jax.jit(_trained_impl, static_argnums=(0, 5, 6, 7))


def mean_and_cov(outputs) -> tuple[np.ndarray, np.ndarray]:
    """Mean (M, k) and covariance (M, M) over the first axis of ``outputs`` (S, M, k); the
    covariance is averaged over the k channels (they share one kernel), with ddof = 1."""
    _checks.finite_array(outputs, "outputs", ndim=3)
    o = np.asarray(outputs, np.float64)
    s, m, k = o.shape
    if s < 2:
        raise ValueError(f"outputs must hold at least 2 networks, got shape {o.shape}")
    mean = o.mean(axis=0)
    c = o - mean
    return mean, np.einsum("sik,sjk->ij", c, c) / ((s - 1) * k)


# --------------------------------------------------------------------------- digits
class DigitsComparison(NamedTuple):
    """Test accuracies on a digits task: kernel regression with the NNGP (``nngp``, the Bayesian
    posterior mean) and the NTK (``ntk``, the mean of the infinitely trained infinite-width
    ensemble); the infinite ensemble's mean after the same training time as the networks
    (``ntk_at_t``) and single draws from that ensemble, i.e. single infinitely wide trained
    networks (``ntk_sample``, (n_samples,)); trained finite networks (``finite``,
    (len(widths), n_seeds)) of each width, and the accuracy of the average output of the
    n_seeds networks of each width (``finite_mean``, (len(widths),))."""

    widths: np.ndarray
    finite: np.ndarray
    finite_mean: np.ndarray
    nngp: float
    ntk: float
    ntk_at_t: float
    ntk_sample: np.ndarray
    steps: int
    lr: float


def digits_comparison(
    task,
    widths: Sequence[int],
    n_seeds: int,
    steps: int,
    lr: float,
    key,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
    n_samples: int = 20,
    dtype=jnp.float32,
) -> DigitsComparison:
    """Kernel regression (NNGP, NTK) against trained finite networks on ``task``
    (a :class:`widenets.data.Task`; targets are its centred one-hot ``y_train``).

    Networks are NTK-parametrized MLPs (``depth``, ``activation``, ``sigma_w``, ``sigma_b``)
    trained by :func:`trained_outputs` for ``steps`` steps at ``lr``; ``n_seeds``
    initializations per width. The kernels are the same architecture's closed forms
    (:mod:`widenets.kernels`, float64), without ridge. ``n_samples`` draws of the infinite
    ensemble give ``ntk_sample``.
    """
    from widenets import data, gp, kernels

    widths = _checks.positive_ints(widths, "widths")
    n_seeds = _checks.positive_int(n_seeds, "n_seeds")
    n_samples = _checks.positive_int(n_samples, "n_samples")
    _checks.prng_key(key)
    kw = dict(depth=depth, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b)
    x, xt = np.asarray(task.x_train), np.asarray(task.x_test)
    y = np.asarray(task.y_train)
    kxx, ktx, ktt = (np.asarray(kernels.nngp(a, b, **kw)) for a, b in ((x, None), (xt, x), (xt, None)))
    txx, ttx = (np.asarray(kernels.ntk(a, b, **kw)) for a, b in ((x, None), (xt, x)))
    acc = lambda out: data.accuracy(out, task.labels_test)  # noqa: E731
    nngp_acc = acc(gp.kernel_regression(kxx, ktx, y))
    ntk_acc = acc(gp.kernel_regression(txx, ttx, y))
    at_t = gp.gd_ensemble(txx, ttx, None, kxx, ktx, ktt, y, steps, lr)
    # single infinitely wide networks: draws mean + C^{1/2} z, one z per output channel
    lam, vec = np.linalg.eigh(at_t.cov)
    root = vec * np.sqrt(np.clip(lam, 0.0, None))
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    samples = [acc(at_t.mean + root @ rng.standard_normal(at_t.mean.shape)) for _ in range(n_samples)]
    finite = np.zeros((len(widths), n_seeds))
    finite_mean = np.zeros(len(widths))
    for i, w in enumerate(widths):
        net = mlp_module.mlp(x.shape[1], w, y.shape[1], depth, activation, "ntk",
                             sigma_w=sigma_w, sigma_b=sigma_b)
        out, _ = trained_outputs(net, x, y, xt, jax.random.fold_in(key, i), n_seeds, steps, lr,
                                 batch=n_seeds, dtype=dtype)
        finite[i] = [acc(o) for o in out]
        finite_mean[i] = acc(out.mean(axis=0))
    return DigitsComparison(np.asarray(widths), finite, finite_mean, nngp_acc, ntk_acc, acc(at_t.mean),
                            np.asarray(samples), int(steps), float(lr))


# --------------------------------------------------------------------------- 1-D comparison
class RegressionComparison(NamedTuple):
    """Three predictive distributions on the test points of a 1-D regression: the Bayesian NNGP
    posterior (``bayes``), the infinite ensemble of GD-trained networks (``gd``, from
    :func:`widenets.gp.gd_ensemble` at the same training time), and ``n_nets`` trained
    finite networks of one width (``finite_mean`` (M, 1), ``finite_cov`` (M, M))."""

    bayes: tuple
    gd: tuple
    finite_mean: np.ndarray
    finite_cov: np.ndarray
    width: int
    n_nets: int


def regression_comparison(
    ds,
    width: int,
    n_nets: int,
    steps: int,
    lr: float,
    key,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
    dtype=jnp.float32,
) -> RegressionComparison:
    """Bayes (NNGP posterior, noise-free) vs the infinite GD ensemble (NTK) vs ``n_nets`` trained
    width-``width`` networks on ``ds`` (a :class:`widenets.data.Regression1D`)."""
    from widenets import gp, kernels

    width = _checks.positive_int(width, "width")
    kw = dict(depth=depth, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b)
    x, xt, y = np.asarray(ds.x_train), np.asarray(ds.x_test), np.asarray(ds.y_train)
    k = [np.asarray(kernels.nngp(a, b, **kw)) for a, b in ((x, None), (xt, x), (xt, None))]
    th = [np.asarray(kernels.ntk(a, b, **kw)) for a, b in ((x, None), (xt, x), (xt, None))]
    bayes = gp.posterior(k[0], k[1], k[2], y)
    gd = gp.gd_ensemble(th[0], th[1], th[2], k[0], k[1], k[2], y, steps, lr)
    net = mlp_module.mlp(x.shape[1], width, y.shape[1], depth, activation, "ntk", sigma_w=sigma_w, sigma_b=sigma_b)
    out, _ = trained_outputs(net, x, y, xt, key, n_nets, steps, lr, batch=min(n_nets, 32), dtype=dtype)
    mean, cov = mean_and_cov(out)
    return RegressionComparison(bayes, gd, mean, cov, width, int(n_nets))


def mean_sd(cov) -> float:
    """Mean over test points of the predictive standard deviation sqrt(diag cov) (negative
    round-off on the diagonal clipped to 0)."""
    c = _checks.symmetric_matrix(cov, "cov")
    return float(np.sqrt(np.clip(np.diag(c), 0.0, None)).mean())


def predictive_sd_ratio(comp: RegressionComparison) -> float:
    """:func:`mean_sd` of the trained finite networks over that of the infinite GD ensemble.
    Its Monte Carlo error is about sqrt(1 / (2 n_nets)) (a sd from n_nets draws)."""
    return mean_sd(comp.finite_cov) / mean_sd(comp.gd.cov)


# --------------------------------------------------------------------------- figures
def plot_prior_check(axes, checks: dict, floors: dict | None = None) -> dict:
    """Two panels: the covariance error (axes[0]) and the excess kurtosis of f(x_0) (axes[1])
    against width, one series per entry of ``checks`` (label -> :class:`PriorCheck`); the
    Monte Carlo floors (label -> (repeats,) from :func:`gaussian_floor`) as dashed lines with
    a shaded band of +- 1 sd over the floor's draws (how far one ensemble's error scatters), and
    the kurtosis's standard error sqrt(24/S) as a dotted line. Returns label -> kurtosis fit."""
    from widenets import plotting

    fits = {}
    colors = list(plotting.CYCLE)
    for i, (name, c) in enumerate(checks.items()):
        color = colors[i % len(colors)]
        mean, sd = scaling_mean(c.error)
        axes[0].errorbar(c.widths, mean, yerr=sd, marker=plotting.MARKERS[i], linestyle=plotting.LINESTYLES[i],
                         color=color, capsize=2, label=name)
        if floors and name in floors:
            fl = np.asarray(floors[name])
            axes[0].axhline(float(np.mean(fl)), color=color, ls=(0, (2, 2)), lw=1,
                            label=f"{name}: Monte Carlo floor (S={c.n_nets}), ± 1 sd")
            axes[0].axhspan(float(np.mean(fl) - np.std(fl)), float(np.mean(fl) + np.std(fl)),
                            color=color, alpha=0.12, lw=0)
        kurt = np.clip(c.kurtosis, 1e-4, None)
        fits[name] = plotting.scaling_plot(axes[1], c.widths, kurt, f"{name}", color=color,
                                           theory_slope=-1.0 if i == 0 else None)
    s = next(iter(checks.values())).n_nets
    axes[1].axhline(np.sqrt(24.0 / s), color="grey", ls=":", lw=1, label=f"std. error sqrt(24/S), S={s}")
    axes[0].set_xscale("log", base=2)
    axes[0].set_yscale("log")
    plotting.label(axes[0], "width n", "‖C_S − K‖_F / ‖K‖_F", "empirical covariance vs NNGP")
    plotting.label(axes[1], "width n", "excess kurtosis of f(x₀)", "non-Gaussianity vs width")
    return fits


def scaling_mean(values) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread over the last axis of (m, repeats) values (spread 0 for one repeat)."""
    from widenets import scaling

    return scaling.mean_and_spread(np.asarray(values), axis=1)


def plot_regression_comparison(axes, ds, comp: RegressionComparison) -> None:
    """Three panels: mean +- 2 sd of the NNGP posterior, the infinite GD ensemble, and the
    trained finite ensemble, with the training points and the target."""
    from widenets import plotting

    order = np.argsort(ds.t_test)
    t = ds.t_test[order]
    panels = (
        ("Bayesian NNGP posterior", comp.bayes[0], comp.bayes[1], plotting.MODEL_COLORS["nngp"]),
        ("infinite GD ensemble (NTK)", comp.gd[0], comp.gd[1], plotting.MODEL_COLORS["ntk"]),
        (f"{comp.n_nets} trained nets, width {comp.width}", comp.finite_mean, comp.finite_cov,
         plotting.MODEL_COLORS["sp"]),
    )
    for ax, (title, mean, cov, color) in zip(axes, panels):
        m = np.asarray(mean)[order, 0]
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))[order]
        ax.plot(t, ds.y_test[order, 0], ":", color="grey", lw=1, label="target")
        ax.plot(t, m, color=color, label="mean")
        ax.fill_between(t, m - 2 * sd, m + 2 * sd, color=color, alpha=0.25, label="± 2 sd")
        ax.plot(ds.t_train, ds.y_train[:, 0], "k.", ms=7, label="training points")
        plotting.label(ax, "input angle t (rad)", "f(t)", title, legend=False)
    plotting.legend_in_free_cell(axes[0])


def plot_digits(ax, comp: DigitsComparison) -> None:
    """Test accuracy against width: single trained networks (mean +- sd over seeds), the average
    of their outputs, and horizontal lines for the kernel predictors and single infinite nets."""
    from widenets import plotting

    mean, sd = scaling_mean(comp.finite)
    ax.errorbar(comp.widths, mean, yerr=sd, fmt="o-", color=plotting.MODEL_COLORS["sp"], capsize=2,
                label="one trained network")
    ax.plot(comp.widths, comp.finite_mean, "s--", color=plotting.MODEL_COLORS["mup"],
            label=f"average of {comp.finite.shape[1]} networks")
    for value, name, key, ls in ((comp.nngp, "NNGP posterior mean", "nngp", "-."),
                                 (comp.ntk, "NTK regression (t = ∞)", "ntk", "-"),
                                 (comp.ntk_at_t, f"infinite GD ensemble mean (t = {comp.steps})", "ntk", "--")):
        ax.axhline(value, color=plotting.MODEL_COLORS[key], ls=ls, lw=1.2, label=f"{name}: {value:.3f}")
    s = float(np.mean(comp.ntk_sample))
    ax.axhline(s, color=plotting.MODEL_COLORS["theory"], ls=":", lw=1.2,
               label=f"one infinitely wide network (sample): {s:.3f}")
    ax.set_xscale("log", base=2)
    plotting.label(ax, "width n", "test accuracy", "digits: kernels vs trained networks", legend=False)
    plotting.place_legend(ax, ncol=1)
