"""Input validation shared by every public function: each error names the argument.

Scalars: :func:`positive_int`, :func:`nonnegative_int`, :func:`positive`, :func:`nonnegative`,
:func:`finite_number`, :func:`in_interval`, :func:`one_of`, :func:`positive_ints`,
:func:`prng_key`. Arrays: :func:`finite_array`, :func:`matrix` (shape checks work on tracers),
:func:`same_length`, :func:`matching_features` (x1, x2), :func:`kernel_inputs` (no overflow in
|x|^2), :func:`net_inputs` / :func:`net_targets` (against an MLP), :func:`square_matrix`,
:func:`symmetric_matrix`, :func:`psd_matrix` (a kernel), :func:`nonconstant`. Parameters:
:func:`params_match` (same pytree and shapes as a reference), :func:`net_params` (params of an
MLP). Tasks: :func:`task`. Training: :class:`DivergenceWarning`, :func:`warn_if_diverged`.
Call them at the public boundary, outside jitted loops.
"""
from __future__ import annotations

import warnings
from typing import Any

import jax
import numpy as np


class DivergenceWarning(RuntimeWarning):
    """Training produced non-finite values (nan or inf): the learning rate is too large for
    this network, or the data or initialization overflowed. Exported as
    ``widenets.DivergenceWarning``; catch or filter it with :mod:`warnings`."""


def is_traced(x: Any) -> bool:
    """True if ``x`` is a JAX tracer (inside ``jit``/``vmap``/``grad``), whose values cannot be read."""
    return isinstance(x, jax.core.Tracer)


def positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` if it is not >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _number(value: Any, name: str, allowed: str) -> float:
    if isinstance(value, (bool, str, bytes)):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise if it is negative or not finite."""
    v = _number(value, name, "a finite number >= 0")
    if v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def positive(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0 (0 is rejected)."""
    v = _number(value, name, "a finite number > 0")
    if v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def finite_number(value: Any, name: str, nonzero: bool = False) -> float:
    """Return ``value`` as a finite float (not 0 if ``nonzero``), or raise naming ``name``."""
    allowed = "a finite non-zero number" if nonzero else "a finite number"
    v = _number(value, name, allowed)
    if nonzero and v == 0:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def in_interval(value: Any, name: str, lo: float, hi: float, closed: str = "[]") -> float:
    """Return ``value`` as a float if it lies in the interval from ``lo`` to ``hi``.

    ``closed`` is two characters, ``[`` or ``(`` then ``]`` or ``)``: e.g. ``"[)"`` is
    lo <= value < hi. The error message spells the interval out exactly.
    """
    interval = f"{closed[0]}{lo:g}, {hi:g}{closed[1]}"
    v = _number(value, name, f"a number in {interval}")
    ok_lo = v >= lo if closed[0] == "[" else v > lo
    ok_hi = v <= hi if closed[1] == "]" else v < hi
    if not (ok_lo and ok_hi):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return v


def nonnegative_int(value: Any, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` if it is not >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def positive_ints(values: Any, name: str, min_len: int = 1, increasing: bool = False) -> list[int]:
    """Return ``values`` as a list of ints >= 1 with at least ``min_len`` entries (strictly
    increasing if ``increasing``), or raise. Integral floats and NumPy integers are accepted
    (``np.geomspace`` widths)."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of integers >= 1, got {values!r}")
    try:
        seq = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of integers >= 1, got {values!r}") from None
    out = []
    for v in seq:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        out.append(positive_int(v, name))
    if len(out) < min_len:
        raise ValueError(f"{name} must contain at least {min_len} integer(s) >= 1, got {values!r}")
    if increasing and any(b <= a for a, b in zip(out, out[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {values!r}")
    return out


def positive_numbers(values: Any, name: str, min_len: int = 1) -> list[float]:
    """Return ``values`` as a list of finite floats > 0 with at least ``min_len`` entries, or raise."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise ValueError(f"{name} must be a sequence of finite numbers > 0, got {values!r}")
    out = [positive(v, name) for v in values]
    if len(out) < min_len:
        raise ValueError(f"{name} must contain at least {min_len} number(s) > 0, got {values!r}")
    return out


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


def prng_key(key: Any, name: str = "key") -> Any:
    """Raise unless ``key`` is one JAX PRNG key (``jax.random.PRNGKey(seed)`` or
    ``jax.random.key(seed)``); tracers pass. Returns ``key``."""
    if is_traced(key):
        return key
    dtype = getattr(key, "dtype", None)
    shape = np.shape(key)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        ok = shape == ()
    else:
        ok = dtype is not None and np.dtype(dtype) == np.uint32 and len(shape) == 1 and shape[0] in (2, 4)
    if not ok:
        raise ValueError(
            f"{name} must be one JAX PRNG key (jax.random.PRNGKey(seed) or jax.random.key(seed)), "
            f"got {type(key).__name__} of shape {shape}"
        )
    return key


# --------------------------------------------------------------------------- arrays
def matrix(x: Any, name: str, rows: int | None = None, cols: int | None = None,
           cols_what: str | None = None, finite: bool = True) -> Any:
    """Check that ``x`` is a 2-D numeric array with at least one row and one column (and
    ``rows`` rows, ``cols`` columns if given), finite unless ``finite=False`` or traced.

    Shapes are checked on JAX tracers too (they are static); values only on concrete arrays.
    ``cols_what`` says where the required number of columns comes from (e.g. "net.in_dim").
    Returns ``x`` unchanged.
    """
    shape = np.shape(x)
    if len(shape) != 2:
        want = f"(N, {cols})" if cols is not None else "(N, d)"
        raise ValueError(f"{name} must be a 2-D array of shape {want}, got shape {shape}")
    if shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column, got shape {shape}")
    if rows is not None and shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got shape {shape}")
    if cols is not None and shape[1] != cols:
        src = f" ({cols_what})" if cols_what else ""
        raise ValueError(f"{name} must have {cols} columns{src}, got shape {shape}")
    if finite and not is_traced(x):
        finite_array(x, name)
    return x


def matching_features(x1: Any, x2: Any, name1: str = "x1", name2: str = "x2") -> None:
    """Check inputs ``x1`` (N1, d) and, unless it is None, ``x2`` (N2, d): finite, 2-D, same d."""
    matrix(x1, name1)
    if x2 is not None:
        matrix(x2, name2)
        if np.shape(x2)[1] != np.shape(x1)[1]:
            raise ValueError(
                f"{name2} must have the same number of features (columns) as {name1}, "
                f"got {np.shape(x2)[1]} and {np.shape(x1)[1]}"
            )


def kernel_inputs(x: Any, name: str) -> Any:
    """:func:`matrix`, and raise if the squared row norms |x_i|^2 of a concrete ``x`` overflow
    (entries beyond about 1e154 in float64, 1e19 in float32): closed-form kernels of such inputs are inf/nan."""
    matrix(x, name)
    if not is_traced(x):
        a = np.asarray(x)
        with np.errstate(over="ignore"):
            # in the dtype the kernels compute in (floats keep theirs, integers become float64)
            sq = np.sum(np.square(a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)), axis=1)
        if not np.all(np.isfinite(sq)):
            raise ValueError(
                f"{name} is too large: its squared row norms overflow {sq.dtype} "
                f"(largest |entry| {float(np.abs(a).max()):.3g}; rescale the inputs)"
            )
    return x


def net_inputs(net: Any, x: Any, name: str = "x") -> Any:
    """Check that ``x`` is a finite (N, net.in_dim) array for the MLP ``net``; returns ``x``."""
    return matrix(x, name, cols=net.in_dim, cols_what="net.in_dim")


def net_targets(net: Any, y: Any, name: str = "y", rows: int | None = None) -> Any:
    """Check that ``y`` is a finite (N, net.out_dim) array (``rows`` rows if given); returns ``y``."""
    return matrix(y, name, rows=rows, cols=net.out_dim, cols_what="net.out_dim")


def square_matrix(k: Any, name: str, n: int | None = None, min_n: int = 1) -> np.ndarray:
    """``k`` as a float64 NumPy (N, N) matrix, finite, N >= ``min_n`` (N == ``n`` if given)."""
    finite_array(k, name, ndim=2)
    k = np.asarray(k, dtype=np.float64)
    if k.shape[0] != k.shape[1] or k.shape[0] < min_n:
        at_least = f" with N >= {min_n}" if min_n > 1 else ""
        raise ValueError(f"{name} must be a square (N, N) matrix{at_least}, got shape {k.shape}")
    if n is not None and k.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, {n}), got {k.shape}")
    return k


def symmetric_matrix(k: Any, name: str, n: int | None = None, min_n: int = 1,
                     rtol: float = 1e-9) -> np.ndarray:
    """:func:`square_matrix` that is also symmetric to ``rtol`` (absolute 1e-12 * max|k|)."""
    k = square_matrix(k, name, n, min_n)
    scale = max(1.0, float(np.abs(k).max()))
    if not np.allclose(k, k.T, rtol=rtol, atol=1e-12 * scale):
        raise ValueError(f"{name} must be symmetric")
    return k


def _psd_rtol(dtype) -> float:
    # rounding of a kernel computed in single precision puts its smallest eigenvalues near
    # -1e-7 * ||K|| times a modest factor; in double precision near -1e-16 * ||K||, but a float64
    # array may hold a kernel computed in float32, so the double-precision bound is generous too
    return 1e-4 if np.dtype(dtype).itemsize <= 4 else 1e-6


def psd_matrix(k: Any, name: str, n: int | None = None, min_n: int = 1,
               rtol: float | None = None, sym_rtol: float | None = None) -> np.ndarray:
    """``k`` as a float64 NumPy matrix that is a kernel: square, finite, symmetric, and positive
    semi-definite up to rounding (smallest eigenvalue >= -rtol * largest |diagonal|).

    ``rtol`` defaults to 1e-6 for double-precision input and 1e-4 for single precision
    (``sym_rtol``, the symmetry tolerance of :func:`symmetric_matrix`, to 1e-9 and 1e-5). The
    test is one Cholesky factorization of k + rtol * max|diag| * I (O(N^3 / 3)); the error
    message reports the smallest eigenvalue.
    """
    dtype = getattr(k, "dtype", np.float64)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = np.dtype(np.float64)
    if sym_rtol is None:
        sym_rtol = 1e-9 if dtype.itemsize > 4 else 1e-5
    k = symmetric_matrix(k, name, n, min_n, rtol=sym_rtol)
    tol = _psd_rtol(dtype) if rtol is None else float(rtol)
    scale = float(np.abs(np.diag(k)).max()) if k.size else 0.0
    scale = scale if scale > 0 else max(float(np.abs(k).max()), 1e-300)
    ok = bool(np.all(np.diag(k) >= -tol * scale))
    if ok:
        try:
            np.linalg.cholesky(k + tol * scale * np.eye(k.shape[0]))
        except np.linalg.LinAlgError:
            ok = False
    if not ok:
        lam_min = float(np.linalg.eigvalsh(k)[0])
        raise ValueError(
            f"{name} must be positive semi-definite (a kernel matrix), but its smallest "
            f"eigenvalue is {lam_min:.3g} (largest diagonal entry {scale:.3g})"
        )
    return k


def nonconstant(samples: np.ndarray, name: str, axis: int = 0) -> None:
    """Raise if ``samples`` is constant along ``axis`` anywhere (a statistic of its spread,
    such as a kurtosis, is then 0/0)."""
    s = np.asarray(samples)
    spread = np.ptp(s, axis=axis)
    if np.any(spread == 0):
        where = np.argwhere(np.atleast_1d(spread == 0))[:3].tolist()
        raise ValueError(
            f"{name} is constant along axis {axis} at positions {where} (first ones shown): "
            f"its variance is 0, so the statistic is undefined"
        )


# --------------------------------------------------------------------------- parameters
def params_match(params: Any, reference: Any, name: str = "params", ref_name: str = "params0") -> None:
    """Raise unless pytree ``params`` has the structure and leaf shapes of ``reference``
    (e.g. parameters of the same network, not one of another width)."""
    s1 = jax.tree_util.tree_structure(params)
    s2 = jax.tree_util.tree_structure(reference)
    if s1 != s2:
        raise ValueError(f"{name} must have the same tree structure as {ref_name}, got {s1} and {s2}")
    paths = jax.tree_util.tree_flatten_with_path(reference)[0]
    for (path, r), p in zip(paths, jax.tree_util.tree_leaves(params)):
        if np.shape(p) != np.shape(r):
            where = jax.tree_util.keystr(path)
            raise ValueError(
                f"{name}{where} must have shape {np.shape(r)} like {ref_name}{where}, got {np.shape(p)} "
                f"(parameters of a network of another width or depth?)"
            )


def net_params(net: Any, params: Any, name: str = "params", stacked: bool = False) -> None:
    """Raise unless ``params`` are parameters of the MLP ``net`` (one {"w", "b"} per layer with
    the shapes of ``net.layer_dims()``; with ``stacked``, each leaf has one extra leading axis)."""
    dims = net.layer_dims()
    if not isinstance(params, (list, tuple)) or len(params) != len(dims):
        raise ValueError(
            f"{name} must be a list of {len(dims)} {{'w', 'b'}} dicts (net.depth + 1 layers), "
            f"got {type(params).__name__} of length {len(params) if hasattr(params, '__len__') else '?'}"
        )
    for l, ((fan_in, fan_out), p) in enumerate(zip(dims, params)):
        if not isinstance(p, dict) or set(p) != {"w", "b"}:
            raise ValueError(f"{name}[{l}] must be a dict with keys 'w' and 'b', got {p!r:.60}")
        for key, want in (("w", (fan_in, fan_out)), ("b", (fan_out,))):
            got = tuple(np.shape(p[key]))
            if (got[1:] if stacked else got) != want:
                lead = "(S, ...) with " if stacked else ""
                raise ValueError(
                    f"{name}[{l}][{key!r}] must have shape {lead}{want} for this net "
                    f"(in_dim={net.in_dim}, width={net.width}, out_dim={net.out_dim}), got {got}"
                )


# --------------------------------------------------------------------------- divergence
def warn_if_diverged(values: Any, what: str, stacklevel: int = 3) -> bool:
    """Warn with :class:`DivergenceWarning` and return True if concrete ``values`` (a trajectory
    or any pytree of arrays) contain nan or inf; False otherwise (and for traced values).

    For functions whose documented result may legitimately diverge (learning-rate sweeps),
    report divergence in the return value instead of calling this."""
    leaves = jax.tree_util.tree_leaves(values)
    if any(is_traced(v) for v in leaves):
        return False
    if all(np.all(np.isfinite(np.asarray(v))) for v in leaves):
        return False
    warnings.warn(
        f"{what} diverged: the result contains nan or inf (try a smaller learning rate)",
        DivergenceWarning, stacklevel=stacklevel,
    )
    return True


# --------------------------------------------------------------------------- tasks
def task(t: Any, name: str = "task") -> Any:
    """Raise unless ``t`` is a :class:`widenets.data.Task` whose arrays agree: ``x_train`` (N, d),
    ``y_train`` (N, k), ``x_test`` (M, d), ``y_test`` (M, k), finite. Returns ``t``."""
    from widenets import data

    if not isinstance(t, data.Task):
        raise ValueError(f"{name} must be a widenets.data.Task, got {type(t).__name__}")
    n, d = np.shape(matrix(t.x_train, f"{name}.x_train"))
    k = np.shape(matrix(t.y_train, f"{name}.y_train", rows=n))[1]
    m = np.shape(matrix(t.x_test, f"{name}.x_test", cols=d, cols_what="like x_train"))[0]
    matrix(t.y_test, f"{name}.y_test", rows=m, cols=k, cols_what="like y_train")
    return t
