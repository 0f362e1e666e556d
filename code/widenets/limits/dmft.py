"""The muP limit of a deep nonlinear network by discrete-time dynamical mean-field theory (DMFT).

The network (Bordelon & Pehlevan 2022), with L hidden layers of width n, all weight entries
N(0, 1) at initialization, inputs x (P, d), one output:

    h^1 = W^1 x / sqrt(d),   h^{l+1} = W^{l+1} phi(h^l) / sqrt(n),   f = w . phi(h^L) / (gamma0 n),

trained by full-batch GD on L = 1/(2P) sum_mu (f_mu - y_mu)^2 with learning rate
eta gamma0^2 n on every layer. This is exactly ``mlp.mlp(d, n, 1, L, activation, "mup",
sigma_w=1, sigma_b=0, output_scale=1/gamma0)`` trained by ``train.gradient_descent`` with
``lr = eta * gamma0**2`` and ``net.lr_scales()`` (all ones for muP with SGD): muP's trainable
parameters are the weights divided by sqrt(n), and GD with rate lr on w = z / sqrt(n) is GD
with rate lr n on z. :func:`dmft_finite_outputs` trains those networks.

The limit (derived in chapter 7). With kappa = eta gamma0, Delta_mu(t) = (y_mu - f_mu(t)) / P,
g^l = gamma0 n df/dh^l and time-and-point indices (mu, s), every layer is a single-site process:

    h^1(t)   = chi + kappa sum_{s<t} K^x (Delta(s) g^1(s)),                chi ~ N(0, K^x)
    h^l(t)   = u^l(t) + sum_{s<t} A^l(t, s) g^l(s) + kappa sum_{s<t} Phi^{l-1}(s, t)^T (Delta(s) g^l(s))
    w(t)     = w(0) + kappa sum_{s<t} Delta(s) . phi(h^L(s)),            g^L(t) = w(t) phi'(h^L(t))
    z^l(t)   = r^l(t) + sum_{s<=t} B^l(t, s) phi(h^l(s)) + kappa sum_{s<t} G^{l+1}(s, t)^T (Delta(s) phi(h^l(s)))
    g^l(t)   = phi'(h^l(t)) z^l(t),        f(t) = E[w(t) phi(h^L(t))] / gamma0,

with independent Gaussian fields u^l ~ GP(0, Phi^{l-1}) (forward, through W^l) and
r^l ~ GP(0, G^{l+1}) (backward, through W^{l+1 T}), the kernels Phi^l = E phi(h^l) phi(h^l)
and G^l = E g^l g^l, and the response functions A^{l+1}(t, s) = E[d phi(h^l(t)) / d r^l(s)]
(s < t) and B^l(t, s) = E[d g^{l+1}(t) / d u^{l+1}(s)] (s <= t).

In discrete time the system is causal: step t needs only kernels and responses of earlier steps
(and of step t in a fixed order: forward through the layers, then the output, then backward).
:func:`dmft_train` solves it in one forward sweep in time with M Monte Carlo samples per layer:
the Gaussian fields are drawn step by step from their conditional laws (block Gram-Schmidt of the
samples that define their covariance), and the response functions come from Stein's lemma in
that whitened basis, E[dF/dr] = E[F eps^T] L^{-1} for r = L eps, which needs no derivative of phi
(ReLU's kink is no problem), with control variates that have zero Stein mean. For linear
activations every field is Gaussian and the responses are deterministic:
:func:`dmft_linear_exact` computes that case exactly (no sampling) for depth 2.
"""
from __future__ import annotations

import contextlib
import math
import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks
from widenets.limits._common import _steps, _xy

__all__ = ["DMFTResult", "dmft_train", "dmft_linear_exact", "dmft_finite_outputs", "dmft_cost", "per_seed_slopes",
           "plot_deep_limit", "plot_dmft_cost"]

_ACTS = ("tanh", "relu", "identity")


def _phi(name):
    if name == "tanh":
        return np.tanh, lambda h: 1.0 - np.tanh(h) ** 2
    if name == "relu":
        return (lambda h: np.maximum(h, 0.0)), (lambda h: (h > 0).astype(h.dtype))
    return (lambda h: h), (lambda h: np.ones_like(h))


class DMFTResult(NamedTuple):
    """Output of :func:`dmft_train` and :func:`dmft_linear_exact`.

    ``outputs`` (T + 1, P): f_mu(t) on the training points; ``loss`` (T + 1,);
    ``feature_kernels`` (L, T + 1, P, P): Phi^l(t, t) for each hidden layer l;
    ``gradient_kernels`` (L, T + 1, P, P): G^l(t, t); ``seconds``: CPU seconds of the solve
    (one BLAS thread; the random draws are not counted).
    """

    outputs: np.ndarray
    loss: np.ndarray
    feature_kernels: np.ndarray
    gradient_kernels: np.ndarray
    seconds: float


class _Whitener:
    """Block Gram-Schmidt of sample vectors v(0), v(1), ... (each (M, P)) in the inner product
    E_M[a b]: keeps the whitened samples w(s) with E_M[w w^T] = I (0 on directions of negligible
    innovation), and returns the factor rows (c_t, L_tt) with v(t) = w(<t) c_t + w(t) L_tt^T. A field
    r = L eps with eps ~ N(0, I) then has covariance E_M[v v^T]: :func:`_draw` draws it step by step."""

    def __init__(self, m, p, steps, rtol=1e-10):
        self.w = np.zeros((m, (steps + 1) * p))
        self.p, self.t, self.rtol = p, 0, rtol

    def add(self, v):
        p, t, m = self.p, self.t, v.shape[0]
        past = self.w[:, : t * p]
        c = past.T @ v / m
        res = v - past @ c
        c2 = past.T @ res / m          # second pass for numerical orthogonality
        res -= past @ c2
        c += c2
        s = res.T @ res / m
        lam, u = np.linalg.eigh(0.5 * (s + s.T))
        scale = max(float(np.einsum("ij,ij->", v, v)) / (m * p), 1e-300)
        keep = lam > self.rtol * scale
        inv = np.where(keep, 1.0 / np.sqrt(np.where(keep, lam, 1.0)), 0.0)
        self.w[:, t * p:(t + 1) * p] = res @ (u * inv)
        self.t += 1
        return c, u * np.sqrt(np.clip(lam, 0.0, None))  # (t P, P) and L_tt (P, P)

    def white(self, upto):
        return self.w[:, : upto * self.p]


def _draw(eps, t, p, c, ltt):
    """Field values at step t, (M, P), from noise ``eps`` (M, (T + 1) P) and factor rows (c, L_tt)."""
    return eps[:, : t * p] @ c + eps[:, t * p:(t + 1) * p] @ ltt.T


def _key_words(key) -> list[int]:
    """The bits of a JAX PRNG key (raw uint32 or typed) as a list of ints, to seed NumPy."""
    k = jnp.asarray(key)
    if not jnp.issubdtype(k.dtype, jnp.unsignedinteger):
        k = jax.random.key_data(key)
    return [int(v) for v in np.asarray(k).ravel()]


@contextlib.contextmanager
def _one_blas_thread():
    """Run NumPy's BLAS on one thread: the solve is many skinny matrix products, which a second
    thread slows down on a shared machine, and its CPU time is then the cost of the algorithm."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(1, "blas"):
        yield


def _stein(f, eps_flat):
    """E_M[(f - mean f) eps^T]: (P, tP) for f (M, P), eps_flat (M, tP)."""
    return (f - f.mean(axis=0)).T @ eps_flat / f.shape[0]


def _check_common(x, y, steps, eta, gamma0, activation, depth):
    x, y = _xy(x, y)
    if y.shape[1] != 1:
        raise ValueError(f"y must have one column (one output), got shape {y.shape}")
    steps = _steps(steps)
    eta = _checks.positive(eta, "eta")
    gamma0 = _checks.positive(gamma0, "gamma0")
    _checks.one_of(activation, _ACTS, "activation")
    depth = _checks.positive_int(depth, "depth")
    return np.asarray(x, np.float64), np.asarray(y[:, 0], np.float64), steps, eta, gamma0, depth


def dmft_train(
    x: jax.Array,
    y: jax.Array,
    steps: int,
    eta: float,
    key: jax.Array,
    gamma0: float = 1.0,
    activation: str = "tanh",
    depth: int = 2,
    samples: int = 2**13,
    responses: bool = True,
) -> DMFTResult:
    """The infinite-width muP limit of the depth-``depth`` network of the module docstring,
    trained for ``steps`` GD steps, by Monte Carlo DMFT with ``samples`` = M samples per layer.

    ``x`` (P, d), ``y`` (P, 1); ``key`` a JAX PRNG key (all draws come from it). ``responses=False``
    drops the response terms A, B (wrong: it shows they matter). The Monte Carlo error of the
    outputs falls like M^{-1/2}; runs from independent keys give an error bar. Cost per run
    ~ M T^2 P^2 (kernels and responses over all earlier (step, point) pairs). Float64.
    """
    x, y, steps, eta, gamma0, depth = _check_common(x, y, steps, eta, gamma0, activation, depth)
    m = _checks.positive_int(samples, "samples")
    if m < 16:
        raise ValueError(f"samples must be >= 16, got {samples}")
    phi, dphi = _phi(activation)
    p, d = x.shape
    L, T, kap = depth, steps, eta * gamma0
    kx = x @ x.T / d
    cols = (T + 1) * p
    # every draw up front, from the key: input weights (layer 1), readout (layer L), fields' noise.
    # NumPy's generator seeded by the key's bits: as reproducible as jax.random, without compiling
    # an XLA program per array size
    rng = np.random.default_rng(_key_words(key))
    a = rng.standard_normal((m, d))
    w0 = rng.standard_normal(m)
    eps_u = [None] + [rng.standard_normal((m, cols)) for _ in range(1, L)]   # u^l, layer l >= 2
    eps_r = [rng.standard_normal((m, cols)) for _ in range(L - 1)]          # r^l, layer l < L
    with _one_blas_thread():
        return _solve(x, y, kx, a, w0, eps_u, eps_r, phi, dphi, L, T, kap, gamma0, m, p, d, cols, responses)


def _solve(x, y, kx, a, w0, eps_u, eps_r, phi, dphi, L, T, kap, gamma0, m, p, d, cols, responses):
    t0 = time.process_time()
    r0 = [None] * L
    wphi = [_Whitener(m, p, T) for _ in range(L - 1)]         # phi(h^l) samples: cov of u^{l+1}
    wg = [None] + [_Whitener(m, p, T) for _ in range(1, L)]   # g^l samples: cov of r^{l-1}
    # per layer, (M, (T + 1) P) histories of phi(h) and g; h and u only at the current step
    PH, G = ([np.zeros((m, cols)) for _ in range(L)] for _ in range(2))
    H, u_now = [None] * L, [None] * L
    dflat = np.zeros(cols)                                     # Delta_mu(s) over (s, mu)
    chi = a @ x.T / math.sqrt(d)
    w = w0.copy()
    outs, losses = [], []
    fk = np.zeros((L, T + 1, p, p))
    gk = np.zeros((L, T + 1, p, p))
    extend_phi = [None] * max(L - 1, 0)
    for t in range(T + 1):
        now, before = slice(t * p, (t + 1) * p), slice(0, t * p)
        # ---- forward through the layers
        for l in range(L):
            if l == 0:
                ht = chi if t == 0 else H[0] + kap * (dflat[before][-p:] * G[0][:, now.start - p:now.start]) @ kx
            else:
                c, ltt = extend_phi[l - 1]
                ht = _draw(eps_u[l], t, p, c, ltt)
                u_now[l] = ht
                if t:
                    if responses:   # sum_s A^l(t, s) g^l(s), with A from Stein's lemma in layer l-1
                        ahat = _stein(PH[l - 1][:, now] - PH[l - 1][:, 0:p], eps_r[l - 1][:, before])
                        ht = ht + wg[l].white(t) @ ahat.T
                    kern = PH[l - 1][:, before].T @ PH[l - 1][:, now] / m     # Phi^{l-1}(<t, t)
                    ht = ht + kap * G[l][:, before] @ (dflat[before, None] * kern)
            H[l] = ht
            PH[l][:, now] = phi(ht)
            fk[l, t] = PH[l][:, now].T @ PH[l][:, now] / m
            if l < L - 1:
                extend_phi[l] = wphi[l].add(PH[l][:, now])
        # ---- output and error signal
        base = chi if L == 1 else u_now[L - 1]   # w0 phi(base) has mean 0: a control variate
        f = (w[:, None] * PH[L - 1][:, now] - w0[:, None] * phi(base)).mean(axis=0) / gamma0
        outs.append(f)
        losses.append(0.5 * np.mean((f - y) ** 2))
        delta = (y - f) / p
        dflat[now] = delta
        # ---- backward through the layers
        G[L - 1][:, now] = w[:, None] * dphi(H[L - 1])
        for l in range(L - 2, -1, -1):
            c, ltt = wg[l + 1].add(G[l + 1][:, now])
            zt = _draw(eps_r[l], t, p, c, ltt)
            if t == 0:
                r0[l] = zt
            if responses:       # sum_s B^l(t, s) phi(h^l(s)), with B from Stein's lemma in layer l+1
                zero_mean = w0[:, None] if l + 1 == L - 1 else r0[l + 1]
                cv = zero_mean * dphi(u_now[l + 1])
                bhat = _stein(G[l + 1][:, now] - cv, eps_u[l + 1][:, : (t + 1) * p])
                zt = zt + wphi[l].white(t + 1) @ bhat.T
            if t:
                kern = G[l + 1][:, before].T @ G[l + 1][:, now] / m            # G^{l+1}(<t, t)
                zt = zt + kap * PH[l][:, before] @ (dflat[before, None] * kern)
            G[l][:, now] = dphi(H[l]) * zt
        for l in range(L):
            gk[l, t] = G[l][:, now].T @ G[l][:, now] / m
        # ---- readout update
        w = w + kap * PH[L - 1][:, now] @ delta
    return DMFTResult(np.asarray(outs), np.asarray(losses), fk, gk, time.process_time() - t0)


def dmft_linear_exact(
    x: jax.Array,
    y: jax.Array,
    steps: int,
    eta: float,
    gamma0: float = 1.0,
) -> DMFTResult:
    """The DMFT limit of the depth-2 network with linear activations, exactly (no sampling).

    With phi(h) = h every single-site variable is a linear combination of independent Gaussians:
    in layer 1 of the d input-weight coordinates a ~ N(0, I_d) (chi = a x^T / sqrt(d)) and the
    backward field r(mu, s) (covariance G^2), in layer 2 of the readout w(0) ~ N(0, 1) and the
    forward field u(nu, s) (covariance Phi^1). Each variable is stored as its coefficient vector
    on those bases (lengths d + (T+1)P and 1 + (T+1)P); every expectation is a bilinear form,
    and the response functions are coefficients: A(t, s) = d h^1(t)/d r(s) and
    B(t, s) = d g^2(t)/d u(s) = d w(t)/d u(s), deterministic. The recursion (kappa = eta gamma0,
    g^2(mu, t) = w(t), g^1 = z):

        h1(t) = h1(t-1) + kappa K^x (Delta(t-1) z(t-1)),           h1(0) = chi
        h2(t) = u(t) + sum_{s<t} A(t, s) w(s) + kappa sum_{s<t} Phi^1(s, t)^T (Delta(s) w(s))
        f(t) = E[w(t) h2(t)] / gamma0,  Delta(t) = (y - f(t)) / P
        z(t) = r(t) + sum_{s<=t} B(t, s) h1(s) + kappa sum_{s<t} G^2(s, t)^T (Delta(s) h1(s))
        w(t+1) = w(t) + kappa Delta(t) . h2(t)

    Cost O(T^2 P (d + T P)^2)-ish; float64. Returns a :class:`DMFTResult`.
    """
    x, y, steps, eta, gamma0, _ = _check_common(x, y, steps, eta, gamma0, "identity", 2)
    t0 = time.process_time()
    p, d = x.shape
    T, kap = steps, eta * gamma0
    kx = x @ x.T / d
    n1, n2 = d + (T + 1) * p, 1 + (T + 1) * p
    cov1 = np.zeros((n1, n1))   # covariance of the layer-1 basis: I_d, then G^2 over (s, mu)
    cov1[:d, :d] = np.eye(d)
    cov2 = np.zeros((n2, n2))   # layer-2 basis: w(0), then Phi^1 over (s, mu)
    cov2[0, 0] = 1.0
    H1, Z, H2, W = [], [], [], []       # coefficient matrices (P, n1), (P, n1), (P, n2); W (n2,)
    w = np.zeros(n2)
    w[0] = 1.0
    deltas, outs, losses = [], [], []
    fk = np.zeros((2, T + 1, p, p))
    gk = np.zeros((2, T + 1, p, p))
    r_col = lambda s: slice(d + s * p, d + (s + 1) * p)  # noqa: E731
    u_col = lambda s: slice(1 + s * p, 1 + (s + 1) * p)  # noqa: E731
    for t in range(T + 1):
        if t == 0:
            h1 = np.zeros((p, n1))
            h1[:, :d] = x / math.sqrt(d)
        else:
            h1 = H1[t - 1] + kap * kx @ (deltas[t - 1][:, None] * Z[t - 1])
        H1.append(h1)
        for s in range(t + 1):                       # Phi^1(s, t)
            blk = H1[s] @ cov1 @ h1.T
            cov2[u_col(s), u_col(t)] = blk
            cov2[u_col(t), u_col(s)] = blk.T
        fk[0, t] = cov2[u_col(t), u_col(t)]
        h2 = np.zeros((p, n2))
        h2[:, u_col(t)] = np.eye(p)
        for s in range(t):
            a_ts = h1[:, r_col(s)]                   # A(nu, t; mu, s)
            h2 += a_ts @ np.tile(W[s], (p, 1))
            h2 += kap * cov2[u_col(s), u_col(t)].T @ (deltas[s][:, None] * np.tile(W[s], (p, 1)))
        H2.append(h2)
        W.append(w.copy())
        f = h2 @ cov2 @ w / gamma0
        outs.append(f)
        losses.append(0.5 * np.mean((f - y) ** 2))
        deltas.append((y - f) / p)
        fk[1, t] = h2 @ cov2 @ h2.T
        g2 = np.tile(w, (p, 1))
        for s in range(t + 1):                       # G^2(s, t): g^2(mu, s) = w(s) for every mu
            blk = np.tile(W[s], (p, 1)) @ cov2 @ g2.T
            cov1[r_col(s), r_col(t)] = blk
            cov1[r_col(t), r_col(s)] = blk.T
        gk[1, t] = cov1[r_col(t), r_col(t)]
        z = np.zeros((p, n1))
        z[:, r_col(t)] = np.eye(p)
        for s in range(t + 1):
            z += g2[:, u_col(s)] @ H1[s]             # B(mu, t; nu, s) h1(nu, s)
            if s < t:
                z += kap * cov1[r_col(s), r_col(t)].T @ (deltas[s][:, None] * H1[s])
        Z.append(z)
        gk[0, t] = z @ cov1 @ z.T
        w = w + kap * deltas[t] @ h2
    return DMFTResult(np.asarray(outs), np.asarray(losses), fk, gk, time.process_time() - t0)


def dmft_finite_outputs(
    x: jax.Array,
    y: jax.Array,
    widths,
    steps: int,
    eta: float,
    key: jax.Array,
    gamma0: float = 1.0,
    activation: str = "tanh",
    depth: int = 2,
    seeds: int = 5,
    parametrization: str = "mup",
    dtype=jnp.float32,
) -> dict:
    """Train real width-n networks ``mlp.mlp(d, n, 1, depth, activation, parametrization,
    sigma_w=1, sigma_b=0, output_scale=1/gamma0)`` by full-batch GD
    (``train.gradient_descent(train.mse_loss(..), .., lr=eta * gamma0**2, net.lr_scales())``),
    for each width and ``seeds`` initializations (keys ``fold_in(key, seed)``).

    For ``parametrization="mup"`` this is the network of :func:`dmft_train` (module docstring);
    ``"ntk"`` gives the NTK-parametrized network with the same learning rate. There are no
    biases (sigma_b = 0), so nothing random survives at infinite width: the muP limit is
    deterministic. Returns ``{"outputs": (widths, seeds, steps + 1, P) training-point outputs
    along the way, "kernel_move": (widths, seeds) largest entry of abs(Phi^L(T) - Phi^L(0)) for the last hidden
    layer's feature kernel phi(h^L) phi(h^L)^T / n}``. One compilation per width. The networks
    compute in ``dtype`` (float32 by default: the widest ones are memory-bound, and their
    distance from the limit, ~5e-3, is far above float32 rounding).
    """
    from widenets import mlp

    x, y, steps, eta, gamma0, depth = _check_common(x, y, steps, eta, gamma0, activation, depth)
    seeds = _checks.positive_int(seeds, "seeds")
    _checks.one_of(parametrization, ("mup", "ntk"), "parametrization")
    xj, yj = jnp.asarray(x, dtype), jnp.asarray(y[:, None], dtype)
    lr = eta * gamma0**2
    outs, moves = [], []
    for n in widths:
        net = mlp.mlp(x.shape[1], _checks.positive_int(int(n), "widths"), 1, depth, activation,
                      parametrization, sigma_w=1.0, sigma_b=0.0, output_scale=1.0 / gamma0)
        mults = jnp.asarray(net.multipliers(), dtype)
        scales = jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype), net.lr_scales())
        # the multipliers and learning-rate factors are arguments, so one compiled program per
        # width serves every seed and both parametrizations (they differ only there and in the
        # initial scale)
        res = [_finite_run(_shape_net(net), net.init(jax.random.fold_in(key, s), dtype), mults, scales, xj, yj,
                           steps, lr) for s in range(seeds)]
        outs.append([np.asarray(r) for r, _ in res])
        moves.append([float(k) for _, k in res])
    return {"outputs": np.asarray(outs), "kernel_move": np.asarray(moves)}


def _shape_net(net):
    from widenets import mlp

    # the network's structure only (parametrization fixed to muP): its multipliers come as arrays
    return mlp.mlp(net.in_dim, net.width, net.out_dim, net.depth, net.activation, "mup",
                   sigma_w=net.sigma_w, sigma_b=net.sigma_b, output_scale=net.output_scale)


@partial(jax.jit, static_argnames=("net", "steps", "lr"))
def _finite_run(net, params, mults, scales, x, y, steps, lr):
    from widenets import train

    m = [(mults[l, 0], mults[l, 1]) for l in range(mults.shape[0])]
    apply = lambda p, xx: net.forward(p, xx, multipliers=m).output  # noqa: E731
    loss = train.mse_loss(apply, x, y)

    def kernel(p):
        a = net.forward(p, x, multipliers=m).acts[-1]
        return a @ a.T / net.width

    p, hist = train.gradient_descent(loss, params, steps, lr, scales, record=lambda q: apply(q, x)[:, 0])
    return hist["record"], jnp.max(jnp.abs(kernel(p) - kernel(params)))


def dmft_cost(
    x: jax.Array,
    y: jax.Array,
    eta: float,
    key: jax.Array,
    points=(4, 8, 16),
    steps=(5, 10, 20, 40),
    samples=(2**10, 2**12, 2**14),
    base: tuple[int, int, int] = (8, 20, 2**12),
    activation: str = "tanh",
    repeats: int = 2,
) -> dict:
    """CPU seconds of one :func:`dmft_train` solve (depth 2) against the number of training
    points P (the first P rows of ``x``, ``y``), of steps T and of samples M, each varied with
    the other two held at ``base = (P, T, M)``. Repetitions are interleaved and the minimum is
    kept. Returns ``{"points": (seconds per P), "steps": ..., "samples": ...}`` as arrays, and
    the values varied under ``"values"``.
    """
    x, y = _xy(x, y)
    repeats = _checks.positive_int(repeats, "repeats")
    p0, t0, m0 = base
    if max(points) > x.shape[0] or p0 > x.shape[0]:
        raise ValueError(f"points and base P must be <= the {x.shape[0]} rows of x")
    runs = ([("points", v, (v, t0, m0)) for v in points] + [("steps", v, (p0, v, m0)) for v in steps]
            + [("samples", v, (p0, t0, v)) for v in samples])
    best = {i: math.inf for i in range(len(runs))}
    for _ in range(repeats):
        for i, (_, _, (p, t, m)) in enumerate(runs):
            res = dmft_train(x[:p], y[:p], t, eta, key, activation=activation, samples=m)
            best[i] = min(best[i], res.seconds)
    out = {name: np.asarray([best[i] for i, r in enumerate(runs) if r[0] == name])
           for name in ("points", "steps", "samples")}
    out["values"] = {"points": np.asarray(points), "steps": np.asarray(steps), "samples": np.asarray(samples)}
    return out


def per_seed_slopes(widths, errors: np.ndarray) -> np.ndarray:
    """Fitted power-law slope of ``errors`` (widths, seeds) against ``widths``, one per seed
    (:func:`widenets.scaling.exponent`'s ``per_seed``)."""
    from widenets import scaling

    e = np.asarray(errors, np.float64)
    if e.ndim != 2 or e.shape[0] != len(widths):
        raise ValueError(f"errors must have shape ({len(widths)}, seeds), got {e.shape}")
    return scaling.exponent(np.asarray(widths), e).per_seed


def plot_deep_limit(widths, mup: dict, ntk: dict, limit: np.ndarray, limit_move: float, points=(0, 1)):
    """Three panels: (a) f_mu(t) of the limit ``limit`` (T + 1, P) and of the narrowest and widest
    muP networks (seed 0) at ``points``; (b) RMS error over the trajectory of the muP networks
    (``mup["outputs"]``, per seed) and of the NTK-parametrized ones against the muP limit;
    (c) the largest entry of abs(Phi^L(T) - Phi^L(0)) against width for both, with the limit's ``limit_move``.
    ``mup``, ``ntk``: outputs of :func:`dmft_finite_outputs`. Returns ``(fig, axes, fits)`` with
    the power-law fits of (b) and (c) under "mup_error", "ntk_error", "mup_move", "ntk_move"."""
    from widenets import plotting

    limit = np.asarray(limit)
    err = {k: np.sqrt(np.mean((r["outputs"] - limit) ** 2, axis=(2, 3))) for k, r in (("mup", mup), ("ntk", ntk))}
    fig, axes = plotting.figure(3, width=13, height=3.8)
    ax = axes[0]
    t = np.arange(limit.shape[0])
    c = plotting.MODEL_COLORS["mup"]
    for j, mu in enumerate(points):
        ax.plot(t, limit[:, mu], "-", color=c, lw=2, label="$\\mu$P limit (DMFT)" if j == 0 else None)
        ax.plot(t, mup["outputs"][0, 0, :, mu], ":", color=c, label=f"$\\mu$P net, $n={widths[0]}$" if j == 0 else None)
        ax.plot(t, mup["outputs"][-1, 0, :, mu], "--", color="0.3",
                label=f"$\\mu$P net, $n={widths[-1]}$" if j == 0 else None)
    plotting.label(ax, "GD step $t$", "$f(x_\\mu)$ at two training points", "depth-2 tanh network")
    fits = {}
    fits["mup_error"] = plotting.scaling_plot(axes[1], widths, err["mup"], "$\\mu$P nets", c, theory_slope=-0.5)
    fits["ntk_error"] = plotting.scaling_plot(axes[1], widths, err["ntk"], "NTP nets", plotting.MODEL_COLORS["ntk"],
                                              marker="s")
    plotting.label(axes[1], "width $n$", "RMS error vs the $\\mu$P limit", "convergence to the limit")
    fits["mup_move"] = plotting.scaling_plot(axes[2], widths, mup["kernel_move"], "$\\mu$P nets", c)
    fits["ntk_move"] = plotting.scaling_plot(axes[2], widths, ntk["kernel_move"], "NTP nets",
                                             plotting.MODEL_COLORS["ntk"], theory_slope=-1.0, marker="s")
    axes[2].axhline(limit_move, color=c, lw=1, label="$\\mu$P limit")
    plotting.label(axes[2], "width $n$", "max $|\\Phi^2(T) - \\Phi^2(0)|$", "feature kernel movement")
    return fig, axes, fits


def plot_dmft_cost(cost: dict):
    """CPU seconds of one DMFT solve against P, T and M (the output of :func:`dmft_cost`), one
    log-log panel each with the fitted exponent. Returns ``(fig, axes, fits)`` (fits by name)."""
    from widenets import plotting

    fig, axes = plotting.figure(3, width=12, height=3.4)
    fits = {}
    labels = {"points": ("training points $P$", 2.0), "steps": ("GD steps $T$", 2.0),
              "samples": ("Monte Carlo samples $M$", 1.0)}
    for ax, name in zip(axes, ("points", "steps", "samples")):
        xl, theory = labels[name]
        fits[name] = plotting.scaling_plot(ax, cost["values"][name], cost[name], "DMFT solve",
                                           plotting.MODEL_COLORS["mup"], theory_slope=theory)
        plotting.label(ax, xl, "CPU seconds" if name == "points" else "", None)
    return fig, axes, fits
