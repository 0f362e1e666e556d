"""widenets.glue writes what myst_nb.glue writes, and plain numbers."""
import numpy as np
import pytest
from IPython.core import display_functions

from widenets import glue


def _captured(fn, *args, **kwargs):
    calls = []
    orig = display_functions.publish_display_data
    display_functions.publish_display_data = lambda data, metadata=None, **kw: calls.append((data, metadata))
    try:
        fn(*args, **kwargs)
    finally:
        display_functions.publish_display_data = orig
    return calls


@pytest.mark.parametrize("value", [0.5, -3, "text"])
def test_same_output_as_myst_nb(value):
    import myst_nb

    ours = _captured(glue.glue, "key", value)
    theirs = _captured(myst_nb.glue, "key", value, display=False)
    assert len(ours) == len(theirs) == 1
    assert ours == theirs


def test_numpy_scalars_become_plain_numbers():
    bundle, meta = glue.glue_bundle("slope", np.float64(-0.5))
    assert bundle[glue.GLUE_PREFIX + "text/plain"] == "-0.5"
    assert meta["scrapbook"] == {"name": "slope", "mime_prefix": glue.GLUE_PREFIX}


@pytest.mark.parametrize("name", ["", "has space", 3])
def test_bad_name(name):
    with pytest.raises(ValueError, match="name"):
        glue.glue_bundle(name, 1.0)
