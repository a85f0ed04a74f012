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
    best = None
    for log_s in (np.log(0.05), np.log(0.3), np.log(1.0)):
        p0 = np.array([sigma0_sq_nm2, np.log(max(msd_break_nm2, 1e-3)), alphas[0], alphas[1],
                       np.log(break_fs), log_s])
        res = _fit(t, s2, err, p0, lo, hi)
        if best is None or res.cost < best.cost:
            best = res
    tau, d_max, msd_tau, interior = _peak(best.x, t_lo, t_hi)
    if not interior:
        return None
    rng = np.random.default_rng(seed)
    model = best.x[0] + sbpl_msd_nm2(t, *best.x[1:])
    dof = max(t.size - 6, 1)
    scale = np.sqrt(max(1.0, 2 * best.cost / dof))
    replicas = model + scale * replicate_noise(err, n_bootstrap, rng, common=common, seed=seed)

    def fun(P, rows):
        sigma_sq, jac = _sigma_sq_batch(P, t)
        return (sigma_sq - replicas[rows]) / err, jac / err[:, None]

    start = np.tile(np.clip(best.x, lo + 1e-9, hi - 1e-9), (n_bootstrap, 1))
    params, _ = batched_least_squares(fun, start, lo, hi)
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
                    float(best.x[0]), best.x.copy(), float(t_hi),
                    n_edge_replicates=int((~same_basin).sum()))
