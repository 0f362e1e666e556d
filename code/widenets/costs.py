"""The measured cost of exact kernel methods as the number of training points D grows.

Kernel regression (and the GP posterior, and the infinite-width network) with D training
points needs

* the D x D kernel matrix: D^2 kernel evaluations, each O(d) for a dot-product kernel of
  inputs in R^d (plus O(L) for an L-layer recursion): time ~ D^2, memory ~ D^2;
* its Cholesky factorization, D^3/3 floating-point operations, and two triangular solves
  per output, O(D^2 k): time ~ D^3.

So the build dominates for small D and the solve for large D. :func:`measure` times both on
this machine (the minimum over ``repeats`` calls after one warm-up call, which also
compiles), and :func:`fit_exponent` fits t ~ D^p over the sizes at or above a threshold.
At small D the measurement is dominated by fixed overheads (Python, dispatch, memory
allocation) and the fitted exponent is below the asymptotic one: the fit must be read
with the range it was taken on.
"""
from __future__ import annotations

import time
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from widenets import _checks, scaling


class Costs(NamedTuple):
    """Wall-clock seconds ``build`` (kernel matrix) and ``solve`` (Cholesky + solve) at each
    number of training points in ``sizes``; each (m,) array is the minimum over repeats."""

    sizes: np.ndarray
    build: np.ndarray
    solve: np.ndarray


@jax.jit
def _cholesky_solve(k: jax.Array, y: jax.Array) -> jax.Array:
    """(K + tiny I)^{-1} y by Cholesky; the relative jitter 1e-10 keeps random kernels PD."""
    n = k.shape[0]
    a = k + 1e-10 * jnp.trace(k) / n * jnp.eye(n, dtype=k.dtype)
    return jsl.cho_solve(jsl.cho_factor(a, lower=True), y)


def _time(fn: Callable[[], jax.Array], repeats: int) -> float:
    jax.block_until_ready(fn())  # warm-up: compiles for this shape
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def random_inputs(n: int, d: int, seed: int = 0) -> np.ndarray:
    """``n`` points uniform on the sphere of radius sqrt(d) in R^d (||x||^2 = d), shape (n, d)."""
    n = _checks.positive_int(n, "n")
    d = _checks.positive_int(d, "d")
    z = np.random.default_rng(seed).standard_normal((n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True) * np.sqrt(d)


def measure(
    kernel_fn: Callable[[np.ndarray], jax.Array],
    sizes: Sequence[int],
    d: int = 64,
    outputs: int = 10,
    repeats: int = 3,
    seed: int = 0,
) -> Costs:
    """Time building K = ``kernel_fn(x)`` (D, D) and solving K a = y for y (D, ``outputs``).

    ``kernel_fn`` maps inputs (D, d) to the (D, D) kernel, e.g.
    ``lambda x: widenets.kernels.ntk(x, depth=1)``; inputs are :func:`random_inputs`.
    Each time is the minimum over ``repeats`` runs after one warm-up run.
    """
    if not callable(kernel_fn):
        raise ValueError("kernel_fn must be callable: inputs (D, d) -> kernel (D, D)")
    sizes = [_checks.positive_int(s, "sizes") for s in sizes]
    if len(sizes) < 2:
        raise ValueError("sizes must hold at least two numbers of training points")
    d = _checks.positive_int(d, "d")
    outputs = _checks.positive_int(outputs, "outputs")
    repeats = _checks.positive_int(repeats, "repeats")
    build, solve = [], []
    for s in sizes:
        x = random_inputs(s, d, seed)
        y = jnp.asarray(np.random.default_rng(seed + 1).standard_normal((s, outputs)))
        k = jnp.asarray(kernel_fn(x))
        if k.shape != (s, s):
            raise ValueError(f"kernel_fn must return a ({s}, {s}) matrix, got shape {k.shape}")
        build.append(_time(lambda: jnp.asarray(kernel_fn(x)), repeats))
        solve.append(_time(lambda: _cholesky_solve(k, y), repeats))
    return Costs(np.asarray(sizes), np.asarray(build), np.asarray(solve))


def fit_exponent(sizes, seconds, min_size: int = 1) -> scaling.PowerLawFit:
    """Fit seconds ~ D^p over the sizes D >= ``min_size`` (at least two of them)."""
    _checks.finite_array(sizes, "sizes", ndim=1)
    _checks.finite_array(seconds, "seconds", ndim=1)
    s, t = np.asarray(sizes, np.float64), np.asarray(seconds, np.float64)
    if s.shape != t.shape:
        raise ValueError(f"sizes and seconds must have the same shape, got {s.shape} and {t.shape}")
    keep = s >= min_size
    if keep.sum() < 2:
        raise ValueError(f"min_size={min_size} leaves fewer than two sizes to fit")
    return scaling.fit_power_law(s[keep], t[keep])


def plot(ax, costs: Costs, min_size: int = 1) -> tuple[scaling.PowerLawFit, scaling.PowerLawFit]:
    """Draw build and solve times against D on log-log axes, with the fits over D >= ``min_size``
    (slopes in the legend) and dotted D^2 and D^3 guides; returns the (build, solve) fits."""
    from widenets import plotting

    fits = []
    for t, name, color in ((costs.build, "build K (D² evaluations)", plotting.PALETTE["blue"]),
                           (costs.solve, "Cholesky solve (D³/3 flops)", plotting.PALETTE["vermillion"])):
        fit = fit_exponent(costs.sizes, t, min_size)
        fits.append(fit)
        ax.plot(costs.sizes, t, "o", color=color,
                label=f"{name}: slope {fit.slope:.2f} ± {fit.stderr:.2f}")
        keep = costs.sizes >= min_size
        ax.plot(costs.sizes[keep], fit.predict(costs.sizes[keep]), "-", color=color, alpha=0.7)
    s = costs.sizes.astype(np.float64)
    for p, t in ((2, costs.build), (3, costs.solve)):
        ax.plot(s, t[-1] * (s / s[-1]) ** p, ":", color=plotting.MODEL_COLORS["theory"], alpha=0.6)
        ax.annotate(f"$D^{p}$", (s[0], t[-1] * (s[0] / s[-1]) ** p), fontsize=9)
    ax.axvline(min_size, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    plotting.label(ax, "training points D", "wall-clock time (s)", "cost of exact kernel regression")
    return fits[0], fits[1]
