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
    assert costs.fit_exponent(d, t, min_size=64, max_size=256).slope < 1.0
    with pytest.raises(ValueError, match="seconds"):
        costs.fit_exponent(d, 0 * t)


def test_crossover_interpolates_where_the_solve_overtakes_the_build():
    sizes = np.array([256, 512, 1024, 2048, 4096])
    build = 1e-7 * sizes**2.0
    solve = 1e-10 * sizes**3.0  # equal at D = 1000
    c = costs.Costs(sizes, build, solve)
    assert costs.crossover(c) == pytest.approx(1000.0, rel=1e-9)
    assert costs.crossover(costs.Costs(sizes, build, 0.1 * build)) == np.inf
    assert costs.crossover(costs.Costs(sizes, build, 10 * build)) == 256.0


def test_measure_uses_cpu_time_interleaved(monkeypatch):
    """Rounds visit every size in turn; times are process_time differences, minimum over rounds."""
    calls = []
    clock = iter(np.arange(0.0, 1000.0, 0.5))
    monkeypatch.setattr(costs.time, "process_time", lambda: next(clock))
    c = costs.measure(lambda x: (calls.append(len(x)), kernels.nngp(x))[1], [16, 32], d=4, repeats=2)
    # 2 validation calls, then per round: build 16, build 32 (solves in between)
    assert calls == [16, 32, 16, 32, 16, 32]
    np.testing.assert_array_equal(c.build, [0.5, 0.5])


def test_measure_and_plot():
    c = costs.measure(lambda x: kernels.nngp(x), [32, 64, 128], d=8, repeats=1)
    assert c.sizes.tolist() == [32, 64, 128]
    assert np.all(c.build > 0) and np.all(c.solve > 0) and np.all(np.isfinite(c.solve))
    fig, axes = plotting.figure(1)
    fb, fs = costs.plot(axes[0], c, build_from=64, solve_from=64)
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


def test_describe_follows_the_numbers():
    sizes = np.array([256, 512, 1024, 2048, 4096])
    build = 1e-7 * sizes**2.0
    fast_cube = costs.Costs(sizes, build, 1e-10 * sizes**3.0)
    exponent, where = costs.describe(fast_cube, costs.fit_exponent(sizes, fast_cube.solve))
    assert exponent.startswith("close to") and "about D = 1000" in where
    flat = costs.Costs(sizes, build, 1e-3 * sizes**2.3)
    exponent, where = costs.describe(flat, costs.fit_exponent(sizes, flat.solve))
    assert exponent.startswith("still below 3") and "every D measured" in where
    never = costs.Costs(sizes, build, 1e-3 * build)
    assert costs.describe(never, costs.fit_exponent(sizes, never.solve))[1].startswith("nowhere")
