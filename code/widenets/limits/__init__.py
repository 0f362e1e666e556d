"""Tensor Programs limits: infinite-width training dynamics computed exactly.

A subpackage with one job per module; every name is re-exported here, so ``limits.<name>``
works for all of them:

* ``widenets.limits.master``: **Master Theorem checks** (:func:`master_theorem_errors`):
  coordinate averages of a small Tensor Program against the Gaussian expectations over its Z
  variables (with the Gauss-Hermite rules of ``widenets.limits.quadrature``).
* ``widenets.limits.linear``: **the exact muP limit of a 1-hidden-layer linear network**
  (:func:`linear_mup_train`), a finite deterministic recursion on coefficient matrices.
* ``widenets.limits.meanfield``: **the muP (= mean-field) limit of a 1-hidden-layer nonlinear
  network** (:func:`mf_limit_train`, :func:`mf_limit_qmc`), an expectation over one neuron's
  Gaussian initial state.
* ``widenets.limits.kernel``: the kernel (NTK) limit of the same training (:func:`kernel_gd`).
* ``widenets.limits.dmft``: **the muP limit of a deep nonlinear network** by discrete-time
  dynamical mean-field theory (:func:`dmft_train`), and its exact deterministic version for
  linear activations (:func:`dmft_linear_exact`).

Everything runs in float64; each computation is checked against finite networks in
``tests/test_limits.py`` and ``tests/test_dmft.py``.
"""
from widenets.limits.dmft import (
    DMFTResult,
    dmft_cost,
    dmft_finite_outputs,
    dmft_linear_exact,
    dmft_train,
    per_seed_slopes,
    plot_deep_limit,
    plot_dmft_cost,
)
from widenets.limits.kernel import kernel_gd, linear_ntk
from widenets.limits.linear import (
    LinearMuPState,
    finite_linear_outputs,
    linear_mup_apply,
    linear_mup_feature_kernel,
    linear_mup_gram,
    linear_mup_init,
    linear_mup_train,
)
from widenets.limits.master import MasterTheoremCheck, master_theorem_errors, master_theorem_limits
from widenets.limits.meanfield import (
    finite_mup_outputs,
    mf_limit_cost,
    mf_limit_qmc,
    mf_limit_train,
    mf_particles_train,
    mup_network_to_particles,
)
from widenets.limits.quadrature import gauss_hermite, gauss_hermite_grid

__all__ = [
    "LinearMuPState",
    "linear_mup_init",
    "linear_mup_apply",
    "linear_mup_feature_kernel",
    "linear_mup_train",
    "linear_mup_gram",
    "linear_ntk",
    "kernel_gd",
    "finite_linear_outputs",
    "gauss_hermite",
    "gauss_hermite_grid",
    "MasterTheoremCheck",
    "master_theorem_limits",
    "master_theorem_errors",
    "mf_particles_train",
    "mf_limit_train",
    "mf_limit_qmc",
    "mup_network_to_particles",
    "finite_mup_outputs",
    "mf_limit_cost",
    "DMFTResult",
    "dmft_train",
    "dmft_linear_exact",
    "dmft_finite_outputs",
    "dmft_cost",
    "per_seed_slopes",
    "plot_deep_limit",
    "plot_dmft_cost",
]
