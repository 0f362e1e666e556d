"""Checkers for the exercises of chapter 11 (outlook: what kernels explain and what they do not).

The coding exercise asks for the book's basic act of measurement turned into a verdict: given a
quantity measured at several widths, fit its exponent on log-log axes and say whether it
*vanishes*, *stays* :math:`\\Theta(1)` or *grows* with the width.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from widenets import _checks, scaling
from widenets.exercises import Feedback, correct, wrong

#: the three verdicts a classifier may return
LABELS = ("vanishes", "Theta(1)", "grows")

#: the widths at which every case is "measured": 2^6 .. 2^12
WIDTHS = 2.0 ** np.arange(6, 13)


class ScalingCase(NamedTuple):
    """One measured quantity: ``values`` at ``widths``, shape (m,) or (m, seeds)."""

    name: str
    widths: np.ndarray
    values: np.ndarray


def scaling_cases() -> list[ScalingCase]:
    """The measurements the checker feeds to a classifier, modelled on the book's sweeps.

    Each is a power law in the width (with a finite-width correction in one case) times
    seed-to-seed noise; some have one column per seed, some a single column. Deterministic.
    """
    rng = np.random.default_rng(10)
    n = WIDTHS

    def seeds(mean: np.ndarray, k: int = 3, sd: float = 0.05) -> np.ndarray:
        return mean[:, None] * np.exp(sd * rng.standard_normal((mean.size, k)))

    return [
        ScalingCase("feature-kernel change, NTK parametrization (chapters 4, 5)", n.copy(), seeds(40.0 / n)),
        ScalingCase("feature-kernel change, muP (chapter 8)", n.copy(), seeds(np.full(n.size, 0.3))),
        ScalingCase("output change after one step of SP at a fixed learning rate (chapter 6)", n.copy(),
                    0.5 * n * np.exp(0.05 * rng.standard_normal(n.size))),
        ScalingCase("one neuron's pre-activation change, NTK parametrization (chapter 4)", n.copy(),
                    0.5 / np.sqrt(n)),
        ScalingCase("muP pre-activation change with a finite-width correction (chapters 6, 7)", n.copy(),
                    seeds(0.8 * (1.0 + 2.0 / np.sqrt(n)), sd=0.01)),
        ScalingCase("output at initialization, muP (chapter 6)", n.copy(), seeds(1.5 / np.sqrt(n), k=4)),
    ]


# the case on which the checker also varies the tolerance: its exponent is small but not zero
_DRIFT_CASE = 4


def _verdict(slope: float, tol: float) -> str:
    if slope < -tol:
        return "vanishes"
    if slope > tol:
        return "grows"
    return "Theta(1)"


def _log_mean(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v if v.ndim == 1 else np.exp(np.log(v).mean(axis=1))


def _slope(case: ScalingCase) -> float:
    return scaling.fit_power_law(case.widths, case.values).slope


def _mistakes(cases: list[ScalingCase], tol: float) -> dict[str, list[str]]:
    """The verdicts that the usual wrong methods give on ``cases``."""
    lin, semilog = [], []
    for c in cases:
        mean = _log_mean(c.values)
        lin.append(_verdict(np.polyfit(c.widths, mean, 1)[0], tol))
        semilog.append(_verdict(np.polyfit(c.widths, np.log(mean), 1)[0], tol))
    right = [_verdict(_slope(c), tol) for c in cases]
    flip = {"vanishes": "grows", "grows": "vanishes", "Theta(1)": "Theta(1)"}
    return {
        "linear": lin,
        "semilog": semilog,
        "sign": [flip[r] for r in right],
        "no_tol": [_verdict(_slope(c), 0.0) for c in cases],
    }


_HINTS = {
    "linear": "you fitted a straight line to the values against the widths. A power law n^p is a "
              "straight line of slope p only on log-log axes; on linear axes its slope depends on the "
              "units of the quantity and on the widths, not on p alone. Fit log(value) against log(width).",
    "semilog": "you took the log of the values but not of the widths. The exponent p of n^p is the slope "
               "of log(value) against log(width); against the width itself the slope is of order p/n.",
    "sign": "your verdicts are reversed: a negative exponent means the quantity falls as the width grows "
            "('vanishes'), a positive one that it 'grows'.",
    "no_tol": "you called a small exponent non-zero. A fitted exponent within tol of 0 is 'Theta(1)': "
              "finite-width corrections and seed noise make no measured exponent exactly 0.",
}


def _normalise(label) -> str | None:
    if not isinstance(label, str):
        return None
    for allowed in LABELS:
        if label.strip().lower() == allowed.lower():
            return allowed
    return None


def check_scaling_classifier(classify: Callable[[np.ndarray, np.ndarray, float], str],
                             tol: float = 0.15) -> Feedback:
    """Check ``classify(widths, values, tol) -> str``.

    ``widths`` (m,) are the widths; ``values`` (m,) or (m, seeds) positive measurements; the
    function must fit the exponent p of ``values ~ widths**p`` by least squares on log-log axes
    (averaging the seeds' logs first) and return ``"vanishes"`` if p < -tol, ``"grows"`` if
    p > tol and ``"Theta(1)"`` otherwise. The cases are :func:`scaling_cases`.

    Raises ``ValueError`` if ``classify`` is not callable or ``tol`` is not a number in (0, 1).
    """
    if not callable(classify):
        raise ValueError(f"classify must be a function classify(widths, values, tol), got {classify!r}")
    tol = _checks.positive(tol, "tol")
    if tol >= 1:
        raise ValueError(f"tol must be below 1 (an exponent tolerance), got {tol!r}")

    cases = scaling_cases()
    given = []
    for case in cases:
        try:
            out = classify(case.widths.copy(), case.values.copy(), tol)
        except Exception as err:  # report the student's error, do not raise
            shape = case.values.shape
            hint = (" values has one column per seed here: average log(values) over axis 1 first."
                    if len(shape) == 2 else "")
            return wrong(f"your function raised {type(err).__name__}: {err} on '{case.name}' "
                         f"(widths shape {case.widths.shape}, values shape {shape}).{hint}")
        label = _normalise(out)
        if label is None:
            return wrong(f"on '{case.name}' your function returned {out!r}; return one of the strings "
                         f"{', '.join(repr(x) for x in LABELS)}.")
        given.append(label)

    want = [_verdict(_slope(c), tol) for c in cases]
    if given != want:
        bad = next(i for i, (g, w) in enumerate(zip(given, want)) if g != w)
        where = (f"on '{cases[bad].name}' you said {given[bad]!r}, but the least-squares slope of "
                 f"log(value) on log(width) is {_slope(cases[bad]):+.2f}, so with tol = {tol:g} the "
                 f"verdict is {want[bad]!r}.")
        for name, pattern in _mistakes(cases, tol).items():
            if given == pattern:
                return wrong(_HINTS[name] + " For example, " + where)
        return wrong(where[0].upper() + where[1:])

    # does the function use its tol argument? the drift case changes verdict with a small tol
    drift = cases[_DRIFT_CASE]
    small = 0.5 * abs(_slope(drift))
    try:
        label = _normalise(classify(drift.widths.copy(), drift.values.copy(), small))
    except Exception as err:  # noqa: BLE001
        return wrong(f"your function raised {type(err).__name__}: {err} when called with tol = {small:.3f}.")
    if label != _verdict(_slope(drift), small):
        return wrong(f"with tol = {small:.3f} '{drift.name}' (exponent {_slope(drift):+.3f}) should be "
                     f"{_verdict(_slope(drift), small)!r}, you said {label!r}: use the tol argument "
                     "rather than a fixed threshold.")
    slopes = ", ".join(f"{_slope(c):+.2f}" for c in cases)
    return correct(f"all {len(cases)} cases classified (fitted exponents {slopes}), and your threshold "
                   "follows tol.")
