"""Tests of the chapter 3 exercise checkers: a right and several wrong answers each."""
import numpy as np

from widenets import gp
from widenets.exercises import ch03


def _right(k, ks, kss, y, noise):
    chol = np.linalg.cholesky(k + noise * np.eye(len(k)))
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
    v = np.linalg.solve(chol, ks.T)
    return ks @ alpha, kss - v.T @ v


def test_check_posterior():
    assert ch03.check_posterior(_right).ok
    assert ch03.check_posterior(lambda *a: tuple(gp.posterior(*a[:4], noise=a[4]))).ok
    fb = ch03.check_posterior(lambda k, ks, kss, y, s: _right(k, ks, kss, y, 0.0))
    assert not fb.ok and "noise" in fb.message
    fb = ch03.check_posterior(lambda k, ks, kss, y, s: (_right(k, ks, kss, y, s)[0], kss))
    assert not fb.ok and "prior" in fb.message
    fb = ch03.check_posterior(lambda k, ks, kss, y, s: (_right(k, ks, kss, y, s)[0].T, kss))
    assert not fb.ok and "shape" in fb.message
    fb = ch03.check_posterior(lambda *a: 1 / 0)
    assert not fb.ok and "ZeroDivisionError" in fb.message


def test_check_excess_kurtosis():
    assert ch03.check_excess_kurtosis(lambda n: 15 / n).ok
    fb = ch03.check_excess_kurtosis(lambda n: 6 / n)
    assert not fb.ok and "constant" in fb.message
    fb = ch03.check_excess_kurtosis(lambda n: 15 / np.sqrt(n))
    assert not fb.ok and "1/n" in fb.message
