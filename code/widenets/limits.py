"""Tensor Programs limits: infinite-width training dynamics computed exactly.

Three computations, each checked against finite networks in ``tests/test_limits.py``:

1. **Master Theorem checks** (:func:`master_theorem_errors`): coordinate averages of a small
   Tensor Program against the Gaussian expectations over its Z variables.
2. **The exact muP limit of a 1-hidden-layer linear network** f(x) = V U x trained by
   full-batch gradient descent (:func:`linear_mup_train`). Every width-n vector stays in
   the span of the d rows of the initial input weights U_0 and the k columns of the initial
   output weights V_0. Those d + k vectors become orthogonal as n -> infinity, so training
   is a finite, deterministic recursion on a (d, d + k) and a (k, d + k) coefficient matrix
   (the construction of the MAML experiments of Tensor Programs IV).
3. **The muP (= mean-field) limit of a 1-hidden-layer nonlinear network**
   (:func:`mf_limit_train`): each neuron's trajectory is a deterministic function of its
   Gaussian initial (input weights, bias, readout); the output is an expectation over that
   law, computed by tensor Gauss-Hermite quadrature, and checked by Monte Carlo
   (:func:`mf_limit_monte_carlo`).

Plus the kernel (NTK) limit of the same training, :func:`kernel_gd`, for comparison.
Everything runs in float64.
"""
from __future__ import annotations

import itertools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, activations

__all__ = [
    "LinearMuPState",
    "linear_mup_init",
    "linear_mup_apply",
    "linear_mup_feature_kernel",
    "linear_mup_train",
    "linear_mup_gram",
    "linear_ntk",
    "kernel_gd",
]


def _steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def _xy(x, y):
    _checks.finite_array(x, "x", ndim=2)
    _checks.finite_array(y, "y", ndim=2)
    _checks.same_length(x, y, "x", "y")
    return jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)


# ---------------------------------------------------------------------------------------
# 2. The exact muP limit of a 1-hidden-layer linear network
# ---------------------------------------------------------------------------------------
class LinearMuPState(NamedTuple):
    """Coefficients of the width-n weight vectors in the basis of the initial ones.

    ``alpha`` (d, d + k): row i holds the coefficients of row i of U (the i-th input
    weight vector, an n-vector) on the normalised basis [rows of U_0; columns of V_0],
    scaled by n^{-1/2}; ``beta`` (k, d + k): column j of V, same basis, scaled by n^{1/2}.
    At initialization alpha = [sigma_w / sqrt(d) I_d, 0] and beta = [0, sigma_w I_k].
    """

    alpha: jax.Array
    beta: jax.Array


def linear_mup_init(in_dim: int, out_dim: int = 1, sigma_w: float = 1.0) -> LinearMuPState:
    """The initial state of the linear muP limit for ``in_dim`` inputs and ``out_dim`` outputs."""
    d = _checks.positive_int(in_dim, "in_dim")
    k = _checks.positive_int(out_dim, "out_dim")
    s = _checks.positive(sigma_w, "sigma_w")
    alpha = jnp.concatenate([s / math.sqrt(d) * jnp.eye(d), jnp.zeros((d, k))], axis=1)
    beta = jnp.concatenate([jnp.zeros((k, d)), s * jnp.eye(k)], axis=1)
    return LinearMuPState(alpha, beta)


def _gram(state: LinearMuPState, gram):
    m = state.alpha.shape[1]
    if gram is None:
        return jnp.eye(m)
    g = jnp.asarray(_checks.finite_array(gram, "gram", ndim=2), jnp.float64)
    if g.shape != (m, m):
        raise ValueError(f"gram must have shape ({m}, {m}), got {g.shape}")
    return g


def _check_state(state) -> LinearMuPState:
    if not isinstance(state, LinearMuPState):
        raise ValueError(f"state must be a LinearMuPState, got {type(state).__name__}")
    return state


def linear_mup_apply(state: LinearMuPState, x: jax.Array, output_scale: float = 1.0,
                     gram: jax.Array | None = None) -> jax.Array:
    """Outputs f(x) = output_scale * x alpha G beta^T, shape (N, k), for ``x`` of shape (N, d).

    ``G`` is the normalised Gram matrix of the basis vectors: the identity at infinite width
    (default), or :func:`linear_mup_gram` of a finite network to reproduce that network.
    """
    state = _check_state(state)
    _checks.finite_array(x, "x", ndim=2)
    if x.shape[1] != state.alpha.shape[0]:
        raise ValueError(f"x must have {state.alpha.shape[0]} columns, got shape {x.shape}")
    g = _gram(state, gram)
    return output_scale * (jnp.asarray(x, jnp.float64) @ state.alpha) @ g @ state.beta.T


def linear_mup_feature_kernel(state: LinearMuPState, x1: jax.Array, x2: jax.Array | None = None,
                              gram: jax.Array | None = None) -> jax.Array:
    """The limit of the hidden feature kernel h(x1) . h(x2) / n, h = x U: x1 alpha G alpha^T x2^T,
    shape (N1, N2). At initialization it is sigma_w^2 x1 x2^T / d; it moves Theta(1) in muP."""
    state = _check_state(state)
    x2 = x1 if x2 is None else x2
    _checks.finite_array(x1, "x1", ndim=2)
    _checks.finite_array(x2, "x2", ndim=2)
    g = _gram(state, gram)
    a = state.alpha
    return (jnp.asarray(x1, jnp.float64) @ a) @ g @ (jnp.asarray(x2, jnp.float64) @ a).T


def linear_mup_train(
    x: jax.Array,
    y: jax.Array,
    steps: int,
    lr: float,
    sigma_w: float = 1.0,
    output_scale: float = 1.0,
    state: LinearMuPState | None = None,
    x_eval: jax.Array | None = None,
    gram: jax.Array | None = None,
    record_states: bool = False,
) -> tuple[LinearMuPState, dict]:
    """Full-batch GD on L = 1/(2N) sum_i ||f(x_i) - y_i||^2 in the infinite-width muP limit
    of the linear network f(x) = output_scale * x U V.

    Shapes: ``x`` (N, d), ``y`` (N, k), ``x_eval`` (M, d). The recursion, with
    chi = (f(X) - Y) / N (N, k) and s = output_scale, sigma = sigma_w, is

        f(X) = s X alpha G beta^T,
        alpha <- alpha - lr * s * sigma^2 / d * X^T chi beta,
        beta  <- beta  - lr * s * sigma^2     * chi^T X alpha,

    (simultaneous update; G = I at infinite width: the only place width enters). It is exactly the infinite-width limit of

        net = mlp.mlp(d, n, k, 1, "identity", "mup", sigma_w=sigma, output_scale=s)   # sigma_b = 0
        params = net.init(key)
        train.gradient_descent(train.mse_loss(net.apply, x, y), params, steps, lr, net.lr_scales())

    and with ``gram = linear_mup_gram(net, params)`` it reproduces that width-n network to
    rounding error (the n-dependence of a finite network is all in G - I = O(n^{-1/2})).
    Pass ``state`` to continue training (e.g. fine-tune after pretraining on another task).

    Returns ``(final_state, history)``: ``history["loss"]`` (steps + 1,);
    ``history["outputs"]`` (steps + 1, M, k) if ``x_eval`` is given; ``history["alpha"]``
    (steps + 1, d, d + k) and ``history["beta"]`` (steps + 1, k, d + k) if ``record_states``.
    """
    x, y = _xy(x, y)
    steps = _steps(steps)
    lr = _checks.positive(lr, "lr")
    sigma = _checks.positive(sigma_w, "sigma_w")
    s = float(output_scale)
    if not math.isfinite(s) or s == 0.0:
        raise ValueError(f"output_scale must be a finite non-zero number, got {output_scale!r}")
    d, k = x.shape[1], y.shape[1]
    state = linear_mup_init(d, k, sigma) if state is None else _check_state(state)
    if state.alpha.shape != (d, d + k) or state.beta.shape != (k, d + k):
        raise ValueError(
            f"state has alpha {state.alpha.shape}, beta {state.beta.shape}; expected "
            f"({d}, {d + k}) and ({k}, {d + k}) for x with d={d} columns and y with k={k}"
        )
    if x_eval is not None:
        _checks.finite_array(x_eval, "x_eval", ndim=2)
        if x_eval.shape[1] != d:
            raise ValueError(f"x_eval must have {d} columns, got shape {x_eval.shape}")
        x_eval = jnp.asarray(x_eval, jnp.float64)
    g = _gram(state, gram)
    history = _linear_mup_scan(x, y, steps, lr, sigma, s, state.alpha, state.beta, g, x_eval,
                               bool(record_states))
    (alpha, beta), hist = history
    return LinearMuPState(alpha, beta), hist


def _linear_mup_scan(x, y, steps, lr, sigma, s, alpha, beta, g, x_eval, record_states):
    n_data, d = x.shape

    def outputs(a, b, z):
        return s * (z @ a) @ g @ b.T

    def rec(a, b):
        r = outputs(a, b, x) - y
        out = {"loss": 0.5 * jnp.sum(r * r) / n_data}
        if x_eval is not None:
            out["outputs"] = outputs(a, b, x_eval)
        if record_states:
            out["alpha"], out["beta"] = a, b
        return out

    @jax.jit
    def run(a0, b0):
        def step(carry, _):
            a, b = carry
            chi = (outputs(a, b, x) - y) / n_data
            a_new = a - lr * s * sigma**2 / d * (x.T @ chi) @ b
            b_new = b - lr * s * sigma**2 * (chi.T @ x) @ a
            return (a_new, b_new), rec(a, b)

        (a, b), hist = jax.lax.scan(step, (a0, b0), None, length=steps)
        last = rec(a, b)
        hist = jax.tree_util.tree_map(lambda h, l: jnp.concatenate([h, l[None]]), hist, last)
        return (a, b), hist

    return run(alpha, beta)


def linear_mup_gram(net, params) -> jax.Array:
    """The normalised Gram matrix G (d + k, d + k) of a finite linear muP network at init.

    With effective weights U_0 = g_1 w^1 (d, n) and V_0 = g_2 w^2 (n, k) (``net.multipliers``),
    the basis is B = [U_0; V_0^T] scaled by D^{-1/2}, D = diag(n sigma^2 / d (d times),
    sigma^2 / n (k times)), and G = D^{-1/2} B B^T D^{-1/2} -> I as n -> infinity.
    """
    if net.depth != 1 or net.activation != "identity":
        raise ValueError("net must be a 1-hidden-layer network with activation 'identity'")
    (g1, _), (g2, _) = net.multipliers()
    u0 = g1 * jnp.asarray(params[0]["w"], jnp.float64)
    v0 = g2 * jnp.asarray(params[1]["w"], jnp.float64)
    n, d, sigma = net.width, net.in_dim, net.sigma_w
    basis = jnp.concatenate([u0 * math.sqrt(d / (n * sigma**2)), v0.T * math.sqrt(n) / sigma], axis=0)
    return basis @ basis.T


def linear_ntk(x1: jax.Array, x2: jax.Array | None = None, sigma_w: float = 1.0,
               output_scale: float = 1.0) -> jax.Array:
    """The NTK of f(x) = s x U V in NTK parametrization at infinite width, (N1, N2):
    Theta(x, x') = 2 s^2 sigma^4 x.x' / d (half from U, half from V), the same for each output.
    (The linear network's NNGP kernel is s^2 sigma^4 x.x' / d.)"""
    x2 = x1 if x2 is None else x2
    _checks.finite_array(x1, "x1", ndim=2)
    _checks.finite_array(x2, "x2", ndim=2)
    sigma = _checks.positive(sigma_w, "sigma_w")
    d = x1.shape[1]
    return 2.0 * output_scale**2 * sigma**4 * jnp.asarray(x1, jnp.float64) @ jnp.asarray(x2, jnp.float64).T / d


def kernel_gd(
    k_train: jax.Array,
    y: jax.Array,
    steps: int,
    lr: float,
    k_eval: jax.Array | None = None,
    f0_train: jax.Array | None = None,
    f0_eval: jax.Array | None = None,
) -> dict:
    """Gradient descent in function space with a fixed kernel (the NTK limit of GD on the
    loss 1/(2N) sum ||f - y||^2): with r_t = f_t(X) - Y,

        r_{t+1} = (I - lr Theta / N) r_t,    f_t(x) = f_0(x) - lr / N Theta(x, X) sum_{s<t} r_s.

    Shapes: ``k_train`` (N, N) = Theta(X, X), ``y`` (N, k), ``k_eval`` (M, N) = Theta(x_eval, X),
    ``f0_*`` initial outputs (default 0: the mean over initializations). Returns
    ``{"loss": (steps + 1,), "train": (steps + 1, N, k), "outputs": (steps + 1, M, k)}``.
    """
    steps = _steps(steps)
    lr = _checks.positive(lr, "lr")
    kt = jnp.asarray(_checks.finite_array(k_train, "k_train", ndim=2), jnp.float64)
    y = jnp.asarray(_checks.finite_array(y, "y", ndim=2), jnp.float64)
    n = y.shape[0]
    if kt.shape != (n, n):
        raise ValueError(f"k_train must have shape ({n}, {n}), got {kt.shape}")
    ke = kt if k_eval is None else jnp.asarray(_checks.finite_array(k_eval, "k_eval", ndim=2), jnp.float64)
    if ke.shape[1] != n:
        raise ValueError(f"k_eval must have {n} columns, got shape {ke.shape}")
    f0t = jnp.zeros_like(y) if f0_train is None else jnp.asarray(f0_train, jnp.float64)
    f0e = jnp.zeros((ke.shape[0], y.shape[1])) if f0_eval is None else jnp.asarray(f0_eval, jnp.float64)

    def step(carry, _):
        ft, fe = carry
        r = ft - y
        out = (0.5 * jnp.sum(r * r) / n, ft, fe)
        return (ft - lr / n * kt @ r, fe - lr / n * ke @ r), out

    (ft, fe), (loss, tr, ev) = jax.lax.scan(step, (f0t, f0e), None, length=steps)
    r = ft - y
    return {
        "loss": jnp.concatenate([loss, (0.5 * jnp.sum(r * r) / n)[None]]),
        "train": jnp.concatenate([tr, ft[None]]),
        "outputs": jnp.concatenate([ev, fe[None]]),
    }
