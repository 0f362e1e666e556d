"""Tests of widenets.transfer and the data added for it (chapters 5 and 8)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widenets import data, exercises, kernels, scaling, transfer
from widenets.exercises import ch05, ch08


# ----------------------------------------------------------------------------- data
def test_multi_index_pair_shapes_and_teacher():
    p = data.multi_index_pair(d=12, k=3, n_a=40, n_b=10, n_test=30, seed=1)
    assert p.projection.shape == (3, 12) and p.x_a.shape == (40, 12) and p.y_a.shape == (40, 3)
    assert p.x_b.shape == (10, 12) and p.y_b.shape == (10, 1) and p.y_test.shape == (30, 1)
    np.testing.assert_allclose(p.projection @ p.projection.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(p.y_a, p.x_a @ p.projection.T)
    z = p.x_test @ p.projection.T
    np.testing.assert_allclose(p.y_test[:, 0], z[:, 0] * z[:, 1])
    q = data.multi_index_pair(d=12, k=3, n_a=40, n_b=10, n_test=30, seed=1)
    np.testing.assert_array_equal(p.x_b, q.x_b)  # deterministic


def test_multi_index_pair_variance_of_task_b():
    p = data.multi_index_pair(d=8, k=2, n_a=1, n_b=1, n_test=20000, seed=0)
    assert abs(np.var(p.y_test) - 1.0) < 0.05  # Var(z1 z2) = 1 for independent N(0,1)


@pytest.mark.parametrize("kwargs, name", [({"k": 1}, "k"), ({"d": 0}, "d"), ({"k": 5, "d": 4}, "k"),
                                          ({"n_b": 0}, "n_b"), ({"n_test": -1}, "n_test")])
def test_multi_index_pair_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.multi_index_pair(**kwargs)


def test_noisy_transfer_pair_signal_subspace():
    a, b, signal = data.noisy_transfer_pair(noise_dims=32, seed=0)
    assert a.x_train.shape[1] == 96 and b.x_test.shape[1] == 96 and signal.shape == (64, 96)
    np.testing.assert_allclose(signal @ signal.T, np.eye(64), atol=1e-10)
    clean, _ = data.transfer_pair(0)
    # projecting onto the signal rows recovers the clean pixels exactly
    np.testing.assert_allclose(a.x_train @ signal.T, clean.x_train, atol=1e-10)
    with pytest.raises(ValueError, match="noise_dims"):
        data.noisy_transfer_pair(noise_dims=0)


# ----------------------------------------------------------------------------- probe
def test_loo_ridge_matches_explicit_refits():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((15, 40))
    k = f @ f.T / 40
    y = rng.standard_normal((15, 2))
    lam = 0.2
    _, _, err = transfer._loo_ridge(jnp.asarray(k), jnp.asarray(k), jnp.asarray(y), (lam,))
    # explicit refits, with the intercept (training mean) also refitted without point i
    res = []
    scale = np.trace(k) / 15
    for i in range(15):
        keep = np.arange(15) != i
        # the closed form centres y once on all N points; refit with that same centring
        yc = y - y.mean(axis=0)
        alpha = np.linalg.solve(k[np.ix_(keep, keep)] + lam * scale * np.eye(14), yc[keep])
        res.append(yc[i] - k[i, keep] @ alpha)
    np.testing.assert_allclose(float(err), np.mean(np.square(res)), rtol=1e-8)


def test_ridge_probe_recovers_linear_target_and_picks_small_ridge():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((60, 5))
    f -= f.mean(axis=0)  # the probe's intercept is the training mean of y: make it 0 here
    w = rng.standard_normal((5, 1))
    ft = rng.standard_normal((200, 5))
    pred, lam = transfer.ridge_probe(jnp.asarray(f), jnp.asarray(f @ w), jnp.asarray(ft))
    assert float(transfer.relative_mse(pred, ft @ w)) < 1e-3
    assert float(lam) <= 1e-3
    # pure-noise targets: the LOO choice is a large ridge and the error about 1
    yn = rng.standard_normal((60, 1))
    pred, lam = transfer.ridge_probe(jnp.asarray(f), jnp.asarray(yn), jnp.asarray(ft))
    assert float(lam) >= 1.0


def test_kernel_probe_bad_input():
    with pytest.raises(ValueError, match="k_train"):
        transfer.kernel_probe(np.ones((3, 4)), np.ones((2, 4)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="y_train"):
        transfer.kernel_probe(np.eye(3), np.ones((2, 3)), np.ones(3))


def test_weight_alignment_random_and_inside():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((64, 4)))
    w = rng.standard_normal((64, 4000))
    assert abs(float(transfer.weight_alignment(w, q.T)) - np.sqrt(4 / 64)) < 0.01
    assert abs(float(transfer.weight_alignment(q @ w[:4], q.T)) - 1.0) < 1e-12


# ----------------------------------------------------------------------------- sweeps
def test_sweep_bad_input():
    with pytest.raises(ValueError, match="parametrizations"):
        transfer.transfer_sweep(widths=(8,), parametrizations=("xyz",))
    with pytest.raises(ValueError, match="widths"):
        transfer.transfer_sweep(widths=(0,))
    with pytest.raises(ValueError, match="lr"):
        transfer.transfer_sweep(widths=(8,), lr=-1.0)
    z = np.zeros((1, 1, 1))
    fake = transfer.TransferSweep(("ntk",), np.array([8]), np.array([0]), *([z] * 10))
    with pytest.raises(ValueError, match="mode"):
        fake.gain("both")
    with pytest.raises(ValueError, match="parametrization"):
        fake.index("mup")


@pytest.fixture(scope="module")
def sweep():
    # the chapters' protocol (d=16, k=2, 256 A-samples, 50 B-samples, lr 2, 100 + 30 steps,
    # seeds 0-2), at widths 16..1024 instead of 16..4096 to fit the test budget
    return transfer.transfer_sweep(widths=(16, 64, 256, 1024), seeds=(0, 1, 2))


def _gain(sweep, p, mode):
    return scaling.mean_and_spread(sweep.gain(mode)[sweep.index(p)], axis=-1)


@pytest.mark.slow
def test_ntk_transfer_gain_vanishes_with_width(sweep):
    """Acceptance (issue 4): the NTP fine-tuning gain at the largest width is smaller than at the
    smallest by more than the seed spread. (The probe gain at width 16 is positive on average but
    its spread over 3 seeds is as large as its mean, so for the probe we assert the limit only.)"""
    m, sd = _gain(sweep, "ntk", "finetune")
    assert m[0] - m[-1] > max(sd[0], sd[-1]), (m, sd)
    mp, sdp = _gain(sweep, "ntk", "probe")
    assert abs(mp[-1]) < 0.02 and abs(m[-1]) < 0.02, (mp, m)
    i = sweep.index("ntk")
    # the features barely move: weight alignment at the largest width within 0.02 of init
    assert np.all(np.abs(sweep.align_pretrained[i, -1] - sweep.align_random[i, -1]) < 0.02)


@pytest.mark.slow
def test_mup_transfer_gain_stays_and_beats_ntk(sweep):
    """Acceptance (issue 6): muP probe gain at the largest width >= gain at the smallest minus the
    spread, and above the NTP gain at that width by more than the spread. Fine-tuning: the same
    from width 64 (2^6, the issue's smallest width); at width 16 muP fine-tuning gains more."""
    for mode, first in (("probe", 0), ("finetune", 1)):
        m, sd = _gain(sweep, "mup", mode)
        mn, sdn = _gain(sweep, "ntk", mode)
        assert m[-1] >= m[first] - sd[first], (mode, m, sd)
        assert m[-1] - mn[-1] > max(sd[-1], sdn[-1]), (mode, m, sd, mn, sdn)


@pytest.mark.slow
def test_feature_kernel_change_slopes(sweep):
    """muP: the feature kernel's relative change is Theta(1): slope over widths 64..1024 within
    0.15 of 0 (acceptance, issue 6). NTP: it decays like n^{-1} (chapter 5's argument: the
    first-order change averages out over random-sign readouts), slope within 0.15 of -1.
    Label alignment rises at every muP width."""
    mup, ntk = sweep.index("mup"), sweep.index("ntk")
    s_mup = scaling.fit_power_law(sweep.widths[1:], sweep.kernel_change[mup, 1:])
    s_ntk = scaling.fit_power_law(sweep.widths, sweep.kernel_change[ntk])
    assert abs(s_mup.slope) < 0.15, s_mup
    assert abs(s_ntk.slope + 1.0) < 0.15, s_ntk
    assert np.all(sweep.label_align_pretrained[mup] > sweep.label_align_random[mup])


def test_effective_scales_reproduce_mup_network():
    """Training the NTK network with effective_scales' factors is training the muP network."""
    from widenets import mlp, train

    d, n = 8, 32
    x = jnp.asarray(np.random.default_rng(0).standard_normal((20, d)))
    y = jnp.sin(x[:, :2])
    net = mlp.mlp(d, n, 2, 1, "relu", "mup")
    q, _ = train.gradient_descent(train.mse_loss(net.apply, x, y), net.init(jax.random.PRNGKey(0)),
                                  20, 0.5, net.lr_scales())
    base = mlp.mlp(d, n, 2, 1, "relu", "ntk")
    init_f, lr_f = transfer.effective_scales("mup", n, d)
    np.testing.assert_allclose(init_f, [1.0, n**-0.5]) and np.testing.assert_allclose(lr_f, [n, 1.0])
    pb = [{"w": r["w"] * f, "b": r["b"]} for r, f in zip(base.init(jax.random.PRNGKey(0)), init_f)]
    qb, _ = train.gradient_descent(train.mse_loss(base.apply, x, y), pb, 20, 0.5,
                                   [{"w": f, "b": 1.0} for f in lr_f])
    np.testing.assert_allclose(net.apply(q, x), base.apply(qb, x), atol=1e-10)
    with pytest.raises(ValueError, match="parametrization"):
        transfer.effective_scales("nope", 8, 4)


def test_kernel_limit_equals_wide_random_probe():
    """At infinite width the probe is NNGP kernel regression: a wide random-feature probe agrees."""
    p = data.multi_index_pair(d=8, k=2, n_a=8, n_b=30, n_test=200, seed=3)
    arrays = tuple(jnp.asarray(np.asarray(getattr(p, f))[None]) for f in
                   ("x_a", "y_a", "x_b", "y_b", "x_test", "y_test", "projection"))
    lim = transfer.kernel_limit_errors(arrays)
    w = jax.random.normal(jax.random.PRNGKey(0), (8, 100_000))
    feats = lambda x: jax.nn.relu(x @ w * jnp.sqrt(2.0 / 8))
    pred, _ = transfer.ridge_probe(feats(p.x_b), jnp.asarray(p.y_b), feats(p.x_test))
    assert abs(float(transfer.relative_mse(pred, p.y_test)) - lim["nngp"][0]) < 0.02
    assert set(lim) == {"nngp", "ntk"} and np.all(np.isfinite(lim["ntk"]))


def test_gp_conditioning_posterior_approaches_prior():
    p = data.multi_index_pair(d=16, k=2, n_a=64, n_b=2, n_test=2, seed=0)
    g = transfer.gp_conditioning(p, widths=(2, 512), n_samples=2000)
    shift = g.posterior - g.prior
    assert shift[0] > 0.05  # narrow: conditioning on task A pulls W toward the teacher subspace
    assert abs(shift[-1]) < shift[0] / 4
    assert g.ess[-1] > g.ess[0]
    with pytest.raises(ValueError, match="noise"):
        transfer.gp_conditioning(p, widths=(2,), noise=0.0)


# ----------------------------------------------------------------------------- exercises
def test_ch05_checker():
    def right(k, y, ridge):
        a = np.linalg.inv(k + ridge * np.eye(k.shape[0]))
        return (a @ y) / np.diag(a)[:, None]

    def train_residuals(k, y, ridge):
        return y - k @ np.linalg.solve(k + ridge * np.eye(k.shape[0]), y)

    assert ch05.check_loo_residuals(right).ok
    fb = ch05.check_loo_residuals(train_residuals)
    assert not fb.ok and "training residuals" in fb.message
    assert not ch05.check_loo_residuals(lambda k, y, r: -right(k, y, r)).ok
    assert isinstance(fb, exercises.Feedback)


def test_ch08_checker():
    assert ch08.check_alignment(lambda w, p: np.linalg.norm(p @ w) / np.linalg.norm(w)).ok
    fb = ch08.check_alignment(lambda w, p: (np.linalg.norm(p @ w) / np.linalg.norm(w)) ** 2)
    assert not fb.ok and "square" in fb.message
    assert not ch08.check_alignment(lambda w, p: 0.5).ok


# ----------------------------------------------------------------------------- digits, table, figures
@pytest.fixture(scope="module")
def tiny_digits():
    return transfer.digits_sweep(widths=(8,), seeds=(0, 1), shots=2, noise_dims=8, n_a=40,
                                 steps_a=3, steps_b=2)


def test_digits_sweep_shapes_and_ranges(tiny_digits):
    s = tiny_digits
    assert s.probe_random.shape == (2, 1, 2) and s.parametrizations == ("ntk", "mup")
    for f in ("probe_random", "probe_pretrained", "finetune_random", "finetune_pretrained"):
        assert np.all((getattr(s, f) >= 0) & (getattr(s, f) <= 1))  # error rates
    # same key, same init: the random-init errors do not depend on the parametrization's lr,
    # and the probe from the random init is the same in both parametrizations (same features)
    np.testing.assert_allclose(s.probe_random[0], s.probe_random[1], atol=1e-6)


def test_comparison_table_and_linear_limit(tiny_digits):
    arrays = transfer.digits_arrays((0, 1), shots=2, noise_dims=8, n_a=40)
    lim = transfer.linear_mup_limit_errors(arrays, steps=5, lr=0.5)
    assert set(lim) == {"linear_gp", "linear_mup"} and lim["linear_gp"].shape == (2,)
    # linear GP on the inputs themselves is a linear probe on x: better than chance (0.2) on digits
    assert np.all(1 - lim["linear_gp"] > 0.4)
    rows = transfer.comparison_table(tiny_digits, lim)
    assert [r[0] for r in rows] == ["linear_gp limit", "linear_mup limit", "ntk n=8", "mup n=8"]
    rows = transfer.comparison_table(tiny_digits, lim, {"linear_mup n=8": lim["linear_mup"]})
    assert [r[0] for r in rows][:3] == ["linear_gp limit", "linear_mup limit", "linear_mup n=8"]
    assert rows[2][1:] == rows[1][1:]
    assert all(0 <= r[1] <= 1 and r[2] >= 0 for r in rows)


def test_finite_linear_mup_rows_approach_the_limit_row():
    """Acceptance (issue 6): the linear muP limit row agrees with the widest finite linear muP
    network within its seed spread; the narrowest is further away."""
    arrays = transfer.digits_arrays((0, 1, 2), shots=2, noise_dims=8, n_a=40)
    lim = transfer.linear_mup_limit_errors(arrays, steps=20, lr=0.5)["linear_mup"]
    fin = transfer.linear_mup_finite_errors(arrays, widths=(8, 4096), steps=20, lr=0.5)
    assert list(fin) == ["linear_mup n=8", "linear_mup n=4096"]
    wide, narrow = fin["linear_mup n=4096"], fin["linear_mup n=8"]
    spread = max(scaling.mean_and_spread(1 - lim)[1], scaling.mean_and_spread(1 - wide)[1])
    assert abs(np.mean(wide) - np.mean(lim)) <= spread, (wide, lim)
    assert np.mean(np.abs(wide - lim)) < np.mean(np.abs(narrow - lim)), (narrow, wide, lim)
    with pytest.raises(ValueError, match="widths"):
        transfer.linear_mup_finite_errors(arrays, widths=())
    with pytest.raises(ValueError, match="steps"):
        transfer.linear_mup_finite_errors(arrays, widths=(8,), steps=0)


def test_digits_first_layer_and_top_directions():
    w0, w1 = transfer.digits_first_layer("mup", width=16, noise_dims=8, n_a=40, steps=3)
    assert w0.shape == w1.shape == (64, 16) and not np.allclose(w0, w1)
    imgs = transfer.top_directions(w1, 3)
    assert imgs.shape == (3, 8, 8)
    np.testing.assert_allclose(np.sum(imgs.reshape(3, 64) ** 2, axis=1), 1.0, atol=1e-10)
    with pytest.raises(ValueError, match="w"):
        transfer.top_directions(np.ones((10, 3)))
    with pytest.raises(ValueError, match="parametrization"):
        transfer.digits_first_layer("xyz")


def test_figures_draw(tiny_digits):
    import matplotlib.pyplot as plt
    from widenets import plotting

    fig, axes = plotting.figure(3)
    summ = transfer.plot_gains(axes[0], tiny_digits, "probe", limit=0.0)
    assert set(summ) == {"ntk", "mup"} and summ["ntk"].shape == (1, 2)
    transfer.plot_alignment(axes[1], tiny_digits, random_level=0.5)
    p = data.multi_index_pair(d=8, k=2, n_a=16, n_b=2, n_test=2, seed=0)
    transfer.plot_gp_conditioning(axes[2], transfer.gp_conditioning(p, widths=(4, 8), n_samples=50))
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_xscale() == "log"
    plt.close(fig)
