"""From per-frame Gaussian fits to transport.

sigma_0, MSD(t), D(t), alpha(t), regimes and band-like metrics.

The flow is ``fit_frames -> transport``: this module never looks at images, only at the table of
fitted widths (one row per delay, as returned by :func:`tamkit.gaussfit.fit_frames`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from tamkit.carrier_transport.band_like import band_like_metrics, is_band_like
from tamkit.carrier_transport.bandpeak import BandPeak
from tamkit.carrier_transport.msd import (
    diffusivity_cm2_s,
    local_exponent,
    msd_from_sigma,
    transport_length_nm,
)
from tamkit.carrier_transport.regimes import (
    PiecewiseFit,
    classify_exponent,
    fit_regimes,
    sigma0_count_systematic_nm,
    sigma0_model_spread_nm,
)
from tamkit.carrier_transport.results import (  # noqa: F401  (re-exported: the result types)
    Anisotropy,
    BandLike,
    Regime,
    RegimeModel,
    TransportParameters,
)
from tamkit.core.constants import (
    ROOM_TEMPERATURE_K,
)
from tamkit.core.errors import InputError
from tamkit.core.outputs import format_delay
from tamkit.core.statistics import bootstrap_error
from tamkit.gaussfit import FILLS_FRAME, OPPOSITE_SIGN

if TYPE_CHECKING:
    from tamkit.globalfit.results import GlobalFitBlock
    from tamkit.moments import Gaussianity

#: Method used for sigma_0, stated in every result.
SIGMA0_METHOD_BAND = (
    "t -> 0 intercept of the smoothly broken power law fitted over the band-like regime "
    "(sigma_t^2 = sigma_0^2 + MSD with a free early exponent, which follows the ballistic start "
    "MSD ~ t^2 that a single power law from t = 0 would turn into a ~1 % low sigma_0); error "
    "from a parametric bootstrap"
)
SIGMA0_METHOD = (
    "t -> 0 intercept of a joint fit sigma_t^2 = sigma_0^2 + piecewise power-law MSD(t) over all "
    "usable frames at t >= 0, with the most flexible regime model tried (so that the intercept "
    "does not depend on how many regimes the later curve is split into); error from a "
    "parametric bootstrap"
)
MIN_USABLE_FRAMES = 4


@dataclass
class TransportResult:
    """Everything :func:`transport` finds; :mod:`tamkit.reporting.analysis_report` writes it out."""

    frames: xr.Dataset
    sigma0_nm: float
    sigma0_err_nm: float
    regimes: list[Regime]
    band_like: BandLike | None
    anisotropy: Anisotropy
    parameters: TransportParameters
    model: PiecewiseFit
    warnings: list[str] = field(default_factory=list)
    #: the smoothly broken power law of the band-like regime, when fitted (sigma_0 comes from it)
    early_fit: BandPeak | None = None
    #: the Gaussian-spot check of :func:`tamkit.moments.check_gaussianity`, when it ran
    gaussianity: Gaussianity | None = None
    #: the global spatiotemporal fit's block of ``results.json``, when one was run
    global_fit: GlobalFitBlock | None = None
    #: sigma_0's systematic error (nm) from the regime count (reported beside, not in, the error)
    sigma0_sys_nm: float = 0.0

    def model_msd_nm2(self, delay_fs: np.ndarray) -> np.ndarray:
        """The fitted MSD curve (nm^2) on the reported sigma_0: model sigma_t^2 - sigma_0^2.

        The band-like fit over its window (it follows the ballistic start), the piecewise
        regime fit after it; each carries its own intercept, so both are put on sigma_0.
        """
        t = np.asarray(delay_fs, float)
        late = self.model.sigma0_sq_nm2 + self.model.msd_nm2(t) - self.sigma0_nm**2
        if self.early_fit is None:
            return late
        early = self.early_fit.sigma0_sq_nm2 + self.early_fit.msd_nm2(t) - self.sigma0_nm**2
        # hand over from one fit to the other over the window's last factor 1.5 in time, so
        # that the curve has no step where both describe the same frames
        end = self.early_fit.window_end_fs
        with np.errstate(divide="ignore"):
            w = np.clip(np.log(np.clip(t, 1e-300, None) * 1.5 / end) / np.log(1.5), 0.0, 1.0)
        return (1.0 - w) * early + w * late

    def summary(self) -> dict:
        """The headline numbers as a plain dict."""
        return {
            "sigma0_nm": self.sigma0_nm,
            "sigma0_err_nm": self.sigma0_err_nm,
            "regimes": [asdict(r) for r in self.regimes],
            "band_like": asdict(self.band_like) if self.band_like else None,
        }


def transport(
    fits: xr.Dataset,
    *,
    pitch_nm: float | None = None,
    temperature_K: float = ROOM_TEMPERATURE_K,
    max_regimes: int = 5,
    n_bootstrap: int = 200,
    seed: int = 0,
    width_common_modes_nm: np.ndarray | None = None,
) -> TransportResult:
    """Transport analysis of per-frame fits.

    Parameters
    ----------
    fits : xarray.Dataset
        Output of :func:`tamkit.fit_frames` (dim ``delay`` in fs; ``sigma_nm``, ``sigma_err_nm``,
        ``status``...). Only frames with status ``ok`` at delay >= 0 enter the fits.
    pitch_nm : float, optional
        Dot-to-dot pitch (nm) to express the band-like length as a number of dots. Taken from
        ``fits.attrs['pitch_nm']`` when not given.
    temperature_K : float
        Lattice temperature for the Einstein mobility mu = e D / k_B T (default 300 K).
    max_regimes : int
        Largest number of power-law regimes considered (chosen by BIC).
    n_bootstrap : int
        Bootstrap replicates for uncertainties.
    seed : int
        Seed for the bootstrap.
    width_common_modes_nm : ndarray (n_delay, m), optional
        The part of the width errors that all frames share (nm; covariance
        ``modes @ modes.T``), from a subtracted baseline
        (:func:`tamkit.gaussfit.common_noise.baseline_common_modes`). The bootstraps draw it
        once per replicate, so that sigma_0, which pools many frames, carries it.

    Returns
    -------
    TransportResult

    Notes
    -----
    Per-axis convention: MSD = sigma_t^2 - sigma_0^2, D(t) = MSD / 2t (Liu et al. 2021, after
    Akselrod et al., Nano Lett. 14, 3556 (2014)). The band-like regime is the first regime when
    its exponent is at least diffusive (alpha >= 1 within two standard errors); its persistence
    tau is the breakpoint where MSD turns sub-linear, i.e. where D(t) peaks, so that
    length = sqrt(MSD(tau)) = sqrt(2 D_max tau).
    """
    if not np.isfinite(temperature_K) or temperature_K <= 0:
        raise InputError(f"temperature must be a positive number of kelvin, got {temperature_K}")
    if pitch_nm is None:
        pitch_nm = fits.attrs.get("pitch_nm")
    if pitch_nm is not None and (not np.isfinite(float(pitch_nm)) or float(pitch_nm) <= 0):
        raise InputError(f"pitch must be a positive number of nm, got {pitch_nm}")
    delay = np.asarray(fits["delay"].values, float)
    status = np.asarray(fits["status"].values).astype(str)
    sigma = np.asarray(fits["sigma_nm"].values, float)
    sigma_err = np.asarray(fits["sigma_err_nm"].values, float)
    usable = (status == "ok") & (delay >= 0) & np.isfinite(sigma) & np.isfinite(sigma_err)
    usable &= sigma_err > 0
    if usable.sum() < MIN_USABLE_FRAMES:
        n_after = int(np.sum(delay >= 0))
        if n_after < MIN_USABLE_FRAMES:
            raise InputError(
                f"the stack has {n_after} frame(s) at delays >= 0 (of {delay.size}); the "
                f"spreading needs at least {MIN_USABLE_FRAMES} (is this one image, or are "
                "the delays or time zero wrong?)")
        reasons = np.asarray(fits["reason"].values).astype(str)[(delay >= 0) & ~usable]
        raise InputError(
            f"only {int(usable.sum())} of the {n_after} frames after time zero have a usable "
            f"fit (need {MIN_USABLE_FRAMES}): {_unusable_summary(reasons)}"
        )
    warnings: list[str] = []
    _warn_left_out_frames(fits, delay, status, warnings)
    common = _common_modes_sigma_sq(width_common_modes_nm, sigma, usable)
    model = fit_regimes(
        delay[usable],
        sigma[usable] ** 2,
        2 * sigma[usable] * sigma_err[usable],
        max_regimes=max_regimes,
        n_bootstrap=n_bootstrap,
        seed=seed,
        sigma_sq_common_nm2=common,
    )
    if np.isfinite(model.chi2_red) and model.chi2_red > 3:
        warnings.append(
            f"the piecewise power law fits σₜ²(t) with reduced χ² = {model.chi2_red:.1f}: "
            "regime exponents are effective values"
        )
    regimes = _regimes(model)
    if max_regimes > 1 and len(regimes) == max_regimes:
        warnings.append(
            f"BIC chose the largest allowed number of regimes ({max_regimes}): the MSD holds more "
            "structure than the model allows, or the fit follows noise; compare with fewer "
            "regimes (--max-regimes)"
        )
    data = (delay[usable], sigma[usable] ** 2, 2 * sigma[usable] * sigma_err[usable])
    band, early_sigma0 = band_like_metrics(model, regimes, pitch_nm, temperature_K, warnings,
                                           data, seed, common)
    if band is not None and not band.ends_within_data:
        warnings.append("the band-like regime does not end within the measured delays")
    sigma0, sigma0_err, early_fit = early_sigma0 or (*_sigma0(model), None)
    # the intercept's model-selection error: its spread over the regime counts
    sigma0_err = float(np.hypot(sigma0_err, sigma0_model_spread_nm(model, sigma0)))
    sigma0_sys = sigma0_count_systematic_nm(model)
    if np.isfinite(sigma0) and sigma0 < MIN_OPTICAL_SIGMA0_NM:
        warnings.append(
            f"sigma_0 = {sigma0:.3g} nm is below any optical pump spot (the diffraction limit "
            f"gives sigma >= ~{MIN_OPTICAL_SIGMA0_NM:g} nm even at 250 nm and NA 1.4): is the "
            "pixel size in nm, and is the spot inside the frame?")
    msd, msd_err = msd_from_sigma(sigma, sigma_err, sigma0, sigma0_err)
    msd = np.where(delay >= 0, msd, np.nan)
    length, length_err = transport_length_nm(msd, msd_err)
    d, d_err = diffusivity_cm2_s(msd, msd_err, delay)
    alpha = np.full(delay.shape, np.nan)
    alpha[usable] = local_exponent(delay[usable], msd[usable], msd_err[usable])
    frames = fits.copy()
    for name, values, units in [
        ("msd_nm2", msd, "nm^2"),
        ("msd_err_nm2", msd_err, "nm^2"),
        ("length_nm", length, "nm"),
        ("length_err_nm", length_err, "nm"),
        ("D_cm2_s", d, "cm^2/s"),
        ("D_err_cm2_s", d_err, "cm^2/s"),
        ("alpha_local", alpha, ""),
    ]:
        frames[name] = ("delay", values, {"units": units})
    anisotropy = _anisotropy(fits, usable, warnings, {
        "pitch_nm": pitch_nm, "temperature_K": temperature_K, "max_regimes": max_regimes,
        "n_bootstrap": n_bootstrap, "seed": seed})
    return TransportResult(
        frames=frames,
        sigma0_nm=sigma0,
        sigma0_err_nm=sigma0_err,
        sigma0_sys_nm=sigma0_sys,
        regimes=regimes,
        band_like=band,
        anisotropy=anisotropy,
        parameters=TransportParameters(
            pitch_nm=None if pitch_nm is None else float(pitch_nm),
            temperature_K=float(temperature_K),
            max_regimes=int(max_regimes),
            n_bootstrap=int(n_bootstrap),
            seed=int(seed),
            sigma0_method=SIGMA0_METHOD_BAND if early_sigma0 else SIGMA0_METHOD,
            n_frames_used=int(usable.sum()),
            chi2_red=float(model.chi2_red),
            common_error=None if common is None else COMMON_ERROR_NOTE,
        ),
        model=model,
        warnings=warnings,
        early_fit=early_fit,
    )


#: words of the per-frame reasons that mean the spot does not fit in the field of view
_FIELD_WORDS = ("fills the frame", "exceeds the frame", "degenerate", "outside the frame")


def _unusable_summary(reasons: np.ndarray) -> str:
    """Why the frames after time zero are unusable: the three commonest reasons (numbers
    dropped) with counts, then what to check: the field of view when the reasons are about the
    spot's size, the signal when it is too weak."""
    kinds = [re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?", "#", r.split(":")[0]).strip() or "no fit"
             for r in reasons]
    common = Counter(kinds).most_common()
    text = ", ".join(f"{n} {kind}" for kind, n in common[:3])
    field = sum(n for kind, n in common if any(w in kind for w in _FIELD_WORDS))
    weak = sum(n for kind, n in common if "too weak" in kind)
    if field and field >= weak:
        return text + ("; is the spot larger than the field of view (image a wider field, or "
                       "check the pixel size)?")
    return text + "; is there signal above the noise?"


def _warn_left_out_frames(fits, delay, status, warnings):
    if "reason" not in fits:
        return
    reason = np.asarray(fits["reason"].values).astype(str)
    filled = (status == "excluded") & np.char.startswith(reason, FILLS_FRAME)
    if filled.any():
        warnings.append(
            f"{FILLS_FRAME} from {format_delay(float(delay[filled].min()))} on: "
            f"{int(filled.sum())} frames left out (their widths would be biased low); a larger "
            "field of view keeps them"
        )
    flipped = (delay >= 0) & np.char.startswith(reason, OPPOSITE_SIGN)
    if flipped.any():
        warnings.append(
            f"{int(flipped.sum())} frames from {format_delay(float(delay[flipped].min()))} hold "
            "a significant signal of the opposite sign to the stack's and are left out (a "
            "sign change of the response, e.g. bleach to photoinduced absorption, needs its "
            "own analysis)"
        )


COMMON_ERROR_NOTE = (
    "the subtracted baseline's noise, shared by every frame: drawn once per bootstrap "
    "replicate (tamkit.gaussfit.common_noise)"
)


def _common_modes_sigma_sq(modes, sigma, usable):
    """Common modes of the sigma_t^2 errors (nm^2) of the usable frames, or None."""
    if modes is None:
        return None
    modes = np.asarray(modes, float)
    if modes.ndim != 2 or modes.shape[0] != sigma.size:
        raise InputError(f"common modes must have one row per frame ({sigma.size}), "
                         f"got shape {modes.shape}")
    return 2.0 * sigma[usable, None] * modes[usable]


def _sigma0(model: PiecewiseFit) -> tuple[float, float]:
    model = model.flexible or model
    sigma0 = float(np.sqrt(max(model.sigma0_sq_nm2, 0.0)))
    if model.bootstrap.size:
        s = np.sqrt(np.clip(model.bootstrap[:, 0], 0, None))
        return sigma0, bootstrap_error(s)
    return sigma0, float("nan")


#: the narrowest optical pump spot (nm, Gaussian sigma): an Airy core's sigma ~ 0.21 lambda / NA
#: is 37.5 nm for a 250 nm pump at NA 1.4; a narrower sigma_0 is a unit or geometry error
MIN_OPTICAL_SIGMA0_NM = 35.0


def _regimes(model: PiecewiseFit) -> list[Regime]:
    edges = np.concatenate([[model.t_range_fs[0]], model.breaks_fs, [model.t_range_fs[1]]])
    alpha_errs = [float(e) for e in model.alpha_err]
    break_errs = [float(e) for e in model.break_err_fs]
    edge_errs = [float("nan"), *break_errs, float("nan")]
    names: list[str] = []
    for k in range(model.n_regimes):
        name = classify_exponent(model.alphas[k], alpha_errs[k])
        if k == 0 and is_band_like(model, alpha_errs[0]):
            name = "band-like"
        count = sum(n.startswith(name) for n in names)
        names.append(name if count == 0 else f"{name} {count + 1}")
    return [
        Regime(names[k], float(edges[k]), float(edges[k + 1]), float(model.alphas[k]),
               alpha_errs[k], edge_errs[k], edge_errs[k + 1])
        for k in range(model.n_regimes)
    ]


#: The isotropic equivalent of an elliptical spot, stated in every anisotropy block.
ISOTROPIC_CONVENTION = (
    "mean of the two per-axis MSDs: sigma_eq^2 = (sigma_x^2 + sigma_y^2) / 2, so that "
    "MSD_eq = (MSD_x + MSD_y) / 2 and D_eq = (D_x + D_y) / 2"
)


def _axis_band_like(t, s, s_err, options) -> BandLike | None:
    """The band-like metrics of one principal axis: its sigma^2(t) analysed on its own."""
    try:
        model = fit_regimes(t, s**2, 2 * s * s_err, max_regimes=options["max_regimes"],
                            n_bootstrap=options["n_bootstrap"], seed=options["seed"])
    except ValueError:
        return None
    regimes = _regimes(model)
    data = (t, s**2, 2 * s * s_err)
    band, _ = band_like_metrics(model, regimes, options["pitch_nm"], options["temperature_K"],
                                [], data, options["seed"])
    return band


def centre_drift(fits: xr.Dataset, usable: np.ndarray) -> dict[str, float | None]:
    """Drift of the fitted spot centre (nm per frame, in acquisition order) with its error.

    A weighted straight line x0 = a + v i through the usable frames (i: the frame's index in
    the stack); the error of v is scaled by sqrt(chi^2_red) of the line, so that it follows the
    centres' actual scatter: more than their stated errors for a drift that is not uniform,
    less where the per-frame centre errors are conservative (the elliptical fits' are ~2x,
    found by benchmarks/calibration.py).
    """
    out: dict[str, float | None] = {}
    index = np.arange(fits.sizes["delay"], dtype=float)[usable]
    for axis in ("x", "y"):
        out[f"drift_{axis}_nm_per_frame"] = None
        out[f"drift_{axis}_err_nm_per_frame"] = None
        if f"{axis}0_nm" not in fits or f"{axis}0_err_nm" not in fits:
            continue
        c = np.asarray(fits[f"{axis}0_nm"].values, float)[usable]
        ce = np.asarray(fits[f"{axis}0_err_nm"].values, float)[usable]
        ok = np.isfinite(c) & np.isfinite(ce) & (ce > 0)
        if ok.sum() < MIN_USABLE_FRAMES:
            continue
        i, c, w = index[ok], c[ok], 1 / ce[ok] ** 2
        a = np.vstack([np.ones_like(i), i]).T
        cov = np.linalg.inv(a.T @ (a * w[:, None]))
        coef = cov @ (a.T @ (w * c))
        chi2_red = float(np.sum(w * (c - a @ coef) ** 2) / max(ok.sum() - 2, 1))
        out[f"drift_{axis}_nm_per_frame"] = float(coef[1])
        out[f"drift_{axis}_err_nm_per_frame"] = float(np.sqrt(cov[1, 1] * chi2_red))
    return out


def _anisotropy(fits: xr.Dataset, usable: np.ndarray, warnings: list[str],
                options: dict) -> Anisotropy:
    """Spot ellipticity, transport anisotropy (per-axis band-like metrics) and drift."""
    drift = centre_drift(fits, usable)
    if "sigma_x_nm" not in fits or "sigma_y_nm" not in fits:
        return Anisotropy(available=False, reason="isotropic fits only", **drift)
    sx = np.asarray(fits["sigma_x_nm"].values, float)[usable]
    sy = np.asarray(fits["sigma_y_nm"].values, float)[usable]
    sxe = np.asarray(fits["sigma_x_err_nm"].values, float)[usable]
    sye = np.asarray(fits["sigma_y_err_nm"].values, float)[usable]
    t = np.asarray(fits["delay"].values, float)[usable]
    ok = np.isfinite(sx) & np.isfinite(sy) & (sxe > 0) & (sye > 0)
    if ok.sum() < MIN_USABLE_FRAMES:
        return Anisotropy(available=False, reason="too few usable elliptical fits", **drift)
    sx, sy, sxe, sye, t = sx[ok], sy[ok], sxe[ok], sye[ok], t[ok]
    ratio = sx / sy
    ratio_err = ratio * np.hypot(sxe / sx, sye / sy)
    w = 1 / ratio_err**2
    early = t <= np.quantile(t, 0.25)
    ratio0 = float(np.average(ratio[early], weights=w[early]))
    ratio0_err = float(1 / np.sqrt(w[early].sum()))
    # growth of each principal variance relative to its own early value
    sx0 = np.average(sx[early] ** 2, weights=1 / (2 * sx[early] * sxe[early]) ** 2)
    sy0 = np.average(sy[early] ** 2, weights=1 / (2 * sy[early] * sye[early]) ** 2)
    late = t >= np.quantile(t, 0.75)
    msd_x = sx[late] ** 2 - sx0
    msd_y = sy[late] ** 2 - sy0
    ex = 2 * sx[late] * sxe[late]
    ey = 2 * sy[late] * sye[late]
    mx = float(np.average(msd_x, weights=1 / ex**2))
    my = float(np.average(msd_y, weights=1 / ey**2))
    mx_err = float(1 / np.sqrt(np.sum(1 / ex**2)))
    my_err = float(1 / np.sqrt(np.sum(1 / ey**2)))
    diff_sig = abs(mx - my) / np.hypot(mx_err, my_err)
    transport_isotropic = bool(diff_sig < 3)
    spot_isotropic = bool(abs(ratio0 - 1) < max(3 * ratio0_err, 0.05))
    theta = np.asarray(fits["theta_rad"].values, float)[usable][ok] if "theta_rad" in fits else []
    per_axis = not (spot_isotropic and transport_isotropic)
    band_x = _axis_band_like(t, sx, sxe, options) if per_axis else None
    band_y = _axis_band_like(t, sy, sye, options) if per_axis else None
    out = Anisotropy(
        available=True,
        spot_ratio_x_over_y=ratio0,
        spot_ratio_err=ratio0_err,
        theta_deg=float(np.degrees(np.nanmedian(theta))) if len(theta) else None,
        late_msd_x_nm2=mx,
        late_msd_x_err_nm2=mx_err,
        late_msd_y_nm2=my,
        late_msd_y_err_nm2=my_err,
        transport_isotropic=transport_isotropic,
        spot_isotropic=spot_isotropic,
        band_like_x=band_x,
        band_like_y=band_y,
        isotropic_convention=ISOTROPIC_CONVENTION if per_axis else None,
        **drift,
    )
    if not transport_isotropic:
        warnings.append(
            f"transport looks anisotropic: late MSD along the principal axes "
            f"{mx:.0f} vs {my:.0f} nm^2 "
            f"({diff_sig:.1f} standard errors apart); the isotropic fit averages the two axes"
        )
    if not spot_isotropic:
        warnings.append(
            f"the initial spot is elliptical (sigma_x/sigma_y = {ratio0:.2f}); "
            "MSD from the isotropic fit is the mean of the two axes"
        )
    return out
