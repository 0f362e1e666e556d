"""Quiet access to neural-tangents, the independent reference implementation.

neural-tangents 0.6.5 imports TensorFlow (through tf2jax) at import time, and TensorFlow's
C++ runtime writes log lines to file descriptor 2 before ``TF_CPP_MIN_LOG_LEVEL`` can
take effect. In a notebook those lines would land in the cell's output, so this module
imports neural-tangents with descriptor 2 pointed at /dev/null. Nothing else in
``widenets`` imports neural-tangents: the book's own implementations are the teaching
material, neural-tangents is what they are checked against.
"""
from __future__ import annotations

import contextlib
import os
import sys
from types import ModuleType
from typing import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Point file descriptor 2 (and ``sys.stderr``) at /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def neural_tangents() -> ModuleType:
    """Import and return ``neural_tangents`` without TensorFlow's log lines."""
    if "neural_tangents" not in sys.modules:
        import warnings

        with silenced_stderr(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import neural_tangents  # noqa: F401
    return sys.modules["neural_tangents"]


def stax() -> ModuleType:
    """``neural_tangents.stax``, imported quietly."""
    return neural_tangents().stax
