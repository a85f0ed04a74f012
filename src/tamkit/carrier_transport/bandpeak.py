"""The band-like peak of D(t): a smoothly broken power law fitted around the first break.

The piecewise power law (:mod:`tamkit.carrier_transport.regimes`) finds the regimes, but its
corners are sharp:
for a smooth curve such as the semiclassical band-like MSD its breakpoint sits where the slope
changes fastest, not where D(t) = MSD / 2t peaks. The band-like persistence time of the paper is
where D peaks (then length = sqrt(2 D_max tau)), so around the first break we fit

    sigma_t^2 = sigma_0^2 + M (t/t_b)^a1 [(1 + (t/t_b)^(1/s)) / 2]^((a2 - a1) s)

(a smoothly broken power law; s -> 0 gives the sharp corner) and read tau and D_max off its
D(t). Uncertainties come from a parametric bootstrap of the same fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from tamkit.carrier_transport.batch_lsq import batched_least_squares
from tamkit.core.statistics import replicate_noise
from tamkit.models.msd_laws import sbpl_msd_nm2

#: Smoothness range: 0.02 is a corner, 1.5 spreads the turn over ~1.5 decades.
LOG_S_BOUNDS = (np.log(0.02), np.log(1.5))


@dataclass
class BandPeak:
    tau_fs: float
    D_max_nm2_fs: float
    msd_tau_nm2: float
    samples: np.ndarray  # bootstrap rows (tau_fs, msd_tau_nm2, D_max_nm2_fs, sigma0_sq_nm2)
    #: the fit's t -> 0 intercept: its free early exponent follows a ballistic start (MSD ~ t^2
    #: below the velocity correlation time), which a piecewise power law cannot
    sigma0_sq_nm2: float = float("nan")
    #: fitted parameters (sigma_0^2, then those of :func:`sbpl_msd_nm2`) and the window's end
    params: np.ndarray | None = None
    window_end_fs: float = float("nan")
    #: bootstrap replicates left out of ``samples`` because their D(t) maximum sat on an edge
    n_edge_replicates: int = 0

    def msd_nm2(self, delay_fs: np.ndarray) -> np.ndarray:
        """The fitted smoothly broken power law MSD (nm^2), meaningful up to ``window_end_fs``."""
        return sbpl_msd_nm2(delay_fs, *self.params[1:])


def _peak(p, t_lo, t_hi):
    grid = np.geomspace(t_lo, t_hi, 400)
    msd = sbpl_msd_nm2(grid, *p[1:])
    d = msd / (2 * grid)
    i = int(np.argmax(d))
    interior = 0 < i < grid.size - 1
    return grid[i], d[i], msd[i], interior


def _sigma_sq_batch(P, t):
    """sigma_t^2 = sigma_0^2 + SBPL MSD (B, n) of parameter rows P (B, 6) and its Jacobian."""
    s0sq, log_m, a1, a2, log_tb, log_s = (P[:, i : i + 1] for i in range(6))
    x = np.log(np.clip(t, 1e-300, None))[None, :] - log_tb  # ln(t / t_b)
    s = np.exp(log_s)
    soft = np.logaddexp(0.0, x / s) - np.log(2.0)
    turn = 0.5 * (1.0 + np.tanh(0.5 * x / s))  # logistic(x / s), d soft / d(x / s)
    msd = np.where(t > 0, np.exp(log_m + a1 * x + (a2 - a1) * s * soft), 0.0)
    jac = np.empty((P.shape[0], t.size, 6))
    jac[:, :, 0] = 1.0
    jac[:, :, 1] = msd
    jac[:, :, 2] = msd * (x - s * soft)
    jac[:, :, 3] = msd * s * soft
    jac[:, :, 4] = -msd * (a1 + (a2 - a1) * turn)
    jac[:, :, 5] = msd * (a2 - a1) * (s * soft - x * turn)
    return s0sq + msd, jac


def _fit(t, s2, err, p0, lo, hi):
    def resid(p):
        return (_sigma_sq_batch(p[None, :], t)[0][0] - s2) / err

    def jac(p):
        return _sigma_sq_batch(p[None, :], t)[1][0] / err[:, None]

    return least_squares(resid, np.clip(p0, lo + 1e-9, hi - 1e-9), jac=jac, bounds=(lo, hi),
                         x_scale="jac", max_nfev=400)


#: starts of the fit: breaks (times the piecewise fit's first break) x smoothness values
START_BREAK_FACTORS = (0.5, 0.7, 1.0, 1.4, 2.0)
START_SMOOTHNESS = (0.05, 0.3, 1.0)
#: competing minima kept for the bootstrap: within this chi^2 of the best, peaks apart by
#: more than this factor in time
BASIN_MAX_DCHI2 = 4.0
BASIN_MIN_TAU_RATIO = 1.1
MAX_BASINS = 4


def _local_minima(t, s2, err, lo, hi, sigma0_sq_nm2, msd_break_nm2, alphas, break_fs):
    """Distinct local minima (rows, best first) and their costs, from a grid of starts refined
    together by the batched solver; the best few are polished by the trust-region solver."""
    starts = []
    for factor in START_BREAK_FACTORS:
        tb = float(np.clip(break_fs * factor, np.exp(lo[4]), np.exp(hi[4])))
        msd = max(msd_break_nm2, 1e-3) * factor ** max(alphas[0], 0.0)
        for smooth in START_SMOOTHNESS:
            starts.append([sigma0_sq_nm2, np.log(msd), alphas[0], alphas[1], np.log(tb),
                           np.log(smooth)])
    starts = np.clip(np.asarray(starts), lo + 1e-9, hi - 1e-9)

    def fun(P, rows):
        sigma_sq, jac = _sigma_sq_batch(P, t)
        return (sigma_sq - s2) / err, jac / err[:, None]

    params, cost = batched_least_squares(fun, starts, lo, hi)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    polished = [_fit(t, s2, err, params[i], lo, hi) for i in np.argsort(cost)[:3]]
    params = np.vstack([params] + [r.x for r in polished])
    cost = np.concatenate([cost, [r.cost for r in polished]])
    order = np.argsort(cost)
    t_lo, t_hi = t[t > 0][0], t[-1]
    kept, kept_cost, kept_tau = [], [], []
    for i in order:
        if not np.isfinite(cost[i]) or 2 * (cost[i] - cost[order[0]]) > BASIN_MAX_DCHI2:
            break
        tau = _peak(params[i], t_lo, t_hi)[0]
        if all(max(tau / u, u / tau) > BASIN_MIN_TAU_RATIO for u in kept_tau):
            kept.append(params[i])
            kept_cost.append(cost[i])
            kept_tau.append(tau)
        if len(kept) == MAX_BASINS:
            break
    return np.asarray(kept), np.asarray(kept_cost)


def band_peak(
    delay_fs: np.ndarray,
    sigma_sq_nm2: np.ndarray,
    sigma_sq_err_nm2: np.ndarray,
    *,
    sigma0_sq_nm2: float,
    msd_break_nm2: float,
    alphas: tuple[float, float],
    break_fs: float,
    window_end_fs: float,
    n_bootstrap: int = 100,
    seed: int = 0,
    sigma_sq_common_nm2: np.ndarray | None = None,
) -> BandPeak | None:
    """Fit the smoothly broken power law on t <= ``window_end_fs``; None without an interior
    maximum of D(t) (then there is no band-like peak to report).

    Starting values come from the piecewise fit: ``sigma0_sq_nm2``, the MSD at its first
    break ``msd_break_nm2``, its first two exponents ``alphas`` and ``break_fs``.
    ``sigma_sq_common_nm2`` are the errors' common modes (see
    :func:`tamkit.carrier_transport.regimes.fit_regimes`).
    """
    t = np.asarray(delay_fs, float)
    sel = (t >= 0) & (t <= window_end_fs)
    t, s2, err = t[sel], np.asarray(sigma_sq_nm2)[sel], np.asarray(sigma_sq_err_nm2)[sel]
    common = None if sigma_sq_common_nm2 is None else np.asarray(sigma_sq_common_nm2)[sel]
    if (t > 0).sum() < 7:
        return None
    t_lo, t_hi = t[t > 0][0], t[-1]
    lo = np.array([0.0, -30.0, 0.0, -1.0, np.log(t_lo), LOG_S_BOUNDS[0]])
    hi = np.array([np.inf, 30.0, 3.0, 2.0, np.log(t_hi), LOG_S_BOUNDS[1]])
    minima, minima_cost = _local_minima(t, s2, err, lo, hi, sigma0_sq_nm2, msd_break_nm2,
                                        alphas, break_fs)
    best_x, best_cost = minima[0], minima_cost[0]
    tau, d_max, msd_tau, interior = _peak(best_x, t_lo, t_hi)
    if not interior:
        return None
    rng = np.random.default_rng(seed)
    model = best_x[0] + sbpl_msd_nm2(t, *best_x[1:])
    dof = max(t.size - 6, 1)
    scale = np.sqrt(max(1.0, 2 * best_cost / dof))
    replicas = model + scale * replicate_noise(err, n_bootstrap, rng, common=common, seed=seed)

    # every replicate is refitted from each competing minimum and keeps its best: where D(t)
    # is nearly flat, minima with the peak 100 fs apart differ by < 1 in chi^2 (simulated CQD
    # film), and a new realisation may choose either
    basins = np.clip(minima, lo + 1e-9, hi - 1e-9)
    start = np.repeat(basins, n_bootstrap, axis=0)
    replica = np.tile(np.arange(n_bootstrap), len(basins))

    def fun_basins(P, rows):
        sigma_sq, jac = _sigma_sq_batch(P, t)
        return (sigma_sq - replicas[replica[rows]]) / err, jac / err[:, None]

    params, cost = batched_least_squares(fun_basins, start, lo, hi)
    cost = np.where(np.isfinite(cost), cost, np.inf).reshape(len(basins), n_bootstrap)
    choice = np.argmin(cost, axis=0)
    params = params.reshape(len(basins), n_bootstrap, -1)[choice, np.arange(n_bootstrap)]
    rows, same_basin = [], []
    for x in params:
        bt, bd, bm, inside = _peak(x, t_lo, t_hi)
        rows.append((bt, bm, bd, x[0]))
        same_basin.append(inside)
    rows = np.asarray(rows).reshape(-1, 4)
    same_basin = np.asarray(same_basin, bool)
    # a replicate whose D(t) maximum sits on an edge of the window has no band-like peak: it is
    # another kind of solution (on the data the analysis would then report no peak), and its
    # tau (the window edge) is no sample of the peak's position
    kept = rows[same_basin] if same_basin.sum() >= max(10, n_bootstrap // 2) else rows
    return BandPeak(float(tau), float(d_max), float(msd_tau), kept,
                    float(best_x[0]), best_x.copy(), float(t_hi),
                    n_edge_replicates=int((~same_basin).sum()))
