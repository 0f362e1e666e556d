"""Closed-form NNGP and NTK kernels of infinitely wide MLPs, and gradient-flow predictions.

For the network ``widenets.mlp.mlp(d, n, out_dim, depth=L, activation, "ntk", sigma_w,
sigma_b)`` in the limit n -> infinity, every output unit is a Gaussian process with
covariance Sigma^{L+1} (the NNGP kernel) and gradient descent trains it with the tangent
kernel Theta^{L+1} (the NTK). Both follow from the layer-by-layer recursion
(Neal 1996; Lee et al. 2018; Jacot et al. 2018; Arora et al. 2019)

    Sigma^1(x, x')     = sigma_w^2 x.x'/d + sigma_b^2,          Theta^1 = Sigma^1,
    Sigma^{l+1}(x, x') = sigma_w^2 E[phi(u) phi(v)] + sigma_b^2,
    Sigma-dot^{l+1}    = sigma_w^2 E[phi'(u) phi'(v)],
    Theta^{l+1}        = Sigma^{l+1} + Theta^l * Sigma-dot^{l+1},     l = 1..L,

where (u, v) ~ N(0, [[Sigma^l(x,x), Sigma^l(x,x')], [Sigma^l(x,x'), Sigma^l(x',x')]]).
The two Gaussian expectations are known in closed form for

* ``relu``: the arc-cosine kernel of Cho & Saul (2009), with cos(t) = k / sqrt(q q'),
  E[phi(u)phi(v)] = sqrt(q q') (sin t + (pi - t) cos t) / (2 pi),  E[phi'phi'] = (pi - t)/(2 pi);
* ``erf``: Williams (1997),
  E[phi(u)phi(v)] = (2/pi) arcsin(2k / sqrt((1 + 2q)(1 + 2q'))),
  E[phi'phi'] = (4/pi) / sqrt((1 + 2q)(1 + 2q') - 4k^2);
* ``identity``: E[uv] = k, E[1] = 1;

and for ``tanh`` they are computed by Gauss-Hermite quadrature over the 2-D Gaussian.

Everything is computed in the dtype of the inputs (float64 after ``import widenets``); the
test suite checks relu, erf and identity against ``neural_tangents.stax`` to 1e-10 relative
(:func:`neural_tangents_kernels`) and tanh against Monte Carlo.
"""
from __future__ import annotations

import functools
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks

KERNEL_ACTIVATIONS = ("relu", "erf", "tanh", "identity")
#: Activations whose expectations are computed by quadrature (no closed form).
QUADRATURE_ACTIVATIONS = ("tanh",)
#: Number of Gauss-Hermite nodes per dimension for activations without a closed form.
QUADRATURE_NODES = 96


class LayerKernels(NamedTuple):
    """All layers' kernels for inputs x1 (N1, d), x2 (N2, d).

    ``sigma``: (L+1, N1, N2), Sigma^1..Sigma^{L+1}; ``sigma_dot``: (L, N1, N2),
    Sigma-dot^2..Sigma-dot^{L+1}; ``theta``: (L+1, N1, N2), Theta^1..Theta^{L+1}.
    The last entries of ``sigma`` and ``theta`` are the output NNGP and NTK.
    """

    sigma: jax.Array
    sigma_dot: jax.Array
    theta: jax.Array


# --- the Gaussian expectations -------------------------------------------------------------
def _relu_expectations(k, q1, q2):
    """E[relu(u) relu(v)] and E[relu'(u) relu'(v)] for Cov(u, v) = [[q1, k], [k, q2]].

    arccos is ill-conditioned at +-1 (t ~ sqrt(2 (1 - cos))): a cosine that rounds to 1 - eps
    instead of 1 gives t ~ 2e-8 and an error of that size in E[relu' relu']. So cosines within
    4 eps of +-1, which rounding cannot tell from +-1, are taken as +-1; this makes the diagonal
    x = x' exact whatever order the compiler evaluates k / sqrt(q q) in.
    """
    norm = jnp.sqrt(q1 * q2)
    live = norm > 0  # a zero-variance unit (e.g. x = 0 with sigma_b = 0) is relu(0) = 0, relu'(0) = 0
    cos = k / jnp.where(live, norm, 1.0)
    snap = 4.0 * jnp.finfo(cos.dtype).eps
    cos = jnp.where(cos > 1.0 - snap, 1.0, jnp.where(cos < snap - 1.0, -1.0, cos))
    t = jnp.arccos(cos)
    sin = jnp.sqrt(jnp.maximum(1.0 - cos * cos, 0.0))
    e_phi = norm * (sin + (jnp.pi - t) * cos) / (2.0 * jnp.pi)
    e_dphi = jnp.where(live, (jnp.pi - t) / (2.0 * jnp.pi), 0.0)
    return e_phi, e_dphi


def _erf_expectations(k, q1, q2):
    """E[erf(u) erf(v)] and E[erf'(u) erf'(v)] (Williams 1997)."""
    a = (1.0 + 2.0 * q1) * (1.0 + 2.0 * q2)
    e_phi = (2.0 / jnp.pi) * jnp.arcsin(jnp.clip(2.0 * k / jnp.sqrt(a), -1.0, 1.0))
    e_dphi = (4.0 / jnp.pi) / jnp.sqrt(a - 4.0 * k * k)
    return e_phi, e_dphi


def _identity_expectations(k, q1, q2):
    return k, jnp.ones_like(k)


def _quadrature_expectations(phi, dphi, nodes):
    """Gauss-Hermite estimate of E[phi(u)phi(v)], E[phi'(u)phi'(v)] on a nodes x nodes grid.

    With u = sqrt(q1) z1 and v = sqrt(q2) (c z1 + s z2), c = k/sqrt(q1 q2), s = sqrt(1 - c^2),
    z1, z2 independent standard normals; the probabilists' Hermite rule integrates
    polynomials of degree < 2 * nodes exactly. For erf with q <= 4 (a test of this code
    against Williams' closed form) 96 nodes give 2e-9 (E[phi phi]) and 2e-8 (E[phi' phi'])
    relative error; 48 nodes give 1e-4.
    Rows are processed one at a time (``lax.map``): memory O(N2 nodes^2).
    """
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2.0 * np.pi)

    def one(k, q1, q2):
        zz = jnp.asarray(z, dtype=k.dtype)
        ww = jnp.asarray(w, dtype=k.dtype)
        r1, r2 = jnp.sqrt(q1), jnp.sqrt(q2)
        rr = r1 * r2  # a zero-variance argument is constant 0: any c gives the same integral
        c = jnp.clip(k / jnp.where(rr > 0, rr, 1.0), -1.0, 1.0)
        s = jnp.sqrt(jnp.maximum(1.0 - c * c, 0.0))
        u = r1[..., None] * zz  # (..., m): depends on z1 only
        v = r2[..., None, None] * (c[..., None, None] * zz[:, None] + s[..., None, None] * zz[None, :])
        out = []
        for g in (phi, dphi):
            inner = jnp.einsum("...ab,b->...a", g(v), ww)
            out.append(jnp.einsum("...a,...a,a->...", g(u), inner, ww))
        return out[0], out[1]

    def expectations(k, q1, q2):
        if k.ndim < 2:
            return one(k, q1, q2)
        return jax.lax.map(lambda args: one(*args), (k, q1, q2))

    return expectations


def _tanh(z):
    return jnp.tanh(z)


def _dtanh(z):
    return 1.0 - jnp.tanh(z) ** 2


def _expectations(activation: str):
    if activation == "relu":
        return _relu_expectations
    if activation == "erf":
        return _erf_expectations
    if activation == "identity":
        return _identity_expectations
    return _quadrature_expectations(_tanh, _dtanh, QUADRATURE_NODES)


# --- the recursion ---------------------------------------------------------------------------
def _recursion(x1, x2, depth, activation, sigma_w, sigma_b, same, keep_layers):
    """The layer recursion of the module docstring, traced once inside ``jit``.

    Returns the last layer's (Sigma, Theta) and, with ``keep_layers``, every layer's
    (Sigma^l, Sigma-dot^l, Theta^l). Only what is returned is materialised: XLA fuses each
    layer's elementwise update and frees the previous layer's buffers, and it removes the
    Sigma-dot/Theta computations when only the NNGP is asked for.
    """
    d = x1.shape[1]
    sw2, sb2 = sigma_w**2, sigma_b**2
    expect = _expectations(activation)
    k = sw2 * (x1 @ x2.T) / d + sb2
    q1 = sw2 * jnp.sum(x1 * x1, axis=1) / d + sb2
    q2 = sw2 * jnp.sum(x2 * x2, axis=1) / d + sb2
    theta = k
    layers = ([k], [], [theta]) if keep_layers else None
    for _ in range(depth):
        Q1 = jnp.broadcast_to(q1[:, None], k.shape)
        Q2 = jnp.broadcast_to(q2[None, :], k.shape)
        if same:  # the diagonal is exactly x = x'; set cos = 1 there, not k/sqrt(q q) ~ 1
            k = jnp.where(jnp.eye(k.shape[0], dtype=bool), Q1, k)
        e_phi, e_dphi = expect(k, Q1, Q2)
        # diagonal variances of the next layer: the same expectation at k = q
        d1, _ = expect(q1, q1, q1)
        d2, _ = expect(q2, q2, q2)
        k = sw2 * e_phi + sb2
        dot = sw2 * e_dphi
        theta = k + theta * dot
        q1, q2 = sw2 * d1 + sb2, sw2 * d2 + sb2
        if keep_layers:
            layers[0].append(k)
            layers[1].append(dot)
            layers[2].append(theta)
    return k, theta, layers


@partial(jax.jit, static_argnames=("depth", "activation", "same"))
def _layerwise(x1, x2, depth, activation, sigma_w, sigma_b, same):
    _, _, (sigmas, dots, thetas) = _recursion(x1, x2, depth, activation, sigma_w, sigma_b, same, True)
    dots_arr = jnp.stack(dots) if dots else jnp.zeros((0,) + sigmas[0].shape, sigmas[0].dtype)
    return LayerKernels(jnp.stack(sigmas), dots_arr, jnp.stack(thetas))


#: Rows of the kernel matrix computed together by :func:`_last_layer`.
BLOCK_ROWS = 128


@partial(jax.jit, static_argnames=("depth", "activation", "same", "get"))
def _last_layer(x1, x2, depth, activation, sigma_w, sigma_b, same, get):
    """The last layer's NNGP and/or NTK (``get`` in "nngp", "ntk", "both"), block of rows by block.

    The recursion is elementwise in (x, x') once the diagonal variances q^l(x) are known, so
    those are computed first (vectors of length N), and then each block of ``BLOCK_ROWS``
    rows runs through all L layers while it is small enough to stay in cache, and is written
    into the (N1, N2) outputs in place. Peak memory is the outputs plus a few blocks: XLA
    would otherwise keep several N1 x N2 intermediates (cos, sin, arccos) of every layer.
    The last block starts at N1 - BLOCK_ROWS, overlapping the one before instead of padding.
    """
    n1, d = x1.shape
    n2 = x2.shape[0]
    sw2, sb2 = sigma_w**2, sigma_b**2
    expect = _expectations(activation)

    def diagonals(x):  # q^1 .. q^L (the inputs of layers 1..L), shape (L, N)
        q = sw2 * jnp.sum(x * x, axis=1) / d + sb2
        qs = []
        for _ in range(depth):
            qs.append(q)
            e_phi, _ = expect(q, q, q)
            q = sw2 * e_phi + sb2
        return jnp.stack(qs)

    q1s, q2s = diagonals(x1), diagonals(x2)
    rows = min(BLOCK_ROWS, n1)
    want_theta = get != "nngp"

    def block(start):
        xb = jax.lax.dynamic_slice_in_dim(x1, start, rows, 0)
        qb = jax.lax.dynamic_slice_in_dim(q1s, start, rows, 1)
        k = sw2 * (xb @ x2.T) / d + sb2
        theta = k
        diagonal = (start + jnp.arange(rows))[:, None] == jnp.arange(n2)[None, :]
        for l in range(depth):
            Q1 = jnp.broadcast_to(qb[l][:, None], k.shape)
            Q2 = jnp.broadcast_to(q2s[l][None, :], k.shape)
            if same:  # the diagonal is exactly x = x'; set cos = 1 there, not k/sqrt(q q) ~ 1
                k = jnp.where(diagonal, Q1, k)
            e_phi, e_dphi = expect(k, Q1, Q2)
            k = sw2 * e_phi + sb2
            if want_theta:
                theta = k + theta * (sw2 * e_dphi)
        return k, theta

    def body(b, out):
        start = jnp.minimum(b * rows, n1 - rows)
        k, theta = block(start)
        sigma = jax.lax.dynamic_update_slice_in_dim(out[0], k, start, 0)
        if not want_theta:
            return (sigma,)
        return sigma, jax.lax.dynamic_update_slice_in_dim(out[1], theta, start, 0)

    zeros = jnp.zeros((n1, n2), x1.dtype)
    init = (zeros, zeros) if want_theta else (zeros,)
    out = jax.lax.fori_loop(0, -(-n1 // rows), body, init)
    return {"nngp": out[0], "ntk": out[-1], "both": out}[get] if get != "both" else (out[0], out[1])


def _validate(x1, x2, depth, activation, sigma_w, sigma_b):
    # finite 2-D inputs with rows, the same number of features, squared norms that do not overflow
    _checks.matching_features(x1, x2)
    _checks.kernel_inputs(x1, "x1")
    if x2 is not None:
        _checks.kernel_inputs(x2, "x2")
    depth = _checks.positive_int(depth, "depth")
    _checks.one_of(activation, KERNEL_ACTIVATIONS, "activation")
    if sigma_w is None:
        sigma_w = math.sqrt(2.0) if activation == "relu" else 1.0
    sigma_w = _checks.positive(sigma_w, "sigma_w")
    sigma_b = _checks.nonnegative(sigma_b, "sigma_b")
    return depth, sigma_w, sigma_b


def _as_array(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float64)


def layerwise(
    x1: jax.Array,
    x2: jax.Array | None = None,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
) -> LayerKernels:
    """Sigma^l, Sigma-dot^l and Theta^l of every layer (see the module docstring).

    ``x1``: (N1, d), ``x2``: (N2, d) or None (then x2 = x1). ``depth`` = L hidden layers;
    ``sigma_w`` defaults to sqrt(2) for relu and 1 otherwise, as in :func:`widenets.mlp.mlp`.
    Returns a :class:`LayerKernels` with arrays of shape (L+1 or L, N1, N2).
    """
    depth, sigma_w, sigma_b = _validate(x1, x2, depth, activation, sigma_w, sigma_b)
    a = _as_array(x1)
    b = a if x2 is None else _as_array(x2).astype(a.dtype)
    out = _layerwise(a, b, depth, activation, sigma_w, sigma_b, x2 is None)
    if x2 is None and activation in QUADRATURE_ACTIVATIONS:
        out = LayerKernels(*(jax.vmap(_symmetrized)(v) if v.shape[0] else v for v in out))
    return out


def _kernels(x1, x2, depth, activation, sigma_w, sigma_b, get):
    depth, sigma_w, sigma_b = _validate(x1, x2, depth, activation, sigma_w, sigma_b)
    a = _as_array(x1)
    b = a if x2 is None else _as_array(x2).astype(a.dtype)
    out = _last_layer(a, b, depth, activation, sigma_w, sigma_b, x2 is None, get)
    if x2 is None and activation in QUADRATURE_ACTIVATIONS:
        out = jax.tree_util.tree_map(_symmetrized, out)
    return out


def _symmetrized(k):
    # Gauss-Hermite quadrature treats u and v differently (u on the nodes, v on a rotated
    # grid), so K(x, x') and K(x', x) differ at its ~1e-9 accuracy; the kernel is symmetric
    return 0.5 * (k + k.T)


def nngp(
    x1: jax.Array,
    x2: jax.Array | None = None,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
) -> jax.Array:
    """The NNGP kernel Sigma^{L+1}(x1, x2) of one output unit, shape (N1, N2).

    The covariance of f(x1), f(x2) over random initializations of the infinitely wide
    network ``mlp.mlp(d, n, depth=depth, activation=activation, sigma_w=sigma_w,
    sigma_b=sigma_b)``; ``x2=None`` means x2 = x1. Only the last layer is kept in memory.
    """
    return _kernels(x1, x2, depth, activation, sigma_w, sigma_b, "nngp")


def ntk(
    x1: jax.Array,
    x2: jax.Array | None = None,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
) -> jax.Array:
    """The neural tangent kernel Theta^{L+1}(x1, x2) of one output unit, shape (N1, N2).

    The limit of the empirical NTK grad_theta f(x1) . grad_theta f(x2) of the network
    ``mlp.mlp(d, n, depth=depth, activation=activation, parametrization="ntk", ...)`` as
    n -> infinity (Jacot et al. 2018); ``x2=None`` means x2 = x1.
    """
    return _kernels(x1, x2, depth, activation, sigma_w, sigma_b, "ntk")


def nngp_and_ntk(
    x1: jax.Array,
    x2: jax.Array | None = None,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
    """(NNGP, NTK), each (N1, N2), from one pass of the recursion.

    The same as ``(nngp(...), ntk(...))`` at the cost of one of them: Theta^{L+1} needs every
    Sigma^l anyway.
    """
    return _kernels(x1, x2, depth, activation, sigma_w, sigma_b, "both")


def neural_tangents_kernels(
    x1: jax.Array,
    x2: jax.Array | None = None,
    depth: int = 1,
    activation: str = "relu",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
    """The reference (NNGP, NTK), each (N1, N2), from ``neural_tangents.stax``.

    The same network as :func:`nngp` and :func:`ntk` written in stax:
    ``serial(Dense(W_std=sigma_w, b_std=sigma_b), phi) * depth + Dense(1, ...)``, NTK
    parametrization, its ``kernel_fn`` under ``jax.jit``. Only for ``relu``, ``erf`` and
    ``identity`` (stax has no tanh kernel). Used by the tests, the book and ``make bench`` to
    check this module; imports neural-tangents quietly.
    """
    depth, sigma_w, sigma_b = _validate(x1, x2, depth, activation, sigma_w, sigma_b)
    _checks.one_of(activation, ("relu", "erf", "identity"), "activation")
    kernel_fn = _stax_kernel_fn(depth, activation, sigma_w, sigma_b)
    a = _as_array(x1)
    b = None if x2 is None else _as_array(x2).astype(a.dtype)
    return kernel_fn(a, b)


@functools.lru_cache(maxsize=64)
def _stax_kernel_fn(depth: int, activation: str, sigma_w: float, sigma_b: float):
    """The jitted stax kernel_fn of :func:`neural_tangents_kernels`, built once per network.

    Jitted because stax's kernel_fn run eagerly is 100-1000x slower (every op dispatched one
    by one); cached so that repeated comparisons compile once per shape.
    """
    from widenets import reference

    stax = reference.stax()
    act = {"relu": stax.Relu, "erf": stax.Erf, "identity": stax.Identity}[activation]
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(1, W_std=sigma_w, b_std=sigma_b, parameterization="ntk"), act()]
    layers.append(stax.Dense(1, W_std=sigma_w, b_std=sigma_b, parameterization="ntk"))
    _, _, kernel_fn = stax.serial(*layers)

    @jax.jit
    def both(a, b):
        out = kernel_fn(a, b, ("nngp", "ntk"))
        return out[0], out[1]

    return both


# --- closed-form training dynamics --------------------------------------------------------------
class FlowPrediction(NamedTuple):
    """Predicted outputs: ``train`` (T..., N, k) and ``test`` (T..., M, k) or None."""

    train: jax.Array
    test: jax.Array | None


def gradient_flow_prediction(
    ntk_train: jax.Array,
    y_train: jax.Array,
    f0_train: jax.Array,
    steps,
    lr: float,
    ntk_test_train: jax.Array | None = None,
    f0_test: jax.Array | None = None,
    discrete: bool = False,
) -> FlowPrediction:
    """Outputs of a model trained by gradient descent with the fixed kernel ``ntk_train``.

    For the loss L = 1/(2N) sum ||f(x_i) - y_i||^2 (:func:`widenets.train.mse_loss`) and
    learning rate eta, a model whose tangent kernel stays Theta (the linearized network,
    or the infinitely wide one) moves its training outputs by df/dt = -(eta/N) Theta (f - y),
    so after t steps (continuous time eta t)

        f_t(X)  = f_0(X)  + (I - exp(-eta Theta t / N)) (y - f_0(X)),
        f_t(x*) = f_0(x*) + Theta(x*, X) Theta^{-1} (I - exp(-eta Theta t / N)) (y - f_0(X)).

    With ``discrete=True`` the exponential is replaced by (I - eta Theta / N)^t, which is
    exact for t steps of gradient descent on the linearized model. Computed in the
    eigenbasis of Theta, so Theta^{-1}(I - e^{-eta Theta t/N}) is finite for singular Theta.

    Shapes: ``ntk_train`` (N, N), ``y_train`` and ``f0_train`` (N, k), ``steps`` scalar or
    array (T,), ``ntk_test_train`` (M, N), ``f0_test`` (M, k). Outputs have ``steps``'s
    shape in front.
    """
    K = jnp.asarray(_checks.psd_matrix(ntk_train, "ntk_train"))
    y = jnp.asarray(_checks.finite_array(y_train, "y_train", ndim=2))
    f0 = jnp.asarray(_checks.finite_array(f0_train, "f0_train", ndim=2))
    n = K.shape[0]
    if K.shape != (n, n):
        raise ValueError(f"ntk_train must be square, got shape {K.shape}")
    if y.shape[0] != n or f0.shape != y.shape:
        raise ValueError(
            f"y_train and f0_train must both have shape ({n}, k), got {y.shape} and {f0.shape}"
        )
    lr = _checks.positive(lr, "lr")
    t = np.asarray(_checks.finite_array(np.asarray(steps, dtype=np.float64), "steps"))
    if t.ndim > 1 or np.any(t < 0):
        raise ValueError("steps must be a non-negative scalar or a 1-D array")
    if (ntk_test_train is None) != (f0_test is None):
        raise ValueError("ntk_test_train and f0_test must be given together")
    lam, V = jnp.linalg.eigh(0.5 * (K + K.T))
    lam = jnp.maximum(lam, 0.0)
    a = lr / n
    tt = jnp.asarray(t).reshape(-1, 1)
    if discrete:
        decay = (1.0 - a * lam) ** tt  # (T, N)
    else:
        decay = jnp.exp(-a * lam * tt)
    grow = 1.0 - decay
    tiny = lam <= 1e-12 * jnp.maximum(lam.max(), 1e-300)
    safe = jnp.where(tiny, 1.0, lam)
    # (1 - decay)/lam, with its limit a t as lam -> 0 (the same for both forms)
    over = jnp.where(tiny, a * tt, grow / safe)
    r = V.T @ (y - f0)  # (N, k)
    train = f0 + jnp.einsum("nm,tm,mk->tnk", V, grow, r)
    test = None
    if ntk_test_train is not None:
        Ks = jnp.asarray(_checks.finite_array(ntk_test_train, "ntk_test_train", ndim=2))
        g0 = jnp.asarray(_checks.finite_array(f0_test, "f0_test", ndim=2))
        if Ks.shape[1] != n or g0.shape != (Ks.shape[0], y.shape[1]):
            raise ValueError(
                f"ntk_test_train must be (M, {n}) and f0_test (M, {y.shape[1]}), "
                f"got {Ks.shape} and {g0.shape}"
            )
        test = g0 + jnp.einsum("mn,nj,tj,jk->tmk", Ks, V, over, r)
    shape = t.shape
    train = train.reshape(shape + train.shape[1:])
    if test is not None:
        test = test.reshape(shape + test.shape[1:])
    return FlowPrediction(train, test)
