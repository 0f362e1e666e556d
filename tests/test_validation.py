"""Issue 19, "no silent garbage": the public functions of ``widenets`` reject bad input with a
``ValueError`` that names the argument, and give finite results of the documented shape on
good input. Property tests (Hypothesis; profiles in conftest.py: HYPOTHESIS_PROFILE=large for a
thorough run) and, at the end, the issue's table of calls that used to return garbage.
"""
from __future__ import annotations

import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import Phase, given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import widenets  # noqa: E402
from widenets import (  # noqa: E402
    _checks, activations, costs, data, ensembles, features, glue, gp, kernels, linearization, mlp,
    mutransfer, scaling, tangent, train, transfer,
)

# property tests expected to fail for now: no shrinking (it would re-run the failing example many times)
NO_SHRINK = settings(phases=(Phase.explicit, Phase.generate))
KEY = jax.random.PRNGKey(0)


def raises(name: str):
    """pytest.raises(ValueError) whose message names ``name`` (as a whole word)."""
    return pytest.raises(ValueError, match=rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")


# ------------------------------------------------------------------------------ strategies
ELEMENTS = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, width=64)
NS = st.integers(1, 4)   # few distinct shapes: JAX compiles once per shape
DS = st.integers(1, 3)
FEW = st.sampled_from([1, 3])  # for functions that compile a program per shape


def arrays(shape, elements=ELEMENTS):
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def matrices(draw, n=NS, d=DS):
    n = draw(n) if isinstance(n, st.SearchStrategy) else n
    d = draw(d) if isinstance(d, st.SearchStrategy) else d
    return draw(arrays((n, d)))


@st.composite
def corrupted(draw, good, kinds=("nan", "inf", "1d", "3d", "empty")):
    """A bad version of the 2-D array ``good``: a nan or inf entry, the wrong number of
    dimensions, or no rows."""
    kind = draw(st.sampled_from(kinds))
    a = np.array(good, dtype=np.float64, copy=True)
    if kind in ("nan", "inf"):
        i = draw(st.integers(0, a.size - 1))
        a.flat[i] = np.nan if kind == "nan" else draw(st.sampled_from([np.inf, -np.inf]))
    elif kind == "1d":
        a = a[:, 0]
    elif kind == "3d":
        a = a[None]
    else:
        a = a[:0]
    return a


BAD_POSITIVE = st.one_of(st.floats(max_value=0.0), st.sampled_from([math.nan, math.inf, "1", None]))
BAD_NONNEGATIVE = st.one_of(st.floats(max_value=-1e-12), st.sampled_from([math.nan, math.inf, "0", None]))
BAD_POSITIVE_INT = st.one_of(st.integers(-5, 0), st.floats(0.1, 9.9).filter(lambda v: not v.is_integer()),
                             st.sampled_from([True, "3", None, 2.5]))
BAD_NAMES = st.text(min_size=0, max_size=6)


@st.composite
def psd_kernels(draw, n=NS):
    """A positive definite (N, N) kernel F F^T / m + 0.1 I."""
    n = draw(n) if isinstance(n, st.SearchStrategy) else n
    f = draw(arrays((n, 3)))
    return f @ f.T / 3 + 0.1 * np.eye(n)


def indefinite(k):
    """``k`` shifted so that its smallest eigenvalue is -1 - 10% of its largest."""
    lam = np.linalg.eigvalsh(k)
    return k - (lam[0] + 1.0 + 0.1 * abs(lam[-1])) * np.eye(k.shape[0])


def finite(*arrays_) -> bool:
    return all(np.all(np.isfinite(np.asarray(a))) for a in arrays_)


# ------------------------------------------------------------------------------ _checks
@given(BAD_POSITIVE)
def test_checks_positive_says_greater_than_zero(v):
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0"):
        _checks.positive(v, "lr")


@given(BAD_NONNEGATIVE)
def test_checks_nonnegative_says_at_least_zero(v):
    with pytest.raises(ValueError, match=r"sigma_b must be a finite number >= 0"):
        _checks.nonnegative(v, "sigma_b")


@given(psd_kernels())
def test_checks_psd_accepts_kernels_and_rejects_indefinite(k):
    np.testing.assert_array_equal(_checks.psd_matrix(k, "K"), k)
    with pytest.raises(ValueError, match="K must be positive semi-definite"):
        _checks.psd_matrix(indefinite(k), "K")


def test_checks_psd_tolerates_rounding():
    f = np.random.default_rng(0).standard_normal((30, 3))
    k = f @ f.T  # rank 3: 27 eigenvalues at rounding level, some of them negative
    _checks.psd_matrix(k, "K")
    _checks.psd_matrix(k.astype(np.float32), "K")
    _checks.psd_matrix(np.zeros((3, 3)), "K")


def test_checks_params_match_and_prng_key():
    a = mlp.mlp(2, 4).init(KEY)
    b = mlp.mlp(2, 5).init(KEY)
    _checks.params_match(a, a)
    with raises("params"):
        _checks.params_match(b, a)
    _checks.prng_key(KEY)
    _checks.prng_key(jax.random.key(0))
    with raises("key"):
        _checks.prng_key(0)
    with raises("key"):
        _checks.prng_key(jax.random.split(KEY, 3))


# ------------------------------------------------------------------------------ mlp
@given(st.sampled_from(["in_dim", "width", "out_dim", "depth"]), BAD_POSITIVE_INT)
def test_mlp_rejects_bad_sizes(field, v):
    kw = dict(in_dim=2, width=4, out_dim=1, depth=1)
    kw[field] = v
    with raises(field):
        mlp.mlp(**kw)


@given(st.sampled_from(["in_dim", "width", "out_dim", "depth"]), BAD_POSITIVE_INT)
def test_mlp_class_constructed_directly_rejects_bad_sizes(field, v):
    kw = dict(in_dim=2, width=4, out_dim=1, depth=1, activation="relu",
              param=mlp.parametrization("ntk", 1), sigma_w=1.0, sigma_b=0.0)
    kw[field] = v
    with raises(field):
        mlp.MLP(**kw)


@given(BAD_POSITIVE.filter(lambda v: v is not None), BAD_NONNEGATIVE,
       st.sampled_from([0.0, math.nan, math.inf, "x"]))
def test_mlp_rejects_bad_scales(sigma_w, sigma_b, output_scale):
    with raises("sigma_w"):
        mlp.mlp(2, 4, sigma_w=sigma_w)
    with raises("sigma_b"):
        mlp.mlp(2, 4, sigma_b=sigma_b)
    with raises("output_scale"):
        mlp.mlp(2, 4, output_scale=output_scale)


@given(BAD_NAMES)
def test_mlp_rejects_unknown_names(name):
    if name not in mlp.PARAMETRIZATIONS:
        with raises("parametrization"):
            mlp.mlp(2, 4, parametrization=name)
    if name not in activations.ACTIVATIONS:
        with raises("activation"):
            mlp.mlp(2, 4, activation=name)
        with raises("activation"):
            activations.get(name)
    if name not in mlp.OPTIMIZERS:
        with raises("optimizer"):
            mlp.parametrization("mup", 1, name)


@given(st.sampled_from(["a", "b", "c"]), st.sampled_from([math.nan, math.inf, "x"]))
def test_abc_rejects_bad_exponents(which, v):
    abc = {"a": [0.0, 0.5], "b": [0.0, 0.0], "c": [0.0, 0.0]}
    abc[which] = [v, 0.5]
    with raises(which):
        mlp.abc(**abc)
    with raises("a, b, c"):
        mlp.abc([0.0], [0.0], [0.0])


@given(FEW, DS, st.integers(1, 2), st.integers(1, 2), st.sampled_from(mlp.PARAMETRIZATIONS[:3]), st.data())
def test_mlp_apply_good_input_gives_n_by_k(n, d, k, depth, name, draw):
    net = mlp.mlp(d, 4, k, depth, parametrization=name)
    x = draw.draw(matrices(n, d))
    out = net.apply(net.init(KEY), x)
    assert out.shape == (n, k) and finite(out)
    assert net.readout_contributions(net.init(KEY), x).shape == (n, 4, k)


@given(NS, DS, st.data())
def test_mlp_apply_rejects_bad_x(n, d, draw):
    net = mlp.mlp(d, 4, 1)
    params = net.init(KEY)
    x = draw.draw(matrices(n, d))
    with raises("x"):
        net.apply(params, draw.draw(corrupted(x)))
    with raises("x"):
        net.apply(params, np.ones((n, d + 1)))


@given(st.integers(1, 3).filter(lambda w: w != 2), st.integers(1, 2))
def test_mlp_apply_rejects_params_of_another_network(width, depth):
    net = mlp.mlp(2, 2, 1, depth)
    other = mlp.mlp(2, width, 1, depth).init(KEY)
    with raises("params[0]['w']"):
        net.apply(other, np.ones((3, 2)))
    with raises("params"):
        net.apply(net.init(KEY)[:-1], np.ones((3, 2)))


def test_mlp_init_rejects_a_non_key():
    with raises("key"):
        mlp.mlp(2, 4).init(0)


# ------------------------------------------------------------------------------ train
def _linear_problem(n, d, k):
    net = mlp.mlp(d, 3, k)
    return net, net.init(KEY)


@given(NS, DS, st.integers(1, 2), st.data())
def test_mse_loss_rejects_bad_data(n, d, k, draw):
    net, _ = _linear_problem(n, d, k)
    x, y = draw.draw(matrices(n, d)), draw.draw(matrices(n, k))
    with raises("x"):
        train.mse_loss(net.apply, draw.draw(corrupted(x)), y)
    with raises("y"):
        train.mse_loss(net.apply, x, draw.draw(corrupted(y)))
    with raises("y"):
        train.mse_loss(net.apply, x, np.ones((n + 1, k)))


@given(NS, DS, st.integers(1, 2), st.data())
def test_mse_loss_rejects_targets_of_another_output_width(n, d, k, draw):
    net, params = _linear_problem(n, d, k)
    loss = train.mse_loss(net.apply, draw.draw(matrices(n, d)), np.ones((n, k + 1)))
    with raises("y"):
        loss(params)


@given(st.one_of(st.integers(-5, -1), st.sampled_from([1.5, "3", None, True])), BAD_POSITIVE)
def test_gradient_descent_and_adam_reject_bad_steps_and_lr(steps, lr):
    loss = lambda p: jnp.sum(p ** 2)  # noqa: E731
    for fit in (train.gradient_descent, train.adam):
        with raises("steps"):
            fit(loss, jnp.ones(2), steps, 0.1)
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            fit(loss, jnp.ones(2), 1, lr)


@given(st.sampled_from(["b1", "b2"]), st.one_of(st.floats(1.0, 5.0), st.floats(-5.0, -1e-9),
                                              st.sampled_from([math.nan, "x"])))
def test_adam_rejects_betas_outside_zero_one(name, v):
    with pytest.raises(ValueError, match=rf"{name} must be a number in \[0, 1\)"):
        train.adam(lambda p: jnp.sum(p ** 2), jnp.ones(2), 1, 0.1, **{name: v})


@given(st.integers(0, 4), st.floats(0.01, 0.3))
def test_gradient_descent_good_input_gives_finite_trajectory(steps, lr):
    x = np.linspace(-1, 1, 6).reshape(3, 2)
    net = mlp.mlp(2, 3, 1)
    loss = train.mse_loss(net.apply, x, np.ones((3, 1)))
    for fit in (train.gradient_descent, train.adam):
        final, hist = fit(loss, net.init(KEY), steps, lr, net.lr_scales())
        assert hist["loss"].shape == (steps + 1,) and finite(hist["loss"])


# ------------------------------------------------------------------------------ kernels
@given(FEW, FEW, st.sampled_from([1, 2]), st.integers(1, 2), st.sampled_from(["relu", "erf", "identity"]),
       st.data())
def test_kernels_good_input_gives_finite_n1_by_n2(n1, n2, d, depth, act, draw):
    x1, x2 = draw.draw(matrices(n1, d)), draw.draw(matrices(n2, d))
    x1[:, 0], x2[:, 0] = 0.5 + abs(x1[:, 0]), 0.5 + abs(x2[:, 0])  # no zero rows (see the table)
    for fn in (kernels.nngp, kernels.ntk):
        k = fn(x1, x2, depth=depth, activation=act, sigma_b=0.1)
        assert k.shape == (n1, n2) and finite(k)
    lk = kernels.layerwise(x1, None, depth=depth, activation=act)
    assert lk.theta.shape == (depth + 1, n1, n1) and finite(lk.sigma, lk.sigma_dot, lk.theta)


@given(NS, DS, st.data())
def test_kernels_reject_bad_inputs(n, d, draw):
    x = draw.draw(matrices(n, d))
    bad = draw.draw(corrupted(x, kinds=("nan", "inf", "1d", "3d")))
    for fn in (kernels.nngp, kernels.ntk, kernels.layerwise):
        with raises("x1"):
            fn(bad)
        with raises("x2"):
            fn(x, np.ones((2, d + 1)))
        with raises("depth"):
            fn(x, depth=0)
        with raises("sigma_w"):
            fn(x, sigma_w=0.0)
        with raises("activation"):
            fn(x, activation="swish")


@given(NS, DS, st.data())
def test_kernels_reject_inputs_without_rows(n, d, draw):
    x = draw.draw(matrices(n, d))
    for fn in (kernels.nngp, kernels.ntk):
        with raises("x1"):
            fn(x[:0])


@given(FEW, st.data())
def test_gradient_flow_prediction_good_input(n, draw):
    k = draw.draw(psd_kernels(n))
    y, f0 = draw.draw(matrices(n, 2)), draw.draw(matrices(n, 2))
    pred = kernels.gradient_flow_prediction(k, y, f0, np.arange(3), 0.5, k[:2], f0[:2])
    assert pred.train.shape == (3, n, 2) and pred.test.shape == (3, min(n, 2), 2)
    assert finite(pred.train, pred.test)


@given(NS, st.data())
def test_gradient_flow_prediction_rejects_bad_shapes_and_rates(n, draw):
    k = draw.draw(psd_kernels(n))
    y = draw.draw(matrices(n, 1))
    with raises("ntk_train"):
        kernels.gradient_flow_prediction(draw.draw(corrupted(k, ("nan", "inf", "3d"))), y, y, 1, 0.5)
    with raises("lr"):
        kernels.gradient_flow_prediction(k, y, y, 1, draw.draw(BAD_POSITIVE))
    with raises("steps"):
        kernels.gradient_flow_prediction(k, y, y, -1.0, 0.5)


@given(FEW, st.data())
def test_gradient_flow_prediction_rejects_indefinite_ntk(n, draw):
    k = draw.draw(psd_kernels(n))
    y = draw.draw(matrices(n, 1))
    with raises("ntk_train"):
        kernels.gradient_flow_prediction(indefinite(k), y, y, 1, 0.5)


# ------------------------------------------------------------------------------ tangent
@given(FEW, FEW, st.sampled_from([1, 2]), st.integers(1, 2), st.data())
def test_empirical_ntk_and_tangent_features_good_input(n1, n2, d, k, draw):
    net = mlp.mlp(d, 3, k)
    p = net.init(KEY)
    x1, x2 = draw.draw(matrices(n1, d)), draw.draw(matrices(n2, d))
    e = tangent.empirical_ntk(net.apply, p, x1, x2)
    assert e.shape == (n1, n2) and finite(e)
    assert tangent.empirical_ntk(net.apply, p, x1, x2, average_outputs=False).shape == (n1, n2, k, k)
    j = tangent.tangent_features(net.apply, p, x1)
    assert j.shape == (n1, k, tangent.num_params(p)) and finite(j)
    f_lin = tangent.linearize(net.apply, p)
    assert f_lin(p, x1).shape == (n1, k)


@given(NS, DS, st.data())
def test_empirical_ntk_rejects_bad_inputs(n, d, draw):
    net = mlp.mlp(d, 3, 1)
    p = net.init(KEY)
    x = draw.draw(matrices(n, d))
    with raises("x1"):
        tangent.empirical_ntk(net.apply, p, draw.draw(corrupted(x, ("nan", "inf", "1d", "3d"))))
    with raises("x2"):
        tangent.empirical_ntk(net.apply, p, x, np.ones((2, d + 1)))
    with raises("x"):
        tangent.tangent_features(net.apply, p, draw.draw(corrupted(x, ("nan", "inf", "1d", "3d"))))


@given(FEW, DS)
def test_empirical_ntk_rejects_the_wrong_feature_dimension(n, d):
    net = mlp.mlp(d, 3, 1)
    with raises("x1"):
        tangent.empirical_ntk(net.apply, net.init(KEY), np.ones((n, d + 1)))


@given(st.sampled_from([1, 4]))
def test_linearize_rejects_params_of_another_width(width):
    net = mlp.mlp(2, 3, 1)
    f_lin = tangent.linearize(net.apply, net.init(KEY))
    with raises("params"):
        f_lin(mlp.mlp(2, width, 1).init(KEY), np.ones((2, 2)))


# ------------------------------------------------------------------------------ gp
@given(NS, NS, st.integers(1, 2), st.floats(0.0, 1.0), st.data())
def test_gp_good_input_gives_finite_shapes(n, m, k, noise, draw):
    f = draw.draw(matrices(n + m, 3))
    kern = f @ f.T / 3 + 0.1 * np.eye(n + m)
    kxx, ktx, ktt = kern[:n, :n], kern[n:, :n], kern[n:, n:]
    y = draw.draw(matrices(n, k))
    post = gp.posterior(kxx, ktx, ktt, y, noise=noise)
    assert post.mean.shape == (m, k) and post.cov.shape == (m, m) and finite(post.mean, post.cov)
    assert gp.kernel_regression(kxx, ktx, y, ridge=noise).shape == (m, k)
    assert math.isfinite(gp.log_marginal_likelihood(kxx, y, noise))
    chol, j = gp.cholesky(kxx, noise)
    assert chol.shape == (n, n) and finite(chol)
    for t in (0.0, 3.0, math.inf):
        ens = gp.gd_ensemble(kxx, ktx, ktt, kxx, ktx, ktt, y, t, lr=0.5)
        assert ens.mean.shape == (m, k) and ens.cov.shape == (m, m) and finite(ens.mean, ens.cov)


@given(NS, st.data())
def test_gp_rejects_bad_kernels_targets_and_scalars(n, draw):
    kxx = draw.draw(psd_kernels(n + 1))
    ktx = kxx[:2]
    y = np.ones((n + 1, 1))
    bad_k = draw.draw(st.sampled_from(["indefinite", "asymmetric", "nan", "shape"]))
    if bad_k == "indefinite":
        kb = indefinite(kxx)
    elif bad_k == "asymmetric":
        kb = kxx + np.triu(np.ones_like(kxx), 1)
    elif bad_k == "nan":
        kb = kxx.copy()
        kb[0, 0] = np.nan
    else:
        kb = kxx[:, :-1]
    with raises("k_train"):
        gp.posterior(kb, ktx, None, y)
    with raises("k_train"):
        gp.log_marginal_likelihood(kb, y)
    with raises("ntk_train"):
        gp.gd_ensemble(kb, ktx, None, kxx, ktx, None, y, 1.0)
    with raises("nngp_train"):
        gp.gd_ensemble(kxx, ktx, None, kb, ktx, None, y, 1.0)
    with raises("k_test"):
        gp.posterior(kxx, ktx, indefinite(kxx[:2, :2]), y)
    with raises("y_train"):
        gp.posterior(kxx, ktx, None, np.ones((n + 2, 1)))
    with raises("k_test_train"):
        gp.posterior(kxx, np.ones((2, n + 2)), None, y)
    with raises("noise"):
        gp.posterior(kxx, ktx, None, y, noise=draw.draw(BAD_NONNEGATIVE))
    with raises("lr"):
        gp.gd_ensemble(kxx, ktx, None, kxx, ktx, None, y, 1.0, lr=draw.draw(BAD_POSITIVE))
    with raises("t"):
        gp.gd_ensemble(kxx, ktx, None, kxx, ktx, None, y, draw.draw(st.sampled_from([-1.0, math.nan, "x"])))


# ------------------------------------------------------------------------------ ensembles
@given(st.integers(4, 9), st.integers(1, 3), st.data())
def test_ensemble_statistics_good_input(s, m, draw):
    samples = draw.draw(arrays((s, m), st.floats(-2, 2, allow_nan=False)))
    samples[0] += 5.0  # not constant
    samples[1] -= 5.0
    kurt = ensembles.excess_kurtosis(samples)
    assert kurt.shape == (m,) and finite(kurt)
    out = samples[:, :, None]
    assert ensembles.second_moment(out).shape == (m, m)
    mean, cov = ensembles.mean_and_cov(out)
    assert mean.shape == (m, 1) and cov.shape == (m, m) and finite(mean, cov)
    k = draw.draw(psd_kernels(m))
    floor = ensembles.gaussian_floor(k, 8, repeats=3)
    assert floor.shape == (3,) and finite(floor)
    assert math.isfinite(ensembles.relative_error(k + 0.1, k))


@given(st.integers(4, 9), st.integers(1, 3), st.floats(-3, 3, allow_nan=False))
def test_excess_kurtosis_of_constant_samples_raises(s, m, c):
    with raises("samples"):
        ensembles.excess_kurtosis(np.full((s, m), c))


@given(NS, st.data())
def test_ensembles_reject_bad_kernels_and_outputs(n, draw):
    k = draw.draw(psd_kernels(n))
    with raises("kernel"):
        ensembles.gaussian_floor(indefinite(k), 8)
    with raises("kernel"):
        ensembles.gaussian_floor(k[:, :0] if n > 1 else np.ones((1, 2)), 8)
    with raises("n_nets"):
        ensembles.gaussian_floor(k, draw.draw(BAD_POSITIVE_INT))
    with raises("outputs"):
        ensembles.second_moment(draw.draw(corrupted(np.ones((3, n)), ("nan", "inf", "1d"))))
    with raises("reference"):
        ensembles.relative_error(k, np.zeros_like(k))


@given(NS, DS, st.data())
def test_prior_and_trained_outputs_check_the_net(n, d, draw):
    net = mlp.mlp(d, 4, 1)
    x = draw.draw(matrices(n, d))
    with raises("x"):
        ensembles.prior_outputs(net, np.ones((n, d + 1)), KEY, 2)
    with raises("x"):
        ensembles.prior_outputs(net, draw.draw(corrupted(x)), KEY, 2)
    with raises("y_train"):
        ensembles.trained_outputs(net, x, np.ones((n, 2)), x, KEY, 2, 1, 0.1)
    with raises("x_test"):
        ensembles.trained_outputs(net, x, np.ones((n, 1)), np.ones((2, d + 1)), KEY, 2, 1, 0.1)
    with raises("lr"):
        ensembles.trained_outputs(net, x, np.ones((n, 1)), x, KEY, 2, 1, draw.draw(BAD_POSITIVE))


# ------------------------------------------------------------------------------ features
@given(st.integers(2, 5), st.integers(1, 4), st.data())
def test_features_good_input(n, m, draw):
    a = draw.draw(matrices(n, m))
    a[0, 0] += 3.0  # not a constant kernel
    k = features.feature_kernel(a)
    assert k.shape == (n, n) and finite(k)
    y = np.arange(n, dtype=float)
    assert math.isfinite(features.label_alignment(k + np.diag(np.arange(n)), y))
    k2 = k + np.diag(np.arange(1.0, n + 1))
    assert -1.0 - 1e-9 <= features.centered_kernel_alignment(k2, k2 + np.eye(n)) <= 1.0 + 1e-9
    assert math.isfinite(features.relative_change(a, a + 1.0))


@given(st.integers(2, 5), st.data())
def test_features_reject_bad_input(n, draw):
    k = np.eye(n) + np.diag(np.arange(n))
    with raises("acts"):
        features.feature_kernel(draw.draw(corrupted(np.ones((n, 2)))))
    with raises("k1"):
        features.centered_kernel_alignment(k + np.triu(np.ones((n, n)), 1), k)
    with raises("k2"):
        features.centered_kernel_alignment(k, np.ones((n, n + 1)))
    with raises("y"):
        features.label_alignment(k, np.ones(n))  # constant labels
    with raises("y"):
        features.label_alignment(k, np.arange(n + 1.0))
    with raises("a0"):
        features.relative_change(np.zeros((n, 2)), np.ones((n, 2)))


# ------------------------------------------------------------------------------ linearization
@given(st.integers(2, 3), st.integers(1, 2), st.data())
def test_train_pair_checks_data_against_the_net(n, k, draw):
    net = mlp.mlp(2, 4, k)
    x, y = draw.draw(matrices(n, 2)), draw.draw(matrices(n, k))
    with raises("y"):
        linearization.train_pair(net, x, np.ones((n, k + 1)), x, 1, 0.1, KEY)
    with raises("x"):
        linearization.train_pair(net, np.ones((n, 3)), y, np.ones((n, 3)), 1, 0.1, KEY)
    with raises("x_eval"):
        linearization.train_pair(net, x, y, np.ones((n, 3)), 1, 0.1, KEY)
    with raises("y"):
        linearization.train_pair(net, x, draw.draw(corrupted(y)), x, 1, 0.1, KEY)
    with raises("lr"):
        linearization.train_pair(net, x, y, x, 1, draw.draw(BAD_POSITIVE), KEY)
    with raises("key"):
        linearization.train_pair(net, x, y, x, 1, 0.1, 0)


def test_train_pair_good_input_shapes():
    net = mlp.mlp(2, 4, 2)
    x = np.linspace(-1, 1, 6).reshape(3, 2)
    run = linearization.train_pair(net, x, np.ones((3, 2)), x[:2], 3, 0.1, KEY, seeds=2)
    assert run.f_net.shape == run.f_lin.shape == (2, 4, 2, 2)
    assert run.loss_net.shape == (2, 4) and finite(run.f_net, run.f_lin, run.loss_net, run.max_gap)


# ------------------------------------------------------------------------------ small modules
@given(st.integers(2, 6), st.data())
def test_fit_power_law_good_and_bad(m, draw):
    x = np.geomspace(1, 100, m)
    y = draw.draw(arrays((m,), st.floats(0.1, 10.0)))
    fit = scaling.fit_power_law(x, y)
    assert finite(fit.slope, fit.intercept, fit.stderr)
    with raises("y"):
        scaling.fit_power_law(x, np.ones(m + 1))
    with raises("x"):
        scaling.fit_power_law(draw.draw(corrupted(x[:, None], ("nan", "inf"))).ravel(), y)
    with pytest.raises(ValueError, match="positive"):
        scaling.fit_power_law(x, -y)


@given(st.integers(1, 5), st.integers(1, 5))
def test_data_constructors_good_and_bad(n_train, k):
    r = data.regression_1d(n_train, 7)
    assert r.x_train.shape == (n_train, 2) and r.y_test.shape == (7, 1) and finite(r.x_train, r.y_train)
    labels = np.arange(n_train) % k
    y = data.onehot(labels, k)
    assert y.shape == (n_train, k)
    with raises("labels"):
        data.onehot(labels + k, k)
    with raises("k"):
        data.onehot(labels, 0)
    with raises("n_train"):
        data.regression_1d(0)
    with raises("noise"):
        data.regression_1d(noise=-1.0)
    assert 0.0 <= data.accuracy(y, labels) <= 1.0
    with raises("outputs"):
        data.accuracy(y[:, 0], labels)


@given(BAD_POSITIVE_INT)
def test_costs_and_mutransfer_accounting_reject_bad_ints(v):
    with raises("n"):
        costs.random_inputs(v, 2)
    with raises("width"):
        mutransfer.flops_per_step(64, v, 10, 1, 100)
    with raises("n_lrs"):
        mutransfer.tuning_cost(64, 128, v, 1, 1, 10)


def test_mutransfer_reports_divergence_in_its_return_value():
    losses = np.array([[1.0, 0.5], [1.0, np.nan], [1.0, 2.0]])
    np.testing.assert_array_equal(mutransfer.diverged(losses), [False, True, True])
    assert mutransfer.tuning_cost(64, 128, 4, 2, 10, 100)["saving"] > 1
    with raises("proxy_width"):
        mutransfer.tuning_cost(256, 128, 4, 2, 10, 100)


@given(FEW, FEW, st.integers(1, 2), st.data())
def test_kernel_probe_good_and_bad(n, m, k, draw):
    kxx = draw.draw(psd_kernels(n))
    ktx = draw.draw(matrices(m, n))
    y = draw.draw(matrices(n, k))
    pred, lam = transfer.kernel_probe(kxx, ktx, y)
    assert pred.shape == (m, k) and finite(pred, lam)
    with raises("k_train"):
        transfer.kernel_probe(draw.draw(corrupted(kxx, ("nan", "inf", "1d", "3d"))), ktx, y)
    with raises("y_train"):
        transfer.kernel_probe(kxx, ktx, np.ones((n + 1, k)))


@given(BAD_NAMES)
def test_glue_and_effective_scales_reject_bad_names(name):
    if not name.isidentifier():
        with raises("name"):
            glue.glue_bundle(name, 1.0)
    if name not in mlp.PARAMETRIZATIONS:
        with raises("parametrization"):
            transfer.effective_scales(name, 8, 2)


# ------------------------------------------------------------------------------ issue 19's table
def test_table_train_pair_and_mse_loss_with_two_target_columns_for_one_output():
    net = mlp.mlp(2, 8, 1)
    x = np.linspace(-1, 1, 8).reshape(4, 2)
    y2 = np.ones((4, 2))
    with raises("y"):
        linearization.train_pair(net, x, y2, x, 2, 0.1, KEY)
    with raises("y"):
        train.mse_loss(net.apply, x, y2)(net.init(KEY))


def test_table_ntk_of_a_zero_input_row_is_zero_not_nan():
    x = np.array([[0.0, 0.0], [1.0, 0.5], [0.3, -1.0]])
    for fn in (kernels.ntk, kernels.nngp):
        k = np.asarray(fn(x, sigma_b=0.0))
        assert finite(k)
        np.testing.assert_allclose(k[0], 0.0, atol=1e-12)
        np.testing.assert_allclose(k[:, 0], 0.0, atol=1e-12)


def test_table_ntk_of_huge_inputs_is_finite_or_an_error():
    x = np.array([[1.0, 0.5], [0.3, -1.0]]) * 1e200
    try:
        k = np.asarray(kernels.ntk(x))
    except ValueError as e:
        assert "x1" in str(e)
    else:
        assert finite(k)


def test_table_gradient_flow_prediction_of_a_negative_kernel_raises():
    k = np.asarray(kernels.ntk(np.array([[1.0, 0.5], [0.3, -1.0]])))
    y = np.ones((2, 1))
    with raises("ntk_train"):
        kernels.gradient_flow_prediction(-k, y, np.zeros_like(y), 10, 0.5)


def test_table_gd_ensemble_with_an_indefinite_ntk_raises():
    x = np.array([[1.0, 0.5], [0.3, -1.0], [-0.7, 0.2]])
    th, kk = np.asarray(kernels.ntk(x)), np.asarray(kernels.nngp(x))
    with raises("ntk_train"):
        gp.gd_ensemble(-th, th[:1], None, kk, kk[:1], None, np.ones((3, 1)), 5.0)


def test_table_gaussian_floor_of_a_negative_kernel_raises():
    k = np.asarray(kernels.nngp(np.array([[1.0, 0.5], [0.3, -1.0]])))
    with raises("kernel"):
        ensembles.gaussian_floor(-k, 10)


def test_table_mlp_apply_with_1d_x_raises():
    net = mlp.mlp(2, 8, 1)
    with raises("x"):
        net.apply(net.init(KEY), np.ones(2))


def test_table_wrong_feature_dimension_raises_value_error():
    net = mlp.mlp(2, 8, 1)
    p = net.init(KEY)
    x3 = np.ones((4, 3))
    with raises("x"):
        net.apply(p, x3)
    with raises("x"):
        linearization.train_pair(net, x3, np.ones((4, 1)), x3, 2, 0.1, KEY)


def test_table_empirical_ntk_with_the_wrong_feature_dimension_raises_value_error():
    net = mlp.mlp(2, 8, 1)
    with raises("x1"):
        tangent.empirical_ntk(net.apply, net.init(KEY), np.ones((4, 3)))


def test_table_linearize_with_params_of_another_width_raises():
    net = mlp.mlp(2, 8, 1)
    f_lin = tangent.linearize(net.apply, net.init(KEY))
    with raises("params"):
        f_lin(mlp.mlp(2, 16, 1).init(KEY), np.ones((4, 2)))


def test_table_mlp_constructed_directly_with_width_zero_raises():
    with raises("width"):
        mlp.MLP(2, 0, 1, 1, "relu", mlp.parametrization("ntk"), 1.0, 0.0)


def test_table_excess_kurtosis_of_constant_samples_raises():
    with raises("samples"):
        ensembles.excess_kurtosis(np.ones((10, 3)))


def test_table_gradient_descent_that_diverges_warns():
    net = mlp.mlp(2, 8, 1)
    x = np.linspace(-1, 1, 8).reshape(4, 2)
    loss = train.mse_loss(net.apply, x, np.ones((4, 1)))
    with pytest.warns(widenets.DivergenceWarning, match="gradient_descent"):
        _, hist = train.gradient_descent(loss, net.init(KEY), 30, 1e6)
    assert not finite(hist["loss"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stable run says nothing
        train.gradient_descent(loss, net.init(KEY), 3, 0.1)


def test_table_messages_say_exactly_what_is_allowed():
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got 0"):
        train.gradient_descent(lambda p: p ** 2, 1.0, 1, 0.0)
    with pytest.raises(ValueError, match=r"sigma_w must be a finite number > 0, got -1"):
        mlp.mlp(2, 4, sigma_w=-1.0)
    with pytest.raises(ValueError, match=r"sigma_b must be a finite number >= 0, got -1"):
        mlp.mlp(2, 4, sigma_b=-1.0)
    with pytest.raises(ValueError, match=r"steps must be an integer >= 0"):
        train.gradient_descent(lambda p: p ** 2, 1.0, -1, 0.1)


def test_sweeps_that_explore_divergence_do_not_warn():
    from widenets import widgets

    with warnings.catch_warnings():
        warnings.simplefilter("error", widenets.DivergenceWarning)
        c = widgets.linearization_curves(32, 60.0, steps=20)
    assert c.max_gap == math.inf or not finite(c.loss_net)


# ------------------------------------------------------------------------------ coordcheck, frozen, data
@given(st.one_of(st.floats(0.5000001, 5.0), st.floats(-5.0, -1e-9), st.sampled_from([math.nan, "x"])))
def test_regime_family_says_the_interval(r):
    from widenets import coordcheck

    with pytest.raises(ValueError, match=r"r must be a number in \[0, 0.5\]"):
        coordcheck.regime_family(r)


def test_coord_check_reports_divergence_in_its_return_value():
    from widenets import coordcheck

    x = np.linspace(-1, 1, 8).reshape(4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sweep that explores divergence must not warn
        res = coordcheck.coord_check("sp", x, np.ones((4, 1)), widths=(8, 16), steps=3, lr=1e8, seeds=1)
    assert res.diverged.shape == (2, 1) and res.diverged.all()
    ok = coordcheck.coord_check("mup", x, np.ones((4, 1)), widths=(8, 16), steps=1, lr=0.1, seeds=1)
    assert not ok.diverged.any()
    with raises("widths"):
        coordcheck.coord_check("sp", x, np.ones((4, 1)), widths=(8,))
    with raises("key"):
        coordcheck.coord_check("sp", x, np.ones((4, 1)), widths=(8, 16), key=3)


def test_tasks_are_checked_and_accuracy_of_nan_outputs_raises():
    from widenets import frozen

    task = data.subsample(data.digits(classes=(0, 1)), 8)
    with raises("task"):
        frozen.width_sweep("digits")
    with raises("task.y_train"):
        frozen.width_sweep(task._replace(y_train=task.y_train[:-1]))
    with raises("task.x_test"):
        frozen.width_sweep(task._replace(x_test=task.x_test[:, :3]))
    with raises("outputs"):
        data.accuracy(np.full((3, 2), np.nan), np.zeros(3, int))
    with raises("test_fraction"):
        data.digits(test_fraction=1.0)


@given(st.integers(1, 4), st.integers(1, 3))
def test_mean_and_spread_good_and_bad(m, s):
    v = np.arange(m * s, dtype=float).reshape(m, s)
    mean, sd = scaling.mean_and_spread(v, axis=1)
    assert mean.shape == sd.shape == (m,) and finite(mean, sd)
    with raises("values"):
        scaling.mean_and_spread(np.ones((m, 0)), axis=1)
    with raises("values"):
        scaling.mean_and_spread(v, axis=2)


# ------------------------------------------------------------------------------ limits (owned elsewhere)


@given(st.integers(1, 3), st.integers(1, 2), NS, st.data())
def test_linear_mup_limit_good_input(d, k, n, draw):
    from widenets import limits

    x, y = draw.draw(matrices(n, d)), draw.draw(matrices(n, k))
    state = limits.linear_mup_init(d, k)
    assert limits.linear_mup_apply(state, x).shape == (n, k)
    assert limits.linear_mup_feature_kernel(state, x).shape == (n, n)
    final, hist = limits.linear_mup_train(x, y, 3, 0.1, x_eval=x)
    assert hist["loss"].shape == (4,) and hist["outputs"].shape == (4, n, k) and finite(hist["loss"])
    kern = limits.linear_ntk(x)
    out = limits.kernel_gd(kern, y, 3, 0.1)
    assert out["loss"].shape == (4,) and out["train"].shape == (4, n, k) and finite(out["loss"])
    z, w = limits.gauss_hermite(draw.draw(st.integers(1, 6)))
    assert z.shape == w.shape and finite(z, w)


@given(st.integers(1, 3), NS, st.data())
def test_linear_mup_limit_rejects_bad_input(d, n, draw):
    from widenets import limits

    x, y = draw.draw(matrices(n, d)), draw.draw(matrices(n, 1))
    state = limits.linear_mup_init(d, 1)
    with raises("in_dim"):
        limits.linear_mup_init(draw.draw(BAD_POSITIVE_INT))
    with raises("sigma_w"):
        limits.linear_mup_init(d, 1, sigma_w=draw.draw(BAD_POSITIVE.filter(lambda v: v is not None)))
    with raises("x"):
        limits.linear_mup_apply(state, draw.draw(corrupted(x, ("nan", "inf", "1d", "3d"))))
    with raises("x"):
        limits.linear_mup_apply(state, np.ones((n, d + 1)))
    with raises("lr"):
        limits.linear_mup_train(x, y, 2, draw.draw(BAD_POSITIVE))
    with raises("y"):
        limits.linear_mup_train(x, np.ones((n + 1, 1)), 2, 0.1)
    with raises("order"):
        limits.gauss_hermite(draw.draw(BAD_POSITIVE_INT))
    with raises("lr"):
        limits.kernel_gd(limits.linear_ntk(x), y, 2, draw.draw(BAD_POSITIVE))


@given(st.integers(1, 3), NS, st.data())
def test_limits_reject_feature_mismatch_and_indefinite_kernels(d, n, draw):
    from widenets import limits

    x, y = draw.draw(matrices(n, d)), draw.draw(matrices(n, 1))
    state = limits.linear_mup_init(d, 1)
    with raises("x1"):
        limits.linear_mup_feature_kernel(state, np.ones((n, d + 1)))
    with raises("x2"):
        limits.linear_ntk(x, np.ones((n, d + 1)))
    with raises("k_train"):
        limits.kernel_gd(indefinite(limits.linear_ntk(x) + np.eye(n)), y, 2, 0.1)
    with raises("f0_train"):
        limits.kernel_gd(limits.linear_ntk(x), y, 2, 0.1, f0_train=np.ones((n + 1, 1)))


def test_lr_sweeps_reject_bad_arguments_before_training():
    grids = {"sp": (-2.0, -1.0), "mup": (-2.0, -1.0)}
    with raises("parametrization"):
        mutransfer.lr_sweeps(("ntk",), "sgd", (8, 16), grids, KEY)
    with raises("optimizer"):
        mutransfer.lr_sweeps(("sp",), "rmsprop", (8, 16), grids, KEY)
    with raises("grids"):
        mutransfer.lr_sweeps(("sp", "mup"), "sgd", (8, 16), {"sp": (-1.0,), "mup": (np.nan,)}, KEY)
    with raises("n_seeds"):
        mutransfer.lr_sweeps(("sp",), "sgd", (8, 16), grids, KEY, n_seeds=0)
    with raises("key"):
        mutransfer.lr_sweeps(("sp",), "sgd", (8, 16), grids, 0)


# ------------------------------------------------------------------------------ every other public entry point
def _bad_calls():
    """(id, call, argument the message must name): one bad argument each, rejected before any
    training or kernel is computed."""
    from widenets import coordcheck, frozen, widgets

    x = np.linspace(-1, 1, 8).reshape(4, 2)
    y = np.ones((4, 1))
    task = data.subsample(data.digits(classes=(0, 1)), 8)
    pair = data.multi_index_pair(d=4, n_a=8, n_b=4, n_test=4)
    k = np.asarray(kernels.nngp(x))
    return [
        ("digits classes", lambda: data.digits(classes=(1, 1)), "classes"),
        ("few_shot shots", lambda: data.few_shot(task, 0), "shots"),
        ("few_shot too many", lambda: data.few_shot(task, 100), "shots"),
        ("subsample n_train", lambda: data.subsample(task, 10_000), "n_train"),
        ("multi_index_pair k", lambda: data.multi_index_pair(d=4, k=5), "k"),
        ("noisy_transfer_pair noise_dims", lambda: data.noisy_transfer_pair(noise_dims=0), "noise_dims"),
        ("costs.measure kernel_fn", lambda: costs.measure("ntk", [8, 16]), "kernel_fn"),
        ("costs.measure sizes", lambda: costs.measure(kernels.ntk, [8]), "sizes"),
        ("costs.fit_exponent", lambda: costs.fit_exponent([1, 2, 3], [1.0, 2.0]), "sizes"),
        ("nested_prior_outputs widths", lambda: ensembles.nested_prior_outputs(x, [], 4, KEY), "widths"),
        ("nested_prior_outputs key", lambda: ensembles.nested_prior_outputs(x, [4], 4, 0), "key"),
        ("covariance_error kernel", lambda: ensembles.covariance_error_vs_width(x, -k, [4], 4, KEY), "kernel"),
        ("mean_and_cov one net", lambda: ensembles.mean_and_cov(np.ones((1, 3, 1))), "outputs"),
        ("linearization_sweep widths", lambda: linearization.linearization_sweep(x, y, x, (8,), 2, 0.1, KEY), "widths"),
        ("linearization_sweep key", lambda: linearization.linearization_sweep(x, y, x, (8, 16), 2, 0.1, 0), "key"),
        ("ntk_convergence x", lambda: linearization.ntk_convergence(x[:, 0], (8, 16), KEY), "x"),
        ("ntk_change lr", lambda: linearization.ntk_change(x, y, (8, 16), 2, 0.0, KEY), "lr"),
        ("flow_comparison x_test", lambda: linearization.flow_comparison(x, y, np.ones((3, 3)), 8, 2, 0.1, KEY), "x_test"),
        ("nested_params width", lambda: linearization.nested_params(mlp.mlp(2, 4).init(KEY), 8), "width"),
        ("width_sweep widths", lambda: frozen.width_sweep(task, widths=()), "widths"),
        ("lazy_sweep alphas", lambda: frozen.lazy_sweep(task, alphas=(1.0, -1.0)), "alphas"),
        ("coord_check lr", lambda: coordcheck.coord_check("sp", x, y, widths=(8, 16), lr=0.0), "lr"),
        ("coord_check x", lambda: coordcheck.coord_check("sp", x[:, 0], y, widths=(8, 16)), "x"),
        ("coord_slopes quantity", lambda: coordcheck.coord_slopes(None, "speed"), "quantity"),
        ("relative_feature_change r", lambda: coordcheck.relative_feature_change(0.9, x, y, (8, 16)), "r"),
        ("regime_map rs", lambda: coordcheck.regime_map([0.1, 0.7], x, y), "rs"),
        ("transfer_sweep widths", lambda: transfer.transfer_sweep([0], [0]), "widths"),
        ("gp_conditioning n_cond", lambda: transfer.gp_conditioning(pair, n_cond=0), "n_cond"),
        ("gp_conditioning noise", lambda: transfer.gp_conditioning(pair, noise=0.0), "noise"),
        ("digits_first_layer parametrization", lambda: transfer.digits_first_layer("xx"), "parametrization"),
        ("top_directions w", lambda: transfer.top_directions(np.ones((63, 4))), "w"),
        ("weight_alignment projection", lambda: transfer.weight_alignment(np.ones((4, 3)), np.ones((2, 5))), "projection"),
        ("weight_alignment zero w", lambda: transfer.weight_alignment(np.zeros((4, 3)), np.ones((2, 4))), "w"),
        ("relative_mse constant y", lambda: transfer.relative_mse(np.ones((3, 1)), np.ones((3, 1))), "y"),
        ("relative_mse shapes", lambda: transfer.relative_mse(np.ones((3, 2)), np.arange(3.0)[:, None]), "pred"),
        ("ridge_probe feats_test", lambda: transfer.ridge_probe(np.ones((3, 4)), np.ones((3, 1)), np.ones((2, 5))), "feats_test"),
        ("ridge_probe ridges", lambda: transfer.kernel_probe(k, k, y, ridges=(0.0,)), "ridges"),
        ("kernel_probe indefinite", lambda: transfer.kernel_probe(-k - np.eye(4), k, y), "k_train"),
        ("linear_mup_finite_errors widths", lambda: transfer.linear_mup_finite_errors((), []), "widths"),
        ("full_size_grids margin", lambda: mutransfer.full_size_grids(margin=-1.0), "margin"),
        ("widgets width", lambda: widgets.linearization_curves(0, 0.5), "width"),
        ("widgets lr", lambda: widgets.linearization_curves(32, -0.5), "lr"),
        ("widgets combos", lambda: widgets.linearization_static_figure(combos=()), "combos"),
        ("glue name", lambda: glue.glue_bundle("not ok", 1), "name"),
        ("parametrization mf depth", lambda: mlp.parametrization("mf", 2), "depth"),
        ("init_many keys", lambda: mlp.mlp(2, 4).init_many([]), "keys"),
        ("cholesky k", lambda: gp.cholesky(-np.eye(3)), "k"),
        ("label_alignment y rows", lambda: features.label_alignment(np.eye(3), np.arange(4.0)), "y"),
    ]


_BAD_CALLS = _bad_calls()


@pytest.mark.parametrize("label, call, name", _BAD_CALLS, ids=[c[0] for c in _BAD_CALLS])
def test_every_public_entry_point_rejects_a_bad_argument(label, call, name):
    with raises(name):
        call()


def test_training_sweeps_that_diverge_warn():
    x = np.linspace(-1, 1, 8).reshape(4, 2)
    y = np.ones((4, 1))
    with pytest.warns(widenets.DivergenceWarning, match="train_pair"):
        run = linearization.train_pair(mlp.mlp(2, 8, 1), x, y, x, 30, 1e5, KEY)
    assert not finite(run.loss_net)
    with pytest.warns(widenets.DivergenceWarning, match="ntk_change"):
        linearization.ntk_change(x, y, (4, 8), 30, 1e5, KEY, seeds=1)
    with pytest.warns(widenets.DivergenceWarning, match="trained_outputs"):
        ensembles.trained_outputs(mlp.mlp(2, 8, 1), x, y, x, KEY, 2, 30, 1e5)


@given(st.lists(st.integers(1, 50), min_size=2, max_size=5))
def test_positive_ints_and_numbers(values):
    assert _checks.positive_ints(values, "widths") == values
    if any(b <= a for a, b in zip(values, values[1:])):
        with pytest.raises(ValueError, match="widths must be strictly increasing"):
            _checks.positive_ints(values, "widths", increasing=True)
    with raises("widths"):
        _checks.positive_ints(values + [0], "widths")
    with raises("widths"):
        _checks.positive_ints("64", "widths")
    assert _checks.positive_numbers([float(v) for v in values], "alphas") == values
    with raises("alphas"):
        _checks.positive_numbers([], "alphas")


def test_transfer_sweep_that_diverges_warns():
    """A transfer sweep's pretraining that blows up says so (its numbers would all be nan)."""
    import warnings

    with pytest.warns(widenets.DivergenceWarning, match="transfer sweep"):
        transfer.transfer_sweep((8,), (0,), ("ntk",), n_a=16, n_b=8, n_test=8, steps_a=5, steps_b=2,
                                lr=1e8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", widenets.DivergenceWarning)
        transfer.transfer_sweep((8,), (0,), ("ntk",), n_a=16, n_b=8, n_test=8, steps_a=5, steps_b=2)
