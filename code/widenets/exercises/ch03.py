"""Checkers for the coding exercises of chapter 3 (wide networks as Gaussian processes)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from widenets.exercises import Feedback, correct, wrong


def _problem(seed: int = 0):
    """A small GP problem: an RBF kernel on 1-D points, 6 training and 4 test points."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2, 2, 10))
    k = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2) * 1.5
    tr, te = np.arange(6), np.arange(6, 10)
    y = np.sin(x[tr])[:, None] + 0.1 * rng.standard_normal((6, 1))
    return k[np.ix_(tr, tr)], k[np.ix_(te, tr)], k[np.ix_(te, te)], y


def check_posterior(fn: Callable) -> Feedback:
    """Check ``fn(k_train, k_test_train, k_test, y_train, noise) -> (mean (M, k), cov (M, M))``,
    the GP posterior computed through a Cholesky factor, against :func:`widenets.gp.posterior`."""
    from widenets import gp

    k, ks, kss, y = _problem()
    noise = 0.05
    try:
        out = fn(k, ks, kss, y, noise)
        mean, cov = (np.asarray(a, dtype=np.float64) for a in out)
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        return wrong(f"your function raised {type(err).__name__}: {err}")
    ref = gp.posterior(k, ks, kss, y, noise=noise, jitter=0.0)
    if mean.shape != ref.mean.shape:
        return wrong(f"the mean should have shape {ref.mean.shape} (test points x outputs), got {mean.shape}")
    if cov.shape != ref.cov.shape:
        return wrong(f"the covariance should have shape {ref.cov.shape} (test x test), got {cov.shape}")
    no_noise = gp.posterior(k, ks, kss, y, noise=0.0)
    if np.allclose(mean, no_noise.mean, rtol=1e-6) and not np.allclose(mean, ref.mean, rtol=1e-6):
        return wrong("your mean ignores the noise: factor K + noise * I, not K")
    if not np.allclose(mean, ref.mean, rtol=1e-6, atol=1e-9):
        return wrong("the posterior mean is off: it should be K(X*, X) (K + noise I)^{-1} y")
    if np.allclose(cov, kss, rtol=1e-6):
        return wrong("your covariance is the prior K(X*, X*): subtract K(X*, X) A^{-1} K(X, X*)")
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-12):
        return wrong("the covariance must be symmetric")
    if not np.allclose(cov, ref.cov, rtol=1e-6, atol=1e-9):
        return wrong("the mean is right but the covariance is off: K** - V^T V with V = L^{-1} K(X, X*)")
    return correct("mean and covariance match the Cholesky-based posterior to 1e-6.")


def check_excess_kurtosis(fn: Callable[[int], float]) -> Feedback:
    """Check ``fn(n)``: the excess kurtosis of f(x) for a random 1-hidden-layer ReLU network of
    width n in NTK parametrization without biases, which the chapter's exercise derives."""
    widths = (1, 4, 64, 1000)
    try:
        values = [float(fn(n)) for n in widths]
    except Exception as err:  # noqa: BLE001
        return wrong(f"your function raised {type(err).__name__}: {err}")
    truth = [15.0 / n for n in widths]
    if np.allclose(values, truth, rtol=1e-6):
        return correct("excess kurtosis = 3 Var(phi^2) / (n E[phi^2]^2) = 15 / n for ReLU.")
    ratios = np.asarray(values) / np.asarray(truth)
    if np.allclose(ratios, ratios[0], rtol=1e-6):
        return wrong(f"the 1/n dependence is right but the constant is off by a factor {ratios[0]:.3g}: "
                     "for u ~ N(0, q), E[relu(u)^2] = q/2 and E[relu(u)^4] = 3 q^2 / 2")
    return wrong("the excess kurtosis should decay like 1/n (a sum of n independent terms, normalised "
                 f"by sqrt(n)); your values at n = {widths} are {values}")
