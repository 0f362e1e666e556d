"""Tests of widenets.gp: GP conditioning and the infinite GD ensemble, against neural-tangents."""
import math

import numpy as np
import pytest
from scipy import stats

from widenets import gp, reference

RTOL = 1e-8  # the acceptance bound of issue 3 for agreement with nt.predict (float64)


@pytest.fixture(scope="module")
def kernels():
    """NNGP/NTK blocks of a 1-hidden-layer ReLU network from neural-tangents' stax."""
    stax = reference.stax()
    rng = np.random.default_rng(0)
    x, xt = rng.standard_normal((12, 5)), rng.standard_normal((7, 5))
    y = rng.standard_normal((12, 3))
    _, _, kernel_fn = stax.serial(stax.Dense(512, W_std=1.5, b_std=0.1), stax.Relu(),
                                  stax.Dense(1, W_std=1.5, b_std=0.1))
    return dict(kernel_fn=kernel_fn, x=x, xt=xt, y=y,
                train=kernel_fn(x, None), test_train=kernel_fn(xt, x), test=kernel_fn(xt, None))


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_posterior_matches_nt_gp_inference(kernels, noise):
    nt = reference.neural_tangents()
    k, ks, kss, y = kernels["train"], kernels["test_train"], kernels["test"], kernels["y"]
    ref = nt.predict.gp_inference(k, y, diag_reg=noise, diag_reg_absolute_scale=True)
    ours = gp.posterior(k.nngp, ks.nngp, kss.nngp, y, noise=noise, jitter=0.0)
    r = ref("nngp", ks, kss)
    assert ours.mean.shape == (7, 3) and ours.cov.shape == (7, 7)
    assert _rel(ours.mean, r.mean) < RTOL
    assert _rel(ours.cov, r.covariance) < RTOL
    # the NTK "posterior" mean (kernel regression with the NTK)
    ntk_mean = gp.kernel_regression(k.ntk, ks.ntk, y, ridge=noise, jitter=0.0)
    assert _rel(ntk_mean, ref("ntk", ks)) < RTOL


def test_posterior_interpolates_and_shrinks_variance(kernels):
    k, kss, y = kernels["train"].nngp, kernels["test"].nngp, kernels["y"]
    p = gp.posterior(k, k, k, y)  # test points = training points, no noise
    np.testing.assert_allclose(p.mean, y, atol=1e-6)
    assert np.max(np.abs(p.cov)) < 1e-6 * np.max(k)
    q = gp.posterior(k, kernels["test_train"].nngp, kss, y)
    # conditioning never increases the variance, and the posterior covariance is PSD
    assert np.all(np.diag(q.cov) <= np.diag(kss) + 1e-12)
    assert np.linalg.eigvalsh(q.cov).min() > -1e-9 * np.max(kss)
    # with huge noise the data are ignored: the posterior returns to the prior
    far = gp.posterior(k, kernels["test_train"].nngp, kss, y, noise=1e12)
    np.testing.assert_allclose(far.cov, kss, rtol=1e-8, atol=1e-10)
    assert np.max(np.abs(far.mean)) < 1e-9


def test_log_marginal_likelihood_matches_scipy(kernels):
    k, y = kernels["train"].nngp, kernels["y"]
    for noise in (0.01, 0.5):
        ref = sum(stats.multivariate_normal(np.zeros(12), k + noise * np.eye(12)).logpdf(y[:, c])
                  for c in range(3))
        assert gp.log_marginal_likelihood(k, y, noise=noise, jitter=0.0) == pytest.approx(ref, rel=1e-10)
    # it prefers the noise level the data were drawn with
    rng = np.random.default_rng(4)
    chol = np.linalg.cholesky(k + 0.3 * np.eye(12))
    ys = chol @ rng.standard_normal((12, 400))
    grid = [0.03, 0.3, 3.0]
    lml = [gp.log_marginal_likelihood(k, ys, noise=s) for s in grid]
    assert int(np.argmax(lml)) == 1


@pytest.mark.parametrize("t", [0.5, 20.0, math.inf])
def test_gd_ensemble_matches_nt(kernels, t):
    nt = reference.neural_tangents()
    k, ks, kss, y = kernels["train"], kernels["test_train"], kernels["test"], kernels["y"]
    lr = 0.5
    # nt normalises the loss by y.size = N k, widenets.train.mse_loss by N: lr_nt = lr k
    predict = nt.predict.gradient_descent_mse_ensemble(kernels["kernel_fn"], kernels["x"], y,
                                                       learning_rate=lr * y.shape[1])
    ref = predict(None if math.isinf(t) else t, kernels["xt"], "ntk", compute_cov=True)
    ours = gp.gd_ensemble(k.ntk, ks.ntk, kss.ntk, k.nngp, ks.nngp, kss.nngp, y, t, lr)
    assert _rel(ours.mean, ref.mean) < RTOL
    assert _rel(ours.cov, ref.covariance) < RTOL
    # the loss normalisation matters: without the factor k the answer is different
    wrong = nt.predict.gradient_descent_mse_ensemble(kernels["kernel_fn"], kernels["x"], y,
                                                     learning_rate=lr)
    if not math.isinf(t):
        assert _rel(ours.mean, wrong(t, kernels["xt"], "ntk")) > 1e-3


def test_gd_ensemble_limits(kernels):
    k, ks, kss, y = kernels["train"], kernels["test_train"], kernels["test"], kernels["y"]
    start = gp.gd_ensemble(k.ntk, ks.ntk, kss.ntk, k.nngp, ks.nngp, kss.nngp, y, 0.0)
    np.testing.assert_allclose(start.mean, 0.0, atol=1e-14)  # the prior: mean 0, covariance NNGP
    np.testing.assert_allclose(start.cov, kss.nngp, rtol=1e-12)
    end = gp.gd_ensemble(k.ntk, ks.ntk, kss.ntk, k.nngp, ks.nngp, kss.nngp, y, math.inf)
    np.testing.assert_allclose(end.mean, gp.kernel_regression(k.ntk, ks.ntk, y), rtol=1e-7, atol=1e-9)
    late = gp.gd_ensemble(k.ntk, ks.ntk, kss.ntk, k.nngp, ks.nngp, kss.nngp, y, 1e9)
    np.testing.assert_allclose(late.cov, end.cov, rtol=1e-6, atol=1e-9)
    # the ensemble is not the Bayesian posterior: its variance at infinite time is larger
    bayes = gp.posterior(k.nngp, ks.nngp, kss.nngp, y)
    assert np.trace(end.cov) > np.trace(bayes.cov) * 1.01
    # on the training set the trained ensemble interpolates with zero variance
    on_train = gp.gd_ensemble(k.ntk, k.ntk, k.ntk, k.nngp, k.nngp, k.nngp, y, math.inf)
    np.testing.assert_allclose(on_train.mean, y, atol=1e-6)
    assert np.max(np.abs(on_train.cov)) < 1e-6


def test_gd_ensemble_singular_ntk_finite_time():
    # a rank-1 NTK: the orthogonal mode is never learned, and finite times need no inverse
    v = np.array([[1.0], [2.0]])
    theta = v @ v.T
    y = np.array([[1.0], [0.0]])
    p = gp.gd_ensemble(theta, theta, None, np.eye(2), np.eye(2), None, y, t=3.0, lr=0.1)
    tau = 0.1 * 3.0 / 2
    lam = 5.0
    expected = theta @ (v @ v.T / lam**2) * (1 - np.exp(-tau * lam)) @ y
    np.testing.assert_allclose(p.mean, expected, rtol=1e-12)


def test_cholesky_jitter_rule():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((30, 3))
    k = a @ a.T  # rank 3: singular in exact arithmetic
    chol, used = gp.cholesky(k, jitter=0.0)
    assert used > 0.0  # plain Cholesky failed, a jitter was needed and is reported
    scale = np.mean(np.diag(k))
    np.testing.assert_allclose(chol @ chol.T, k + used * scale * np.eye(30), atol=1e-8 * scale)
    _, none = gp.cholesky(k + np.eye(30), jitter=0.0)
    assert none == 0.0
    p = gp.posterior(k, k[:5], k[:5, :5], rng.standard_normal((30, 1)))
    assert np.all(np.isfinite(p.mean)) and np.all(np.isfinite(p.cov))
    with pytest.raises(ValueError, match="k_train"):
        gp.posterior(-np.eye(4), np.ones((2, 4)), None, np.ones((4, 1)))


def _chapter3_regression():
    """Chapter 3's 1-D regression and its ReLU NNGP blocks (depth 1, no bias)."""
    from widenets import data, kernels as k_mod
    reg = data.regression_1d(n_train=10, n_test=100, seed=0)
    return reg, np.asarray(k_mod.nngp(reg.x_train)), np.asarray(k_mod.nngp(reg.x_test, reg.x_train))


def test_jitter_changes_the_mean_linearly_and_far_below_the_condition_bound():
    # chapter 3: the relative change of the posterior mean is c * j, the same c at every j tried
    # (first order), with c ~ 84 far below the condition number ~ 8e3 that bounds it
    reg, k_tr, k_te = _chapter3_regression()
    e = gp.jitter_effect(k_tr, k_te, reg.y_train, [1e-8, 1e-7, 1e-6])
    coef = e.change / e.jitters
    assert np.ptp(coef) < 0.01 * coef.mean()  # linear in j
    assert 50 < coef.mean() < 150
    assert 5e3 < e.condition < 2e4 and coef.max() < 0.1 * e.condition
    # on the training inputs the coefficient obeys the bound s / lambda_min <= cond
    tr = gp.jitter_effect(k_tr, k_tr, reg.y_train, [1e-7])
    assert tr.change[0] / 1e-7 <= np.mean(np.diag(k_tr)) / np.linalg.eigvalsh(k_tr)[0] * 1.01
    # a mean computed with the jitter equals the first-order prediction -j s K* A^-2 y
    s = np.mean(np.diag(k_tr))
    m0 = k_te @ np.linalg.solve(k_tr, reg.y_train)
    first = -1e-7 * s * k_te @ np.linalg.solve(k_tr, np.linalg.solve(k_tr, reg.y_train))
    assert np.linalg.norm(first) / np.linalg.norm(m0) == pytest.approx(e.change[1], rel=1e-2)
    with pytest.raises(ValueError, match="jitters"):
        gp.jitter_effect(k_tr, k_te, reg.y_train, [0.0])
    with pytest.raises(ValueError, match="without jitter"):
        gp.jitter_effect(np.ones((10, 10)), k_te, reg.y_train, [1e-6])


def test_evidence_is_flat_in_the_noise_on_chapter3_regression():
    # chapter 3: highest at 0.1 but only 0.2 nats above 0.01; a few nats lower at 1e-4 and at 1
    reg, k_tr, _ = _chapter3_regression()
    noises = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    lml = np.array([gp.log_marginal_likelihood(k_tr, reg.y_train, s) for s in noises])
    assert noises[int(np.argmax(lml))] == 1e-1
    best, second = np.sort(lml)[::-1][:2]
    assert 0 < best - second < 0.5
    assert lml.max() - lml[0] > 2 and lml.max() - lml[-1] > 2


def test_subtracting_f0_after_training_leaves_a_random_offset(kernels):
    # chapter 3 / exercise: f_t - f_0 = Z_t (Y - f_0(X)) at infinite width; its covariance over
    # initializations is Z_t K Z_t^T, i.e. gd_ensemble with the test NNGP blocks set to 0: not 0
    k, ks, y = kernels["train"], kernels["test_train"], kernels["y"]
    m = ks.nngp.shape[0]
    sub = gp.gd_ensemble(k.ntk, ks.ntk, None, k.nngp, np.zeros_like(ks.nngp), np.zeros((m, m)), y, np.inf)
    assert np.trace(sub.cov) > 0.05 * np.trace(np.asarray(kernels["test"].nngp))
    z = np.asarray(ks.ntk) @ np.linalg.inv(np.asarray(k.ntk))
    np.testing.assert_allclose(sub.cov, z @ np.asarray(k.nngp) @ z.T, rtol=1e-6, atol=1e-8)


def test_bad_input(kernels):
    k, y = kernels["train"].nngp, kernels["y"]
    ks = kernels["test_train"].nngp
    with pytest.raises(ValueError, match="k_train"):
        gp.posterior(k[:, :5], ks, None, y)
    with pytest.raises(ValueError, match="k_train"):
        gp.posterior(k + np.triu(np.ones_like(k), 1), ks, None, y)
    with pytest.raises(ValueError, match="k_test_train"):
        gp.posterior(k, ks[:, :5], None, y)
    with pytest.raises(ValueError, match="k_test"):
        gp.posterior(k, ks, np.eye(3), y)
    with pytest.raises(ValueError, match="y_train"):
        gp.posterior(k, ks, None, y[:5])
    with pytest.raises(ValueError, match="y_train"):
        gp.posterior(k, ks, None, y[:, 0])
    bad = y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="y_train"):
        gp.kernel_regression(k, ks, bad)
    with pytest.raises(ValueError, match="noise"):
        gp.log_marginal_likelihood(k, y, noise=-1.0)
    with pytest.raises(ValueError, match="ridge|noise"):
        gp.kernel_regression(k, ks, y, ridge=-0.1)
    with pytest.raises(ValueError, match="jitter"):
        gp.cholesky(k, jitter=-1e-3)
    n = kernels["train"].ntk
    with pytest.raises(ValueError, match="t must"):
        gp.gd_ensemble(n, ks, None, k, ks, None, y, t=-1.0)
    with pytest.raises(ValueError, match="lr"):
        gp.gd_ensemble(n, ks, None, k, ks, None, y, t=1.0, lr=0.0)
    with pytest.raises(ValueError, match="nngp_train"):
        gp.gd_ensemble(n, ks, None, k[:5, :5], ks, None, y, t=1.0)
    with pytest.raises(ValueError, match="nngp_test_train"):
        gp.gd_ensemble(n, ks, None, k, ks[:3], None, y, t=1.0)
