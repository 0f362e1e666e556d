"""Tests of widenets.limits: Tensor Programs limits against finite networks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest


from widenets import data, limits, mlp, scaling, train


@pytest.fixture(scope="module")
def few_shot():
    task = data.few_shot(data.transfer_pair(0)[1], 4, 0)
    return task.x_train, task.y_train, task.x_test[:40]


def _finite_linear(x, y, x_eval, n, seed, steps, lr, param="mup"):
    net = mlp.mlp(x.shape[1], n, y.shape[1], 1, "identity", param)
    params = net.init(jax.random.PRNGKey(seed))
    loss = train.mse_loss(net.apply, x, y)
    final, hist = train.gradient_descent(loss, params, steps, lr, net.lr_scales(),
                                         record=lambda p: net.apply(p, x_eval))
    return net, params, final, hist["record"]


def test_linear_limit_with_finite_gram_reproduces_the_network_exactly(few_shot):
    """The coefficient recursion is exact at every width: only the Gram matrix depends on n.
    With the Gram matrix of a width-96 network (an independent Monte Carlo draw of the basis)
    it reproduces that network's whole trajectory to rounding error."""
    x, y, xe = few_shot
    for seed in (0, 1):
        net, params, final, outs = _finite_linear(x, y, xe, 96, seed, 30, 0.5)
        g = limits.linear_mup_gram(net, params)
        st, hist = limits.linear_mup_train(x, y, 30, 0.5, x_eval=xe, gram=g)
        np.testing.assert_allclose(hist["outputs"], outs, atol=1e-10)
        # the hidden feature kernel h h^T / n of the trained network, too
        h = x @ (net.multipliers()[0][0] * final[0]["w"])
        np.testing.assert_allclose(limits.linear_mup_feature_kernel(st, x, gram=g),
                                   h @ h.T / net.width, atol=1e-10)


def test_finite_mup_networks_converge_to_the_linear_limit_like_inverse_sqrt_width(few_shot):
    x, y, xe = few_shot
    steps, lr = 40, 0.5
    _, lim = limits.linear_mup_train(x, y, steps, lr, x_eval=xe)
    widths = [2**7, 2**9, 2**11, 2**13]
    _, outs = limits.finite_linear_outputs(x, y, widths, steps, lr, "mup", seeds=2, x_eval=xe)
    err = np.sqrt(np.mean((outs - np.asarray(lim["outputs"][-1])) ** 2, axis=(2, 3)))
    fit = scaling.fit_power_law(widths, err)
    assert abs(fit.slope + 0.5) < 0.15, fit
    # the limit really learned something, and width 2^13 is within a few % of it
    assert float(lim["loss"][-1]) < 0.2 * float(lim["loss"][0])
    assert err[-1].mean() < 0.05 * float(jnp.sqrt(jnp.mean(lim["outputs"][-1] ** 2)))


def test_linear_limit_features_move_theta_one(few_shot):
    x, y, _ = few_shot
    st0 = limits.linear_mup_init(x.shape[1], y.shape[1])
    st, _ = limits.linear_mup_train(x, y, 40, 0.5)
    k0 = limits.linear_mup_feature_kernel(st0, x)
    np.testing.assert_allclose(k0, x @ x.T / x.shape[1], atol=1e-12)
    rel = float(jnp.linalg.norm(limits.linear_mup_feature_kernel(st, x) - k0) / jnp.linalg.norm(k0))
    assert rel > 0.05


def test_ntk_parametrized_networks_follow_the_kernel_limit(few_shot):
    """NTP linear networks converge to GD with the fixed kernel linear_ntk (given their own f_0)."""
    x, y, _ = few_shot
    steps, lr = 30, 0.5
    widths = [2**8, 2**10, 2**12]
    f0, outs = limits.finite_linear_outputs(x, y, widths, steps, lr, "ntk", seeds=2)
    ref = np.array([[limits.kernel_gd(limits.linear_ntk(x), y, steps, lr, f0_train=f)["train"][-1]
                     for f in row] for row in f0])
    errs = np.sqrt(np.mean((outs - ref) ** 2, axis=(2, 3)))
    assert errs[-1].mean() < errs[0].mean() and errs[-1].mean() < 0.03
    assert scaling.fit_power_law(widths, errs).slope < -0.3


def test_kernel_gd_converges_to_kernel_regression():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    k = x @ x.T + 0.5 * np.eye(6)
    y = rng.standard_normal((6, 2))
    out = limits.kernel_gd(k, y, 3000, 1.0, k_eval=k[:2])
    np.testing.assert_allclose(out["train"][-1], y, atol=1e-8)
    assert out["outputs"].shape == (3001, 2, 2)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: limits.linear_mup_init(0), "in_dim"),
        (lambda: limits.linear_mup_init(3, sigma_w=0.0), "sigma_w"),
        (lambda: limits.linear_mup_train(np.ones((3, 2)), np.ones((4, 1)), 5, 0.1), "same number of rows"),
        (lambda: limits.linear_mup_train(np.ones((3, 2)), np.ones((3, 1)), -1, 0.1), "steps"),
        (lambda: limits.linear_mup_train(np.ones((3, 2)), np.ones((3, 1)), 5, -0.1), "lr"),
        (lambda: limits.linear_mup_train(np.ones((3, 2)), np.ones((3, 1)), 5, 0.1, output_scale=0.0), "output_scale"),
        (lambda: limits.linear_mup_train(np.ones((3, 2)), np.ones((3, 1)), 5, 0.1,
                                         state=limits.linear_mup_init(3, 1)), "state"),
        (lambda: limits.linear_mup_train(np.ones((3, 2)), np.ones((3, 1)), 5, 0.1, gram=np.eye(4)), "gram"),
        (lambda: limits.linear_mup_train(np.ones((3, 2)), np.ones((3, 1)), 5, 0.1, x_eval=np.ones((2, 3))), "x_eval"),
        (lambda: limits.linear_mup_apply(limits.linear_mup_init(2), np.ones((3, 5))), "x"),
        (lambda: limits.linear_mup_gram(mlp.mlp(3, 8, activation="relu", parametrization="mup"), None), "identity"),
        (lambda: limits.kernel_gd(np.eye(3), np.ones((4, 1)), 5, 0.1), "k_train"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --------------------------------------------------------------------------- chapter 7 parts
from widenets.exercises import ch07  # noqa: E402


def test_master_theorem_errors_shrink_like_inverse_sqrt_width():
    mt = limits.master_theorem_errors(widths=(64, 256, 1024, 2048), seeds=6)
    np.testing.assert_allclose(mt.limits, [0.23645, 0.60571], atol=1e-4)  # E tanh(sZ)^2, E Z tanh Z
    for i in range(2):
        fit = scaling.fit_power_law(mt.widths, mt.errors[:, :, i])
        assert abs(fit.slope + 0.5) < 0.2, (i, fit)
    # the W^T-after-W correction is real: the naive Gaussian answer 0 is far off at every width
    assert np.all(mt.values[1:, :, 1].mean(axis=1) > 0.5)


def test_particle_form_is_exactly_the_mup_network():
    reg = data.regression_1d(6, 10, 0.0, 0)
    x, y, xe = reg.x_train, reg.y_train, reg.x_test
    net = mlp.mlp(2, 48, 1, 1, "tanh", "mup", sigma_b=1.0)
    params = net.init(jax.random.PRNGKey(3))
    params[-1]["b"] = jnp.zeros(1)
    _, hist = train.gradient_descent(train.mse_loss(net.apply, x, y), params, 15, 0.5, net.lr_scales(),
                                     record=lambda p: net.apply(p, xe))
    h = limits.mf_particles_train(*limits.mup_network_to_particles(net, params), x, y, 15, 0.5,
                                  "tanh", 1.0, 1.0, xe)
    np.testing.assert_allclose(h["outputs"], hist["record"][-1], atol=1e-12)
    np.testing.assert_allclose(h["loss"], hist["loss"], atol=1e-12)


def test_finite_mup_outputs_are_real_mlp_networks_with_the_output_bias_zeroed():
    """limits.finite_mup_outputs trains widenets.mlp networks themselves; with the output bias started
    at 0 they are exactly the particle form of the limit's integrand (to rounding error)."""
    reg = data.regression_1d(6, 10, 0.0, 0)
    x, y, xe = reg.x_train, reg.y_train, reg.x_test
    key = jax.random.PRNGKey(4)
    out = limits.finite_mup_outputs(x, y, [32], 12, 0.5, seeds=2, key=key, x_eval=xe)
    net = mlp.mlp(2, 32, 1, 1, "tanh", "mup", sigma_b=1.0)
    for s in range(2):
        params = net.init(jax.random.fold_in(key, s))
        h = limits.mf_particles_train(*limits.mup_network_to_particles(net, params), x, y, 12, 0.5,
                                      "tanh", 1.0, 1.0, xe)
        np.testing.assert_allclose(out[0, s], h["outputs"], atol=1e-12)


def test_quadrature_qmc_and_wide_networks_agree():
    """Gauss-Hermite and randomized QMC estimates of the 1-hidden-layer limit agree with each
    other, and finite muP networks approach them like n^{-1/2} (short training, where the
    quadrature is accurate)."""
    reg = data.regression_1d(6, 20, 0.0, 0)
    x, y, xe = reg.x_train, reg.y_train, reg.x_test
    steps, lr = 20, 0.5
    q = limits.mf_limit_qmc(x, y, steps, lr, log2_points=13, replicas=3, x_eval=xe)
    assert float(q["loss"][-1]) < 0.7 * float(q["loss"][0])
    # tensor Gauss-Hermite converges slowly here (tanh has poles at +-i pi/2, so the rule's error
    # decays only like exp(-c sqrt(order))): it approaches the QMC value as the order grows
    rms = [float(np.sqrt(np.mean((np.asarray(limits.mf_limit_train(x, y, steps, lr, order=o, x_eval=xe)
                                             ["outputs"]) - q["outputs"]) ** 2))) for o in (5, 11)]
    assert rms[1] < 0.6 * rms[0] and rms[1] < 5e-3, rms
    assert float(np.max(q["stderr"])) < 3e-3  # 3 replicas of 2^13 points
    widths = [2**6, 2**9, 2**12]
    fin = limits.finite_mup_outputs(x, y, widths, steps, lr, seeds=3, x_eval=xe)
    err = np.sqrt(np.mean((fin - q["outputs"]) ** 2, axis=(2, 3)))
    fit = scaling.fit_power_law(widths, err)
    assert abs(fit.slope + 0.5) < 0.15, fit


def test_mf_limit_cost_is_reported_per_step_count():
    reg = data.regression_1d(4, 5, 0.0, 0)
    secs = limits.mf_limit_cost(reg.x_train, reg.y_train, [5, 10], 0.5, log2_points=6)
    assert secs.shape == (2,) and np.all(secs > 0)


def test_ch07_checker(few_shot):
    x, y, _ = few_shot
    st, _ = limits.linear_mup_train(x, y, 1, 0.3)
    assert ch07.check_linear_step(st.alpha, st.beta, x, y, 0.3)
    st0 = limits.linear_mup_init(x.shape[1], y.shape[1])
    fb = ch07.check_linear_step(st0.alpha, st.beta, x, y, 0.3)
    assert not fb and "alpha1 equals its initial value" in fb.message
    bad = st0.alpha + (st.alpha - st0.alpha) * x.shape[1]
    assert "d times too large" in ch07.check_linear_step(bad, st.beta, x, y, 0.3).message
    assert "shape" in ch07.check_linear_step(st.alpha[:2], st.beta, x, y, 0.3).message


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: limits.gauss_hermite_grid(8, 10), "too many"),
        (lambda: limits.gauss_hermite(0), "order"),
        (lambda: limits.mf_limit_qmc(np.ones((3, 2)), np.ones((3, 1)), 2, 0.1, replicas=1), "replicas"),
        (lambda: limits.mf_particles_train(np.ones((4, 3)), np.ones(4), np.ones((4, 1)), np.ones(4),
                                           np.ones((3, 2)), np.ones((3, 1)), 2, 0.1), "w1"),
        (lambda: limits.mup_network_to_particles(mlp.mlp(2, 8, parametrization="ntk"), None), "mup"),
    ],
)
def test_bad_input_names_the_argument_nonlinear(call, name):
    with pytest.raises(ValueError, match=name):
        call()
