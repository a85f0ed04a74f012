"""NetCDF-4 / HDF5 stacks: tamkit's own schema, and plain HDF5 files.

tamkit's schema (written by :func:`save_stack`) is a NetCDF-4 file holding one DataArray with
its coords (``delay`` in fs, ``y``/``x`` in nm, ``chopper`` labels for raw data) and attrs;
attrs that NetCDF cannot hold (lists, dicts, booleans, None) are stored as ``json:`` text.
Any NetCDF-4 or NetCDF-3 file with one variable whose dims are ``(delay, y, x)``, optionally
preceded by ``spot``/``run``/``chopper``, is read the same way; its pixel size comes from the
``pixel_nm`` attr or, failing that, from an evenly spaced ``x`` coordinate with units nm or um.

Plain HDF5 (no NetCDF dimension scales) is accepted as:

* the frames in a top-level dataset named one of :data:`DATA_NAMES`, shaped
  ``(delay, y, x)`` or raw ``(spot, run, chopper, delay, y, x)``, or with a ``dims`` attr
  naming its axes (e.g. ``["chopper", "delay", "y", "x"]``);
* delays in a dataset ``delay_fs`` (or an attr ``delay_fs`` of the frames);
* the pixel size in an attr ``pixel_nm`` of the frames or the file, or a scalar dataset;
* for raw data, chopper labels in an attr ``chopper`` (default ``["on", "off"]``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.stack import FRAME_DIMS, RAW_DIMS
from tamkit.io._common import (
    Read,
    decode_attr,
    delay_fs_in,
    encode_attr,
    file_errors,
    length_nm,
)

SCHEMA = "tamkit.core.stack/1"
#: Dataset names a plain HDF5 file may use for its frames, in order of preference.
DATA_NAMES = ("dT_T", "dtt", "frames", "counts", "data", "stack")
DELAY_NAMES = ("delay_fs", "delays_fs", "delay")


def save_stack(stack: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write a stack (dT/T or raw counts) to NetCDF-4 in tamkit's schema; return the path."""
    path = Path(path)
    name = str(stack.name or "dT_T")
    ds = stack.rename(name).to_dataset()
    ds.attrs["schema"] = SCHEMA
    ds.attrs["variable"] = name
    ds[name].attrs = {k: encode_attr(v) for k, v in stack.attrs.items()}
    ds.to_netcdf(path, engine="h5netcdf")
    return path


save_netcdf = save_stack


#: the first bytes of NetCDF-3 files: classic and 64-bit offset (read by scipy), and CDF-5
NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02")
CDF5_MAGIC = b"CDF\x05"


def read_hdf(path: Path) -> Read:
    """Read a NetCDF-4, NetCDF-3 or plain HDF5 stack (see the module docstring)."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic in NETCDF3_MAGIC:  # classic and 64-bit-offset NetCDF-3: not HDF5 underneath
        with file_errors(path, "NetCDF-3"):
            return _read_netcdf(path, engine="scipy")
    if magic == CDF5_MAGIC:
        raise InputError(f"{path}: NetCDF-3 in the CDF-5 (64-bit data) format cannot be read; "
                         "convert it to NetCDF-4 (nccopy -k nc4 IN OUT)")
    with file_errors(path, "NetCDF/HDF5"):
        with h5py.File(path, "r") as h5:
            netcdf = h5.attrs.get("schema") is not None or any(
                "DIMENSION_LIST" in obj.attrs or "CLASS" in obj.attrs
                for obj in h5.values()
                if isinstance(obj, h5py.Dataset)
            )
            if not netcdf:
                return _read_plain_hdf5(h5)
        return _read_netcdf(path)


def load_netcdf(path: str | os.PathLike) -> xr.DataArray:
    """Read a NetCDF-4 stack in tamkit's schema and return it as stored (raw or dT/T)."""
    path = Path(path)
    with file_errors(path, "NetCDF/HDF5"):
        return _read_netcdf(path).to_stack(str(path))


def _read_netcdf(path: Path, engine: str = "h5netcdf") -> Read:
    with xr.open_dataset(path, engine=engine) as ds:
        ds = ds.load()
    name = ds.attrs.get("variable")
    if name not in ds.data_vars:
        candidates = [v for v in ds.data_vars if set(FRAME_DIMS) <= set(ds[v].dims)]
        if len(candidates) != 1:
            raise InputError("no single data variable with dims (delay, y, x)")
        name = candidates[0]
    array = ds[name]
    extra = [d for d in array.dims if d not in FRAME_DIMS]
    if not set(extra) <= set(RAW_DIMS):
        raise InputError(
            f"variable {name!r} has dims {tuple(array.dims)}; expected (delay, y, x) after "
            "any of spot, run, chopper"
        )
    attrs = {k: decode_attr(v) for k, v in array.attrs.items()}
    pixel = _pixel_nm(attrs.get("pixel_nm"), array, path)
    coords = {d: array[d].values for d in extra if d in array.coords}
    delay = None
    if "delay" in array.coords:
        delay = delay_fs_in(array["delay"].values, array["delay"].attrs.get("units"), str(path))
    return Read(
        array.values, tuple(array.dims), delay_fs=delay, pixel_nm=pixel, attrs=attrs,
        coords=coords, name=str(name),
    )


#: a pixel_nm attribute and the x coordinate's spacing may differ by this much (relative)
PIXEL_AGREEMENT = 0.01


def _pixel_nm(attr: Any, array: xr.DataArray, path: Path) -> Any:
    """The pixel size: the ``pixel_nm`` attr, else the x coordinate's spacing; both present
    and different is refused (which one is right cannot be known, and either changes sigma_0
    and D by the ratio)."""
    from_coord = _pixel_from_coord(array["x"]) if "x" in array.coords else None
    if attr is None:
        return from_coord
    try:
        attr_nm = float(attr)
    except (TypeError, ValueError):
        return attr  # validated with the stack (a clear message there)
    if from_coord is not None and np.isfinite(attr_nm) and attr_nm > 0 and (
            abs(attr_nm - from_coord) > PIXEL_AGREEMENT * from_coord):
        raise InputError(f"{path}: the pixel_nm attribute ({attr_nm:g} nm) disagrees with the "
                         f"x coordinate's spacing ({from_coord:g} nm); fix one of them")
    return attr


def _pixel_from_coord(coord: xr.DataArray) -> float | None:
    values = np.asarray(coord.values, dtype=float)
    if values.size < 2:
        return None
    steps = np.diff(values)
    if not np.allclose(steps, steps[0], rtol=1e-6):
        return None
    return length_nm(abs(steps[0]), coord.attrs.get("units", "nm"))


def _read_plain_hdf5(h5: h5py.File) -> Read:
    names = [n for n in DATA_NAMES if isinstance(h5.get(n), h5py.Dataset)]
    if not names:
        raise InputError(
            f"no frames dataset; expected one of {', '.join(DATA_NAMES)} at the top level"
        )
    data = h5[names[0]]
    values = data[()]
    dims = _plain_dims(data, values.ndim)
    delay: Any = data.attrs.get("delay_fs")
    for key in DELAY_NAMES:
        if delay is None and isinstance(h5.get(key), h5py.Dataset):
            delay = delay_fs_in(h5[key][()], decode_attr(h5[key].attrs.get("units")),
                                f"dataset {key!r}")
    pixel = data.attrs.get("pixel_nm", h5.attrs.get("pixel_nm"))
    if pixel is None and isinstance(h5.get("pixel_nm"), h5py.Dataset):
        pixel = h5["pixel_nm"][()]
    coords = {}
    if "chopper" in dims:
        labels = data.attrs.get("chopper", ["on", "off"])
        coords["chopper"] = [x.decode() if isinstance(x, bytes) else str(x) for x in labels]
    attrs = {
        k: decode_attr(v)
        for k, v in data.attrs.items()
        if k not in ("dims", "delay_fs", "pixel_nm", "chopper")
    }
    return Read(values, dims, delay_fs=delay, pixel_nm=pixel, attrs=attrs, coords=coords)


def _plain_dims(data: h5py.Dataset, ndim: int) -> tuple[str, ...]:
    if "dims" in data.attrs:
        dims = tuple(d.decode() if isinstance(d, bytes) else str(d) for d in data.attrs["dims"])
        if len(dims) != ndim:
            raise InputError(
                f"dataset {data.name!r} has {ndim} dims but its 'dims' attr names {dims}"
            )
        return dims
    if ndim == 3:
        return FRAME_DIMS
    if ndim == 6:
        return RAW_DIMS + FRAME_DIMS
    raise InputError(
        f"dataset {data.name!r} is {ndim}D; expected (delay, y, x), raw (spot, run, chopper, "
        "delay, y, x), or a 'dims' attr naming the axes"
    )
