"""tamkit batch and analyze_many: a real distributed LocalCluster, the threaded scheduler,
failures kept per stack, summaries, exit codes, and lazily loaded stacks."""

from __future__ import annotations

import json
import time

import dask
import pytest
from distributed import Client, LocalCluster

from tamkit.cli import main
from tamkit.core.errors import InputError
from tamkit.io import save_stack
from tamkit.testing.artificial import BandLikeTruth, spreading_gaussian_stack, tam_delays_fs
from tamkit.workflows.batch import analyze_many, analyze_one, check_scheduler, expand_paths

TRUTH = BandLikeTruth()
SIGMA0_NM = 141.0
# 3 baseline + 21 linear + 8 log delays = 32 frames of 24x24: about 1 s per analysis
DELAY_FS = tam_delays_fs(step_fs=50.0, n_log=8, n_baseline=3)
GOOD = ("a.nc", "b.tif", "c.nc")
FAST = {"n_bootstrap": 40}


def _stack(seed: int):
    stack, _ = spreading_gaussian_stack(DELAY_FS, shape=(24, 24), sigma0_nm=SIGMA0_NM,
                                        peak_snr=200.0, seed=seed)
    return stack


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stacks")
    for seed, name in enumerate(GOOD):
        save_stack(_stack(seed), folder / name)
    # an HDF5 signature followed by garbage: h5py fails on the superblock
    (folder / "bad.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 200)
    return folder


@pytest.fixture(scope="module")
def cluster():
    # threads in this process (quick to start) behind a real TCP address, as a user's would be
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=":0",
                      scheduler_kwargs={"dashboard": False}) as local:
        yield local


def _run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _check_good(row) -> None:
    # peak SNR 200 gives D_max to ~1.5 % (bootstrap error ~1.2 cm^2/s) and sigma_0 to ~0.1 %;
    # 10 % and 2 % are several standard errors, still far below any wrong physics
    assert row.status == "ok", row.reason
    assert row.D_max_cm2_s == pytest.approx(TRUTH.D_max_cm2_s, rel=0.10)
    assert row.tau_fs == pytest.approx(TRUTH.tau_fs, rel=0.15)
    assert row.sigma0_nm == pytest.approx(SIGMA0_NM, rel=0.02)


def test_cli_on_cluster_with_one_corrupt_stack(data, cluster, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = _run(["batch", str(data / "*"), "--out", str(out),
                              "--scheduler", cluster.scheduler_address], capsys)
    assert code == 0
    assert "1 of 4 stacks failed" in err
    assert "bad.nc" in stdout and "failed" in stdout
    table = json.loads((out / "summary.json").read_text())
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in table["rows"]}
    assert set(rows) == {*GOOD, "bad.nc"}
    assert rows["bad.nc"]["status"] == "failed"
    assert "bad.nc" in rows["bad.nc"]["reason"] and "corrupt" in rows["bad.nc"]["reason"]
    assert rows["bad.nc"]["sigma0_nm"] is None
    for name in GOOD:
        row = rows[name]
        assert row["status"] == "ok" and row["n_regimes"] >= 2
        assert row["D_max_cm2_s"] == pytest.approx(TRUTH.D_max_cm2_s, rel=0.10)
        stem = name.split(".")[0]
        results = json.loads((out / stem / "results.json").read_text())
        assert results["sigma0_nm"] == pytest.approx(row["sigma0_nm"])
        assert (out / stem / "figures" / "montage.png").stat().st_size > 0
    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("path,status,reason,sigma0_nm,D_max_cm2_s")
    assert len(csv_lines) == 5
    assert not (out / "bad").exists()


def test_analyze_many_with_client_and_threads_agree(data, cluster):
    paths = [data / n for n in (*GOOD, "bad.nc")]
    seen = []
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        rows = analyze_many(paths, client=client, on_done=seen.append, **FAST)
    assert [r.path for r in rows] == [str(p) for p in paths]  # input order, not completion
    assert len(seen) == 4
    for row in rows[:3]:
        _check_good(row)
        assert row.analysis.fits.sizes["delay"] == DELAY_FS.size
    assert rows[3].status == "failed" and rows[3].analysis is None
    threads = analyze_many(paths[:2], scheduler="threads", n_workers=2, **FAST)
    # same data, same seeded bootstrap: the scheduler must not change a number
    for a, b in zip(rows[:2], threads, strict=True):
        assert b.sigma0_nm == a.sigma0_nm and b.D_max_cm2_s == a.D_max_cm2_s


def test_bad_scheduler_address_fails_fast(data, tmp_path, capsys):
    out = tmp_path / "out"
    start = time.perf_counter()
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, _, err = _run(["batch", str(data / "a.nc"), "--out", str(out),
                             "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert code == 2
    assert "cannot connect to the Dask scheduler" in err and len(err.strip().splitlines()) == 1
    assert time.perf_counter() - start < 15.0
    assert not out.exists()


@pytest.mark.parametrize("scheduler", ["nowhere", "tcp://host", "tcp://:80", "proc"])
def test_malformed_scheduler(scheduler):
    with pytest.raises(InputError, match="--scheduler must be"):
        check_scheduler(scheduler)


def test_input_errors_before_any_work(data, tmp_path, capsys):
    code, _, err = _run(["batch", str(data / "*.npz"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "matches no file" in err
    folder = tmp_path / "runs" / "run1"
    folder.mkdir(parents=True)
    code, _, err = _run(["batch", str(folder), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "is a folder" in err and "run1/*.nc" in err
    code, _, err = _run(["batch", str(tmp_path / "runs" / "*"), "--out", str(tmp_path / "o")],
                        capsys)
    assert code == 2 and "matches only folders" in err
    existing = tmp_path / "exists"
    existing.mkdir()
    (existing / "keep.txt").write_text("x")
    code, _, err = _run(["batch", str(data / "a.nc"), "--out", str(existing)], capsys)
    assert code == 2 and "--force" in err
    assert (existing / "keep.txt").read_text() == "x"
    code, _, err = _run(["batch", str(data / "a.nc"), "--out", str(tmp_path / "o"),
                         "--workers", "0"], capsys)
    assert code == 2 and "--workers" in err
    assert not (tmp_path / "o").exists()


def test_all_failed_exits_2_with_summary(data, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(["batch", str(data / "bad.nc"), "--out", str(out),
                         "--scheduler", "threads"], capsys)
    assert code == 2 and "all 1 stacks failed" in err
    assert json.loads((out / "summary.json").read_text())["rows"][0]["status"] == "failed"


def test_a_bug_is_a_failed_row_with_its_type(data, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("tamkit.workflows.analysis._fit_widths", broken)
    row = analyze_one(data / "a.nc")
    assert row.status == "failed" and row.reason.startswith("ZeroDivisionError: boom")


def test_duplicate_paths_collapse(data):
    assert expand_paths([data / "a.nc", str(data / "a.*")]) == [(data / "a.nc").resolve()]


@pytest.mark.parametrize("name", ["a.nc", "b.tif"])
def test_lazy_stack_gives_the_eager_result(data, name):
    lazy = analyze_one(data / name, lazy_threshold_bytes=0, **FAST)
    eager = analyze_one(data / name, **FAST)
    assert lazy.analysis.input_info["lazy_loaded"] and lazy.analysis.stack.chunks is not None
    assert not eager.analysis.input_info["lazy_loaded"]
    # the same float64 frames reach the same fitter: the numbers agree to rounding
    assert lazy.sigma0_nm == pytest.approx(eager.sigma0_nm, rel=1e-9)
    assert lazy.D_max_cm2_s == pytest.approx(eager.D_max_cm2_s, rel=1e-9)


def test_default_local_cluster_of_processes(data):
    # the default scheduler: a LocalCluster of worker processes, started and closed here;
    # one worker keeps it quick; results come back pickled across processes
    rows = analyze_many([data / "c.nc", data / "bad.nc"], n_workers=1, **FAST)
    _check_good(rows[0])
    assert rows[0].analysis.result.model.n_regimes == rows[0].n_regimes
    assert rows[1].status == "failed" and "bad.nc" in rows[1].reason


def test_worker_threads_share_the_host_and_are_restored(cluster):
    """Tasks of one-thread workers filling a host run their kernels on one thread each, and the
    caller's numba setting comes back; outside a worker the threads layout applies."""
    import numba

    from tamkit.workflows import batch as B

    with Client(cluster) as client:
        layout = B._host_threads(client)
        assert sum(layout.values()) == sum(
            w["nthreads"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
        got = client.submit(B._task_threads, {h: 10**6 for h in layout}, pure=False).result()
        assert got == 1
    assert B._task_threads(None) is None
    assert B._task_threads({B.LOCAL: 1}) == B._cores()
    before = numba.get_num_threads()
    with B._numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_worker_malloc_runs_once_and_only_under_a_nanny(monkeypatch):
    from tamkit.workflows import batch as B

    monkeypatch.setattr(B, "_MALLOC_TUNED", [])
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    B._worker_malloc()
    assert B._MALLOC_TUNED == []
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    B._worker_malloc()
    B._worker_malloc()
    assert B._MALLOC_TUNED == [True]
