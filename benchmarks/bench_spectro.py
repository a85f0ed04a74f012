"""Benchmark: 4-component global fit (IRF + cubic chirp) of the Hippius TA map (335 x 346).

Run: ``.venv/bin/python benchmarks/bench_spectro.py [--repeat N] [--command]``. Prints the fit
time (wall and CPU) of each repeat and the lifetimes; the first call compiles the numba kernels
(cached on disk) and is reported separately. ``--command`` also times the whole
``tamkit spectro`` command (import, load, fits, systematic alternatives, figures, page), with
automatic component choice and with ``--components 4``, as CPU (user + system) and wall time of a
child process. The issue's target is <= 1 s of fitting (an established
global-analysis package needs about 9-20 s for the same fit on this machine). The data live
outside the repository (../shared/data/ta); without them the benchmark says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The fit's linear algebra is small (P x P systems, tall-skinny products): BLAS threads add only
# overhead, and on a shared machine they spin. Set before numpy loads; override from outside.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HIPPIUS = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ta"
           / "hippius2007_perylene_bisimide.ascii")


def time_command(extra: list[str]) -> tuple[float, float]:
    """CPU (user + system) and wall seconds of one ``tamkit spectro`` run in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from tamkit.cli import main; main()", "spectro",
                        str(HIPPIUS), "--out", str(Path(tmp) / "out"), *extra], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--command", action="store_true",
                        help="also time the whole tamkit spectro command")
    args = parser.parse_args()
    if not HIPPIUS.exists():
        print(f"skipped: {HIPPIUS} not available")
        return
    if args.command:
        for label, extra in (("automatic components", []), ("--components 4",
                                                            ["--components", "4"])):
            cpu, wall = time_command(extra)
            print(f"tamkit spectro ({label}): {cpu:.2f} s CPU, {wall:.2f} s wall")
    from tamkit.spectro.globalfit import global_fit
    from tamkit.spectro.loading import load_tamap

    tamap = load_tamap(HIPPIUS)
    t = time.perf_counter()
    global_fit(tamap, 4)
    print(f"first call (includes loading compiled kernels): {time.perf_counter() - t:.2f} s")
    walls, cpus = [], []
    for _ in range(args.repeat):
        cpu = time.process_time()
        fit = global_fit(tamap, 4)
        cpus.append(time.process_time() - cpu)
        walls.append(fit.fit_time_s)
    wall_med, cpu_med = np.median(walls), np.median(cpus)
    print(f"Hippius 335x346, 4 components + IRF + cubic chirp: fit time {min(walls):.3f} s "
          f"(best of {args.repeat}; median {wall_med:.3f} s wall, {cpu_med:.3f} s CPU), "
          f"{fit.n_evaluations} evaluations")
    for entry in fit.lifetimes_ps():
        print("  lifetime:", entry)
    print(f"  IRF FWHM {fit.irf_fwhm_fs:.1f} +- {fit.irf_fwhm_err_fs:.1f} fs")


if __name__ == "__main__":
    main()
