"""Normal draws that compile once per power-of-two size instead of once per shape.

``jax.random.normal(key, shape)`` compiles a new XLA program for every shape, and threefry
makes each one cost about 0.2 s on the book's 2-core CPU; the chapters draw networks of many
widths eagerly, so these compilations add up to seconds per chapter. With JAX's partitionable
threefry (``jax_threefry_partitionable``, the default since JAX 0.5) the value drawn for
element i of the flattened shape depends only on the key and i. So ``normal(key, shape)`` is
exactly the first ``prod(shape)`` entries of ``normal(key, (m,))`` for any m >= prod(shape), and
:func:`normal` draws m = the next power of two (one compiled program per m and dtype, shared by
all shapes) and slices on the host. ``tests/test_random.py`` checks the equality bit for bit.

Under tracing (inside ``jit`` or ``vmap``), for typed or non-threefry keys, or with the flag
off, it is ``jax.random.normal`` itself.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

_MIN_BUCKET = 1024


def _bucket(n: int) -> int:
    return max(_MIN_BUCKET, 1 << max(n - 1, 0).bit_length())


def _flat_draws_apply(key) -> bool:
    return (isinstance(key, jax.Array) and not isinstance(key, jax.core.Tracer)
            and key.dtype == jnp.uint32 and key.shape == (2,)
            and jax.config.jax_default_prng_impl == "threefry2x32"
            and bool(jax.config.jax_threefry_partitionable))


def normal(key: jax.Array, shape: tuple[int, ...], dtype) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``, bit for bit (see the module docstring)."""
    shape = tuple(int(s) for s in shape)
    if not _flat_draws_apply(key):
        return jax.random.normal(key, shape, dtype)
    n = math.prod(shape)
    flat = np.asarray(jax.random.normal(key, (_bucket(n),), dtype))
    return jnp.asarray(flat[:n].reshape(shape))
