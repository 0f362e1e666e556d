"""Yang & Hu's Dynamical Dichotomy as arithmetic on the exponents of an abc-parametrization.

For an MLP with L hidden layers trained by SGD with a learning rate eta n^{-c} (one c for every
weight; biases inert, sigma_b = 0), Yang & Hu (2021, Definition 3.2 and Theorems 3.3, 3.5, 3.9)
reduce its infinite-width behaviour to

    r = min(a_{L+1} + b_{L+1}, 2 a_{L+1} + c) + c - 1 + min_{1<=l<=L} (2 a_l + 1[l = 1]),

the exponent of the features' change after one step (Delta x^L = Theta(n^{-r})):

* **stable** iff a_1 + b_1 = 0, a_l + b_l = 1/2 (2 <= l <= L), a_{L+1} + b_{L+1} >= 1/2
  (initialization), r >= 0 (features), and 2 a_{L+1} + c >= 1 and a_{L+1} + b_{L+1} + r >= 1
  (the output during training: W^{L+1}_t Delta x^L and Delta W^{L+1} x^L);
* a stable parametrization is **nontrivial** iff a_{L+1} + b_{L+1} + r = 1 or 2 a_{L+1} + c = 1:
  the output changes by Theta(n^{-e}) with e = min(a_{L+1} + b_{L+1} + r - 1, 2 a_{L+1} + c - 1);
* a stable, nontrivial parametrization **learns features** iff r = 0, and is in the
  **kernel regime** iff r > 0.

:func:`classify` evaluates these conditions; ``tests/test_dichotomy.py`` checks them on the named
parametrizations and on a stable parametrization with r = 0 that is trivial, measured.
"""
from __future__ import annotations

from typing import NamedTuple

from widenets import _checks, mlp

_TOL = 1e-12


class Classification(NamedTuple):
    """What :func:`classify` finds: ``regime`` is "unstable", "trivial", "kernel" or
    "feature learning"; ``feature_exponent`` = -r and ``output_exponent`` = -e are the predicted
    exponents of the one-step feature change and of the output change in the width n;
    ``violated`` lists the stability conditions that fail."""

    r: float
    stable: bool
    nontrivial: bool
    regime: str
    feature_exponent: float
    output_exponent: float
    violated: tuple[str, ...]


def r_exponent(param: mlp.Parametrization) -> float:
    """Yang & Hu's r for ``param`` (see the module docstring); needs one c for every weight."""
    _check(param)
    a, b, c = param.a, param.b, param.c[0]
    L = param.depth
    return (min(a[L] + b[L], 2 * a[L] + c) + c - 1
            + min(2 * a[l] + (1.0 if l == 0 else 0.0) for l in range(L)))


def classify(param: mlp.Parametrization) -> Classification:
    """Stability, nontriviality and regime of ``param`` by Yang & Hu's conditions."""
    r = r_exponent(param)
    a, b, c = param.a, param.b, param.c[0]
    L = param.depth
    conditions = {
        "a_1 + b_1 = 0": abs(a[0] + b[0]) < _TOL,
        "a_l + b_l = 1/2 for hidden layers": all(abs(a[l] + b[l] - 0.5) < _TOL for l in range(1, L)),
        "a_{L+1} + b_{L+1} >= 1/2": a[L] + b[L] >= 0.5 - _TOL,
        "r >= 0": r >= -_TOL,
        "2 a_{L+1} + c >= 1": 2 * a[L] + c >= 1 - _TOL,
        "a_{L+1} + b_{L+1} + r >= 1": a[L] + b[L] + r >= 1 - _TOL,
    }
    violated = tuple(name for name, ok in conditions.items() if not ok)
    e = min(a[L] + b[L] + r - 1, 2 * a[L] + c - 1)
    stable = not violated
    nontrivial = stable and abs(e) < _TOL
    if not stable:
        regime = "unstable"
    elif not nontrivial:
        regime = "trivial"
    elif abs(r) < _TOL:
        regime = "feature learning"
    else:
        regime = "kernel"
    return Classification(float(r), stable, nontrivial, regime, 0.0 - r, 0.0 - e, violated)


def _check(param) -> None:
    if not isinstance(param, mlp.Parametrization):
        raise ValueError(f"param must be a widenets.mlp.Parametrization, got {param!r}")
    if max(param.c) - min(param.c) > _TOL:
        raise ValueError(
            f"param must have one learning-rate exponent c for every weight (the SGD setting of "
            f"Yang & Hu's r), got c = {param.c}")
    _checks.finite_number(param.c[0], "param.c")
