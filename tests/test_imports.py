"""Importing widenets is cheap: no pyplot, no scikit-learn, no neural-tangents until they are used."""
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import importlib, pkgutil, sys
    import widenets
    for m in pkgutil.walk_packages(widenets.__path__, "widenets."):
        importlib.import_module(m.name)
    print(" ".join(name for name in ("matplotlib.pyplot", "sklearn", "neural_tangents", "tensorflow")
                   if name in sys.modules) or "none")
    from widenets import plotting
    with plotting.style():
        fig, ax = plotting.plt.subplots()
    print(int("matplotlib.pyplot" in sys.modules))
""")


def test_every_submodule_imports_without_pyplot_and_pyplot_loads_on_first_figure():
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300,
                         env={"MPLBACKEND": "Agg", "PATH": ""})
    assert run.returncode == 0, run.stderr
    loaded, after = run.stdout.split("\n")[:2]
    assert loaded == "none", f"imported at import time: {loaded}"
    assert after == "1"
