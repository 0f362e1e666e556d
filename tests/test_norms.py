"""widenets._norms: Frobenius norms as dot products (values, and no reduce-window in XLA's output)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widenets import _norms


@pytest.mark.parametrize("shape", [(7,), (192, 64), (3, 4, 5)])
def test_values(shape):
    rng = np.random.default_rng(0)
    a, a0 = rng.standard_normal(shape), rng.standard_normal(shape)
    np.testing.assert_allclose(_norms.frobenius(jnp.asarray(a)), np.linalg.norm(a.ravel()), rtol=1e-12)
    np.testing.assert_allclose(_norms.relative_change(jnp.asarray(a), jnp.asarray(a0)),
                               np.linalg.norm((a - a0).ravel()) / np.linalg.norm(a0.ravel()), rtol=1e-12)


def test_compiles_without_reduce_window():
    # JAX 0.5's jnp.linalg.norm compiled this shape into 32x32 reduce-windows (seconds of compile
    # time); current JAX no longer does, and _norms must not either.
    x = jnp.ones((192, 64), jnp.float32)
    assert "reduce-window" not in jax.jit(_norms.frobenius).lower(x).compile().as_text()
    assert "reduce-window" not in jax.jit(_norms.relative_change).lower(x, x + 1).compile().as_text()
