"""Checkers for the exercises of chapter 7 (Tensor Programs limits)."""
from __future__ import annotations

import numpy as np

from widenets import exercises, limits


def check_linear_step(alpha1, beta1, x, y, lr: float, sigma_w: float = 1.0) -> exercises.Feedback:
    """Check one step of the infinite-width linear muP recursion from initialization:
    ``alpha1`` (d, d + k) and ``beta1`` (k, d + k) after one GD step with learning rate ``lr``
    on inputs ``x`` (N, d) and targets ``y`` (N, k)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d, k = x.shape[1], y.shape[1]
    try:
        alpha1, beta1 = np.asarray(alpha1, float), np.asarray(beta1, float)
    except (TypeError, ValueError):
        return exercises.wrong("alpha1 and beta1 must be arrays of numbers.")
    if alpha1.shape != (d, d + k) or beta1.shape != (k, d + k):
        return exercises.wrong(
            f"alpha1 must have shape ({d}, {d + k}) and beta1 ({k}, {d + k}); "
            f"got {alpha1.shape} and {beta1.shape}."
        )
    st, _ = limits.linear_mup_train(x, y, 1, lr, sigma_w=sigma_w)
    a_ok = np.allclose(alpha1, st.alpha, atol=1e-8)
    b_ok = np.allclose(beta1, st.beta, atol=1e-8)
    if a_ok and b_ok:
        return exercises.correct("both coefficient matrices match the limit's first step.")
    a0 = limits.linear_mup_init(d, k, sigma_w)
    msgs = []
    if not a_ok:
        if np.allclose(alpha1, a0.alpha):
            msgs.append("alpha1 equals its initial value: at step 0 beta has no component along "
                        "the U_0 directions, but it does along V_0, so alpha does move")
        elif np.allclose(alpha1 - a0.alpha, (st.alpha - a0.alpha) * d):
            msgs.append("alpha1's update is d times too large: the input layer's multiplier is sigma_w/sqrt(d)")
        else:
            msgs.append("alpha1 is wrong: its update is -lr sigma_w^2 / d X^T chi beta_0, chi = (f_0 - Y)/N")
    if not b_ok:
        if np.allclose(beta1, a0.beta):
            msgs.append("beta1 equals its initial value: the output weights move too")
        else:
            msgs.append("beta1 is wrong: its update is -lr sigma_w^2 chi^T X alpha_0 (use alpha_0, "
                        "not the updated alpha: the step is simultaneous)")
    return exercises.wrong("; ".join(msgs) + ".")
