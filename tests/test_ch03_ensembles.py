"""Tests of widenets.ensembles: random networks vs the NNGP prior, trained ensembles vs gp.gd_ensemble."""
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

from widenets import data, ensembles, gp, kernels, mlp, plotting


def _circle(n=6):
    t = np.linspace(0, np.pi, n, endpoint=False)
    return np.sqrt(2) * np.stack([np.cos(t), np.sin(t)], 1)


def test_nested_truncation_is_the_mlp_of_that_width():
    x = _circle(5)
    key = jax.random.PRNGKey(3)
    depth, sw, sb, widths = 2, 1.3, 0.2, (3, 7)
    out = ensembles.nested_prior_outputs(x, widths, 4, key, depth, "erf", sw, sb, chunk=4, dtype=jnp.float64)
    assert out.shape == (2, 4, 5)
    k0 = jax.random.split(key, 4)[1]  # network 1
    ks = jax.random.split(k0, 2 * depth + 2)
    n_max = max(widths)
    w1, b1 = jax.random.normal(ks[0], (2, n_max)), jax.random.normal(ks[1], (n_max,))
    w2, b2 = jax.random.normal(ks[2], (n_max, n_max)), jax.random.normal(ks[3], (n_max,))
    v, bv = jax.random.normal(ks[4], (n_max,)), jax.random.normal(ks[5], ())
    for i, n in enumerate(widths):
        net = mlp.mlp(2, n, 1, depth, "erf", "ntk", sigma_w=sw, sigma_b=sb)
        params = [{"w": w1[:, :n], "b": b1[:n]}, {"w": w2[:n, :n], "b": b2[:n]},
                  {"w": v[:n, None], "b": bv[None]}]
        np.testing.assert_allclose(out[i, 1], np.asarray(net.apply(params, x))[:, 0], rtol=1e-12)


def test_prior_covariance_and_kurtosis_vs_width():
    x = _circle(6)
    key = jax.random.PRNGKey(0)
    s = 10000
    # depth 1 without bias: covariance exact at every width, excess kurtosis 15/n (chapter 3)
    k1 = np.asarray(kernels.nngp(x, depth=1))
    c1 = ensembles.covariance_error_vs_width(x, k1, [2, 4, 8, 16], s, key, depth=1, chunk=5000)
    floor = ensembles.gaussian_floor(k1, s, seed=0, repeats=20)
    assert np.all(c1.error[:, 0] < np.mean(floor) + 4 * np.std(floor))
    fit = plotting.scaling.fit_power_law(c1.widths, np.clip(c1.kurtosis[:, 0], 1e-6, None))
    assert abs(fit.slope + 1.0) < 0.2, fit
    np.testing.assert_allclose(c1.kurtosis[:3, 0], 15.0 / c1.widths[:3], rtol=0.3)
    # depth 2: a finite-width bias of the covariance, far above the floor at width 2, gone by 64
    k2 = np.asarray(kernels.nngp(x, depth=2))
    c2 = ensembles.covariance_error_vs_width(x, k2, [2, 64], 4000, key, depth=2, chunk=1000)
    floor2 = np.mean(ensembles.gaussian_floor(k2, 4000, seed=1))
    assert c2.error[0, 0] > 3 * floor2
    assert c2.error[1, 0] < 2 * floor2


def _x8():
    t = np.linspace(0, np.pi, 8, endpoint=False)
    return np.sqrt(2) * np.stack([np.cos(t), np.sin(t)], 1)


def test_depth1_error_sits_at_the_floor_on_average_and_above_it_at_width_2():
    # chapter 3's prior cell (depth 1): 4 ensembles of S = 5000, averaged, are at the floor from
    # width 4 on; at width 2 heavy tails (excess kurtosis 7.5) raise the Monte Carlo error
    x = _x8()
    k1 = np.asarray(kernels.nngp(x, depth=1))
    c = ensembles.covariance_error_vs_width(x, k1, [2, 4, 8, 16, 32, 64], 5000, jax.random.PRNGKey(0),
                                            depth=1, repeats=4, chunk=5000)
    floor = ensembles.gaussian_floor(k1, 5000)
    ratio = ensembles.error_over_floor(c, floor)
    assert np.all((ratio[1:] > 0.6) & (ratio[1:] < 1.5)), ratio
    assert ratio[0] > 1.2, ratio
    # the floor is a mean error; its RMS differs by under 10%, its sd is a fifth to a half of it
    assert np.sqrt(np.mean(floor**2)) / np.mean(floor) < 1.1
    assert 0.2 < np.std(floor) / np.mean(floor) < 0.5
    with pytest.raises(ValueError, match="floor"):
        ensembles.error_over_floor(c, np.array([]))


def test_chapter3_trained_spread_ratio_is_inside_its_monte_carlo_error():
    # chapter 3: 64 networks of width 512 cannot resolve a deficit of their predictive sd
    reg = data.regression_1d(n_train=10, n_test=100, seed=0)
    comp = ensembles.regression_comparison(reg, width=512, n_nets=64, steps=500, lr=1.0,
                                           key=jax.random.PRNGKey(0))
    ratio = ensembles.predictive_sd_ratio(comp)
    assert abs(ratio - 1) < 2 * np.sqrt(1 / (2 * 64)), ratio
    assert ensembles.mean_sd(comp.gd.cov) == pytest.approx(
        np.mean(np.sqrt(np.diag(comp.gd.cov))), rel=1e-12)
    with pytest.raises(ValueError, match="cov"):
        ensembles.mean_sd(np.ones((2, 3)))


def test_chapter3_digits_gap_is_not_a_finite_width_effect():
    # chapter 3's digits cell: the kernel predictors beat every single network and one infinitely
    # wide trained network by far; the average of two networks beats both of them at every width
    task = data.subsample(data.digits(seed=0), 200, seed=0)
    d = ensembles.digits_comparison(task, [16, 128, 1024], 2, 150, 1.0, jax.random.PRNGKey(0))
    assert min(d.nngp, d.ntk) > d.finite.max() + 0.15
    assert min(d.nngp, d.ntk) > d.ntk_sample.mean() + 0.2
    assert np.all(d.finite_mean > d.finite.max(axis=1))


def test_gaussian_floor_shrinks_like_inverse_sqrt_samples():
    k = np.asarray(kernels.nngp(_circle(4)))
    small = np.mean(ensembles.gaussian_floor(k, 100, seed=0, repeats=40))
    large = np.mean(ensembles.gaussian_floor(k, 10000, seed=0, repeats=40))
    assert 5 < small / large < 20  # sqrt(100) = 10


def test_excess_kurtosis_and_mean_and_cov():
    rng = np.random.default_rng(0)
    g = rng.standard_normal((200000, 2))
    assert np.all(np.abs(ensembles.excess_kurtosis(g)) < 0.05)
    assert ensembles.excess_kurtosis(rng.laplace(size=200000)) == pytest.approx(3.0, abs=0.2)
    o = rng.standard_normal((50, 4, 2))
    mean, cov = ensembles.mean_and_cov(o)
    ref = (np.cov(o[:, :, 0].T) + np.cov(o[:, :, 1].T)) / 2
    np.testing.assert_allclose(cov, ref, rtol=1e-12)
    np.testing.assert_allclose(mean, o.mean(0), rtol=1e-12)


def test_trained_ensemble_matches_the_infinite_gd_ensemble():
    ds = data.regression_1d(n_train=6, n_test=8, seed=1)
    net = mlp.mlp(2, 1024, 1, 1, "relu", "ntk", sigma_b=0.1)
    key = jax.random.PRNGKey(2)
    # zero steps: the initial outputs, the same draws as prior_outputs
    te0, tr0 = ensembles.trained_outputs(net, ds.x_train, ds.y_train, ds.x_test, key, 8, 0, 1.0)
    np.testing.assert_allclose(te0, ensembles.prior_outputs(net, ds.x_test, key, 8), rtol=1e-5, atol=1e-6)
    te, tr = ensembles.trained_outputs(net, ds.x_train, ds.y_train, ds.x_test, key, 32, 200, 1.0)
    kw = dict(depth=1, sigma_b=0.1)
    x, xt = ds.x_train, ds.x_test
    k = [np.asarray(kernels.nngp(a, b, **kw)) for a, b in ((x, None), (xt, x), (xt, None))]
    th = [np.asarray(kernels.ntk(a, b, **kw)) for a, b in ((x, None), (xt, x), (xt, None))]
    theory = gp.gd_ensemble(th[0], th[1], th[2], k[0], k[1], k[2], ds.y_train, 200, 1.0)
    mean, cov = ensembles.mean_and_cov(te)
    se = np.sqrt(np.diag(theory.cov) / 32)
    # the mean over 32 networks is within 4 standard errors (+ a finite-width allowance of 0.02)
    assert np.all(np.abs(mean[:, 0] - theory.mean[:, 0]) < 4 * se + 0.02)
    # the variance: same order as theory, below the prior (training removed most of it)
    ratio = np.trace(cov) / np.trace(theory.cov)
    assert 0.5 < ratio < 1.5, ratio
    assert np.trace(cov) < 0.5 * np.trace(k[2])


def test_regression_and_digits_comparisons_and_plots():
    ds = data.regression_1d(n_train=6, n_test=20, seed=0)
    comp = ensembles.regression_comparison(ds, 32, 4, 20, 1.0, jax.random.PRNGKey(0), sigma_b=0.1)
    assert comp.finite_mean.shape == (20, 1) and comp.finite_cov.shape == (20, 20)
    # Bayes (noise-free) interpolates: posterior variance smaller than the GD ensemble's
    assert np.trace(comp.bayes.cov) < np.trace(comp.gd.cov)
    fig, axes = plotting.figure(3, 1, width=9)
    ensembles.plot_regression_comparison(axes, ds, comp)
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    plt.close(fig)

    task = data.subsample(data.digits(seed=0), 120, seed=0)
    d = ensembles.digits_comparison(task, [8], 2, 10, 1.0, jax.random.PRNGKey(1), n_samples=3)
    assert d.finite.shape == (1, 2) and d.ntk_sample.shape == (3,)
    assert d.nngp > 0.8 and d.ntk > 0.8  # kernel regression on 120 digits
    assert np.all((d.finite >= 0) & (d.finite <= 1))
    fig, axes = plotting.figure(1)
    ensembles.plot_digits(axes[0], d)
    assert axes[0].get_xscale() == "log" and axes[0].get_ylabel()
    plt.close(fig)

    x = _circle(4)
    k = np.asarray(kernels.nngp(x))
    c = ensembles.covariance_error_vs_width(x, k, [2, 8], 200, jax.random.PRNGKey(0), repeats=2)
    fig, axes = plotting.figure(2)
    fits = ensembles.plot_prior_check(axes, {"depth 1": c}, {"depth 1": ensembles.gaussian_floor(k, 200)})
    assert "depth 1" in fits and axes[1].get_yscale() == "log"
    plt.close(fig)


def test_bad_input():
    x = _circle(4)
    k = np.asarray(kernels.nngp(x))
    net = mlp.mlp(2, 8)
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="widths"):
        ensembles.nested_prior_outputs(x, [0, 4], 10, key)
    with pytest.raises(ValueError, match="n_nets"):
        ensembles.nested_prior_outputs(x, [4], 0, key)
    with pytest.raises(ValueError, match="activation"):
        ensembles.nested_prior_outputs(x, [4], 10, key, activation="swish")
    with pytest.raises(ValueError, match="sigma_b"):
        ensembles.nested_prior_outputs(x, [4], 10, key, sigma_b=-1.0)
    with pytest.raises(ValueError, match="kernel"):
        ensembles.covariance_error_vs_width(x, k[:3, :3], [4], 10, key)
    with pytest.raises(ValueError, match="x"):
        ensembles.prior_outputs(net, np.ones((3, 5)), key, 4)
    with pytest.raises(ValueError, match="net"):
        ensembles.prior_outputs("net", x, key, 4)
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="x_train"):
        ensembles.trained_outputs(net, bad, np.ones((4, 1)), x, key, 2, 1, 0.1)
    with pytest.raises(ValueError, match="x_train and y_train"):
        ensembles.trained_outputs(net, x, np.ones((3, 1)), x, key, 2, 1, 0.1)
    with pytest.raises(ValueError, match="lr"):
        ensembles.trained_outputs(net, x, np.ones((4, 1)), x, key, 2, 1, -0.1)
    with pytest.raises(ValueError, match="steps"):
        ensembles.trained_outputs(net, x, np.ones((4, 1)), x, key, 2, -1, 0.1)
    with pytest.raises(ValueError, match="outputs"):
        ensembles.mean_and_cov(np.ones((1, 3, 1)))
    with pytest.raises(ValueError, match="samples"):
        ensembles.excess_kurtosis(np.ones(2))
    with pytest.raises(ValueError, match="same shape"):
        ensembles.relative_error(np.ones(3), np.ones(4))
