"""Apparent broadening from Auger depletion of the spot centre, estimated from the data.

Auger (and any density-dependent) recombination empties the centre of the pump spot faster than
its edges, so the fitted Gaussian widens with no transport at all. With a local bimolecular
decay dn/dt = -k n^2 of a 2D Gaussian profile, n(r, t) = n0(r) / (1 + k n0(r) t), and with
x = k n_peak t the spot integral falls as ln(1 + x) / x. Fitting that law (times a slow
exponential) to the measured spot integral gives ``kappa = k n_peak``; imaging the depleted
profile on the stack's own pixel grid and fitting it with :func:`tamkit.fit_frames`, exactly like
the data, gives the artefact in the fitted MSD.

The model is phenomenological: quantised Auger in dots (rate n^2 (n-1) / 4 tau_XX per dot, with
Poisson occupancy) depletes the centre in a similar way but not identically; the simulator
computes the exact case (:mod:`tamkit.sim.spot`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from tamkit.gaussfit import fit_frames
from tamkit.stack import make_stack, pixel_axis_nm


def spot_integral(fits: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spot-integrated signal |A| 2 pi sigma^2 (per fitted frame) with its error.

    Returns ``(delay_fs, integral, integral_err)`` for frames with status ``ok`` at t > 0.
    """
    ok = (np.asarray(fits["status"].values).astype(str) == "ok") & (fits["delay"].values > 0)
    t = fits["delay"].values[ok]
    amp = np.abs(fits["amplitude"].values[ok])
    amp_err = fits["amplitude_err"].values[ok]
    s = fits["sigma_nm"].values[ok]
    s_err = fits["sigma_err_nm"].values[ok]
    integral = amp * 2 * np.pi * s**2
    err = integral * np.hypot(amp_err / amp, 2 * s_err / s)
    return t, integral, err


def _decay(t, log_s0, log_kappa, inv_tau):
    x = np.exp(log_kappa) * t
    bimolecular = np.where(x > 1e-8, np.log1p(x) / np.where(x > 1e-8, x, 1.0), 1.0 - x / 2)
    return np.exp(log_s0) * bimolecular * np.exp(-inv_tau * t)


def fit_depletion_rate(fits: xr.Dataset) -> dict:
    """Fit S(t) = S0 exp(-t / tau) ln(1 + kappa t) / (kappa t) to the spot integral.

    Returns
    -------
    dict
        ``kappa_per_fs`` (= k n_peak) and its error, ``tau_fs`` of the slow decay, and
        ``chi2_red``. kappa is 0 when the data show no density-dependent decay.
    """
    t, s, err = spot_integral(fits)
    if t.size < 5:
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
        "tau_fs": float(1 / best.x[2]) if best.x[2] > 0 else float("inf"),
        "chi2_red": float(chi2_red),
        "n_frames": int(t.size),
    }


def depletion_broadening_nm2(
    delay_fs: np.ndarray,
    kappa_per_fs: float,
    sigma0_nm: float,
    pixel_nm: float,
    n_pixels: int = 48,
) -> np.ndarray:
    """Apparent per-axis MSD (nm^2) that depletion alone puts into a fitted Gaussian width.

    The depleted profile n0 / (1 + kappa t n0 / n_peak) is sampled on a pixel grid like the
    data's and fitted with :func:`tamkit.fit_frames`; MSD_apparent = sigma_fit^2 - sigma_0^2.
    """
    delay_fs = np.asarray(delay_fs, dtype=float)
    x = pixel_axis_nm(n_pixels, pixel_nm)
    r2 = x[None, :] ** 2 + x[:, None] ** 2
    g = np.exp(-r2 / (2 * sigma0_nm**2))
    times = np.concatenate([[0.0], np.clip(delay_fs, 0, None)])
    frames = np.stack([g / (1 + kappa_per_fs * t * g) for t in times])
    stack = make_stack(frames, np.arange(times.size, dtype=float), pixel_nm)
    fitted = fit_frames(stack, noise_std=1e-6)
    sigma = fitted["sigma_nm"].values
    return sigma[1:] ** 2 - sigma[0] ** 2


def depletion_artefact(fits: xr.Dataset, sigma0_nm: float) -> dict:
    """Estimate the Auger-depletion broadening of a measured stack from its own kinetics.

    Returns the fitted rate (see :func:`fit_depletion_rate`) and ``apparent_msd_nm2`` at each of
    the stack's delays (0 before time zero).
    """
    rate = fit_depletion_rate(fits)
    delay = fits["delay"].values
    kappa = rate["kappa_per_fs"]
    if not np.isfinite(kappa) or kappa == 0:
        apparent = np.zeros(delay.shape)
    else:
        apparent = np.where(delay > 0, depletion_broadening_nm2(
            delay, kappa, sigma0_nm, float(fits.attrs.get("pixel_nm", 55.6))), 0.0)
    return {**rate, "delay_fs": delay, "apparent_msd_nm2": apparent}
