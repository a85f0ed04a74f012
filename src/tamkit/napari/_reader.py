"""napari reader (npe2 ``readers`` contribution): TAM stacks through :func:`tamkit.load`.

Raw pump-on/pump-off acquisitions are preprocessed to dT/T on the way in, exactly as the
command line does. A file tamkit cannot read as a stack (no delays, ambiguous TIFF axes) returns
``None`` from the reader function, so that napari falls back to its other readers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tamkit.napari.layers import image_layer_kwargs

SUFFIXES = (".tif", ".tiff", ".nc", ".nc4", ".h5", ".hdf5", ".npy", ".npz", ".sif")

_log = logging.getLogger(__name__)


def napari_get_reader(path):
    """Return :func:`read_stack` for one path with a stack suffix tamkit reads, else None."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, str | Path) or Path(path).suffix.lower() not in SUFFIXES:
        return None
    return read_stack


def _colormap():
    import matplotlib
    import numpy as np
    from napari.utils import Colormap

    colors = matplotlib.colormaps["RdBu_r"](np.linspace(0.0, 1.0, 64))
    return Colormap(colors, name="RdBu_r (0 = white)")


def read_stack(path):
    """Read a TAM stack as one image layer: ``[(data, kwargs, "image")]``, or None.

    The layer's scale is (delay step in fs where the delays are uniform, else 1; pixel size in
    nm; pixel size in nm), its translate puts the pixel centres at the stack's own ``y``/``x``
    coordinates (nm, 0 at the frame centre); ``metadata["delay_fs"]`` holds every delay.
    """
    from tamkit.core.errors import InputError
    from tamkit.io import load

    if isinstance(path, list | tuple):
        path = path[0]
    try:
        stack = load(path)
    except InputError as err:  # not a TAM stack tamkit can place: let napari try others
        _log.warning("tamkit cannot read %s as a TAM stack: %s", path, err)
        return None
    kwargs = image_layer_kwargs(stack, name=Path(path).stem)
    kwargs["metadata"]["source"] = str(path)
    kwargs["colormap"] = _colormap()
    return [(stack.values, kwargs, "image")]
