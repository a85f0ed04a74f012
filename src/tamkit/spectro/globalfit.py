"""Global analysis of TA maps by variable projection: lifetimes, IRF, chirp and DAS.

The model of a map Y(t, lambda) is a sum of exponentials convolved with a Gaussian instrument
response, each started at a wavelength-dependent time zero t0(lambda) (the chirp, a polynomial):

    Y(t, lambda) = sum_j DAS_j(lambda) f(t - t0(lambda); k_j, s)  [+ offset, + coherent artifact].

Only the nonlinear parameters (log rates, log IRF width, chirp coefficients) go to the optimiser;
for given nonlinear parameters the amplitudes (decay-associated spectra) are the linear least-
squares solution at every wavelength, and the residual is the projection of the data onto the
orthogonal complement of the basis (Golub & Pereyra, SIAM J. Numer. Anal. 10, 413 (1973)). The
Jacobian is Golub and Pereyra's full one (not Kaufman's approximation, which slows convergence on
real maps whose residuals are not small), assembled from the exact derivatives of the basis in
:mod:`tamkit.models.ta_kinetics`, so one basis evaluation per iteration suffices. Standard errors
of the
nonlinear parameters come from the projected Jacobian at the optimum, which is asymptotically exact
(Golub & Pereyra 1973).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import expit

from tamkit.core.errors import InputError
from tamkit.core.tamap import validate_tamap
from tamkit.models.ta_kinetics import (
    chirp_design,
    chirp_normalisation,
    fwhm_from_sigma,
    sigma_from_fwhm,
)
from tamkit.spectro.lm import levenberg_marquardt_normal
from tamkit.spectro.varpro import SIGMA_FLOOR_FS, VarProProblem

#: A lifetime shorter than this fraction of the IRF FWHM is not determined by the data.
BELOW_IRF_FRACTION = 0.5
#: A lifetime whose relative standard error exceeds this is reported as undetermined.
MAX_RELATIVE_ERROR = 0.5
#: A lifetime longer than this multiple of the delay span is not determined (an offset).
BEYOND_WINDOW_FACTOR = 3.0
#: Two lifetimes closer than this ratio are a degenerate pair.
DEGENERATE_RATIO = 1.3
#: most exponential components a global fit takes
MAX_COMPONENTS = 10


@dataclass
class GlobalFit:
    """Result of :func:`global_fit`. Times in fs, wavelengths in nm.

    ``status`` per component: ``"ok"``; ``"below_irf"`` (faster than half the IRF FWHM: the value
    is not determined, only bounded above by the IRF); ``"undetermined"`` (relative error above
    :data:`MAX_RELATIVE_ERROR`); ``"beyond_window"`` (longer than three times the delay range:
    only bounded below); ``"degenerate"`` (two lifetimes within :data:`DEGENERATE_RATIO`:
    only their range is determined). Only ``"ok"`` lifetimes are reported as numbers
    (:meth:`lifetimes_ps`).
    """

    lifetimes_fs: np.ndarray
    lifetimes_err_fs: np.ndarray
    status: list[str]
    irf_sigma_fs: float
    irf_sigma_err_fs: float
    chirp_coeffs_fs: np.ndarray
    chirp_coeffs_err_fs: np.ndarray
    chirp_nu_center_um: float
    chirp_nu_half_um: float
    das: xr.DataArray
    fitted: xr.DataArray
    residuals: xr.DataArray
    rss: float
    n_data: int
    n_free: int
    n_evaluations: int
    fit_time_s: float
    success: bool
    message: str
    offset: bool = False
    artifact_order: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def irf_fwhm_fs(self) -> float:
        """IRF FWHM (fs)."""
        return float(fwhm_from_sigma(self.irf_sigma_fs))

    @property
    def irf_fwhm_err_fs(self) -> float:
        """Standard error of the IRF FWHM (fs)."""
        return float(fwhm_from_sigma(self.irf_sigma_err_fs))

    @property
    def rss_per_dof(self) -> float:
        """RSS per degree of freedom: an estimate of the noise variance (signal units squared),
        not a reduced chi-square (that needs the noise σ: ``spectro.json`` ``fit.chi2_reduced``)."""
        return self.rss / max(self.n_data - self.n_free, 1)

    @property
    def bic(self) -> float:
        """Bayesian information criterion n ln(RSS/n) + p ln n (lower is better)."""
        n = self.n_data
        return float(n * np.log(self.rss / n) + self.n_free * np.log(n))

    def t0_fs(self, wavelength_nm) -> np.ndarray:
        """Fitted time zero (fs) at the given wavelengths: the chirp."""
        x = chirp_design(
            np.atleast_1d(wavelength_nm),
            len(self.chirp_coeffs_fs) - 1,
            self.chirp_nu_center_um,
            self.chirp_nu_half_um,
        )
        return x @ self.chirp_coeffs_fs

    def lifetimes_ps(self) -> list[dict[str, Any]]:
        """Lifetimes as ``{value, err, status}`` in ps.

        ``value`` and ``err`` are None unless the status is ``"ok"``; an undetermined component
        carries its bound instead: ``upper_bound`` (below the IRF), ``lower_bound`` (beyond the
        window), ``range`` (degenerate pair, or relative error above 50 %: the fitted value
        +- 2 standard errors in log, or the span of the pair), plus the raw ``estimate``.
        """
        out = []
        taus, errs = self.lifetimes_fs / 1e3, self.lifetimes_err_fs / 1e3
        for j, (tau, err, st) in enumerate(zip(taus, errs, self.status, strict=True)):
            entry: dict[str, Any] = {"value": tau, "err": err, "status": st}
            if st != "ok":
                entry.update(value=None, err=None, estimate=tau)
            if st == "below_irf":
                entry["upper_bound"] = BELOW_IRF_FRACTION * self.irf_fwhm_fs / 1e3
            elif st == "beyond_window":
                entry["lower_bound"] = BEYOND_WINDOW_FACTOR * self.extras["delay_span_fs"] / 1e3
            elif st == "degenerate":
                pair = [k for k in (j - 1, j + 1)
                        if 0 <= k < len(taus) and self.status[k] == "degenerate"]
                entry["range"] = [float(min(taus[[j, *pair]])), float(max(taus[[j, *pair]]))]
            elif st == "undetermined":
                rel = err / tau if np.isfinite(err) else np.inf
                entry["range"] = [float(tau * np.exp(-2 * rel)), float(tau * np.exp(2 * rel))]
            out.append(entry)
        return out


def _initial_lifetimes(delay_fs: np.ndarray, n: int, sigma_fs: float) -> np.ndarray:
    lo = max(3.0 * sigma_fs, float(np.min(np.diff(delay_fs))) * 3.0)
    hi = max(float(delay_fs[-1]) / 3.0, 10.0 * lo)
    return np.geomspace(lo, hi, n)


def _leading_traces(values: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """The k leading left singular vectors times singular values, shape (k, n_delay).

    Randomised range finder with one power iteration (Halko, Martinsson & Tropp, SIAM Rev. 53,
    217 (2011)): exact to rounding for a map of rank <= k + 8 and far cheaper than a full SVD.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(values @ rng.normal(size=(values.shape[1], k + 8)))
    q, _ = np.linalg.qr(values @ (values.T @ q))
    ub, sv, _ = np.linalg.svd(q.T @ values, full_matrices=False)
    return np.ascontiguousarray(((q @ ub[:, :k]) * sv[:k]).T)


def _fill_masked(values: np.ndarray, delay: np.ndarray) -> np.ndarray:
    """Masked (NaN) pixels filled by linear interpolation along delay (for the SVD start only)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    out = values.copy()
    for j in np.flatnonzero(bad.any(axis=0)):
        ok = ~bad[:, j]
        out[bad[:, j], j] = np.interp(delay[bad[:, j]], delay[ok], values[ok, j]) if ok.any() else 0
    return out


def _decade_starts(lo: float, hi: float, n: int, n_random: int, seed: int) -> list[np.ndarray]:
    """Starting lifetimes across the decades from lo to hi: log-spaced sets shifted by a third
    and two thirds of their spacing, and seeded log-uniform draws over a decade wider range."""
    rng = np.random.default_rng(seed)
    edges = np.log(np.geomspace(lo, hi, n + 1))
    width = edges[1] - edges[0]
    starts = [np.exp(edges[:-1] + f * width) for f in (0.2, 0.5, 0.8)]
    starts += [np.sort(np.exp(rng.uniform(np.log(lo) - 1.2, np.log(hi) + 1.2, n)))
               for _ in range(n_random)]
    return starts


def _multistart(tamap, coeffs0, design, n_components, sigma0, taus0, offset, artifact_order,
                fit_irf, n_starts, extra_starts=(), chirp_bound=None, seed=0):
    """Best starting rates, IRF width and time-zero shift from an SVD-compressed problem.

    The map is chirp-corrected with the starting chirp and reduced to its leading singular
    traces (the least-squares problem restricted to the signal subspace), on which many starts
    cost little; the best of them starts the full fit. The starts: the given lifetimes, sets
    spread over the decades of the delay window and seeded random ones (``n_starts``), and
    ``extra_starts`` (e.g. another component number's solution with one component split).
    This makes the result independent of the user's starting values wherever the compressed
    problem has the same optimum.
    """
    from tamkit.spectro.corrections import correct_chirp

    filled = tamap.copy(data=_fill_masked(tamap.values, tamap["delay"].values))
    t0 = design @ coeffs0
    corrected = correct_chirp(filled, t0)
    delay = corrected["delay"].values
    if delay.size < n_components + 2:
        raise InputError(
            f"only {delay.size} of the {tamap.sizes['delay']} delays are measured at every "
            f"wavelength once the chirp (time zero spanning {np.ptp(t0):.0f} fs) is corrected; "
            f"{n_components} component(s) need at least {n_components + 2}: widen the delay "
            "window (--delay-range)")
    k = min(n_components + 3 + int(offset) + (artifact_order or 0), *corrected.shape)
    traces = _leading_traces(corrected.values, k, seed)
    span = _initial_lifetimes(delay, n_components, sigma0)
    lo, hi = min(taus0.min(), span[0]), max(taus0.max(), span[-1])
    starts = [taus0, span, *_decade_starts(lo, hi, n_components, n_starts, seed)]
    starts += [np.asarray(t, dtype=float) for t in extra_starts if len(t) == n_components]
    best = (np.inf, None, None)
    problem = VarProProblem(delay, np.ones((k, 1)), traces, n_components, offset,
                            artifact_order, True, np.zeros(1), fit_irf, sigma0,
                            chirp_bound_fs=chirp_bound)
    lower, upper = problem.bounds()
    for taus in starts:
        theta0 = problem.theta_from_lifetimes(taus) + ([np.log(sigma0)] if fit_irf else []) + [0.0]
        sol = levenberg_marquardt_normal(problem.normal, theta0, max_nfev=40, ftol=1e-6,
                                         lower=lower, upper=upper)
        if np.isfinite(sol.cost) and sol.cost < best[0]:
            best = (sol.cost, sol.x, problem)
    if best[1] is None:
        return taus0, sigma0, 0.0
    _, theta, problem = best
    rates, sigma, shift = problem.unpack(theta)
    return 1.0 / rates, sigma, float(shift[0])


def global_fit(
    tamap: xr.DataArray,
    n_components: int,
    *,
    lifetimes_fs=None,
    irf_fwhm_fs: float = 100.0,
    fit_irf: bool = True,
    chirp_order: int = 3,
    chirp_coeffs_fs=None,
    fit_chirp: bool = True,
    offset: bool = False,
    artifact_order: int | None = None,
    max_nfev: int = 200,
    n_starts: int = 6,
    extra_starts=(),
) -> GlobalFit:
    """Fit a TA map globally with IRF-convolved exponentials, a chirp polynomial and DAS.

    Parameters
    ----------
    tamap : DataArray (delay, wavelength)
        Background-corrected map; delay in fs, wavelength in nm. Not chirp-corrected: the chirp is
        part of the model.
    n_components : int
        Number of exponential components (each with a free rate).
    lifetimes_fs : sequence of float, optional
        Starting lifetimes (fs); default log-spaced over the delay range.
    irf_fwhm_fs : float
        Starting (or, with ``fit_irf=False``, fixed) IRF FWHM (fs).
    chirp_order : int
        Degree of the polynomial t0 in the normalised probe frequency.
    chirp_coeffs_fs : sequence of float, optional
        Starting (or fixed) chirp coefficients (fs), length ``chirp_order + 1``, in powers of
        the normalised probe frequency; see :func:`tamkit.models.ta_kinetics.chirp_design`.
        Default: from :func:`tamkit.spectro.corrections.estimate_chirp`.
    fit_chirp : bool
        Fit the chirp coefficients (else keep them fixed).
    offset : bool
        Add a non-decaying component (an IRF-broadened step).
    artifact_order : int or None
        Add a coherent artifact: the IRF Gaussian and its derivatives up to this order (0-2).
    max_nfev : int
        Maximum number of residual evaluations.
    n_starts : int
        Extra random starts (seeded, so deterministic) tried, with lifetime sets spread over the
        decades of the delay window, on the SVD-compressed, chirp-corrected map before the full
        fit; 0 fits from the given start only.
    extra_starts : sequence of sequences of float
        More starting lifetime sets (fs) for that search (e.g. a fit with one component fewer,
        with one component split in two).

    Notes
    -----
    Every nonlinear parameter is bounded: the rates by a logistic map onto [1 / (100 x delay
    span), 20 / sigma_start], the IRF width to [:data:`~tamkit.spectro.varpro.SIGMA_FLOOR_FS`,
    span / 10], the chirp coefficients to a box around their start. Masked (NaN) pixels carry no
    weight; a wavelength needs at least ``n_components + 2`` finite values.

    Returns
    -------
    GlobalFit
        Lifetimes sorted ascending with standard errors and status, IRF, chirp, DAS, fit and
        residual maps, fit statistics and timing.
    """
    from tamkit.spectro.corrections import estimate_chirp

    tamap = validate_tamap(tamap)
    if n_components < 1:
        raise InputError("the global fit needs at least one exponential component")
    if n_components > MAX_COMPONENTS:
        raise InputError(f"{n_components} components asked for; a global fit takes at most "
                         f"{MAX_COMPONENTS} (lifetimes closer than a factor ~2 cannot be told "
                         "apart in any TA map; the statistics usually support 2-5)")
    n_delays = tamap.sizes["delay"]
    if n_components + 2 > n_delays:
        raise InputError(f"{n_components} components need at least {n_components + 2} delays; "
                         f"the map has {n_delays}")
    if artifact_order is not None and artifact_order not in (0, 1, 2):
        raise InputError("artifact_order must be 0, 1, 2 or None")
    delay = tamap["delay"].values.astype(float)
    if not 0 < irf_fwhm_fs < np.ptp(delay):
        raise InputError(f"the IRF FWHM must be a positive number of fs below the delay span "
                         f"({np.ptp(delay):.4g} fs), got {irf_fwhm_fs}")
    wl = tamap["wavelength"].values.astype(float)
    y = np.ascontiguousarray(tamap.values.T, dtype=float)
    mask = np.isfinite(y)
    few = np.flatnonzero(mask.sum(axis=1) < n_components + 2)
    if few.size:
        raise InputError(f"{few.size} wavelength(s) (e.g. {wl[few[0]]:g} nm) have too few finite "
                         "values: drop them first (tamkit.spectro.corrections.mask_invalid)")
    y = np.where(mask, y, 0.0)
    center, half = chirp_normalisation(wl)
    order = chirp_order if wl.size > 1 else 0
    design = chirp_design(wl, order, center, half)
    sigma0 = float(sigma_from_fwhm(irf_fwhm_fs))
    if chirp_coeffs_fs is None:
        if wl.size > 1:
            est = estimate_chirp(tamap, order=order)
            coeffs0 = np.asarray(est.coefficients_for(center, half), dtype=float)
        else:
            coeffs0 = np.array([_edge_time_zero(delay, y[0])])
    else:
        coeffs0 = np.asarray(chirp_coeffs_fs, dtype=float)
        if coeffs0.size != order + 1:
            raise InputError(f"chirp_coeffs_fs needs {order + 1} values, got {coeffs0.size}")
    taus0 = (
        _initial_lifetimes(delay, n_components, sigma0)
        if lifetimes_fs is None
        else np.asarray(lifetimes_fs, dtype=float)
    )
    if taus0.size != n_components or np.any(taus0 <= 0):
        raise InputError("lifetimes_fs needs n_components positive values")
    start = time.perf_counter()
    sigma0 = float(np.clip(sigma0, SIGMA_FLOOR_FS, max(np.ptp(delay) / 10.0, SIGMA_FLOOR_FS)))
    t0_start = design @ coeffs0
    chirp_bound = float(min(np.ptp(delay) / 2.0,
                            max(2000.0, 3.0 * np.ptp(t0_start) + 20.0 * sigma0)))
    if (n_starts > 0 or len(extra_starts)) and fit_chirp:
        taus0, sigma0, shift = _multistart(tamap, coeffs0, design, n_components, sigma0, taus0,
                                           offset, artifact_order, fit_irf, n_starts,
                                           extra_starts, chirp_bound)
        coeffs0 = coeffs0.copy()
        coeffs0[0] += shift
    problem = VarProProblem(delay, design, y, n_components, offset, artifact_order, fit_chirp,
                            coeffs0, fit_irf, sigma0, mask=mask, chirp_bound_fs=chirp_bound)
    lower, upper = problem.bounds()
    theta0 = problem.theta_from_lifetimes(taus0)
    if fit_irf:
        theta0.append(np.log(sigma0))
    if fit_chirp:
        theta0.extend(coeffs0)
    # ftol 1e-6: a smaller relative drop of the residual sum of squares moves the parameters
    # by a small fraction of their standard errors (n_data ~ 1e5)
    sol = levenberg_marquardt_normal(problem.normal, theta0, max_nfev=max_nfev, ftol=1e-6,
                                     lower=lower, upper=upper)
    if not np.isfinite(sol.cost):
        raise InputError("the global fit found no finite model for this map (all values equal?)")
    elapsed = time.perf_counter() - start
    return _collect(tamap, problem, sol, elapsed, center, half, offset, artifact_order)


def _edge_time_zero(delay: np.ndarray, trace: np.ndarray) -> float:
    """Time zero of one trace: the delay of the steepest change (fs)."""
    grad = np.abs(np.gradient(trace, delay))
    return float(delay[int(np.argmax(grad))])


def _collect(tamap, problem, sol, elapsed, center, half, offset, artifact_order) -> GlobalFit:
    theta = sol.x
    _, jtj, _ = problem.finish(theta)
    n_w, n_t = problem.y.shape
    n_lin = problem.n_lin
    n_free = theta.size + n_w * n_lin
    rss = float(np.sum(problem.resid**2))
    n_data = int(n_w * n_t if problem.mask is None else problem.mask.sum())
    s2 = rss / max(n_data - n_free, 1)
    n = problem.n_exp
    # errors in log k (not in the logistic parameter); a rate pinned at either end of its range
    # is held fixed for the covariance (its error is infinite: it is not determined)
    p = expit(theta[:n])
    pinned = (p < 1e-3) | (p > 1 - 1e-3)
    d = np.ones(theta.size)
    d[:n] = 1.0 / np.where(pinned, 1.0, problem._cap_slope(theta[:n]))
    jtj = jtj * d[:, None] * d[None, :]
    # so is an IRF width or chirp coefficient held at its bound
    lower, upper = problem.bounds()
    tol = 1e-6 * np.maximum(1.0, np.abs(theta))
    at_bound = (theta[n:] <= lower[n:] + tol[n:]) | (theta[n:] >= upper[n:] - tol[n:])
    free = np.concatenate([~pinned, ~at_bound])
    err = np.full(theta.size, np.inf)
    try:
        cov = np.linalg.pinv(jtj[np.ix_(free, free)], rcond=1e-13) * s2
        err[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err[free] = np.nan
    rates, sigma, coeffs = problem.unpack(theta)
    taus = 1.0 / rates
    taus_err = taus * err[:n]  # d tau = tau d(log k)
    i = n
    sigma_err = sigma * err[i] if problem.fit_sigma else 0.0
    i += int(problem.fit_sigma)
    coeffs_err = err[i:] if problem.fit_chirp else np.zeros_like(coeffs)
    order = np.argsort(taus)
    fwhm = float(fwhm_from_sigma(sigma))
    delay = problem.delay
    status = []
    for k in order:
        if taus[k] < BELOW_IRF_FRACTION * fwhm:
            status.append("below_irf")
        elif taus[k] > BEYOND_WINDOW_FACTOR * (delay[-1] - delay[0]):
            status.append("beyond_window")
        elif not np.isfinite(taus_err[k]) or taus_err[k] > MAX_RELATIVE_ERROR * taus[k]:
            status.append("undetermined")
        else:
            status.append("ok")
    # two lifetimes closer than DEGENERATE_RATIO describe one decay between them: neither value
    # is determined (their amplitudes trade off), only the range they span
    sorted_taus = taus[order]
    for j in range(n - 1):
        both = (status[j], status[j + 1])
        if (sorted_taus[j + 1] < DEGENERATE_RATIO * sorted_taus[j]
                and "below_irf" not in both and "beyond_window" not in both):
            status[j] = status[j + 1] = "degenerate"
    irf_bound = None
    if problem.fit_sigma:
        if theta[n] <= lower[n] + tol[n]:
            irf_bound = "floor"
        elif theta[n] >= upper[n] - tol[n]:
            irf_bound = "ceiling"
    names = [f"tau{j + 1}" for j in range(n)]
    amp = problem.amp
    das_vals = amp[:, order].T
    extra_names = (["offset"] if offset else []) + (
        [f"artifact{m}" for m in range(artifact_order + 1)] if artifact_order is not None else []
    )
    comp = names + extra_names
    all_vals = np.concatenate([das_vals, amp[:, n:].T], axis=0)
    lifetimes_coord = np.concatenate([taus[order], np.full(len(extra_names), np.nan)])
    das = xr.DataArray(
        all_vals,
        dims=("component", "wavelength"),
        coords={"component": comp, "wavelength": tamap["wavelength"].values,
                "lifetime_fs": ("component", lifetimes_coord)},
        name="das",
    )
    fitted = tamap.copy(data=(problem.y - problem.resid).T)
    resid = tamap.copy(data=problem.resid.T)
    return GlobalFit(
        lifetimes_fs=taus[order], lifetimes_err_fs=taus_err[order], status=status,
        irf_sigma_fs=sigma, irf_sigma_err_fs=float(sigma_err), chirp_coeffs_fs=coeffs,
        chirp_coeffs_err_fs=np.asarray(coeffs_err), chirp_nu_center_um=center,
        chirp_nu_half_um=half, das=das, fitted=fitted, residuals=resid, rss=rss,
        n_data=n_data, n_free=n_free, n_evaluations=problem.n_evaluations, fit_time_s=elapsed,
        success=bool(sol.success), message=str(sol.message), offset=offset,
        artifact_order=artifact_order,
        extras={"delay_span_fs": float(delay[-1] - delay[0]), "irf_at_bound": irf_bound},
    )
