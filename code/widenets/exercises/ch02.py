"""Checker for the coding exercise of chapter 2: the ReLU NTK recursion."""
from __future__ import annotations

from typing import Callable

import numpy as np

from widenets import kernels
from widenets.exercises import Feedback, correct, wrong


def exercise_inputs() -> np.ndarray:
    """Six inputs in d = 3 (fixed), the x of the exercise."""
    return np.random.default_rng(2026).standard_normal((6, 3))


def check_relu_ntk(student_fn: Callable) -> Feedback:
    """Check ``student_fn(x, depth) -> (N, N)``: the infinite-width NTK of a ReLU MLP with
    ``depth`` hidden layers, sigma_w^2 = 2, sigma_b = 0 (NTK parametrization).

    Compares with :func:`widenets.kernels.ntk` for depths 1..3 to 1e-8 relative, and names
    the usual slips: returning the NNGP, forgetting the Theta^l * Sigma-dot term, a constant
    factor (sigma_w^2 or 1/(2 pi)), an off-by-one in the depth."""
    x = exercise_inputs()
    for depth in (1, 2, 3):
        try:
            ans = np.asarray(student_fn(x, depth), dtype=np.float64)
        except Exception as e:  # noqa: BLE001 - report any failure of the student's code
            return wrong(f"your function raised {type(e).__name__} at depth={depth}: {e}")
        lk = kernels.layerwise(x, depth=depth)
        ref = np.asarray(lk.theta[-1])
        if ans.shape != ref.shape:
            return wrong(f"expected shape {ref.shape}, got {ans.shape} at depth={depth}.")
        close = lambda a, b: np.max(np.abs(a - b)) <= 1e-8 * np.max(np.abs(b))  # noqa: E731
        if close(ans, ref):
            continue
        if close(ans, np.asarray(lk.sigma[-1])):
            return wrong(f"at depth={depth} you returned the NNGP Sigma^(L+1); the NTK adds "
                         "Theta^l * Sigma-dot^(l+1) at every layer.")
        if depth > 1 and close(ans, np.asarray(kernels.ntk(x, depth=depth - 1))):
            return wrong(f"at depth={depth} you computed the NTK of depth {depth - 1}: "
                         "the recursion runs once per hidden layer.")
        if close(ans, np.asarray(kernels.ntk(x, depth=depth + 1))):
            return wrong(f"at depth={depth} you computed the NTK of depth {depth + 1}: "
                         "the recursion runs once per hidden layer.")
        ratio = np.sum(ans * ref) / np.sum(ref * ref)
        if close(ans, ratio * ref):
            return wrong(f"at depth={depth} your NTK is {ratio:.4g} times the right one: check "
                         "the factors sigma_w^2 = 2 and 1/(2 pi).")
        err = np.max(np.abs(ans - ref)) / np.max(np.abs(ref))
        return wrong(f"at depth={depth} your NTK differs by {err:.2e} (relative): check the "
                     "angle theta = arccos(Sigma12 / sqrt(Sigma11 Sigma22)) and "
                     "Sigma-dot = sigma_w^2 (pi - theta) / (2 pi).")
    return correct("your ReLU NTK matches the closed form at depths 1, 2 and 3.")
