"""Argument checks shared by the limits modules."""
from __future__ import annotations


import jax.numpy as jnp
import numpy as np

from widenets import _checks


def _steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def _xy(x, y):
    _checks.finite_array(x, "x", ndim=2)
    _checks.finite_array(y, "y", ndim=2)
    _checks.same_length(x, y, "x", "y")
    return jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
