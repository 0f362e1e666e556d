"""Linearization of a network around its initialization, tangent features, empirical NTK.

For a network f(x; theta) with parameters theta_0 at initialization, the linearization is the
first-order Taylor expansion in the parameters,

    f_lin(x; theta) = f(x; theta_0) + J(x) (theta - theta_0),    J(x) = d f(x; theta_0) / d theta,

computed here with one forward-mode product (``jax.jvp``), never by forming J. The rows of
J(x) are the *tangent features* of x, and the empirical neural tangent kernel is their inner
product, Theta_hat(x, x') = J(x) J(x')^T. Parameters are any pytree (e.g. the list of
``{"w", "b"}`` dicts of :mod:`widenets.mlp`); ``apply_fn(params, x)`` returns (N, k).
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from widenets import _checks, _norms

Apply = Callable[[Any, jax.Array], jax.Array]


def linearize(apply_fn: Apply, params0: Any) -> Apply:
    """The linearized model ``f_lin(params, x) = f(x; params0) + J(x) (params - params0)``.

    ``params`` and ``params0`` are pytrees of the same structure; the Jacobian-vector
    product is one ``jax.jvp`` of ``apply_fn`` at ``params0`` (cost about two forward passes).
    The returned function has the signature of ``apply_fn``: (N, d) -> (N, k).
    """

    def f_lin(params, x):
        delta = jax.tree_util.tree_map(lambda p, p0: p - p0, params, params0)
        f0, df = jax.jvp(lambda p: apply_fn(p, x), (params0,), (delta,))
        return f0 + df

    return f_lin


def parameter_vector(params: Any) -> jax.Array:
    """All parameters of a pytree as one flat vector theta, shape (P,)."""
    return ravel_pytree(params)[0]


def num_params(params: Any) -> int:
    """P, the number of scalar parameters in ``params``."""
    return int(sum(np.size(p) for p in jax.tree_util.tree_leaves(params)))


def relative_change(params: Any, params0: Any) -> jax.Array:
    """||theta - theta_0|| / ||theta_0|| over all parameters (Euclidean norms)."""
    t, t0 = parameter_vector(params), parameter_vector(params0)
    return _norms.relative_change(t, t0)


def tangent_features(apply_fn: Apply, params: Any, x: jax.Array) -> jax.Array:
    """The tangent features J(x) = d f(x; params)/d theta, shape (N, k, P).

    Row (i, a) is the gradient of output a at input x_i with respect to all P parameters,
    flattened in the order of :func:`parameter_vector`. Memory N k P.
    """
    _checks.finite_array(x, "x", ndim=2)
    flat, unravel = ravel_pytree(params)
    jac = jax.jacrev(lambda v: apply_fn(unravel(v), x))(flat)
    return jac


def empirical_ntk(
    apply_fn: Apply,
    params: Any,
    x1: jax.Array,
    x2: jax.Array | None = None,
    average_outputs: bool = True,
) -> jax.Array:
    """The empirical NTK Theta_hat(x1, x2) = J(x1) J(x2)^T at ``params``.

    ``x1`` (N1, d), ``x2`` (N2, d) or None (x2 = x1). With ``average_outputs`` the result is
    (N1, N2), the kernel of one output averaged over the k outputs,
    (1/k) sum_a J_a(x1) . J_a(x2) (what ``neural_tangents.empirical_ntk_fn`` returns with
    its default ``trace_axes=(-1,)``); otherwise (N1, N2, k, k) with all output pairs.
    """
    _checks.finite_array(x1, "x1", ndim=2)
    if x2 is not None:
        _checks.finite_array(x2, "x2", ndim=2)
        if np.shape(x2)[1] != np.shape(x1)[1]:
            raise ValueError(
                f"x2 must have the same number of features as x1, got {np.shape(x2)[1]} "
                f"and {np.shape(x1)[1]}"
            )
    return _empirical_ntk(apply_fn, params, x1, x2, average_outputs)


def _empirical_ntk(apply_fn, params, x1, x2, average_outputs):
    """Unchecked :func:`empirical_ntk`, usable inside ``jit`` and ``vmap``."""
    flat, unravel = ravel_pytree(params)
    j1 = jax.jacrev(lambda v: apply_fn(unravel(v), x1))(flat)  # (N1, k, P)
    j2 = j1 if x2 is None else jax.jacrev(lambda v: apply_fn(unravel(v), x2))(flat)
    if average_outputs:
        return jnp.einsum("iap,jap->ij", j1, j2) / j1.shape[1]
    return jnp.einsum("iap,jbp->ijab", j1, j2)


def neural_tangents_empirical_ntk(
    apply_fn: Apply,
    params: Any,
    x1: jax.Array,
    x2: jax.Array | None = None,
    implementation: str = "jacobian_contraction",
) -> jax.Array:
    """The reference empirical NTK (N1, N2) from ``neural_tangents.empirical_ntk_fn``.

    ``implementation`` is ``"jacobian_contraction"`` or ``"ntk_vector_products"``.
    neural-tangents' default, STRUCTURED_DERIVATIVES, fails with the JAX this book pins
    (0.5.3), so it is not offered. Used by the tests and the book to check
    :func:`empirical_ntk`.
    """
    from widenets import reference

    _checks.one_of(implementation, ("jacobian_contraction", "ntk_vector_products"), "implementation")
    nt = reference.neural_tangents()
    impl = {
        "jacobian_contraction": nt.NtkImplementation.JACOBIAN_CONTRACTION,
        "ntk_vector_products": nt.NtkImplementation.NTK_VECTOR_PRODUCTS,
    }[implementation]
    import warnings

    fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0, implementation=impl)
    with warnings.catch_warnings():
        # neural-tangents 0.6.5 calls jnp.size on ShapeDtypeStructs (a JAX DeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn(x1, x2, params)
