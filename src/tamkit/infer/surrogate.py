"""A surrogate of the stochastic stages' share of the early MSD, trained on simulator runs.

Before ~1-2 ps the hopping Monte Carlo (:func:`tamkit.sim.hopping.simulate_hopping`: Auger,
hot flights, thermal hopping) adds a small MSD on top of the band-like stage: the hot flights of
Auger survivors dominate it (1 % of the MSD at <N_abs> = 0.18 by 1 ps). Early on, survivors
appear at a near-constant rate and each spreads with D_hot = v^2 tau_c0, so their MSD grows as
t^2; thermal hopping adds a term linear in t. Per local density N_k the surrogate is

    MSD_late,k(t) = h_k t + q_k t^2 (D_hot(theta) / D_hot(base)),

with h_k, q_k >= 0 fitted (weighted non-negative least squares) to the simulator's MSD of the
base film at that density over the window; the hot-flight term follows the inferred J and
tau_c0 through D_hot = 2 J^2 a^2 tau_c0 / hbar^2. The Auger rate (tau_xx) and flight time stay
at the base film's values (they are not inferred). Training runs one Dask task per level and is
cached (:mod:`tamkit.infer.cache`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import nnls

from tamkit.sim.film import Film

#: Carriers wanted per level and the realisation bounds, as :mod:`tamkit.sim.scenario`.
TARGET_CARRIERS = 30000
REALISATIONS = (32, 1024)
N_TIMES = 40


def _train_level(film: Film, nabs: float, window_fs: float, seed: int) -> np.ndarray:
    from tamkit.sim.hopping import DEFAULT_N_SITES_SIDE, simulate_hopping

    t = np.geomspace(10.0, window_fs, N_TIMES)
    expected = nabs * DEFAULT_N_SITES_SIDE**3
    n_real = int(np.clip(np.ceil(TARGET_CARRIERS / expected), *REALISATIONS))
    hop = simulate_hopping(film, float(nabs), t, seed=seed, n_realisations=n_real)
    msd = np.nan_to_num(hop.msd_nm2)
    err = np.nan_to_num(hop.msd_err_nm2)
    w = 1.0 / np.sqrt(err**2 + (0.02 * msd) ** 2 + 1.0)
    coef, _ = nnls(np.stack([t * w, t**2 * w], axis=1), msd * w)
    return coef


def train_late_stage(film: Film, levels: Sequence[float], window_fs: float, seed: int = 0,
                     scheduler: str | None = None) -> np.ndarray:
    """Coefficients (h_k, q_k) per level, shape (K, 2), from simulator runs on Dask."""
    import dask

    seeds = np.random.SeedSequence(seed).generate_state(len(levels))
    tasks = [dask.delayed(_train_level)(film, float(n), float(window_fs), int(s))
             for n, s in zip(levels, seeds, strict=True)]
    if scheduler and scheduler not in ("threads", "sync", "processes"):
        from distributed import Client

        with Client(scheduler) as client:
            out = client.compute(tasks, sync=True)
    else:
        out = dask.compute(*tasks, scheduler=scheduler or "threads")
    return np.asarray(out, dtype=float)


def late_msd_nm2(coef: np.ndarray, tau_fs: np.ndarray, hot_ratio: np.ndarray) -> np.ndarray:
    """Surrogate MSD (W, K, U) at node times ``tau_fs`` (U,) for D_hot ratios (W,)."""
    h, q = coef[:, 0], coef[:, 1]
    lin = h[None, :, None] * tau_fs[None, None, :]
    quad = q[None, :, None] * tau_fs[None, None, :] ** 2
    return lin + quad * np.asarray(hot_ratio)[:, None, None]
