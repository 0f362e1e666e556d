"""widenets.reference: neural-tangents without its TensorFlow bridge, and without log lines."""
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    from widenets import reference
    nt = reference.neural_tangents()
    seconds = time.perf_counter() - t0
    assert reference.stax() is nt.stax
    print(int("tensorflow" in sys.modules), int("tf2jax" in sys.modules), f"{seconds:.2f}")
    try:
        nt.experimental.empirical_ntk_fn_tf
    except AttributeError as err:
        print(err)
""")


def test_neural_tangents_imports_without_tensorflow_and_quietly():
    """The real import pulls in TensorFlow (about 8 s here) and writes TF log lines to fd 2."""
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    has_tf, has_tf2jax, seconds = run.stdout.splitlines()[0].split()
    assert (has_tf, has_tf2jax) == ("0", "0")
    assert float(seconds) < 6.0, f"import took {seconds} s"
    assert "without its TensorFlow bridge" in run.stdout.splitlines()[1]
    assert run.stderr == ""


def test_the_placeholder_does_not_hide_the_real_modules():
    from widenets import reference

    nt = reference.neural_tangents()
    assert callable(nt.stax.Dense) and callable(nt.empirical_ntk_fn) and callable(nt.predict.gp_inference)
    with pytest.raises(AttributeError, match="TensorFlow bridge"):
        nt.experimental.get_apply_fn_and_params
