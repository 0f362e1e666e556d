"""Checkers for the exercises of chapter 4 (why features don't move)."""
from __future__ import annotations

import numpy as np

from widenets import exercises, features

#: width exponents in NTK parametrization: per-neuron pre-activation change, one neuron's
#: output-term change, output change, relative change of the feature kernel (leading order)
EXPONENTS = {"preact": -0.5, "contribution": -1.0, "output": 0.0, "kernel": -1.0}


def check_exponents(preact, contribution, output, kernel) -> exercises.Feedback:
    """Check the predicted width exponents p in "change ~ n^p" (NTK parametrization, fixed
    learning rate and training time) of: one neuron's pre-activation, one neuron's term of
    the output, the output itself, and the relative change of the hidden feature kernel."""
    given = {"preact": preact, "contribution": contribution, "output": output, "kernel": kernel}
    hints = {
        "preact": "each incoming weight moves by O(n^{-1/2}) (its gradient carries one factor "
                  "n^{-1/2} from the readout), and the O(1) input feeds it",
        "contribution": "a neuron's term is x_i v_i / sqrt(n); both x_i and v_i move by "
                        "O(n^{-1/2}), and the 1/sqrt(n) multiplier stays",
        "output": "n terms, each moving by O(1/n), all in the direction that lowers the loss",
        "kernel": "K = (1/n) sum_i h_i h_i^T; the cross term (1/n) sum_i h_i dh_i^T averages "
                  "O(n^{-1/2}) moves with random signs (those of the readout weights), so it "
                  "is O(n^{-1/2}) * O(n^{-1/2})",
    }
    wrong = []
    for name, value in given.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            return exercises.wrong(f"{name} must be a number (the exponent p), got {value!r}.")
        if not np.isclose(v, EXPONENTS[name], atol=1e-9):
            wrong.append(f"{name} = {v:g} is not right: {hints[name]}")
    if wrong:
        return exercises.wrong("; ".join(wrong) + ".")
    return exercises.correct("n^{-1/2} per neuron, n^{-1} per output term, O(1) in total, and "
                             "the feature kernel moves only at order 1/n.")


def check_linear_cka(fn) -> exercises.Feedback:
    """Check a student's ``fn(a, b) -> float``: linear CKA of activations a (N, p), b (N, q),
    i.e. CKA of the kernels a a^T and b b^T, = ||B_c^T A_c||_F^2 / (||A_c^T A_c||_F ||B_c^T B_c||_F)
    with column-centred A_c, B_c."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30, 6))
    b = np.tanh(a @ rng.standard_normal((6, 9)) + 0.5 * rng.standard_normal((30, 9)))
    ref = features.centered_kernel_alignment(a @ a.T, b @ b.T)
    try:
        got = float(fn(a, b))
    except Exception as exc:  # noqa: BLE001 - report any failure of the student's code
        return exercises.wrong(f"calling fn(a, b) raised {type(exc).__name__}: {exc}")
    if not np.isfinite(got):
        return exercises.wrong(f"fn returned {got}, not a finite number.")
    if np.isclose(got, ref, rtol=1e-6):
        # a value can match by luck on one pair: check the offset invariance explicitly
        shifted = float(fn(a + 3.0, b - 2.0))
        if not np.isclose(shifted, ref, rtol=1e-6):
            return exercises.wrong("adding a constant to every feature changed your value: "
                                   "centre the columns of a and b first.")
        return exercises.correct(f"CKA = {got:.4f}, as features.centered_kernel_alignment gives.")
    # diagnose the usual mistakes
    k1, k2 = a @ a.T, b @ b.T
    uncentred = np.sum(k1 * k2) / (np.linalg.norm(k1) * np.linalg.norm(k2))
    if np.isclose(got, uncentred, rtol=1e-6):
        return exercises.wrong("this is the uncentred kernel alignment: subtract the column means "
                               "of a and b (equivalently, use H K H with H = I - 11^T/N).")
    ac, bc = a - a.mean(0), b - b.mean(0)
    unnormalised = np.linalg.norm(bc.T @ ac) ** 2
    if np.isclose(got, unnormalised, rtol=1e-6):
        return exercises.wrong("you computed HSIC without normalising: divide by "
                               "||A_c^T A_c||_F ||B_c^T B_c||_F.")
    if np.isclose(got, np.sqrt(ref), rtol=1e-6) or np.isclose(got, ref**2, rtol=1e-6):
        return exercises.wrong("off by a square (root): the numerator is ||B_c^T A_c||_F squared, "
                               "the denominator is not squared.")
    return exercises.wrong(f"got {got:.6f}, expected {ref:.6f} on a random pair of activations.")
