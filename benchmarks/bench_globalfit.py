"""Benchmark: the global spatiotemporal fit against the per-frame route on band-like stacks.

Run ``python benchmarks/bench_globalfit.py [--n 50] [--snr 12,6]``. First the Cramer-Rao bound
of D_max and tau of the global pixel model at the truth (:mod:`tamkit.globalfit.crb`) on the
test design and on other acquisitions, with the chance an efficient estimator meets the issue's
target (D_max within 15 % and tau within 30 %). Then, on paper-like band-like stacks
(:class:`tamkit.testing.artificial.BandLikeTruth`: D_max 102 cm^2/s at tau = 300 fs,
sigma_0 = 141 nm, 48x48 pixels, the default TAM delays) at per-pixel peak SNR 12 and 6, for the
global fit (BIC-selected model with the default amplitude law test, the same with free per-frame
amplitudes, and the truth's family -- piecewise 3 regimes -- forced) and for the per-frame
route: how often a band-like regime is reported, the fraction of realisations meeting the
target, the spread of D_max and tau against the bound, and the pull mean and SD
((estimate - truth) / error) of D_max, tau and sigma_0; then the run time of one global fit of a
150-frame 64x64 stack (wall and CPU time: the machine may be shared).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tamkit.carrier_transport.analysis import transport
from tamkit.gaussfit import fit_frames
from tamkit.globalfit import MsdModel, global_fit
from tamkit.globalfit.crb import band_like_bound
from tamkit.testing.artificial import BandLikeTruth, spreading_gaussian_stack, tam_delays_fs

TRUTH = BandLikeTruth()


def _row(label, results):
    n = len(results)
    found = [r for r in results if r is not None and r[0] is not None]
    if not found:
        return f"{label:34s} band-like in 0/{n}"
    d = np.array([(b.D_max_cm2_s, b.D_max_err_cm2_s, b.tau_fs, b.tau_err_fs) for b, *_ in found])
    s0 = np.array([(s, e) for _, s, e in found])
    ok = (np.abs(d[:, 0] / TRUTH.D_max_cm2_s - 1) < 0.15) & (np.abs(d[:, 2] / TRUTH.tau_fs - 1)
                                                            < 0.30)
    pd = (d[:, 0] - TRUTH.D_max_cm2_s) / d[:, 1]
    pt = (d[:, 2] - TRUTH.tau_fs) / d[:, 3]
    ps = (s0[:, 0] - 141.0) / s0[:, 1]
    n_bad = int(np.sum(~(np.isfinite(pd) & np.isfinite(pt) & np.isfinite(ps))))
    # robust spread (1.4826 MAD) next to the SD: a few wrong minima inflate the SD
    def mad(v):
        return 1.4826 * np.median(np.abs(v - np.median(v)))
    return (f"{label:34s} band-like in {len(found)}/{n}; D_max<15% & tau<30%: {ok.sum()}/{n} "
            f"({ok.sum() / n:.0%}); D_max {np.median(d[:, 0]):.0f} (SD {d[:, 0].std():.0f}, "
            f"MAD-SD {mad(d[:, 0]):.0f}), tau {np.median(d[:, 2]):.0f} (SD {d[:, 2].std():.0f}, "
            f"MAD-SD {mad(d[:, 2]):.0f}) fs; pulls D {np.nanmean(pd):+.2f}/{np.nanstd(pd):.2f}, "
            f"tau {np.nanmean(pt):+.2f}/{np.nanstd(pt):.2f}, sigma0 {np.nanmean(ps):+.2f}/"
            f"{np.nanstd(ps):.2f} (mean/SD); non-finite errors {n_bad}")


def bounds() -> None:
    """The Cramer-Rao bound of D_max and tau on the test design and other acquisitions."""
    print("Cramer-Rao bound of the global pixel model at the truth (piecewise 3-regime family, "
          "every pixel and delay, per-frame offset and centre marginalised); "
          "P = chance an efficient Gaussian estimator has D_max within 15 % and tau within 30 %")
    designs = [
        ("test design: 48x48, 20 fs steps to 1 ps, 40 log to 1 ns", {}, tam_delays_fs()),
        ("64x64 frames", {"shape": (64, 64)}, tam_delays_fs()),
        ("20 fs steps to 2 ps", {}, tam_delays_fs(linear_until_fs=2000)),
        ("10 fs steps to 1 ps", {}, tam_delays_fs(step_fs=10)),
        ("2 repeats averaged", {"repeats": 2}, tam_delays_fs()),
        ("4 repeats averaged", {"repeats": 4}, tam_delays_fs()),
        ("8 repeats averaged", {"repeats": 8}, tam_delays_fs()),
        ("10 fs steps to 1 ps, 4 repeats", {"repeats": 4}, tam_delays_fs(step_fs=10)),
    ]
    for label, kw, delays in designs:
        for snr in (12.0, 6.0):
            cells = []
            for amp in ("per-frame", "law"):
                b = band_like_bound(delays, peak_snr=snr, amplitude=amp, **kw)
                cells.append(f"{amp:9s} sd(D)/D {b.d_max_rel_sd:.3f} sd(tau)/tau "
                             f"{b.tau_rel_sd:.3f} P {b.p_within:.2f}")
            print(f"  {label:48s} SNR {snr:4.0f}: " + " | ".join(cells))


def study(snr: float, n: int) -> None:
    selected, free_amp, forced, per_frame, times, law = [], [], [], [], [], []
    for seed in range(n):
        stack, _ = spreading_gaussian_stack(peak_snr=snr, seed=1000 + seed)
        fits = fit_frames(stack)
        t = stack["delay"].values
        pos = t[t > 0]
        start = time.perf_counter()
        g = global_fit(stack, fits)
        times.append(time.perf_counter() - start)
        law.append(g.amplitude == "law")
        selected.append((g.band_like, g.sigma0_nm, g.sigma0_err_nm))
        f = global_fit(stack, fits, amplitude="per-frame")
        free_amp.append((f.band_like, f.sigma0_nm, f.sigma0_err_nm))
        f = global_fit(stack, fits, models=[MsdModel("piecewise", 3, (pos[0], pos[-1]))])
        forced.append((f.band_like, f.sigma0_nm, f.sigma0_err_nm))
        try:
            r = transport(fits, n_bootstrap=100, seed=seed)
            per_frame.append((r.band_like, r.sigma0_nm, r.sigma0_err_nm))
        except Exception:  # noqa: BLE001 (a failed per-frame route counts as a miss)
            per_frame.append(None)
    crb = {a: band_like_bound(tam_delays_fs(), peak_snr=snr, amplitude=a)
           for a in ("per-frame", "law")}
    print(f"\npeak SNR {snr:g}, {n} realisations (global fit {np.median(times):.2f} s per stack, "
          f"median; amplitude law kept by its test in {np.sum(law)}/{n}); bound: D_max "
          f"{crb['law'].d_max_rel_sd * 102:.1f}, tau {crb['law'].tau_rel_sd * 300:.0f} fs (law), "
          f"{crb['per-frame'].d_max_rel_sd * 102:.1f}, {crb['per-frame'].tau_rel_sd * 300:.0f} fs "
          f"(free amplitudes)")
    print(_row("global, BIC (amplitude auto)", selected))
    print(_row("global, BIC, free amplitudes", free_amp))
    print(_row("global, piecewise 3 forced (auto)", forced))
    print(_row("per-frame route", per_frame))


def timing() -> None:
    stack, _ = spreading_gaussian_stack(tam_delays_fs(n_log=94), shape=(64, 64), peak_snr=12,
                                        seed=7)
    fits = fit_frames(stack)
    for amp in ("auto", "per-frame"):
        runs, cpu = [], []
        for _ in range(3):
            start, c0 = time.perf_counter(), time.process_time()
            global_fit(stack, fits, amplitude=amp)
            runs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - c0)
        print(f"\n150 frames of 64x64, amplitude {amp}: global fit {min(runs):.2f} s wall (best "
              f"of 3; {', '.join(f'{r:.2f}' for r in runs)} s), {min(cpu):.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--snr", default="12,6")
    args = parser.parse_args()
    bounds()
    timing()
    for snr in (float(v) for v in args.snr.split(",")):
        study(snr, args.n)


if __name__ == "__main__":
    main()
