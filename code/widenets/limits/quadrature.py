"""Gauss-Hermite rules for Gaussian expectations (one-dimensional and tensor-product)."""
from __future__ import annotations

import itertools

import numpy as np

from widenets import _checks


def gauss_hermite(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (order,) and weights (order,) with sum_j w_j g(z_j) ~ E g(Z), Z ~ N(0, 1)."""
    order = _checks.positive_int(order, "order")
    z, w = np.polynomial.hermite_e.hermegauss(order)
    return z, w / np.sqrt(2.0 * np.pi)


def gauss_hermite_grid(dim: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product Gauss-Hermite rule for E g(Z), Z ~ N(0, I_dim): nodes (order^dim, dim),
    weights (order^dim,). Exact for polynomials of degree < 2 * order in each coordinate."""
    dim = _checks.positive_int(dim, "dim")
    z, w = gauss_hermite(order)
    if order**dim > 4_000_000:
        raise ValueError(f"order**dim = {order**dim} quadrature nodes is too many; lower order or dim")
    nodes = np.array(list(itertools.product(z, repeat=dim)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=dim))), axis=1)
    return nodes, weights
