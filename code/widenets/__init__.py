"""widenets: the shared package of the textbook *Kernels vs. Features*.

Every chapter of the book is prose plus a few calls into this package. Importing it

* turns on float64 in JAX (``jax_enable_x64``), because the book compares finite
  networks with closed forms to 1e-10; pass float32 arrays where speed matters more.

No submodule imports ``matplotlib.pyplot`` (until a figure is drawn), scikit-learn or
neural-tangents (only :mod:`widenets.reference` does, when asked).

Modules (one job each): ``data``, ``plotting``, ``activations``, ``mlp``, ``train``,
and the chapters' modules listed in the API appendix of the book.
"""
from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"

from widenets._checks import DivergenceWarning  # noqa: E402,F401  (training that produced nan/inf)
