"""The band-like regime of a transport analysis: whether there is one, and its metrics.

The first regime of the piecewise power law is band-like when it is at least diffusive and rises
faster than what follows. Its persistence time tau, length sqrt(MSD(tau)), peak diffusivity and
Einstein mobility are read off the smoothly broken power law around the first break
(:mod:`tamkit.carrier_transport.bandpeak`) where that fit finds an interior maximum of D(t), else
off the piecewise fit's corner; errors come from the bootstraps of those fits, and the turn's
shape gives a systematic (``*_sys_*``).
"""

from __future__ import annotations

import numpy as np

from tamkit.carrier_transport.bandpeak import band_peak
from tamkit.carrier_transport.regimes import PiecewiseFit, classify_exponent
from tamkit.carrier_transport.regimes import _msd as _model_msd
from tamkit.carrier_transport.results import BandLike
from tamkit.core.constants import einstein_mobility_cm2_Vs, nm2_per_fs_to_cm2_per_s
from tamkit.core.statistics import bootstrap_error

#: a band-like length covered faster than this (m/s) is no carrier motion: group velocities in
#: semiconductors stay below ~1e6 m/s, and 1e7 is what delays read in fs but written in ps give
#: for the paper's 80 nm in 300 fs (2.7e5 m/s becomes 2.7e8)
MAX_PLAUSIBLE_SPEED_M_S = 1.0e7


def implausible_speed_warning(length_nm: float, tau_fs: float) -> str | None:
    """A warning when the band-like length per persistence time exceeds any carrier's speed
    (delays in the wrong unit, or a pixel size far too large), else None."""
    if not (tau_fs > 0 and np.isfinite(length_nm)):
        return None
    speed_m_s = length_nm * 1e-9 / (tau_fs * 1e-15)
    if speed_m_s <= MAX_PLAUSIBLE_SPEED_M_S:
        return None
    return (f"the band-like length {length_nm:.3g} nm in {tau_fs:.3g} fs is {speed_m_s:.2g} m/s, "
            "faster than any carrier (group velocities stay below ~1e6 m/s): are the delays in "
            "fs and the pixel size in nm?")


def bootstrap_rows(model: PiecewiseFit):
    """The bootstrap replicates of a piecewise fit, unpacked (sigma_0^2, ln M, alphas, breaks)."""
    for p in model.bootstrap:
        yield model.unpack(p)


def is_band_like(model: PiecewiseFit, alpha_err: float) -> bool:
    err = alpha_err if np.isfinite(alpha_err) else 0.0
    if model.alphas[0] + 2.0 * err < 1.0:
        return False
    # a band-like regime must rise faster than what follows it
    return model.n_regimes == 1 or model.alphas[1] < model.alphas[0]


def band_metrics(log_anchor, alphas, breaks, t_range, anchor_fs):
    """tau (fs), MSD(tau) (nm^2) and D(tau) = MSD(tau) / 2 tau (nm^2/fs) for one parameter set.

    D is taken at tau, where MSD turns sub-linear: for alpha >= 1 that is the maximum of D(t), and
    it keeps length = sqrt(2 D_max tau) exact as in the paper.
    """
    tau = float(breaks[0]) if breaks.size else float(t_range[1])
    msd_tau = float(_model_msd(np.array([tau]), log_anchor, alphas, breaks, anchor_fs)[0])
    return tau, msd_tau, msd_tau / (2.0 * tau)


#: A band-like regime is reported only when the data determine it: its exponent to better than
#: this standard error, and its MSD at tau at this many standard errors above zero.
BAND_MAX_ALPHA_ERR = 0.5
BAND_MIN_MSD_SIGNIFICANCE = 3.0


def band_like_metrics(model, regimes, pitch_nm, temperature_K, warnings, data, seed, common=None):
    """The band-like metrics (or None) and, when the smoothly broken power law was fitted, its
    sigma_0 with a bootstrap error and the fit itself (or None)."""
    if regimes[0].name != "band-like":
        return None, None
    tau, msd_tau, d_max = band_metrics(model.log_msd_anchor, model.alphas, model.breaks_fs,
                                        model.t_range_fs, model.anchor_fs)
    boot = [band_metrics(la, al, br, model.t_range_fs, model.anchor_fs)
            for _, la, al, br in bootstrap_rows(model)]
    boot = np.asarray(boot) if boot else np.full((0, 3), np.nan)
    alpha_err = regimes[0].alpha_err
    early_sigma0 = peak = None
    if model.n_regimes > 1:
        window_end = model.breaks_fs[1] if model.n_regimes > 2 else model.t_range_fs[1]
        peak = band_peak(*data, sigma0_sq_nm2=model.sigma0_sq_nm2, msd_break_nm2=msd_tau,
                         alphas=(model.alphas[0], model.alphas[1]), break_fs=tau,
                         window_end_fs=window_end, n_bootstrap=max(len(boot), 20), seed=seed,
                         sigma_sq_common_nm2=common)
        if peak is not None:
            tau, d_max, msd_tau = peak.tau_fs, peak.D_max_nm2_fs, peak.msd_tau_nm2
            boot = peak.samples
            early_sigma0 = (float(np.sqrt(max(peak.sigma0_sq_nm2, 0.0))),
                            bootstrap_error(np.sqrt(np.clip(boot[:, 3], 0, None))), peak)
    # judged by the fit that reports the metrics: the smooth one when it found an interior
    # maximum of D(t) (that maximum is the band-like regime; the piecewise fit's corner can jump
    # between delays, which blurs its exponent and its MSD at the break)
    msd_err = bootstrap_error(boot[:, 1])
    alpha_unknown = peak is None and np.isfinite(alpha_err) and alpha_err > BAND_MAX_ALPHA_ERR
    undetermined = alpha_unknown or (
        np.isfinite(msd_err) and msd_tau < BAND_MIN_MSD_SIGNIFICANCE * msd_err
    )
    if undetermined:
        regimes[0].name = classify_exponent(regimes[0].alpha, alpha_err)
        warnings.append(
            f"an early fast regime (alpha = {regimes[0].alpha:.2f} ± {alpha_err:.2f}, "
            f"MSD at its end {msd_tau:.0f} ± {msd_err:.0f} nm²) is not determined by the data; "
            "no band-like regime is reported"
        )
        return None, None
    length = float(np.sqrt(msd_tau))
    d_max_cm2 = float(nm2_per_fs_to_cm2_per_s(d_max))
    sys = {}
    if peak is not None:
        tau_sys, _, d_sys = peak.shape_sys
        d_sys_cm2 = float(nm2_per_fs_to_cm2_per_s(d_sys))
        corner_length = np.sqrt(peak.corner_end[1]) if peak.corner_end else length
        sys = {"tau_sys_fs": float(tau_sys),
               "length_sys_nm": float(abs(corner_length - length)),
               "D_max_sys_cm2_s": d_sys_cm2,
               "mobility_sys_cm2_Vs": float(einstein_mobility_cm2_Vs(d_sys_cm2, temperature_K))}
    d_err_cm2 = float(nm2_per_fs_to_cm2_per_s(bootstrap_error(boot[:, 2])))
    speed_warning = implausible_speed_warning(length, tau)
    if speed_warning:
        warnings.append(speed_warning)
    band = BandLike(
        tau_fs=tau,
        tau_err_fs=bootstrap_error(boot[:, 0]),
        length_nm=length,
        length_err_nm=bootstrap_error(np.sqrt(np.clip(boot[:, 1], 0, None))),
        n_dots=None if pitch_nm is None else length / float(pitch_nm),
        D_max_cm2_s=d_max_cm2,
        D_max_err_cm2_s=d_err_cm2,
        mobility_cm2_Vs=float(einstein_mobility_cm2_Vs(d_max_cm2, temperature_K)),
        mobility_err_cm2_Vs=float(einstein_mobility_cm2_Vs(d_err_cm2, temperature_K)),
        alpha=regimes[0].alpha,
        alpha_err=alpha_err,
        ends_within_data=model.n_regimes > 1,
        **sys,
    )
    return band, early_sigma0
