"""Gaussian-process conditioning and the infinite ensemble of gradient-descent-trained networks.

Everything here takes kernel *matrices* (from :mod:`widenets.kernels`, or any positive
semi-definite kernel) and training targets ``y_train`` of shape (N, k): the k output
channels are independent GPs that share one kernel, as for a wide network's logits.

**Conditioning** (Rasmussen & Williams 2006, eqs. 2.19 and 2.30). With f ~ GP(0, K),
observations y = f(X) + eps, eps ~ N(0, s^2 I), and A = K(X, X) + s^2 I,

    mean(X*) = K(X*, X) A^{-1} y                                          (M, k)
    cov(X*)  = K(X*, X*) - K(X*, X) A^{-1} K(X, X*)                       (M, M)
    log p(y) = -1/2 tr(y^T A^{-1} y) - k/2 log det A - N k/2 log(2 pi).

All solves go through the Cholesky factor A = L L^T (never an explicit inverse):
A^{-1} y = L^{-T} (L^{-1} y), cov = K** - V^T V with V = L^{-1} K(X, X*), and
log det A = 2 sum_i log L_ii.

**The jitter rule.** A kernel matrix is positive semi-definite in exact arithmetic, but in
floating point its smallest eigenvalues can come out at about -eps * ||K|| (eps the machine
epsilon), and the Cholesky factorization then fails. We add ``jitter * mean(diag K)`` to
the diagonal: the jitter is *relative* to the kernel's scale, so the same default works
for any sigma_w. If the factorization still fails (NaN in the factor), the jitter is
multiplied by 10 and the factorization retried, up to a relative jitter of
:data:`MAX_JITTER`; beyond that the matrix is not positive semi-definite and a
``ValueError`` is raised. :func:`cholesky` returns the jitter it used, so nothing is
changed silently. The observation noise ``noise`` (= s^2) is an *absolute* variance.

**The infinite ensemble of GD-trained networks** (Lee et al. 2019, eqs. 14-16). A network
in NTK parametrization, trained by gradient flow on L = 1/(2N) sum ||f - y||^2 (the loss of
:func:`widenets.train.mse_loss`) with learning rate ``lr`` for time ``t`` (= number of
steps for small ``lr``), is at infinite width a linear model; with Theta the NTK, K the
NNGP kernel and E_t = exp(-lr t Theta(X, X) / N), its output is Gaussian over initializations:

    mean_t(X*) = Theta(X*, X) Theta^{-1} (I - E_t) y
    cov_t(X*)  = K(X*, X*) + Z_t K(X, X) Z_t^T - Z_t K(X, X*) - K(X*, X) Z_t^T,
    Z_t        = Theta(X*, X) Theta^{-1} (I - E_t)                            (M, N).

Theta^{-1}(I - E_t) is evaluated in the eigenbasis of Theta(X, X), as (1 - e^{-tau lam}) / lam
with tau = lr t / N, which tends to tau as lam -> 0: finite times need no inverse. At
t = inf the mean is kernel regression with the NTK, not the NNGP posterior mean, and the
covariance is not the NNGP posterior covariance: a GD-trained ensemble is not Bayesian.

neural-tangents normalises its loss by y.size = N k instead of N, so
``nt.predict.gradient_descent_mse_ensemble(..., learning_rate=lr * k)`` at time ``t``
equals :func:`gd_ensemble` here with (``lr``, ``t``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from widenets import _checks

#: the largest relative jitter :func:`cholesky` will try before declaring the matrix not PSD
MAX_JITTER = 1e-4


class Posterior(NamedTuple):
    """A Gaussian over test outputs: ``mean`` (M, k) and ``cov`` (M, M), the covariance
    shared by the k independent output channels (``None`` if it was not requested)."""

    mean: np.ndarray
    cov: np.ndarray | None


# --------------------------------------------------------------------------- checks
def _square(k, name: str) -> np.ndarray:
    return _checks.symmetric_matrix(k, name)


def _kernel(k, name: str, n: int | None = None, rtol: float | None = None) -> np.ndarray:
    # rtol=MAX_JITTER where the jitter rule applies: a matrix the rule can factorize is accepted
    return _checks.psd_matrix(k, name, n, rtol=rtol)


def _targets(y, n: int, name: str = "y_train") -> np.ndarray:
    _checks.matrix(y, name)
    y = np.asarray(y, dtype=np.float64)
    if y.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows (one per training point), got shape {y.shape}")
    return y


def _cross(k, m: int | None, n: int, name: str) -> np.ndarray:
    _checks.matrix(k, name)
    k = np.asarray(k, dtype=np.float64)
    if k.shape[1] != n or (m is not None and k.shape[0] != m):
        want = f"({m if m is not None else 'M'}, {n})"
        raise ValueError(f"{name} must have shape {want} (test points x training points), got {k.shape}")
    return k


# --------------------------------------------------------------------------- Cholesky
def cholesky(k, noise: float = 0.0, jitter: float = 1e-10) -> tuple[np.ndarray, float]:
    """Lower Cholesky factor L of A = K + (noise + j * mean(diag K)) I, and the relative jitter j used.

    ``k`` (N, N) symmetric PSD; ``noise`` an absolute variance >= 0; ``jitter`` the first
    relative jitter tried (>= 0). j starts at ``jitter`` and is multiplied by 10 (starting
    from 1e-12 if ``jitter`` is 0) until the factor is finite, up to :data:`MAX_JITTER`.
    Raises ``ValueError`` naming ``k`` if no jitter up to that bound works.
    """
    k = _square(k, "k")
    noise = _checks.nonnegative(noise, "noise")
    jitter = _checks.nonnegative(jitter, "jitter")
    return _cholesky(k, noise, jitter, "k")


def _cholesky(k: np.ndarray, noise: float, jitter: float, name: str) -> tuple[np.ndarray, float]:
    scale = float(np.mean(np.diag(k)))
    scale = scale if scale > 0 else 1.0
    eye = np.eye(k.shape[0])
    j = jitter
    while True:
        a = jnp.asarray(k + (noise + j * scale) * eye)
        chol = np.asarray(jnp.linalg.cholesky(a))
        if np.all(np.isfinite(chol)) and np.all(np.diag(chol) > 0):
            return chol, j
        j = 1e-12 if j == 0 else 10.0 * j
        if j > MAX_JITTER * (1 + 1e-9):
            raise ValueError(
                f"{name} + noise * I is not positive definite even with a relative jitter of "
                f"{MAX_JITTER:g}; is {name} a kernel matrix (symmetric positive semi-definite)?"
            )


def _solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A^{-1} b from the lower Cholesky factor of A."""
    return np.asarray(jsl.cho_solve((jnp.asarray(chol), True), jnp.asarray(b)))


# --------------------------------------------------------------------------- conditioning
def posterior(
    k_train,
    k_test_train,
    k_test,
    y_train,
    noise: float = 0.0,
    jitter: float = 1e-10,
) -> Posterior:
    """The GP posterior on test points (module docstring, with the jitter rule).

    ``k_train`` K(X, X) (N, N); ``k_test_train`` K(X*, X) (M, N); ``k_test`` K(X*, X*)
    (M, M), or ``None`` to compute the mean only; ``y_train`` (N, k); ``noise`` s^2 >= 0.
    Returns :class:`Posterior` with ``mean`` (M, k) and ``cov`` (M, M).
    """
    k_train = _kernel(k_train, "k_train", rtol=MAX_JITTER)
    n = k_train.shape[0]
    y = _targets(y_train, n)
    k_star = _cross(k_test_train, None, n, "k_test_train")
    m = k_star.shape[0]
    if k_test is not None:
        k_test = _kernel(k_test, "k_test", m)
    noise = _checks.nonnegative(noise, "noise")
    jitter = _checks.nonnegative(jitter, "jitter")
    chol, _ = _cholesky(k_train, noise, jitter, "k_train")
    mean = k_star @ _solve(chol, y)
    cov = None
    if k_test is not None:
        v = np.asarray(jsl.solve_triangular(jnp.asarray(chol), jnp.asarray(k_star.T), lower=True))
        cov = k_test - v.T @ v
        cov = 0.5 * (cov + cov.T)
    return Posterior(mean, cov)


def kernel_regression(k_train, k_test_train, y_train, ridge: float = 0.0, jitter: float = 1e-10) -> np.ndarray:
    """Kernel (ridge) regression K(X*, X) (K(X, X) + ridge I)^{-1} y, shape (M, k).

    This is the GP posterior mean with noise variance ``ridge`` (see :func:`posterior`
    for shapes and the jitter rule). With the NTK as kernel and ``ridge=0`` it is the
    infinite-time prediction of the gradient-flow-trained infinite-width network started
    from f_0 = 0.
    """
    return posterior(k_train, k_test_train, None, y_train, noise=ridge, jitter=jitter).mean


def log_marginal_likelihood(k_train, y_train, noise: float = 0.0, jitter: float = 1e-10) -> float:
    """log N(y; 0, K + noise I), summed over the k independent output channels of ``y_train``.

    ``k_train`` (N, N), ``y_train`` (N, k). Equals
    -1/2 tr(y^T A^{-1} y) - k sum_i log L_ii - N k/2 log(2 pi), A = L L^T (jitter as in
    :func:`cholesky`).
    """
    k_train = _kernel(k_train, "k_train", rtol=MAX_JITTER)
    y = _targets(y_train, k_train.shape[0])
    noise = _checks.nonnegative(noise, "noise")
    jitter = _checks.nonnegative(jitter, "jitter")
    chol, _ = _cholesky(k_train, noise, jitter, "k_train")
    n, k = y.shape
    fit = float(np.sum(y * _solve(chol, y)))
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    return -0.5 * fit - 0.5 * k * logdet - 0.5 * n * k * math.log(2 * math.pi)


class JitterEffect(NamedTuple):
    """What a jitter does to the posterior mean (:func:`jitter_effect`): for each relative
    jitter in ``jitters``, ``change`` = ||mean_j - mean_0|| / ||mean_0||, with mean_0 the mean
    without jitter; ``condition`` is the 2-norm condition number of K(X, X) + noise I."""

    jitters: np.ndarray
    change: np.ndarray
    condition: float


def jitter_effect(k_train, k_test_train, y_train, jitters, noise: float = 0.0) -> JitterEffect:
    """Relative change of the posterior mean caused by each relative jitter in ``jitters``.

    A relative jitter j adds j * s to the diagonal, s = mean(diag K). To first order the mean
    moves by -j s K(X*, X) A^{-2} y (A = K + noise I), so the relative change is j times a
    coefficient set by the kernel and the targets; on the training inputs that coefficient is
    at most s / lambda_min(A) <= cond(A), the classical perturbation bound. ``k_train`` +
    ``noise`` I must factorize without jitter (``ValueError`` otherwise); choose jitters well
    above cond(A) * 1e-16, the round-off of the reference solve.
    """
    k_train = _kernel(k_train, "k_train", rtol=MAX_JITTER)
    n = k_train.shape[0]
    y = _targets(y_train, n)
    k_star = _cross(k_test_train, None, n, "k_test_train")
    noise = _checks.nonnegative(noise, "noise")
    js = np.atleast_1d(np.asarray(jitters, dtype=np.float64))
    if js.ndim != 1 or js.size == 0 or not np.all(np.isfinite(js)) or np.any(js <= 0):
        raise ValueError(f"jitters must be a non-empty 1-D array of positive numbers, got {jitters!r}")
    scale = float(np.mean(np.diag(k_train)))
    a = k_train + noise * np.eye(n)
    try:
        chol0 = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise ValueError("k_train + noise * I must be positive definite without jitter") from None
    mean0 = k_star @ _solve(chol0, y)
    norm0 = np.linalg.norm(mean0)
    if norm0 == 0:
        raise ValueError("the posterior mean without jitter is 0; the relative change is undefined")
    change = np.array([np.linalg.norm(k_star @ _solve(np.linalg.cholesky(a + j * scale * np.eye(n)), y) - mean0)
                       / norm0 for j in js])
    return JitterEffect(js, change, float(np.linalg.cond(a)))


# --------------------------------------------------------------------------- GD ensemble
def _time(t) -> float:
    try:
        v = float(t)
    except (TypeError, ValueError):
        raise ValueError(f"t must be a non-negative number or inf, got {t!r}") from None
    if math.isnan(v) or v < 0:
        raise ValueError(f"t must be a non-negative number or inf, got {t!r}")
    return v


def gd_ensemble(
    ntk_train,
    ntk_test_train,
    ntk_test,
    nngp_train,
    nngp_test_train,
    nngp_test,
    y_train,
    t,
    lr: float = 1.0,
) -> Posterior:
    """Mean and covariance over initializations of infinite-width networks trained by gradient
    flow for time ``t`` at learning rate ``lr`` on L = 1/(2N) sum ||f - y||^2 (module docstring).

    NTK blocks Theta: ``ntk_train`` (N, N), ``ntk_test_train`` (M, N), ``ntk_test`` (M, M)
    (used only for its shape check; the output covariance needs the NNGP on the test points);
    NNGP blocks K: ``nngp_train`` (N, N), ``nngp_test_train`` (M, N), ``nngp_test`` (M, M),
    or ``nngp_test=None`` for the mean only; ``y_train`` (N, k); ``t >= 0`` (may be
    ``inf``); ``lr > 0``. Returns :class:`Posterior` with mean (M, k) and cov (M, M).
    Eigenvalues of Theta below ``1e-12 * max eigenvalue`` are treated as 0 (their modes are
    never learned, the limit (1 - e^{-tau lam})/lam -> tau).
    """
    theta = _kernel(ntk_train, "ntk_train")
    n = theta.shape[0]
    y = _targets(y_train, n)
    theta_star = _cross(ntk_test_train, None, n, "ntk_test_train")
    m = theta_star.shape[0]
    if ntk_test is not None:
        ntk_test = _kernel(ntk_test, "ntk_test", m)
    k_train = _kernel(nngp_train, "nngp_train", n)
    k_star = _cross(nngp_test_train, m, n, "nngp_test_train")
    if nngp_test is not None:
        nngp_test = _kernel(nngp_test, "nngp_test", m)
    t = _time(t)
    lr = _checks.positive(lr, "lr")

    lam, vecs = np.linalg.eigh(theta)
    lam = np.where(lam > 1e-12 * max(lam.max(), 0.0), lam, 0.0)
    tau = lr * t / n
    with np.errstate(divide="ignore", invalid="ignore"):
        if math.isinf(tau):
            g = np.where(lam > 0, 1.0 / lam, 0.0)
        else:
            g = np.where(lam > 0, -np.expm1(-tau * lam) / lam, tau)
    # Z_t = Theta(X*, X) V diag(g) V^T : (M, N)
    z = (theta_star @ vecs) * g[None, :] @ vecs.T
    mean = z @ y
    cov = None
    if nngp_test is not None:
        cross = z @ k_star.T
        cov = nngp_test + z @ k_train @ z.T - cross - cross.T
        cov = 0.5 * (cov + cov.T)
    return Posterior(mean, cov)
