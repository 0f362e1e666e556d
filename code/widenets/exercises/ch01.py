"""Checker for the coding exercise of chapter 1: the empirical NTK from tangent features."""
from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from widenets import mlp, tangent
from widenets.exercises import Feedback, correct, wrong


def exercise_setup():
    """The network, parameters and inputs of the exercise: a depth-1 ReLU MLP of width 64 in
    NTK parametrization (d = 2, one output), theta_0 from PRNGKey(0), 5 inputs on the circle.
    Returns ``(net, params, x)``."""
    net = mlp.mlp(2, 64, 1, 1, "relu", "ntk", sigma_b=0.5)
    params = net.init(jax.random.PRNGKey(0))
    t = np.linspace(-2.5, 2.5, 5)
    x = np.sqrt(2.0) * np.stack([np.cos(t), np.sin(t)], axis=1)
    return net, params, x


def check_empirical_ntk(student_fn: Callable) -> Feedback:
    """Check ``student_fn(apply_fn, params, x) -> (N, N)``, the empirical NTK
    Theta_hat(x_i, x_j) = grad_theta f(x_i) . grad_theta f(x_j) of a one-output network.

    Runs it on :func:`exercise_setup` and compares with :func:`widenets.tangent.empirical_ntk`
    to 1e-8 relative; diagnoses the usual slips (a missing layer or bias, a factor, a
    transposed or non-symmetric answer)."""
    net, params, x = exercise_setup()
    try:
        ans = np.asarray(student_fn(net.apply, params, x), dtype=np.float64)
    except Exception as e:  # noqa: BLE001 - report any failure of the student's code
        return wrong(f"your function raised {type(e).__name__}: {e}")
    ref = np.asarray(tangent.empirical_ntk(net.apply, params, x))
    if ans.shape != ref.shape:
        return wrong(f"expected an (N, N) = {ref.shape} matrix, got shape {ans.shape}.")
    if not np.all(np.isfinite(ans)):
        return wrong("your kernel contains nan or inf.")
    err = np.max(np.abs(ans - ref)) / np.max(np.abs(ref))
    if err < 1e-8:
        return correct(f"your empirical NTK matches to {err:.1e} relative.")
    if np.max(np.abs(ans - ans.T)) > 1e-8 * np.max(np.abs(ans)):
        return wrong("your kernel is not symmetric: Theta_hat(x, x') must equal Theta_hat(x', x).")
    ratio = np.sum(ans * ref) / np.sum(ref * ref)
    if np.max(np.abs(ans - ratio * ref)) < 1e-8 * np.max(np.abs(ref)):
        return wrong(f"your kernel is {ratio:.4g} times the right one: check the multipliers "
                     "(sigma_w/sqrt(d), sigma_w/sqrt(n), sigma_b) in the gradients.")
    # contributions of each layer's weights and biases, to name a missing one
    parts = {}
    for l in range(len(params)):
        for name in ("w", "b"):
            def f_sub(v, l=l, name=name):
                q = [dict(p) for p in params]
                q[l][name] = v
                return net.apply(q, x)[:, 0]
            J = jax.jacrev(f_sub)(params[l][name]).reshape(x.shape[0], -1)
            parts[f"layer {l + 1} {'weights' if name == 'w' else 'biases'}"] = np.asarray(J @ J.T)
    for l in range(len(params)):
        parts[f"layer {l + 1} (weights and biases)"] = (
            parts[f"layer {l + 1} weights"] + parts[f"layer {l + 1} biases"]
        )
    for name, part in parts.items():
        if np.max(np.abs(ans - (ref - part))) < 1e-8 * np.max(np.abs(ref)):
            return wrong(f"you left out the gradient with respect to the {name}: the NTK sums "
                         "over all parameters.")
    return wrong(f"your kernel differs from the empirical NTK by {err:.2e} (relative, max entry).")
