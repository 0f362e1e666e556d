"""Fitting scaling laws: the exponent of a quantity against width, with its uncertainty."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from widenets import _checks


class PowerLawFit(NamedTuple):
    """y ~ exp(intercept) * x^slope, fitted by least squares on log y against log x.
    ``stderr`` is the standard error of the slope (0 when only two points)."""

    slope: float
    intercept: float
    stderr: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted power law at ``x``."""
        return np.exp(self.intercept) * np.asarray(x, dtype=np.float64) ** self.slope


def fit_power_law(x: np.ndarray, y: np.ndarray) -> PowerLawFit:
    """Fit log y = intercept + slope * log x. ``x`` (m,) > 0; ``y`` (m,) or (m, seeds) > 0
    (seeds are averaged in log space first). Needs m >= 2 distinct x."""
    x = np.asarray(_checks.finite_array(x, "x", ndim=1), dtype=np.float64)
    y = np.asarray(_checks.finite_array(y, "y"), dtype=np.float64)
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape ({x.shape[0]},) or ({x.shape[0]}, seeds), got {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive to fit a power law")
    if np.unique(x).size < 2:
        raise ValueError("x must contain at least two distinct values")
    ly = np.log(y) if y.ndim == 1 else np.log(y).mean(axis=1)
    lx = np.log(x)
    A = np.stack([lx, np.ones_like(lx)], axis=1)
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    dof = lx.size - 2
    if dof > 0:
        s2 = resid @ resid / dof
        stderr = float(np.sqrt(s2 / np.sum((lx - lx.mean()) ** 2)))
    else:
        stderr = 0.0
    return PowerLawFit(float(coef[0]), float(coef[1]), stderr)


def mean_and_spread(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof=1; 0 for one sample) of ``values`` over ``axis``."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim < 1 or not -v.ndim <= axis < v.ndim or v.shape[axis] < 1:
        raise ValueError(f"values must have at least one entry along axis {axis}, got shape {v.shape}")
    n = v.shape[axis]
    sd = v.std(axis=axis, ddof=1) if n > 1 else np.zeros_like(v.mean(axis=axis))
    return v.mean(axis=axis), sd
