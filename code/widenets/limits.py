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
   (:func:`mf_limit_train`, :func:`mf_limit_qmc`): each neuron's trajectory is a deterministic
   function of its Gaussian initial (input weights, bias, readout); the output is an
   expectation over that law, computed by tensor Gauss-Hermite quadrature or by randomized
   quasi-Monte Carlo with error bars.

Plus the kernel (NTK) limit of the same training, :func:`kernel_gd`, for comparison.
Everything runs in float64.
"""
from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks, activations, train

__all__ = [
    "LinearMuPState",
    "linear_mup_init",
    "linear_mup_apply",
    "linear_mup_feature_kernel",
    "linear_mup_train",
    "linear_mup_gram",
    "linear_ntk",
    "kernel_gd",
    "finite_linear_outputs",
    "gauss_hermite",
    "gauss_hermite_grid",
    "MasterTheoremCheck",
    "master_theorem_limits",
    "master_theorem_errors",
    "mf_particles_train",
    "mf_limit_train",
    "mf_limit_qmc",
    "mup_network_to_particles",
    "finite_mup_outputs",
    "mf_limit_cost",
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


# ---------------------------------------------------------------------------------------
# 1. The Master Theorem on a small program
# ---------------------------------------------------------------------------------------
def gauss_hermite(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (order,) and weights (order,) with sum_j w_j g(z_j) ~ E g(Z), Z ~ N(0, 1)."""
    order = _checks.positive_int(order, "order")
    z, w = np.polynomial.hermite_e.hermegauss(order)
    return z, w / np.sqrt(2.0 * np.pi)


def gauss_hermite_grid(dim: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product Gauss-Hermite rule for E g(Z), Z ~ N(0, I_dim): nodes (order^dim, dim),
    weights (order^dim,). Exact for polynomials of degree < 2 * order in each coordinate."""
    dim = _checks.positive_int(dim, "dim")
    z, w = gauss_hermite(order)
    if order**dim > 4_000_000:
        raise ValueError(f"order**dim = {order**dim} quadrature nodes is too many; lower order or dim")
    nodes = np.array(list(itertools.product(z, repeat=dim)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=dim))), axis=1)
    return nodes, weights


class MasterTheoremCheck(NamedTuple):
    """Result of :func:`master_theorem_errors`. ``values`` (widths, seeds, 2): the coordinate
    averages (1/n) sum_a tanh(g_a)^2 and (1/n) sum_a x_a h_a of the program
    x ~ N(0, I_n), g = W tanh(x), h = W^T g with W_ab ~ N(0, 1/n); ``limits`` (2,): their
    Master Theorem limits; ``errors`` (widths, seeds, 2) = ``|values - limits|``."""

    widths: np.ndarray
    values: np.ndarray
    limits: np.ndarray
    errors: np.ndarray


def master_theorem_limits(order: int = 80) -> np.ndarray:
    """The two limits of :class:`MasterTheoremCheck` by Gauss-Hermite quadrature:

    * Z^g ~ N(0, s^2), s^2 = E tanh(Z^x)^2, so (1/n) sum tanh(g)^2 -> E tanh(s Z)^2;
    * Z^h = Zhat^h + Zdot^h with Zdot^h = Z^{tanh x} (the W^T-after-W correction), so
      (1/n) sum x h -> E[Z^x tanh(Z^x)] (ignoring Zdot would wrongly give 0).
    """
    z, w = gauss_hermite(order)
    s2 = float(w @ np.tanh(z) ** 2)
    return np.array([float(w @ np.tanh(np.sqrt(s2) * z) ** 2), float(w @ (z * np.tanh(z)))])


def master_theorem_errors(widths=(64, 256, 1024, 4096), seeds: int = 8,
                          key: jax.Array | None = None) -> MasterTheoremCheck:
    """Run the program of :class:`MasterTheoremCheck` at each width for ``seeds`` draws (float32)."""
    widths = np.asarray([_checks.positive_int(int(n), "widths") for n in widths])
    seeds = _checks.positive_int(seeds, "seeds")
    key = jax.random.PRNGKey(0) if key is None else key

    @jax.jit
    def program(k, n_dummy):
        n = n_dummy.shape[0]
        kx, kw = jax.random.split(k)
        x = jax.random.normal(kx, (n,), jnp.float32)
        w = jax.random.normal(kw, (n, n), jnp.float32) / jnp.sqrt(jnp.float32(n))
        g = w @ jnp.tanh(x)
        h = w.T @ g
        return jnp.stack([jnp.mean(jnp.tanh(g) ** 2), jnp.mean(x * h)])

    vals = np.array([[np.asarray(program(jax.random.fold_in(key, 1000 * i + s), jnp.zeros(int(n))))
                      for s in range(seeds)] for i, n in enumerate(widths)], np.float64)
    lim = master_theorem_limits()
    return MasterTheoremCheck(widths, vals, lim, np.abs(vals - lim))


# ---------------------------------------------------------------------------------------
# 3. The muP / mean-field limit of a 1-hidden-layer nonlinear network
# ---------------------------------------------------------------------------------------
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
    """Final outputs (widths, seeds, M, k) of width-n ``mup`` networks
    ``mlp.mlp(d, n, k, 1, activation, "mup", sigma_w, sigma_b)`` (output bias initialised to 0)
    after ``steps`` GD steps, computed in the equivalent particle form of :func:`mf_particles_train`."""
    from widenets import mlp

    x, y = _xy(x, y)
    seeds = _checks.positive_int(seeds, "seeds")
    key = jax.random.PRNGKey(0) if key is None else key
    out = []
    for n in widths:
        net = mlp.mlp(x.shape[1], _checks.positive_int(int(n), "widths"), y.shape[1], 1, activation,
                      "mup", sigma_w=sigma_w, sigma_b=sigma_b)
        row = []
        for s in range(seeds):
            parts = mup_network_to_particles(net, net.init(jax.random.fold_in(key, s)))
            h = mf_particles_train(*parts, x, y, steps, lr, activation, sigma_w, sigma_b, x_eval)
            row.append(np.asarray(h["outputs"]))
        out.append(row)
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
