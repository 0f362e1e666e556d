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


#: The book's statistics convention for an exponent quoted as evidence (see the appendix).
MIN_WIDTHS, MIN_DECADES, MIN_SEEDS, MIN_DOF = 5, 1.5, 4, 3


class Exponent(NamedTuple):
    """A scaling exponent by the book's convention (:func:`exponent`).

    ``slope``: mean of the per-seed slopes; ``spread``: their sample standard deviation (the
    quoted uncertainty); ``per_seed`` (S,); ``local`` (m - 1,): slopes between successive widths
    of the seed-averaged (in log space) values, to show drift; ``decades``: log10 of the width
    range; ``evidence``: whether the fit meets the convention (>= 5 widths over >= 1.5 decades,
    >= 4 seeds, >= 3 degrees of freedom)."""

    slope: float
    spread: float
    per_seed: np.ndarray
    local: np.ndarray
    decades: float
    evidence: bool


def exponent(widths, values) -> Exponent:
    """Per-seed power-law slopes of ``values`` (m, S) > 0 against ``widths`` (m,), their mean and
    seed-to-seed spread, local slopes, and whether they meet the statistics convention."""
    w = np.asarray(_checks.finite_array(widths, "widths", ndim=1), dtype=np.float64)
    v = np.asarray(_checks.finite_array(values, "values", ndim=2), dtype=np.float64)
    if v.shape[0] != w.size:
        raise ValueError(f"values must have shape ({w.size}, seeds), got {v.shape}")
    if np.any(w <= 0) or np.any(v <= 0):
        raise ValueError("widths and values must be positive to fit a power law")
    per_seed = np.asarray([fit_power_law(w, v[:, s]).slope for s in range(v.shape[1])])
    _, spread = mean_and_spread(per_seed)
    lv = np.log(v).mean(axis=1)
    local = np.diff(lv) / np.diff(np.log(w))
    decades = float(np.log10(w.max() / w.min()))
    evidence = (np.unique(w).size >= MIN_WIDTHS and decades >= MIN_DECADES - 1e-9
                and v.shape[1] >= MIN_SEEDS and np.unique(w).size - 2 >= MIN_DOF)
    return Exponent(float(per_seed.mean()), float(spread), per_seed, local, decades, bool(evidence))


def effective_sample_size(log_weights) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 of importance weights given as logs (S,)."""
    lw = np.asarray(_checks.finite_array(log_weights, "log_weights", ndim=1), dtype=np.float64)
    if lw.size < 1:
        raise ValueError("log_weights must hold at least one weight")
    w = np.exp(lw - lw.max())
    return float(w.sum() ** 2 / np.sum(w * w))
