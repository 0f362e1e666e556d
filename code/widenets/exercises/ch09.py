"""Checkers for the exercises of chapter 9 (muTransfer)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from widenets import mutransfer
from widenets.exercises import Feedback, correct, wrong

_GRID = np.arange(-4.0, 2.0)


def _cases() -> list[tuple[str, np.ndarray]]:
    """Final losses (W, L, S) with the traps a best-lr function must handle."""
    inf, nan = np.inf, np.nan
    clean = np.array([[[0.5, 0.6], [0.3, 0.3], [0.2, 0.25], [0.4, 0.3], [inf, inf], [nan, nan]]])
    one_seed_blows_up = np.array([[[0.5, 0.5], [0.3, 0.3], [0.2, 0.2], [0.1, nan], [nan, nan], [nan, nan]]])
    spike_after_divergence = np.array([[[0.5, 0.5], [0.4, 0.4], [inf, inf], [0.1, 0.1], [nan, nan], [nan, nan]]])
    two_widths = np.concatenate([clean, one_seed_blows_up])
    return [("a clean curve with diverged large learning rates", clean),
            ("a learning rate where only one seed diverged", one_seed_blows_up),
            ("a curve that looks fine again after diverging once", spike_after_divergence),
            ("two widths at once", two_widths)]


def _reference(losses: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(losses)
    div = np.concatenate([bad, bad[..., :1]], axis=-1)  # trajectory = (final,) here
    w, l, s = losses.shape
    sweep = mutransfer.Sweep("mup", "sgd", np.arange(1, w + 1), _GRID, losses, np.full_like(losses, 1.0),
                             np.zeros_like(losses), div[..., :s], 1, 1, 1)
    return mutransfer.best_log2_lr(sweep)


def check_best_lr(best_lr: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Feedback:
    """Check ``best_lr(losses, log2_lrs)``: ``losses`` (W, L, S) final training losses with
    nan/inf where a run diverged, ``log2_lrs`` (L,); it must return, per width, log2 of the
    learning rate with the lowest seed-mean loss among those where no seed diverged (W,)."""
    if not callable(best_lr):
        return wrong("pass your function itself, e.g. check_best_lr(best_lr).")
    for name, losses in _cases():
        try:
            got = np.asarray(best_lr(losses.copy(), _GRID.copy()), dtype=float).ravel()
        except Exception as err:  # report the student's error, do not raise
            return wrong(f"your function raised {type(err).__name__}: {err} on {name}.")
        want = _reference(losses)
        if got.shape != want.shape:
            return wrong(f"on {name} expected one value per width, shape {want.shape}, got {got.shape}.")
        if not np.allclose(got, want):
            hint = ""
            if name.startswith("a learning rate where only one seed"):
                hint = " A learning rate at which any seed diverged must not be chosen (nanmean hides the diverged seed)."
            elif name.startswith("a clean"):
                hint = " nan compares False with everything: np.argmin of an array with nan returns the nan."
            return wrong(f"on {name} the best log2 lr should be {want.tolist()}, you returned {got.tolist()}.{hint}")
    return correct("you pick the best learning rate and skip every diverged one, even when only one seed blew up.")


def check_saving(saving: float, proxy_width: int = 64, target_width: int = 4096, n_lrs: int = 10,
                 n_seeds: int = 3) -> Feedback:
    """Check the FLOP ratio (direct tuning at ``target_width``) / (tuning at ``proxy_width`` plus
    one run at ``target_width``) for a 1-hidden-layer MLP on digits (d = 64, k = 10)."""
    try:
        value = float(saving)
    except (TypeError, ValueError):
        return wrong(f"the saving must be a number, got {saving!r}.")
    cost = mutransfer.tuning_cost(proxy_width, target_width, n_lrs, n_seeds, steps=1, n_train=1)
    want = cost["saving"]
    if not np.isfinite(value) or value <= 0:
        return wrong("the saving is a positive ratio of FLOPs.")
    if abs(value - want) <= 0.01 * want:
        return correct(f"{value:.1f}x: {n_lrs * n_seeds} wide runs become one wide run plus cheap narrow ones.")
    if abs(value - n_lrs * n_seeds) <= 0.01 * n_lrs * n_seeds:
        return wrong("that is the ratio of wide runs; count the FLOPs of the narrow sweep too.")
    if abs(value - target_width / proxy_width) <= 0.01 * target_width / proxy_width:
        return wrong("that is the width ratio; the cost of a run also depends on how many runs each plan makes.")
    return wrong(f"expected about {want:.1f}; a run costs 6 N steps (d n + n k) FLOPs, so the ratio is "
                 "R P_wide / (R P_narrow + P_wide) with R = learning rates x seeds.")
