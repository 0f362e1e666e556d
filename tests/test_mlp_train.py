import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widenets import mlp, train


def _x(n=5, d=3, seed=0):
    return jax.random.normal(jax.random.PRNGKey(seed), (n, d))


@pytest.mark.parametrize("name", ["sp", "ntk", "mup"])
def test_shapes_and_forward(name):
    net = mlp.mlp(3, 16, out_dim=2, depth=2, parametrization=name)
    params = net.init(jax.random.PRNGKey(0))
    assert [p["w"].shape for p in params] == [(3, 16), (16, 16), (16, 2)]
    fw = net.forward(params, _x())
    assert fw.output.shape == (5, 2) and len(fw.preacts) == 2 and fw.acts[0].shape == (5, 16)
    terms = net.readout_contributions(params, _x())
    np.testing.assert_allclose(terms.sum(axis=1) + net.multipliers()[-1][1] * params[-1]["b"], fw.output, atol=1e-12)


def test_effective_weight_variances_match_the_table():
    n, d = 512, 4
    for name in ("sp", "ntk", "mup"):
        net = mlp.mlp(d, n, depth=2, parametrization=name, activation="tanh")
        params = net.init(jax.random.PRNGKey(1))
        mults = net.multipliers()
        var = [float(jnp.var(g * p["w"])) for (g, _), p in zip(mults, params)]
        expected_out = 1.0 / n**2 if name == "mup" else 1.0 / n
        np.testing.assert_allclose(var, [1.0 / d, 1.0 / n, expected_out], rtol=0.1)


def test_mup_output_vanishes_at_init_like_inverse_sqrt_width():
    x = _x(64, 3)
    scale = []
    widths = [64, 256, 1024, 4096]
    for n in widths:
        net = mlp.mlp(3, n, parametrization="mup", activation="tanh")
        outs = [net.apply(net.init(jax.random.PRNGKey(s)), x) for s in range(4)]
        scale.append(float(jnp.sqrt(jnp.mean(jnp.stack(outs) ** 2))))
    slope = np.polyfit(np.log(widths), np.log(scale), 1)[0]
    assert abs(slope + 0.5) < 0.1


def test_abc_symmetry_mup_equals_mean_field():
    """a -> a + t, b -> b - t, c -> c - 2t leaves the SGD trajectory unchanged (t = 1/2)."""
    x, y = _x(8, 3), jnp.sin(_x(8, 1, seed=5))
    n = 64
    traj = []
    for name in ("mup", "mf"):
        net = mlp.mlp(3, n, parametrization=name, activation="tanh", sigma_b=0.5)
        params = net.init(jax.random.PRNGKey(0))
        if name == "mf":  # same raw normals: w_mf = n^{1/2} w_mup, except the output bias
            ref = mlp.mlp(3, n, parametrization="mup").init(jax.random.PRNGKey(0))
            params = [
                {"w": ref[0]["w"] * n**0.5, "b": ref[0]["b"] * n**0.5},
                {"w": ref[1]["w"] * n**0.5, "b": ref[1]["b"]},
            ]
        loss = train.mse_loss(net.apply, x, y)
        _, hist = train.gradient_descent(loss, params, 20, 0.5, net.lr_scales(),
                                         record=lambda p, net=net: net.apply(p, x))
        traj.append(hist["record"])
    np.testing.assert_allclose(traj[0], traj[1], rtol=1e-9, atol=1e-12)


def test_lr_scales_follow_c_exponents():
    net = mlp.mlp(3, 100, depth=2, parametrization="mup", optimizer="adam")
    s = net.lr_scales()
    np.testing.assert_allclose([l["w"] for l in s], [100**-0.5, 100**-1.0, 100**-0.5])
    assert mlp.mlp(3, 100, parametrization="mf").lr_scales()[0]["w"] == pytest.approx(100.0)


def test_gradient_descent_solves_least_squares():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))

    def apply(p, a):
        return a @ p["w"]

    loss = train.mse_loss(apply, A, b)
    final, hist = train.gradient_descent(loss, {"w": jnp.zeros((3, 1))}, 500, 0.5)
    np.testing.assert_allclose(final["w"], np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-8)
    assert hist["loss"].shape == (501,) and bool(jnp.all(jnp.diff(hist["loss"]) <= 1e-15))


def test_adam_first_step_has_size_lr():
    p = {"w": jnp.array([3.0, -2.0])}
    final, hist = train.adam(lambda q: jnp.sum(q["w"] ** 2), p, 1, 0.01,
                             record=lambda q: q["w"])
    np.testing.assert_allclose(final["w"], [2.99, -1.99], atol=1e-6)
    assert hist["record"].shape == (2, 2)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: mlp.mlp(3, 0), "width"),
        (lambda: mlp.mlp(3, 8, depth=0), "depth"),
        (lambda: mlp.mlp(3, 8, activation="gelu"), "activation"),
        (lambda: mlp.mlp(3, 8, parametrization="xyz"), "parametrization"),
        (lambda: mlp.mlp(3, 8, sigma_w=-1.0), "sigma_w"),
        (lambda: mlp.mlp(3, 8, sigma_b=-0.1), "sigma_b"),
        (lambda: mlp.mlp(3, 8, depth=2, parametrization="mf"), "mf"),
        (lambda: mlp.mlp(3, 8, parametrization=mlp.abc((0, 0, 0), (0, 0, 0), (0, 0, 0))), "depth"),
        (lambda: mlp.abc((0, 0), (0,), (0, 0)), "same length"),
        (lambda: train.mse_loss(lambda p, x: x, jnp.ones((3, 2)), jnp.ones((4, 1))), "same number of rows"),
        (lambda: train.mse_loss(lambda p, x: x, jnp.array([[jnp.nan]]), jnp.ones((1, 1))), "x"),
        (lambda: train.gradient_descent(lambda p: p, 1.0, -1, 0.1), "steps"),
        (lambda: train.gradient_descent(lambda p: p, 1.0, 1, 0.0), "lr"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_forward_with_another_members_multipliers_is_that_member():
    """forward(..., multipliers=m) runs the network with m: with a member's multipliers (as traced
    arrays inside jit) it reproduces that member, which is how coordcheck shares one program."""
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 3), jnp.float32)
    ntk = mlp.mlp(3, 64, 2, 1, "tanh", "ntk", sigma_b=0.5)
    mf = mlp.mlp(3, 64, 2, 1, "tanh", "mf", sigma_b=0.5)  # same b (init), different a and c
    p = ntk.init(jax.random.PRNGKey(0), jnp.float32)
    np.testing.assert_array_equal(ntk.forward(p, x, ntk.multipliers()).output, ntk.apply(p, x))
    mults = jax.tree_util.tree_map(jnp.float32, mf.multipliers())
    got = jax.jit(lambda m, q: ntk.forward(q, x, m).output)(mults, p)
    np.testing.assert_allclose(got, mf.apply(p, x), rtol=1e-6)
    assert not np.allclose(got, ntk.apply(p, x))


def test_squared_loss_is_mse_loss_without_checks():
    x = np.random.default_rng(0).standard_normal((7, 3))
    y = np.random.default_rng(1).standard_normal((7, 2))
    net = mlp.mlp(3, 16, 2)
    p = net.init(jax.random.PRNGKey(0))
    assert float(train.squared_loss(net.apply, x, y)(p)) == pytest.approx(float(train.mse_loss(net.apply, x, y)(p)), rel=1e-14)
    traced = jax.jit(lambda xx, yy: train.squared_loss(net.apply, xx, yy)(p))(x, y)  # mse_loss cannot take tracers
    assert float(traced) == pytest.approx(float(train.mse_loss(net.apply, x, y)(p)), rel=1e-12)


@pytest.mark.parametrize("name", ["ntk", "mup"])
def test_init_many_is_init_per_key_and_the_vmapped_init(name):
    """The sweeps draw initializations eagerly with init_many and pass them into their jitted
    loops. The draws are init's per key exactly, and those of the jitted vmapped init that the
    sweeps used before to one float ulp (on JAX 0.5 they were bit for bit equal in NTK
    parametrization; JAX 0.12's fused vmapped normal draw rounds a few entries differently)."""
    net = mlp.mlp(5, 48, 3, depth=2, parametrization=name)
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    many = net.init_many(keys, jnp.float32)
    vmapped = jax.jit(jax.vmap(lambda k: net.init(k, jnp.float32)))(keys)
    for a, b in zip(jax.tree_util.tree_leaves(many), jax.tree_util.tree_leaves(vmapped)):
        assert a.shape[0] == 4 and a.dtype == jnp.float32
        np.testing.assert_allclose(a, b, rtol=2**-22, atol=0)
    for j in range(4):
        for a, b in zip(jax.tree_util.tree_leaves(many), jax.tree_util.tree_leaves(net.init(keys[j], jnp.float32))):
            np.testing.assert_array_equal(a[j], b)
    with pytest.raises(ValueError, match="keys"):
        net.init_many([], jnp.float32)
