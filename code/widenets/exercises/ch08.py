"""Checkers for the exercises of chapter 8 (feature learning and transfer in the muP limit)."""
from __future__ import annotations

import numpy as np

from widenets import exercises


def check_alignment(fn) -> exercises.Feedback:
    """Check ``fn(w, p) -> float``: the alignment ||P W||_F / ||W||_F of first-layer weights
    ``w`` (d, n) with the subspace spanned by the orthonormal rows of ``p`` (k, d).

    Tried on a random W (alignment near sqrt(k/d)) and on a W inside the subspace (alignment 1);
    tolerance 1e-6."""
    rng = np.random.default_rng(8)
    d, k, n = 20, 3, 50
    q, _ = np.linalg.qr(rng.standard_normal((d, k)))
    p = q.T
    cases = {"a random W": rng.standard_normal((d, n)), "a W inside the subspace": q @ rng.standard_normal((k, n))}
    for name, w in cases.items():
        try:
            got = float(fn(w.copy(), p.copy()))
        except Exception as exc:
            return exercises.wrong(f"your function raised {type(exc).__name__}: {exc}")
        want = np.linalg.norm(p @ w) / np.linalg.norm(w)
        if np.isclose(got, want**2, rtol=1e-6) and not np.isclose(want, 1.0):
            return exercises.wrong(f"for {name} you return the squared ratio; take the square root.")
        if not np.isclose(got, want, rtol=1e-6):
            return exercises.wrong(f"for {name} the alignment is {want:.4f}, you return {got:.4f}.")
    return exercises.correct(
        f"a random W gives about sqrt(k/d) = {np.sqrt(k / d):.3f}; learned features move above it."
    )
