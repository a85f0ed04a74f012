"""Every writer reloads unchanged; load() of raw data equals preprocess(raw)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamkit import io
from tamkit.core.stack import make_stack
from tamkit.preprocessing.differential import preprocess
from tamkit.testing import artificial

SUFFIXES = [".nc", ".h5", ".tif", ".tiff", ".npy", ".npz"]


@pytest.fixture(scope="module")
def dtt_stack() -> xr.DataArray:
    stack, _ = artificial.spreading_gaussian_stack(
        artificial.log_delays_fs(n_signal=12, n_baseline=3), shape=(16, 20), seed=3,
        attrs={"sample": "film A", "nabs": 0.12, "pump_nm": 400.0, "tags": ["a", "b"]},
    )
    return stack


@pytest.fixture(scope="module")
def raw_stack(dtt_stack) -> xr.DataArray:
    return artificial.raw_acquisition(dtt_stack, n_runs=3, n_spots=2, seed=4)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_dtt_round_trip_is_identical(tmp_path, dtt_stack, suffix):
    path = io.save_stack(dtt_stack, tmp_path / f"stack{suffix}")
    xr.testing.assert_identical(io.load_stack(path), dtt_stack)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_raw_round_trip_is_identical(tmp_path, raw_stack, suffix):
    path = io.save_stack(raw_stack, tmp_path / f"raw{suffix}")
    back = io.load_stack(path)
    xr.testing.assert_identical(back, raw_stack)
    assert back.dtype == raw_stack.dtype


def test_integer_camera_counts_round_trip(tmp_path, raw_stack):
    counts = raw_stack.astype(np.uint16)
    for suffix in (".tif", ".nc", ".npy"):
        back = io.load_stack(io.save_stack(counts, tmp_path / f"u16{suffix}"))
        assert back.dtype == np.uint16
        np.testing.assert_array_equal(back.values, counts.values)


@pytest.mark.parametrize("suffix", [".nc", ".tif", ".npz"])
def test_load_of_raw_equals_preprocess(tmp_path, raw_stack, suffix):
    path = io.save_stack(raw_stack, tmp_path / f"raw{suffix}")
    xr.testing.assert_identical(io.load(path), preprocess(raw_stack))


def test_load_of_dtt_returns_it_as_stored(tmp_path, dtt_stack):
    path = io.save_stack(dtt_stack, tmp_path / "s.nc")
    xr.testing.assert_identical(io.load(path), dtt_stack)


def test_overrides_replace_metadata(tmp_path, dtt_stack):
    path = io.save_stack(dtt_stack, tmp_path / "s.tif")
    delays = dtt_stack["delay"].values + 7.0
    (tmp_path / "d.txt").write_text("delay_fs\n" + "\n".join(repr(float(v)) for v in delays))
    back = io.load_stack(path, delays=tmp_path / "d.txt", pixel_nm=100.0)
    np.testing.assert_array_equal(back["delay"].values, delays)
    assert back.attrs["pixel_nm"] == 100.0
    # pixel centres, 0 at the frame centre: 20 pixels span -950 .. 950 nm
    assert back["x"].values[0] == pytest.approx(-950.0)
    np.testing.assert_array_equal(back.values, dtt_stack.values)


@pytest.mark.parametrize("suffix", [".nc", ".tif"])
@pytest.mark.parametrize("lazy", [False, True])
def test_a_pixel_size_replacing_the_files_own_is_recorded(tmp_path, dtt_stack, suffix, lazy):
    """A --pixel-size that differs from the file's stored one leaves the stored value in
    ``pixel_nm_in_file`` (the analysis warns); the same value, or none stored, leaves nothing."""
    path = io.save_stack(dtt_stack, tmp_path / f"s{suffix}")
    stored = float(dtt_stack.attrs["pixel_nm"])
    load = io.load_maybe_lazy if lazy else io.load_stack
    kwargs = {"threshold_bytes": 0} if lazy else {}
    back = load(path, pixel_nm=30.0, **kwargs)
    assert (back.chunks is not None) == lazy
    assert back.attrs["pixel_nm"] == 30.0
    assert back.attrs["pixel_nm_in_file"] == pytest.approx(stored)
    assert "pixel_nm_in_file" not in load(path, pixel_nm=stored, **kwargs).attrs
    assert "pixel_nm_in_file" not in load(path, **kwargs).attrs


def test_npy_without_sidecars_needs_delays(tmp_path, dtt_stack):
    path = tmp_path / "bare.npy"
    np.save(path, dtt_stack.values)
    delays = dtt_stack["delay"].values
    back = io.load_stack(path, delays=delays, pixel_nm=55.0)
    np.testing.assert_array_equal(back.values, dtt_stack.values)
    # the sidecar delays file is found next to the frames
    io.write_delays(delays, tmp_path / "bare.delays.txt")
    np.testing.assert_array_equal(io.load_stack(path, pixel_nm=55.0)["delay"].values, delays)


def test_plain_npz_keys(tmp_path, dtt_stack):
    path = tmp_path / "plain.npz"
    np.savez(path, frames=dtt_stack.values, delay_fs=dtt_stack["delay"].values, pixel_nm=40.0)
    back = io.load_stack(path)
    assert back.attrs["pixel_nm"] == 40.0
    np.testing.assert_array_equal(back.values, dtt_stack.values)


def test_plain_hdf5_datasets(tmp_path, dtt_stack, raw_stack):
    import h5py

    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as h5:
        data = h5.create_dataset("dT_T", data=dtt_stack.values)
        data.attrs["pixel_nm"] = 61.5
        h5.create_dataset("delay_fs", data=dtt_stack["delay"].values)
    back = io.load_stack(path)
    assert back.attrs["pixel_nm"] == 61.5
    np.testing.assert_array_equal(back["delay"].values, dtt_stack["delay"].values)
    np.testing.assert_array_equal(back.values, dtt_stack.values)

    # raw counts with a dims attr and the chopper order reversed
    path = tmp_path / "raw_plain.h5"
    one_spot = raw_stack.isel(spot=0).sel(chopper=["off", "on"])
    with h5py.File(path, "w") as h5:
        data = h5.create_dataset("frames", data=one_spot.values)
        data.attrs["dims"] = ["run", "chopper", "delay", "y", "x"]
        data.attrs["chopper"] = ["off", "on"]
        h5.attrs["pixel_nm"] = 55.0
        h5.create_dataset("delay_fs", data=raw_stack["delay"].values)
    back = io.load_stack(path)
    assert back.dims == ("run", "chopper", "delay", "y", "x")
    np.testing.assert_array_equal(
        back.sel(chopper="on").values, raw_stack.isel(spot=0).sel(chopper="on").values
    )


def test_foreign_netcdf_pixel_from_x_coordinate(tmp_path, dtt_stack):
    # a NetCDF from another program: x in um, no pixel_nm attr
    da = dtt_stack.copy()
    da.attrs = {}
    da = da.assign_coords(x=("x", np.arange(da.sizes["x"]) * 0.05, {"units": "um"}))
    da.to_dataset(name="signal").to_netcdf(tmp_path / "foreign.nc", engine="h5netcdf")
    back = io.load_stack(tmp_path / "foreign.nc")
    assert back.attrs["pixel_nm"] == pytest.approx(50.0)


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT"])
def test_netcdf3_file_is_read(tmp_path, dtt_stack, fmt):
    # NetCDF-3 is not HDF5 underneath: it was called "corrupt" before
    da = dtt_stack.copy()
    da.attrs = {"pixel_nm": float(dtt_stack.attrs["pixel_nm"])}
    da.to_dataset(name="signal").to_netcdf(tmp_path / "old.nc", engine="scipy", format=fmt)
    back = io.load_stack(tmp_path / "old.nc")
    np.testing.assert_allclose(back.values, dtt_stack.values, rtol=1e-6)
    np.testing.assert_allclose(back["delay"].values, dtt_stack["delay"].values)
    assert back.attrs["pixel_nm"] == pytest.approx(dtt_stack.attrs["pixel_nm"])


def test_cdf5_file_is_refused_with_the_conversion(tmp_path):
    path = tmp_path / "cdf5.nc"
    path.write_bytes(b"CDF\x05" + bytes(60))
    with pytest.raises(io.InputError, match="nccopy"):
        io.load_stack(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_preprocessed_stack_with_nan_patch_and_nested_attrs(tmp_path, suffix):
    stack, _ = artificial.spreading_gaussian_stack(
        artificial.log_delays_fs(n_signal=8, n_baseline=2), shape=(12, 12), seed=9
    )
    raw = artificial.raw_acquisition(stack, n_runs=3, n_spots=1, outlier_runs=((0, 1),))
    raw[:, :, 1, :, 2:6, 3:7] = 0.0  # chopper "off", dead pixels: no reference, NaN dT/T
    processed = preprocess(raw)  # attrs: rejected_runs (list of dicts), counts, flags
    assert processed.attrs["rejected_runs"] == [{"spot": 0, "run": 1}]
    path = io.save_stack(processed, tmp_path / f"p{suffix}")
    xr.testing.assert_identical(io.load_stack(path), processed)
    assert np.isnan(io.load_stack(path).values[:, 2:6, 3:7]).all()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n_delay=st.integers(1, 6),
    ny=st.integers(5, 9),
    nx=st.integers(5, 9),
    first_fs=st.floats(-1e4, 0.0),
    pixel_nm=st.floats(1.0, 5e3),  # PIXEL_NM_RANGE starts at 1 nm
    suffix=st.sampled_from(SUFFIXES),
    seed=st.integers(0, 2**16),
)
def test_any_valid_stack_round_trips(tmp_path, n_delay, ny, nx, first_fs, pixel_nm, suffix, seed):
    rng = np.random.default_rng(seed)
    delays = first_fs + np.cumsum(rng.uniform(0.1, 1e3, n_delay))
    delays[-1] = max(delays[-1], 0.0)  # at least one frame at delay >= 0
    frames = rng.normal(0.0, 1e-3, (n_delay, ny, nx))
    stack = make_stack(frames, delays, pixel_nm, attrs={"sample": "s", "temperature_K": 77.0})
    path = io.save_stack(stack, tmp_path / f"h{seed}{suffix}")
    xr.testing.assert_identical(io.load_stack(path), stack)
