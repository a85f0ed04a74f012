"""End-to-end wall times: `tamkit analyze` of a 200-frame 64x64 stack, `tamkit simulate` of the
default film, and `tamkit demo`, each against a named baseline measured in the same run.

Baselines: for the analysis, the same in-process `tamkit.analyze` (isotropic + elliptical fits,
transport with bootstrap) with the per-frame `curve_fit` reference fitter in place of the compiled
batch fitter; for simulate, the time of one `tamkit analyze` of its output (the simulator should
cost no more than analysing what it makes). The CLI time adds start-up, loading and the report.

Run from the repository root: ``python benchmarks/bench_pipeline.py``. Each command runs once
to warm the numba cache, then is timed (best of ``--repeat``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tamkit.workflows.analysis as pipeline
from tamkit.gaussfit import fit_frames, fit_frames_reference
from tamkit.io import save_stack
from tamkit.testing.artificial import BandLikeTruth, spreading_gaussian_stack


def _cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tamkit.cli", *args], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def _best(fn, repeat: int) -> float:
    fn()  # warm-up (numba cache, imports, page cache)
    return min(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tamkit-bench-"))
    delay = np.concatenate([np.linspace(-500, -100, 5), np.linspace(0, 1000, 51),
                            np.geomspace(1.05e3, 1e6, 144)])
    stack, _ = spreading_gaussian_stack(delay, BandLikeTruth().msd_nm2(delay), shape=(64, 64),
                                        peak_snr=30, lifetime_fs=1e7, seed=1)
    path = work / "stack200.nc"
    save_stack(stack, path)
    counter = iter(range(10_000))

    def analyze() -> float:
        return _cli("analyze", str(path), "--out", str(work / f"a{next(counter)}"))

    def in_process(fitter) -> float:
        pipeline.fit_frames = fitter
        start = time.perf_counter()
        pipeline.analyze(stack)
        elapsed = time.perf_counter() - start
        pipeline.fit_frames = fit_frames
        return elapsed

    def simulate() -> float:
        return _cli("simulate", "--out", str(work / f"sim{next(counter)}"))

    def demo() -> float:
        return _cli("demo", "--out", str(work / f"d{next(counter)}"))

    t_analyze = _best(analyze, args.repeat)
    t_fast = _best(lambda: in_process(fit_frames), args.repeat)
    t_reference = _best(lambda: in_process(fit_frames_reference), 1)
    t_simulate = _best(simulate, args.repeat)
    sim_dir = sorted(work.glob("sim*"))[-1]
    t_analyze_sim = _best(lambda: _cli("analyze", str(sim_dir / "stack.nc"), "--out",
                                       str(work / f"as{next(counter)}")), 1)
    t_demo = _best(demo, 1)
    print(f"{'what':52s} {'seconds':>8s} {'baseline':>9s} {'ratio':>6s}")
    print(f"{'tamkit.analyze, 200 frames 64x64 (in-process)':52s} {t_fast:8.2f} "
          f"{t_reference:9.2f} {t_reference / t_fast:6.1f}  baseline: same with the curve_fit "
          "reference fitter")
    print(f"{'tamkit analyze, same stack (CLI: start-up, load, report)':52s} {t_analyze:8.2f}")
    print(f"{'tamkit simulate --film cqd --nabs 0.045 (default)':52s} {t_simulate:8.2f} "
          f"{t_analyze_sim:9.2f} {t_analyze_sim / t_simulate:6.1f}  baseline: tamkit analyze "
          "of its output")
    print(f"{'tamkit demo (simulate + analyse + report)':52s} {t_demo:8.2f}")


if __name__ == "__main__":
    main()
