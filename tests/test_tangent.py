"""widenets.tangent and widenets.linearization: linearization, empirical NTK against
neural-tangents, and the chapter 1-2 scaling claims at small sizes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widenets import data, kernels, linearization, mlp, scaling, tangent


def _net(out_dim=2, depth=2, width=48, activation="relu"):
    net = mlp.mlp(3, width, out_dim=out_dim, depth=depth, activation=activation, sigma_b=0.3)
    return net, net.init(jax.random.PRNGKey(0))


def _x(n, seed):
    return jax.random.normal(jax.random.PRNGKey(seed), (n, 3))


@pytest.mark.parametrize("implementation", ["jacobian_contraction", "ntk_vector_products"])
def test_empirical_ntk_matches_neural_tangents(implementation):
    """To 1e-6 relative (measured ~1e-16), averaged over the k = 2 outputs like nt's trace_axes=(-1,)."""
    net, p = _net()
    x1, x2 = _x(5, 1), _x(4, 2)
    ours = tangent.empirical_ntk(net.apply, p, x1, x2)
    ref = tangent.neural_tangents_empirical_ntk(net.apply, p, x1, x2, implementation)
    assert ours.shape == ref.shape == (5, 4)
    assert float(jnp.max(jnp.abs(ours - ref)) / jnp.max(jnp.abs(ref))) < 1e-6


def test_tangent_features_give_the_ntk():
    net, p = _net()
    x = _x(4, 3)
    J = tangent.tangent_features(net.apply, p, x)
    assert J.shape == (4, 2, tangent.num_params(p))
    full = tangent.empirical_ntk(net.apply, p, x, average_outputs=False)
    np.testing.assert_allclose(full, jnp.einsum("iap,jbp->ijab", J, J), rtol=1e-12)
    np.testing.assert_allclose(tangent.empirical_ntk(net.apply, p, x), jnp.einsum("iiab->ab", jnp.moveaxis(full, (2, 3), (0, 1))) / 2, rtol=1e-12)


def test_linearization_is_the_first_order_taylor_expansion():
    net, p0 = _net(activation="tanh")  # smooth, so the Taylor remainder is O(eps^2)
    x = _x(6, 4)
    f_lin = tangent.linearize(net.apply, p0)
    np.testing.assert_allclose(f_lin(p0, x), net.apply(p0, x), rtol=1e-14)
    d = jax.tree_util.tree_map(lambda a: jax.random.normal(jax.random.PRNGKey(9), a.shape), p0)
    shift = lambda s: jax.tree_util.tree_map(lambda a, b: a + s * b, p0, d)  # noqa: E731
    f0 = net.apply(p0, x)
    # exactly linear in the displacement
    np.testing.assert_allclose(f_lin(shift(2.0), x) - f0, 2 * (f_lin(shift(1.0), x) - f0), rtol=1e-10)
    # J delta from the explicit tangent features
    J = tangent.tangent_features(net.apply, p0, x)
    np.testing.assert_allclose(f_lin(shift(1.0), x) - f0, J @ tangent.parameter_vector(d), rtol=1e-10)
    # and the network agrees to second order: error(eps) / error(eps/2) ~ 4
    e1 = float(jnp.max(jnp.abs(net.apply(shift(1e-2), x) - f_lin(shift(1e-2), x))))
    e2 = float(jnp.max(jnp.abs(net.apply(shift(5e-3), x) - f_lin(shift(5e-3), x))))
    assert 3.0 < e1 / e2 < 5.0


def test_trained_linearization_is_kernel_regression_with_the_empirical_ntk():
    """GD on f_lin for t steps equals the discrete closed form with Theta_hat_0 (1e-8)."""
    r = data.regression_1d(8, 5, seed=1)
    net = mlp.mlp(2, 32, 1, 1, "relu", "ntk")
    run = linearization.train_pair(net, r.x_train, r.y_train, r.x_test, 40, 0.5, jax.random.PRNGKey(3))
    p0 = net.init(jax.random.split(jax.random.PRNGKey(3), 1)[0])
    K = tangent.empirical_ntk(net.apply, p0, r.x_train)
    Ks = tangent.empirical_ntk(net.apply, p0, r.x_test, r.x_train)
    pred = kernels.gradient_flow_prediction(
        K, r.y_train, net.apply(p0, r.x_train), np.arange(41), 0.5, Ks, net.apply(p0, r.x_test), discrete=True
    )
    np.testing.assert_allclose(run.f_lin[0], pred.test, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(run.f_net[0, 0], run.f_lin[0, 0], rtol=1e-14)
    assert run.loss_net[0, -1] < 0.5 * run.loss_net[0, 0]


def test_network_approaches_its_linearization_like_inverse_sqrt_width():
    """Claim of chapter 1 at small sizes: slopes of the max output gap and of the relative
    weight change against width within 0.15 of -1/2 (widths 64..4096, 2 seeds, 100 steps)."""
    r = data.regression_1d(16, 32, seed=0)
    widths = [64, 512, 4096]
    sw = linearization.linearization_sweep(r.x_train, r.y_train, r.x_test, widths, 100, 0.5, jax.random.PRNGKey(0), seeds=2)
    gap = scaling.fit_power_law(sw.widths, sw.max_gap)
    change = scaling.fit_power_law(sw.widths, sw.weight_change)
    assert abs(gap.slope + 0.5) < 0.15, gap
    assert abs(change.slope + 0.5) < 0.15, change


def test_empirical_ntk_converges_to_the_analytic_ntk():
    """Chapter 2 (a): relative Frobenius error vs width, slope within 0.15 of -1/2."""
    x = data.regression_1d(12, 4, seed=2).x_train
    widths = [64, 256, 1024, 4096]
    err = linearization.ntk_convergence(x, widths, jax.random.PRNGKey(1), seeds=4)
    fit = scaling.fit_power_law(np.array(widths), err)
    assert abs(fit.slope + 0.5) < 0.15, fit
    assert err[-1].mean() < 0.05


def test_ntk_moves_less_during_training_as_width_grows():
    """Chapter 2 (b): the relative change of the empirical NTK over training decays, like n^{-1}
    for the smooth erf (Dyer & Gur-Ari 2020) and more slowly for ReLU, whose kernel moves
    through activation-pattern flips at the kink (O(n^{-1/2}), Lee et al.'s bound). Per-seed
    slopes over 4 widths and 4 seeds (measured: ReLU -0.59 +- 0.04, erf -1.00 +- 0.09): erf is
    steeper on every seed (paired), ReLU stays above -0.8, erf below -0.8."""
    r = data.regression_1d(16, 4, seed=0)
    widths = [64, 256, 1024, 4096]
    ex = {}
    for act in ("relu", "erf"):
        ch = linearization.ntk_change(r.x_train, r.y_train, widths, 100, 0.5, jax.random.PRNGKey(2), seeds=4,
                                      activation=act)
        ex[act] = scaling.exponent(widths, ch)
    assert -0.8 < ex["relu"].slope < -0.4, ex["relu"]
    assert -1.2 < ex["erf"].slope < -0.8, ex["erf"]
    assert np.all(ex["erf"].per_seed < ex["relu"].per_seed - 0.1), (ex["erf"].per_seed, ex["relu"].per_seed)
    fig, motion = linearization.plot_ntk_motion(widths, {"relu": np.ones((4, 2)) / np.array(widths)[:, None],
                                                         "erf": np.ones((4, 2)) / np.array(widths)[:, None] ** 0.5})
    np.testing.assert_allclose(motion["relu"].local, -1.0)
    np.testing.assert_allclose(motion["erf"].slope, -0.5)
    assert any("relu (slope -1.00 ± 0.00)" == t for t in fig.axes[0].get_legend_handles_labels()[1])


def test_wide_network_follows_the_closed_form_prediction():
    """Chapter 2 (c): the gap between GD training and the discrete-time analytic-NTK closed form
    shrinks with width, and is small for n = 4096; at eta = 0.5 (eta lambda_max / N ~ 0.9) the
    continuous-time formula is off by more than that, in the first steps, whatever the width."""
    r = data.regression_1d(12, 24, seed=0)
    gaps = []
    for n in (128, 4096):
        cmp = linearization.flow_comparison(r.x_train, r.y_train, r.x_test, n, 100, 0.5, jax.random.PRNGKey(4), every=1)
        assert cmp.f_net.shape == cmp.f_pred.shape == cmp.f_disc.shape == (101, 24, 1)
        np.testing.assert_allclose(cmp.f_net[0], cmp.f_disc[0], rtol=1e-12)
        np.testing.assert_allclose(cmp.f_net[0], cmp.f_pred[0], rtol=1e-12)
        e = cmp.errors()
        gaps.append(e["network - discrete"].max())
    assert gaps[1] < 0.5 * gaps[0]
    assert gaps[1] < 0.1
    assert e["continuous - discrete"].max() > 2 * gaps[1]
    assert e["network - continuous"].max() > e["continuous - discrete"].max() - gaps[1] - 1e-12
    assert e["continuous - discrete"][-1] < 0.1 * e["continuous - discrete"].max()


def test_bad_input_raises_naming_the_argument():
    net, p = _net()
    with pytest.raises(ValueError, match="x2"):
        tangent.empirical_ntk(net.apply, p, _x(3, 0), np.ones((2, 5)))
    with pytest.raises(ValueError, match="x1"):
        tangent.empirical_ntk(net.apply, p, np.array([[np.nan, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="x"):
        tangent.tangent_features(net.apply, p, np.ones(3))
    with pytest.raises(ValueError, match="implementation"):
        tangent.neural_tangents_empirical_ntk(net.apply, p, _x(2, 0), implementation="structured_derivatives")
    x, y = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(ValueError, match="widths"):
        linearization.linearization_sweep(x, y, x, [0, 8], 1, 0.1, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="widths"):
        linearization.ntk_convergence(x, [8], jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="x_eval"):
        linearization.linearization_sweep(x, y, np.ones((3, 5)), [4, 8], 1, 0.1, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="y"):
        linearization.ntk_change(x, np.ones((3, 1)), [4, 8], 1, 0.1, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="seeds"):
        linearization.ntk_convergence(x, [4, 8], jax.random.PRNGKey(0), seeds=0)
    with pytest.raises(ValueError, match="lr"):
        linearization.train_pair(mlp.mlp(2, 4), x, y, x, 2, -1.0, jax.random.PRNGKey(0))
