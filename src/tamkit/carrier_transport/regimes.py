"""Transport regimes: a continuous piecewise power law fitted to sigma_t^2 (nm^2).

Model (per axis)::

    sigma_t^2 = sigma_0^2 + MSD(t),   MSD(t) = M * (t / b_1)^alpha_1           for t <= b_1,
                                      continuing with exponent alpha_k between b_(k-1) and b_k.

sigma_0^2 is fitted jointly, so sigma_0 is the t -> 0 intercept of the whole early curve rather
than one noisy frame. The number of regimes (1 to ``max_regimes``) is chosen by the Bayesian
information criterion (Schwarz 1978), BIC = chi^2 + p ln n; uncertainties come from a bootstrap
of the measured curve (noise of the stated errors, scaled by sqrt(chi^2_red) when the fit is
worse than them), each replicate refitted from the best few local minima (see
:func:`_bootstrap`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from tamkit.carrier_transport.regime_profile import profile_errors
from tamkit.carrier_transport.regimes_kernel import fit_rows, sigma_sq_rows
from tamkit.core.statistics import bootstrap_error, replicate_noise
from tamkit.models.msd_laws import piecewise_power_law_msd_nm2

MIN_POINTS_PER_REGIME = 3
MIN_LOG_GAP = np.log(1.5)  # breakpoints at least a factor 1.5 apart in time
MAX_ALPHA = 3.0
#: Exponents may be negative: an apparent MSD that shrinks (hot carriers cooling, Auger
#: depletion of the centre) is data, and a bound at 0 would pin a late, noisy exponent there
#: with a bootstrap error of 0 (11 of 100 artificial stacks reported alpha_3 = 0 +- 0).
MIN_ALPHA = -1.0
#: jittered copies of every starting point, and their spread in the exponents and log breaks
N_JITTER = 4
JITTER_ALPHA = 0.15
JITTER_LOG_BREAK = 0.3
#: best compiled fits polished by the trust-region solver
N_POLISHED = 8


@dataclass
class PiecewiseFit:
    """A fitted piecewise power law with its bootstrap samples."""

    n_regimes: int
    sigma0_sq_nm2: float
    log_msd_anchor: float  # ln MSD at the first breakpoint (or at the anchor time for one regime)
    alphas: np.ndarray
    breaks_fs: np.ndarray
    anchor_fs: float
    chi2: float
    n_points: int
    bic: float
    t_range_fs: tuple[float, float]
    bootstrap: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # rows of packed params
    #: the most flexible model fitted (max regimes); sigma_0 is taken from it, because the
    #: t -> 0 intercept must not depend on how coarsely the later curve is described
    flexible: PiecewiseFit | None = None
    #: sigma_0 (nm) of the best fit of every regime count, and their weights exp(-score / 2)
    #: normalised (the information criterion's model weights, Burnham & Anderson 2002)
    sigma0_by_count_nm: np.ndarray = field(default_factory=lambda: np.empty(0))
    count_weights: np.ndarray = field(default_factory=lambda: np.empty(0))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    #: the local minima of this regime count found from all starting points (packed rows) and
    #: their chi^2: competing solutions that another noise realisation could have preferred
    minima: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    minima_chi2: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: profile-likelihood errors of the exponents and of the breaks (fs), made with the
    #: bootstrap (:mod:`tamkit.carrier_transport.regime_profile`); empty without it
    profile_alpha_err: np.ndarray = field(default_factory=lambda: np.empty(0))
    profile_break_err_fs: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: the reported errors: the larger of bootstrap and profile (replicates refitted from the
    #: best fit's basin miss how far a weakly placed break can move); NaN without a bootstrap
    alpha_err: np.ndarray = field(default_factory=lambda: np.empty(0))
    break_err_fs: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def n_params(self) -> int:
        return 2 * self.n_regimes + 1

    @property
    def chi2_red(self) -> float:
        dof = self.n_points - self.n_params
        return self.chi2 / dof if dof > 0 else np.nan

    def msd_nm2(self, delay_fs: np.ndarray) -> np.ndarray:
        """Model MSD (nm^2) at ``delay_fs``."""
        return _msd(
            np.asarray(delay_fs, float),
            self.log_msd_anchor,
            self.alphas,
            self.breaks_fs,
            self.anchor_fs,
        )

    def packed(self) -> np.ndarray:
        return _pack(self.sigma0_sq_nm2, self.log_msd_anchor, self.alphas, self.breaks_fs)

    def unpack(self, p: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        return _unpack(p, self.n_regimes)


def _msd(t, log_anchor, alphas, breaks_fs, anchor_fs):
    return piecewise_power_law_msd_nm2(t, breaks_fs, alphas, np.exp(log_anchor), anchor_fs)


def _pack(s0sq, log_anchor, alphas, breaks_fs):
    log_b = np.log(breaks_fs)
    gaps = np.diff(log_b)
    return np.concatenate([[s0sq, log_anchor], alphas, log_b[:1], gaps])


def _unpack(p, k):
    s0sq, log_anchor = p[0], p[1]
    alphas = np.asarray(p[2 : 2 + k])
    log_b = np.cumsum(p[2 + k :]) if k > 1 else np.empty(0)
    return s0sq, log_anchor, alphas, np.exp(log_b)


def _residuals(p, k, t, s2, err, anchor_fs):
    s0sq, log_anchor, alphas, breaks = _unpack(p, k)
    return (s0sq + _msd(t, log_anchor, alphas, breaks, anchor_fs) - s2) / err


def _jacobian(p, k, t, s2, err, anchor_fs):
    """Analytic Jacobian of :func:`_residuals` (the numerical one dominated the run time)."""
    return sigma_sq_rows(p[None, :], k, t, anchor_fs)[1][0] / err[:, None]


def _bounds(k, log_t_pos, s2):
    lo = [0.0, -30.0] + [MIN_ALPHA] * k
    hi = [np.inf, 30.0] + [MAX_ALPHA] * k
    if k > 1:
        lo += [log_t_pos[0]] + [MIN_LOG_GAP] * (k - 2)
        hi += [log_t_pos[-1]] + [log_t_pos[-1] - log_t_pos[0]] * (k - 2)
    return np.array(lo), np.array(hi)


def _starts(k, t, s2, anchor_fs):
    """Starting points: breakpoints on a grid of data times, with enough points per regime."""
    pos = t[t > 0]
    log_pos = np.log(pos)
    s0sq0 = float(np.min(s2[: max(3, len(s2) // 10)]))
    excess = np.clip(s2 - s0sq0, 1e-6 * max(s0sq0, 1.0), None)
    if k == 1:
        log_anchor0 = float(np.log(np.interp(anchor_fs, t, excess)))
        yield np.array([s0sq0, log_anchor0, 1.0])
        yield np.array([s0sq0, log_anchor0, 0.5])
        return
    m = MIN_POINTS_PER_REGIME
    if pos.size < k * m:
        return
    candidates = np.unique(np.quantile(log_pos[m - 1 : pos.size - m + 1], np.linspace(0, 1, 7)))
    for combo in itertools.combinations(candidates, k - 1):
        combo = np.asarray(combo)
        if np.any(np.diff(combo) < MIN_LOG_GAP):
            continue
        counts = np.diff(np.searchsorted(log_pos, np.concatenate([[-np.inf], combo, [np.inf]])))
        if np.any(counts < m):
            continue
        b = np.exp(combo)
        log_anchor0 = float(np.log(np.interp(b[0], t, excess)))
        alphas0 = np.linspace(1.0, 0.4, k)
        yield _pack(s0sq0, log_anchor0, alphas0, b)


def _split_starts(previous, k, t, anchor_fs):
    """Starts for k regimes from the best (k-1)-regime fit: each of its regimes split in two
    (at a third, half and two thirds of its span in log time), the exponents kept."""
    s0sq, log_anchor, alphas, breaks = _unpack(previous.x, k - 1)
    pos = t[t > 0]
    edges = np.log(np.concatenate([[pos[0]], breaks, [pos[-1]]]))
    for j in range(k - 1):
        for frac in (1 / 3, 1 / 2, 2 / 3):
            new = edges[j] + frac * (edges[j + 1] - edges[j])
            log_b = np.sort(np.concatenate([np.log(breaks), [new]]))
            anchor = log_anchor
            if j == 0:  # the new break is the first one: move the anchor along regime 0
                ref = np.log(breaks[0]) if breaks.size else np.log(anchor_fs)
                anchor = log_anchor + alphas[0] * (new - ref)
            yield _pack(s0sq, anchor, np.insert(alphas, j, alphas[j]), np.exp(log_b))


@dataclass
class _Solution:
    x: np.ndarray
    cost: float
    #: every local minimum found from the starting points (rows of packed parameters), with
    #: its cost: the basins a noise realisation could have chosen instead
    minima: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    minima_cost: np.ndarray = field(default_factory=lambda: np.empty(0))


def _jittered(start, k, lo, hi, rng):
    """:data:`N_JITTER` copies of every start with its exponents and log breaks perturbed."""
    copies = np.repeat(start, N_JITTER, axis=0)
    copies[:, 2 : 2 + k] += rng.normal(0.0, JITTER_ALPHA, (len(copies), k))
    if k > 1:
        copies[:, 2 + k :] += rng.normal(0.0, JITTER_LOG_BREAK, (len(copies), k - 1))
    return np.clip(copies, lo + 1e-9, hi - 1e-9)


def _fit_k(k, t, s2, err, anchor_fs, log_t_pos, previous=None):
    """The best k-regime fit over all starting points (refined together), or None."""
    lo, hi = _bounds(k, log_t_pos, s2)
    starts = list(_starts(k, t, s2, anchor_fs))
    if previous is not None:
        starts += list(_split_starts(previous, k, t, anchor_fs))
    if not starts:
        return None
    start = np.clip(np.asarray(starts), lo + 1e-9, hi - 1e-9)
    # the objective has kinks where a break crosses a delay, and a local solver stops at some
    # of them: every start and jittered copies of it are refined by the compiled solver (a
    # multistart that reached a lower minimum than one trust-region fit per start in 26 of 58
    # simulated curves, a higher one in 4, by at most 0.33 in chi^2, at a fifth of the cost),
    # and the best few are polished by the trust-region solver
    n_plain = len(start)
    start = np.vstack([start, _jittered(start, k, lo, hi, np.random.default_rng(k))])
    params, cost = fit_rows(start, k, t, anchor_fs, s2, np.zeros(len(start), int), err, lo, hi,
                            max_iter=200)
    order = np.argsort(np.where(np.isfinite(cost), cost, np.inf))[:N_POLISHED]
    polished = []
    for p0 in np.clip(params[order], lo + 1e-9, hi - 1e-9):
        res = least_squares(_residuals, p0, jac=_jacobian, bounds=(lo, hi),
                            args=(k, t, s2, err, anchor_fs), x_scale="jac", max_nfev=400)
        polished.append((res.x, res.cost))
    params = np.vstack([params, [x for x, _ in polished]])
    cost = np.append(cost, [c for _, c in polished])
    keep = np.array([np.isfinite(c) and _regimes_populated(x, k, t)
                     for x, c in zip(params, cost, strict=True)], bool)
    if not keep.any():
        return None
    i = int(np.argmin(np.where(keep, cost, np.inf)))
    # the competing minima the bootstrap refits from are those of the plain starts and the
    # best fit: the jittered and polished fits find many near-copies of the best, and taking
    # those as basins widened the errors of well-determined exponents 1.7x (40 vol% film)
    basin = np.zeros(len(params), bool)
    basin[:n_plain] = True
    basin[i] = True
    basin &= keep
    return _Solution(params[i], float(cost[i]), params[basin], cost[basin])


def _regimes_populated(p, k, t):
    if k == 1:
        return True
    _, _, _, breaks = _unpack(p, k)
    edges = np.concatenate([[0.0], breaks, [np.inf]])
    counts = np.histogram(t[t > 0], bins=edges)[0]
    return bool(np.all(counts >= MIN_POINTS_PER_REGIME))


def fit_regimes(
    delay_fs: np.ndarray,
    sigma_sq_nm2: np.ndarray,
    sigma_sq_err_nm2: np.ndarray,
    *,
    max_regimes: int = 5,
    n_bootstrap: int = 200,
    seed: int = 0,
    criterion: str = "bic",
    sigma_sq_common_nm2: np.ndarray | None = None,
) -> PiecewiseFit:
    """Fit sigma_t^2 = sigma_0^2 + piecewise power-law MSD, choosing the number of regimes by BIC.

    Parameters
    ----------
    delay_fs : ndarray
        Delays (fs) of usable frames, t >= 0 (a frame at t = 0 pins sigma_0^2).
    sigma_sq_nm2, sigma_sq_err_nm2 : ndarray
        Fitted per-axis variance sigma_t^2 (nm^2) and its standard error.
    max_regimes : int
        Largest number of regimes tried. The paper's films show three; more let the fit
        follow later structure (Auger-assisted rise, plateaus) without merging early regimes.
    n_bootstrap : int
        Parametric bootstrap replicates for the uncertainties (0 to skip).
    seed : int
        Seed of the bootstrap generator.
    sigma_sq_common_nm2 : ndarray (n, m), optional
        Common modes of the sigma_t^2 errors (nm^2): the part ``modes @ u`` that all points
        share (a subtracted baseline, :mod:`tamkit.gaussfit.common_noise`). The bootstrap then
        draws it once per replicate, and the points' own noise from what is left of their errors.

    Returns
    -------
    PiecewiseFit
    """
    t = np.asarray(delay_fs, float)
    s2 = np.asarray(sigma_sq_nm2, float)
    err = np.asarray(sigma_sq_err_nm2, float)
    order = np.argsort(t)
    t, s2, err = t[order], s2[order], err[order]
    common = None if sigma_sq_common_nm2 is None else np.asarray(sigma_sq_common_nm2, float)[order]
    pos = t[t > 0]
    if pos.size < 2:
        raise ValueError("need at least two frames after time zero to fit transport regimes")
    anchor_fs = float(np.exp(np.mean(np.log(pos))))
    log_t_pos = np.log(pos)
    fits = []
    previous = None
    for k in range(1, max_regimes + 1):
        res = _fit_k(k, t, s2, err, anchor_fs, log_t_pos, previous)
        previous = res
        if res is None:
            continue
        chi2 = 2.0 * res.cost
        n_par = 2 * k + 1
        if t.size <= n_par:
            continue
        fits.append((information_criterion(chi2, n_par, t.size, criterion), k, res, chi2))
    if not fits:
        raise ValueError("no regime model could be fitted to these frames")
    chosen = min(fits, key=lambda f: f[0])
    fit = _make_fit(chosen, t, s2, err, anchor_fs, pos, n_bootstrap, seed, common)
    flexible = max(fits, key=lambda f: f[1])
    fit.flexible = fit if flexible[1] == fit.n_regimes else _make_fit(
        flexible, t, s2, err, anchor_fs, pos, n_bootstrap, seed + 1, common
    )
    scores = np.array([f[0] for f in fits])
    fit.count_weights = np.exp(-0.5 * (scores - scores.min()))
    fit.count_weights /= fit.count_weights.sum()
    fit.sigma0_by_count_nm = np.sqrt(np.clip([f[2].x[0] for f in fits], 0.0, None))
    fit.counts = np.array([f[1] for f in fits], int)
    return fit


def sigma0_count_systematic_nm(fit: PiecewiseFit) -> float:
    """How far sigma_0 (nm) moves with one regime more than the information criterion chose:
    the intercept's systematic error from the regime model's flexibility (0 when the chosen
    count has no break, or no larger count was fitted).

    A curve that no piecewise power law matches exactly (a smooth band-like MSD under an
    Auger-like excess) has an intercept that depends on the count: on the fluence series of
    benchmarks/calibration.py, 3-regime fits put sigma_0 1-2 nm below the truth and 4-regime
    fits on it, while BIC chose 3 with weight > 0.9 in 30 % of the realisations, so the weighted
    spread of :func:`sigma0_model_spread_nm` missed it (pull SD 1.25 over 100; with this
    systematic added in quadrature, 1.01).
    """
    if fit.n_regimes < 2:
        return 0.0
    chosen = np.flatnonzero(fit.counts == fit.n_regimes)
    more = np.flatnonzero(fit.counts == fit.n_regimes + 1)
    if not chosen.size or not more.size:
        return 0.0
    return float(abs(fit.sigma0_by_count_nm[more[0]] - fit.sigma0_by_count_nm[chosen[0]]))


def sigma0_model_spread_nm(fit: PiecewiseFit, sigma0_nm: float) -> float:
    """The spread of sigma_0 (nm) over the regime counts about ``sigma0_nm``, weighted by the
    information criterion's model weights: the model-selection part of sigma_0's error.

    sigma_0 is the t -> 0 intercept, and where the data admit 3, 4 or 5 regimes about equally
    the intercept moves with the count, which no fit of one count sees. Added in quadrature to
    its error (Buckland et al. 1997's unconditional variance), it brought sigma_0's pull SD
    from 1.43 to 1.05 on fits tables with an Auger-like excess (60 realisations), and from 1.02
    to 0.94 where one count is clearly best. Only counts with a break take part: one power law
    over all delays has no early regime of its own, and its intercept says how coarsely the
    late curve is described, not where it starts (at a peak SNR of 5, where BIC picks one
    regime, including it doubled sigma_0's error: pull SD 0.58 over 30 stacks; without, 0.80).
    """
    with_break = fit.counts >= 2
    total = float(fit.count_weights[with_break].sum()) if with_break.any() else 0.0
    if total <= 0.0:
        return 0.0
    weights = fit.count_weights[with_break] / total
    return float(np.sqrt(np.sum(weights * (fit.sigma0_by_count_nm[with_break] - sigma0_nm) ** 2)))


def _make_fit(entry, t, s2, err, anchor_fs, pos, n_bootstrap, seed, common=None) -> PiecewiseFit:
    score, k, res, chi2 = entry
    s0sq, log_anchor, alphas, breaks = _unpack(res.x, k)
    fit = PiecewiseFit(k, float(s0sq), float(log_anchor), alphas, breaks, anchor_fs, float(chi2),
                       int(t.size), float(score), (float(pos[0]), float(pos[-1])),
                       minima=res.minima, minima_chi2=2.0 * res.minima_cost)
    fit.alpha_err, fit.break_err_fs = np.full(k, np.nan), np.full(k - 1, np.nan)
    if n_bootstrap:
        fit.bootstrap = _bootstrap(fit, res.x, t, s2, err, n_bootstrap, seed, common)
        rows = [_unpack(p, k) for p in fit.bootstrap]
        boot_alpha = np.array([bootstrap_error(r[2][m] for r in rows) for m in range(k)])
        boot_break = np.array([bootstrap_error(r[3][j] for r in rows) for j in range(k - 1)])
        boot_log_break = np.array([bootstrap_error(np.log(r[3][j]) for r in rows)
                                   for j in range(k - 1)])
        lo, hi = _bounds(k, np.log(pos), s2)
        fit.profile_alpha_err, fit.profile_break_err_fs = profile_errors(
            np.clip(res.x, lo, hi), k, t, s2, err, anchor_fs, lo, hi, float(chi2),
            fit.chi2_red, boot_alpha, boot_log_break, MIN_LOG_GAP)
        fit.alpha_err = _larger(boot_alpha, fit.profile_alpha_err)
        fit.break_err_fs = _larger(boot_break, fit.profile_break_err_fs)
    return fit


def _larger(boot_err: np.ndarray, profile_err: np.ndarray) -> np.ndarray:
    """Element-wise the larger of two errors, either where the other is NaN."""
    return np.where(np.isnan(boot_err), profile_err,
                    np.where(np.isnan(profile_err), boot_err, np.maximum(boot_err, profile_err)))


#: local minima (the best and the next distinct ones) each bootstrap replicate is refitted from
N_BOOTSTRAP_BASINS = 4


def _distinct_minima(fit, p_best, limit):
    order = np.argsort(fit.minima_chi2) if fit.minima.size else []
    kept = [np.asarray(p_best, float)]
    for i in order:
        if len(kept) >= limit:
            break
        x = fit.minima[i]
        if all(np.max(np.abs(x - u)) > 1e-3 * (1 + np.max(np.abs(u))) for u in kept):
            kept.append(x)
    return np.asarray(kept)


def _bootstrap(fit, p_best, t, s2, err, n, seed, common=None):
    """Bootstrap replicates of the fit: the measured curve plus noise of its stated errors,
    each refitted from the best fit and the next distinct local minima, the best one kept.

    Replicates of the measured curve (not of the fitted model) keep the real curve's shape: on
    a smooth MSD the breaks of a piecewise power law are weakly placed, and a noise realisation
    can move a break to another delay (another local minimum). Replicates of the sharp fitted
    model, refitted from the best fit alone, missed both and gave errors 1.5-3x too small for
    the exponents and breaks of the simulated CQD film (benchmarks/calibration.py).
    """
    rng = np.random.default_rng(seed)
    k = fit.n_regimes
    scale = np.sqrt(max(1.0, fit.chi2_red if np.isfinite(fit.chi2_red) else 1.0))
    lo, hi = _bounds(k, np.log(t[t > 0]), s2)
    replicas = s2 + scale * replicate_noise(err, n, rng, common=common, seed=seed)
    basins = np.clip(_distinct_minima(fit, p_best, N_BOOTSTRAP_BASINS), lo + 1e-9, hi - 1e-9)
    replica_of = np.tile(np.arange(n), len(basins))  # basin-major: row = basin * n + replica

    params, cost = fit_rows(np.repeat(basins, n, axis=0), k, t, fit.anchor_fs, replicas,
                            replica_of, err, lo, hi)
    populated = np.array([_regimes_populated(x, k, t) for x in params], bool)
    cost = np.where(populated & np.isfinite(cost), cost, np.inf).reshape(len(basins), n)
    best = np.argmin(cost, axis=0)
    samples = params.reshape(len(basins), n, -1)[best, np.arange(n)]
    return samples[np.isfinite(cost[best, np.arange(n)])]


def information_criterion(chi2: float, n_params: int, n_points: int, criterion: str) -> float:
    """BIC = chi^2 + p ln n (Schwarz 1978) or AICc = chi^2 + 2p + 2p(p+1)/(n-p-1) (Hurvich & Tsai
    1989), for Gaussian errors with known variances (chi^2 = -2 ln L + const)."""
    if criterion == "bic":
        return chi2 + n_params * np.log(n_points)
    if criterion == "aicc":
        return chi2 + 2 * n_params + 2 * n_params * (n_params + 1) / max(n_points - n_params - 1, 1)
    raise ValueError(f"unknown model-selection criterion {criterion!r} (use 'bic' or 'aicc')")


def classify_exponent(alpha: float, alpha_err: float) -> str:
    """'super-diffusive', 'diffusive' or 'sub-diffusive', by alpha vs 1 at two standard errors."""
    tol = max(2.0 * alpha_err, 0.05)
    if alpha > 1.0 + tol:
        return "super-diffusive"
    if alpha < 1.0 - tol:
        return "sub-diffusive"
    return "diffusive"
