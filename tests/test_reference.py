"""widenets.reference: neural-tangents on current JAX, without TensorFlow, and without log lines.

This file is the alarm for a new JAX release: it fails loudly if the import breaks (a name JAX
moved again, see ``widenets.reference.ALIASES``) or if neural-tangents' numbers change. The
recorded values below were computed on JAX 0.12.0.1 and agree with JAX 0.5.3 (the book's
previous stack, with TensorFlow installed) to 2e-15.
"""
import importlib.util
import subprocess
import sys
import textwrap

import numpy as np
import pytest

PROBE = textwrap.dedent("""
    import sys, time
    t0 = time.process_time()
    from widenets import reference
    nt = reference.neural_tangents()
    seconds = time.process_time() - t0
    assert reference.stax() is nt.stax
    print(int("tensorflow" in sys.modules), int("tf2jax" in sys.modules), f"{seconds:.2f}")
    try:
        nt.experimental.empirical_ntk_fn_tf
    except AttributeError as err:
        print(err)
""")

X = np.array([[1.0, 0.5, -0.3], [0.2, -1.0, 0.7], [-0.4, 0.1, 0.9]])
# neural-tangents' outputs on X, recorded on JAX 0.12.0.1 (float64)
NNGP = [[1.1152968460051578, 0.18576346252255543, 0.11486255978984655], [0.18576346252255543, 1.1698307263983112, 0.5364087965903559], [0.11486255978984655, 0.5364087965903559, 0.9846205732358848]]
NTK = [[3.890239913032664, 0.2266667128864958, 0.059938137082896685], [0.2266667128864958, 4.165983427941019, 1.326688180343461], [0.059938137082896685, 1.326688180343461, 3.2895557415013412]]
EMPIRICAL = [[0.2569647906062302, -0.18104073953801259, -0.09555284227501482], [-0.18104073953801259, 1.1198906964723714, 0.1533506747108596], [-0.09555284227501482, 0.1533506747108596, 0.16170224983177384]]
PREDICTED = [[0.841052557398575], [-0.7710179704013312], [0.2724321400337042]]


def test_tensorflow_is_not_installed():
    """The book's environment installs neural-tangents with --no-deps: no TensorFlow, no tf2jax."""
    assert importlib.util.find_spec("tensorflow") is None
    assert importlib.util.find_spec("tf2jax") is None


def test_neural_tangents_imports_on_this_jax_quietly():
    """In a fresh process: no TensorFlow imported, the bridge is a placeholder, nothing on stderr.

    The bound is on CPU time (process_time), which a loaded machine does not inflate: about
    1.5 s here, 6 s allowed."""
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    has_tf, has_tf2jax, seconds = run.stdout.splitlines()[0].split()
    assert (has_tf, has_tf2jax) == ("0", "0")
    assert float(seconds) < 6.0, f"import took {seconds} s of CPU time"
    assert "without its TensorFlow bridge" in run.stdout.splitlines()[1]
    assert run.stderr == ""


def test_aliases_are_applied_only_where_missing():
    from widenets import reference

    reference.neural_tangents()
    assert reference.apply_aliases() == []  # a second call finds nothing missing
    import jax.core
    import jax.extend.core

    assert jax.core.Jaxpr is jax.extend.core.Jaxpr


def test_the_placeholder_does_not_hide_the_real_modules():
    from widenets import reference

    nt = reference.neural_tangents()
    assert callable(nt.stax.Dense) and callable(nt.empirical_ntk_fn) and callable(nt.predict.gp_inference)
    with pytest.raises(AttributeError, match="TensorFlow bridge"):
        nt.experimental.get_apply_fn_and_params


def test_reference_numbers_are_unchanged():
    """stax kernels, the empirical NTK (both working implementations) and predict, to 1e-13."""
    import jax.numpy as jnp

    from widenets import reference

    nt = reference.neural_tangents()
    stax = nt.stax
    _, _, kernel_fn = stax.serial(
        stax.Dense(8, W_std=1.5, b_std=0.1), stax.Relu(),
        stax.Dense(8, W_std=1.5, b_std=0.1), stax.Erf(), stax.Dense(1, W_std=1.5, b_std=0.1))
    k = kernel_fn(X, None, ("nngp", "ntk"))
    np.testing.assert_allclose(k.nngp, NNGP, rtol=1e-13)
    np.testing.assert_allclose(k.ntk, NTK, rtol=1e-13)
    params = {"w": jnp.asarray(np.linspace(-1, 1, 6).reshape(3, 2))}
    for implementation in (1, 2):
        fn = nt.empirical_ntk_fn(lambda p, x: jnp.tanh(x @ p["w"]), trace_axes=(-1,), vmap_axes=0,
                                 implementation=implementation)
        np.testing.assert_allclose(fn(X, None, params), EMPIRICAL, rtol=1e-13, atol=1e-15)
    predict = nt.predict.gradient_descent_mse(np.asarray(k.ntk), np.array([[1.0], [-1.0], [0.5]]),
                                              learning_rate=0.5)
    np.testing.assert_allclose(predict(3.0, np.zeros((3, 1))), PREDICTED, rtol=1e-13)
