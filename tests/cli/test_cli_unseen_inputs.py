"""Inputs found by fuzzing the command line (2026-12-02): each was a wrong number, a traceback
or an unclear message; each is now read right or refused with one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from tamkit import io
from tamkit.carrier_transport.band_like import implausible_speed_warning
from tamkit.core.errors import InputError
from tamkit.io import save_stack
from tamkit.io.delays import read_delays
from tamkit.testing import artificial
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs

DELAY_FS = tam_delays_fs(step_fs=60.0, n_log=6, n_baseline=3)


def _stack(seed: int = 0):
    stack, _ = spreading_gaussian_stack(DELAY_FS, shape=(20, 20), pixel_nm=55.0,
                                        peak_snr=200.0, seed=seed)
    return stack


def _one_line_exit_2(code: int, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("tamkit: error: "), err
    return lines[0]


@pytest.mark.parametrize("unit,factor", [("ps", 1e-3), ("ns", 1e-6), ("fs", 1.0), ("", 1.0)])
def test_a_delay_axis_in_another_time_unit_is_converted(tmp_path, unit, factor):
    # before: units 'ps' were ignored and the delays read as fs (D_max 1000x, tau 1/1000)
    stack = _stack()
    stack = stack.assign_coords(delay=("delay", stack["delay"].values * factor, {"units": unit}))
    save_stack(stack, tmp_path / "s.nc")
    np.testing.assert_allclose(io.load(tmp_path / "s.nc")["delay"].values, DELAY_FS)


def test_a_delay_axis_whose_unit_is_no_time_is_refused(tmp_path):
    stack = _stack()
    stack = stack.assign_coords(delay=("delay", stack["delay"].values, {"units": "furlongs"}))
    save_stack(stack, tmp_path / "s.nc")
    with pytest.raises(InputError, match="units 'furlongs', not a time"):
        io.load(tmp_path / "s.nc")


def test_a_pixel_attribute_that_contradicts_the_coordinates_is_refused(tmp_path):
    # before: the attribute (100 nm) silently won over the 55 nm spacing: sigma_0 1.8x
    stack = _stack()
    stack.attrs["pixel_nm"] = 100.0
    save_stack(stack, tmp_path / "s.nc")
    with pytest.raises(InputError, match=r"pixel_nm attribute \(100 nm\) disagrees"):
        io.load(tmp_path / "s.nc")


def test_delays_file_units_header_and_decimal_commas(tmp_path):
    (tmp_path / "ps.txt").write_text("delay_ps\n-0,5\n0\n1,25\n")
    np.testing.assert_allclose(read_delays(tmp_path / "ps.txt"), [-500.0, 0.0, 1250.0])
    (tmp_path / "csv.txt").write_text("1.5,\n2.5,\n")  # trailing commas stay separators
    np.testing.assert_allclose(read_delays(tmp_path / "csv.txt"), [1.5, 2.5])
    with pytest.raises(InputError, match="is a directory, not a delays file"):
        read_delays(tmp_path)


def test_a_tiff_with_pages_of_two_shapes_is_refused(tmp_path):
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((3, 16, 16), np.float32), photometric="minisblack")
        tw.write(np.zeros((2, 8, 8), np.float32), photometric="minisblack")
    with pytest.raises(InputError, match=r"2 image series .*16x16, 8x8"):
        io.load(path, delays=np.arange(3.0))


def test_raw_frames_without_positive_pump_off_counts_say_why(tmp_path):
    truth = _stack()
    raw = artificial.raw_acquisition(truth, n_runs=1, n_spots=1, seed=1)
    raw.loc[{"chopper": "off"}] = -3.0  # dark-subtracted below zero
    save_stack(raw, tmp_path / "raw.nc")
    from tamkit.preprocessing.differential import preprocess

    with pytest.raises(InputError, match="pump-off counts at delay .* are all zero or negative"):
        preprocess(io.load(tmp_path / "raw.nc"))


def test_a_band_like_speed_beyond_any_carrier_is_flagged():
    # the paper's 80 nm in 300 fs is 2.7e5 m/s; the same delays read as fs instead of ps, 1000x
    assert implausible_speed_warning(80.0, 300.0) is None
    assert "faster than any carrier" in implausible_speed_warning(80.0, 0.3)


def test_delays_in_ps_given_as_fs_give_a_warning(tmp_path, run_cli):
    save_stack(_stack(), tmp_path / "s.nc")
    (tmp_path / "d.txt").write_text("\n".join(f"{d / 1e3:.6g}" for d in DELAY_FS))
    code, _, err = run_cli(["analyze", tmp_path / "s.nc", "--delays", tmp_path / "d.txt",
                            "--out", tmp_path / "out"])
    assert code == 0, err
    assert "faster than any carrier" in " ".join(err.split())


def test_a_series_of_one_value_is_refused_before_fitting(tmp_path, run_cli):
    for name in ("a", "b"):
        save_stack(_stack(), tmp_path / f"{name}.nc")
    code, _, err = run_cli(["series", tmp_path / "a.nc", tmp_path / "b.nc", "--values",
                            "0.05,0.05", "--out", tmp_path / "out"])
    assert "two different values of <N_abs>" in _one_line_exit_2(code, err)
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_cannot_be_created_is_refused_first(tmp_path, run_cli, monkeypatch):
    # an immutable folder or a read-only mount: permission bits cannot tell (root ignores them)
    import tamkit.core.outputs as outputs

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    save_stack(_stack(), tmp_path / "s.nc")
    monkeypatch.setattr(outputs.tempfile, "mkdtemp", refuse)
    code, _, err = run_cli(["analyze", tmp_path / "s.nc", "--out", tmp_path / "ro" / "run"])
    assert "nothing can be created in" in _one_line_exit_2(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.nc"]


def test_numpy_warnings_never_reach_the_terminal(tmp_path, run_cli):
    # a blank stack: before, two RuntimeWarning lines came before the one-line error
    stack = _stack()
    stack[:] = 0.0
    save_stack(stack, tmp_path / "zero.nc")
    code, _, err = run_cli(["analyze", tmp_path / "zero.nc", "--out", tmp_path / "out"])
    _one_line_exit_2(code, err)




@pytest.mark.parametrize("where", ["input", "out"])
def test_a_file_name_too_long_is_one_line(tmp_path, run_cli, where):
    # before: OSError [Errno 36] from os.stat, a traceback, on every command (2026-12-03)
    save_stack(_stack(), tmp_path / "s.nc")
    long_name = tmp_path / ("y" * 300 + ".nc")
    args = (["analyze", long_name, "--out", tmp_path / "out"] if where == "input"
            else ["analyze", tmp_path / "s.nc", "--out", tmp_path / ("z" * 300)])
    line = _one_line_exit_2(*run_cli(args)[::2])
    assert "File name too long" in line
    assert "..." in line and len(line) < 200  # the name is shortened, not pasted whole
    assert not (tmp_path / "out").exists()


def test_os_errors_that_are_not_about_a_path_stay_visible():
    from tamkit.cli import os_error_message

    assert os_error_message(OSError("a socket closed")) is None
    assert os_error_message(OSError(28, "No space left on device")) == "No space left on device"
    assert os_error_message(FileNotFoundError(2, "No such file", "a.nc")) == "a.nc: No such file"


def test_a_pixel_size_in_micrometres_is_refused(tmp_path, run_cli):
    # before: 0.0556 (um) read as nm gave sigma_0 0.14 nm and D_max 1e-4 cm^2/s, exit 0
    import xarray as xr

    stack = _stack()
    x_um = stack["x"].values * 1e-3
    xr.DataArray(stack.values, dims=("delay", "y", "x"), name="dT_T",
                 coords={"delay": stack["delay"].values, "x": x_um, "y": x_um}
                 ).to_netcdf(tmp_path / "um.nc", engine="h5netcdf")
    line = _one_line_exit_2(*run_cli(["analyze", tmp_path / "um.nc", "--out",
                                      tmp_path / "o"])[::2])
    assert "is the unit nm (not µm)?" in line
    save_stack(_stack(), tmp_path / "s.nc")
    line = _one_line_exit_2(*run_cli(["analyze", tmp_path / "s.nc", "--pixel-size", "0.055",
                                      "--out", tmp_path / "o"])[::2])
    assert "0.055" in line


def test_a_sigma0_below_any_optical_spot_is_a_warning():
    from tamkit.carrier_transport.analysis import MIN_OPTICAL_SIGMA0_NM, transport
    from tamkit.testing.artificial import BandLikeTruth, fits_table

    delay = tam_delays_fs()
    fits = fits_table(delay, BandLikeTruth().msd_nm2(delay) * 1e-4, sigma0_nm=14.0,
                      sigma_err_nm=0.1, seed=1)
    result = transport(fits, n_bootstrap=0)
    assert result.sigma0_nm < MIN_OPTICAL_SIGMA0_NM
    assert any("below any optical pump spot" in w for w in result.warnings)
    fits = fits_table(delay, BandLikeTruth().msd_nm2(delay), sigma0_nm=141.0, seed=1)
    assert not any("optical pump spot" in w for w in transport(fits, n_bootstrap=0).warnings)


def test_a_series_names_the_stack_it_could_not_analyse(tmp_path, run_cli):
    # before: "only 3 frames after time zero have a usable fit", with no file name
    save_stack(_stack(0), tmp_path / "good.nc")
    noise, _ = spreading_gaussian_stack(DELAY_FS, shape=(20, 20), pixel_nm=55.0, peak_snr=0.01,
                                        seed=1)
    save_stack(noise, tmp_path / "noise.nc")
    line = _one_line_exit_2(*run_cli(["series", tmp_path / "good.nc", tmp_path / "noise.nc",
                                      "--values", "0.05,0.1", "--out", tmp_path / "o"])[::2])
    assert f"{tmp_path / 'noise.nc'}: " in line and "usable fit" in line
    assert not (tmp_path / "o").exists()


def test_too_few_frames_after_time_zero_says_so_not_asks_for_signal(tmp_path, run_cli):
    # a strong spot recorded at 3 delays >= 0 was answered "is there signal above the noise?"
    stack = _stack(0).isel(delay=slice(0, 6))  # 3 baseline frames, 3 after time zero
    save_stack(stack, tmp_path / "short.nc")
    line = _one_line_exit_2(*run_cli(["analyze", tmp_path / "short.nc",
                                      "--out", tmp_path / "o"])[::2])
    assert "has 3 frame(s) at delays >= 0 (of 6)" in line and "signal" not in line


@pytest.mark.parametrize("sigma_nm", [1200.0, 8000.0])
def test_a_spot_larger_than_the_field_is_refused_with_that_reason(tmp_path, run_cli, sigma_nm):
    """A PIA spot of 1200 nm (reach 1.1 widths) or 8000 nm (3x the 2667 nm field): refused,
    naming the field of view (8000 nm had given sigma_0 = 9e-8 nm and exit 0 with the sign
    wrong; 1200 nm asked whether there was signal at a peak SNR of 50)."""
    stack, _ = spreading_gaussian_stack(sigma0_nm=sigma_nm, msd_nm2=None, seed=3)
    save_stack(stack, tmp_path / "wide.nc")
    line = _one_line_exit_2(*run_cli(["analyze", tmp_path / "wide.nc",
                                      "--out", tmp_path / "o"])[::2])
    assert "larger than the field of view" in line
    assert not (tmp_path / "o").exists()
