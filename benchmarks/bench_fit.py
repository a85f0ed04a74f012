"""Benchmark: tamkit's batched Gaussian fitter against a per-frame ``curve_fit`` loop.

Run ``python benchmarks/bench_fit.py``. On the same artificial frames (a round spot of
sigma = 141 nm on 55.6 nm pixels, peak SNR 20, sub-pixel jitter of the centre, 8 baseline frames for
the noise) it prints, for 64x64 and 256x256 frames: fits per second of ``tamkit.fit_frames``
and of ``fit_frames_reference`` (the loop) and their ratio; the bias and scatter of sigma from
both, beside the Cramer-Rao bound at the truth; and the peak traced memory of each.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from tamkit.core.stack import make_stack, pixel_axis_nm
from tamkit.gaussfit import cramer_rao_bound, fit_frames, fit_frames_reference
from tamkit.testing.artificial import PAPER_PIXEL_NM, gaussian_frames

SIGMA_NM = 141.0
PEAK_SNR = 20.0
NOISE = 1e-5
N_BASELINE = 8


def make_data(size: int, n_frames: int, seed: int = 0):
    """A stack of ``n_frames`` signal frames of one spot (random centres) plus baseline frames."""
    rng = np.random.default_rng(seed)
    x = pixel_axis_nm(size, PAPER_PIXEL_NM)
    n = N_BASELINE + n_frames
    amp = np.r_[np.zeros(N_BASELINE), np.full(n_frames, PEAK_SNR * NOISE)]
    # sub-pixel pointing jitter, as between the delays of a measurement
    cx = rng.uniform(-0.25, 0.25, n) * PAPER_PIXEL_NM
    cy = rng.uniform(-0.25, 0.25, n) * PAPER_PIXEL_NM
    frames = gaussian_frames(amp, cx, cy, np.full(n, SIGMA_NM), np.full(n, SIGMA_NM), x, x)
    frames += rng.normal(0.0, NOISE, frames.shape)
    delay = np.r_[np.arange(-N_BASELINE, 0) * 100.0, np.arange(n_frames) * 10.0]
    return make_stack(frames, delay, PAPER_PIXEL_NM)


def timed(fn, stack, repeats: int = 1):
    """(result, wall seconds, CPU seconds of all threads) of the fastest of ``repeats`` calls."""
    best = (None, np.inf, np.inf)
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn(stack)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if seconds < best[1]:
            best = (result, seconds, cpu)
    return best


def peak_memory_mb(fn, stack) -> float:
    """Peak traced memory (MB) of one call, apart from timing (tracemalloc slows numpy down).

    numba's per-frame scratch (a few frames' worth per thread) is not traced.
    """
    tracemalloc.start()
    fn(stack)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def sigma_stats(ds) -> tuple[float, float, float]:
    """(bias %, scatter %, mean reported error %) of sigma over the 'ok' frames."""
    ok = ds["status"].values == "ok"
    sig = ds["sigma_nm"].values[ok]
    err = ds["sigma_err_nm"].values[ok]
    return (
        100 * (sig.mean() - SIGMA_NM) / SIGMA_NM,
        100 * sig.std(ddof=1) / SIGMA_NM,
        100 * err.mean() / SIGMA_NM,
    )


def bench(size: int, n_fast: int, n_ref: int) -> list[str]:
    stack = make_data(size, n_fast)
    sub = stack.isel(delay=slice(0, N_BASELINE + n_ref))
    x = stack["x"].values
    crb = cramer_rao_bound(
        {
            "amplitude": PEAK_SNR * NOISE,
            "x0_nm": 0,
            "y0_nm": 0,
            "sigma_nm": SIGMA_NM,
            "offset": 0.0,
        },
        x,
        x,
        NOISE,
    )["sigma_nm"]
    crb_pct = 100 * crb / SIGMA_NM
    fast, t_fast, cpu_fast = timed(fit_frames, stack, repeats=3)
    ref, t_ref, cpu_ref = timed(fit_frames_reference, sub)
    mem_fast = peak_memory_mb(fit_frames, stack)
    mem_ref = peak_memory_mb(fit_frames_reference, sub)
    fast_sub = fast.isel(delay=slice(0, N_BASELINE + n_ref))
    rate_fast, rate_ref = n_fast / t_fast, n_ref / t_ref
    cpu_rate_fast, cpu_rate_ref = n_fast / cpu_fast, n_ref / cpu_ref
    rows = [
        f"{size}x{size}: {n_fast} frames (tamkit), {n_ref} (loop); CRB(sigma) = "
        f"{crb:.3f} nm = {crb_pct:.3f} %"
    ]
    rows.append(
        f"  {'fitter':<22}{'fits/s':>10}{'fits/cpu-s':>11}{'bias %':>9}{'scatter %':>11}"
        f"{'err %':>8}{'scatter/CRB':>13}{'peak MB':>9}"
    )
    for name, ds, rate, cpu_rate, mem in (
        ("tamkit (all frames)", fast, rate_fast, cpu_rate_fast, mem_fast),
        ("tamkit (loop's frames)", fast_sub, rate_fast, cpu_rate_fast, mem_fast),
        ("curve_fit loop", ref, rate_ref, cpu_rate_ref, mem_ref),
    ):
        bias, scatter, err = sigma_stats(ds)
        rows.append(
            f"  {name:<22}{rate:>10.0f}{cpu_rate:>11.0f}{bias:>9.3f}{scatter:>11.3f}{err:>8.3f}"
            f"{scatter / crb_pct:>13.3f}{mem:>9.1f}"
        )
    b_f, s_f, _ = sigma_stats(fast_sub)
    b_r, s_r, _ = sigma_stats(ref)
    rows.append(
        f"  speed-up {rate_fast / rate_ref:.0f}x wall, {cpu_rate_fast / cpu_rate_ref:.0f}x per "
        f"CPU-second; on the same frames: bias differs by {abs(b_f - b_r):.4f} % of sigma, "
        f"scatter by {100 * abs(s_f / s_r - 1):.2f} % of the loop's"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    args = parser.parse_args()
    k = 10 if args.quick else 1
    t0 = time.perf_counter()
    fit_frames(make_data(16, 4))  # load (or compile, once) the numba kernels
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"numba kernels ready in {time.perf_counter() - t0:.1f} s; cores: {os.cpu_count()}; "
        f"load average {load:.1f} (wall-clock rates suffer when it exceeds the cores)"
    )
    rows = bench(64, 4000 // k, 400 // k) + bench(256, 400 // k, 40 // k)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
