"""The global spatiotemporal fit: one model of every pixel of every frame.

    dT/T(x, y, t) = A_t exp(-[(x - x0_t)^2 + (y - y0_t)^2] / 2 sigma_t^2) + c_t,
    sigma_t^2 = sigma_0^2 + MSD(t; theta)

with A_t and c_t eliminated by variable projection (:mod:`tamkit.globalfit.projection`), the
centres per frame or by a drift law (:mod:`tamkit.globalfit.solver`) and MSD(t; theta) one of a
few regime models (:mod:`tamkit.globalfit.msd_models`) chosen by BIC. sigma_0, the regimes and
the band-like metrics follow with errors from the Gauss-Newton covariance
(:mod:`tamkit.globalfit.metrics`). The Fisher information of theta pools every frame, which is
why it resolves regimes that per-frame fits at the same signal-to-noise cannot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy.special import chdtrc

from tamkit.carrier_transport.results import BandLike, Regime
from tamkit.core.constants import ROOM_TEMPERATURE_K
from tamkit.core.errors import InputError
from tamkit.core.frames import FrameReader
from tamkit.core.median3x3 import median3x3_frames
from tamkit.globalfit import metrics
from tamkit.globalfit._data_sums import storage_dtype
from tamkit.globalfit.msd_models import MsdModel, candidate_models
from tamkit.globalfit.projection import SpotProjector
from tamkit.globalfit.results import GlobalFitBlock, ModelScore
from tamkit.globalfit.solver import CENTRE_MODES, Solution, solve
from tamkit.globalfit.starts import frame_centres, frame_widths, prefit

#: a pixel whose median |value - median of its 3x3 neighbours| over the frames exceeds this many
#: noise standard deviations is a camera defect (hot pixel), not signal: a smooth spot of
#: sigma >= 1 pixel differs from its neighbours' median by at most ~8 % of its peak
HOT_PIXEL_Z = 20.0
MIN_FRAMES = 8
AMPLITUDE_MODES = ("auto", "law", "per-frame")
#: AIC advantage a smooth band-like turn (SBPL) needs over the best sharp-break band-like law
SMOOTH_TURN_DAIC = 4.0
#: starts per candidate model at the pixel level (distinct first breaks, best width-level fits)
N_STARTS = 2
#: cubic B-spline coefficients of the amplitude law ln N(t) (in ln(1 + t / t_1))
AMPLITUDE_BASIS_SIZE = 6
#: the amplitude law is rejected ('auto') when its likelihood-ratio test against free
#: per-frame amplitudes gives a p-value below this
AMPLITUDE_TEST_P = 0.01


def amplitude_basis(delay_fs: np.ndarray, size: int = AMPLITUDE_BASIS_SIZE) -> np.ndarray:
    """Cubic B-spline basis (F, size) in u = ln(1 + t / t_1), t_1 the first positive delay,
    with knots evenly spaced in u: smooth on the scale of the delays' own log spacing."""
    from scipy.interpolate import BSpline

    t = np.asarray(delay_fs, float)
    pos = t[t > 0]
    uu = np.log1p(np.clip(t, 0, None) / pos[0])
    lo, hi = float(uu.min()), float(uu.max())
    inner = np.linspace(lo, hi, size - 2)
    knots = np.concatenate([[lo] * 3, inner, [hi] * 3])
    return BSpline.design_matrix(np.clip(uu, lo, hi), knots, 3).toarray()


@dataclass
class GlobalFit:
    """A finished global fit.

    Attributes
    ----------
    sigma0_nm, sigma0_err_nm : float
        Initial per-axis width and its error (nm).
    regimes : list of Regime
        Power-law regimes of the selected model.
    band_like : BandLike or None
        Band-like metrics (tau where D(t) peaks, length, D_max, mobility, n_dots).
    model : MsdModel
        The selected MSD model; ``theta`` its parameters and ``cov`` their covariance.
    solution : Solution
        Centres, amplitudes, offsets and per-frame costs at the optimum.
    delay_fs : ndarray
        Delays (fs) of the frames fitted.
    noise_std : ndarray
        Per-frame noise standard deviation (dT/T) used as weights.
    scores : list of ModelScore
        Every candidate model with its chi^2 and BIC.
    """

    sigma0_nm: float
    sigma0_err_nm: float
    regimes: list[Regime]
    band_like: BandLike | None
    model: MsdModel
    theta: np.ndarray
    cov: np.ndarray
    solution: Solution
    delay_fs: np.ndarray
    noise_std: np.ndarray
    scores: list[ModelScore]
    centre_mode: str
    n_pixels: int
    run_time_s: float
    warnings: list[str] = field(default_factory=list)
    #: every candidate model with its solution at fixed centres (model, Solution), in order
    candidates: list = field(default_factory=list, repr=False)
    #: "law" (smooth population, :func:`amplitude_basis`) or "per-frame"
    amplitude: str = "per-frame"
    #: the likelihood-ratio test of the amplitude law against free amplitudes (or None)
    amplitude_test: dict | None = None

    def msd_nm2(self, delay_fs: np.ndarray) -> np.ndarray:
        """The fitted MSD (nm^2) at ``delay_fs``."""
        return self.model.msd_nm2(delay_fs, self.theta)

    def msd_err_nm2(self, delay_fs: np.ndarray) -> np.ndarray:
        """Delta-method standard error of the fitted MSD (nm^2) at ``delay_fs``."""
        t = np.atleast_1d(np.asarray(delay_fs, float))
        jac = self.model.sigma_sq_jacobian(t, self.theta)
        jac[:, 0] = 0.0
        return np.sqrt(np.clip(np.einsum("ti,ij,tj->t", jac, self.cov, jac), 0, None))

    @property
    def chi2_red(self) -> float:
        n = self.delay_fs.size * self.n_pixels
        n_amp = (AMPLITUDE_BASIS_SIZE if self.amplitude == "law" else self.delay_fs.size)
        p = self.theta.size + self.solution.n_centre_params + self.delay_fs.size + n_amp
        return float(self.solution.chi2 / max(n - p, 1))

    def block(self) -> GlobalFitBlock:
        """The ``global_fit`` block of ``results.json``."""
        return GlobalFitBlock(
            sigma0_nm=self.sigma0_nm, sigma0_err_nm=self.sigma0_err_nm,
            regimes=list(self.regimes), band_like=self.band_like, model=self.model.name,
            centre_mode=self.centre_mode, chi2_red=self.chi2_red,
            n_frames=int(self.delay_fs.size), n_pixels=int(self.n_pixels),
            run_time_s=float(self.run_time_s), models=list(self.scores),
            amplitude=self.amplitude, amplitude_test=self.amplitude_test,
        )

    def summary(self) -> dict:
        """The headline numbers as a plain dict (keys as the top level of ``results.json``)."""
        doc = self.block().to_dict()
        return {k: doc[k] for k in ("sigma0_nm", "sigma0_err_nm", "regimes", "band_like")}


def _mask(frames: np.ndarray, mask: np.ndarray | None, noise: float) -> np.ndarray:
    good = np.all(np.isfinite(frames), axis=0)
    if mask is not None:
        good &= ~np.asarray(mask, bool)
    # per pixel, the median over frames of |frame - its 3x3 median|, in slabs of rows (each
    # with a one-row halo, so the 3x3 medians are those of the whole frame): one slab of every
    # frame in memory at a time, not a stack-sized array
    n_frames, ny, nx = frames.shape
    rows = max(1, (16 * 2**20) // (8 * n_frames * nx))
    score = np.empty((ny, nx))
    for y0 in range(0, ny, rows):
        y1 = min(ny, y0 + rows)
        lo, hi = max(0, y0 - 1), min(ny, y1 + 1)
        filled = np.where(good[None, lo:hi], frames[:, lo:hi], 0.0)
        local = np.empty_like(filled)
        median3x3_frames(filled, local)  # = scipy's median_filter(size=(1, 3, 3), "nearest")
        np.subtract(filled, local, out=local)
        np.abs(local, out=local)
        score[y0:y1] = np.median(local[:, y0 - lo : y0 - lo + (y1 - y0)], axis=0)
    return good & (score / noise < HOT_PIXEL_Z)


def _baseline_noise(frames: np.ndarray, good: np.ndarray) -> float | None:
    if frames.shape[0] < 2:
        return None
    v = frames[:, good]
    v = v - v.mean(axis=1, keepdims=True)
    return float(np.sqrt(np.mean(v * v) * v.shape[1] / max(v.shape[1] - 1, 1)))


#: the fitted window reaches this many of the widest frame's widths beyond the spot's centres
WINDOW_SIGMAS = 6.0
#: ... and at least this many pixels either side of them (background for the offset)
WINDOW_MIN_HALF_PX = 12


def spot_window(stack: xr.DataArray, fits: xr.Dataset,
                mask: np.ndarray | None = None) -> tuple[xr.DataArray, np.ndarray | None]:
    """The part of the frames that holds the spot: ``WINDOW_SIGMAS`` of the widest usable
    per-frame width around every fitted centre (the signal beyond is below 1e-7 of the peak);
    the whole frame when the window would not save a third of it.

    Pixels far from the spot carry only offset and noise, which the window's own background
    still measures; they cost memory and time in proportion to the frame (a 256 x 256 frame
    holds ~30x the pixels of a 141-nm spot's window).
    """
    _, s2, _ = frame_widths(fits)
    t = np.asarray(fits["delay"].values, float)
    cx, cy = frame_centres(fits, t[t >= 0])
    if s2.size == 0 or not np.all(np.isfinite(s2)):
        return stack, mask
    x = np.asarray(stack["x"].values, float)
    y = np.asarray(stack["y"].values, float)
    pitch = min(abs(x[1] - x[0]) if x.size > 1 else np.inf,
                abs(y[1] - y[0]) if y.size > 1 else np.inf)
    half = max(WINDOW_SIGMAS * float(np.sqrt(np.max(s2))), WINDOW_MIN_HALF_PX * pitch)
    keep_x = (x >= np.min(cx) - half) & (x <= np.max(cx) + half)
    keep_y = (y >= np.min(cy) - half) & (y <= np.max(cy) + half)
    if keep_x.sum() * keep_y.sum() > (2 / 3) * x.size * y.size:
        return stack, mask
    ix, iy = np.flatnonzero(keep_x), np.flatnonzero(keep_y)
    window = stack.isel(x=slice(ix[0], ix[-1] + 1), y=slice(iy[0], iy[-1] + 1))
    if mask is not None:
        mask = np.asarray(mask, bool)[iy[0] : iy[-1] + 1, ix[0] : ix[-1] + 1]
    return window, mask


def _robust_noise(frames: np.ndarray) -> float:
    # the difference of neighbouring pixels along x removes a smooth spot to first order
    d = np.diff(frames, axis=2)
    d = d[np.isfinite(d)]
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))


def global_fit(
    stack: xr.DataArray,
    fits: xr.Dataset | None = None,
    *,
    centre_mode: str = "per-frame",
    models: list[MsdModel] | None = None,
    pitch_nm: float | None = None,
    temperature_K: float = ROOM_TEMPERATURE_K,
    mask: np.ndarray | None = None,
    amplitude: str = "auto",
) -> GlobalFit:
    """Fit one spatiotemporal model to every pixel of every frame at t >= 0.

    Parameters
    ----------
    stack : xarray.DataArray
        dT/T with dims (delay, y, x); delay in fs, x and y in nm.
    fits : xarray.Dataset, optional
        Per-frame fits (:func:`tamkit.fit_frames`) for the starting values (widths, centres);
        computed when not given.
    centre_mode : {"per-frame", "drift", "fixed"}
        Spot centres fitted per frame (default; robust to pointing jitter), as a linear drift
        in acquisition order, or fixed at the per-frame fits' values.
    models : list of MsdModel, optional
        Candidate MSD models (default :func:`~tamkit.globalfit.msd_models.candidate_models`:
        band-like SBPL + 0-2 later breaks, piecewise power laws of 1-3 regimes).
    pitch_nm : float, optional
        Dot pitch (nm) for the band-like length in dots.
    temperature_K : float
        Temperature (K) of the Einstein mobility.
    mask : ndarray of bool, shape (y, x), optional
        True where a pixel must be ignored (non-finite and hot pixels are found here).
    amplitude : {"auto", "law", "per-frame"}
        ``per-frame``: a free amplitude per frame (projected out). ``law``: the spot integral
        follows a smooth population, ``A_t = N(t) sigma_ref^2 / sigma_t^2`` with ln N(t) a cubic
        B-spline of 6 coefficients in ln(1 + t / t_1): the peak height then carries the width
        too, which lowers the Cramer-Rao bound of tau and D_max by ~30 %. ``auto`` (default):
        the law unless a likelihood-ratio test against free amplitudes rejects it (p < 0.01).

    Returns
    -------
    GlobalFit

    Notes
    -----
    Noise: per frame, from that frame's residuals at the most flexible band-like model
    (f_t / (n_pixels - 4)), after a first pass weighted by the pre-zero frames' noise (or a
    robust estimate from pixel differences without them). chi^2 = sum_t f_t / noise_t^2 is then
    the Gaussian log-likelihood, BIC = chi^2 + p ln F (Schwarz 1978) with p the MSD model's
    parameters and F the number of frames (theta is informed through one width per frame: its
    information grows with frames, not pixels; ln of every pixel value over-penalised regimes
    and chose one power law in 29 of 30 band-like stacks at SNR 12), and the inverse
    Gauss-Newton matrix is the covariance of theta (parameters on a bound held there).
    """
    if centre_mode not in CENTRE_MODES:
        raise InputError(f"centre_mode must be one of {', '.join(CENTRE_MODES)}, "
                         f"got {centre_mode!r}")
    start = time.perf_counter()
    stack = stack.transpose("delay", "y", "x")
    delay = np.asarray(stack["delay"].values, float)
    sel = delay >= 0
    if sel.sum() < MIN_FRAMES:
        raise InputError(f"a global fit needs at least {MIN_FRAMES} frames at t >= 0")
    if fits is None:
        from tamkit.gaussfit import fit_frames

        fits = fit_frames(stack)
    stack, mask = spot_window(stack, fits, mask)
    # the frames at t >= 0 and the pre-zero ones, read apart, one file chunk of a lazy stack at
    # a time; float32 frames stay float32 (the projector sums them in float64)
    reader = FrameReader(stack)
    values = reader.read(np.flatnonzero(sel), dtype=storage_dtype(stack.dtype))
    before = reader.read(np.flatnonzero(~sel))
    del reader
    finite = np.all(np.isfinite(values), axis=0) & np.all(np.isfinite(before), axis=0)
    noise0 = _baseline_noise(before, finite)
    del before
    if noise0 is None or not noise0 > 0:
        noise0 = float(fits.attrs.get("noise_std", np.nan))
    if not (np.isfinite(noise0) and noise0 > 0):
        noise0 = _robust_noise(values)
    good = _mask(values, mask, noise0)
    t = delay[sel]
    index = np.flatnonzero(sel).astype(float)
    u = (index - index.mean()) / max(np.ptp(index) / 2, 1.0)
    projector = SpotProjector(values, stack["x"].values, stack["y"].values, good, copy=False)
    del values  # now the projector's (masked in place)
    n_pix = int(good.sum())
    ft, fs2, ferr = frame_widths(fits)
    pos = t[t > 0]
    if ft.size < 4 or pos.size < 4:
        raise InputError("too few usable per-frame fits to start a global fit")
    t_range = (float(pos[0]), float(pos[-1]))
    models = models or candidate_models(t_range)
    cx0, cy0 = frame_centres(fits, t)

    def run(model, theta0, weights, cx, cy, mode=centre_mode, rtol=1e-8):
        return solve(projector, t, u, weights, model, theta0, cx, cy, centre_mode=mode,
                     rtol=rtol)

    # pass 1: the most flexible band-like model with the a-priori noise: centres and the
    # per-frame noise
    starts = [prefit(m, ft, fs2, ferr, n_best=N_STARTS) for m in models]
    ref = max(range(len(models)), key=lambda i: (models[i].family == "sbpl", models[i].k))
    w0 = np.full(t.size, 1.0 / noise0**2)
    first = run(models[ref], starts[ref][0], w0, cx0, cy0, rtol=1e-6)
    dof = max(n_pix - 2 - (2 if centre_mode == "per-frame" else 0), 1)
    noise_t = np.sqrt(np.clip(first.projection.cost / dof, (0.1 * noise0) ** 2, None))
    weights = 1.0 / noise_t**2
    cx1, cy1 = first.centre_x_nm, first.centre_y_nm
    # more starts: each model fitted to pass 1's width curve, which pools every pixel (at SNR
    # 12 the per-frame widths alone start the pixel-level fit in a wrong basin in ~1 of 5
    # stacks), weighted by pass 1's per-frame Fisher information of the width
    s2_ref = models[ref].sigma_sq_nm2(t, first.theta)
    i_ss = first.projection.information[:, 0, 0] * weights
    with np.errstate(divide="ignore", invalid="ignore"):
        e2_ref = np.where(i_ss > 0, 2.0 * np.sqrt(s2_ref) / np.sqrt(i_ss), np.inf)
    fine = np.isfinite(e2_ref) & (e2_ref > 0)
    if fine.sum() >= 6:
        for i, m in enumerate(models):
            if i != ref:
                starts[i] = [prefit(m, t[fine], s2_ref[fine], e2_ref[fine])] + list(starts[i])
    # the amplitude law: ln N(t) = B(t) beta, a smooth population; its start from pass 1's
    # per-frame amplitudes (A_t s_t^2 / sigma_ref^2)
    basis = amplitude_basis(t, AMPLITUDE_BASIS_SIZE)
    s_ref_sq = float(first.theta[0])
    amp1 = first.projection.amplitude
    sign = 1.0 if np.sum(amp1) >= 0 else -1.0
    s1_sq = models[ref].sigma_sq_nm2(t, first.theta)
    pop = sign * amp1 * s1_sq / s_ref_sq
    use = pop > 0.05 * np.max(pop)
    beta0 = np.linalg.lstsq(basis[use] * pop[use, None], np.log(pop[use]) * pop[use],
                            rcond=None)[0]

    def run_mode(law, model, theta0, cx, cy, mode, rtol, beta=None):
        if not law:
            return run(model, theta0, weights, cx, cy, mode=mode, rtol=rtol)
        return solve(projector, t, u, weights, model, theta0, cx, cy, centre_mode=mode,
                     rtol=rtol, amplitude_basis=basis, beta0=beta0 if beta is None else beta,
                     amplitude_sign=sign, sigma_ref_sq_nm2=s_ref_sq)

    # which amplitudes: the law is nested in free per-frame amplitudes (F - K fewer
    # parameters); it is kept unless the likelihood-ratio test rejects it at AMPLITUDE_TEST_P
    if amplitude not in AMPLITUDE_MODES:
        raise InputError(f"amplitude must be one of {', '.join(AMPLITUDE_MODES)}, "
                         f"got {amplitude!r}")
    free_ref = run(models[ref], first.theta, weights, cx1, cy1, mode="fixed", rtol=1e-7)
    law_test = None
    if amplitude == "per-frame":
        law = False
    else:
        law_ref = run_mode(True, models[ref], first.theta, cx1, cy1, "fixed", 1e-7)
        d_chi2 = law_ref.chi2 - free_ref.chi2
        dof_law = t.size - basis.shape[1]
        p_law = float(chdtrc(dof_law, d_chi2))  # chi^2 survival function
        law = amplitude == "law" or p_law >= AMPLITUDE_TEST_P
        law_test = {"delta_chi2": float(d_chi2), "dof": int(dof_law), "p_value": p_law}
    # pass 2: every candidate with the centres held at pass 1's (centres and widths are
    # orthogonal for a round spot, so the comparison does not depend on it), then the chosen
    # model again with its centres free. BIC's sample size is the number of frames: every
    # frame's pixels inform theta only through that frame's width (and, with the law, its
    # peak), so theta's information grows with frames, not with pixels
    solutions, scores = [], []
    for i, model in enumerate(models):
        if i == ref:
            sol = law_ref if law else free_ref
        else:
            # every start at the pixel level (centres fixed, so cheap); the lowest chi^2 wins
            sol = min((run_mode(law, model, th0, cx1, cy1, "fixed", 1e-7) for th0 in starts[i]),
                      key=lambda so: so.chi2 if np.isfinite(so.chi2) else np.inf)
        n_par = model.n_params
        bic = sol.chi2 + n_par * np.log(t.size)
        solutions.append(sol)
        scores.append(ModelScore(model.name, int(n_par), float(sol.chi2), float(bic)))
    best = int(np.argmin([s.bic for s in scores]))
    # detection by BIC, estimation by AIC: when the BIC-best model has a band-like regime, the
    # band-like metrics come from the band-like candidate of least AIC (chi^2 + 2p). BIC's
    # ln F per parameter prefers a law with one late exponent too few, whose misfit biases
    # tau by several errors at SNR 30; AIC keeps the later breaks the data support
    if metrics.band_peak(models[best], solutions[best].theta) is not None:
        banded = [i for i, m in enumerate(models)
                  if metrics.band_peak(m, solutions[i].theta) is not None]
        aic = {i: scores[i].chi2 + 2 * scores[i].n_params for i in banded}
        best = min(banded, key=aic.get)
        # a smooth turn (SBPL) over a sharp break only when the data support it by more than
        # SMOOTH_TURN_DAIC: its smoothness is barely determined at these SNRs (the bound of tau
        # with s free is ~4x that with the break sharp) and a smooth fit of a sharp turn puts
        # the D(t) peak ~1/3 early (tau 200-235 fs for 300 at SNR 30, errors ~20 fs)
        sharp = [i for i in banded if models[i].family == "piecewise"]
        if models[best].family == "sbpl" and sharp:
            alt = min(sharp, key=aic.get)
            if aic[alt] - aic[best] < SMOOTH_TURN_DAIC:
                best = alt
    model = models[best]
    sol = solutions[best]
    if centre_mode != "fixed":
        sol = run_mode(law, model, sol.theta, cx1, cy1, centre_mode, 1e-8, beta=sol.beta)
    band = metrics.band_like(model, sol.theta, sol.cov_theta, pitch_nm=pitch_nm,
                             temperature_K=temperature_K)
    s0, s0_err = metrics.sigma0(sol.theta, sol.cov_theta)
    warn = []
    if not sol.converged:
        warn.append(f"the global fit ({model.name}) stopped before converging")
    if np.any(sol.at_bound):
        warn.append(f"the global fit's {model.name} holds {int(sol.at_bound.sum())} "
                    "parameter(s) at a bound (their errors are not propagated)")
    return GlobalFit(
        sigma0_nm=s0, sigma0_err_nm=s0_err,
        regimes=metrics.regimes(model, sol.theta, sol.cov_theta, band), band_like=band,
        model=model, theta=sol.theta, cov=sol.cov_theta, solution=sol, delay_fs=t,
        noise_std=noise_t, scores=scores, centre_mode=centre_mode, n_pixels=n_pix,
        run_time_s=time.perf_counter() - start, warnings=warn,
        candidates=list(zip(models, solutions, strict=True)),
        amplitude="law" if law else "per-frame", amplitude_test=law_test,
    )
