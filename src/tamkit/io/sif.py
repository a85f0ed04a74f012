"""Andor ``.sif`` files, through the optional ``sif_parser`` package (PyPI, maintained).

A SIF holds a kinetic series of camera frames; they are read as stored, one frame per delay
in acquisition order. SIF carries no pump-probe delays and no pixel size at the sample, so both
must be given (delays file and ``pixel_nm``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from tamkit.core.errors import InputError
from tamkit.io._common import Read, file_errors


def read_sif(path: Path) -> Read:
    """Read an Andor SIF kinetic series as a ``(delay, y, x)`` stack."""
    try:
        sif_parser = importlib.import_module("sif_parser")
    except ImportError:
        raise InputError(
            f"{path}: reading Andor .sif needs the sif_parser package (pip install sif_parser); "
            "or export the frames to a multi-page TIFF"
        ) from None
    with file_errors(path, "an Andor SIF file"):
        data, _info = sif_parser.np_open(str(path))
        values = np.asarray(data)
        if values.ndim == 2:
            values = values[None]
        if values.ndim != 3:
            raise InputError(f"the SIF holds {values.ndim}D data; expected a series of frames")
        return Read(values, ("delay", "y", "x"))
