"""The kernel (NTK) limit of the same full-batch GD: gradient descent in function space with a fixed kernel."""
from __future__ import annotations


import jax
import jax.numpy as jnp

from widenets import _checks, train
from widenets.limits._common import _steps


def linear_ntk(x1: jax.Array, x2: jax.Array | None = None, sigma_w: float = 1.0,
               output_scale: float = 1.0) -> jax.Array:
    """The NTK of f(x) = s x U V in NTK parametrization at infinite width, (N1, N2):
    Theta(x, x') = 2 s^2 sigma^4 x.x' / d (half from U, half from V), the same for each output.
    (The linear network's NNGP kernel is s^2 sigma^4 x.x' / d.)"""
    _checks.matching_features(x1, x2)
    x2 = x1 if x2 is None else x2
    sigma = _checks.positive(sigma_w, "sigma_w")
    output_scale = _checks.finite_number(output_scale, "output_scale", nonzero=True)
    d = x1.shape[1]
    return 2.0 * output_scale**2 * sigma**4 * jnp.asarray(x1, jnp.float64) @ jnp.asarray(x2, jnp.float64).T / d


def kernel_gd(
    k_train: jax.Array,
    y: jax.Array,
    steps: int,
    lr: float,
    k_eval: jax.Array | None = None,
    f0_train: jax.Array | None = None,
    f0_eval: jax.Array | None = None,
) -> dict:
    """Gradient descent in function space with a fixed kernel (the NTK limit of GD on the
    loss 1/(2N) sum ||f - y||^2): with r_t = f_t(X) - Y,

        r_{t+1} = (I - lr Theta / N) r_t,    f_t(x) = f_0(x) - lr / N Theta(x, X) sum_{s<t} r_s.

    Shapes: ``k_train`` (N, N) = Theta(X, X), ``y`` (N, k), ``k_eval`` (M, N) = Theta(x_eval, X),
    ``f0_*`` initial outputs (default 0: the mean over initializations). Returns
    ``{"loss": (steps + 1,), "train": (steps + 1, N, k), "outputs": (steps + 1, M, k)}``.
    """
    steps = _steps(steps)
    lr = _checks.positive(lr, "lr")
    kt = jnp.asarray(_checks.psd_matrix(k_train, "k_train"), jnp.float64)
    y = jnp.asarray(_checks.finite_array(y, "y", ndim=2), jnp.float64)
    n = y.shape[0]
    if kt.shape != (n, n):
        raise ValueError(f"k_train must have shape ({n}, {n}), got {kt.shape}")
    ke = kt if k_eval is None else jnp.asarray(_checks.finite_array(k_eval, "k_eval", ndim=2), jnp.float64)
    if ke.shape[1] != n:
        raise ValueError(f"k_eval must have {n} columns, got shape {ke.shape}")
    k = y.shape[1]
    f0t = jnp.zeros_like(y) if f0_train is None else jnp.asarray(
        _checks.matrix(f0_train, "f0_train", rows=n, cols=k, cols_what="y's columns"), jnp.float64)
    f0e = jnp.zeros((ke.shape[0], k)) if f0_eval is None else jnp.asarray(
        _checks.matrix(f0_eval, "f0_eval", rows=ke.shape[0], cols=k, cols_what="y's columns"), jnp.float64)

    def step(carry, _):
        ft, fe = carry
        r = ft - y
        out = (0.5 * jnp.sum(r * r) / n, ft, fe)
        return (ft - lr / n * kt @ r, fe - lr / n * ke @ r), out

    (ft, fe), (loss, tr, ev) = jax.lax.scan(step, (f0t, f0e), None, length=steps)
    r = ft - y
    return {
        "loss": jnp.concatenate([loss, (0.5 * jnp.sum(r * r) / n)[None]]),
        "train": jnp.concatenate([tr, ft[None]]),
        "outputs": jnp.concatenate([ev, fe[None]]),
    }
