"""widenets.kernels: closed forms against neural-tangents, quadrature against closed forms and
Monte Carlo, the gradient-flow prediction against training, bad input."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from widenets import kernels, mlp, reference, train


def _rel(a, b):
    return float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))


@pytest.mark.parametrize("activation", ["relu", "erf", "identity"])
def test_kernels_match_neural_tangents_to_1e10(activation):
    """Random depths, variances and inputs (including x2 = None), float64."""
    rng = np.random.default_rng({"relu": 0, "erf": 1, "identity": 2}[activation])
    for trial in range(3):
        depth = int(rng.integers(1, 5))
        d = int(rng.integers(1, 7))
        sw, sb = float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.0, 1.0)) * (trial > 0)
        x1 = rng.standard_normal((6, d)) * rng.uniform(0.3, 2.0)
        x2 = None if trial % 2 else rng.standard_normal((4, d))
        ref_nngp, ref_ntk = kernels.neural_tangents_kernels(x1, x2, depth, activation, sw, sb)
        k_nngp = kernels.nngp(x1, x2, depth, activation, sw, sb)
        k_ntk = kernels.ntk(x1, x2, depth, activation, sw, sb)
        assert k_nngp.dtype == jnp.float64 and k_nngp.shape == ref_nngp.shape
        assert _rel(k_nngp, ref_nngp) < 1e-10, (activation, depth, sw, sb)
        if x2 is None:
            # On the diagonal widenets uses cos = 1 exactly (x = x'); neural-tangents computes
            # k / sqrt(q q), which on JAX 0.12 can round to 1 - eps, and arccos turns that into
            # an error of sqrt(2 eps) ~ 2e-8 in Sigma-dot (seen at depth 4: 3.5e-10 relative).
            # Off the diagonal the two agree to 1e-10; on it, to that rounding.
            off = ~np.eye(len(x1), dtype=bool)
            assert _rel(k_ntk[off], ref_ntk[off]) < 1e-10, (activation, depth, sw, sb)
            assert _rel(k_ntk, ref_ntk) < 1e-8, (activation, depth, sw, sb)
        else:
            assert _rel(k_ntk, ref_ntk) < 1e-10, (activation, depth, sw, sb)


def test_default_sigma_w_is_the_mlp_default():
    x = np.random.default_rng(3).standard_normal((4, 3))
    np.testing.assert_allclose(kernels.ntk(x), kernels.ntk(x, sigma_w=np.sqrt(2.0)), rtol=1e-14)
    np.testing.assert_allclose(kernels.ntk(x, activation="erf"), kernels.ntk(x, activation="erf", sigma_w=1.0))
    net = mlp.mlp(3, 4, activation="erf")
    assert net.sigma_w == 1.0 and mlp.mlp(3, 4).sigma_w == np.sqrt(2.0)


def test_layerwise_recursion_and_first_layer():
    x = np.random.default_rng(4).standard_normal((5, 3))
    lk = kernels.layerwise(x, depth=2, activation="erf", sigma_w=1.2, sigma_b=0.3)
    assert lk.sigma.shape == (3, 5, 5) and lk.sigma_dot.shape == (2, 5, 5) and lk.theta.shape == (3, 5, 5)
    np.testing.assert_allclose(lk.sigma[0], 1.44 * x @ x.T / 3 + 0.09, rtol=1e-14)
    for l in range(2):
        np.testing.assert_allclose(lk.theta[l + 1], lk.sigma[l + 1] + lk.theta[l] * lk.sigma_dot[l], rtol=1e-14)
    # identity network: the NNGP is a rescaled linear kernel, the NTK a sum of them
    lin = kernels.layerwise(x, depth=2, activation="identity", sigma_w=1.0)
    g = x @ x.T / 3
    np.testing.assert_allclose(lin.sigma[-1], g, rtol=1e-13)
    np.testing.assert_allclose(lin.theta[-1], 3 * g, rtol=1e-13)


def test_relu_kernel_on_the_diagonal_is_exact():
    """x2 = None sets cos = 1 on the diagonal: Sigma-dot = 1/2 * sigma_w^2 exactly."""
    x = np.random.default_rng(5).standard_normal((7, 10))
    lk = kernels.layerwise(x, depth=3)
    np.testing.assert_allclose(np.diag(lk.sigma_dot[0]), 1.0, rtol=4e-16, atol=0)


def test_quadrature_reproduces_closed_forms():
    """The quadrature code applied to erf: 5e-8 relative to Williams' formula (96 nodes, q <= 4)."""
    rng = np.random.default_rng(6)
    q1, q2 = rng.uniform(0.2, 4.0, (2, 8, 8))
    k = np.sqrt(q1 * q2) * rng.uniform(-0.99, 0.99, (8, 8))
    erf = jax.scipy.special.erf
    derf = lambda z: 2 / jnp.sqrt(jnp.pi) * jnp.exp(-z * z)  # noqa: E731
    quad = kernels._quadrature_expectations(erf, derf, kernels.QUADRATURE_NODES)(jnp.asarray(k), jnp.asarray(q1), jnp.asarray(q2))
    exact = kernels._erf_expectations(jnp.asarray(k), jnp.asarray(q1), jnp.asarray(q2))
    for a, b in zip(quad, exact):
        assert _rel(a, b) < 5e-8  # measured 2e-9 (E[phi phi]) and 2e-8 (E[phi' phi'])


def test_tanh_expectations_match_monte_carlo():
    """E[tanh(u) tanh(v)] and E[tanh' tanh'] by quadrature vs 1e6 Gaussian samples (5 s.e.)."""
    key = jax.random.PRNGKey(0)
    quad = kernels._quadrature_expectations(kernels._tanh, kernels._dtanh, kernels.QUADRATURE_NODES)
    for i, (q1, q2, c) in enumerate([(1.0, 1.0, 0.5), (2.5, 0.7, -0.8), (0.4, 3.0, 0.99)]):
        k = c * np.sqrt(q1 * q2)
        cov = jnp.array([[q1, k], [k, q2]])
        z = jax.random.multivariate_normal(jax.random.fold_in(key, i), jnp.zeros(2), cov, (1_000_000,))
        for j, g in enumerate((kernels._tanh, kernels._dtanh)):
            s = g(z[:, 0]) * g(z[:, 1])
            mc, se = float(s.mean()), float(s.std() / np.sqrt(s.size))
            val = float(quad(jnp.array([[k]]), jnp.array([[q1]]), jnp.array([[q2]]))[j][0, 0])
            assert abs(val - mc) < 5 * se, (q1, q2, c, j, val, mc, se)


def test_tanh_nngp_matches_wide_random_networks():
    """Depth 2: the last hidden layer's empirical kernel sigma_w^2 phi(h).phi(h')/n + sigma_b^2
    of random nets of width n = 1000 fluctuates around Sigma^3 with a bias O(1/n). Over 24
    nets each entry of the mean must lie within 4 standard errors (estimated from the nets)
    plus 2/n of the closed form; a wrong kernel (e.g. sigma_b ignored) is off by > 0.04."""
    x = jnp.asarray(np.random.default_rng(7).standard_normal((4, 3)))
    n, seeds = 1000, 24
    net = mlp.mlp(3, n, depth=2, activation="tanh", sigma_w=1.5, sigma_b=0.2)

    def emp(key):
        h = net.forward(net.init(key), x).acts[-1]
        return 1.5**2 * h @ h.T / n + 0.2**2

    samples = jax.vmap(emp)(jax.random.split(jax.random.PRNGKey(1), seeds))
    mean, se = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(seeds)
    exact = kernels.nngp(x, depth=2, activation="tanh", sigma_w=1.5, sigma_b=0.2)
    assert bool(jnp.all(jnp.abs(mean - exact) < 4 * se + 2.0 / n))
    assert float(jnp.max(se)) < 0.01
    wrong = kernels.nngp(x, depth=2, activation="tanh", sigma_w=1.5, sigma_b=0.0)
    assert not bool(jnp.all(jnp.abs(mean - wrong) < 4 * se + 2.0 / n))


def test_tanh_is_close_to_erf_with_matching_slope():
    """Sanity: tanh(z) ~ erf(sqrt(pi) z / 2) for small inputs, so tiny-variance kernels agree."""
    x = 0.05 * np.random.default_rng(8).standard_normal((4, 2))
    a = kernels.nngp(x, activation="tanh")
    b = kernels.nngp(x * np.sqrt(np.pi) / 2, activation="erf")
    assert _rel(a, b) < 1e-2


def test_gradient_flow_prediction_matches_neural_tangents_and_expm():
    rng = np.random.default_rng(9)
    xtr, xte = rng.standard_normal((8, 3)), rng.standard_normal((5, 3))
    K, Ks = kernels.ntk(xtr), kernels.ntk(xte, xtr)
    y, f0, g0 = rng.standard_normal((8, 1)), 0.1 * rng.standard_normal((8, 1)), 0.1 * rng.standard_normal((5, 1))
    steps = np.array([0.0, 3.0, 40.0, 1e6])
    pred = kernels.gradient_flow_prediction(K, y, f0, steps, 0.5, Ks, g0)
    assert pred.train.shape == (4, 8, 1) and pred.test.shape == (4, 5, 1)
    nt = reference.neural_tangents()
    fn = nt.predict.gradient_descent_mse(K, y, learning_rate=0.5)
    ref_tr, ref_te = fn(steps, f0, g0, Ks)
    np.testing.assert_allclose(pred.train, ref_tr, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(pred.test, ref_te, rtol=1e-8, atol=1e-10)
    # against the matrix exponential directly, and the t -> infinity limit (interpolation)
    E = scipy.linalg.expm(-0.5 * np.asarray(K) * 40.0 / 8)
    np.testing.assert_allclose(pred.train[2], f0 + (np.eye(8) - E) @ (y - f0), rtol=1e-10)
    np.testing.assert_allclose(pred.train[3], y, atol=1e-8)
    np.testing.assert_allclose(pred.test[3], g0 + Ks @ np.linalg.solve(K, y - f0), rtol=1e-7)


def test_discrete_prediction_is_exact_for_a_linear_model():
    """GD on a linear model f = Phi w with kernel Phi Phi^T: the discrete formula is exact."""
    rng = np.random.default_rng(10)
    phi_tr, phi_te = rng.standard_normal((6, 20)), rng.standard_normal((3, 20))
    y = rng.standard_normal((6, 2))
    w0 = 0.3 * rng.standard_normal((20, 2))
    loss = train.mse_loss(lambda w, p: p @ w, jnp.asarray(phi_tr), jnp.asarray(y))
    w_t, _ = train.gradient_descent(loss, jnp.asarray(w0), 25, 0.05)
    pred = kernels.gradient_flow_prediction(
        phi_tr @ phi_tr.T, y, phi_tr @ w0, 25, 0.05, phi_te @ phi_tr.T, phi_te @ w0, discrete=True
    )
    np.testing.assert_allclose(pred.train, phi_tr @ w_t, rtol=1e-10)
    np.testing.assert_allclose(pred.test, phi_te @ w_t, rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(x1=np.ones((3, 2)), x2=np.ones((3, 4))), "x2"),
        (dict(x1=np.ones(3)), "x1"),
        (dict(x1=np.array([[1.0, np.nan]])), "x1"),
        (dict(x1=np.ones((3, 2)), x2=np.array([[np.inf, 0.0]])), "x2"),
        (dict(x1=np.ones((3, 2)), depth=0), "depth"),
        (dict(x1=np.ones((3, 2)), activation="gelu"), "activation"),
        (dict(x1=np.ones((3, 2)), sigma_w=-1.0), "sigma_w"),
        (dict(x1=np.ones((3, 2)), sigma_b=-0.1), "sigma_b"),
    ],
)
@pytest.mark.parametrize("fn", [kernels.nngp, kernels.ntk, kernels.layerwise])
def test_bad_input_raises_naming_the_argument(fn, kwargs, name):
    with pytest.raises(ValueError, match=name):
        fn(**kwargs)


def test_gradient_flow_prediction_bad_input():
    K, y = np.eye(3), np.ones((3, 1))
    with pytest.raises(ValueError, match="ntk_train"):
        kernels.gradient_flow_prediction(np.ones((3, 2)), y, y, 1, 0.1)
    with pytest.raises(ValueError, match="y_train"):
        kernels.gradient_flow_prediction(K, np.ones((2, 1)), y, 1, 0.1)
    with pytest.raises(ValueError, match="lr"):
        kernels.gradient_flow_prediction(K, y, y, 1, -0.1)
    with pytest.raises(ValueError, match="steps"):
        kernels.gradient_flow_prediction(K, y, y, -1, 0.1)
    with pytest.raises(ValueError, match="f0_test"):
        kernels.gradient_flow_prediction(K, y, y, 1, 0.1, ntk_test_train=np.ones((2, 3)))
    with pytest.raises(ValueError, match="activation"):
        kernels.neural_tangents_kernels(np.ones((2, 2)), activation="tanh")


@pytest.mark.parametrize("n1, n2", [(5, None), (300, None), (300, 7), (129, 130)])
def test_blocked_last_layer_equals_the_full_recursion(n1, n2):
    """nngp/ntk/nngp_and_ntk compute the last layer in blocks of rows (the last block overlaps
    the one before); they equal layerwise's last layer on sizes around the block size."""
    rng = np.random.default_rng(n1)
    x1 = rng.standard_normal((n1, 4))
    x2 = None if n2 is None else rng.standard_normal((n2, 4))
    for activation in ("relu", "erf", "tanh"):
        lk = kernels.layerwise(x1, x2, 3, activation, 1.3, 0.2)
        both = kernels.nngp_and_ntk(x1, x2, 3, activation, 1.3, 0.2)
        np.testing.assert_allclose(both[0], lk.sigma[-1], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(both[1], lk.theta[-1], rtol=1e-13, atol=1e-15)
        # separately compiled programs: equal up to the order XLA evaluates them in
        np.testing.assert_allclose(kernels.nngp(x1, x2, 3, activation, 1.3, 0.2), both[0], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(kernels.ntk(x1, x2, 3, activation, 1.3, 0.2), both[1], rtol=1e-13, atol=1e-14)


def test_last_layer_needs_less_memory_than_neural_tangents():
    """XLA's buffers for the depth-5 ReLU NNGP+NTK on 600 points (compiled, not run): the blocked
    recursion keeps the two outputs and a few blocks, stax several N x N arrays per layer."""
    x = jnp.asarray(np.random.default_rng(0).standard_normal((600, 8)))

    def peak(compiled):
        m = compiled.memory_analysis()
        return m.temp_size_in_bytes + m.output_size_in_bytes

    ours = peak(kernels._last_layer.lower(x, x, 5, "relu", 1.4, 0.1, True, "both").compile())
    theirs = peak(kernels._stax_kernel_fn(5, "relu", 1.4, 0.1).lower(x, None).compile())
    assert ours < 0.7 * theirs, (ours / 2**20, theirs / 2**20)  # measured: 17.8 and 33.0 MiB


def test_kernels_of_one_input_set_are_symmetric_and_kernel_gd_accepts_them():
    """tanh's quadrature is not symmetric in (x, x') at its 1e-9 accuracy; the kernels are
    symmetrized, so they pass the PSD check of the functions that take kernels."""
    from widenets import limits

    x = np.random.default_rng(5).standard_normal((12, 3))
    for activation in ("tanh", "relu", "erf"):
        k = np.asarray(kernels.ntk(x, None, 2, activation, 1.0, 0.0))
        np.testing.assert_allclose(k, k.T, rtol=1e-12, atol=0)
        lk = kernels.layerwise(x, None, 2, activation, 1.0, 0.0)
        np.testing.assert_allclose(lk.theta[-1], k, rtol=1e-12, atol=1e-14)
        limits.kernel_gd(k, np.ones((12, 1)), 3, 0.5)
