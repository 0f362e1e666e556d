"""widenets.dichotomy: Yang & Hu's conditions, on the named parametrizations and a counterexample."""
import numpy as np
import pytest

from widenets import coordcheck, dichotomy, mlp

#: Stable with r = 0 (the book's first edition called it feature learning), but trivial:
#: a_2 + b_2 + r = 3/2 and 2 a_2 + c = 2, so the output moves Theta(n^{-1/2}).
COUNTEREXAMPLE = mlp.abc((-0.75, 1.0), (0.75, 0.5), (0.0, 0.0), name="counterexample")


@pytest.mark.parametrize("name, depth, regime, r", [
    ("ntk", 1, "kernel", 0.5), ("ntk", 3, "kernel", 0.5), ("mup", 1, "feature learning", 0.0),
    ("mup", 3, "feature learning", 0.0), ("mf", 1, "feature learning", 0.0),
    ("sp", 1, "unstable", 0.0), ("sp", 2, "unstable", -1.0)])
def test_named_parametrizations(name, depth, regime, r):
    c = dichotomy.classify(mlp.parametrization(name, depth))
    assert c.regime == regime and c.r == pytest.approx(r)


def test_stability_includes_the_output_condition_a_plus_b_plus_r():
    """a = (-1/8, 1/2), b = (1/8, 0), c = 0 satisfies every other condition (r = 1/4) but
    a_2 + b_2 + r = 3/4 < 1: W^2_0 Delta x^1 ~ n^{1 - (a+b) - r} = n^{1/4} blows up."""
    c = dichotomy.classify(mlp.abc((-0.125, 0.5), (0.125, 0.0), (0.0, 0.0)))
    assert c.r == pytest.approx(0.25)
    assert c.violated == ("a_{L+1} + b_{L+1} + r >= 1",) and c.regime == "unstable"


def test_the_counterexample_is_stable_with_r_zero_and_trivial():
    c = dichotomy.classify(COUNTEREXAMPLE)
    assert c.stable and c.r == 0.0 and not c.nontrivial and c.regime == "trivial"
    assert c.output_exponent == pytest.approx(-0.5)


def test_the_counterexample_measured_features_move_output_does_not():
    """Coordinate check of the counterexample (tanh, 1 hidden layer, 3 SGD steps, 5 widths over
    2.4 decades, 4 seeds): the features' change is width-independent (slope 0.00) and the output's
    falls like n^{-1/2} (measured -0.51), as classify predicts."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8))
    y = np.sign(x[:, :1])
    res = coordcheck.coord_check(COUNTEREXAMPLE, x, y, widths=(64, 256, 1024, 4096, 16384), steps=3,
                                 lr=0.5, depth=1, activation="tanh", seeds=4)
    slopes = coordcheck.coord_slopes(res, "change")[-1]
    assert abs(slopes[0]) < 0.05
    assert slopes[1] == pytest.approx(-0.5, abs=0.05)


def test_bad_input():
    with pytest.raises(ValueError, match="one learning-rate exponent"):
        dichotomy.classify(mlp.parametrization("mup", 2, "adam"))
    with pytest.raises(ValueError, match="Parametrization"):
        dichotomy.classify("mup")
