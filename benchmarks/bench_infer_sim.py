"""Coverage of `tamkit infer` on held-out parameter sets measured with the full simulator.

Issue 14's validation: measurements simulated at parameters drawn from the prior that the
emulators never saw; coverage of the 68 % and 95 % intervals over at least 50 sets.

For each set i (seeded: ``SeedSequence([seed, i])``):

1. theta = (coupling_meV, tau_c0_fs, scatter_per_nabs, kappa) drawn from the log-uniform priors
   of ``tamkit.infer.PRIORS``, on top of the cqd preset (sigma_inh 30 meV and every stochastic
   stage at their cqd values). Draws are restricted to the band-like sub-region: the mean free
   path v tau_c must reach one pitch at the brightest local density of the series (<N_abs> =
   0.18), i.e. the Ioffe-Regel criterion holds on every density level of every fluence. Below it
   the simulator (and the closed form) switch band-like motion off at that level by a hard
   cut: the early motion of those carriers is then hopping, which neither describes as a
   band-like stage. The share of the prior volume inside the sub-region is printed; the
   inference itself keeps the full prior (it does not know about the cut).
2. The cqd fluence series <N_abs> 0.045, 0.09, 0.18 is simulated with the full simulator
   (``tamkit.sim.scenario.simulate_measurement``: band-like stage at 4 density levels, the
   hopping Monte Carlo with Auger, hot flights and thermal hopping, the spot, the microscope, the
   chopped camera with shot noise). Acquisition (cheaper than the paper's 50 runs x 5 spots with
   delays to 1 ns, stated): ``--runs`` x ``--spots`` (default 10 x 5, the simulator's default)
   and the tam delays to 1 ps only (5 baseline delays, 20 fs steps: the inference uses 0-1 ps).
   Each raw acquisition is preprocessed (``tamkit.preprocessing.preprocess``) and the dT/T stack
   is saved as NetCDF in the cache; it is then read and analysed as ``tamkit infer STACK.nc``
   does (``tamkit.infer.load_measured``: ``tamkit.analyze`` per frame, then the early MSD
   table, sigma_0 and its error), except for a lighter regime fit (``--bootstrap`` 20 replicates
   instead of 100, ``--max-regimes`` 3 instead of 5: 3x faster; sigma_0 and its error move by
   a few hundredths of a nm), and the analysed early MSD is cached beside the stack.
3. ``tamkit.infer_film`` runs on the three measurements with the base film = cqd default: the
   fit-chain emulator and the stochastic-stage surrogate are trained on the cqd base (once,
   before the sets, timed as the first training) and never see theta.

Simulation, analysis and inference of a set run as one task on a process pool (``--workers``,
default 2). Stacks and analyses are cached under ``--cache DIR`` (a rerun redoes only the
inference; the emulator cache lives in DIR/emulator unless ``--emulator-cache`` is given).

Run from the repository root::

    nice -n 10 python benchmarks/bench_infer_sim.py --sets 60 --cache .bench/infer-sim

Prints per-parameter and overall coverage of the 68 % / 95 % intervals, the share determined,
the bias of the posterior medians (median and mean of median / truth - 1 over the sets), and
timing; writes one JSON line per set to DIR/sets-<tag>.jsonl for diagnosis.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

FREE = ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa")
NABS = (0.045, 0.09, 0.18)
#: The Ioffe-Regel check is made at the brightest local density of the series.
IOFFE_REGEL_NABS = max(NABS)


def _delays() -> np.ndarray:
    from tamkit.core.acquisition import tam_delays_fs

    return tam_delays_fs(t_max_fs=1000.0, n_log=0)


def draw_theta(seed: int, index: int) -> tuple[np.ndarray, int]:
    """theta of set ``index``: log-uniform prior draws, rejected until band-like at 0.18.

    Returns theta and the number of draws it took (for the sub-region's prior share).
    """
    from tamkit.infer import PRIORS
    from tamkit.sim.film import film_preset, with_changes

    base = film_preset("cqd")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))
    for tries in range(1, 10_000):
        theta = np.exp([rng.uniform(*PRIORS[k].log_bounds) for k in FREE])
        film = with_changes(base, **dict(zip(FREE, theta.tolist(), strict=True)))
        if film.has_band_like_regime(IOFFE_REGEL_NABS):
            return theta, tries
    raise RuntimeError("no band-like draw")


def prior_share(n: int = 200_000, seed: int = 1) -> float:
    """Share of the prior volume where the film is band-like at <N_abs> = 0.18 (Monte Carlo)."""
    from tamkit.core.constants import HBAR_MEV_FS
    from tamkit.infer import PRIORS
    from tamkit.sim.film import film_preset

    a = film_preset("cqd").pitch_nm
    rng = np.random.default_rng(seed)
    x = {k: np.exp(rng.uniform(*PRIORS[k].log_bounds, n)) for k in FREE}
    v = math.sqrt(2.0) * x["coupling_meV"] * a / HBAR_MEV_FS
    tau = 1.0 / (1.0 / x["tau_c0_fs"] + x["scatter_per_nabs"] * IOFFE_REGEL_NABS)
    return float(np.mean(v * tau >= a))


def _measured_to_npz(m, path: Path) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, source=m.source, nabs=m.nabs, delay_fs=m.delay_fs, msd_nm2=m.msd_nm2,
             msd_err_nm2=m.msd_err_nm2, sigma0_nm=m.sigma0_nm, sigma0_err_nm=m.sigma0_err_nm,
             pitch_nm=np.nan if m.pitch_nm is None else m.pitch_nm,
             all_delay_fs=m.all_delay_fs, all_msd_nm2=m.all_msd_nm2,
             all_msd_err_nm2=m.all_msd_err_nm2)
    os.replace(tmp, path)


def _measured_from_npz(path: Path):
    from tamkit.infer import Measured

    z = np.load(path)
    pitch = float(z["pitch_nm"])
    return Measured(str(z["source"]), float(z["nabs"]), z["delay_fs"], z["msd_nm2"],
                    z["msd_err_nm2"], float(z["sigma0_nm"]), float(z["sigma0_err_nm"]),
                    None if math.isnan(pitch) else pitch, z["all_delay_fs"], z["all_msd_nm2"],
                    z["all_msd_err_nm2"])


def measure_set(index: int, theta: np.ndarray, folder: Path, runs: int, spots: int,
                seed: int, bootstrap: int = 20, max_regimes: int = 3) -> tuple[list, dict]:
    """The three analysed measurements of one set, simulated/analysed or read from the cache."""
    from tamkit.infer.data import from_frames
    from tamkit.infer.forward import DEFAULT_WINDOW_FS
    from tamkit.io import save_stack
    from tamkit.preprocessing.differential import preprocess
    from tamkit.sim.film import film_preset, with_changes
    from tamkit.sim.scenario import simulate_measurement
    from tamkit.workflows.analysis import analyze

    folder.mkdir(parents=True, exist_ok=True)
    film = with_changes(film_preset("cqd"), **dict(zip(FREE, theta.tolist(), strict=True)))
    seeds = np.random.SeedSequence([int(seed), int(index), 1]).generate_state(len(NABS))
    timing = {"simulate_s": 0.0, "analyse_s": 0.0, "cached": True}
    out = []
    for n, s in zip(NABS, seeds, strict=True):
        stack_path = folder / f"stack_{n:g}.nc"
        meas_path = folder / f"measured_{n:g}_b{bootstrap}r{max_regimes}.npz"
        truth_path = folder / f"truth_{n:g}.npz"
        if not stack_path.exists():
            timing["cached"] = False
            t0 = time.perf_counter()
            m = simulate_measurement(film, n, delay_fs=_delays(), seed=int(s), n_runs=runs,
                                     n_spots=spots)
            stack = preprocess(m.raw)
            tmp = folder / f".stack_{n:g}.{os.getpid()}.nc"
            save_stack(stack, tmp)
            os.replace(tmp, stack_path)
            nf = m.truth["noise_free_fit"]
            np.savez(truth_path, delay_fs=np.asarray(m.truth["delay_fs"]),
                     noise_free_fit_msd_nm2=np.asarray(nf["msd_nm2"], dtype=float),
                     msd_nm2=np.asarray(m.truth["msd_nm2"], dtype=float),
                     sigma0_nm=m.truth["sigma0_nm"])
            timing["simulate_s"] += time.perf_counter() - t0
        if meas_path.exists():
            out.append(_measured_from_npz(meas_path))
            continue
        timing["cached"] = False
        t0 = time.perf_counter()
        # as `tamkit infer STACK.nc` reads a stack (tamkit.infer.load_measured: the per-frame
        # analysis, then the early MSD table), with a lighter bootstrap of the regime fit
        result = analyze(stack_path, n_bootstrap=bootstrap, max_regimes=max_regimes,
                         method="per-frame").result
        meas = from_frames(str(stack_path), n, result.frames, result.sigma0_nm,
                           result.sigma0_err_nm, DEFAULT_WINDOW_FS, result.parameters.pitch_nm)
        _measured_to_npz(meas, meas_path)
        out.append(meas)
        timing["analyse_s"] += time.perf_counter() - t0
    return out, timing


def run_set(index: int, args: dict) -> dict:
    """Task: measure set ``index`` and infer; returns a JSON-ready record."""
    from tamkit.infer import infer_film

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    theta, tries = draw_theta(args["seed"], index)
    folder = Path(args["cache"]) / f"r{args['runs']}x{args['spots']}" / f"set{index:03d}"
    rec = {"index": index, "truth": dict(zip(FREE, theta.tolist(), strict=True)),
           "draws": tries}
    t0 = time.perf_counter()
    try:
        series, timing = measure_set(index, theta, folder, args["runs"], args["spots"],
                                     args["seed"], args["bootstrap"], args["max_regimes"])
    except Exception as exc:  # a set the analysis cannot read is reported, not hidden
        rec["error"] = f"measurement: {type(exc).__name__}: {exc}"
        return rec
    rec.update(timing)
    rec["frames_used"] = [int(m.delay_fs.size) for m in series]
    t1 = time.perf_counter()
    try:
        res = infer_film(series, film="cqd", n_steps=args["steps"], burn=args["steps"] // 3,
                         seed=index, cache=args["emulator_cache"])
    except Exception as exc:
        rec["error"] = f"inference: {type(exc).__name__}: {exc}"
        return rec
    rec["infer_s"] = time.perf_counter() - t1
    rec["set_s"] = time.perf_counter() - t0
    rec["parameters"] = {k: {q: res.parameters[k][q] for q in
                             ("median", "ci68", "ci95", "determined", "posterior_to_prior_sd")}
                         for k in FREE}
    rec["chi2"] = res.chi2()
    rec["acceptance"] = res.chain.acceptance
    rec["n_effective"] = res.chain.n_effective
    return rec


def train_emulators(folder: str) -> dict:
    """Train (or read) the cqd base's fit-chain emulator and surrogate; the first-training time."""
    from tamkit.infer.cache import chain_tables, late_stage_tables
    from tamkit.infer.forward import DEFAULT_WINDOW_FS, N_LEVELS
    from tamkit.sim.film import film_preset
    from tamkit.sim.spot import default_levels

    base = film_preset("cqd")
    t0 = time.perf_counter()
    _, chain_rec = chain_tables(base, NABS, folder=folder)
    t1 = time.perf_counter()
    _, late_rec = late_stage_tables(base, [default_levels(n, N_LEVELS) for n in NABS],
                                    DEFAULT_WINDOW_FS, folder=folder)
    t2 = time.perf_counter()
    return {"chain_s": t1 - t0, "chain_trained": chain_rec["trained"],
            "late_s": t2 - t1, "late_trained": late_rec["trained"]}


def table(records: list[dict], n_sets: int) -> str:
    ok = [r for r in records if "parameters" in r]
    lines = [f"{'parameter':18s} {'68 % cover':>11s} {'95 % cover':>11s} {'determined':>11s} "
             f"{'bias med':>9s} {'bias mean':>9s} {'|bias| med det':>15s}"]
    tot68 = tot95 = 0
    for k in FREE:
        c68 = sum(r["parameters"][k]["ci68"][0] <= r["truth"][k] <= r["parameters"][k]["ci68"][1]
                  for r in ok)
        c95 = sum(r["parameters"][k]["ci95"][0] <= r["truth"][k] <= r["parameters"][k]["ci95"][1]
                  for r in ok)
        det = [r for r in ok if r["parameters"][k]["determined"]]
        bias = np.array([r["parameters"][k]["median"] / r["truth"][k] - 1 for r in ok])
        bdet = np.array([abs(r["parameters"][k]["median"] / r["truth"][k] - 1) for r in det])
        tot68 += c68
        tot95 += c95
        lines.append(f"{k:18s} {100 * c68 / len(ok):10.1f}% {100 * c95 / len(ok):10.1f}% "
                     f"{100 * len(det) / len(ok):10.0f}% {100 * np.median(bias):+8.1f}% "
                     f"{100 * np.mean(bias):+8.1f}% "
                     f"{100 * np.median(bdet) if det else float('nan'):14.1f}%")
    n = len(ok) * len(FREE)
    lines.append(f"{'all':18s} {100 * tot68 / n:10.1f}% {100 * tot95 / n:10.1f}%   "
                 f"(targets 60-76 % and 90-98 %; {len(ok)} of {n_sets} sets inferred)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", type=int, default=60)
    ap.add_argument("--runs", type=int, default=10, help="runs per spot (paper: 50)")
    ap.add_argument("--spots", type=int, default=5, help="spots (paper: 5)")
    ap.add_argument("--steps", type=int, default=1000, help="emcee steps per walker")
    ap.add_argument("--bootstrap", type=int, default=20,
                    help="bootstrap replicates of the analysis (tamkit infer: 100)")
    ap.add_argument("--max-regimes", type=int, default=3,
                    help="largest number of regimes of the analysis (tamkit infer: 5)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--cache", default=".bench/infer-sim", help="stacks and analyses")
    ap.add_argument("--emulator-cache", default=None,
                    help="emulator cache (default CACHE/emulator)")
    ap.add_argument("--tag", default="run", help="name of the per-set JSONL file")
    a = ap.parse_args(argv)
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    emulator_cache = a.emulator_cache or str(cache / "emulator")
    start = time.perf_counter()
    train = train_emulators(emulator_cache)
    print(f"emulators (cqd base): fit chain {train['chain_s']:.1f} s "
          f"({'trained' if train['chain_trained'] else 'cached'}), stochastic-stage surrogate "
          f"{train['late_s']:.1f} s ({'trained' if train['late_trained'] else 'cached'})",
          flush=True)
    share = prior_share()
    args = {"seed": a.seed, "cache": str(cache), "runs": a.runs, "spots": a.spots,
            "steps": a.steps, "emulator_cache": emulator_cache, "bootstrap": a.bootstrap,
            "max_regimes": a.max_regimes}
    records = []
    jsonl = cache / f"sets-{a.tag}.jsonl"
    with open(jsonl, "w") as fh, ProcessPoolExecutor(a.workers) as pool:
        futures = {pool.submit(run_set, i, args): i for i in range(a.sets)}
        for done, fut in enumerate(as_completed(futures), 1):
            rec = fut.result()
            records.append(rec)
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            msg = rec.get("error") or (f"sim {rec['simulate_s']:.1f} s, analysis "
                                       f"{rec['analyse_s']:.1f} s, inference "
                                       f"{rec['infer_s']:.1f} s, chi2 "
                                       + ", ".join(f"{c:.2f}" for c in rec["chi2"]))
            print(f"set {rec['index']:3d} ({done}/{a.sets}): {msg}", file=sys.stderr,
                  flush=True)
    total = time.perf_counter() - start
    records.sort(key=lambda r: r["index"])
    ok = [r for r in records if "parameters" in r]
    print(f"coverage over {len(ok)} held-out sets, full simulator (cqd base + theta from the "
          f"prior's band-like sub-region, {100 * share:.1f} % of the prior volume; "
          f"{a.runs} runs x {a.spots} spots, delays to 1 ps; analysis with {a.bootstrap} "
          f"bootstrap replicates, <= {a.max_regimes} regimes; {a.steps} steps x 32 walkers)")
    print(table(records, a.sets))
    sims = [r["simulate_s"] for r in ok if not r["cached"]]
    an = [r["analyse_s"] for r in ok if r["analyse_s"] > 0]
    inf = [r["infer_s"] for r in ok]
    print(f"timing per set (task, one core each, {a.workers} workers): simulation "
          f"{np.median(sims) if sims else 0:.1f} s median ({len(sims)} simulated, rest cached), "
          f"analysis {np.median(an) if an else 0:.1f} s, inference {np.median(inf):.1f} s "
          f"median ({np.max(inf):.1f} s max); total {total / 60:.1f} min wall")
    errors = [r for r in records if "error" in r]
    for r in errors:
        print(f"set {r['index']}: {r['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
