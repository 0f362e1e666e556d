"""Tests of widenets.coordcheck and the chapter 6 exercise checker."""
import numpy as np
import pytest

from widenets import coordcheck, data, mlp
from widenets.exercises import ch06


@pytest.fixture(scope="module")
def batch():
    task = data.subsample(data.transfer_pair(0)[0], 32, 0)
    return task.x_train, task.y_train


@pytest.fixture(scope="module")
def checks(batch):
    x, y = batch
    return {name: coordcheck.coord_check(name, x, y, widths=(128, 512, 2048), steps=2, lr=0.1, seeds=3)
            for name in ("sp", "ntk", "mup")}


def test_coord_check_shapes(checks):
    r = checks["mup"]
    assert r.size.shape == (3, 3, 3, 3) and r.change.shape == (3, 3, 3, 3)
    assert np.all(r.change[:, :, 0] == 0) and r.layers[-1] == "$f$"


def test_sp_with_fixed_lr_blows_up(checks):
    s = coordcheck.coord_slopes(checks["sp"], "change")
    # after two steps every layer's update grows with width, the output fastest
    assert np.all(s[2] > 0.5) and s[2, -1] > 1.0, s


def test_ntk_feature_updates_vanish_like_inverse_sqrt_width(checks):
    s = coordcheck.coord_slopes(checks["ntk"], "change")
    assert np.all(np.abs(s[1:, :2] + 0.5) < 0.15), s
    assert np.all(np.abs(s[1:, 2]) < 0.2), s  # the output still moves Theta(1)


def test_mup_updates_are_width_independent(checks):
    # (from width 64 the output's slope is about -0.15: its O(n^{-1/2}) correction is still
    # visible there, which is why these checks start at width 128)
    s = coordcheck.coord_slopes(checks["mup"], "change")
    assert np.all(np.abs(s[1:]) < 0.15), s
    size = coordcheck.coord_slopes(checks["mup"], "size")
    assert np.all(np.abs(size[:, :2]) < 0.15), size  # activations stay Theta(1)
    assert abs(size[0, 2] + 0.5) < 0.15  # f_0 = O(n^{-1/2})


def test_regime_map_exponents_follow_r_minus_one_half(batch):
    x, y = batch
    rm = coordcheck.regime_map([0.0, 0.25, 0.5], x, y, widths=(128, 512, 2048), seeds=2)
    np.testing.assert_array_less(np.abs(rm.slopes - (rm.rs - 0.5)), 0.15)


def test_regime_family_endpoints():
    p0, p1 = coordcheck.regime_family(0.0), coordcheck.regime_family(0.5)
    ntk, mf = mlp.parametrization("ntk"), mlp.parametrization("mf")
    assert p0.a == ntk.a and p0.b == ntk.b and p0.c == ntk.c
    assert p1.a == mf.a and p1.b == mf.b and p1.c == mf.c


def test_plots_have_labelled_log_axes(checks, batch):
    fig = coordcheck.plot_coord_check([checks["sp"], checks["mup"]], "change")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_xlabel()
    assert len(fig.axes) == 4


def test_ch06_checker():
    assert ch06.check_mup_exponents((-0.5, 0, 0.5), (0.5, 0.5, 0.5), (0, 0, 0))
    # the abc symmetry: mean-field-like exponents for the output layer are also muP
    assert ch06.check_mup_exponents((-0.5, 0, 1.0), (0.5, 0.5, 0.0), (0, 0, -1.0))
    fb = ch06.check_mup_exponents((0, 0.5, 0.5), (0, 0, 0), (0, 0, 0))  # NTK parametrization
    assert not fb and "input layer" in fb.message and "output layer" in fb.message
    assert ch06.check_mup_exponents((-0.5, 0, 0.5), (0.5, 0.5, 0.5), (0.5, 1, 0.5), optimizer="adam")
    assert not ch06.check_mup_exponents((-0.5, 0, 0.5), (0.5, 0.5, 0.5), (0, 0, 0), optimizer="adam")
    assert "three entries" in ch06.check_mup_exponents((0, 0), (0, 0), (0, 0)).message


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: coordcheck.coord_check("mup", np.ones((3, 2)), np.ones((3, 1)), widths=(8,)), "widths"),
        (lambda: coordcheck.coord_check("mup", np.ones((3, 2)), np.ones((4, 1))), "same number of rows"),
        (lambda: coordcheck.coord_check("mup", np.ones((3, 2)), np.ones((3, 1)), lr=0), "lr"),
        (lambda: coordcheck.regime_family(0.7), "r must"),
        (lambda: coordcheck.coord_slopes(None, "both"), "quantity"),
        (lambda: coordcheck.plot_coord_check([]), "results"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
