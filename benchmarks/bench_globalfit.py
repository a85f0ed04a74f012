"""Benchmark: the global spatiotemporal fit against the per-frame route on band-like stacks.

Run ``python benchmarks/bench_globalfit.py [--n 50]``. On paper-like band-like stacks
(:class:`tamkit.testing.artificial.BandLikeTruth`: D_max 102 cm^2/s at tau = 300 fs,
sigma_0 = 141 nm, 48x48 pixels, the default TAM delays) at per-pixel peak SNR 12 and 6 it
prints, for the global fit (BIC-selected model, and the band-like SBPL + 1 break forced) and
for the per-frame route: how often a band-like regime is reported, the fraction of realisations
with D_max within 15 % and tau within 30 % of the truth, and the pull mean and SD
((estimate - truth) / error) of D_max, tau and sigma_0; then the run time of one global fit of a
150-frame 64x64 stack.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tamkit.carrier_transport.analysis import transport
from tamkit.gaussfit import fit_frames
from tamkit.globalfit import MsdModel, global_fit
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
    return (f"{label:34s} band-like in {len(found)}/{n}; D_max<15% & tau<30%: {ok.sum()}/{n} "
            f"({ok.sum() / n:.0%}); D_max {np.median(d[:, 0]):.0f} (SD {d[:, 0].std():.0f}), "
            f"tau {np.median(d[:, 2]):.0f} (SD {d[:, 2].std():.0f}) fs; "
            f"pulls D {pd.mean():+.2f}/{pd.std():.2f}, tau {pt.mean():+.2f}/{pt.std():.2f}, "
            f"sigma0 {ps.mean():+.2f}/{ps.std():.2f} (mean/SD)")


def study(snr: float, n: int) -> None:
    selected, forced, per_frame, times = [], [], [], []
    for seed in range(n):
        stack, _ = spreading_gaussian_stack(peak_snr=snr, seed=1000 + seed)
        fits = fit_frames(stack)
        t = stack["delay"].values
        pos = t[t > 0]
        start = time.perf_counter()
        g = global_fit(stack, fits)
        times.append(time.perf_counter() - start)
        selected.append((g.band_like, g.sigma0_nm, g.sigma0_err_nm))
        f = global_fit(stack, fits, models=[MsdModel("sbpl", 1, (pos[0], pos[-1]))])
        forced.append((f.band_like, f.sigma0_nm, f.sigma0_err_nm))
        try:
            r = transport(fits, n_bootstrap=100, seed=seed)
            per_frame.append((r.band_like, r.sigma0_nm, r.sigma0_err_nm))
        except Exception:  # noqa: BLE001 (a failed per-frame route counts as a miss)
            per_frame.append(None)
    print(f"\npeak SNR {snr:g}, {n} realisations (global fit {np.median(times):.2f} s per stack, "
          "median)")
    print(_row("global, BIC-selected model", selected))
    print(_row("global, SBPL + 1 break forced", forced))
    print(_row("per-frame route", per_frame))


def timing() -> None:
    stack, _ = spreading_gaussian_stack(tam_delays_fs(n_log=94), shape=(64, 64), peak_snr=12,
                                        seed=7)
    fits = fit_frames(stack)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        global_fit(stack, fits)
        runs.append(time.perf_counter() - start)
    print(f"\n150 frames of 64x64: global fit {min(runs):.2f} s (best of 3; "
          f"{', '.join(f'{r:.2f}' for r in runs)} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()
    timing()
    for snr in (12.0, 6.0, 30.0):
        study(snr, args.n)


if __name__ == "__main__":
    main()
