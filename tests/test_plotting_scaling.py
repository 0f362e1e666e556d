import matplotlib.pyplot as plt
import numpy as np
import pytest

from widenets import plotting, scaling


def test_fit_power_law_recovers_exponent():
    x = 2.0 ** np.arange(5, 12)
    fit = scaling.fit_power_law(x, 3.0 * x**-0.5)
    assert fit.slope == pytest.approx(-0.5, abs=1e-12)
    assert fit.intercept == pytest.approx(np.log(3.0), abs=1e-12)
    assert fit.stderr < 1e-10
    np.testing.assert_allclose(fit.predict(x), 3.0 * x**-0.5)


def test_fit_power_law_with_seeds_and_noise():
    rng = np.random.default_rng(0)
    x = 2.0 ** np.arange(5, 12)
    y = x[:, None] ** -0.5 * np.exp(0.05 * rng.standard_normal((x.size, 4)))
    fit = scaling.fit_power_law(x, y)
    assert abs(fit.slope + 0.5) < 3 * fit.stderr + 0.02
    assert fit.stderr > 0


@pytest.mark.parametrize(
    "x, y, name",
    [
        (np.array([1.0, 2.0]), np.array([1.0, -1.0]), "positive"),
        (np.array([1.0, 1.0]), np.array([1.0, 2.0]), "distinct"),
        (np.array([1.0, 2.0]), np.array([1.0, np.nan]), "y"),
        (np.array([1.0, 2.0]), np.ones(3), "y"),
    ],
)
def test_fit_power_law_bad_input(x, y, name):
    with pytest.raises(ValueError, match=name):
        scaling.fit_power_law(x, y)


def test_mean_and_spread():
    m, s = scaling.mean_and_spread(np.array([[1.0, 3.0], [2.0, 2.0]]))
    np.testing.assert_allclose(m, [2.0, 2.0])
    np.testing.assert_allclose(s, [np.sqrt(2.0), 0.0])


def test_scaling_plot_draws_fit_and_labels():
    fig, axes = plotting.figure(2)
    assert len(axes) == 2
    x = 2.0 ** np.arange(4, 9)
    fit = plotting.scaling_plot(axes[0], x, x**-1.0, "error", theory_slope=-0.5)
    plotting.label(axes[0], "width $n$", "error")
    assert fit.slope == pytest.approx(-1.0)
    assert axes[0].get_xscale() == "log" and axes[0].get_yscale() == "log"
    assert axes[0].get_xlabel() == "width $n$"
    texts = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert any("slope -1.00" in t for t in texts) and any("theory" in t for t in texts)
    plt.close(fig)


def test_figure_bad_input():
    with pytest.raises(ValueError, match="ncols"):
        plotting.figure(0)


def test_exponent_by_the_statistics_convention():
    from widenets import scaling

    w = np.array([32, 64, 128, 256, 512, 1024])
    rng = np.random.default_rng(0)
    slopes = np.array([-0.5, -0.45, -0.55, -0.5])
    v = w[:, None] ** slopes[None, :] * np.exp(0.01 * rng.standard_normal((6, 4)))
    e = scaling.exponent(w, v)
    np.testing.assert_allclose(e.per_seed, slopes, atol=0.02)
    assert e.slope == pytest.approx(-0.5, abs=0.02) and e.spread == pytest.approx(0.041, abs=0.01)
    assert e.local.shape == (5,) and e.evidence and e.decades == pytest.approx(np.log10(32))
    assert not scaling.exponent(w[:4], v[:4]).evidence      # 4 widths, 1.2 decades
    assert not scaling.exponent(w, v[:, :3]).evidence       # 3 seeds
    with pytest.raises(ValueError, match="values"):
        scaling.exponent(w, v[:3])


def test_effective_sample_size():
    from widenets import scaling

    assert scaling.effective_sample_size(np.zeros(100)) == pytest.approx(100.0)
    assert scaling.effective_sample_size(np.array([0.0, -1e3, -1e3])) == pytest.approx(1.0)
    assert scaling.effective_sample_size(np.log([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)
