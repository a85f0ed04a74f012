"""Lazy loading of stacks (tamkit.io.lazy): checks and overrides when opening a NetCDF or TIFF
file lazily. The batch's lazily analysed stacks are tested in tests/workflows/test_batch.py."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.io import save_stack
from tamkit.io.lazy import open_lazy
from tamkit.io.netcdf import save_netcdf
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs

# the stacks of tests/workflows/test_batch.py: 3 baseline + 21 linear + 8 log delays, 24x24
DELAY_FS = tam_delays_fs(step_fs=50.0, n_log=8, n_baseline=3)


def _stack(seed: int):
    stack, _ = spreading_gaussian_stack(DELAY_FS, shape=(24, 24), sigma0_nm=141.0,
                                        peak_snr=200.0, seed=seed)
    return stack


def test_lazy_open_checks_and_overrides(tmp_path):
    stack = _stack(3)
    values = stack.values.copy()
    values[10] = np.nan  # a dead frame after time zero
    dead = xr.DataArray(values, dims=stack.dims, coords=stack.coords, attrs=stack.attrs)
    save_netcdf(dead, tmp_path / "dead.nc")  # the writer itself, without io's validation
    with pytest.raises(InputError, match="no finite pixel"):
        open_lazy(tmp_path / "dead.nc")
    save_stack(stack, tmp_path / "ok.tif")
    lazy = open_lazy(tmp_path / "ok.tif", pixel_nm=40.0)
    assert lazy.attrs["pixel_nm"] == 40.0
    assert np.diff(lazy["x"].values) == pytest.approx(40.0)
    np.testing.assert_array_equal(lazy.isel(delay=[4, 20]).values, stack.values[[4, 20]])


def test_value_checks_of_a_chunked_stack_equal_the_in_memory_ones():
    # chunk by chunk (several chunks along delay, some split along y): the same per-frame
    # counts and peaks as the in-memory path, and a frame beyond the value range is refused
    from tamkit.core.stack import _finite_counts_and_peaks, validate_stack

    stack = _stack(4)
    values = stack.values.copy()
    values[7, :3, :5] = np.nan
    values[12, 2, 2] = -9.0
    stack = stack.copy(data=values)
    chunked = stack.chunk({"delay": 5, "y": 10})
    for got, want in zip(_finite_counts_and_peaks(chunked), _finite_counts_and_peaks(stack),
                         strict=True):
        np.testing.assert_array_equal(got, want)
    assert _finite_counts_and_peaks(chunked)[0][7] == 24 * 24 - 15
    values[20, 0, 0] = 1e120
    with pytest.raises(InputError, match="rescale the data"):
        validate_stack(stack.copy(data=values).chunk({"delay": 6}))
