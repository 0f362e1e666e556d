"""Frobenius norms written as dot products, for use inside jitted code.

The XLA CPU compiler of JAX 0.5 rewrote a full reduction such as ``jnp.sum(x * x)`` of some
shapes (for example (32k, 64)) into 32x32 ``reduce-window`` loops that took it about 2 s each
to compile, while a dot product compiles in milliseconds. Current JAX no longer does that,
but the norms used inside jitted sweeps stay dot products, ``sqrt(vdot(x, x))``: one BLAS call,
and the book's numbers were computed with them.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def frobenius(x: jax.Array) -> jax.Array:
    """||x||_F = sqrt(sum_i x_i^2) over all entries of ``x`` (any shape)."""
    return jnp.sqrt(jnp.vdot(x, x))


def relative_change(a: jax.Array, a0: jax.Array) -> jax.Array:
    """||a - a0||_F / ||a0||_F for arrays of the same shape."""
    d = a - a0
    return jnp.sqrt(jnp.vdot(d, d) / jnp.vdot(a0, a0))
