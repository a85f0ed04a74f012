"""Issue 13's goals, each against the named baseline (the 2026-11-22 release, commit 5e1925e), in
one run: the release runs with its own venv's Python (``benchmarks/baseline.py``) in
subprocesses, on the same inputs, made once by this run.

Run from the repository root: ``python benchmarks/bench_release.py [--quick] [--with-reproduce]``
(about 4 minutes; ``--quick``, a smoke run of fewer repeats and smaller inputs, about 1.5; the
default ``tamkit reproduce`` adds a few minutes for both versions). Rows:

- ``tamkit analyze`` CLI wall time (start-up, loading, fits, transport, figures, pages) on a
  176-frame 64x64 stack: 5 baseline frames, 10 fs steps to 1 ps, 70 log-spaced delays to 1 ns
  (``tam_delays_fs(step_fs=10, n_log=70)``), the paper's band-like MSD, peak SNR 30;
  one warm-up run, then the median of the repeats. Goal: baseline/current >= 5.
- ``tamkit.analyze`` in process, no figures (the release: ``tamkit.analyze_stack``), warm,
  median of the repeats, for ``method="both"`` (default: per-frame + moments + global fit) and
  ``"per-frame"``. Goal: >= 20x.
- batch throughput: ``analyze_many`` of several such stacks on a LocalCluster of 2 one-thread
  workers started (and warmed on one stack each) before the clock starts; no figures.
  Goal: >= 10 stacks/s.
- ``tamkit spectro`` on the Hippius map as a whole command, components chosen automatically
  (and, as a second row, with ``--components 4``). Goal: <= 1.5 s, 10x pyglotaran 0.7.5's
  optimize on this model (16 s, a recorded figure; pyglotaran is not needed).
- ``fit_frames`` on its first call in a fresh process over 2,000 64x64 frames whose spot grows
  from 141 to 255 nm, after one call on a different small stack; against a per-frame
  ``curve_fit`` loop (``fit_frames_reference`` on a subset, scaled). Goal: >= 100x the loop.
- ``tamkit reproduce`` default wall time (only with ``--with-reproduce``). Goal: <= 30 s.
- peak RSS (``VmHWM`` of a fresh process, not ``getrusage``: Linux carries the parent's RSS at
  the fork into the child's ``ru_maxrss``) of ``tamkit.analyze`` of a 2000-frame 256x256
  float32 stack file (``--quick``: 500 frames). Goal: <= 600 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import BASELINE_COMMIT, baseline_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HIPPIUS = ROOT.parent / "shared" / "data" / "ta" / "hippius2007_perylene_bisimide.ascii"
PYGLOTARAN_S = 16.0  # pyglotaran 0.7.5 optimize of the same 4-component model (recorded figure)


def _env(current: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if current:
        env["PYTHONPATH"] = str(ROOT / "src")
    return env


def _run(python: str, args: list[str], current: bool, timeout: float = 3600) -> str:
    out = subprocess.run([python, *args], capture_output=True, text=True, env=_env(current),
                         cwd=tempfile.gettempdir(), timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{python} {' '.join(args[:3])} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def _child(python: str, code: str, current: bool, *args: str) -> dict:
    """Run ``code`` (which prints one JSON line last) and return that JSON."""
    return json.loads(_run(python, ["-c", code, *map(str, args)], current).strip().splitlines()[-1])


def _cli_time(python: str, current: bool, args: list[str], repeat: int, work: Path,
              tag: str) -> float:
    """Median wall time of ``repeat`` runs after one warm-up run (``repeat=0``: that one run,
    cold caches included)."""
    times = []
    for i in range(repeat + 1):  # the first run warms the page and numba caches
        out = work / f"{tag}{i}"
        start = time.perf_counter()
        _run(python, ["-m", "tamkit.cli", *args, "--out", str(out)], current)
        times.append(time.perf_counter() - start)
        shutil.rmtree(out, ignore_errors=True)
    return float(np.median(times[1:] if repeat else times))


# ---- inputs -------------------------------------------------------------------------------

def make_inputs(work: Path, quick: bool, n_batch: int) -> dict[str, Path]:
    from tamkit.core.acquisition import tam_delays_fs
    from tamkit.io import save_stack
    from tamkit.testing.artificial import BandLikeTruth, spreading_gaussian_stack

    paths: dict[str, Path] = {}
    delay = tam_delays_fs(step_fs=10.0, n_log=70)
    assert delay.size == 176
    msd = BandLikeTruth().msd_nm2(delay)
    stack, _ = spreading_gaussian_stack(delay, msd, shape=(64, 64), peak_snr=30,
                                        lifetime_fs=1e7, seed=1)
    paths["stack"] = save_stack(stack, work / "stack176.nc")
    for i in range(n_batch):
        s, _ = spreading_gaussian_stack(delay, msd, shape=(64, 64), peak_snr=30,
                                        lifetime_fs=1e7, seed=100 + i)
        paths[f"batch{i}"] = save_stack(s, work / f"batch{i}.nc")
    # the fitter's inputs: a small warm-up stack, then 2000 frames of a spot growing 141 -> 255 nm
    small, _ = spreading_gaussian_stack(tam_delays_fs(n_log=10), shape=(32, 32), seed=7)
    paths["small"] = save_stack(small, work / "small.nc")
    n_grow = 2000
    d_grow = np.concatenate([np.linspace(-500, -100, 8), np.linspace(0, 1e6, n_grow - 8)])
    sigma = np.linspace(141.0, 255.0, n_grow - 8)
    msd_grow = np.concatenate([np.zeros(8), sigma**2 - 141.0**2])
    grow, _ = spreading_gaussian_stack(d_grow, msd_grow, shape=(64, 64), peak_snr=20,
                                       lifetime_fs=1e12, seed=3)
    paths["grow"] = save_stack(grow, work / "grow2000.nc")
    # the memory test: a 2000-frame (quick: 500) 256x256 float32 stack, made in frame blocks
    n_big = 500 if quick else 2000
    d_big = np.concatenate([np.linspace(-500, -100, 5),
                            np.geomspace(10.0, 1e6, n_big - 5)])
    d_big[5] = 0.0
    blocks = []
    for lo in range(0, n_big, 250):
        d = d_big[lo:lo + 250]
        s, _ = spreading_gaussian_stack(d, BandLikeTruth().msd_nm2(d), shape=(256, 256),
                                        peak_snr=30, lifetime_fs=1e7, seed=lo)
        blocks.append(s.astype(np.float32))
    import xarray as xr

    big = xr.concat(blocks, "delay")
    big.attrs = blocks[0].attrs
    paths["big"] = save_stack(big, work / f"big{n_big}.nc")
    del big, blocks
    return paths


# ---- child programs (run with either version's Python) ---------------------------------

IN_PROCESS = r"""
import json, sys, time
import numpy as np
import tamkit
stack = tamkit.load(sys.argv[1]).load()
method, repeat = sys.argv[2], int(sys.argv[3])
if hasattr(tamkit, "analyze"):
    run = lambda: tamkit.analyze(stack, method=method)
else:  # the release
    run = lambda: tamkit.analyze_stack(stack)
run()
times = []
for _ in range(repeat):
    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
print(json.dumps({"s": float(np.median(times))}))
"""

BATCH = r"""
import json, sys, time
from distributed import Client, LocalCluster
import tamkit
try:
    from tamkit.workflows.batch import analyze_many
except ImportError:
    from tamkit.batch import analyze_many
paths = sys.argv[1:]
with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, \
        Client(cluster) as client:
    analyze_many(paths[:2], client=client)  # warm both workers (imports, compiled kernels)
    t = time.perf_counter()
    rows = analyze_many(paths, client=client)
    s = time.perf_counter() - t
print(json.dumps({"s": s, "n": len(rows), "ok": sum(r.status == "ok" for r in rows)}))
"""

FIT_FIRST = r"""
import json, sys, time
import tamkit
small = tamkit.load(sys.argv[1]).load()
grow = tamkit.load(sys.argv[2]).load()
n_ref = int(sys.argv[3])
tamkit.fit_frames(small)
t = time.perf_counter(); fits = tamkit.fit_frames(grow); s = time.perf_counter() - t
out = {"fits_s": grow.sizes["delay"] / s, "s": s}
if n_ref:
    sub = grow.isel(delay=slice(0, grow.sizes["delay"], grow.sizes["delay"] // n_ref))
    tamkit.fit_frames_reference(sub.isel(delay=slice(0, 10)))
    t = time.perf_counter(); tamkit.fit_frames_reference(sub); r = time.perf_counter() - t
    out["ref_fits_s"] = sub.sizes["delay"] / r
print(json.dumps(out))
"""

MEMORY = r"""
import json, resource, sys, time
import tamkit
t = time.perf_counter()
if hasattr(tamkit, "analyze"):
    lazy = tamkit.analyze(sys.argv[1]).input_info.get("lazy_loaded")
else:
    tamkit.analyze_file(sys.argv[1])
    lazy = False
s = time.perf_counter() - t
# VmHWM: this process's own peak. ru_maxrss keeps the parent's RSS at the fork across exec
# (Linux), and the parent had just made the stack: it had floored this row at ~1,376 MB.
try:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    mb = int(hwm[0].split()[1]) / 1024
except (OSError, IndexError):
    mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"mb": mb, "s": s, "lazy": bool(lazy)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller inputs")
    parser.add_argument("--with-reproduce", action="store_true",
                        help="also time the default `tamkit reproduce` (minutes)")
    parser.add_argument("--only", default="",
                        help="comma-separated subset: cli,inproc,batch,spectro,fit,memory,"
                             "reproduce")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    n_batch = 4 if args.quick else 8
    only = set(filter(None, args.only.split(",")))

    def want(name: str) -> bool:
        return not only or name in only

    current = sys.executable
    base = str(baseline_python())
    work = Path(tempfile.mkdtemp(prefix="tamkit-release-bench-"))
    t0 = time.perf_counter()
    paths = make_inputs(work, args.quick, n_batch)
    print(f"inputs in {work} ({time.perf_counter() - t0:.0f} s); baseline {BASELINE_COMMIT}: "
          f"{base}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)
    rows: list[tuple[str, float | None, float | None, float | None, str, bool | None]] = []

    def row(name, cur, bas, ratio, goal, met):
        rows.append((name, cur, bas, ratio, goal, met))
        def short(v):
            return "-" if v is None else f"{v:.3g}"

        print(f"  {name}: current {short(cur)}, baseline {short(bas)}, ratio {short(ratio)}",
              flush=True)

    stack = str(paths["stack"])
    if want("cli"):
        cur = _cli_time(current, True, ["analyze", stack], repeat, work, "cli-cur")
        bas = _cli_time(base, False, ["analyze", stack], repeat, work, "cli-base")
        row("tamkit analyze CLI, 176x64x64 (s)", cur, bas, bas / cur, ">= 5x", bas / cur >= 5)
    if want("inproc"):
        bas = _child(base, IN_PROCESS, False, stack, "both", repeat)["s"]
        for method in ("both", "per-frame"):
            cur = _child(current, IN_PROCESS, True, stack, method, repeat)["s"]
            row(f"tamkit.analyze in process, {method} (s)", cur, bas, bas / cur, ">= 20x",
                bas / cur >= 20)
    if want("batch"):
        batch = [str(paths[f"batch{i}"]) for i in range(n_batch)]
        cur = _child(current, BATCH, True, *batch)
        bas = _child(base, BATCH, False, *batch)
        c, b = cur["n"] / cur["s"], bas["n"] / bas["s"]
        row(f"batch, {n_batch} stacks on 2 workers (stacks/s)", c, b, c / b, ">= 10 /s",
            c >= 10)
    if want("spectro"):
        if HIPPIUS.exists():
            for label, extra in (("automatic components", []), ("--components 4",
                                                                ["--components", "4"])):
                cur = _cli_time(current, True, ["spectro", str(HIPPIUS), *extra], repeat,
                                work, "sp-cur")
                bas = _cli_time(base, False, ["spectro", str(HIPPIUS), *extra], repeat,
                                work, "sp-base")
                row(f"tamkit spectro Hippius, {label} (s)", cur, bas, bas / cur,
                    f"<= 1.5 s ({PYGLOTARAN_S:g}/10)", cur <= 1.5)
        else:
            print(f"  tamkit spectro: skipped, {HIPPIUS} not available")
    if want("fit"):
        n_ref = 20 if args.quick else 100
        cur = _child(current, FIT_FIRST, True, paths["small"], paths["grow"], n_ref)
        bas = _child(base, FIT_FIRST, False, paths["small"], paths["grow"], 0)
        loop = cur["ref_fits_s"]
        row("fit_frames first call, 2000 growing (fits/s)", cur["fits_s"], bas["fits_s"],
            cur["fits_s"] / bas["fits_s"], ">= 100x loop", cur["fits_s"] / loop >= 100)
        row("  ... over the curve_fit loop (x)", cur["fits_s"] / loop, bas["fits_s"] / loop,
            None, ">= 100x", cur["fits_s"] / loop >= 100)
    if args.with_reproduce and want("reproduce"):
        cur = _cli_time(current, True, ["reproduce"], 0, work, "rep-cur")
        bas = _cli_time(base, False, ["reproduce"], 0, work, "rep-base")
        row("tamkit reproduce default (s)", cur, bas, bas / cur, "<= 30 s", cur <= 30)
    if want("memory"):
        n_big = 500 if args.quick else 2000
        cur = _child(current, MEMORY, True, paths["big"])
        bas = _child(base, MEMORY, False, paths["big"])
        row(f"analyze peak RSS, {n_big}x256x256 float32 (MB)", cur["mb"], bas["mb"],
            bas["mb"] / cur["mb"], "<= 600 MB", cur["mb"] <= 600)
        print(f"  (analyze time of that stack: current {cur['s']:.1f} s, baseline "
              f"{bas['s']:.1f} s; current opened it {'lazily' if cur['lazy'] else 'eagerly'})")
    shutil.rmtree(work, ignore_errors=True)

    def fmt(v):
        return "-" if v is None else f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"

    print(f"\n{'quantity':48s} {'current':>9s} {'baseline':>9s} {'ratio':>7s}  "
          f"{'goal':<22s} met?")
    for name, cur, bas, ratio, goal, met in rows:
        print(f"{name:48s} {fmt(cur):>9s} {fmt(bas):>9s} {fmt(ratio):>7s}  {goal:<22s} "
              f"{'yes' if met else 'no'}")


if __name__ == "__main__":
    main()
