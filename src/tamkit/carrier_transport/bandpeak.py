"""The band-like peak of D(t): a smoothly broken power law fitted around the first break.

The piecewise power law (:mod:`tamkit.carrier_transport.regimes`) finds the regimes, but its
corners are sharp:
for a smooth curve such as the semiclassical band-like MSD its breakpoint sits where the slope
changes fastest, not where D(t) = MSD / 2t peaks. The band-like persistence time of the paper is
where D peaks (then length = sqrt(2 D_max tau)), so around the first break we fit

    sigma_t^2 = sigma_0^2 + M (t/t_b)^a1 [(1 + (t/t_b)^(1/s)) / 2]^((a2 - a1) s)

(a smoothly broken power law; s -> 0 gives the sharp corner) and read tau and D_max off its
D(t). Uncertainties come from a parametric bootstrap of the same fit.

The turn's shape is often not determined by the data, and tau depends on it: a smoother turn
peaks earlier. The smoothness is bounded below by the corner, so noise can only push a fitted s
up from a sharp truth (on the artificial module's corner, a free s puts tau about 0.8 errors
low on average), while on a smooth truth (the simulated film's semiclassical MSD) forcing the
corner would bias tau the other way. The corner (s at its bound) is therefore fitted as well,
and where the data do not exclude it (chi^2 within ``CORNER_MAX_DCHI2`` of the free fit) the
difference between the two peaks is reported as a systematic error of the turn's shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from tamkit.carrier_transport.batch_lsq import batched_least_squares
from tamkit.core.statistics import replicate_noise
from tamkit.models.msd_laws import sbpl_msd_nm2

#: Smoothness range: 0.005 is a corner, 1.5 spreads the turn over ~1.5 decades.
LOG_S_BOUNDS = (np.log(0.005), np.log(1.5))


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
    #: the corner fit's end of the fast regime, tau (fs), MSD(tau) (nm^2), D(tau) (nm^2/fs),
    #: where the data allow the corner (None where they exclude it or it has no turn)
    corner_end: tuple[float, float, float] | None = None
    #: chi^2 of the corner fit above the free fit
    corner_dchi2: float = float("nan")

    @property
    def shape_sys(self) -> tuple[float, float, float]:
        """Systematic errors from the turn's shape, |corner - free fit| of tau (fs), MSD(tau)
        (nm^2) and D_max (nm^2/fs); 0 where the data exclude the corner."""
        if self.corner_end is None:
            return (0.0, 0.0, 0.0)
        free = (self.tau_fs, self.msd_tau_nm2, self.D_max_nm2_fs)
        return tuple(abs(c - f) for c, f in zip(self.corner_end, free, strict=True))

    def msd_nm2(self, delay_fs: np.ndarray) -> np.ndarray:
        """The fitted smoothly broken power law MSD (nm^2), meaningful up to ``window_end_fs``."""
        return sbpl_msd_nm2(delay_fs, *self.params[1:])


def _peak(p, t_lo, t_hi):
    """tau, D(tau), MSD(tau) and whether the maximum of D(t) = MSD / 2t is interior.

    The SBPL's log-slope is a1 + (a2 - a1) L(x / s), L the logistic and x = ln(t / t_b), so
    D peaks where L = (a1 - 1) / (a1 - a2): exactly, with no grid (a grid's steps would make
    tau jump between its points, and a bootstrap of well-determined data give a zero error).
    """
    a1, a2, log_tb, log_s = p[2], p[3], p[4], p[5]
    if not a1 > 1.0 > a2:
        # D(t) rises or falls throughout: its maximum is an edge of the window
        edge = t_hi if a2 >= 1.0 else t_lo
        msd = float(sbpl_msd_nm2(np.array([edge]), *p[1:])[0])
        return edge, msd / (2 * edge), msd, False
    share = (a1 - 1.0) / (a1 - a2)
    tau = float(np.exp(log_tb + np.exp(log_s) * np.log(share / (1.0 - share))))
    msd = float(sbpl_msd_nm2(np.array([tau]), *p[1:])[0])
    return tau, msd / (2 * tau), msd, bool(t_lo < tau < t_hi)


def _corner_end(p, t_lo, t_hi):
    """tau (fs), MSD(tau) (nm^2) and D(tau) (nm^2/fs) of a corner fit, or None without a turn.

    The end of the fast regime is the corner itself, also where the early exponent is just
    below 1 (then D(t) is nearly flat before the corner rather than rising to it).
    """
    tau, d, msd, interior = _peak(p, t_lo, t_hi)
    if not interior:
        tau = float(np.exp(p[4]))
        if not (p[2] > p[3] and t_lo < tau < t_hi):
            return None
        msd = float(sbpl_msd_nm2(np.array([tau]), *p[1:])[0])
        d = msd / (2 * tau)
    return tau, msd, d


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


#: the corner's smoothness: fitted with ln s pinned there (5 free parameters)
LOG_S_CORNER = LOG_S_BOUNDS[0]
#: the data allow the corner unless its chi^2 exceeds the free fit's by more than this (about
#: 2 standard deviations for a parameter on its bound)
CORNER_MAX_DCHI2 = 4.0


def _full(P, corner):
    """Parameter rows (B, 6) from the fitted ones: the corner's lack ln s."""
    return np.hstack([P, np.full((P.shape[0], 1), LOG_S_CORNER)]) if corner else P


def _model(P, t, corner):
    sigma_sq, jac = _sigma_sq_batch(_full(P, corner), t)
    return sigma_sq, (jac[:, :, :5] if corner else jac)


def _fit(t, s2, err, p0, lo, hi, corner=False):
    def resid(p):
        return (_model(p[None, :], t, corner)[0][0] - s2) / err

    def jac(p):
        return _model(p[None, :], t, corner)[1][0] / err[:, None]

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


def _local_minima(t, s2, err, lo, hi, sigma0_sq_nm2, msd_break_nm2, alphas, break_fs,
                  corner=False, extra_starts=()):
    """Distinct local minima (rows, best first) and their costs, from a grid of starts refined
    together by the batched solver; the best few are polished by the trust-region solver.
    With ``corner`` the rows lack ln s (pinned at the corner)."""
    starts = [list(x) for x in extra_starts]
    for factor in START_BREAK_FACTORS:
        tb = float(np.clip(break_fs * factor, np.exp(lo[4]), np.exp(hi[4])))
        msd = max(msd_break_nm2, 1e-3) * factor ** max(alphas[0], 0.0)
        for smooth in (None,) if corner else START_SMOOTHNESS:
            start = [sigma0_sq_nm2, np.log(msd), alphas[0], alphas[1], np.log(tb)]
            starts.append(start if corner else [*start, np.log(smooth)])
    starts = np.clip(np.asarray(starts), lo + 1e-9, hi - 1e-9)

    def fun(P, rows):
        sigma_sq, jac = _model(P, t, corner)
        return (sigma_sq - s2) / err, jac / err[:, None]

    params, cost = batched_least_squares(fun, starts, lo, hi)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    polished = [_fit(t, s2, err, params[i], lo, hi, corner) for i in np.argsort(cost)[:3]]
    params = np.vstack([params] + [r.x for r in polished])
    cost = np.concatenate([cost, [r.cost for r in polished]])
    order = np.argsort(cost)
    t_lo, t_hi = t[t > 0][0], t[-1]
    kept, kept_cost, kept_tau = [], [], []
    for i in order:
        if not np.isfinite(cost[i]) or 2 * (cost[i] - cost[order[0]]) > BASIN_MAX_DCHI2:
            break
        tau = _peak(_full(params[i : i + 1], corner)[0], t_lo, t_hi)[0]
        if all(max(tau / u, u / tau) > BASIN_MIN_TAU_RATIO for u in kept_tau):
            kept.append(params[i])
            kept_cost.append(cost[i])
            kept_tau.append(tau)
        if len(kept) == MAX_BASINS:
            break
    return np.asarray(kept), np.asarray(kept_cost)


def _refit_replicas(t, replicas, err, basins, lo, hi):
    """Each replicate refitted from every basin; its best parameters (rows of 6)."""
    n = replicas.shape[0]
    start = np.repeat(np.clip(basins, lo + 1e-9, hi - 1e-9), n, axis=0)
    replica = np.tile(np.arange(n), len(basins))

    def fun(P, rows):
        sigma_sq, jac = _sigma_sq_batch(P, t)
        return (sigma_sq - replicas[replica[rows]]) / err, jac / err[:, None]

    params, cost = batched_least_squares(fun, start, lo, hi)
    cost = np.where(np.isfinite(cost), cost, np.inf).reshape(len(basins), n)
    choice = np.argmin(cost, axis=0)
    return params.reshape(len(basins), n, -1)[choice, np.arange(n)]


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
    args = (t, s2, err)
    starts = (sigma0_sq_nm2, msd_break_nm2, alphas, break_fs)
    minima, minima_cost = _local_minima(*args, lo, hi, *starts)
    # the free fit's minima, sharpened, start the corner too: its break and exponents are close
    corner, corner_cost = _local_minima(*args, lo[:5], hi[:5], *starts, corner=True,
                                        extra_starts=minima[:, :5])
    corner_x = _full(corner[:1], True)[0]
    if corner_cost[0] < minima_cost[0]:
        # the corner lies inside the free model's box: then it is the free fit's best minimum
        minima = np.vstack([corner_x, minima])[:MAX_BASINS]
        minima_cost = np.concatenate([corner_cost[:1], minima_cost])[:MAX_BASINS]
    best_x, best_cost = minima[0], minima_cost[0]
    tau, d_max, msd_tau, interior = _peak(best_x, t_lo, t_hi)
    if not interior:
        return None
    dof = max(t.size - 6, 1)
    scale_sq = max(1.0, 2 * best_cost / dof)
    corner_dchi2 = float(2 * (corner_cost[0] - best_cost) / scale_sq)
    corner_end = _corner_end(corner_x, t_lo, t_hi) if corner_dchi2 <= CORNER_MAX_DCHI2 else None
    rng = np.random.default_rng(seed)
    model = best_x[0] + sbpl_msd_nm2(t, *best_x[1:])
    replicas = model + np.sqrt(scale_sq) * replicate_noise(err, n_bootstrap, rng,
                                                           common=common, seed=seed)

    # every replicate is refitted from each competing minimum and keeps its best: where D(t)
    # is nearly flat, minima with the peak 100 fs apart differ by < 1 in chi^2 (simulated CQD
    # film), and a new realisation may choose either
    params = _refit_replicas(t, replicas, err, minima, lo, hi)
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
                    n_edge_replicates=int((~same_basin).sum()), corner_end=corner_end,
                    corner_dchi2=corner_dchi2)
