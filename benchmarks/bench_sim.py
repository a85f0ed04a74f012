"""Benchmark of the hopping kinetic Monte Carlo: compiled (numba) against plain Python.

Run: ``.venv/bin/python benchmarks/bench_sim.py``

The plain-Python reference is the very same source, :func:`tamkit.sim.kmc.run_kmc`, executed by the
Python interpreter (``NUMBA_DISABLE_JIT=1`` in a child process), so both columns run the same
model with the same algorithm; ``tests/sim/test_kmc.py`` checks that the two agree bit for bit.
The interpreter runs a smaller problem: one box instead of 32, otherwise identical, so one event
costs the same work in both. Compilation is excluded (one warm-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

_CASE = """
import json, time, numpy as np
from tamkit.sim.film import film_preset
from tamkit.sim.hopping import simulate_hopping
film = film_preset("cqd")
delay = np.geomspace(1e3, {t_max_fs}, 20)
simulate_hopping(film, 0.18, delay[:2], n_sites_side=6, n_realisations=1)  # warm-up / compile
cpu, wall = [], []
for _ in range({repeats}):  # best of a few: other processes only ever slow a run down
    cpu0, wall0 = time.process_time(), time.perf_counter()
    r = simulate_hopping(film, {nabs}, delay, n_sites_side={n_side}, n_realisations={n_real})
    cpu.append(time.process_time() - cpu0)
    wall.append(time.perf_counter() - wall0)
cpu, wall = min(cpu), min(wall)
print(json.dumps({{"cpu_s": cpu, "wall_s": wall, "hops": r.n_hops, "auger": r.n_auger,
                  "cooling": r.n_cooling_steps, "carriers": r.n_carriers}}))
"""

#: The default box and realisations of simulate_hopping, the highest fluence, 1 ns.
COMPILED = dict(nabs=0.18, n_side=20, n_real=32, t_max_fs=1e6, repeats=5)
#: One of those 32 boxes: the same per-event work (tree depth, lattice arrays, samples per
#: event); the interpreter needs a few seconds for it.
INTERPRETED = dict(nabs=0.18, n_side=20, n_real=1, t_max_fs=1e6, repeats=2)


def run_case(case: dict, disable_jit: bool) -> dict:
    """Run one case in a child process and return its timing and event counts."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1" if disable_jit else "0")
    out = subprocess.run(
        [sys.executable, "-c", _CASE.format(**case)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout)
    result["events"] = result["hops"] + result["auger"] + result["cooling"]
    result["events_per_cpu_s"] = result["events"] / result["cpu_s"]
    result["hops_per_cpu_s"] = result["hops"] / result["cpu_s"]
    result["events_per_wall_s"] = result["events"] / result["wall_s"]
    return result


def main() -> None:
    start = time.perf_counter()
    rows = [
        ("numba (compiled)", COMPILED, run_case(COMPILED, disable_jit=False)),
        ("plain Python (same source)", INTERPRETED, run_case(INTERPRETED, disable_jit=True)),
    ]
    print("Hopping KMC (cqd film, Auger + hot carriers + Miller-Abrahams); compile excluded,")
    print("best of a few runs; rates per CPU second (threads summed) so that a busy machine or")
    print("the number of cores does not skew the comparison")
    header = (
        f"{'implementation':<28}{'dots':>7}{'real.':>6}{'t_max ps':>9}{'carriers':>9}"
        f"{'events':>10}{'CPU s':>8}{'wall s':>8}{'hops/CPU s':>12}{'events/CPU s':>14}"
        f"{'events/wall s':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, case, res in rows:
        print(
            f"{name:<28}{case['n_side'] ** 3:>7}{case['n_real']:>6}"
            f"{case['t_max_fs'] / 1e3:>9.0f}{res['carriers']:>9}{res['events']:>10}"
            f"{res['cpu_s']:>8.2f}{res['wall_s']:>8.2f}{res['hops_per_cpu_s']:>12.3g}"
            f"{res['events_per_cpu_s']:>14.3g}{res['events_per_wall_s']:>15.3g}"
        )
    ratio = rows[0][2]["events_per_cpu_s"] / rows[1][2]["events_per_cpu_s"]
    ratio_wall = rows[0][2]["events_per_wall_s"] / rows[1][2]["events_per_wall_s"]
    verdict = "met" if ratio >= 100 else "NOT met"
    print(
        f"speed-up per CPU second: {ratio:.0f}x (target >= 100x: {verdict}); "
        f"per wall second: {ratio_wall:.0f}x"
    )
    print(f"benchmark wall time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
