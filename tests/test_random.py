"""widenets._random.normal: jax.random.normal bit for bit, with one compilation per size bucket."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widenets import _random, mlp


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_normal_is_jax_random_normal_bit_for_bit(dtype):
    """The prefix property of partitionable threefry that _random relies on, checked on
    shapes of the book's networks (and awkward ones); this fails if a JAX upgrade breaks it."""
    shapes = [(), (1,), (5,), (10,), (64, 33), (1, 4096), (4096, 1), (2, 3, 7), (1025,), (192, 512)]
    for i, shape in enumerate(shapes):
        key = jax.random.fold_in(jax.random.PRNGKey(11), i)
        ours, ref = _random.normal(key, shape, dtype), jax.random.normal(key, shape, dtype)
        assert ours.shape == ref.shape and ours.dtype == ref.dtype
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(ref))


def test_traced_and_typed_keys_fall_back_to_jax():
    key = jax.random.PRNGKey(0)
    traced = jax.jit(lambda k: _random.normal(k, (3, 4), jnp.float32))(key)
    np.testing.assert_array_equal(traced, jax.random.normal(key, (3, 4), jnp.float32))
    typed = jax.random.key(0, impl="rbg")
    np.testing.assert_array_equal(_random.normal(typed, (7,), jnp.float32),
                                  jax.random.normal(typed, (7,), jnp.float32))


def test_draws_of_many_widths_share_one_compilation(caplog):
    """Eager inits of several widths compile one normal draw per size bucket, not one per shape."""
    import logging

    with caplog.at_level(logging.WARNING), jax.log_compiles():
        for n in (1500, 1600, 1700, 1800):  # shapes (5, n), (n,), (n, 3), (3,) not drawn before
            mlp.mlp(5, n, 3).init(jax.random.PRNGKey(n), jnp.float64)
    normals = [r for r in caplog.records if "compilation of jit(_normal)" in r.getMessage()]
    # before: one program per new shape, 4 widths x 3 = 12; now at most one per bucket
    # (1024..16384), and none when earlier tests in the process compiled those buckets already
    assert len(normals) <= 4, [r.getMessage() for r in normals]
