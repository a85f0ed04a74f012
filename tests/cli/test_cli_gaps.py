"""CLI gaps of issue 15: --out creates missing parents and refuses an existing file (every
command), --delays for series and batch (one file, or a sidecar per stack), and the values a
series is given checked; every bad input exit 2 with one line and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from tamkit.io import save_stack, write_delays
from tamkit.io.delays import sidecar_delays
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs

# 3 baseline + 16 linear + 6 log delays: about 1-2 s per analysis
DELAY_FS = tam_delays_fs(step_fs=60.0, n_log=6, n_baseline=3)
PIXEL_NM = 55.0


def _stack(seed: int, nabs: float | None = None):
    attrs = {} if nabs is None else {"nabs": nabs}
    stack, _ = spreading_gaussian_stack(DELAY_FS, shape=(20, 20), sigma0_nm=141.0,
                                        pixel_nm=PIXEL_NM, peak_snr=200.0, seed=seed,
                                        attrs=attrs)
    return stack


@pytest.fixture(scope="module")
def nc_stacks(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("nc")
    paths = [folder / "low.nc", folder / "high.nc"]
    for seed, (path, nabs) in enumerate(zip(paths, (0.05, 0.1), strict=True)):
        save_stack(_stack(seed, nabs), path)
    return paths


def _plain_tiff(path: Path, seed: int) -> Path:
    """A TIFF as a camera writes it: frames only, no delays, no pixel size."""
    tifffile.imwrite(path, np.asarray(_stack(seed).values, dtype=np.float32))
    return path


def _one_line_exit_2(code: int, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("tamkit: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------------------------- --out


def test_analyze_out_creates_missing_parents(nc_stacks, tmp_path, run_cli):
    out = tmp_path / "results" / "run1"
    code, _, err = run_cli(["analyze", nc_stacks[0], "--out", out])
    assert code == 0, err
    assert json.loads((out / "results.json").read_text())["schema"] == "tamkit.results/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["run1"]


def _commands(stack: Path, other: Path) -> dict[str, list]:
    return {
        "analyze": ["analyze", stack],
        "series": ["series", stack, other, "--values", "0.05,0.1"],
        "batch": ["batch", stack, "--scheduler", "threads"],
        "simulate": ["simulate"],
        "demo": ["demo"],
        "reproduce": ["reproduce", "--quick"],
    }


COMMANDS = ("analyze", "series", "batch", "simulate", "demo", "reproduce")


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("command", COMMANDS)
def test_out_existing_file_is_refused(command, force, nc_stacks, tmp_path, run_cli):
    target = tmp_path / "results.txt"
    target.write_text("precious")
    args = _commands(*nc_stacks)[command] + ["--out", target] + (["--force"] if force else [])
    line = _one_line_exit_2(*run_cli(args)[::2])
    assert "is a file, not a folder" in line
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"]


@pytest.mark.parametrize("command", COMMANDS)
def test_out_under_a_file_is_refused(command, nc_stacks, tmp_path, run_cli):
    (tmp_path / "notes").write_text("x")
    args = _commands(*nc_stacks)[command] + ["--out", tmp_path / "notes" / "run1"]
    line = _one_line_exit_2(*run_cli(args)[::2])
    assert "is a file, not a folder" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_failed_command_removes_the_parents_it_created(tmp_path, run_cli):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage" * 10)
    out = tmp_path / "new" / "deeper" / "run1"
    _one_line_exit_2(*run_cli(["analyze", bad, "--pixel-size", "55", "--out", out])[::2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tif"]


# ------------------------------------------------------------------------- series values


@pytest.mark.parametrize(("by", "values", "message"), [
    ("fluence", "-0.1,0.1", "<N_abs> must be a positive number, got -0.1"),
    ("fluence", "0,0.1", "<N_abs> must be a positive number, got 0"),
    ("fluence", "0.05,inf", "entry 2 is 'inf': give a number, or leave the entry empty"),
    ("fluence", "nan,0.1", "entry 1 is 'nan': give a number, or leave the entry empty"),
    ("composition", "40,NaN", "entry 2 is 'NaN'"),
    ("composition", "40,140", "must be in [0, 100) vol%, got 140"),
    ("composition", "100,40", "must be in [0, 100) vol%, got 100"),
    ("composition", "-5,40", "must be in [0, 100) vol%, got -5"),
])
def test_series_values_checked(by, values, message, nc_stacks, tmp_path, run_cli):
    out = tmp_path / "out"
    args = ["series", *nc_stacks, "--by", by, "--values", values, "--out", out]
    line = _one_line_exit_2(*run_cli(args)[::2])
    assert message in line
    assert not out.exists()


def test_series_metadata_values_checked_before_fitting(tmp_path, run_cli):
    paths = [tmp_path / "a.nc", tmp_path / "b.nc"]
    save_stack(_stack(0, nabs=0.05), paths[0])
    save_stack(_stack(1, nabs=-2.0), paths[1])
    out = tmp_path / "out"
    line = _one_line_exit_2(*run_cli(["series", *paths, "--out", out])[::2])
    assert "b.nc (metadata 'nabs'): <N_abs> must be a positive number, got -2" in line
    assert not out.exists()
    line = _one_line_exit_2(*run_cli(["series", *paths, "--by", "composition", "--values",
                                      "40,60", "--sigma-inh", "30,-1", "--out", out])[::2])
    assert "--sigma-inh" in line and "positive" in line


# ---------------------------------------------------------------------------------- delays


def test_sidecar_rule(tmp_path):
    stack = tmp_path / "film.tif"
    assert sidecar_delays(stack) is None
    for name in ("delays.txt", "delays.csv", "film_delays.txt", "film_delays.csv",
                 "film.delays.txt", "film.delays.csv"):
        (tmp_path / name).write_text("delay_fs\n0\n")
        assert sidecar_delays(stack) == tmp_path / name  # the more specific name wins


def test_series_of_tiffs_with_sidecar_delays(tmp_path, run_cli):
    stacks = [_plain_tiff(tmp_path / f"spot{i}.tif", i) for i in range(2)]
    # one per-stack sidecar, one folder-wide delays.csv: both are found by the rule
    write_delays(DELAY_FS, tmp_path / "spot0_delays.csv")
    write_delays(DELAY_FS, tmp_path / "delays.csv")
    out = tmp_path / "series" / "fluence"
    code, _, err = run_cli(["series", *stacks, "--values", "0.05,0.1", "--delays", "sidecar",
                            "--pixel-size", PIXEL_NM, "--out", out])
    assert code == 0, err
    summary = json.loads((out / "series.json").read_text())
    assert [row["value"] for row in summary["members"]] == [0.05, 0.1]
    for stem, delays in (("spot0", "spot0_delays.csv"), ("spot1", "delays.csv")):
        info = json.loads((out / stem / "results.json").read_text())["input"]
        assert info["delays_file"] == str(tmp_path / delays)
        assert info["n_frames"] == DELAY_FS.size


def test_batch_of_tiffs_with_one_delays_file(tmp_path, run_cli):
    stacks = [_plain_tiff(tmp_path / f"spot{i}.tif", i) for i in range(2)]
    delays = tmp_path / "all_delays.txt"
    write_delays(DELAY_FS, delays)
    out = tmp_path / "batch"
    args = ["batch", *stacks, "--pixel-size", PIXEL_NM, "--scheduler", "threads",
            "--workers", "1", "--out", out]
    # without delays the TIFFs cannot be analysed: every stack fails, exit 2
    code, _, err = run_cli(args)
    assert code == 2 and "all 2 stacks failed" in err
    code, _, err = run_cli(args + ["--delays", delays, "--force"])
    assert code == 0, err
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    for stem in ("spot0", "spot1"):
        info = json.loads((out / stem / "results.json").read_text())["input"]
        assert info["delays_file"] == str(delays)


@pytest.mark.parametrize("command", ["series", "batch"])
def test_bad_delays_file_is_exit_2_before_any_work(command, tmp_path, run_cli):
    stacks = [_plain_tiff(tmp_path / f"spot{i}.tif", i) for i in range(2)]
    extra = ["--values", "0.05,0.1"] if command == "series" else ["--scheduler", "threads"]
    out = tmp_path / "out"
    line = _one_line_exit_2(*run_cli([command, *stacks, *extra, "--delays",
                                      tmp_path / "missing.csv", "--out", out])[::2])
    assert "missing.csv" in line
    (tmp_path / "words.csv").write_text("delay_fs\none\ntwo\n")
    line = _one_line_exit_2(*run_cli([command, *stacks, *extra, "--delays",
                                      tmp_path / "words.csv", "--out", out])[::2])
    assert "is not a number" in line
    assert not out.exists()


def test_series_bad_sidecar_is_exit_2(tmp_path, run_cli):
    stacks = [_plain_tiff(tmp_path / f"spot{i}.tif", i) for i in range(2)]
    write_delays(DELAY_FS[:-3], tmp_path / "delays.csv")  # three delays short
    out = tmp_path / "out"
    line = _one_line_exit_2(*run_cli(["series", *stacks, "--values", "0.05,0.1", "--delays",
                                      "sidecar", "--pixel-size", PIXEL_NM, "--out", out])[::2])
    assert "spot0.tif" in line
    assert not out.exists()


@pytest.mark.parametrize("command", ["analyze", "series", "batch"])
def test_force_never_replaces_a_folder_holding_the_inputs(command, tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    stacks = [data / "low.nc", data / "high.nc"]
    for seed, path in enumerate(stacks):
        save_stack(_stack(seed, nabs=0.05 * (seed + 1)), path)
    args = _commands(*stacks)[command]
    for out in (data, tmp_path):
        line = _one_line_exit_2(*run_cli(args + ["--out", out, "--force"])[::2])
        assert "--force would replace" in line
    assert sorted(p.name for p in data.iterdir()) == ["high.nc", "low.nc"]


def test_spectro_force_never_replaces_the_folder_of_its_map(tmp_path, run_cli):
    data = tmp_path / "data"
    data.mkdir()
    delay_ps = np.linspace(-1, 50, 40)
    wl = np.linspace(500, 600, 30)
    tamap = np.exp(-np.clip(delay_ps, 0, None)[:, None] / 5.0) * (delay_ps[:, None] > 0) * (
        np.exp(-0.5 * ((wl[None, :] - 550) / 20) ** 2))
    rows = np.vstack([np.r_[0.0, wl], np.column_stack([delay_ps, tamap])])
    np.savetxt(data / "map.txt", rows, delimiter="\t")
    (data / "keep.txt").write_text("keep")
    for out in (data, tmp_path):
        line = _one_line_exit_2(*run_cli(["spectro", data / "map.txt", "--out", out,
                                          "--force"])[::2])
        assert "--force would replace" in line
    assert sorted(p.name for p in data.iterdir()) == ["keep.txt", "map.txt"]


@pytest.mark.parametrize("option, value, message", [
    ("--temperature", "1e-300", "--temperature 1e-300 K is outside"),
    ("--pitch", "1e-300", "--pitch 1e-300 nm is outside"),
    ("--pixel-size", "1e300", "--pixel-size 1e+300 nm is outside"),
])
def test_implausible_analysis_options_are_exit_2(option, value, message, tmp_path, run_cli):
    # mobility 1e306 and n_dots 7e301 had been reported from such values
    stack = tmp_path / "s.nc"
    save_stack(_stack(0), stack)
    out = tmp_path / "out"
    line = _one_line_exit_2(*run_cli(["analyze", stack, option, value, "--out", out])[::2])
    assert message in line
    assert not out.exists()


@pytest.mark.filterwarnings("error::UserWarning")
def test_spectro_on_a_map_of_pure_noise_draws_its_figures_without_warnings(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    wl = np.linspace(500, 700, 40)
    delay_ps = np.r_[np.linspace(-2, -0.1, 8), np.geomspace(0.05, 1000, 40)]
    rows = np.vstack([np.r_[0.0, wl],
                      np.column_stack([delay_ps, rng.normal(0, 1e-3, (delay_ps.size, wl.size))])])
    np.savetxt(tmp_path / "noise.txt", rows, delimiter="\t")
    code, _, err = run_cli(["spectro", tmp_path / "noise.txt", "--out", tmp_path / "out"])
    assert code == 0, err
    assert "Warning" not in err and "Traceback" not in err
    assert (tmp_path / "out" / "figures" / "das.png").exists()
