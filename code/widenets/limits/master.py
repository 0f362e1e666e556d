"""The Master Theorem of Tensor Programs checked on a three-line program."""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widenets import _checks
from widenets.limits.quadrature import gauss_hermite


class MasterTheoremCheck(NamedTuple):
    """Result of :func:`master_theorem_errors`. ``values`` (widths, seeds, 2): the coordinate
    averages (1/n) sum_a tanh(g_a)^2 and (1/n) sum_a x_a h_a of the program
    x ~ N(0, I_n), g = W tanh(x), h = W^T g with W_ab ~ N(0, 1/n); ``limits`` (2,): their
    Master Theorem limits; ``errors`` (widths, seeds, 2) = ``|values - limits|``."""

    widths: np.ndarray
    values: np.ndarray
    limits: np.ndarray
    errors: np.ndarray


def master_theorem_limits(order: int = 80) -> np.ndarray:
    """The two limits of :class:`MasterTheoremCheck` by Gauss-Hermite quadrature:

    * Z^g ~ N(0, s^2), s^2 = E tanh(Z^x)^2, so (1/n) sum tanh(g)^2 -> E tanh(s Z)^2;
    * Z^h = Zhat^h + Zdot^h with Zdot^h = Z^{tanh x} (the W^T-after-W correction), so
      (1/n) sum x h -> E[Z^x tanh(Z^x)] (ignoring Zdot would wrongly give 0).
    """
    z, w = gauss_hermite(order)
    s2 = float(w @ np.tanh(z) ** 2)
    return np.array([float(w @ np.tanh(np.sqrt(s2) * z) ** 2), float(w @ (z * np.tanh(z)))])


def master_theorem_errors(widths=(64, 256, 1024, 4096), seeds: int = 8,
                          key: jax.Array | None = None) -> MasterTheoremCheck:
    """Run the program of :class:`MasterTheoremCheck` at each width for ``seeds`` draws (float32;
    NumPy draws seeded by the bits of ``key``, the width index and the seed)."""
    widths = np.asarray([_checks.positive_int(int(n), "widths") for n in widths])
    seeds = _checks.positive_int(seeds, "seeds")
    key = jax.random.PRNGKey(0) if key is None else key

    words = [int(v) for v in np.asarray(jax.random.key_data(key) if not jnp.issubdtype(
        jnp.asarray(key).dtype, jnp.unsignedinteger) else key).ravel()]

    def program(i, s, n):
        # NumPy draws seeded by (key, width index, seed): no XLA compilation per width
        rng = np.random.default_rng(words + [i, s])
        x = rng.standard_normal(n, dtype=np.float32)
        w = rng.standard_normal((n, n), dtype=np.float32) / np.float32(np.sqrt(n))
        g = w @ np.tanh(x)
        h = w.T @ g
        return np.array([np.mean(np.tanh(g) ** 2), np.mean(x * h)])

    vals = np.array([[program(i, s, int(n)) for s in range(seeds)] for i, n in enumerate(widths)], np.float64)
    lim = master_theorem_limits()
    return MasterTheoremCheck(widths, vals, lim, np.abs(vals - lim))
