"""Reading and writing TAM stacks: one module per format family.

* :func:`load_stack` reads a file as stored (dT/T, or raw counts with ``spot``/``run``/
  ``chopper`` dims) and validates it; :func:`load` also preprocesses raw data to dT/T.
* :func:`save_stack` writes by suffix; every writer reloads unchanged with :func:`load_stack`.
* :func:`read_delays` reads a one-column delays file (fs).

Formats (by suffix): ``.tif``/``.tiff`` (multi-page TIFF, ImageJ hyperstacks;
:mod:`tamkit.io.tiff`), ``.nc``/``.nc4``/``.h5``/``.hdf5`` (tamkit's NetCDF-4 schema or plain
HDF5; :mod:`tamkit.io.netcdf`), ``.npy``/``.npz`` (:mod:`tamkit.io.npyfile`), ``.sif``
(Andor, with the optional ``sif_parser`` package; :mod:`tamkit.io.sif`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.stack import FRAME_DIMS
from tamkit.io import _common
from tamkit.io._common import Read, check_path, file_errors, validate_any
from tamkit.io.delays import read_delays, write_delays
from tamkit.io.netcdf import load_netcdf, read_hdf, save_netcdf
from tamkit.io.npyfile import read_npy, read_npz, save_npy, save_npz
from tamkit.io.sif import read_sif
from tamkit.io.tiff import read_tiff, save_tiff

READERS: dict[str, Callable[[Path], Read]] = {
    ".tif": read_tiff,
    ".tiff": read_tiff,
    ".nc": read_hdf,
    ".nc4": read_hdf,
    ".h5": read_hdf,
    ".hdf5": read_hdf,
    ".npy": read_npy,
    ".npz": read_npz,
    ".sif": read_sif,
}
WRITERS: dict[str, Callable[[xr.DataArray, Path], Path]] = {
    ".tif": save_tiff,
    ".tiff": save_tiff,
    ".nc": save_netcdf,
    ".nc4": save_netcdf,
    ".h5": save_netcdf,
    ".hdf5": save_netcdf,
    ".npy": save_npy,
    ".npz": save_npz,
}


def _suffix(path: Path, table: dict) -> str:
    suffix = path.suffix.lower()
    if suffix not in table:
        known = ", ".join(sorted(table))
        raise InputError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r}; use one of {known}"
        )
    return suffix


def load_stack(
    path: str | os.PathLike,
    delays: str | os.PathLike | np.ndarray | None = None,
    pixel_nm: float | None = None,
) -> xr.DataArray:
    """Read a stack as stored: dT/T ``(delay, y, x)`` or a raw acquisition of counts.

    Parameters
    ----------
    path : path-like
        The stack file; the format follows the suffix (see the module docstring).
    delays : path-like or array, optional
        Delays (fs), or a delays file (see :func:`read_delays`); overrides the file's metadata.
    pixel_nm : float, optional
        Pixel size at the sample (nm); overrides the file's metadata.

    Returns
    -------
    xarray.DataArray
        Validated stack; raw data keep dims ``(spot, run, chopper, delay, y, x)`` (those present).

    Raises
    ------
    InputError
        One sentence naming the file and the problem.
    """
    path = check_path(path)
    reader = READERS[_suffix(path, READERS)]
    delay_fs: Any = None
    if delays is not None:
        delay_fs = read_delays(delays) if isinstance(delays, str | os.PathLike) else delays
    read = reader(path)
    with file_errors(path, "a stack"):
        return read.to_stack(str(path), delay_fs=delay_fs, pixel_nm=pixel_nm)


def load(
    path: str | os.PathLike,
    delays: str | os.PathLike | np.ndarray | None = None,
    pixel_nm: float | None = None,
) -> xr.DataArray:
    """Read a stack and return validated dT/T ``(delay, y, x)``, preprocessing raw data.

    :func:`load_stack`; a raw acquisition (or dT/T with ``spot``/``run`` dims) then goes
    through :func:`tamkit.preprocessing.differential.preprocess` (differential imaging, robust run
    averaging,
    baseline subtraction). A stored ``(delay, y, x)`` dT/T stack is returned as stored: its
    baseline frames are left for the fitter's noise estimate, and subtracting their mean would
    add correlated noise to every frame.
    """
    from tamkit.preprocessing.differential import preprocess

    path = Path(path)
    stack = load_stack(path, delays=delays, pixel_nm=pixel_nm)
    if stack.dims == FRAME_DIMS:
        return stack
    with file_errors(path, "a stack"):
        return preprocess(stack)


def load_maybe_lazy(
    path: str | os.PathLike,
    *,
    delays: str | os.PathLike | None = None,
    pixel_nm: float | None = None,
    threshold_bytes: int | None = None,
) -> xr.DataArray:
    """A dT/T stack: dask-backed (:func:`tamkit.io.lazy.open_lazy`, one file chunk read at a
    time by every step) if the file is above ``threshold_bytes`` (default
    ``tamkit.io._common.LAZY_THRESHOLD_BYTES``) and its layout allows, else :func:`load`.

    Dask is imported only for such a file (~0.3 s).
    """
    path = check_path(path)
    if threshold_bytes is None:
        threshold_bytes = _common.LAZY_THRESHOLD_BYTES
    if path.stat().st_size > threshold_bytes:
        from tamkit.io.lazy import open_lazy

        stack = open_lazy(path, delays=delays, pixel_nm=pixel_nm)
        if stack is not None:
            return stack
    return load(path, delays=delays, pixel_nm=pixel_nm)


def save_stack(stack: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write ``stack`` (raw or dT/T) in the format its suffix names; return the path.

    ``.nc``/``.nc4``/``.h5``/``.hdf5``: tamkit's NetCDF-4 schema. ``.tif``/``.tiff``: multi-page
    TIFF with tamkit's JSON metadata and resolution tags. ``.npy``: the array plus sidecars
    ``<stem>.delays.txt`` and ``<stem>.meta.json``. ``.npz``: one archive. Each reloads unchanged
    (values, coords, attrs) with :func:`load_stack`.
    """
    path = Path(path)
    writer = WRITERS[_suffix(path, WRITERS)]
    validate_any(stack)
    return writer(stack, path)


__all__ = [
    "load",
    "load_maybe_lazy",
    "load_netcdf",
    "load_stack",
    "read_delays",
    "save_stack",
    "write_delays",
]
