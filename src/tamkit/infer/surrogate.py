"""A surrogate of the stochastic stages' share of the early MSD, trained on simulator runs.

Before ~1-2 ps the hopping Monte Carlo (:func:`tamkit.sim.hopping.simulate_hopping`: Auger,
hot flights, thermal hopping) adds a small MSD on top of the band-like stage: the hot flights of
Auger survivors dominate it (1 % of the MSD at <N_abs> = 0.18 by 1 ps). Early on, survivors
appear at a near-constant rate and each spreads with D_hot = v^2 tau_c0, so their MSD grows as
t^2; thermal hopping adds a term linear in t. Per local density N_k the surrogate is

    MSD_late,k(t) = (h_k t + q_k t^2) D_hot(theta) / D_hot(base),

with h_k, q_k >= 0 fitted (weighted non-negative least squares) to the simulator's MSD of the
base film at that density over the window; it follows the inferred J and tau_c0 through
D_hot = 2 J^2 a^2 tau_c0 / hbar^2. Both terms scale: within the first picosecond thermal
hopping adds < 0.5 nm^2 (cqd: 6 x 2.1e-5 hops/fs x 1 ps x a^2 / 3 per axis, less downhill), so
the early share is the flights'; the linear term is the fit's share of the survivors of the
fastest Auger events (13.8 nm^2 of 245 nm^2 at <N_abs> = 0.18 by 1 ps), not hopping. Keeping
it at the base value (the first version) left ~8 nm^2 too much at 0.18 for films with a small
D_hot, which biased scatter_per_nabs upwards on held-out sets with small MSDs. The Auger rate
(tau_xx) and flight time stay at the base film's values (they are not inferred).

The same runs give each level's survival S_k(t) (Auger losses of pump-made multiexcitons), which
the fit-chain emulator (:mod:`tamkit.infer.chain`) turns into the apparent broadening of
depletion. It depends on the base film only (Auger rate, hopping; not on the band-like
parameters: the stages are independent in the simulator), so it is used as trained. Training runs
one Dask task per level and is cached (:mod:`tamkit.infer.cache`).
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


def training_times_fs(window_fs: float) -> np.ndarray:
    """Times (fs) the surrogate is trained on (and its survival tabulated at)."""
    return np.geomspace(10.0, window_fs, N_TIMES)


def _train_level(film: Film, nabs: float, window_fs: float, seed: int) -> np.ndarray:
    from tamkit.sim.hopping import DEFAULT_N_SITES_SIDE, simulate_hopping

    t = training_times_fs(window_fs)
    expected = nabs * DEFAULT_N_SITES_SIDE**3
    n_real = int(np.clip(np.ceil(TARGET_CARRIERS / expected), *REALISATIONS))
    hop = simulate_hopping(film, float(nabs), t, seed=seed, n_realisations=n_real)
    msd = np.nan_to_num(hop.msd_nm2)
    err = np.nan_to_num(hop.msd_err_nm2)
    w = 1.0 / np.sqrt(err**2 + (0.02 * msd) ** 2 + 1.0)
    coef, _ = nnls(np.stack([t * w, t**2 * w], axis=1), msd * w)
    survival = np.clip(np.nan_to_num(hop.survival, nan=1.0), 0.0, 1.0)
    return np.concatenate([coef, survival])


def train_late_stage(film: Film, levels: Sequence[float], window_fs: float, seed: int = 0,
                     scheduler: str | None = None) -> np.ndarray:
    """Per level (h_k, q_k) then S_k on :func:`training_times_fs`, shape (K, 2 + N_TIMES),
    from simulator runs on Dask."""
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
    h, q = coef[:, 0], coef[:, 1]  # columns 2.. are the survival
    lin = h[None, :, None] * tau_fs[None, None, :]
    quad = q[None, :, None] * tau_fs[None, None, :] ** 2
    return (lin + quad) * np.asarray(hot_ratio)[:, None, None]


def late_survival(coef: np.ndarray, tau_fs: np.ndarray, window_fs: float) -> np.ndarray:
    """Survival S_k at times ``tau_fs`` (U,), shape (K, U): linear in t, S(0) = 1, held after
    the window."""
    coef = np.asarray(coef, dtype=float)
    if coef.shape[1] < 2 + N_TIMES:
        return np.ones((coef.shape[0], np.size(tau_fs)))
    t = np.r_[0.0, training_times_fs(window_fs)]
    return np.stack([np.interp(tau_fs, t, np.r_[1.0, row[2:2 + N_TIMES]]) for row in coef])
