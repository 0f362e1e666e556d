"""The muP (= mean-field) limit of a 1-hidden-layer nonlinear network.

Each neuron's trajectory is a deterministic function of its Gaussian initial (input weights, bias,
readout); the output is an expectation over that law, computed by tensor Gauss-Hermite
quadrature or by randomized quasi-Monte Carlo with error bars.
"""
from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, activations, train
from widenets.limits._common import _steps, _xy
from widenets.limits.quadrature import gauss_hermite_grid


def mf_particles_train(
    w1: jax.Array,
    v1: jax.Array,
    w2: jax.Array,
    weights: jax.Array,
    x: jax.Array,
    y: jax.Array,
    steps: int,
    lr: float,
    activation: str = "tanh",
    sigma_w: float = 1.0,
    sigma_b: float = 1.0,
    x_eval: jax.Array | None = None,
) -> dict:
    """GD for a weighted population of neurons in mean-field form (the muP network, by the
    abc symmetry). Neuron j has input weights ``w1[j]`` (d,), bias ``v1[j]``, readout ``w2[j]`` (k,)
    and weight ``weights[j]`` (summing to 1: 1/n for a width-n network, quadrature weights
    for the limit); the output bias b2 (k,) starts at 0. With h_j(x) = sigma_w x.w1_j / sqrt(d)
    + sigma_b v1_j and chi = (f(X) - Y)/N (N, k):

        f(x) = sigma_w sum_j weights_j w2_j phi(h_j(x)) + sigma_b b2,
        w2_j <- w2_j - lr sigma_w sum_a phi(h_j(x_a)) chi_a,
        w1_j <- w1_j - lr sigma_w^2 / sqrt(d) sum_a (w2_j . chi_a) phi'(h_j(x_a)) x_a,
        v1_j <- v1_j - lr sigma_w sigma_b sum_a (w2_j . chi_a) phi'(h_j(x_a)),
        b2   <- b2   - lr sigma_b sum_a chi_a.

    This is exactly ``mlp.mlp(d, n, k, 1, activation, "mup", sigma_w=.., sigma_b=..)`` trained by
    ``train.gradient_descent(.., net.lr_scales())`` with the output bias initialised to 0, under
    the map :func:`mup_network_to_particles` (tested to rounding error).
    Returns ``{"loss": (steps+1,), "outputs": (M, k)}``: the training loss along the way and the
    final outputs on ``x_eval`` (M, d) (default x).
    """
    x, y = _xy(x, y)
    steps = _steps(steps)
    lr = _checks.positive(lr, "lr")
    activations.get(activation)
    sigma = _checks.positive(sigma_w, "sigma_w")
    sb = _checks.nonnegative(sigma_b, "sigma_b")
    xe = x if x_eval is None else jnp.asarray(_checks.finite_array(x_eval, "x_eval", ndim=2), jnp.float64)
    w1, v1, w2, om = (jnp.asarray(a, jnp.float64) for a in (w1, v1, w2, weights))
    d = x.shape[1]
    if w1.ndim != 2 or w1.shape[1] != d:
        raise ValueError(f"w1 must have shape (P, {d}), got {w1.shape}")
    p = w1.shape[0]
    if v1.shape != (p,) or w2.shape != (p, y.shape[1]) or om.shape != (p,):
        raise ValueError(f"v1, w2, weights must have shapes ({p},), ({p}, {y.shape[1]}), ({p},)")
    return _mf_run(w1, v1, w2, om, x, y, xe, steps, lr, activation, sigma, sb)


@partial(jax.jit, static_argnames=("steps", "lr", "activation", "sigma", "sb"))
def _mf_run(w1, v1, w2, om, x, y, xe, steps, lr, activation, sigma, sb):
    phi = activations.get(activation)
    dphi = jax.vmap(jax.grad(lambda z: phi(z)))
    n_data, d = x.shape

    def pre(a, v, z):
        return sigma / math.sqrt(d) * z @ a.T + sb * v  # (N, P)

    def out(st, z):
        a, v, w, b = st
        return sigma * (phi(pre(a, v, z)) * om) @ w + sb * b

    def step(st, _):
        a, v, w, b = st
        h = pre(a, v, x)
        f = sigma * (phi(h) * om) @ w + sb * b
        chi = (f - y) / n_data
        back = (chi @ w.T) * dphi(h.ravel()).reshape(h.shape)  # (w2_j . chi_a) phi'(h_ja)
        new = (a - lr * sigma**2 / math.sqrt(d) * back.T @ x,
               v - lr * sigma * sb * back.sum(axis=0),
               w - lr * sigma * phi(h).T @ chi,
               b - lr * sb * chi.sum(axis=0))
        r = f - y
        return new, 0.5 * jnp.sum(r * r) / n_data

    st, loss = jax.lax.scan(step, (w1, v1, w2, jnp.zeros(y.shape[1])), None, length=steps)
    r = out(st, x) - y
    return {"loss": jnp.concatenate([loss, (0.5 * jnp.sum(r * r) / n_data)[None]]),
            "outputs": out(st, xe)}


def _split_nodes(nodes, d, k, sb):
    w1 = nodes[:, :d]
    v1 = nodes[:, d] if sb > 0 else np.zeros(nodes.shape[0])
    return w1, v1, nodes[:, nodes.shape[1] - k:]


def mf_limit_train(
    x: jax.Array,
    y: jax.Array,
    steps: int,
    lr: float,
    activation: str = "tanh",
    sigma_w: float = 1.0,
    sigma_b: float = 1.0,
    order: int = 10,
    x_eval: jax.Array | None = None,
) -> dict:
    """The infinite-width muP (mean-field) limit of a 1-hidden-layer network trained by GD,
    by tensor Gauss-Hermite quadrature.

    Each neuron's trajectory is a deterministic function of its initial (w1, v1, w2) ~
    N(0, I_{d+1+k}) and of the shared residuals chi_t; the output is the expectation
    f_t(x) = sigma_w E[w2_t phi(h_t(x))] + sigma_b b2_t. Here the expectation is a tensor
    Gauss-Hermite rule with ``order`` nodes per dimension (order^(d+1+k) neurons; the bias
    dimension is dropped when sigma_b = 0), i.e. :func:`mf_particles_train` with the nodes as
    neurons and the quadrature weights as their weights. Only small d + k are feasible, and
    the integrand grows rougher with the number of steps (see :func:`mf_limit_qmc`).
    """
    x, y = _xy(x, y)
    d, k = x.shape[1], y.shape[1]
    sb = _checks.nonnegative(sigma_b, "sigma_b")
    dim = d + k + (1 if sb > 0 else 0)
    nodes, weights = gauss_hermite_grid(dim, order)
    w1, v1, w2 = _split_nodes(nodes, d, k, sb)
    return mf_particles_train(w1, v1, w2, weights, x, y, steps, lr, activation, sigma_w, sb, x_eval)


def mf_limit_qmc(
    x: jax.Array,
    y: jax.Array,
    steps: int,
    lr: float,
    activation: str = "tanh",
    sigma_w: float = 1.0,
    sigma_b: float = 1.0,
    log2_points: int = 14,
    replicas: int = 4,
    seed: int = 0,
    x_eval: jax.Array | None = None,
) -> dict:
    """The same limit as :func:`mf_limit_train`, with the expectation over the initial law
    computed by randomized quasi-Monte Carlo: ``replicas`` independently scrambled Sobol sets of
    2^log2_points points, mapped to N(0, I) by the inverse normal CDF, each trained
    self-consistently. The replicas are independent, so their spread gives an error bar.

    Returns ``{"outputs": (M, k) final outputs, mean over replicas, "stderr": (M, k),
    "loss": (steps+1,) mean, "replicas": (replicas, M, k)}``.
    """
    from scipy.stats import norm, qmc

    x, y = _xy(x, y)
    d, k = x.shape[1], y.shape[1]
    sb = _checks.nonnegative(sigma_b, "sigma_b")
    m = _checks.positive_int(log2_points, "log2_points")
    replicas = _checks.positive_int(replicas, "replicas")
    if replicas < 2:
        raise ValueError("replicas must be >= 2 to estimate an error bar")
    dim = d + k + (1 if sb > 0 else 0)
    outs, losses = [], []
    for r in range(replicas):
        u = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng([seed, r])).random_base2(m)
        z = norm.ppf(u)
        w1, v1, w2 = _split_nodes(z, d, k, sb)
        h = mf_particles_train(w1, v1, w2, np.full(2**m, 2.0**-m), x, y, steps, lr, activation,
                               sigma_w, sb, x_eval)
        outs.append(np.asarray(h["outputs"]))
        losses.append(np.asarray(h["loss"]))
    outs = np.stack(outs)
    return {"outputs": outs.mean(axis=0), "stderr": outs.std(axis=0, ddof=1) / math.sqrt(replicas),
            "loss": np.mean(losses, axis=0), "replicas": outs}


def mup_network_to_particles(net, params) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(w1 (n, d), v1 (n,), w2 (n, k), weights (n,)) of a 1-hidden-layer ``mup`` network, for
    :func:`mf_particles_train` (raw normals rescaled by sqrt(n); weights 1/n)."""
    if net.depth != 1 or net.param.name != "mup":
        raise ValueError("net must be a 1-hidden-layer network in parametrization 'mup'")
    r = math.sqrt(net.width)
    return (r * params[0]["w"].T, r * params[0]["b"], r * params[1]["w"],
            jnp.full((net.width,), 1.0 / net.width))


def finite_mup_outputs(
    x: jax.Array,
    y: jax.Array,
    widths,
    steps: int,
    lr: float,
    activation: str = "tanh",
    sigma_w: float = 1.0,
    sigma_b: float = 1.0,
    seeds: int = 3,
    key: jax.Array | None = None,
    x_eval: jax.Array | None = None,
) -> np.ndarray:
    """Final outputs (widths, seeds, M, k) of real width-n networks
    ``mlp.mlp(d, n, k, 1, activation, "mup", sigma_w=sigma_w, sigma_b=sigma_b)`` trained by
    ``train.gradient_descent(train.mse_loss(..), .., lr, net.lr_scales())`` for ``steps`` steps,
    with the output bias initialised to 0 (init key ``fold_in(key, seed)``).

    Why the output bias is zeroed: in muP the output bias is a width-independent parameter with
    an O(1) random initial value, so with it the infinite-width limit would itself be random
    (one limit per draw of that scalar) and a width-n network would approach the limit of its own
    bias draw, not :func:`mf_limit_qmc`'s; starting it at 0 (it still trains) makes the limit
    deterministic. The hidden biases (fan-in 1) stay random: they are integrated over in the limit.
    """
    from widenets import mlp

    x, y = _xy(x, y)
    xe = x if x_eval is None else jnp.asarray(_checks.finite_array(x_eval, "x_eval", ndim=2), jnp.float64)
    steps = _steps(steps)
    lr = _checks.positive(lr, "lr")
    seeds = _checks.positive_int(seeds, "seeds")
    key = jax.random.PRNGKey(0) if key is None else key
    out = []
    for n in widths:
        net = mlp.mlp(x.shape[1], _checks.positive_int(int(n), "widths"), y.shape[1], 1, activation,
                      "mup", sigma_w=sigma_w, sigma_b=sigma_b)
        loss = train.mse_loss(net.apply, x, y)

        @jax.jit
        def run(p0, net=net, loss=loss):
            p0 = p0[:-1] + [{"w": p0[-1]["w"], "b": jnp.zeros_like(p0[-1]["b"])}]
            p, _ = train.gradient_descent(loss, p0, steps, lr, net.lr_scales())
            return net.apply(p, xe)

        out.append([np.asarray(run(net.init(jax.random.fold_in(key, s)))) for s in range(seeds)])
    return np.asarray(out)


def mf_limit_cost(x: jax.Array, y: jax.Array, steps_list, lr: float, log2_points: int = 12,
                  activation: str = "tanh") -> np.ndarray:
    """Wall-clock seconds (after compilation) of one self-consistent run of the 1-hidden-layer
    limit with 2^log2_points neurons, for each number of steps in ``steps_list``."""
    import time

    x, y = _xy(x, y)
    d, k = x.shape[1], y.shape[1]
    z = np.random.default_rng(0).standard_normal((2 ** _checks.positive_int(log2_points, "log2_points"),
                                                  d + k + 1))
    w1, v1, w2 = _split_nodes(z, d, k, 1.0)
    om = np.full(z.shape[0], 1.0 / z.shape[0])
    secs = []
    for steps in steps_list:
        run = lambda: mf_particles_train(w1, v1, w2, om, x, y, int(steps), lr, activation)  # noqa: E731
        jax.block_until_ready(run())
        t0 = time.perf_counter()
        jax.block_until_ready(run())
        secs.append(time.perf_counter() - t0)
    return np.asarray(secs)
