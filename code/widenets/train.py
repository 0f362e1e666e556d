"""Full-batch gradient descent and Adam as ``lax.scan`` loops that return trajectories.

Both take a loss ``loss_fn(params) -> scalar`` and per-parameter learning-rate factors
``lr_scales`` (a pytree like ``params``, e.g. :meth:`widenets.mlp.MLP.lr_scales`), so
the update of a leaf p is ``p <- p - lr * scale * g`` (GD) or the Adam step scaled the
same way. ``record(params)`` is evaluated before the first step and after every step, so
each recorded array has a leading axis of length ``steps + 1``.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from widenets import _checks

Record = Callable[[Any], Any]


def mse_loss(apply_fn: Callable, x: jax.Array, y: jax.Array) -> Callable[[Any], jax.Array]:
    """The squared loss L(params) = 1/(2N) sum_i ||f(x_i) - y_i||^2 for x (N, d), y (N, k).

    With this normalisation gradient flow moves the training outputs as
    d f/dt = -(1/N) Theta (f - y), Theta the (empirical) NTK on the training set.
    """
    _checks.matrix(x, "x")
    _checks.matrix(y, "y")
    _checks.same_length(x, y, "x", "y")
    n = x.shape[0]

    def loss(params):
        out = apply_fn(params, x)
        if jnp.shape(out) != jnp.shape(y):  # shapes are static: checked once per trace
            raise ValueError(
                f"y must have the shape of the model's output {jnp.shape(out)} (N, out_dim), "
                f"got {jnp.shape(y)}"
            )
        r = out - y
        return 0.5 * jnp.sum(r * r) / n

    return loss


def squared_loss(apply_fn: Callable, x: jax.Array, y: jax.Array) -> Callable[[Any], jax.Array]:
    """:func:`mse_loss` without its input checks, for ``x``, ``y`` that are traced arrays
    (inside ``jit`` or ``vmap``, where the checks cannot look at the values)."""
    return lambda params: 0.5 * jnp.sum((apply_fn(params, x) - y) ** 2) / x.shape[0]


def _check_common(steps: int, lr: float) -> tuple[int, float]:
    return _checks.nonnegative_int(steps, "steps"), _checks.positive(lr, "lr")


def _scales(params, lr_scales):
    if lr_scales is None:
        return jax.tree_util.tree_map(lambda p: 1.0, params)
    if jax.tree_util.tree_structure(lr_scales) != jax.tree_util.tree_structure(params):
        raise ValueError("lr_scales must have the same tree structure as params")
    return lr_scales


def gradient_descent(
    loss_fn: Callable[[Any], jax.Array],
    params: Any,
    steps: int,
    lr: float,
    lr_scales: Any = None,
    record: Record | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Run ``steps`` steps of full-batch GD, p <- p - lr * scale_p * dL/dp.

    Returns ``(final_params, history)`` with ``history["loss"]`` of shape (steps + 1,)
    and ``history["record"]`` the stacked outputs of ``record`` (leading axis steps + 1).
    Called outside ``jit``, a loss that became nan or inf raises a
    :class:`widenets.DivergenceWarning` (the trajectory is returned as computed).
    """
    steps, lr = _check_common(steps, lr)
    scales = _scales(params, lr_scales)
    record = record or (lambda p: ())
    value_and_grad = jax.value_and_grad(loss_fn)

    def step(p, _):
        loss, g = value_and_grad(p)
        rec = record(p)
        p = jax.tree_util.tree_map(lambda a, s, d: a - lr * s * d, p, scales, g)
        return p, (loss, rec)

    final, (losses, recs) = jax.lax.scan(step, params, None, length=steps)
    last_loss, last_rec = loss_fn(final), record(final)
    losses = jnp.concatenate([losses, last_loss[None]])
    recs = jax.tree_util.tree_map(lambda r, l: jnp.concatenate([r, jnp.asarray(l)[None]]), recs, last_rec)
    _checks.warn_if_diverged(losses, "gradient_descent: the loss")
    return final, {"loss": losses, "record": recs}


def adam(
    loss_fn: Callable[[Any], jax.Array],
    params: Any,
    steps: int,
    lr: float,
    lr_scales: Any = None,
    record: Record | None = None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[Any, dict[str, Any]]:
    """Run ``steps`` steps of full-batch Adam (Kingma & Ba) with per-leaf learning rates.

    m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,
    p <- p - lr * scale_p * mhat / (sqrt(vhat) + eps),  mhat, vhat bias-corrected.
    Returns ``(final_params, history)`` as :func:`gradient_descent` (and warns like it).
    """
    steps, lr = _check_common(steps, lr)
    b1 = _checks.in_interval(b1, "b1", 0.0, 1.0, "[)")
    b2 = _checks.in_interval(b2, "b2", 0.0, 1.0, "[)")
    eps = _checks.positive(eps, "eps")
    scales = _scales(params, lr_scales)
    record = record or (lambda p: ())
    value_and_grad = jax.value_and_grad(loss_fn)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)

    def step(state, t):
        p, m, v = state
        loss, g = value_and_grad(p)
        rec = record(p)
        m = jax.tree_util.tree_map(lambda a, d: b1 * a + (1 - b1) * d, m, g)
        v = jax.tree_util.tree_map(lambda a, d: b2 * a + (1 - b2) * d * d, v, g)
        c1, c2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
        p = jax.tree_util.tree_map(
            lambda a, s, mm, vv: (a - lr * s * (mm / c1) / (jnp.sqrt(vv / c2) + eps)).astype(a.dtype),
            p, scales, m, v,
        )
        return (p, m, v), (loss, rec)

    (final, _, _), (losses, recs) = jax.lax.scan(step, (params, zeros, zeros), jnp.arange(steps))
    last_loss, last_rec = loss_fn(final), record(final)
    losses = jnp.concatenate([losses, last_loss[None]])
    recs = jax.tree_util.tree_map(lambda r, l: jnp.concatenate([r, jnp.asarray(l)[None]]), recs, last_rec)
    _checks.warn_if_diverged(losses, "adam: the loss")
    return final, {"loss": losses, "record": recs}
