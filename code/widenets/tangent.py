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

import functools
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
        _checks.params_match(params, params0)
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
    _checks.matrix(x, "x")
    _fits(apply_fn, params, x, "x")
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
    _checks.matching_features(x1, x2)
    _fits(apply_fn, params, x1, "x1")
    try:
        fn = _ntk_jit(apply_fn, bool(average_outputs))
    except TypeError:  # an unhashable apply_fn: trace it afresh
        return jax.jit(lambda p, a, b: _empirical_ntk(apply_fn, p, a, b, average_outputs))(params, x1, x2)
    return fn(params, x1, x2)


def _fits(apply_fn, params, x, name):
    """Raise a ValueError naming ``name`` if ``apply_fn(params, x)`` cannot be evaluated, e.g. x
    of the wrong feature dimension (JAX would raise a TypeError from deep inside the network)."""
    net = _mlp_of(apply_fn)
    if net is not None:
        _checks.net_inputs(net, x, name)
        _checks.net_params(net, params)
        return
    try:
        jax.eval_shape(apply_fn, params, x)
    except TypeError as err:
        raise ValueError(f"{name} of shape {np.shape(x)} does not fit apply_fn and params: {err}") from None


def _empirical_ntk(apply_fn, params, x1, x2, average_outputs):
    """Unchecked :func:`empirical_ntk`, usable inside ``jit`` and ``vmap``.

    For a ``widenets.mlp.MLP``'s ``apply`` the contraction is done layer by layer without
    forming J (:func:`_mlp_ntk`); otherwise J is formed per parameter array and contracted
    array by array (neural-tangents' "Jacobian contraction"), never as one flat (N, k, P) copy.
    """
    net = _mlp_of(apply_fn)
    if net is not None:
        return _mlp_ntk(net, params, x1, x2, average_outputs)
    j1 = jax.jacrev(apply_fn)(params, x1)  # pytree of (N1, k, *leaf.shape)
    j2 = j1 if x2 is None else jax.jacrev(apply_fn)(params, x2)
    spec = "ia...,ja...->ij" if average_outputs else "ia...,jb...->ijab"
    terms = [jnp.einsum(spec, a, b) for a, b in zip(jax.tree_util.tree_leaves(j1),
                                                   jax.tree_util.tree_leaves(j2))]
    total = sum(terms[1:], terms[0])
    if average_outputs:
        return total / jax.tree_util.tree_leaves(j1)[0].shape[1]
    return total


def _mlp_of(apply_fn):
    """The ``MLP`` whose bound ``apply`` is ``apply_fn``, or None."""
    from widenets import mlp

    owner = getattr(apply_fn, "__self__", None)
    if isinstance(owner, mlp.MLP) and getattr(apply_fn, "__func__", None) is mlp.MLP.apply:
        return owner
    return None


def _mlp_ntk(net, params, x1, x2, average_outputs):
    """The empirical NTK of an MLP, contracted layer by layer (no Jacobian is formed).

    Layer l computes h_l = z_l (g_l w_l) + s_l b_l from its input z_l (x for l = 1, else
    phi(h_{l-1})). With delta_{l,a}(x) = d f_a(x) / d h_l (one backward pass per output a),
    the gradients are d f_a / d w_l = g_l z_l^T delta_{l,a} and d f_a / d b_l = s_l delta_{l,a},
    so their inner products over inputs x, x' factor:

        Theta_ab(x, x') = sum_l (g_l^2 <z_l(x), z_l(x')> + s_l^2) <delta_{l,a}(x), delta_{l,b}(x')>.

    Cost per layer N1 N2 (fan_in + k fan_out) instead of N1 N2 k fan_in fan_out.
    """
    from widenets import activations

    phi = activations.get(net.activation)
    mults = net.multipliers()

    def parts(x):
        def forward(shifts):
            z, inputs = x, []
            for l, ((gw, gb), shift) in enumerate(zip(mults, shifts)):
                inputs.append(z)
                h = z @ (gw * params[l]["w"]) + gb * params[l]["b"] + shift
                z = phi(h) if l < net.depth else h
            return net.output_scale * z, inputs

        zeros = [jnp.zeros((x.shape[0], fan_out), x.dtype) for _, fan_out in net.layer_dims()]
        out, pullback, inputs = jax.vjp(forward, zeros, has_aux=True)
        k = out.shape[1]
        cotangents = jnp.broadcast_to(jnp.eye(k, dtype=out.dtype)[:, None, :], (k,) + out.shape)
        deltas = jax.vmap(lambda c: pullback(c)[0])(cotangents)  # per layer (k, N, fan_out)
        return inputs, deltas, k

    in1, d1, k = parts(x1)
    in2, d2, _ = (in1, d1, k) if x2 is None else parts(x2)
    total = 0.0
    for (gw, gb), a, b, da, db in zip(mults, in1, in2, d1, d2):
        gram = gw**2 * (a @ b.T) + gb**2  # (N1, N2)
        if average_outputs:
            total = total + gram * jnp.einsum("aim,ajm->ij", da, db) / k
        else:
            total = total + gram[:, :, None, None] * jnp.einsum("aim,bjm->ijab", da, db)
    return total


@functools.lru_cache(maxsize=32)
def _ntk_jit(apply_fn, average_outputs: bool = True):
    """``jax.jit`` of :func:`_empirical_ntk` for one ``apply_fn`` (compiled once per shape)."""
    return jax.jit(lambda params, x1, x2: _empirical_ntk(apply_fn, params, x1, x2, average_outputs))


def neural_tangents_empirical_ntk(
    apply_fn: Apply,
    params: Any,
    x1: jax.Array,
    x2: jax.Array | None = None,
    implementation: str = "jacobian_contraction",
) -> jax.Array:
    """The reference empirical NTK (N1, N2) from ``neural_tangents.empirical_ntk_fn``.

    ``implementation`` is ``"jacobian_contraction"`` or ``"ntk_vector_products"``.
    neural-tangents' default, STRUCTURED_DERIVATIVES, fails on JAX >= 0.6 (it reads JAX
    internals that moved), so it is not offered. Used by the tests and the book to check
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

    # jitted, as neural-tangents' documentation recommends: run eagerly it is many times slower
    fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0, implementation=impl))
    with warnings.catch_warnings():
        # neural-tangents 0.6.5 calls jnp.size on ShapeDtypeStructs (a JAX DeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn(x1, x2, params)
