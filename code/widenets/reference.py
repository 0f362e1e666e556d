"""neural-tangents, the independent reference implementation, imported on current JAX.

neural-tangents 0.6.5 (December 2023, its last release) was written against JAX 0.4. Two
things stand between it and the JAX this book pins, and :func:`neural_tangents` deals with
both before the import:

1. **Names JAX moved.** neural-tangents imports eight names from places where current JAX
   no longer has them. Each is aliased to where it lives now, and only where it is missing,
   so on an old JAX nothing changes (see :data:`ALIASES`):

   ============================================  =============================================
   neural-tangents imports                       current JAX has it at
   ============================================  =============================================
   ``jax.core.Jaxpr``, ``JaxprEqn``,             ``jax.extend.core`` (moved in JAX 0.4.36,
   ``Literal``, ``Var``, ``Primitive``           removed from ``jax.core`` in 0.6)
   the module ``jax.util``                       ``jax._src.util`` (removed in JAX 0.8)
   ``jax.interpreters.ad.zeros_like_p``          ``jax._src.ad_util``
   ``jax.interpreters.ad.reducing_transposes``   ``jax._src.interpreters.ad``
   ============================================  =============================================

   Two more attributes that only its STRUCTURED_DERIVATIVES empirical kernel reads,
   ``ad.source_info_util`` and ``ad.config``, are aliased the same way, from
   ``jax._src.interpreters.ad``.

2. **Its TensorFlow bridge.** ``import neural_tangents`` runs ``from . import experimental``,
   the TensorFlow bridge (``empirical_ntk_fn_tf``), which needs TensorFlow and tf2jax. The
   book never uses it, and its environment does not install TensorFlow (requirements-nodeps.txt
   installs neural-tangents with ``--no-deps``). So an empty placeholder stands in for
   ``neural_tangents.experimental``; ``stax``, ``predict`` and the empirical kernels are the
   real ones. Using an attribute of the placeholder raises an ``AttributeError`` that says so.

``tests/test_reference.py`` is the alarm for a future JAX: it imports neural-tangents in a
fresh process, checks that TensorFlow is not importable and not imported, and compares
reference numbers (stax kernels, the empirical NTK, ``predict``) with values recorded on this
stack. Nothing else in ``widenets`` imports neural-tangents: the book's own implementations
are the teaching material, neural-tangents is what they are checked against.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
from types import ModuleType
from typing import Iterator

#: (module that neural-tangents imports from, attribute, module where current JAX has it).
#: An attribute ``None`` aliases the whole module.
ALIASES: tuple[tuple[str, str | None, str], ...] = (
    ("jax.core", "Jaxpr", "jax.extend.core"),
    ("jax.core", "JaxprEqn", "jax.extend.core"),
    ("jax.core", "Literal", "jax.extend.core"),
    ("jax.core", "Var", "jax.extend.core"),
    ("jax.core", "Primitive", "jax.extend.core"),
    ("jax.util", None, "jax._src.util"),
    ("jax.interpreters.ad", "zeros_like_p", "jax._src.ad_util"),
    ("jax.interpreters.ad", "reducing_transposes", "jax._src.interpreters.ad"),
    ("jax.interpreters.ad", "source_info_util", "jax._src.interpreters.ad"),
    ("jax.interpreters.ad", "config", "jax._src.interpreters.ad"),
)


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
            "bridge, and the book's environment does not install TensorFlow.")

    placeholder.__getattr__ = __getattr__  # module-level __getattr__ (PEP 562)
    return placeholder


def apply_aliases() -> list[str]:
    """Alias the names of :data:`ALIASES` that this JAX lacks; return the ones aliased."""
    done = []
    for where, attr, source in ALIASES:
        if attr is None:
            try:
                importlib.import_module(where)
            except ImportError:
                sys.modules[where] = importlib.import_module(source)
                parent, _, child = where.rpartition(".")
                setattr(importlib.import_module(parent), child, sys.modules[where])
                done.append(where)
            continue
        module = importlib.import_module(where)
        if not hasattr(module, attr):
            setattr(module, attr, getattr(importlib.import_module(source), attr))
            done.append(f"{where}.{attr}")
    return done


def neural_tangents() -> ModuleType:
    """Import and return ``neural_tangents`` on the book's JAX, without its TensorFlow bridge."""
    if "neural_tangents" not in sys.modules:
        import warnings

        apply_aliases()
        sys.modules.setdefault(BRIDGE, _bridge_placeholder())
        with silenced_stderr(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import neural_tangents  # noqa: F401
    return sys.modules["neural_tangents"]


def stax() -> ModuleType:
    """``neural_tangents.stax``, imported quietly."""
    return neural_tangents().stax
