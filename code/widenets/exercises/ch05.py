"""Checkers for the exercises of chapter 5 (why transfer fails in the kernel limit)."""
from __future__ import annotations

import numpy as np

from widenets import exercises


def _brute_force_loo(k: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Leave-one-out residuals y_i - f_{-i}(x_i) of kernel ridge regression, by refitting N times."""
    n = k.shape[0]
    res = np.zeros_like(y)
    for i in range(n):
        keep = np.arange(n) != i
        alpha = np.linalg.solve(k[np.ix_(keep, keep)] + ridge * np.eye(n - 1), y[keep])
        res[i] = y[i] - k[i, keep] @ alpha
    return res


def check_loo_residuals(fn) -> exercises.Feedback:
    """Check ``fn(k, y, ridge) -> residuals`` (N, m): the leave-one-out residuals of kernel ridge
    regression (no intercept) with kernel matrix ``k`` (N, N), targets ``y`` (N, m) and ridge
    ``ridge``, computed in closed form (A y)_i / A_ii with A = (K + ridge I)^{-1}.

    Compared with N explicit refits on a random positive definite kernel, relative tol 1e-6."""
    rng = np.random.default_rng(5)
    f = rng.standard_normal((12, 30))
    k = f @ f.T / 30
    y = rng.standard_normal((12, 2))
    ridge = 0.3
    try:
        got = np.asarray(fn(k.copy(), y.copy(), ridge), dtype=np.float64)
    except Exception as exc:  # the student's code raised: say what
        return exercises.wrong(f"your function raised {type(exc).__name__}: {exc}")
    want = _brute_force_loo(k, y, ridge)
    if got.shape != want.shape:
        return exercises.wrong(f"expected residuals of shape {want.shape} (N, m), got {got.shape}.")
    if np.allclose(got, -want, rtol=1e-6, atol=1e-9):
        return exercises.wrong("the sign is flipped: a residual is y_i minus the prediction.")
    if np.allclose(got, y - k @ np.linalg.solve(k + ridge * np.eye(12), y), rtol=1e-6, atol=1e-9):
        return exercises.wrong(
            "these are the training residuals of the fit on all N points; leaving point i out "
            "divides the i-th one by ridge * A_ii, i.e. use (A y)_i / A_ii."
        )
    if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
        err = float(np.max(np.abs(got - want)))
        return exercises.wrong(f"the residuals differ from N explicit refits by up to {err:.3g}.")
    return exercises.correct("one factorisation gives all N leave-one-out residuals.")
