"""Tests of widenets.features: feature kernels, CKA, label alignment, relative change."""
import numpy as np
import pytest

from widenets import features


def _acts(n=20, width=7, seed=0):
    return np.random.default_rng(seed).standard_normal((n, width))


def test_feature_kernel_is_gram_over_width():
    h = _acts()
    k = features.feature_kernel(h)
    assert k.shape == (20, 20)
    np.testing.assert_allclose(k, h @ h.T / 7, rtol=1e-13)
    # one entry by its definition: average over neurons of h_k(x_0) h_k(x_1)
    assert k[0, 1] == pytest.approx(np.mean(h[0] * h[1]), rel=1e-12)


def _cka_reference(k1, k2):
    """CKA from its definition with the explicit centring matrix H (an independent formula)."""
    n = k1.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    hsic = lambda a, b: np.trace(a @ H @ b @ H)  # noqa: E731
    return hsic(k1, k2) / np.sqrt(hsic(k1, k1) * hsic(k2, k2))


def test_cka_matches_the_hsic_formula_and_linear_cka():
    a, b = _acts(15, 6, 1), _acts(15, 9, 2)
    k1, k2 = a @ a.T, np.tanh(b) @ np.tanh(b).T
    cka = features.centered_kernel_alignment(k1, k2)
    assert cka == pytest.approx(_cka_reference(k1, k2), rel=1e-12)
    # linear CKA of Kornblith et al.: ||B_c^T A_c||_F^2 / (||A_c^T A_c||_F ||B_c^T B_c||_F)
    ac, bc = a - a.mean(0), np.tanh(b) - np.tanh(b).mean(0)
    lin = np.linalg.norm(bc.T @ ac) ** 2 / (np.linalg.norm(ac.T @ ac) * np.linalg.norm(bc.T @ bc))
    assert cka == pytest.approx(lin, rel=1e-12)
    assert 0.0 < cka < 1.0


def test_cka_invariances():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((12, 5)), rng.standard_normal((12, 8))
    k1, k2 = a @ a.T, b @ b.T
    base = features.centered_kernel_alignment(k1, k2)
    assert features.centered_kernel_alignment(k1, k1) == pytest.approx(1.0, abs=1e-12)
    # isotropic scaling and a constant offset of either kernel
    assert features.centered_kernel_alignment(3.7 * k1, 0.01 * k2) == pytest.approx(base, rel=1e-12)
    assert features.centered_kernel_alignment(k1 + 5.0, k2) == pytest.approx(base, rel=1e-10)
    # orthogonal transformation of the features leaves the linear kernel, hence CKA, unchanged
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    aq = a @ q
    assert features.centered_kernel_alignment(aq @ aq.T, k2) == pytest.approx(base, rel=1e-10)
    # symmetric in its arguments
    assert features.centered_kernel_alignment(k2, k1) == pytest.approx(base, rel=1e-12)
    # but NOT invariant to an anisotropic rescaling of the features (a test that can fail)
    ad = a * np.array([10.0, 1, 1, 1, 0.1])
    assert abs(features.centered_kernel_alignment(ad @ ad.T, k2) - base) > 1e-3


def test_known_values():
    # identity vs a centred rank-one label kernel: <H, yy^T> / (||H|| ||yy^T||) = 1/sqrt(N-1)
    n = 10
    y = np.random.default_rng(4).standard_normal(n)
    y -= y.mean()
    assert features.centered_kernel_alignment(np.eye(n), np.outer(y, y)) == pytest.approx(
        1 / np.sqrt(n - 1), rel=1e-12)
    assert features.label_alignment(np.eye(n), y) == pytest.approx(1 / np.sqrt(n - 1), rel=1e-12)
    # a kernel that is the label kernel itself has alignment 1; its negative -1
    labels = np.repeat(np.arange(3), 4)
    yo = np.eye(3)[labels] - 1 / 3
    assert features.label_alignment(yo @ yo.T, yo) == pytest.approx(1.0, abs=1e-12)
    assert features.centered_kernel_alignment(-(yo @ yo.T), yo @ yo.T) == pytest.approx(-1.0, abs=1e-12)
    # uncentred one-hot targets give the same alignment (the offset is centred away)
    k = _acts(12, 4, 5)
    k = k @ k.T
    assert features.label_alignment(k, np.eye(3)[labels]) == pytest.approx(
        features.label_alignment(k, yo), rel=1e-10)


def test_relative_change():
    a0 = np.array([[3.0, 0.0], [0.0, 4.0]])
    assert features.relative_change(a0, a0) == 0.0
    assert features.relative_change(a0, a0 + np.array([[0.0, 1.0], [0.0, 0.0]])) == pytest.approx(0.2)
    assert features.relative_change(a0, 2 * a0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: features.feature_kernel(np.ones(3)), "acts"),
        (lambda: features.feature_kernel(np.array([[1.0, np.nan]])), "acts"),
        (lambda: features.centered_kernel_alignment(np.ones((3, 2)), np.eye(3)), "k1"),
        (lambda: features.centered_kernel_alignment(np.eye(3), np.triu(np.ones((3, 3)))), "k2"),
        (lambda: features.centered_kernel_alignment(np.eye(3), np.eye(4)), "k1 and k2"),
        (lambda: features.centered_kernel_alignment(np.ones((3, 3)), np.eye(3)), "k1"),
        (lambda: features.centered_kernel_alignment(np.eye(3), np.full((3, 3), np.inf)), "k2"),
        (lambda: features.label_alignment(np.eye(3), np.ones((4, 2))), "y"),
        (lambda: features.label_alignment(np.eye(3), np.ones((3, 2))), "y"),
        (lambda: features.label_alignment(np.eye(3), np.ones((3, 2, 1))), "y"),
        (lambda: features.label_alignment(np.eye(2)[:1], np.ones(1)), "k"),
        (lambda: features.relative_change(np.zeros(3), np.ones(3)), "a0"),
        (lambda: features.relative_change(np.ones(3), np.ones(4)), "a0 and a1"),
        (lambda: features.relative_change(np.ones(3), np.array([1.0, np.nan, 1.0])), "a1"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
