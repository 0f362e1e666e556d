"""The exact muP limit of a 1-hidden-layer linear network f(x) = V U x trained by full-batch GD.

Every width-n vector stays in the span of the d rows of the initial input weights U_0 and the k
columns of the initial output weights V_0. Those d + k vectors become orthogonal as
n -> infinity, so training is a finite, deterministic recursion on a (d, d + k) and a
(k, d + k) coefficient matrix (the construction of the MAML experiments of Tensor Programs IV).
"""
from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, train
from widenets.limits._common import _steps, _xy


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
    d = state.alpha.shape[0]
    _checks.matrix(x1, "x1", cols=d, cols_what="the state's input dimension")
    if x2 is not None:
        _checks.matrix(x2, "x2", cols=d, cols_what="the state's input dimension")
    x2 = x1 if x2 is None else x2
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
    # one compiled program per shape: the scalars and G are arguments, not constants, so every
    # width, seed and learning rate reuses it (a fresh closure would compile on every call)
    return _linear_mup_run(x, y, x if x_eval is None else x_eval, alpha, beta, g,
                           jnp.float64(lr), jnp.float64(sigma), jnp.float64(s),
                           steps=steps, has_eval=x_eval is not None, record_states=record_states)


@partial(jax.jit, static_argnames=("steps", "has_eval", "record_states"))
def _linear_mup_run(x, y, x_eval, a0, b0, g, lr, sigma, s, *, steps, has_eval, record_states):
    # The recursion runs in data space: with P = X alpha (N, d + k) and K = X X^T (N, N),
    # alpha's update  alpha <- alpha - c X^T chi beta  becomes  P <- P - c K chi beta, and
    # alpha_t = alpha_0 - c X^T A_t with A_t = sum_{s<t} chi_s beta_s. Each step then costs
    # O(N^2 k + N k (d + k)) instead of O(N d (d + k)); alpha is formed only where it is needed.
    n_data, d = x.shape
    c_alpha, c_beta = lr * s * sigma**2 / d, lr * s * sigma**2
    kxx = x @ x.T
    kex = x_eval @ x.T
    e0 = x_eval @ a0

    def rec(p, b, acc):
        r = s * p @ g @ b.T - y
        out = {"loss": 0.5 * jnp.sum(r * r) / n_data}
        if has_eval:
            out["outputs"] = s * (e0 - c_alpha * kex @ acc) @ g @ b.T
        if record_states:
            out["alpha"], out["beta"] = a0 - c_alpha * x.T @ acc, b
        return out

    def step(carry, _):
        p, b, acc = carry
        chi = (s * p @ g @ b.T - y) / n_data
        chi_b = chi @ b
        return (p - c_alpha * kxx @ chi_b, b - c_beta * chi.T @ p, acc + chi_b), rec(p, b, acc)

    acc0 = jnp.zeros((n_data, a0.shape[1]), a0.dtype)
    (p, b, acc), hist = jax.lax.scan(step, (x @ a0, b0, acc0), None, length=steps)
    last = rec(p, b, acc)
    hist = jax.tree_util.tree_map(lambda h, l: jnp.concatenate([h, l[None]]), hist, last)
    return (a0 - c_alpha * x.T @ acc, b), hist


def linear_mup_gram(net, params) -> jax.Array:
    """The normalised Gram matrix G (d + k, d + k) of a finite linear muP network at init.

    With effective weights U_0 = g_1 w^1 (d, n) and V_0 = g_2 w^2 (n, k) (``net.multipliers``),
    the basis is B = [U_0; V_0^T] scaled by D^{-1/2}, D = diag(n sigma^2 / d (d times),
    sigma^2 / n (k times)), and G = D^{-1/2} B B^T D^{-1/2} -> I as n -> infinity.
    """
    if net.depth != 1 or net.activation != "identity":
        raise ValueError("net must be a 1-hidden-layer network with activation 'identity'")
    (g1, _), (g2, _) = net.multipliers()
    # computed in numpy on the host: it is done once per network, and jnp's eager ops would
    # compile anew for every width
    u0 = g1 * np.asarray(params[0]["w"], np.float64)
    v0 = g2 * np.asarray(params[1]["w"], np.float64)
    n, d, sigma = net.width, net.in_dim, net.sigma_w
    basis = np.concatenate([u0 * math.sqrt(d / (n * sigma**2)), v0.T * math.sqrt(n) / sigma], axis=0)
    return jnp.asarray(basis @ basis.T)


def finite_linear_outputs(
    x: jax.Array,
    y: jax.Array,
    widths,
    steps: int,
    lr: float,
    parametrization: str = "mup",
    seeds: int = 2,
    key: jax.Array | None = None,
    x_eval: jax.Array | None = None,
    sigma_w: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Train ``mlp.mlp(d, n, k, 1, "identity", parametrization, sigma_w=sigma_w)`` by full-batch GD
    (``net.lr_scales()``) at each width; returns ``(initial, final)`` outputs on ``x_eval``
    (default x), each (widths, seeds, M, k). One compilation per width."""
    from widenets import mlp

    x, y = _xy(x, y)
    xe = x if x_eval is None else jnp.asarray(x_eval, jnp.float64)
    steps = _steps(steps)
    lr = _checks.positive(lr, "lr")
    seeds = _checks.positive_int(seeds, "seeds")
    key = jax.random.PRNGKey(0) if key is None else key
    first, last = [], []
    for n in widths:
        net = mlp.mlp(x.shape[1], _checks.positive_int(int(n), "widths"), y.shape[1], 1, "identity",
                      parametrization, sigma_w=sigma_w)
        loss = train.mse_loss(net.apply, x, y)

        @jax.jit
        def run(p0, net=net, loss=loss):
            p, _ = train.gradient_descent(loss, p0, steps, lr, net.lr_scales())
            return net.apply(p0, xe), net.apply(p, xe)

        outs = [run(net.init(jax.random.fold_in(key, s))) for s in range(seeds)]
        first.append([np.asarray(o[0]) for o in outs])
        last.append([np.asarray(o[1]) for o in outs])
    return np.asarray(first), np.asarray(last)
