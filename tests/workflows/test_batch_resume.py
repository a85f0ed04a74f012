"""A batch that loses nothing: each stack's folder lands whole as it completes, a killed batch
keeps them, and --resume analyses only the rest (same input sha256 and options) and rebuilds
the summary from what is on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tamkit
from tamkit.io import save_stack, write_delays
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs
from tamkit.workflows.analysis import sha256_of
from tamkit.workflows.batch import SUMMARY_COLUMNS
from tamkit.workflows.batch_run import options_fingerprint, run_batch

# 3 baseline + 21 linear + 8 log delays = 32 frames of 24x24 (as tests/workflows/test_batch.py)
DELAY_FS = tam_delays_fs(step_fs=50.0, n_log=8, n_baseline=3)
NAMES = ("s0.nc", "s1.nc", "s2.nc", "s3.nc")
FAST = {"n_bootstrap": 40}


def _save(path: Path, seed: int) -> Path:
    stack, _ = spreading_gaussian_stack(DELAY_FS, shape=(24, 24), sigma0_nm=141.0,
                                        peak_snr=200.0, seed=seed)
    save_stack(stack, path)
    return path


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("stacks")
    return [_save(folder / name, seed) for seed, name in enumerate(NAMES)]


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "tamkit.cli", *map(str, args)]


def _env() -> dict:
    # the workers (spawned processes) must import this tamkit, as the test does
    src = str(Path(tamkit.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])])}


def _done_folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


def _check_folder(folder: Path, stack: Path) -> dict:
    """A completed stack's folder: every output, results for this file, options recorded."""
    results = json.loads((folder / "results.json").read_text())
    assert results["schema"] == "tamkit.results/1"
    assert results["input"]["sha256"] == sha256_of(stack)
    assert len(results["input"]["batch"]["options_sha256"]) == 64
    assert results["band_like"]["D_max_cm2_s"] > 0
    assert (folder / "frames.csv").read_text().count("\n") == len(results["frames"]) + 1
    assert (folder / "report.html").stat().st_size > 0
    assert (folder / "figures" / "msd.png").stat().st_size > 1000
    return results


def test_killed_batch_keeps_completed_stacks_and_resume_does_the_rest(stacks, tmp_path):
    """On a real LocalCluster (one worker process): kill the whole batch (client, scheduler,
    worker) with SIGKILL once the first stack's folder appears; the completed folders are
    intact; --resume analyses only the others and the summary has every row."""
    out = tmp_path / "campaign" / "run1"  # parents are created
    args = ["batch", *stacks, "--out", out, "--scheduler", "local", "--workers", "1"]
    start = time.perf_counter()
    proc = subprocess.Popen(_cli(*args), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not (out.is_dir() and _done_folders(out)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no stack completed within 240 s"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the group started above, and only it
        proc.communicate()
    killed_after = time.perf_counter() - start
    done = _done_folders(out)
    assert 1 <= len(done) < len(stacks), f"the kill came too late to test anything: {done}"
    by_stem = {p.stem: p for p in stacks}
    before = {}
    for name in done:
        _check_folder(out / name, by_stem[name])
        before[name] = (out / name / "results.json").read_bytes()
    if (out / "summary.json").exists():  # refreshed while running: whole, and only done rows
        rows = json.loads((out / "summary.json").read_text())["rows"]
        assert {Path(r["path"]).stem for r in rows} <= set(done)

    start = time.perf_counter()
    resumed = subprocess.run(_cli(*args, "--resume"), env=_env(), capture_output=True,
                             text=True, timeout=300)
    resume_s = time.perf_counter() - start
    assert resumed.returncode == 0, resumed.stderr
    assert (f"resuming: {len(done)} of {len(stacks)} stacks already analysed with the same "
            f"input and options; analysing {len(stacks) - len(done)}") in resumed.stderr
    assert _done_folders(out) == sorted(by_stem)
    # the earlier stacks were not analysed again: their results are byte for byte the same
    for name, data in before.items():
        assert (out / name / "results.json").read_bytes() == data
    results = {name: _check_folder(out / name, by_stem[name]) for name in by_stem}
    # nothing half-written is left (a SIGKILL can leave a .<stem>.partial-* folder)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    summary = json.loads((out / "summary.json").read_text())
    assert [r["path"] for r in summary["rows"]] == [str(p.resolve()) for p in stacks]
    for row in summary["rows"]:
        res = results[Path(row["path"]).stem]
        assert row["status"] == "ok"
        assert row["sigma0_nm"] == res["sigma0_nm"]
        assert row["D_max_cm2_s"] == res["band_like"]["D_max_cm2_s"]
        assert row["n_regimes"] == res["model"]["n_regimes"]
    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0] == ",".join(SUMMARY_COLUMNS) and len(csv_lines) == len(stacks) + 1
    print(f"killed after {killed_after:.1f} s with {len(done)} done; resume {resume_s:.1f} s")


def test_resume_redoes_changed_inputs_and_options_and_retries_failures(tmp_path):
    """In process, threaded: a changed file (new sha256) and changed options (new fingerprint)
    are analysed again, a failed stack is retried, a left-over partial folder is removed."""
    a, b = _save(tmp_path / "a.nc", 0), _save(tmp_path / "b.nc", 1)
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 200)
    out = tmp_path / "out"
    opts = {"scheduler": "threads", "n_workers": 1, **FAST}
    first = run_batch([a, b, bad], out, **opts)
    assert [r.status for r in first.rows] == ["ok", "ok", "failed"] and first.skipped == []
    assert all(r.analysis is None for r in first.rows)  # written, then freed
    a_bytes = (out / "a" / "results.json").read_bytes()

    _save(b, 7)  # new bytes for b
    (out / ".a.partial-x1y2").mkdir()  # what a killed run leaves
    plans = []
    second = run_batch([a, b, bad], out, resume=True, on_plan=lambda t, s: plans.append((t, s)),
                       **opts)
    assert plans == [([str(b), str(bad)], [str(a)])]
    assert second.skipped == [str(a)]
    assert (out / "a" / "results.json").read_bytes() == a_bytes
    assert json.loads((out / "b" / "results.json").read_text())["input"]["sha256"] == \
        sha256_of(b)
    assert second.rows[2].status == "failed" and "bad.nc" in second.rows[2].reason
    assert not (out / ".a.partial-x1y2").exists()
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["ok", "ok", "failed"]
    assert rows[0]["D_max_cm2_s"] == first.rows[0].D_max_cm2_s  # from disk, same number

    # other options: nothing matches, everything is analysed again
    third = run_batch([a, b], out, resume=True, temperature_K=77.0, **opts)
    assert third.skipped == []
    info = json.loads((out / "a" / "results.json").read_text())["input"]["batch"]
    assert info["options"]["temperature_K"] == 77.0
    # the summary lists the stacks with this run's options (bad failed: no folder)
    assert len(json.loads((out / "summary.json").read_text())["rows"]) == 2


def test_resume_with_a_subset_keeps_every_completed_stack_in_the_summary(tmp_path):
    """--resume given only some of the earlier paths: the summary still lists every stack
    completed in DIR with these options (their folders stay), not only those named now."""
    a, b, c = (_save(tmp_path / f"{n}.nc", i) for i, n in enumerate("abc"))
    out = tmp_path / "out"
    opts = {"scheduler": "threads", "n_workers": 1, **FAST}
    first = run_batch([a, b, c], out, **opts)
    assert [r.status for r in first.rows] == ["ok", "ok", "ok"]
    before = {r["path"]: r for r in json.loads((out / "summary.json").read_text())["rows"]}

    second = run_batch([b], out, resume=True, **opts)
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert sorted(r["path"] for r in rows) == sorted(map(str, (a, b, c)))
    assert rows[0]["path"] == str(b)  # the stacks named first, then the earlier ones
    for r in rows:
        assert r["status"] == "ok" and r["D_max_cm2_s"] == before[r["path"]]["D_max_cm2_s"]
    assert len(second.rows) == 3 and sorted(second.skipped) == sorted(map(str, (a, b, c)))
    assert (out / "summary.csv").read_text().count("\n") == 4

    # an earlier stack analysed with other options is not mixed into this summary
    run_batch([c], out, resume=True, temperature_K=77.0, **opts)
    run_batch([a], out, resume=True, **opts)
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert sorted(r["path"] for r in rows) == sorted(map(str, (a, b)))


def test_fingerprint_follows_effective_options_and_delays_content(tmp_path):
    d1, d2 = tmp_path / "d1.csv", tmp_path / "d2.csv"
    write_delays(DELAY_FS, d1)
    write_delays(DELAY_FS, d2)
    stack = tmp_path / "s.tif"
    fp = options_fingerprint(stack, {})
    assert fp == options_fingerprint(stack, {"n_bootstrap": 200})  # the analysis default
    assert fp != options_fingerprint(stack, {"n_bootstrap": 40})
    assert fp != options_fingerprint(stack, {"pixel_nm": 50.0})
    # delays by content, not by name; per stack when a mapping is given
    assert options_fingerprint(stack, {"delays": d1}) == options_fingerprint(
        stack, {"delays": {str(stack): d2}})
    write_delays(DELAY_FS * 2, d2)
    assert options_fingerprint(stack, {"delays": d1}) != options_fingerprint(
        stack, {"delays": d2})


def _run(run_cli, *args):
    code, _, err = run_cli(["batch", *args])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return code, lines


def test_existing_out_refused_without_resume_or_force(stacks, tmp_path, run_cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    code, lines = _run(run_cli, stacks[0], "--out", out, "--scheduler", "threads")
    assert code == 2 and len(lines) == 1 and "--force" in lines[0]
    code, lines = _run(run_cli, stacks[0], "--out", out, "--resume", "--force")
    assert code == 2 and len(lines) == 1 and "give one of them" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_resume_with_a_subset_and_per_stack_delays_keeps_the_others(tmp_path):
    """As the command line passes them: delays per stack (one --delays file for all)."""
    a, b = _save(tmp_path / "a.nc", 0), _save(tmp_path / "b.nc", 1)
    d = tmp_path / "delays.csv"
    write_delays(DELAY_FS, d)
    out = tmp_path / "out"
    opts = {"scheduler": "threads", "n_workers": 1, **FAST}
    run_batch([a, b], out, delays={str(a): d, str(b): d}, **opts)
    run_batch([b], out, resume=True, delays={str(b): d}, **opts)
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert [r["path"] for r in rows] == [str(b), str(a)]


def test_stacks_sharing_a_file_name_get_their_own_folders_and_resume(tmp_path):
    """tamkit simulate writes DIR/stack.nc: a batch over two simulated films writes
    low_stack/ and high_stack/, and a resume finds both again."""
    low, high = tmp_path / "low", tmp_path / "high"
    low.mkdir()
    high.mkdir()
    paths = [_save(low / "stack.nc", 0), _save(high / "stack.nc", 1)]
    out = tmp_path / "out"
    opts = {"scheduler": "threads", "n_workers": 1, **FAST}
    first = run_batch(paths, out, **opts)
    assert [r.status for r in first.rows] == ["ok", "ok"]
    assert _done_folders(out) == ["high_stack", "low_stack"]
    for name, stack in (("low_stack", paths[0]), ("high_stack", paths[1])):
        _check_folder(out / name, stack)
    index = (out / "index.html").read_text()
    assert "low_stack/report.html" in index and "high_stack/report.html" in index
    # a resume naming one of them skips it and keeps the other (found by its folder name)
    again = run_batch(paths[:1], out, resume=True, **opts)
    assert sorted(again.skipped) == sorted(map(str, paths))  # nothing re-analysed
    assert _done_folders(out) == ["high_stack", "low_stack"]  # no new stack/
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert sorted(r["path"] for r in rows) == sorted(map(str, paths))
