"""`tamkit analyze` end to end; its bad-input contract: exit 2, one line, nothing left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tamkit.io import save_stack
from tamkit.testing.artificial import spreading_gaussian_stack


@pytest.fixture(scope="module")
def good_stack(tmp_path_factory) -> Path:
    stack, _ = spreading_gaussian_stack(seed=3, attrs={"pitch_nm": 3.0})
    path = tmp_path_factory.mktemp("good") / "film.nc"
    save_stack(stack, path)
    return path


def test_analyze_writes_all_outputs(good_stack, tmp_path, run_cli):
    out = tmp_path / "res"
    code, stdout, _ = run_cli(["analyze", good_stack, "--out", out])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "tamkit.results/1"
    for key in ("tamkit_version", "input", "parameters", "sigma0_nm", "sigma0_err_nm", "frames",
                "regimes", "band_like", "anisotropy"):
        assert key in results
    assert results["input"]["n_frames"] == len(results["frames"])
    assert results["input"]["signal_sign"] == -1
    assert len(results["input"]["sha256"]) == 64
    frame = results["frames"][0]
    for key in ("delay_fs", "sigma_nm", "sigma_err_nm", "msd_nm2", "msd_err_nm2", "D_cm2_s",
                "amplitude", "status", "reason"):
        assert key in frame
    assert frame["status"] == "baseline"
    assert results["band_like"]["D_max_cm2_s"] == pytest.approx(102, rel=0.15)
    assert (out / "frames.csv").read_text().count("\n") == len(results["frames"]) + 1
    for fig in ("msd.png", "diffusivity.png", "length.png", "montage.png"):
        assert (out / "figures" / fig).stat().st_size > 1000
    assert "band-like" in (out / "report.html").read_text()
    # never overwrite without --force, and leave the old results untouched
    before = (out / "results.json").read_text()
    code, _, err = run_cli(["analyze", good_stack, "--out", out])
    assert code == 2 and "--force" in err
    assert (out / "results.json").read_text() == before
    code, _, _ = run_cli(["analyze", good_stack, "--out", out, "--force"])
    assert code == 0
    # figures are drawn once, as PNG; --svg adds the editable vector twins, linked from the page
    assert not list((out / "figures").glob("*.svg"))
    code, _, _ = run_cli(["analyze", good_stack, "--out", out, "--force", "--svg"])
    assert code == 0
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert sorted(p.stem for p in (out / "figures").glob("*.svg")) == pngs
    assert all(f'figures/{stem}.svg"' in (out / "report.html").read_text() for stem in pngs)


def _npy(tmp_path: Path, frames, delays=None, name="s.npy") -> list[str]:
    path = tmp_path / name
    np.save(path, np.asarray(frames))
    args = [str(path)]
    if delays is not None:
        dpath = tmp_path / "delays.csv"
        dpath.write_text(delays if isinstance(delays, str) else
                         "delay_fs\n" + "\n".join(f"{d:g}" for d in delays))
        args += ["--delays", str(dpath)]
    return args


def _frames(n=12, size=24, seed=0):
    delay = np.concatenate([[-200.0, -100.0], np.geomspace(10, 1e5, n - 2)])
    stack, _ = spreading_gaussian_stack(delay, shape=(size, size), seed=seed)
    return np.asarray(stack.values), delay


def _corrupt(tmp_path, suffix, data: bytes):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(data)
    return [str(path), "--pixel-size", "55.6"]


def _truncated_tiff(tmp_path):
    import tifffile

    frames, _ = _frames()
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, frames.astype(np.float32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return [str(path), "--pixel-size", "55.6"]


def _truncated_nc(tmp_path, good_stack):
    data = good_stack.read_bytes()
    path = tmp_path / "t.nc"
    path.write_bytes(data[: len(data) // 2])
    return [str(path)]


def _case(name, tmp_path, good_stack):  # noqa: C901 - a table of cases
    frames, delay = _frames()
    if name == "missing file":
        return [str(tmp_path / "nope.tif")]
    if name == "directory":
        return [str(tmp_path)]
    if name == "empty tiff":
        return _corrupt(tmp_path, ".tif", b"")
    if name == "garbage tiff":
        return _corrupt(tmp_path, ".tif", b"II*\x00garbage" * 10)
    if name == "truncated tiff":
        return _truncated_tiff(tmp_path)
    if name == "truncated netcdf":
        return _truncated_nc(tmp_path, good_stack)
    if name == "unknown suffix":
        return _corrupt(tmp_path, ".xyz", b"1 2 3")
    if name == "1d array":
        return _npy(tmp_path, np.arange(10.0), delay) + ["--pixel-size", "55.6"]
    if name == "no delays for npy":
        return _npy(tmp_path, frames) + ["--pixel-size", "55.6"]
    if name == "delay count mismatch":
        return _npy(tmp_path, frames, delay[:-1]) + ["--pixel-size", "55.6"]
    if name == "unsorted delays":
        return _npy(tmp_path, frames, delay[::-1]) + ["--pixel-size", "55.6"]
    if name == "duplicate delays":
        d = delay.copy()
        d[5] = d[4]
        return _npy(tmp_path, frames, d) + ["--pixel-size", "55.6"]
    if name == "non-numeric delays":
        return _npy(tmp_path, frames, "delay_fs\n1\ntwo\n3\n") + ["--pixel-size", "55.6"]
    if name == "nan delay":
        d = delay.copy()
        d[3] = np.nan
        return _npy(tmp_path, frames, d) + ["--pixel-size", "55.6"]
    if name == "all-NaN frame":
        f = frames.copy()
        f[6] = np.nan
        return _npy(tmp_path, f, delay) + ["--pixel-size", "55.6"]
    if name == "no signal":
        rng = np.random.default_rng(0)
        return _npy(tmp_path, rng.normal(0, 1e-4, frames.shape), delay) + ["--pixel-size", "55.6"]
    if name == "missing pixel size":
        return _npy(tmp_path, frames, delay)
    if name == "negative pixel size":
        return _npy(tmp_path, frames, delay) + ["--pixel-size", "-5"]
    if name == "frames too small":
        return _npy(tmp_path, frames[:, :3, :3], delay) + ["--pixel-size", "55.6"]
    if name == "only baseline":
        return _npy(tmp_path, frames, -1000.0 + np.arange(frames.shape[0])) + [
            "--pixel-size", "55.6"]
    if name == "negative temperature":
        return [str(good_stack), "--temperature", "-10"]
    if name == "zero pitch":
        return [str(good_stack), "--pitch", "0"]
    if name == "non-numeric option":
        return [str(good_stack), "--pitch", "abc"]
    raise AssertionError(name)


BAD_CASES = [
    "missing file", "directory", "empty tiff", "garbage tiff", "truncated tiff",
    "truncated netcdf", "unknown suffix", "1d array", "no delays for npy", "delay count mismatch",
    "unsorted delays", "duplicate delays", "non-numeric delays", "nan delay", "all-NaN frame",
    "no signal", "missing pixel size", "negative pixel size", "frames too small", "only baseline",
    "negative temperature", "zero pitch", "non-numeric option",
]


@pytest.mark.parametrize("name", BAD_CASES)
def test_bad_input_exits_2_with_one_line(name, tmp_path, good_stack, run_cli):
    work = tmp_path / "work"
    work.mkdir()
    args = _case(name, work, good_stack)
    out = tmp_path / "out"
    listing_before = sorted(p.name for p in work.iterdir())
    code, _, err = run_cli(["analyze", *args, "--out", out])
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("tamkit: error: ")
    assert "Traceback" not in err
    assert not out.exists()
    # no partial output folder next to the target, and the inputs untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert sorted(p.name for p in work.iterdir()) == listing_before


def test_console_script_bad_input_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tamkit.cli", "analyze", str(tmp_path / "missing.tif")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "Traceback" not in proc.stderr
