"""Pointwise nonlinearities phi used by the networks and by their kernels.

The names here are the only activations the book uses; :mod:`widenets.kernels` has a
closed-form expectation for each of them.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from widenets import _checks

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "erf": jax.scipy.special.erf,
    "tanh": jnp.tanh,
    "identity": lambda z: z,
}


def get(name: str) -> Callable[[jax.Array], jax.Array]:
    """Return phi for ``name`` in ``relu``, ``erf``, ``tanh``, ``identity``."""
    return ACTIVATIONS[_checks.one_of(name, tuple(ACTIVATIONS), "activation")]
