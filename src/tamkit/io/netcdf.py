"""tamkit's own NetCDF (HDF5) schema: the stack DataArray with its coords and attrs."""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from tamkit.errors import InputError

SCHEMA = "tamkit.stack/1"


def save_stack(stack: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write a stack (dT/T or raw counts) to NetCDF-4 in tamkit's schema; return the path."""
    path = Path(path)
    ds = stack.rename(stack.name or "dT_T").to_dataset()
    ds.attrs["schema"] = SCHEMA
    ds.attrs["variable"] = ds_name = str(stack.name or "dT_T")
    ds[ds_name].attrs = {k: _attr(v) for k, v in stack.attrs.items()}
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def _attr(value):
    return str(value) if isinstance(value, dict | list | tuple | type(None)) else value


def load_netcdf(path: str | os.PathLike) -> xr.DataArray:
    """Read a stack written by :func:`save_stack` (or any NetCDF with one (delay, y, x) array)."""
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as exc:  # h5py/xarray raise many types for a corrupt file
        raise InputError(f"cannot read {path} as NetCDF/HDF5: {exc}") from None
    name = ds.attrs.get("variable")
    if name not in ds.data_vars:
        candidates = [v for v in ds.data_vars if {"delay", "y", "x"} <= set(ds[v].dims)]
        if len(candidates) != 1:
            raise InputError(f"{path}: no single data variable with dims (delay, y, x)")
        name = candidates[0]
    return ds[name]
