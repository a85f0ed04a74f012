"""Benchmark of ``tamkit batch`` pieces: peak memory of a lazily vs eagerly loaded large stack,
and stacks per second on the threaded scheduler vs a LocalCluster of processes (its time
includes starting the cluster).

Run: ``.venv/bin/python benchmarks/bench_batch.py [--frames 1000] [--size 128]``. Each memory
measurement runs in a fresh process, warmed on a small stack (imports, compiled kernels), then
reports the peak of traced allocations (numpy arrays) during one analysis.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import sys, time, tracemalloc
import tamkit.gaussfit._prepare, tamkit.io.lazy
from tamkit.workflows.batch import analyze_one
# the same chunk size for the fitter (eager and lazy) and for the lazy reader
tamkit.gaussfit._prepare.CHUNK_BYTES = tamkit.io.lazy.CHUNK_BYTES = int(sys.argv[3])
threshold = int(sys.argv[2])
analyze_one(sys.argv[4], lazy_threshold_bytes=threshold, n_bootstrap=20)  # imports, JIT cache
tracemalloc.start()  # numpy reports its buffers to tracemalloc: the peak of array memory
t = time.perf_counter()
row = analyze_one(sys.argv[1], lazy_threshold_bytes=threshold, n_bootstrap=50)
print(row.status, row.sigma0_nm, tracemalloc.get_traced_memory()[1] / 2**20,
      time.perf_counter() - t)
"""


def _make(folder: Path, n_frames: int, size: int, n_stacks: int) -> list[Path]:
    from tamkit.io import save_stack
    from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs

    n_log = max(1, n_frames - 56)
    delay = tam_delays_fs(step_fs=20.0, n_log=n_log, n_baseline=5)
    paths = []
    for i in range(n_stacks):
        stack, _ = spreading_gaussian_stack(delay, shape=(size, size), peak_snr=100.0, seed=i)
        paths.append(save_stack(stack, folder / f"s{i}.nc"))
    return paths


def _memory(path: Path, threshold: int, chunk: int, warm: Path) -> tuple[str, float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(threshold), str(chunk), str(warm)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0], float(out[1]), float(out[2]), float(out[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--stacks", type=int, default=4)
    parser.add_argument("--chunk-mb", type=float, default=8.0,
                        help="frames per chunk, in MB, of the fitter and the lazy reader")
    args = parser.parse_args()
    from tamkit.workflows.batch import analyze_many

    with tempfile.TemporaryDirectory() as tmp:
        big = _make(Path(tmp), args.frames, args.size, 1)[0]
        (Path(tmp) / "warm").mkdir()
        warm = _make(Path(tmp) / "warm", 60, 16, 1)[0]
        mb = big.stat().st_size / 2**20
        chunk = int(args.chunk_mb * 2**20)
        print(f"large stack: {args.frames} frames of {args.size}x{args.size}, {mb:.0f} MB; "
              f"chunks of {args.chunk_mb:g} MB")
        header = f"{'loading':<8} {'status':<7} {'sigma_0 (nm)':>13} {'peak arrays (MB)':>17}"
        print(f"{header} {'s':>6}")
        for label, threshold in (("eager", 2**62), ("lazy", 0)):
            status, sigma0, peak, sec = _memory(big, threshold, chunk, warm)
            print(f"{label:<8} {status:<7} {sigma0:>13.4f} {peak:>17.0f} {sec:>6.1f}")
        folder = Path(tmp) / "small"
        folder.mkdir()
        small = _make(folder, 80, 48, args.stacks)
        print(f"\n{args.stacks} stacks of 80 frames 48x48")
        for scheduler in ("threads", "local"):
            start = time.perf_counter()
            rows = analyze_many(small, scheduler=scheduler, n_bootstrap=50)
            sec = time.perf_counter() - start
            ok = sum(r.ok for r in rows)
            print(
                f"{scheduler:<8} {ok}/{len(rows)} ok  {sec:6.1f} s  "
                f"{len(rows) / sec:.2f} stacks/s  (median task "
                f"{np.median([r.seconds for r in rows]):.1f} s)"
            )


if __name__ == "__main__":
    main()
