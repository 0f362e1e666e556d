"""Checkers for the exercises of chapter 6 (abc-parametrizations and muP)."""
from __future__ import annotations

import numpy as np

from widenets import exercises, mlp

_LAYER = {0: "input layer W^1", 1: "hidden layer W^2", 2: "output layer W^3"}


def check_mup_exponents(a, b, c, optimizer: str = "sgd") -> exercises.Feedback:
    """Check abc exponents (three entries each: input, hidden, output weights) proposed as the
    muP of a 3-layer network (two hidden layers) trained with ``optimizer`` ("sgd" or "adam").

    Any member of muP's abc-symmetry class (a + t, b - t, c - 2t for SGD, c - t for Adam,
    layer by layer) is accepted: what is checked is the width exponent of each layer's
    initial entries, n^{-(a+b)}, and of its update, n^{-(2a+c)} (SGD) or n^{-(a+c)} (Adam).
    """
    if optimizer not in ("sgd", "adam"):
        return exercises.wrong(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    try:
        a, b, c = (np.asarray(v, dtype=float).ravel() for v in (a, b, c))
    except (TypeError, ValueError):
        return exercises.wrong("a, b and c must be sequences of numbers.")
    if not (a.size == b.size == c.size == 3):
        return exercises.wrong(
            f"a 3-layer network has three weight matrices, so a, b, c need three entries each "
            f"(got {a.size}, {b.size}, {c.size})."
        )
    ref = mlp.parametrization("mup", depth=2, optimizer=optimizer)
    ra, rb, rc = (np.asarray(v) for v in (ref.a, ref.b, ref.c))
    upd = (lambda a_, c_: 2 * a_ + c_) if optimizer == "sgd" else (lambda a_, c_: a_ + c_)
    problems = []
    for l in range(3):
        init, init_ref = a[l] + b[l], ra[l] + rb[l]
        if not np.isclose(init, init_ref):
            size = "too large" if init < init_ref else "too small"
            problems.append(
                f"{_LAYER[l]}: its initial entries scale like n^{-init:+g}, {size}; muP needs "
                f"n^{-init_ref:+g} (a + b = {init_ref:g})"
            )
        u, u_ref = upd(a[l], c[l]), upd(ra[l], rc[l])
        if not np.isclose(u, u_ref):
            size = "too large" if u < u_ref else "too small"
            form = "2a + c" if optimizer == "sgd" else "a + c"
            problems.append(
                f"{_LAYER[l]}: its {optimizer.upper()} update scales like n^{-u:+g}, {size}; muP needs "
                f"{form} = {u_ref:g}"
            )
    if problems:
        return exercises.wrong("; ".join(problems) + ".")
    return exercises.correct(
        "every layer's initialization and update have the muP width exponents "
        "(up to the abc symmetry). Run a coordinate check with mlp.abc(a, b, c) to see it flat."
    )
