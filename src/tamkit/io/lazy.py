"""Lazy (dask-backed) opening of large dT/T stacks, so that no step holds every frame at once.

:func:`tamkit.gaussfit.fit_frames` reads a dask-backed stack chunk by chunk and the montage
figure reads eight frames, so a stack opened here is analysed in bounded memory. Two layouts
are opened lazily; every other file goes through :func:`tamkit.io.load` (eagerly):

* tamkit's NetCDF-4 schema (:func:`tamkit.io.save_stack` to ``.nc``/``.h5``) holding a
  ``(delay, y, x)`` stack: ``xarray.open_dataset(..., chunks=...)`` (h5netcdf);
* TIFF with one page per delay (``tamkit.io.save_stack`` to ``.tif``, or any plain multi-page
  greyscale file whose metadata gives delays and pixel size): a dask array whose chunks read
  their pages with ``tifffile``. A chunk task holds only the path, so the array pickles small
  (to a Dask worker and back) and each process reopens the file.

Raw acquisitions (with ``spot``/``run``/``chopper`` dims) need preprocessing over all runs and
are always loaded eagerly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import tifffile
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.stack import FRAME_DIMS, make_stack, validate_stack
from tamkit.io import read_delays
from tamkit.io._common import (
    as_delay_array,
    check_path,
    decode_attr,
    file_errors,
    overridden_pixel,
)
from tamkit.io.tiff import quiet_tifffile, tiff_metadata

#: Bytes of frames (in the file's dtype) per dask chunk.
CHUNK_BYTES = 64 * 2**20
NETCDF_SUFFIXES = (".nc", ".nc4", ".h5", ".hdf5")
TIFF_SUFFIXES = (".tif", ".tiff")


def frames_per_chunk(ny: int, nx: int, itemsize: int) -> int:
    """Frames per dask chunk so that one chunk stays near :data:`CHUNK_BYTES`."""
    return int(max(1, CHUNK_BYTES // max(1, ny * nx * itemsize)))


def open_lazy(
    path: str | os.PathLike,
    *,
    delays: str | os.PathLike | None = None,
    pixel_nm: float | None = None,
) -> xr.DataArray | None:
    """Open a ``(delay, y, x)`` stack as a dask-backed DataArray, or None if the file's layout
    needs the eager reader (raw acquisition, plain HDF5, multi-axis TIFF, unknown suffix).

    The user's ``delays`` (file of fs) and ``pixel_nm`` override the file's metadata, as in
    :func:`tamkit.io.load`. The stack is validated without loading it whole.
    """
    path = check_path(path)
    suffix = path.suffix.lower()
    if suffix in NETCDF_SUFFIXES:
        with file_errors(path, "NetCDF/HDF5"):
            found = _open_netcdf(path)
    elif suffix in TIFF_SUFFIXES:
        with file_errors(path, "TIFF"), quiet_tifffile():
            found = _open_tiff(path)
    else:
        return None
    if found is None:
        return None
    values, delay_fs, pix, attrs, name = found
    if delays is not None:
        delay_fs = read_delays(delays)
    if pixel_nm is not None:
        attrs = {**attrs, **overridden_pixel(pix, pixel_nm)}
        pix = pixel_nm
    with file_errors(path, "a stack"):
        return _assemble_lazy(values, delay_fs, pix, attrs, name, str(path))


def _open_netcdf(path: Path):
    # opened without dask first: xarray's lazily indexed file array; chunking it then gives
    # tasks that each read their own slab of frames (chunks={} would make the file's layout,
    # one contiguous chunk, the dask chunk, and every slab would read the whole stack)
    ds = xr.open_dataset(path, engine="h5netcdf", cache=False)
    name = ds.attrs.get("variable")
    if name not in ds.data_vars or tuple(ds[name].dims) != FRAME_DIMS:
        ds.close()
        return None
    array = ds[name]
    ny, nx = array.shape[1:]
    step = frames_per_chunk(ny, nx, array.dtype.itemsize)
    values = array.chunk({"delay": step, "y": ny, "x": nx}).data
    attrs = {k: decode_attr(v) for k, v in array.attrs.items()}
    delay = array["delay"].values if "delay" in array.coords else None
    return values, delay, attrs.get("pixel_nm"), attrs, str(name)


class TiffPages:
    """Array-like view of a TIFF whose pages are the frames: indexing reads only those pages.

    Holds the path, not an open file, so it pickles small and each process reopens the file.
    """

    def __init__(self, path: str, shape: tuple[int, int, int], dtype: np.dtype) -> None:
        self.path = path
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.ndim = 3

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        pages = np.arange(self.shape[0])[key[0]]
        single = np.ndim(pages) == 0
        pages = np.atleast_1d(pages)
        with quiet_tifffile(), tifffile.TiffFile(self.path) as tf:
            frames = np.stack([tf.pages[int(i)].asarray() for i in pages]) if pages.size else (
                np.empty((0, *self.shape[1:]), self.dtype))
        frames = frames[(slice(None), *key[1:])]
        return frames[0] if single else frames


def _open_tiff(path: Path):
    with tifffile.TiffFile(path) as tf:
        if not tf.series:
            raise InputError("the TIFF holds no images")
        series = tf.series[0]
        meta = tiff_metadata(tf)
        shape = tuple(series.shape)
        n_pages = len(tf.pages)
        dtype = series.dtype
        axes = series.axes
    dims = tuple(meta.get("dims") or ())
    if dims:
        if dims != FRAME_DIMS:
            return None
    elif axes not in ("IYX", "QYX", "TYX", "ZYX") or "chopper" in meta:
        return None
    if len(shape) != 3 or n_pages != shape[0]:
        return None
    ny, nx = shape[1:]
    view = TiffPages(str(path), shape, dtype)
    step = frames_per_chunk(ny, nx, np.dtype(dtype).itemsize)
    values = da.from_array(view, chunks=(step, ny, nx), asarray=False, meta=np.empty((0, 0, 0),
                                                                                      dtype))
    attrs = dict(meta.get("attrs") or {})
    for key in ("pump_nm", "probe_nm", "sample"):
        if key in meta and key not in attrs:
            attrs[key] = meta[key]
    delay = as_delay_array(meta["delay_fs"], str(path)) if "delay_fs" in meta else None
    pix = meta.get("pixel_nm", attrs.get("pixel_nm"))
    if pix is None:
        from tamkit.io.tiff import resolution_pixel_nm

        with tifffile.TiffFile(path) as tf:
            pix = resolution_pixel_nm(tf)
    return values, delay, pix, attrs, meta.get("name")


def _assemble_lazy(values, delay_fs, pix, attrs, name, source: str) -> xr.DataArray:
    """Label and validate a dask array as a dT/T stack (the lazy twin of io's ``assemble``)."""
    if delay_fs is None:
        raise InputError(
            f"no delays for {source}: give a delays file (one column, fs) or store delay_fs "
            "in the file's metadata"
        )
    if pix is None:
        raise InputError(
            f"no pixel size for {source}: give --pixel-size / pixel_nm (nm at the sample) or "
            "store it in the file's metadata"
        )
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype,
                                                                   np.complexfloating):
        raise InputError(f"frame values must be real numbers, got {values.dtype}")
    stack_attrs = {k: v for k, v in dict(attrs or {}).items() if v is not None}
    stack_attrs.setdefault("quantity", "dT/T")
    return make_stack(values, delay_fs, pix, attrs=stack_attrs).rename(name or "dT_T")


def validate_lazy(stack: xr.DataArray) -> xr.DataArray:
    """:func:`tamkit.core.stack.validate_stack` of a dask-backed stack (it stays lazy)."""
    return validate_stack(stack)
