"""Quick, quiet access to neural-tangents, the independent reference implementation.

``import neural_tangents`` (0.6.5) runs ``from . import experimental``, and
``neural_tangents.experimental`` is its TensorFlow bridge (``empirical_ntk_fn_tf``): it
imports TensorFlow, Keras and ``jax2tf``, which takes about 8 s of the 10 s import on the
book's 2-core machine, and TensorFlow's C++ runtime writes log lines to file descriptor 2.
The book never uses the bridge (nothing outside ``experimental`` imports TensorFlow), so
:func:`neural_tangents` registers an empty placeholder for ``neural_tangents.experimental``
before the import: ``stax``, ``predict`` and the empirical kernels are the real ones, and
the import takes about 2 s. Using an attribute of the placeholder raises an
``AttributeError`` that says how to load the real bridge. As a second guard the import runs
with descriptor 2 pointed at /dev/null.

Nothing else in ``widenets`` imports neural-tangents: the book's own implementations are
the teaching material, neural-tangents is what they are checked against.
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


BRIDGE = "neural_tangents.experimental"


def _bridge_placeholder() -> ModuleType:
    """An empty module standing in for neural-tangents' TensorFlow bridge."""
    placeholder = ModuleType(BRIDGE, "Placeholder: widenets.reference skips the TensorFlow bridge.")

    def __getattr__(attr: str):
        raise AttributeError(
            f"{BRIDGE}.{attr}: widenets.reference imports neural-tangents without its TensorFlow "
            f"bridge; to use it, `del sys.modules['{BRIDGE}']` and `import {BRIDGE}`.")

    placeholder.__getattr__ = __getattr__  # module-level __getattr__ (PEP 562)
    return placeholder


def neural_tangents() -> ModuleType:
    """Import and return ``neural_tangents`` without its TensorFlow bridge and without log lines."""
    if "neural_tangents" not in sys.modules:
        import warnings

        sys.modules.setdefault(BRIDGE, _bridge_placeholder())

        with silenced_stderr(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import neural_tangents  # noqa: F401
    return sys.modules["neural_tangents"]


def stax() -> ModuleType:
    """``neural_tangents.stax``, imported quietly."""
    return neural_tangents().stax
