"""Chapter 11's coding exercise: the checker of a width-scaling classifier."""
import numpy as np
import pytest

from widenets.exercises import ch11


def _log_mean(values):
    v = np.asarray(values, dtype=float)
    return np.log(v) if v.ndim == 1 else np.log(v).mean(axis=1)


def _verdict(p, tol):
    return "vanishes" if p < -tol else "grows" if p > tol else "Theta(1)"


def correct_classify(widths, values, tol):
    p = np.polyfit(np.log(widths), _log_mean(values), 1)[0]
    return _verdict(p, tol)


def linear_fit(widths, values, tol):
    v = np.exp(_log_mean(values))
    return _verdict(np.polyfit(widths, v, 1)[0], tol)


def semilog_fit(widths, values, tol):
    return _verdict(np.polyfit(widths, _log_mean(values), 1)[0], tol)


def sign_flipped(widths, values, tol):
    return _verdict(-np.polyfit(np.log(widths), _log_mean(values), 1)[0], tol)


def ignores_tol(widths, values, tol):
    return correct_classify(widths, values, 0.15)


def no_tolerance(widths, values, tol):
    return correct_classify(widths, values, 0.0)


def one_dimensional_only(widths, values, tol):
    p = np.polyfit(np.log(widths), np.log(values), 1)[0]
    if p < -tol:  # p is an array when values has seed columns: ambiguous truth value
        return "vanishes"
    return "grows" if p > tol else "Theta(1)"


def test_cases_are_positive_and_well_shaped():
    cases = ch11.scaling_cases()
    assert len(cases) >= 5
    for c in cases:
        assert c.widths.ndim == 1 and c.values.shape[0] == c.widths.size
        assert np.all(c.values > 0)
    assert any(c.values.ndim == 2 for c in cases) and any(c.values.ndim == 1 for c in cases)
    assert [c.values.tolist() for c in cases] == [c.values.tolist() for c in ch11.scaling_cases()]


def test_accepts_a_correct_classifier():
    fb = ch11.check_scaling_classifier(correct_classify)
    assert fb.ok, fb.message
    assert "Correct" in str(fb)


def test_accepts_other_spellings_of_the_labels():
    fb = ch11.check_scaling_classifier(lambda w, v, t: correct_classify(w, v, t).upper() + " ")
    assert fb.ok, fb.message


@pytest.mark.parametrize("fn, phrase", [
    (linear_fit, "log-log axes"),
    (semilog_fit, "log of the values but not of the widths"),
    (sign_flipped, "reversed"),
    (no_tolerance, "within tol of 0"),
    (ignores_tol, "use the tol argument"),
    (one_dimensional_only, "one column per seed"),
])
def test_rejects_wrong_classifiers_with_the_reason(fn, phrase):
    fb = ch11.check_scaling_classifier(fn)
    assert not fb.ok
    assert phrase in fb.message, fb.message
    assert str(fb).startswith("Not yet")


def test_rejects_a_non_label():
    fb = ch11.check_scaling_classifier(lambda w, v, t: -0.5)
    assert not fb.ok and "one of the strings" in fb.message


def test_generic_message_names_the_case_and_slope():
    fb = ch11.check_scaling_classifier(lambda w, v, t: "vanishes")
    assert not fb.ok
    assert "least-squares slope" in fb.message and "muP" in fb.message


@pytest.mark.parametrize("bad", [None, 3, "classify"])
def test_bad_classify_raises(bad):
    with pytest.raises(ValueError, match="classify"):
        ch11.check_scaling_classifier(bad)


@pytest.mark.parametrize("tol", [0, -0.1, 1.5, "x", float("nan")])
def test_bad_tol_raises(tol):
    with pytest.raises(ValueError, match="tol"):
        ch11.check_scaling_classifier(correct_classify, tol=tol)
