"""The measured cost of exact kernel methods as the number of training points D grows.

Kernel regression (and the GP posterior, and the infinite-width network) with D training
points needs

* the D x D kernel matrix: D^2 kernel evaluations, each O(d) for a dot-product kernel of
  inputs in R^d (plus O(L) for an L-layer recursion): time ~ D^2, memory ~ D^2;
* its Cholesky factorization, D^3/3 floating-point operations, and two triangular solves
  per output, O(D^2 k): time ~ D^3.

So the build dominates for small D and the solve for large D. :func:`measure` times both on
this machine in CPU time (``time.process_time``, all of the process's threads: other programs
sharing the machine do not inflate it the way they inflate wall-clock time), with the sizes
interleaved (every size once per round, ``repeats`` rounds after one warm-up round, which also
compiles) and the minimum over rounds kept. :func:`fit_exponent` fits t ~ D^p over a range of
sizes, and :func:`crossover` finds the D where the solve overtakes the build. At small D the
measurement is dominated by fixed overheads (Python, dispatch, memory allocation) and the fitted
exponent is below the asymptotic one: each fit must be read with the range it was taken on.
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
    """CPU seconds ``build`` (kernel matrix) and ``solve`` (Cholesky + solve) at each number
    of training points in ``sizes``; each (m,) array is the minimum over the rounds."""

    sizes: np.ndarray
    build: np.ndarray
    solve: np.ndarray


@jax.jit
def _cholesky_solve(k: jax.Array, y: jax.Array) -> jax.Array:
    """(K + tiny I)^{-1} y by Cholesky; the relative jitter 1e-10 keeps random kernels PD."""
    n = k.shape[0]
    a = k + 1e-10 * jnp.trace(k) / n * jnp.eye(n, dtype=k.dtype)
    return jsl.cho_solve(jsl.cho_factor(a, lower=True), y)


def _cpu_seconds(fn: Callable[[], jax.Array]) -> float:
    t0 = time.process_time()
    jax.block_until_ready(fn())
    return time.process_time() - t0


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
    Every size is timed once per round, ``repeats`` rounds after a warm-up round (which
    compiles); each time is the minimum CPU time over the rounds.
    """
    if not callable(kernel_fn):
        raise ValueError("kernel_fn must be callable: inputs (D, d) -> kernel (D, D)")
    sizes = _checks.positive_ints(sizes, "sizes", min_len=2)
    d = _checks.positive_int(d, "d")
    outputs = _checks.positive_int(outputs, "outputs")
    repeats = _checks.positive_int(repeats, "repeats")
    problems = []
    for s in sizes:
        x = random_inputs(s, d, seed)
        y = jnp.asarray(np.random.default_rng(seed + 1).standard_normal((s, outputs)))
        k = jnp.asarray(kernel_fn(x))
        if k.shape != (s, s):
            raise ValueError(f"kernel_fn must return a ({s}, {s}) matrix, got shape {k.shape}")
        jax.block_until_ready(_cholesky_solve(k, y))  # warm-up: compiles for this shape
        problems.append((x, k, y))
    build = np.full((repeats, len(sizes)), np.inf)
    solve = np.full((repeats, len(sizes)), np.inf)
    for r in range(repeats):
        for i, (x, k, y) in enumerate(problems):
            build[r, i] = _cpu_seconds(lambda: jnp.asarray(kernel_fn(x)))
            solve[r, i] = _cpu_seconds(lambda: _cholesky_solve(k, y))
    return Costs(np.asarray(sizes), build.min(axis=0), solve.min(axis=0))


def crossover(costs: Costs) -> float:
    """The D at which the solve's time first overtakes the build's (log-log interpolation
    between the two sizes that bracket it); ``inf`` if it does not within ``costs.sizes``,
    and the smallest size if the solve is already slower there."""
    ratio = np.log(np.asarray(costs.solve) / np.asarray(costs.build))
    above = np.nonzero(ratio > 0)[0]
    if above.size == 0:
        return float("inf")
    i = int(above[0])
    if i == 0:
        return float(costs.sizes[0])
    ld = np.log(np.asarray(costs.sizes[i - 1: i + 1], np.float64))
    t = ratio[i - 1] / (ratio[i - 1] - ratio[i])
    return float(np.exp(ld[0] + t * (ld[1] - ld[0])))


def fit_exponent(sizes, seconds, min_size: int = 1, max_size: float = np.inf) -> scaling.PowerLawFit:
    """Fit seconds ~ D^p over the sizes ``min_size`` <= D <= ``max_size`` (at least two)."""
    _checks.finite_array(sizes, "sizes", ndim=1)
    _checks.finite_array(seconds, "seconds", ndim=1)
    s, t = np.asarray(sizes, np.float64), np.asarray(seconds, np.float64)
    if s.shape != t.shape:
        raise ValueError(f"sizes and seconds must have the same shape, got {s.shape} and {t.shape}")
    if np.any(t <= 0):
        raise ValueError("seconds must all be > 0")
    keep = (s >= min_size) & (s <= max_size)
    if keep.sum() < 2:
        raise ValueError(f"min_size={min_size}, max_size={max_size} leave fewer than two sizes to fit")
    return scaling.fit_power_law(s[keep], t[keep])


def plot(ax, costs: Costs, build_from: int = 1, solve_from: int = 1
         ) -> tuple[scaling.PowerLawFit, scaling.PowerLawFit]:
    """Draw build and solve CPU times against D on log-log axes, with each fit over the sizes
    where that operation is in its asymptotic regime (D >= ``build_from``, D >= ``solve_from``;
    slopes in the legend), dotted D^2 and D^3 guides and the crossover (:func:`crossover`) as a
    dashed line; returns the (build, solve) fits."""
    from widenets import plotting

    fits = []
    for t, start, name, color, marker in (
            (costs.build, build_from, "build K (D² evaluations)", plotting.PALETTE["blue"], "o"),
            (costs.solve, solve_from, "Cholesky solve (D³/3 flops)", plotting.PALETTE["vermillion"], "s")):
        fit = fit_exponent(costs.sizes, t, start)
        fits.append(fit)
        ax.plot(costs.sizes, t, marker, color=color,
                label=f"{name}: slope {fit.slope:.2f} ± {fit.stderr:.2f} (D ≥ {start})")
        keep = costs.sizes >= start
        ax.plot(costs.sizes[keep], fit.predict(costs.sizes[keep]), "-", color=color, alpha=0.7)
    s = costs.sizes.astype(np.float64)
    for p, t in ((2, costs.build), (3, costs.solve)):
        ax.plot(s, t[-1] * (s / s[-1]) ** p, ":", color=plotting.MODEL_COLORS["theory"], alpha=0.6)
        ax.annotate(f"$D^{p}$", (s[0], t[-1] * (s[0] / s[-1]) ** p), fontsize=9)
    cross = crossover(costs)
    if np.isfinite(cross):
        ax.axvline(cross, color="grey", lw=0.8, ls="--", label=f"solve overtakes build: D ≈ {cross:.0f}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    plotting.label(ax, "training points D", "CPU time (s)", "cost of exact kernel regression")
    return fits[0], fits[1]


def describe(costs: Costs, solve_fit: scaling.PowerLawFit) -> tuple[str, str]:
    """Two clauses that state what a measurement shows, for the chapter's prose.

    The first says how the solve's fitted exponent compares with its asymptotic 3, the second
    where the solve overtakes the build (:func:`crossover`); both follow the numbers measured,
    so the text stays true on another machine.
    """
    if solve_fit.slope < 2.7:
        exponent = ("still below 3 at these sizes: LAPACK's Cholesky runs at a rate that grows "
                    "with D (more of each block update fits the cache and both cores), so the "
                    "D³/3 operations show their cube only at larger D")
    else:
        exponent = "close to the asymptotic 3 already"
    cross = crossover(costs)
    if cross <= costs.sizes[0]:
        where = (f"at every D measured (from D = {costs.sizes[0]}): an arc-cosine kernel entry "
                 "costs tens of nanoseconds, so the D² build is cheap next to the D³ solve")
    elif np.isfinite(cross):
        where = f"from about D = {cross:.0f} on, and the build below that"
    else:
        where = (f"nowhere up to D = {costs.sizes[-1]}: the build stays the larger cost over the "
                 "whole range, and the solve's cube takes over only beyond it")
    return exponent, where
