"""Feature kernels and how to compare them: the measuring tape of "do features move?".

For hidden activations ``h`` of shape (N, n) (N inputs, n neurons) the *feature kernel* is

    K_h(x, x') = <h(x), h(x')> / n,                                         (N, N)

the Gram matrix a linear readout of the features sees. Two kernels are compared by their
*centered kernel alignment* (CKA; Cortes, Mohri & Rostamizadeh 2012, Kornblith et al. 2019)

    CKA(K1, K2) = <H K1 H, H K2 H>_F / (||H K1 H||_F ||H K2 H||_F),    H = I - 11^T / N,

a number in [-1, 1] (in [0, 1] for positive semi-definite kernels) that is invariant to
isotropic scaling of either kernel and, for linear kernels K = A A^T, to orthogonal
transformations of the features A -> A Q. The *label alignment* of a kernel with targets
y (N, k) is CKA(K, y y^T): how much of the kernel's centred variation lines up with the
label structure. How far a quantity moved during training is measured by the relative
Frobenius change ||a1 - a0||_F / ||a0||_F.

The public functions validate their input and return NumPy floats/arrays; the underscore
versions are pure ``jax.numpy`` and can be used inside ``jit``/``vmap``.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from widenets import _checks, _norms

#: below this centred Frobenius norm (relative to the raw norm) a kernel counts as constant
_CONSTANT_TOL = 1e-12


def _feature_kernel(acts: jnp.ndarray) -> jnp.ndarray:
    """<h(x), h(x')> / n for ``acts`` (N, n); pure jnp."""
    return acts @ acts.T / acts.shape[1]


def _center(k: jnp.ndarray) -> jnp.ndarray:
    """H K H with H = I - 11^T/N: subtract row and column means, add back the grand mean."""
    return k - k.mean(axis=0, keepdims=True) - k.mean(axis=1, keepdims=True) + k.mean()


def _cka(k1: jnp.ndarray, k2: jnp.ndarray) -> jnp.ndarray:
    """Centered kernel alignment of two (N, N) kernels; pure jnp (no checks)."""
    c1, c2 = _center(k1), _center(k2)
    return jnp.vdot(c1, c2) / (_norms.frobenius(c1) * _norms.frobenius(c2))  # see _norms


def _relative_change(a0, a1) -> jnp.ndarray:
    """||a1 - a0||_F / ||a0||_F; pure jnp."""
    return _norms.relative_change(a1, a0)


def feature_kernel(acts) -> np.ndarray:
    """The feature kernel K_h = h h^T / n, shape (N, N), of activations ``acts`` (N, n).

    Entry (i, j) is <h(x_i), h(x_j)>/n, the average over neurons of h_k(x_i) h_k(x_j);
    it has a finite limit as the width n grows when each h_k(x) is O(1).
    """
    _checks.matrix(acts, "acts")
    return np.asarray(_feature_kernel(jnp.asarray(acts)))


def _check_kernel(k, name: str) -> np.ndarray:
    k = _checks.symmetric_matrix(k, name, min_n=2, rtol=1e-8)  # CKA is defined for any symmetric k
    scale = max(float(np.linalg.norm(k)), 1e-300)
    if float(np.linalg.norm(np.asarray(_center(k)))) <= _CONSTANT_TOL * scale or not k.any():
        raise ValueError(f"{name} is constant after centring (all of its variation is a constant "
                         f"offset), so its alignment is undefined")
    return k


def centered_kernel_alignment(k1, k2) -> float:
    """CKA(K1, K2) = <H K1 H, H K2 H>_F / (||H K1 H||_F ||H K2 H||_F) for (N, N) kernels.

    Equals 1 when K2 = c K1 (c > 0); unchanged by K -> c K + d 11^T (c > 0), and, for
    linear kernels K = A A^T, by A -> A Q with Q orthogonal. Raises ``ValueError`` naming
    ``k1`` or ``k2`` if a kernel is not a finite symmetric square matrix, is constant after
    centring, or the shapes differ.
    """
    k1 = _check_kernel(k1, "k1")
    k2 = _check_kernel(k2, "k2")
    if k1.shape != k2.shape:
        raise ValueError(f"k1 and k2 must have the same shape, got {k1.shape} and {k2.shape}")
    return float(_cka(jnp.asarray(k1), jnp.asarray(k2)))


def label_alignment(k, y) -> float:
    """CKA of the kernel ``k`` (N, N) with the label kernel y y^T, ``y`` (N, k) or (N,) targets.

    For centred one-hot targets of c balanced classes, y y^T is (up to scale and a constant)
    the "same class" indicator, so this measures how much more similar the kernel makes two
    inputs of one class than two inputs of different classes.
    """
    _checks.finite_array(y, "y")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"y must have shape (N,) or (N, k), got {y.shape}")
    k = _check_kernel(k, "k")
    if y.shape[0] != k.shape[0]:
        raise ValueError(f"y must have one row per row of k ({k.shape[0]}), got {y.shape[0]}")
    ky = y @ y.T
    if np.linalg.norm(np.asarray(_center(ky))) <= _CONSTANT_TOL * max(np.linalg.norm(ky), 1e-300) \
            or not ky.any():
        raise ValueError("y is constant across examples, so its label kernel is constant after centring")
    return float(_cka(jnp.asarray(k), jnp.asarray(ky)))


def relative_change(a0, a1) -> float:
    """The relative Frobenius change ||a1 - a0||_F / ||a0||_F of an array (any shape).

    Raises ``ValueError`` naming ``a0``/``a1`` for non-finite input, mismatched shapes, or
    ``a0`` = 0 (the relative change is then undefined).
    """
    _checks.finite_array(a0, "a0")
    _checks.finite_array(a1, "a1")
    a0, a1 = np.asarray(a0, dtype=np.float64), np.asarray(a1, dtype=np.float64)
    if a0.shape != a1.shape:
        raise ValueError(f"a0 and a1 must have the same shape, got {a0.shape} and {a1.shape}")
    if not a0.any():
        raise ValueError("a0 is all zeros, so the relative change is undefined")
    return float(np.linalg.norm(a1 - a0) / np.linalg.norm(a0))
