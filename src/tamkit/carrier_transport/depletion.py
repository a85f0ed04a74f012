"""Apparent broadening from Auger depletion of the spot centre, estimated from the data.

Auger (and any density-dependent) recombination empties the centre of the pump spot faster than
its edges, so the fitted Gaussian widens with no transport at all. Two laws for the spot
integral S(t) are fitted, each times a slow exponential, and the Bayesian information criterion
picks between them and a plain exponential (no depletion):

- *bimolecular* (a continuum, e.g. bulk or perovskite): dn/dt = -k n^2 on a 2D Gaussian
  profile gives n(r, t) = n0(r) / (1 + k n0(r) t), and with x = k n_peak t the spot integral
  falls as ln(1 + x) / x; ``kappa = k n_peak``.
- *saturating* (quantised Auger in dots): only the multiply excited dots lose carriers, within
  ~tau_XX, and then the loss stops: S(t) = S0 (1 - f (1 - exp(-t / tau_A))). At low <N_abs> the
  doubly excited dots follow n0(r)^2 (Poisson), so the depleted profile is g - 2 f(t) g^2 for a
  peak-normalised Gaussian g, which loses exactly the fraction f(t).

The depleted profile is imaged on the stack's own pixel grid and fitted with
:func:`tamkit.fit_frames`, exactly like the data, to give the artefact in the fitted MSD, with an
error from the rate's (or lost fraction's) error. Depletion acts on the carrier spot, before the
detection blur: given the carrier (pump) spot sigma, the rest of the measured sigma_0 is treated
as blur; without it the measured sigma_0 stands for the carrier spot, which overestimates the
artefact (an upper bound). The laws themselves are in :mod:`tamkit.models.depletion_laws`, shared
with the simulator, which computes the exact quantised case.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter, median_filter
from scipy.optimize import least_squares
from scipy.special import ndtr

from tamkit.core.errors import InputError
from tamkit.core.stack import make_stack, pixel_axis_nm
from tamkit.gaussfit import fit_frames
from tamkit.gaussfit.fit import SPIKE_MARGIN_Z
from tamkit.models.depletion_laws import (
    bimolecular_profile,
    bimolecular_spot_fraction,
    saturating_profile,
    saturating_spot_fraction,
)
from tamkit.models.imaging import blur_variance_nm2


def spot_integral(
    fits: xr.Dataset, stack: xr.DataArray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spot-integrated signal per frame (dT/T nm^2, sign removed) with its error.

    With the ``stack`` and frames before time zero, the integral is model-free: the pixel sum
    of each frame minus the background those frames hold (zero after
    :func:`tamkit.preprocessing.differential`),
    with the fitted Gaussian standing in for masked (NaN) pixels, isolated spikes and the spot's
    tail beyond the frame. A real spot is not exactly Gaussian (local densities spread
    differently, Auger empties the centre), and the integral of a fitted Gaussian then misses
    the true one by percents, as much as the depletion itself. Otherwise: |A| 2 pi sigma^2 of
    the fits (without a measured background the pixel sum minus the fitted offset *is* the
    fitted Gaussian's sum, a property of least squares with an offset).

    Returns ``(delay_fs, integral, integral_err)`` for frames with status ``ok`` at t > 0. The
    error is the frame's own noise; the background's error, common to every frame, is left out
    (a decay law's amplitude absorbs it).
    """
    ok = (np.asarray(fits["status"].values).astype(str) == "ok") & (fits["delay"].values > 0)
    t = fits["delay"].values[ok]
    amp = np.abs(fits["amplitude"].values[ok])
    amp_err = fits["amplitude_err"].values[ok]
    s = fits["sigma_nm"].values[ok]
    s_err = fits["sigma_err_nm"].values[ok]
    integral = amp * 2 * np.pi * s**2
    err = integral * np.hypot(amp_err / amp, 2 * s_err / s)
    background = None if stack is None else _baseline_background(stack)
    if background is None:
        return t, integral, err
    return t, *_pixel_sum_integral(fits.isel(delay=np.flatnonzero(ok)), stack, background)


def _baseline_background(stack: xr.DataArray) -> np.ndarray | None:
    """Per-pixel mean of the frames before time zero (NaN where a pixel has none), or None."""
    before = np.flatnonzero(np.asarray(stack["delay"].values) < 0)
    if before.size == 0:
        return None
    frames = np.asarray(stack.isel(delay=before).values, float)
    if not np.isfinite(frames).any():
        return None
    with warnings.catch_warnings():  # pixels dead in every baseline frame stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(frames, axis=0)


def _pixel_sum_integral(
    fits: xr.Dataset, stack: xr.DataArray, background: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pix = float(fits.attrs["pixel_nm"])
    sign = float(fits.attrs.get("signal_sign", np.sign(np.nanmean(fits["amplitude"].values))))
    x = np.asarray(stack["x"].values, float)
    y = np.asarray(stack["y"].values, float)
    spike_z = np.sqrt(2.0 * np.log(background.size)) + SPIKE_MARGIN_Z
    integral, err = np.empty(fits.sizes["delay"]), np.empty(fits.sizes["delay"])
    for k, delay in enumerate(fits["delay"].values):
        frame = np.asarray(stack.sel(delay=delay).values, float)
        a, x0, y0, sig, off = (float(fits[name].values[k]) for name in
                               ("amplitude", "x0_nm", "y0_nm", "sigma_nm", "offset"))
        gx = np.exp(-((x - x0) ** 2) / (2 * sig**2))
        gy = np.exp(-((y - y0) ** 2) / (2 * sig**2))
        model = a * gy[:, None] * gx[None, :]
        # a pixel without a baseline of its own takes the frame's fitted offset
        signal = frame - np.where(np.isfinite(background), background, off)
        residual = np.where(np.isfinite(signal), signal - model, 0.0)
        noise = _noise(fits, residual)
        # isolated spikes stand out of their neighbourhood; a smooth misfit (non-Gaussian spot)
        # does not, and stays in the sum
        spikes = np.abs(residual - median_filter(residual, size=3)) > spike_z * noise
        good = np.isfinite(signal) & ~spikes
        inside = np.where(good, signal, model).sum() * pix**2
        # the Gaussian's mass beyond the frame's outer pixel edges
        fx = np.diff(ndtr((np.array([x.min() - pix / 2, x.max() + pix / 2]) - x0) / sig))[0]
        fy = np.diff(ndtr((np.array([y.min() - pix / 2, y.max() + pix / 2]) - y0) / sig))[0]
        outside = a * 2 * np.pi * sig**2 * (1.0 - fx * fy)
        integral[k] = sign * (inside + outside)
        err[k] = pix**2 * noise * np.sqrt(good.sum())
    return integral, err


def _noise(fits: xr.Dataset, residual: np.ndarray) -> float:
    """Per-pixel noise: the fit's estimate, else the residuals' robust spread."""
    noise = float(fits.attrs.get("noise_std", np.nan))
    if np.isfinite(noise) and noise > 0:
        return noise
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))


def _decay(t, log_s0, log_kappa, inv_tau):
    bimolecular = bimolecular_spot_fraction(np.exp(log_kappa) * t)
    return np.exp(log_s0) * bimolecular * np.exp(-inv_tau * t)


def fit_depletion_rate(fits: xr.Dataset, stack: xr.DataArray | None = None) -> dict:
    """Fit S(t) = S0 exp(-t / tau) ln(1 + kappa t) / (kappa t) to the spot integral.

    With the ``stack``, the spot integral is the model-free pixel sum (:func:`spot_integral`).

    Returns
    -------
    dict
        ``kappa_per_fs`` (= k n_peak) and its error, ``tau_fs`` of the slow decay, and
        ``chi2_red``. kappa is 0 when the data show no density-dependent decay.
    """
    return _fit_bimolecular(*spot_integral(fits, stack))


def _fittable(t: np.ndarray, s: np.ndarray, err: np.ndarray, n_min: int) -> bool:
    """Enough frames, finite values with positive errors, and a positive early integral."""
    if t.size < n_min or not (np.all(np.isfinite(s)) and np.all(np.isfinite(err) & (err > 0))):
        return False
    return float(np.median(s[: max(3, t.size // 10)])) > 0


def _fit_bimolecular(t: np.ndarray, s: np.ndarray, err: np.ndarray) -> dict:
    if not _fittable(t, s, err, 5):
        return {"kappa_per_fs": float("nan"), "kappa_err_per_fs": float("nan"),
                "tau_fs": float("nan"), "chi2_red": float("nan"), "n_frames": int(t.size)}
    s0 = float(np.median(s[: max(3, t.size // 10)]))
    starts = [np.log(1e-6 / t[-1]), np.log(1.0 / t[-1]), np.log(30.0 / t[-1])]
    best = None
    for log_k in starts:
        p0 = [np.log(s0), log_k, 0.1 / t[-1]]
        res = least_squares(lambda p: (_decay(t, *p) - s) / err, p0,
                            bounds=([-np.inf, np.log(1e-12 / t[-1]), 0.0],
                                    [np.inf, np.log(1e3 / t[0]), np.inf]))
        if best is None or res.cost < best.cost:
            best = res
    dof = max(t.size - 3, 1)
    chi2_red = 2 * best.cost / dof
    try:
        cov = np.linalg.inv(best.jac.T @ best.jac) * max(chi2_red, 1.0)
        log_k_err = float(np.sqrt(cov[1, 1]))
    except np.linalg.LinAlgError:
        log_k_err = float("nan")
    kappa = float(np.exp(best.x[1]))
    if kappa * t[-1] < 1e-6:
        kappa = 0.0
    return {
        "kappa_per_fs": kappa,
        "kappa_err_per_fs": kappa * log_k_err,
        # a Python float division: a rate that underflowed to ~1e-310 gives inf, no warning
        # no decay within the window (a rate below 1e-6 per window): an infinite lifetime
        "tau_fs": (1.0 / float(best.x[2]) if best.x[2] * t[-1] > 1e-6 else float("inf")),
        "chi2_red": float(chi2_red),
        "n_frames": int(t.size),
    }


#: Sub-pixel sampling of a depleted carrier profile before its blur and pixel integration.
SUBSAMPLE = 5


def _fitted_broadening_nm2(frames_of, sigma0_nm: float, pixel_nm: float, n_pixels: int,
                           carrier_sigma_nm: float | None = None) -> np.ndarray:
    """Per-axis apparent MSD (nm^2) of profiles ``frames_of(g)`` (first frame: undepleted).

    Without ``carrier_sigma_nm`` the depleted profile is the image itself: g of sigma_0 at the
    pixel centres. With it, g is the carrier spot (that sigma) on a grid ``SUBSAMPLE`` times
    finer; the depleted profile is blurred by the Gaussian that makes up the rest of sigma_0
    (sigma_0^2 = carrier^2 + blur^2 + pixel^2 / 12) and averaged over each pixel, as imaged.
    """
    if not (np.isfinite(sigma0_nm) and sigma0_nm > 0):
        raise InputError(f"the measured sigma_0 must be a positive number of nm, got {sigma0_nm}")
    if carrier_sigma_nm is None:
        x = pixel_axis_nm(n_pixels, pixel_nm)
        g = np.exp(-(x[None, :] ** 2 + x[:, None] ** 2) / (2 * sigma0_nm**2))
        frames = frames_of(g)
    else:
        blur2 = blur_variance_nm2(sigma0_nm, carrier_sigma_nm, pixel_nm)
        if not (carrier_sigma_nm > 0 and blur2 >= 0):
            raise InputError(f"the carrier spot sigma ({carrier_sigma_nm} nm) must be positive "
                             f"and within the measured sigma_0 ({sigma0_nm:.4g} nm)")
        step = pixel_nm / SUBSAMPLE
        x = pixel_axis_nm(n_pixels * SUBSAMPLE, step)
        g = np.exp(-(x[None, :] ** 2 + x[:, None] ** 2) / (2 * carrier_sigma_nm**2))
        fine = gaussian_filter(frames_of(g), (0.0, np.sqrt(blur2) / step, np.sqrt(blur2) / step),
                               mode="constant")
        frames = fine.reshape(fine.shape[0], n_pixels, SUBSAMPLE, n_pixels, SUBSAMPLE).mean((2, 4))
    stack = make_stack(frames, np.arange(frames.shape[0], dtype=float), pixel_nm)
    sigma = fit_frames(stack, noise_std=1e-6)["sigma_nm"].values
    return sigma[1:] ** 2 - sigma[0] ** 2


def _saturating(t, log_s0, f, log_tau_a, inv_tau):
    left = saturating_spot_fraction(t, f, np.exp(log_tau_a))
    return np.exp(log_s0) * left * np.exp(-inv_tau * t)


def fit_saturating_depletion(fits: xr.Dataset, stack: xr.DataArray | None = None) -> dict:
    """Fit S(t) = S0 exp(-t / tau) (1 - f (1 - exp(-t / tau_A))) to the spot integral.

    With the ``stack``, the spot integral is the model-free pixel sum (:func:`spot_integral`).

    Returns
    -------
    dict
        ``lost_fraction`` f (0 to 0.5) and its error, ``auger_time_fs`` tau_A, ``tau_fs`` of the
        slow decay, ``chi2`` and ``n_frames``.
    """
    return _fit_saturating(*spot_integral(fits, stack))


def _fit_saturating(t: np.ndarray, s: np.ndarray, err: np.ndarray) -> dict:
    if not _fittable(t, s, err, 6):
        return {"lost_fraction": float("nan"), "lost_fraction_err": float("nan"),
                "auger_time_fs": float("nan"), "tau_fs": float("nan"), "chi2": float("nan"),
                "n_frames": int(t.size)}
    s0 = float(np.median(s[: max(3, t.size // 10)]))
    lo = [-np.inf, 0.0, np.log(max(t[0], 1.0)), 0.0]
    hi = [np.inf, 0.5, np.log(t[-1]), np.inf]
    best = None
    for log_tau_a in np.linspace(lo[2], hi[2], 5)[1:-1]:
        p0 = [np.log(s0), 0.02, log_tau_a, 0.1 / t[-1]]
        res = least_squares(lambda p: (_saturating(t, *p) - s) / err, p0, bounds=(lo, hi))
        if best is None or res.cost < best.cost:
            best = res
    chi2 = 2 * best.cost
    try:
        scale = max(chi2 / max(t.size - 4, 1), 1.0)
        cov = np.linalg.pinv(best.jac.T @ best.jac) * scale
        f_err = float(np.sqrt(cov[1, 1]))
    except np.linalg.LinAlgError:
        f_err = float("nan")
    return {"lost_fraction": float(best.x[1]), "lost_fraction_err": f_err,
            "auger_time_fs": float(np.exp(best.x[2])),
            "tau_fs": float(1 / best.x[3]) if best.x[3] > 0 else float("inf"),
            "chi2": float(chi2), "n_frames": int(t.size)}


def _plain_exponential_chi2(t: np.ndarray, s: np.ndarray, err: np.ndarray) -> float:
    s0 = float(np.median(s[: max(3, t.size // 10)]))
    res = least_squares(lambda p: (np.exp(p[0] - p[1] * t) - s) / err, [np.log(s0), 0.1 / t[-1]],
                        bounds=([-np.inf, 0.0], [np.inf, np.inf]))
    return float(2 * res.cost)


def fit_depletion_kinetics(fits: xr.Dataset, stack: xr.DataArray | None = None) -> dict:
    """The spot integral's decay law, chosen by BIC among no depletion, bimolecular, saturating.

    Returns the bimolecular fit's keys (:func:`fit_depletion_rate`), the saturating fit's
    (:func:`fit_saturating_depletion`, ``tau_fs`` of the chosen law), ``model`` ("none",
    "bimolecular", "saturating", or "unfitted" with too few frames) and ``bic`` per law.
    """
    integral = spot_integral(fits, stack)
    bi, sat = _fit_bimolecular(*integral), _fit_saturating(*integral)
    n = bi["n_frames"]
    if not np.isfinite(sat["chi2"]) or not np.isfinite(bi["chi2_red"]):
        return {**bi, **{k: v for k, v in sat.items() if k != "tau_fs"}, "model": "unfitted",
                "bic": {}}
    bic = {"none": _plain_exponential_chi2(*integral) + 2 * np.log(n),
           "bimolecular": bi["chi2_red"] * max(n - 3, 1) + 3 * np.log(n),
           "saturating": sat["chi2"] + 4 * np.log(n)}
    model = min(bic, key=bic.get)
    if model == "bimolecular" and bi["kappa_per_fs"] == 0:
        model = "none"
    tau = sat["tau_fs"] if model == "saturating" else bi["tau_fs"]
    return {**bi, **{k: v for k, v in sat.items() if k != "tau_fs"}, "tau_fs": tau,
            "model": model, "bic": bic}


def depletion_broadening_nm2(
    delay_fs: np.ndarray,
    kappa_per_fs: float,
    sigma0_nm: float,
    pixel_nm: float,
    n_pixels: int = 48,
    carrier_sigma_nm: float | None = None,
) -> np.ndarray:
    """Apparent per-axis MSD (nm^2) that bimolecular depletion puts into a fitted Gaussian width.

    The depleted profile n0 / (1 + kappa t n0 / n_peak) is imaged on a pixel grid like the
    data's and fitted with :func:`tamkit.fit_frames`; MSD_apparent = sigma_fit^2 - sigma_0^2.
    ``carrier_sigma_nm``: the carrier (pump) spot, when known; the rest of sigma_0 is then
    detection blur (see :func:`_fitted_broadening_nm2`). Default: the measured sigma_0 itself,
    an upper bound of the artefact.
    """
    x = kappa_per_fs * np.concatenate([[0.0], np.clip(np.asarray(delay_fs, float), 0, None)])
    return _fitted_broadening_nm2(lambda g: np.stack([bimolecular_profile(g, xi) for xi in x]),
                                  sigma0_nm, pixel_nm, n_pixels, carrier_sigma_nm)


def saturating_broadening_nm2(
    lost_fraction: np.ndarray,
    sigma0_nm: float,
    pixel_nm: float,
    n_pixels: int = 48,
    carrier_sigma_nm: float | None = None,
) -> np.ndarray:
    """Apparent per-axis MSD (nm^2) when the fraction ``lost_fraction`` (<= 0.5) of the carriers
    is lost with the n0^2 profile of doubly excited dots: the profile g - 2 f g^2, imaged and
    fitted (``carrier_sigma_nm`` as in :func:`depletion_broadening_nm2`)."""
    f = np.concatenate([[0.0], np.clip(np.asarray(lost_fraction, float), 0.0, 0.5)])
    return _fitted_broadening_nm2(lambda g: np.stack([saturating_profile(g, fi) for fi in f]),
                                  sigma0_nm, pixel_nm, n_pixels, carrier_sigma_nm)


def depletion_artefact(
    fits: xr.Dataset,
    sigma0_nm: float,
    stack: xr.DataArray | None = None,
    carrier_sigma_nm: float | None = None,
) -> dict:
    """Estimate the Auger-depletion broadening of a measured stack from its own kinetics.

    ``stack`` (the analysed dT/T frames) gives the kinetics a model-free spot integral;
    ``carrier_sigma_nm`` (the pump spot, when known) images the depletion through the detection
    blur that makes up the rest of ``sigma0_nm``; without it the artefact is an upper bound.

    Returns the kinetics fit (see :func:`fit_depletion_kinetics`), ``apparent_msd_nm2`` and its
    error ``apparent_msd_err_nm2`` at each of the stack's delays (0 before time zero). When no
    depletion is detected the artefact is 0 and its error is the broadening of a one-standard-
    error lost fraction of the saturating law, as if all of it were lost from t = 0.
    """
    kin = fit_depletion_kinetics(fits, stack)
    delay = np.asarray(fits["delay"].values, float)
    pixel_nm = float(fits.attrs.get("pixel_nm", 55.6))
    after = delay > 0
    apparent, err = np.zeros(delay.shape), np.zeros(delay.shape)
    if kin["model"] == "bimolecular":
        apparent[after] = depletion_broadening_nm2(delay[after], kin["kappa_per_fs"], sigma0_nm,
                                                   pixel_nm, carrier_sigma_nm=carrier_sigma_nm)
        rel = kin["kappa_err_per_fs"] / kin["kappa_per_fs"]
        err = np.abs(apparent) * (rel if np.isfinite(rel) else np.nan)
    elif kin["model"] in ("saturating", "none"):
        f, f_err, tau_a = kin["lost_fraction"], kin["lost_fraction_err"], kin["auger_time_fs"]
        if np.all(np.isfinite([f, f_err, tau_a])):
            # with no depletion detected tau_A is undetermined: bound as if the loss were over
            rise = (1.0 - np.exp(-delay[after] / tau_a) if kin["model"] == "saturating"
                    else np.ones(after.sum()))
            image = {"sigma0_nm": sigma0_nm, "pixel_nm": pixel_nm,
                     "carrier_sigma_nm": carrier_sigma_nm}
            bound = saturating_broadening_nm2(np.maximum(f_err, 0.0) * rise, **image)
            if kin["model"] == "saturating":
                apparent[after] = saturating_broadening_nm2(f * rise, **image)
            err[after] = np.abs(bound)
        else:
            err[:] = np.nan
    else:
        err[:] = np.nan
    return {**kin, "delay_fs": delay, "apparent_msd_nm2": apparent, "apparent_msd_err_nm2": err}
