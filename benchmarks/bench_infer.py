"""Coverage of `tamkit.infer` on held-out parameter sets drawn from the prior, and its run time.

Measurement model (say what it is): for each set theta drawn from the log-uniform priors of
``tamkit.infer.PRIORS`` (coupling_meV, tau_c0_fs, scatter_per_nabs, kappa; sigma_inh fixed at
the cqd base's 30 meV), a cqd fluence series (<N_abs> 0.045, 0.09, 0.18; 20 fs steps to 1 ps)
is made with the forward model (band-like closed form + the stochastic stages' surrogate, spot
levels, IRF, fit-chain emulator)
plus noise drawn as a default measurement has it: per-frame errors e = a + c MSD with (a, c)
fitted to the analysis of a simulated default cqd series (10 runs x 5 spots), a common sigma_0
offset of 2 sigma_0 sd(sigma_0) (same analysis), and the likelihood's model-discrepancy terms (a
per-fluence 1.5 % scale and 0.5 % per frame). This checks the sampler and the calibration of the
intervals, not the adequacy of the forward model, which the simulated-series check in
tests/infer/test_infer_simulated.py and the closing note address. None of these sets was seen
by the emulators (trained on the cqd base only).

Run from the repository root: ``python benchmarks/bench_infer.py [N_SETS] [N_STEPS]``
(defaults 60 and 800; ~5-10 s per set on two shared cores).
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

from tamkit.infer import PRIORS, Measured, infer_film
from tamkit.infer.cache import chain_tables, late_stage_tables
from tamkit.infer.forward import N_LEVELS, BandLikeForward
from tamkit.infer.likelihood import DISCREPANCY_POINT, DISCREPANCY_SCALE
from tamkit.sim.film import film_preset
from tamkit.sim.spot import default_levels

FREE = ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa")
NABS = (0.045, 0.09, 0.18)
#: per fluence: (a nm^2, c, sigma_0 offset SD nm^2) from the default cqd analysis (seed 100-102)
NOISE = {0.045: (354.5, 0.0221, 237.1), 0.09: (213.1, 0.0108, 169.0),
         0.18: (97.5, 0.0056, 72.8)}


def draw_series(theta, forward, rng) -> list[Measured]:
    models = forward.msd_nm2(theta[None])
    out = []
    for n, m in zip(NABS, models, strict=True):
        m = m[0]
        a, c, s0 = NOISE[n]
        err = a + c * np.clip(m, 0, None)
        data = (m * (1 + DISCREPANCY_SCALE * rng.standard_normal())
                + DISCREPANCY_POINT * m * rng.standard_normal(m.size)
                + s0 * rng.standard_normal()
                + np.sqrt(np.clip(err**2 - s0**2, 0.25 * err**2, None))
                * rng.standard_normal(m.size))
        # the sigma_0 error that gives this offset SD at sigma_0 = 141 nm
        out.append(Measured(f"draw {n:g}", n, forward.grids[0].delay_fs, data,
                            np.sqrt(np.clip(err**2 - s0**2, 0.25 * err**2, None) + s0**2),
                            141.0, s0 / (2 * 141.0)))
    return out


def main(n_sets: int = 60, n_steps: int = 800) -> None:
    base = film_preset("cqd")
    t = np.arange(20.0, 1001.0, 20.0)
    cache = tempfile.mkdtemp(prefix="bench-infer-cache-")
    start = time.perf_counter()
    tables, _ = chain_tables(base, NABS, folder=cache)
    late, _ = late_stage_tables(base, [default_levels(n, N_LEVELS) for n in NABS], 1000.0,
                                folder=cache)
    train_s = time.perf_counter() - start
    forward = BandLikeForward(base, NABS, [t] * 3, FREE, chain=tables, late=late)
    rng = np.random.default_rng(2026)
    hits = {k: {"68": 0, "95": 0} for k in FREE}
    determined = dict.fromkeys(FREE, 0)
    times = []
    for i in range(n_sets):
        theta = np.exp([rng.uniform(*PRIORS[k].log_bounds) for k in FREE])
        series = draw_series(theta, forward, rng)
        t0 = time.perf_counter()
        res = infer_film(series, film="cqd", n_steps=n_steps, burn=n_steps // 3, seed=i,
                         cache=cache)
        times.append(time.perf_counter() - t0)
        for k, v in zip(FREE, theta, strict=True):
            p = res.parameters[k]
            hits[k]["68"] += p["ci68"][0] <= v <= p["ci68"][1]
            hits[k]["95"] += p["ci95"][0] <= v <= p["ci95"][1]
            determined[k] += p["determined"]
        print(f"set {i + 1:3d}/{n_sets}: {times[-1]:.1f} s", file=sys.stderr, flush=True)
    print(f"coverage over {n_sets} held-out sets from the prior (emulator trained in "
          f"{train_s:.1f} s; inference {np.median(times):.1f} s median per set, "
          f"{n_steps} steps x 32 walkers)")
    print(f"{'parameter':18s} {'68 % cover':>11s} {'95 % cover':>11s} {'determined':>11s}")
    tot68 = tot95 = 0
    for k in FREE:
        c68, c95 = hits[k]["68"] / n_sets, hits[k]["95"] / n_sets
        tot68 += hits[k]["68"]
        tot95 += hits[k]["95"]
        share = 100 * determined[k] / n_sets
        print(f"{k:18s} {100 * c68:10.0f}% {100 * c95:10.0f}% {share:10.0f}%")
    n = n_sets * len(FREE)
    print(f"{'all':18s} {100 * tot68 / n:10.1f}% {100 * tot95 / n:10.1f}%   "
          f"(targets 60-76 % and 90-98 %)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
