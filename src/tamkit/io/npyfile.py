"""NumPy files: ``.npy`` frames with sidecars, and ``.npz`` archives.

``.npy`` holds only the array: ``(delay, y, x)`` dT/T (a single ``(y, x)`` frame is one
delay) or a raw acquisition ``(spot, run, chopper, delay, y, x)`` with chopper order on, off.
Delays come from the caller's delays file or, failing that, from the sidecar
``<stem>.delays.txt`` next to it; :func:`save_npy` also writes ``<stem>.meta.json`` (dims,
pixel size, coords, attrs), which is read when present.

``.npz`` holds the frames under ``dT_T``, ``frames`` or ``counts``, the delays under
``delay_fs`` and optionally ``pixel_nm``, ``dims`` (axis names) and ``chopper`` (labels);
:func:`save_npz` adds tamkit's JSON record under ``tamkit_meta``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.stack import FRAME_DIMS, RAW_DIMS
from tamkit.io._common import Read, file_errors, read_from_metadata, stack_metadata
from tamkit.io.delays import read_delays, write_delays

NPZ_DATA_KEYS = ("dT_T", "frames", "counts")


def sidecars(path: Path) -> tuple[Path, Path]:
    """The delays and metadata sidecar paths of a ``.npy`` file."""
    return path.with_suffix(".delays.txt"), path.with_suffix(".meta.json")


def _dims_for(ndim: int) -> tuple[str, ...]:
    if ndim == 2:
        return ("y", "x")
    if ndim == 3:
        return FRAME_DIMS
    if ndim == 6:
        return RAW_DIMS + FRAME_DIMS
    raise InputError(
        f"a {ndim}D array cannot be read as a stack; expected (delay, y, x) or raw "
        "(spot, run, chopper, delay, y, x)"
    )


def _single_frame(values: np.ndarray, dims: tuple[str, ...]) -> tuple[np.ndarray, tuple]:
    return (values[None], FRAME_DIMS) if dims == ("y", "x") else (values, dims)


def read_npy(path: Path) -> Read:
    """Read a ``.npy`` stack and its sidecars (if any)."""
    with file_errors(path, "a NumPy .npy file"):
        values = np.load(path, allow_pickle=False)
    delays_path, meta_path = sidecars(path)
    if meta_path.is_file():
        with file_errors(meta_path, "JSON"):
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            return read_from_metadata(values, meta, str(path))
    with file_errors(path, "a NumPy .npy file"):
        values, dims = _single_frame(values, _dims_for(values.ndim))
        delay = read_delays(delays_path) if delays_path.is_file() else None
        return Read(values, dims, delay_fs=delay)


def read_npz(path: Path) -> Read:
    """Read a ``.npz`` archive (keys as in the module docstring)."""
    with file_errors(path, "a NumPy .npz archive"), np.load(path, allow_pickle=False) as npz:
        if "tamkit_meta" in npz.files:
            meta = json.loads(str(npz["tamkit_meta"]))
            key = next(k for k in NPZ_DATA_KEYS if k in npz.files)
            return read_from_metadata(npz[key], meta, str(path))
        keys = [k for k in NPZ_DATA_KEYS if k in npz.files]
        if not keys:
            raise InputError(
                f"no frames in the archive; expected a key {', '.join(NPZ_DATA_KEYS)} "
                f"(found {', '.join(npz.files) or 'nothing'})"
            )
        values = npz[keys[0]]
        if "dims" in npz.files:
            dims = tuple(str(d) for d in npz["dims"])
        else:
            values, dims = _single_frame(values, _dims_for(values.ndim))
        delay = npz["delay_fs"] if "delay_fs" in npz.files else None
        pixel: Any = npz["pixel_nm"].item() if "pixel_nm" in npz.files else None
        coords = {"chopper": [str(c) for c in npz["chopper"]]} if "chopper" in npz.files else {}
        return Read(values, dims, delay_fs=delay, pixel_nm=pixel, coords=coords)


def save_npy(stack: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write ``stack`` as ``.npy`` plus ``<stem>.delays.txt`` and ``<stem>.meta.json``."""
    path = Path(path)
    delays_path, meta_path = sidecars(path)
    np.save(path, np.asarray(stack.values), allow_pickle=False)
    write_delays(stack["delay"].values, delays_path)
    meta_path.write_text(json.dumps(stack_metadata(stack)), encoding="utf-8")
    return path


def save_npz(stack: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write ``stack`` as a ``.npz`` archive with its delays, pixel size and metadata."""
    path = Path(path)
    key = "counts" if "chopper" in stack.dims else "dT_T"
    with path.open("wb") as handle:  # np.savez would append .npz to other suffixes
        np.savez(
            handle,
            **{key: np.asarray(stack.values)},
            delay_fs=stack["delay"].values,
            pixel_nm=np.float64(stack.attrs["pixel_nm"]),
            dims=np.asarray(stack.dims, dtype=str),
            tamkit_meta=np.asarray(json.dumps(stack_metadata(stack))),
        )
    return path
