"""Shared test set-up: quiet TensorFlow, a non-interactive matplotlib backend, float64."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import widenets  # noqa: E402,F401  (turns on float64)
