"""Tests of widenets.mutransfer (chapter 9) and its exercise checkers."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widenets import mlp, mutransfer as mt, train
from widenets.exercises import ch09

#: the small sweep of the acceptance test: widths 2^5..2^8, 64 digits, 20 full-batch steps,
#: 2 seeds, on the chapter's grids (log2 lr, step 1; see mt.GRIDS)
SMALL = dict(widths=(32, 64, 128, 256), n_train=64, steps=20, n_seeds=2)


@pytest.fixture(scope="module")
def sweeps():
    return mt.chapter_sweeps(jax.random.PRNGKey(0), **SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_best_lr_drifts_in_sp_and_stays_put_in_mup(sweeps, opt):
    """Acceptance: on a log2 grid of step 1 the best lr moves >= 2 steps across widths
    2^5..2^8 in SP and <= 1 step in muP (measured: SP 3 and 3, muP 1 (SGD) and 0 (Adam))."""
    sp, mup = sweeps[("sp", opt)], sweeps[("mup", opt)]
    assert np.all(np.diff(sp.log2_lrs) == 1.0) and np.all(np.diff(mup.log2_lrs) == 1.0)
    assert mt.lr_drift(sp) >= 2, mt.summary(sp)
    assert mt.lr_drift(mup) <= 1, mt.summary(mup)
    # SP's best lr falls with width (it is ~ 1/n): the widest is below the narrowest
    assert mt.best_log2_lr(sp)[-1] <= mt.best_log2_lr(sp)[0] - 2
    # no best lr sits on the edge of its grid (the drift would then be a lower bound only)
    for s in (sp, mup):
        i = mt.best_lr_index(s)
        assert i.min() > 0 and i.max() < s.log2_lrs.size - 1, mt.summary(s)


@pytest.mark.slow
def test_mup_wider_is_better_with_adam_at_the_transferred_lr(sweeps):
    """muP + Adam: at the lr tuned on the narrowest width, the widest net reaches a lower loss."""
    tl = mt.transferred_loss(sweeps[("mup", "adam")])
    assert np.all(np.isfinite(tl)) and tl[-1] < tl[0]
    # while in SP the lr tuned at the narrowest width makes the widest diverge or do worse
    sp = mt.transferred_loss(sweeps[("sp", "adam")])
    assert not np.isfinite(sp[-1]) or sp[-1] > sp[0]


def test_sweep_shapes_and_divergence_bookkeeping(sweeps):
    s = sweeps[("sp", "sgd")]
    assert s.train_loss.shape == (4, 10, 2) == s.diverged.shape == s.test_accuracy.shape
    # a run whose final loss is not finite is marked diverged, and SP diverges at its largest lr
    assert np.all(s.diverged[~np.isfinite(s.train_loss)])
    assert np.all(s.diverged[:, -1])
    assert np.all(~np.isfinite(mt.mean_loss(s)[s.diverged.any(axis=2)]))
    assert s.n_train == 64 and s.steps == 20
    m = sweeps[("mup", "adam")]  # at its best lr every muP run trained (loss fell)
    i = mt.best_lr_index(m)
    assert np.all(m.train_loss[np.arange(4), i] < 0.5 * m.initial_loss[np.arange(4), i])


def test_diverged_flags_nan_inf_and_growth():
    t = np.array([[1.0, 0.5, 0.2], [1.0, np.nan, 0.1], [1.0, 2.0, np.inf], [1.0, 3.0, 1.5], [1.0, 3.0, 0.9]])
    np.testing.assert_array_equal(mt.diverged(t), [False, True, True, True, False])


def _fake_sweep(losses, grid=None):
    losses = np.asarray(losses, dtype=float)
    w, l, s = losses.shape
    grid = np.arange(l, dtype=float) if grid is None else grid
    div = ~np.isfinite(losses)
    return mt.Sweep("mup", "sgd", 2 ** np.arange(5, 5 + w), grid, losses, np.ones_like(losses),
                    np.zeros_like(losses), div, 1, 1, 1)


def test_best_lr_skips_learning_rates_where_any_seed_diverged():
    s = _fake_sweep([[[0.5, 0.5], [0.1, np.nan], [0.3, 0.3]], [[0.2, 0.2], [0.1, 0.1], [np.inf, np.inf]]])
    np.testing.assert_array_equal(mt.best_lr_index(s), [2, 1])
    assert mt.lr_drift(s) == 1
    np.testing.assert_array_equal(mt.transferred_loss(s), [0.3, np.inf])
    with pytest.raises(ValueError, match="diverged"):
        mt.best_lr_index(_fake_sweep([[[np.nan], [np.inf]]]))


def test_full_size_grids_cover_the_chapter_grids_in_half_steps():
    g = mt.full_size_grids()
    for kp, small in mt.GRIDS.items():
        assert np.all(np.diff(g[kp]) == 0.5) and g[kp][0] == small[0] - 2 and g[kp][-1] == small[-1] + 2
    assert len({len(v) for v in g.values()}) == 1  # sp and mup of one optimizer run together
    assert mt.FULL_SIZE["widths"] == tuple(2**k for k in range(6, 14))


def test_lr_grid():
    np.testing.assert_array_equal(mt.lr_grid(-3, 1), [-3, -2, -1, 0, 1])
    np.testing.assert_array_equal(mt.lr_grid(0, 1, 0.5), [0, 0.5, 1])
    with pytest.raises(ValueError, match="log2_max"):
        mt.lr_grid(1, 0)


def test_nested_init_scales_like_mlp_init_and_nests():
    key = jax.random.PRNGKey(3)
    z = mt.standard_normals(key, 5, 1024, 3, 2, dtype=jnp.float64)
    assert [p["w"].shape for p in z] == [(5, 1024), (1024, 1024), (1024, 3)]
    for name in ("sp", "mup"):
        wide = mlp.mlp(5, 1024, 3, depth=2, parametrization=name)
        p = mt.nested_init(wide, z)
        for l in range(3):  # std n^{-b_l}; 3072+ draws per layer, so 5% is > 3 standard errors
            np.testing.assert_allclose(float(jnp.std(p[l]["w"])), 1024 ** -wide.param.b[l], rtol=0.05)
        narrow = mlp.mlp(5, 256, 3, depth=2, parametrization=name)
        q = mt.nested_init(narrow, z)
        assert [a["w"].shape for a in q] == [(5, 256), (256, 256), (256, 3)]
        # the narrow net is the first 256 units of the same draw, scaled for its width
        b = narrow.param.b
        np.testing.assert_allclose(q[1]["w"], z[1]["w"][:256, :256] * 256 ** -b[1])
        np.testing.assert_allclose(q[2]["w"], z[2]["w"][:256] * 256 ** -b[2])
    with pytest.raises(ValueError, match="width"):
        mt.nested_init(mlp.mlp(5, 2048, 3, depth=2), z)


def test_a_zero_form_of_sp_is_sp():
    for opt in ("sgd", "adam"):
        sp = mlp.parametrization("sp", 2, opt)
        a0 = mt.a_zero_form(sp, opt)
        assert (a0.a, a0.b, a0.c) == (sp.a, sp.b, sp.c)
        assert (a0.bias_b, a0.bias_c) == (sp.bias_b, sp.bias_c)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_a_zero_form_trains_the_same_function(opt, name="mup"):
    """The abc symmetry: the a = 0 form, started from the same function, has the same
    trajectory (float64; Adam with eps = 1e-30 since eps breaks the symmetry)."""
    n, d = 64, 4
    x = jax.random.normal(jax.random.PRNGKey(0), (16, d))
    y = jnp.sin(x[:, :2])
    named = mlp.mlp(d, n, 2, depth=2, parametrization=name, optimizer=opt, activation="tanh", sigma_b=0.3)
    a0 = mlp.mlp(d, n, 2, depth=2, parametrization=mt.a_zero_form(named.param, opt),
                 activation="tanh", sigma_b=0.3)
    assert all(a == 0 for a in a0.param.a + a0.param.bias_a)
    p = named.init(jax.random.PRNGKey(1))
    # the same effective weights: w' = n^{-a} w
    q = [{"w": pl["w"] * n ** -named.param.a[l], "b": pl["b"] * n ** -named.param.bias_a[l]}
         for l, pl in enumerate(p)]
    np.testing.assert_allclose(a0.apply(q, x), named.apply(p, x), rtol=1e-12, atol=1e-12)
    runs = []
    for net, params in ((named, p), (a0, q)):
        loss = train.mse_loss(net.apply, x, y)
        kw = {} if opt == "sgd" else {"eps": 1e-30}
        fit = train.gradient_descent if opt == "sgd" else train.adam
        lr = 0.2 if opt == "sgd" else 0.02
        _, hist = fit(loss, params, 15, lr, net.lr_scales(), record=lambda r, net=net: net.apply(r, x), **kw)
        runs.append(hist["record"])
    assert float(jnp.max(jnp.abs(runs[0][-1] - runs[0][0]))) > 1e-2  # it did train
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-6, atol=1e-8)


def test_flops_and_tuning_cost_by_hand():
    assert mt.flops_per_step(64, 100, 10, 1, 8) == 6 * 8 * (64 * 100 + 100 * 10)
    assert mt.flops_per_step(64, 100, 10, 3, 8) == 6 * 8 * (64 * 100 + 2 * 100**2 + 100 * 10)
    c = mt.tuning_cost(64, 1024, n_lrs=10, n_seeds=3, steps=5, n_train=100)
    wide, narrow = 5 * mt.flops_per_step(64, 1024, 10, 1, 100), 5 * mt.flops_per_step(64, 64, 10, 1, 100)
    assert c["direct_runs"] == 30 and c["transfer_wide_runs"] == 1 and c["wide_runs_saved"] == 29
    assert c["direct_flops"] == 30 * wide and c["transfer_flops"] == 30 * narrow + wide
    assert c["saving"] == pytest.approx(30 * 1024 / (30 * 64 + 1024))  # flops linear in n at depth 1


def test_plot_sweeps_has_labelled_log_axes(sweeps):
    fig, axes = mt.plot_sweeps(sweeps)
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel() == "training loss" and ax.get_yscale() == "log"
        assert len(ax.get_lines()) >= 4
    import matplotlib.pyplot as plt
    plt.close(fig)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: mt.lr_sweep("ntk", "sgd", (8,), (0.0,), jax.random.PRNGKey(0)), "parametrization"),
        (lambda: mt.lr_sweep("sp", "rmsprop", (8,), (0.0,), jax.random.PRNGKey(0)), "optimizer"),
        (lambda: mt.lr_sweep("sp", "sgd", (16, 8), (0.0,), jax.random.PRNGKey(0)), "widths"),
        (lambda: mt.lr_sweep("sp", "sgd", (0,), (0.0,), jax.random.PRNGKey(0)), "widths"),
        (lambda: mt.lr_sweep("sp", "sgd", (8,), (), jax.random.PRNGKey(0)), "log2_lrs"),
        (lambda: mt.lr_sweep("sp", "sgd", (8,), (np.nan,), jax.random.PRNGKey(0)), "log2_lrs"),
        (lambda: mt.lr_sweep("sp", "sgd", (8,), (0.0,), jax.random.PRNGKey(0), steps=0), "steps"),
        (lambda: mt.lr_sweep("sp", "sgd", (8,), (0.0,), jax.random.PRNGKey(0), n_seeds=0), "n_seeds"),
        (lambda: mt.lr_sweep("sp", "sgd", (8,), (0.0,), jax.random.PRNGKey(0), n_train=5000), "n_train"),
        (lambda: mt.lr_sweeps(("sp", "mup"), "sgd", (8,), {"sp": (0.0,), "mup": (0.0, 1.0)},
                              jax.random.PRNGKey(0)), "same length"),
        (lambda: mt.lr_sweeps(("sp", "mup"), "sgd", (8,), {"sp": (0.0,)}, jax.random.PRNGKey(0)), "mup"),
        (lambda: mt.tuning_cost(128, 64, 10, 1, 1, 1), "proxy_width"),
        (lambda: mt.tuning_cost(64, 128, 0, 1, 1, 1), "n_lrs"),
        (lambda: mt.flops_per_step(64, 0, 10, 1, 1), "width"),
        (lambda: mt.a_zero_form(mlp.parametrization("sp"), "lbfgs"), "optimizer"),
        (lambda: mt.chapter_sweeps(jax.random.PRNGKey(0), widths=(8,), optimizers=("sgdm",)), "optimizers"),
        (lambda: mt.plot_sweep(None, None, metric="accuracy"), "metric"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- exercise checkers -----------------------------------------------------------------
def _good_best_lr(losses, grid):
    m = np.where(np.any(~np.isfinite(losses), axis=2), np.inf, losses.mean(axis=2))
    return grid[np.argmin(m, axis=1)]


def test_check_best_lr():
    assert ch09.check_best_lr(_good_best_lr).ok
    fb = ch09.check_best_lr(lambda L, g: g[np.argmin(L.mean(axis=2), axis=1)])
    assert not fb.ok and "nan" in fb.message
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        fb = ch09.check_best_lr(lambda L, g: g[np.nanargmin(np.nanmean(L, axis=2), axis=1)])
    assert not fb.ok and "one seed" in fb.message
    assert not ch09.check_best_lr(42).ok
    assert not ch09.check_best_lr(lambda L, g: g[:1]).ok


def test_check_saving():
    c = mt.tuning_cost(64, 4096, 10, 3, 1, 1)
    assert ch09.check_saving(c["saving"]).ok
    assert not ch09.check_saving(30).ok and "wide runs" in ch09.check_saving(30).message
    assert not ch09.check_saving(64).ok and "width ratio" in ch09.check_saving(64).message
    assert not ch09.check_saving("many").ok


# --- train.adam used to promote float32 params to float64 under x64 (b1 ** (t + 1), int t) --
def test_adam_keeps_float32_params():
    p = {"w": jnp.ones(3, jnp.float32)}
    final, _ = train.adam(lambda q: jnp.sum(q["w"] ** 2), p, 2, 0.1)
    assert final["w"].dtype == jnp.float32
