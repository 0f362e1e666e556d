"""Tests of widenets.costs: timing kernel build and solve, fitting their exponents."""
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

from widenets import costs, kernels, plotting


def test_cholesky_solve_solves():
    x = costs.random_inputs(50, 8, seed=1)
    np.testing.assert_allclose(np.sum(x**2, axis=1), 8.0, rtol=1e-12)
    k = np.asarray(kernels.ntk(x)) + 0.1 * np.eye(50)
    y = np.random.default_rng(0).standard_normal((50, 3))
    a = np.asarray(costs._cholesky_solve(jnp.asarray(k), jnp.asarray(y)))
    np.testing.assert_allclose(k @ a, y, atol=1e-6)


def test_fit_exponent_recovers_power_laws_and_respects_min_size():
    d = np.array([64, 128, 256, 512, 1024, 2048])
    np.testing.assert_allclose(costs.fit_exponent(d, 1e-9 * d**3.0).slope, 3.0, atol=1e-10)
    # a constant overhead flattens the small sizes; fitting above min_size recovers the cube
    t = 1e-3 + 1e-10 * d**3.0
    assert costs.fit_exponent(d, t).slope < 2.5
    assert costs.fit_exponent(d, t, min_size=1024).slope > 2.8
    with pytest.raises(ValueError, match="min_size"):
        costs.fit_exponent(d, t, min_size=4096)


def test_measure_and_plot():
    c = costs.measure(lambda x: kernels.nngp(x), [32, 64, 128], d=8, repeats=1)
    assert c.sizes.tolist() == [32, 64, 128]
    assert np.all(c.build > 0) and np.all(c.solve > 0) and np.all(np.isfinite(c.solve))
    fig, axes = plotting.figure(1)
    fb, fs = costs.plot(axes[0], c, min_size=64)
    assert np.isfinite(fb.slope) and np.isfinite(fs.slope)
    assert axes[0].get_xscale() == "log" and axes[0].get_yscale() == "log" and axes[0].get_xlabel()
    plt.close(fig)


def test_bad_input():
    with pytest.raises(ValueError, match="kernel_fn"):
        costs.measure("ntk", [8, 16])
    with pytest.raises(ValueError, match="sizes"):
        costs.measure(lambda x: kernels.nngp(x), [8])
    with pytest.raises(ValueError, match="kernel_fn must return"):
        costs.measure(lambda x: np.ones((3, 3)), [8, 16], repeats=1)
    with pytest.raises(ValueError, match="sizes and seconds"):
        costs.fit_exponent(np.array([1.0, 2.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="d"):
        costs.random_inputs(4, 0)
