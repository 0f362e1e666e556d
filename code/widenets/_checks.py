"""Input validation shared by every public function: each error names the argument."""
from __future__ import annotations

from typing import Any

import numpy as np


def positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` if it is not >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise if it is negative or not finite."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}") from None
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
    return v


def positive(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    v = nonnegative(value, name)
    if v == 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def one_of(value: Any, allowed: tuple[str, ...] | list[str], name: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise naming the choices."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def finite_array(x: Any, name: str, ndim: int | None = None) -> np.ndarray:
    """Check that ``x`` is a finite numeric array (of ``ndim`` dimensions if given).

    Returns it unchanged as a JAX or NumPy array; raises ``ValueError`` naming ``name``.
    """
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return x


def same_length(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise if the leading dimensions of ``a`` and ``b`` differ."""
    if np.shape(a)[0] != np.shape(b)[0]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of rows, "
            f"got {np.shape(a)[0]} and {np.shape(b)[0]}"
        )
