"""Shared test set-up: a non-interactive matplotlib backend, float64."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import widenets  # noqa: E402,F401  (turns on float64)

# Hypothesis profiles for the property tests (tests/test_validation.py). "small" is the default
# and what `make test` runs (a few examples per property; JAX compiles once per new shape, so
# examples are expensive); "large" is for a thorough run: HYPOTHESIS_PROFILE=large pytest ...
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property tests skip themselves without hypothesis
    pass
else:
    _quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile("small", max_examples=6, deadline=None, derandomize=True,
                              database=None, suppress_health_check=_quiet, print_blob=True)
    settings.register_profile("large", max_examples=200, deadline=None,
                              suppress_health_check=_quiet, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "small"))
