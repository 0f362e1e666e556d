"""Data sets of the book: scikit-learn's bundled digits and a synthetic 1-D regression.

Nothing is downloaded: the digits are the file ``sklearn/datasets/data/digits.csv.gz`` that ships
inside scikit-learn, the one ``sklearn.datasets.load_digits`` reads; it is read here directly,
because importing ``sklearn.datasets`` costs about 1 s in every chapter (tested equal).
Every split is deterministic given its ``seed`` (NumPy ``default_rng``).

Digits inputs are 8x8 images flattened to d = 64, scaled to [0, 1], centred by the
training mean and normalised per example to ||x||^2 = d, so that x.x'/d lies in [-1, 1]
(the convention under which the kernels of chapter 2 are written).
"""
from __future__ import annotations

import gzip
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from widenets import _checks


class Task(NamedTuple):
    """A classification task. ``x_*``: (N, d) float64; ``labels_*``: (N,) ints in 0..k-1;
    ``y_*``: (N, k) centred one-hot regression targets (1 - 1/k on the class, -1/k elsewhere);
    ``classes``: the original digit of each label."""

    x_train: np.ndarray
    y_train: np.ndarray
    labels_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray
    classes: tuple[int, ...]


class Regression1D(NamedTuple):
    """A 1-D regression set. ``t_*``: (N,) angles in [-pi, pi); ``x_*``: (N, 2) inputs
    (cos t, sin t) * sqrt(2) on the circle of radius sqrt(2), so ||x||^2 = d = 2;
    ``y_*``: (N, 1) targets."""

    t_train: np.ndarray
    x_train: np.ndarray
    y_train: np.ndarray
    t_test: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _digits_file() -> Path:
    """scikit-learn's ``datasets/data/digits.csv.gz``, located without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the digits ship inside scikit-learn, which is not installed")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


@lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """Pixels (1797, 64) in [0, 1] and labels (1797,): ``load_digits()``'s rows, read directly."""
    with gzip.open(_digits_file(), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1] / 16.0, table[:, -1].astype(np.int64)


def onehot(labels: np.ndarray, k: int, center: bool = True) -> np.ndarray:
    """One-hot targets (N, k) for ``labels`` in 0..k-1, centred to rows summing to 0 if ``center``."""
    k = _checks.positive_int(k, "k")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must be a 1-D array of ints in 0..{k - 1}")
    y = np.eye(k)[labels]
    return y - 1.0 / k if center else y


def _normalise(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    z = x - mean
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.maximum(norms, 1e-12) * np.sqrt(x.shape[1])


def digits(
    classes: Sequence[int] = tuple(range(10)),
    test_fraction: float = 0.3,
    seed: int = 0,
) -> Task:
    """The digits of ``classes``, split per class into train/test (``test_fraction`` to test).

    Labels are renumbered 0..k-1 in the order of ``classes``.
    """
    classes = tuple(int(c) for c in classes)
    if not classes or len(set(classes)) != len(classes) or min(classes) < 0 or max(classes) > 9:
        raise ValueError(f"classes must be distinct digits 0..9, got {classes!r}")
    test_fraction = _checks.in_interval(test_fraction, "test_fraction", 0.0, 1.0, "()")
    x, target = _raw_digits()
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for c in classes:
        idx = rng.permutation(np.flatnonzero(target == c))
        n_test = int(round(test_fraction * idx.size))
        te.append(idx[:n_test])
        tr.append(idx[n_test:])
    tr, te = rng.permutation(np.concatenate(tr)), rng.permutation(np.concatenate(te))
    relabel = {c: i for i, c in enumerate(classes)}
    lab_tr = np.array([relabel[c] for c in target[tr]], dtype=np.int64)
    lab_te = np.array([relabel[c] for c in target[te]], dtype=np.int64)
    mean = x[tr].mean(axis=0)
    k = len(classes)
    return Task(
        _normalise(x[tr], mean), onehot(lab_tr, k), lab_tr,
        _normalise(x[te], mean), onehot(lab_te, k), lab_te, classes,
    )


def transfer_pair(seed: int = 0, test_fraction: float = 0.3) -> tuple[Task, Task]:
    """The book's transfer pair: task A = digits 0-4, task B = digits 5-9."""
    return digits((0, 1, 2, 3, 4), test_fraction, seed), digits((5, 6, 7, 8, 9), test_fraction, seed)


def few_shot(task: Task, shots: int, seed: int = 0) -> Task:
    """Keep ``shots`` training examples per class of ``task`` (chosen by ``seed``); test set unchanged."""
    shots = _checks.positive_int(shots, "shots")
    rng = np.random.default_rng(seed)
    keep = []
    for c in range(len(task.classes)):
        idx = np.flatnonzero(task.labels_train == c)
        if idx.size < shots:
            raise ValueError(f"shots={shots} exceeds the {idx.size} training examples of class {c}")
        keep.append(rng.choice(idx, size=shots, replace=False))
    keep = np.sort(np.concatenate(keep))
    return task._replace(
        x_train=task.x_train[keep], y_train=task.y_train[keep], labels_train=task.labels_train[keep]
    )


def subsample(task: Task, n_train: int, seed: int = 0) -> Task:
    """Keep ``n_train`` training examples of ``task``, stratified by class as far as possible."""
    n_train = _checks.positive_int(n_train, "n_train")
    if n_train > task.x_train.shape[0]:
        raise ValueError(f"n_train={n_train} exceeds the {task.x_train.shape[0]} training examples")
    rng = np.random.default_rng(seed)
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(task.labels_train == c)) for c in range(len(task.classes))]
    )
    # interleave classes so that any prefix is balanced
    ranks = np.concatenate(
        [np.arange((task.labels_train == c).sum()) for c in range(len(task.classes))]
    )
    keep = np.sort(order[np.argsort(ranks, kind="stable")][:n_train])
    return task._replace(
        x_train=task.x_train[keep], y_train=task.y_train[keep], labels_train=task.labels_train[keep]
    )


def target_1d(t: np.ndarray) -> np.ndarray:
    """The 1-D regression target y(t) = sin(t) + 0.5 sin(3t) + 0.3 cos(2t)."""
    t = np.asarray(t, dtype=np.float64)
    return np.sin(t) + 0.5 * np.sin(3 * t) + 0.3 * np.cos(2 * t)


def regression_1d(n_train: int = 16, n_test: int = 200, noise: float = 0.0, seed: int = 0) -> Regression1D:
    """A synthetic 1-D regression on the circle: train angles uniform at random in [-pi, pi),
    test angles on an even grid; targets :func:`target_1d` plus N(0, noise^2) on train."""
    n_train = _checks.positive_int(n_train, "n_train")
    n_test = _checks.positive_int(n_test, "n_test")
    noise = _checks.nonnegative(noise, "noise")
    rng = np.random.default_rng(seed)
    t_tr = np.sort(rng.uniform(-np.pi, np.pi, n_train))
    t_te = np.linspace(-np.pi, np.pi, n_test, endpoint=False)

    def embed(t):
        return np.sqrt(2.0) * np.stack([np.cos(t), np.sin(t)], axis=1)

    y_tr = target_1d(t_tr) + noise * rng.standard_normal(n_train)
    return Regression1D(t_tr, embed(t_tr), y_tr[:, None], t_te, embed(t_te), target_1d(t_te)[:, None])


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows of ``outputs`` (N, k) whose argmax equals ``labels`` (N,)."""
    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if outputs.ndim != 2 or labels.shape != (outputs.shape[0],):
        raise ValueError(
            f"outputs must be (N, k) and labels (N,), got {outputs.shape} and {labels.shape}"
        )
    if outputs.shape[0] < 1:
        raise ValueError("outputs must have at least one row")
    if not np.all(np.isfinite(outputs)):
        raise ValueError("outputs contains nan or inf (a diverged model?): its accuracy is undefined")
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


class MultiIndexPair(NamedTuple):
    """A synthetic transfer pair from one multi-index teacher (chapters 5 and 8).

    Inputs x ~ N(0, I_d), so ||x||^2 ~ d; both tasks depend on x only through the
    k-dimensional projection z = P x (``projection`` P: (k, d) with orthonormal rows).
    Task A: y = z, shape (n_a, k).  Task B: y = z_1 z_2 (a different link of the same z),
    shape (n_b, 1) for training and (n_test, 1) for testing; Var(y_B) = 1.
    """

    projection: np.ndarray
    x_a: np.ndarray
    y_a: np.ndarray
    x_b: np.ndarray
    y_b: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def multi_index_pair(
    d: int = 32, k: int = 2, n_a: int = 1000, n_b: int = 50, n_test: int = 1000, seed: int = 0
) -> MultiIndexPair:
    """Draw a :class:`MultiIndexPair`: a random P (QR of a Gaussian matrix), then the A set,
    the few-shot B set and the B test set, all from ``np.random.default_rng(seed)``.

    Task A regresses z = P x (k outputs); task B regresses z_1 z_2, which needs k >= 2.
    """
    d = _checks.positive_int(d, "d")
    k = _checks.positive_int(k, "k")
    if k < 2 or k > d:
        raise ValueError(f"k must satisfy 2 <= k <= d (task B is z_1 z_2), got k={k}, d={d}")
    n_a = _checks.positive_int(n_a, "n_a")
    n_b = _checks.positive_int(n_b, "n_b")
    n_test = _checks.positive_int(n_test, "n_test")
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, k)))
    proj = q.T
    xa, xb, xt = (rng.standard_normal((m, d)) for m in (n_a, n_b, n_test))

    def link_b(x):
        z = x @ proj.T
        return (z[:, 0] * z[:, 1])[:, None]

    return MultiIndexPair(proj, xa, xa @ proj.T, xb, link_b(xb), xt, link_b(xt))


def noisy_transfer_pair(noise_dims: int = 128, seed: int = 0, test_fraction: float = 0.3) -> tuple[Task, Task, np.ndarray]:
    """:func:`transfer_pair` made harder: append ``noise_dims`` pure-noise coordinates
    (N(0, 1) each, drawn per example) to the 64 normalised pixels, then rotate all
    d = 64 + noise_dims coordinates by one random orthogonal matrix Q shared by both tasks,
    x -> [x_pixels, noise] Q. The label information lives in a 64-dimensional subspace that
    random first-layer weights do not know about; learned features can find it.

    Returns ``(task_a, task_b, signal)`` with ``signal`` (64, d) the orthonormal rows spanning
    the pixel subspace after rotation (for :func:`widenets.transfer.weight_alignment`).
    """
    noise_dims = _checks.positive_int(noise_dims, "noise_dims")
    a, b = transfer_pair(seed, test_fraction)
    rng = np.random.default_rng(seed + 10_000)
    d = a.x_train.shape[1] + noise_dims
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))

    def embed(x):
        return np.concatenate([x, rng.standard_normal((x.shape[0], noise_dims))], axis=1) @ q

    a = a._replace(x_train=embed(a.x_train), x_test=embed(a.x_test))
    b = b._replace(x_train=embed(b.x_train), x_test=embed(b.x_test))
    return a, b, q[:64]
