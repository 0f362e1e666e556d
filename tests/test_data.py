import numpy as np
import pytest

from widenets import data


def test_digits_split_is_deterministic_and_disjoint():
    a1, a2 = data.digits(seed=3), data.digits(seed=3)
    np.testing.assert_array_equal(a1.x_train, a2.x_train)
    b = data.digits(seed=4)
    assert not np.array_equal(a1.x_train, b.x_train)
    # train and test rows are different images: no test row appears in train
    train_rows = {r.tobytes() for r in a1.x_train}
    overlap = sum(r.tobytes() in train_rows for r in a1.x_test)
    assert overlap <= 2  # the raw data set has a couple of exact duplicate images
    assert a1.x_train.shape[0] + a1.x_test.shape[0] == 1797
    assert abs(a1.x_test.shape[0] / 1797 - 0.3) < 0.01


def test_digits_normalisation_and_targets():
    t = data.digits(classes=(3, 7))
    d = t.x_train.shape[1]
    assert d == 64
    np.testing.assert_allclose(np.sum(t.x_train**2, axis=1), d, rtol=1e-12)
    np.testing.assert_allclose(np.sum(t.x_test**2, axis=1), d, rtol=1e-12)
    assert set(np.unique(t.labels_train)) == {0, 1}
    np.testing.assert_allclose(t.y_train.sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_array_equal(np.argmax(t.y_train, axis=1), t.labels_train)
    assert t.classes == (3, 7)


def test_transfer_pair_and_few_shot():
    a, b = data.transfer_pair(seed=0)
    assert a.classes == (0, 1, 2, 3, 4) and b.classes == (5, 6, 7, 8, 9)
    fs = data.few_shot(b, shots=5, seed=1)
    assert fs.x_train.shape == (25, 64)
    np.testing.assert_array_equal(np.bincount(fs.labels_train), [5] * 5)
    np.testing.assert_array_equal(fs.x_test, b.x_test)
    np.testing.assert_array_equal(data.few_shot(b, 5, seed=1).x_train, fs.x_train)


def test_subsample_is_balanced():
    t = data.digits()
    s = data.subsample(t, 50, seed=0)
    assert s.x_train.shape[0] == 50
    assert np.bincount(s.labels_train, minlength=10).min() == 5


def test_regression_1d():
    r = data.regression_1d(n_train=12, n_test=50, seed=0)
    assert r.x_train.shape == (12, 2) and r.y_train.shape == (12, 1)
    np.testing.assert_allclose(np.sum(r.x_test**2, axis=1), 2.0)
    np.testing.assert_allclose(r.y_test[:, 0], data.target_1d(r.t_test))
    noisy = data.regression_1d(n_train=12, noise=0.1, seed=0)
    resid = noisy.y_train[:, 0] - data.target_1d(noisy.t_train)
    assert 0.02 < resid.std() < 0.3


def test_accuracy():
    out = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    assert data.accuracy(out, np.array([0, 1, 1])) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: data.digits(classes=(1, 1)), "classes"),
        (lambda: data.digits(classes=(11,)), "classes"),
        (lambda: data.digits(test_fraction=1.5), "test_fraction"),
        (lambda: data.few_shot(data.digits(classes=(0, 1)), 0), "shots"),
        (lambda: data.few_shot(data.digits(classes=(0, 1)), 1000), "shots"),
        (lambda: data.regression_1d(n_train=0), "n_train"),
        (lambda: data.regression_1d(noise=-1.0), "noise"),
        (lambda: data.onehot(np.array([0, 3]), 2), "labels"),
        (lambda: data.accuracy(np.zeros(3), np.zeros(3)), "outputs"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_raw_digits_are_load_digits_without_importing_sklearn():
    """data reads scikit-learn's digits file directly; the rows must be load_digits()'s, bit for bit."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    x, labels = data._raw_digits()
    bunch = load_digits()
    np.testing.assert_array_equal(x, bunch.data.astype(np.float64) / 16.0)
    np.testing.assert_array_equal(labels, bunch.target)
    assert x.dtype == np.float64 and labels.dtype == np.int64
    probe = "import sys; from widenets import data; data.digits(); print(int('sklearn' in sys.modules))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "0", run.stderr
