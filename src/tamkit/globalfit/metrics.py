"""Transport numbers from a global fit: sigma_0, regimes and the band-like metrics, with errors.

Errors are propagated from the Gauss-Newton covariance of the MSD parameters by the delta method
(first-order Taylor expansion with a central-difference gradient): var g = grad^T C grad.

Band-like metrics (per axis, as in the paper): tau is where D(t) = MSD / 2t peaks, D_max = D(tau),
length = sqrt(MSD(tau)) = sqrt(2 D_max tau), mobility by Einstein mu = e D / k_B T, and the number
of dots length / pitch. For the smoothly broken power law the peak is in closed form: the local
exponent a1 + (a2 - a1) x^(1/s) / (1 + x^(1/s)) (x = t / t_b) equals 1 at
x = (r / (1 - r))^s with r = (1 - a1) / (a2 - a1), which needs a1 > 1 > a2.
"""

from __future__ import annotations

import numpy as np

from tamkit.carrier_transport.regimes import classify_exponent
from tamkit.carrier_transport.results import BandLike, Regime
from tamkit.core.constants import einstein_mobility_cm2_Vs, nm2_per_fs_to_cm2_per_s
from tamkit.globalfit.msd_models import MsdModel


def delta_error(func, theta: np.ndarray, cov: np.ndarray) -> float:
    """Standard error of ``func(theta)`` (a float) by the delta method.

    Central differences of 1e-3 standard errors; where one side leaves the function's domain
    (``func`` NaN: a perturbed band-like peak that no longer exists, say) the other side's
    one-sided difference is used, so that the error is finite wherever ``func(theta)`` is.
    """
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    grad = np.zeros(theta.size)
    f0 = func(theta)
    for i in np.flatnonzero(sd > 0):
        h = 1e-3 * sd[i]
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        fu, fd = func(up), func(down)
        if np.isfinite(fu) and np.isfinite(fd):
            grad[i] = (fu - fd) / (2 * h)
        elif np.isfinite(fu):
            grad[i] = (fu - f0) / h
        elif np.isfinite(fd):
            grad[i] = (f0 - fd) / h
    return float(np.sqrt(max(grad @ cov @ grad, 0.0)))


def band_peak(model: MsdModel, theta: np.ndarray) -> tuple[float, float] | None:
    """(tau_fs, MSD(tau) nm^2) where D = MSD / 2t peaks, or None without an interior peak.

    Only the band-like families have one: the SBPL with a1 > 1 > a2, or a piecewise law of
    two or more regimes whose first exponent exceeds the second and whose second is
    sub-diffusive; tau is then its first break, the end of the band-like regime (where D peaks
    when the first exponent is >= 1; :func:`band_like` rejects a first regime significantly
    below diffusive). Defining tau by the break rather than by the sign of a1 - 1 keeps it (and
    its error) continuous where a noisy first exponent crosses 1.
    """
    p = model.unpack(theta)
    t_lo, t_hi = model.t_range_fs
    if model.family == "sbpl":
        a1, a2 = p["a1"], p["a2"]
        if not (a1 > 1.0 > a2):
            return None
        r = (1.0 - a1) / (a2 - a1)
        tau = p["t_b_fs"] * (r / (1.0 - r)) ** p["s"]
        if model.k and tau >= p["later_breaks_fs"][0]:
            return None
    else:
        if model.k < 2 or not (p["alphas"][0] > p["alphas"][1] and p["alphas"][1] < 1.0):
            return None
        tau = float(p["breaks_fs"][0])
    if not (t_lo < tau < t_hi):
        return None
    return float(tau), float(model.msd_nm2(np.array([tau]), theta)[0])


def band_like(model: MsdModel, theta: np.ndarray, cov: np.ndarray, *,
              pitch_nm: float | None, temperature_K: float) -> BandLike | None:
    """The band-like metrics with delta-method errors, or None when D(t) has no interior peak
    or its first exponent is below diffusive by more than two standard errors."""
    peak = band_peak(model, theta)
    if peak is None:
        return None
    tau, msd_tau = peak
    i_alpha = 2
    alpha, alpha_err = float(theta[i_alpha]), float(np.sqrt(max(cov[i_alpha, i_alpha], 0.0)))
    if alpha + 2 * alpha_err < 1.0:
        return None

    def metric(index):
        def f(th):
            pk = band_peak(model, th)
            if pk is None:
                return np.nan
            return (pk[0], pk[1], pk[1] / (2 * pk[0]), np.sqrt(pk[1]))[index]
        return f

    tau_err = delta_error(metric(0), theta, cov)
    d_max = msd_tau / (2 * tau)
    d_err = delta_error(metric(2), theta, cov)
    length = float(np.sqrt(msd_tau))
    length_err = delta_error(metric(3), theta, cov)
    d_cm2, d_err_cm2 = float(nm2_per_fs_to_cm2_per_s(d_max)), float(nm2_per_fs_to_cm2_per_s(d_err))
    return BandLike(
        tau_fs=tau, tau_err_fs=tau_err, length_nm=length, length_err_nm=length_err,
        n_dots=None if pitch_nm is None else length / float(pitch_nm),
        D_max_cm2_s=d_cm2, D_max_err_cm2_s=d_err_cm2,
        mobility_cm2_Vs=float(einstein_mobility_cm2_Vs(d_cm2, temperature_K)),
        mobility_err_cm2_Vs=float(einstein_mobility_cm2_Vs(d_err_cm2, temperature_K)),
        alpha=alpha, alpha_err=alpha_err, ends_within_data=True,
    )


def sigma0(theta: np.ndarray, cov: np.ndarray) -> tuple[float, float]:
    """sigma_0 (nm) = sqrt(theta[0]) and its error."""
    s0 = float(np.sqrt(max(theta[0], 0.0)))
    return s0, float(np.sqrt(max(cov[0, 0], 0.0)) / (2 * s0)) if s0 > 0 else float("nan")


def regimes(model: MsdModel, theta: np.ndarray, cov: np.ndarray,
            band: BandLike | None) -> list[Regime]:
    """The model's power-law regimes, first to last, with exponent and break errors.

    For the SBPL family the first two regimes meet at its break t_b (the middle of the smooth
    turn), the later ones at the sharp breaks; the first is named ``band-like`` when the
    band-like metrics exist.
    """
    p = model.unpack(theta)
    t_lo, t_hi = model.t_range_fs
    if model.family == "sbpl":
        alpha_idx = [2, 3] + [6 + 2 * j for j in range(model.k)]
        n_breaks = 1 + model.k

        def breaks_of(th):
            q = model.unpack(th)
            return np.concatenate([[q["t_b_fs"]], q["later_breaks_fs"]])
    else:
        alpha_idx = list(range(2, 2 + model.k))
        n_breaks = model.k - 1

        def breaks_of(th):
            return model.unpack(th)["breaks_fs"]
    breaks = breaks_of(theta)
    break_errs = [delta_error(lambda th, j=j: breaks_of(th)[j], theta, cov)
                  for j in range(n_breaks)]
    edges = np.concatenate([[t_lo], breaks, [t_hi]])
    edge_errs = [float("nan"), *break_errs, float("nan")]
    out: list[Regime] = []
    names: list[str] = []
    for k, i in enumerate(alpha_idx):
        alpha = float(theta[i])
        err = float(np.sqrt(max(cov[i, i], 0.0)))
        name = "band-like" if (k == 0 and band is not None) else classify_exponent(alpha, err)
        count = sum(n.startswith(name) for n in names)
        names.append(name if count == 0 else f"{name} {count + 1}")
        out.append(Regime(names[-1], float(edges[k]), float(edges[k + 1]), alpha, err,
                          edge_errs[k], edge_errs[k + 1]))
    del p
    return out
