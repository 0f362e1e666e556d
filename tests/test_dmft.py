"""Tests of widenets.limits.dmft: the depth-2 muP limit by dynamical mean-field theory."""
import jax
import numpy as np
import pytest

from widenets import limits, scaling


def _task(p=6, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((p, d))
    return x, np.sign(rng.standard_normal((p, 1)))


def _replicas(x, y, steps, eta, m, reps, key0=0, **kw):
    return np.array([limits.dmft_train(x, y, steps, eta, jax.random.PRNGKey(key0 + s), samples=m, **kw).outputs
                     for s in range(reps)])


def _rms(a):
    return float(np.sqrt(np.mean(np.square(a))))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_output_matches_a_high_sample_run_within_its_monte_carlo_error(activation):
    """Four runs with M = 2^10 against one with M = 2^14 (independent keys): the difference is
    within 3 combined Monte Carlo standard errors (RMS over the trajectory), and the limit trains.
    (eta = 1: at eta = 2 GD on this 6-point task is unstable, its loss jumps up at step 7, and the
    trajectory is so sensitive that finite-M and finite-width fluctuations are amplified.)"""
    x, y = _task()
    steps, eta = 10, 1.0
    low = _replicas(x, y, steps, eta, 2**10, 4, activation=activation)
    high = limits.dmft_train(x, y, steps, eta, jax.random.PRNGKey(99), activation=activation, samples=2**14)
    sd = low.std(axis=0, ddof=1)                         # per-run MC error at M = 2^10
    combined = np.sqrt(sd**2 / 4 + sd**2 * 2**10 / 2**14)  # of the mean of 4, and of the M = 2^14 run
    assert _rms(low.mean(0) - high.outputs) < 3 * _rms(combined)
    assert high.loss[-1] < 0.8 * high.loss[0]
    assert np.all(np.isfinite(high.feature_kernels)) and high.feature_kernels.shape == (2, steps + 1, 6, 6)


def test_linear_activation_matches_the_exact_recursion_and_responses_matter():
    x, y = _task()
    steps, eta = 10, 0.3
    exact = limits.dmft_linear_exact(x, y, steps, eta)
    mc = _replicas(x, y, steps, eta, 2**12, 4, activation="identity")
    se = mc.std(axis=0, ddof=1) / 2
    diff = _rms(mc.mean(0) - exact.outputs)
    assert diff < 3 * _rms(se), (diff, _rms(se))
    # dropping the response terms A, B is wrong by far more than the Monte Carlo error
    bad = limits.dmft_train(x, y, steps, eta, jax.random.PRNGKey(0), activation="identity", samples=2**12,
                            responses=False)
    assert _rms(bad.outputs - exact.outputs) > 10 * _rms(se)
    # the kernels of the exact recursion are those of the Monte Carlo solve, too
    k = limits.dmft_train(x, y, steps, eta, jax.random.PRNGKey(5), activation="identity", samples=2**13)
    np.testing.assert_allclose(k.feature_kernels[1, -1], exact.feature_kernels[1, -1], atol=0.1)


@pytest.mark.slow
def test_exact_linear_recursion_is_the_limit_of_finite_linear_networks():
    """Real widenets.mlp linear muP networks (depth 2) converge to dmft_linear_exact like n^{-1/2}:
    5 widths over 1.5 decades, 5 seeds, mean per-seed slope within 0.1 of -1/2."""
    x, y = _task()
    steps, eta = 10, 0.3
    exact = limits.dmft_linear_exact(x, y, steps, eta)
    widths = [2**6, 2**7, 2**8, 2**9, 2**10, 2**11]
    fin = limits.dmft_finite_outputs(x, y, widths, steps, eta, jax.random.PRNGKey(1), activation="identity",
                                     seeds=5)
    err = np.sqrt(np.mean((fin["outputs"] - exact.outputs) ** 2, axis=(2, 3)))
    slopes = [scaling.fit_power_law(widths, err[:, s]).slope for s in range(5)]
    assert abs(np.mean(slopes) + 0.5) < 0.1, slopes


@pytest.mark.slow
def test_finite_mup_networks_converge_to_the_dmft_limit_and_only_muP_features_move():
    """Real widenets.mlp muP networks (depth 2, tanh) converge to the DMFT limit with mean per-seed
    slope within 0.1 of -1/2 (6 widths over 1.5 decades, 5 seeds), in the stable regime eta = 1
    (see the test above for why not eta = 2 on this task)."""
    x, y = _task()
    steps, eta = 10, 1.0
    lims = [limits.dmft_train(x, y, steps, eta, jax.random.PRNGKey(10 + s), samples=2**14) for s in range(2)]
    lim = np.mean([r.outputs for r in lims], axis=0)
    widths = [2**6, 2**7, 2**8, 2**9, 2**10, 2**11]
    fin = limits.dmft_finite_outputs(x, y, widths, steps, eta, jax.random.PRNGKey(1), seeds=5)
    err = np.sqrt(np.mean((fin["outputs"] - lim) ** 2, axis=(2, 3)))
    slopes = [scaling.fit_power_law(widths, err[:, s]).slope for s in range(5)]
    assert abs(np.mean(slopes) + 0.5) < 0.1, slopes
    # the limit's last-layer feature kernel moves Theta(1), and so do finite muP networks' ...
    move = np.abs(lims[0].feature_kernels[1, -1] - lims[0].feature_kernels[1, 0]).max()
    assert move > 0.1
    assert np.all(np.abs(fin["kernel_move"].mean(axis=1) / move - 1) < 0.3)
    # ... while NTK-parametrized networks' moves like 1/n
    ntp = limits.dmft_finite_outputs(x, y, widths, steps, eta, jax.random.PRNGKey(2), seeds=4,
                                     parametrization="ntk")
    assert abs(scaling.fit_power_law(widths, ntp["kernel_move"]).slope + 1) < 0.2


def test_depth_one_is_the_mean_field_limit():
    """With one hidden layer there is no middle matrix: DMFT is the mean-field limit of
    widenets.limits.meanfield (no biases, sigma_w = 1, lr = eta)."""
    x, y = _task(p=5, d=3)
    steps, eta = 10, 1.0
    mc = _replicas(x, y, steps, eta, 2**12, 4, depth=1)
    mf = limits.mf_limit_qmc(x, y, steps, eta, sigma_b=0.0, log2_points=12, replicas=4)
    se = np.sqrt(mc[:, -1].std(axis=0, ddof=1) ** 2 / 4 + mf["stderr"][:, 0] ** 2)
    assert np.all(np.abs(mc[:, -1].mean(0) - mf["outputs"][:, 0]) < 4 * se + 1e-6)


def test_cost_is_measured_against_points_steps_and_samples():
    x, y = _task(p=8)
    c = limits.dmft_cost(x, y, 1.0, jax.random.PRNGKey(0), points=(4, 8), steps=(3, 6), samples=(64, 128),
                         base=(4, 3, 64), repeats=1)
    assert c["points"].shape == (2,) and c["steps"].shape == (2,) and c["samples"].shape == (2,)
    assert np.all(c["samples"] > 0)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: limits.dmft_train(np.ones((3, 2)), np.ones((3, 2)), 3, 1.0, jax.random.PRNGKey(0)), "one column"),
        (lambda: limits.dmft_train(np.ones((3, 2)), np.ones((3, 1)), 3, 1.0, jax.random.PRNGKey(0),
                                   activation="erf"), "activation"),
        (lambda: limits.dmft_train(np.ones((3, 2)), np.ones((3, 1)), 3, -1.0, jax.random.PRNGKey(0)), "eta"),
        (lambda: limits.dmft_train(np.ones((3, 2)), np.ones((3, 1)), 3, 1.0, jax.random.PRNGKey(0), samples=4),
         "samples"),
        (lambda: limits.dmft_train(np.ones((3, 2)), np.ones((3, 1)), 3, 1.0, jax.random.PRNGKey(0), depth=0), "depth"),
        (lambda: limits.dmft_linear_exact(np.ones((3, 2)), np.ones((4, 1)), 3, 1.0), "same number of rows"),
        (lambda: limits.dmft_finite_outputs(np.ones((3, 2)), np.ones((3, 1)), [8], 3, 1.0, jax.random.PRNGKey(0),
                                            parametrization="sp"), "parametrization"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_plots_draw_the_chapter_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = _task(p=8)
    widths = [8, 16, 32]
    lim = limits.dmft_train(x[:4], y[:4], 3, 1.0, jax.random.PRNGKey(0), samples=256)
    mup = limits.dmft_finite_outputs(x[:4], y[:4], widths, 3, 1.0, jax.random.PRNGKey(1), seeds=2)
    ntk = limits.dmft_finite_outputs(x[:4], y[:4], widths, 3, 1.0, jax.random.PRNGKey(2), seeds=2,
                                     parametrization="ntk")
    assert mup["outputs"].shape == (3, 2, 4, 4) and mup["kernel_move"].shape == (3, 2)
    fig, axes, fits = limits.plot_deep_limit(widths, mup, ntk, lim.outputs, 0.3)
    assert len(axes) == 3 and set(fits) == {"mup_error", "ntk_error", "mup_move", "ntk_move"}
    plt.close(fig)
    cost = limits.dmft_cost(x, y, 1.0, jax.random.PRNGKey(0), points=(4, 8), steps=(2, 4), samples=(32, 64),
                            base=(4, 2, 32), repeats=1)
    fig, axes, fits = limits.plot_dmft_cost(cost)
    assert set(fits) == {"points", "steps", "samples"}
    plt.close(fig)
    np.testing.assert_allclose(limits.per_seed_slopes([1, 2, 4], np.array([[1.0, 2.0], [0.5, 1.0], [0.25, 0.5]])),
                               [-1.0, -1.0])


@pytest.mark.slow
def test_depth_three_limit_is_approached_by_depth_three_mup_networks():
    """The solver is written for any depth: for 3 hidden layers real muP networks approach it like
    n^{-1/2} too (mean per-seed slope within 0.15 of -1/2, 6 widths over 1.5 decades, 5 seeds),
    and dropping the response terms is wrong by more than the narrowest network's error."""
    x, y = _task()
    steps, eta = 10, 1.0
    runs = [limits.dmft_train(x, y, steps, eta, jax.random.PRNGKey(40 + s), depth=3, samples=2**13)
            for s in range(2)]
    lim = np.mean([r.outputs for r in runs], axis=0)
    widths = [2**6, 2**7, 2**8, 2**9, 2**10, 2**11]
    fin = limits.dmft_finite_outputs(x, y, widths, steps, eta, jax.random.PRNGKey(3), depth=3, seeds=5)
    err = np.sqrt(np.mean((fin["outputs"] - lim) ** 2, axis=(2, 3)))
    slopes = limits.per_seed_slopes(widths, err)
    assert abs(slopes.mean() + 0.5) < 0.15, slopes
    bad = limits.dmft_train(x, y, steps, eta, jax.random.PRNGKey(0), depth=3, samples=2**13, responses=False)
    assert _rms(bad.outputs - lim) > err[0].mean()
