"""Mean-square displacement and what follows from it, frame by frame.

Per-axis convention (as in the paper): MSD(t) = sigma_t^2 - sigma_0^2 of the fitted 2D Gaussian,
L(t) = sqrt(MSD), D(t) = MSD / 2t, and the local exponent alpha(t) = d ln MSD / d ln t.
Input units are nm and fs; diffusivities are returned in cm^2/s (1 nm^2/fs = 10 cm^2/s).
"""

from __future__ import annotations

import numpy as np

from tamkit.core.constants import nm2_per_fs_to_cm2_per_s


def msd_from_sigma(
    sigma_nm: np.ndarray,
    sigma_err_nm: np.ndarray,
    sigma0_nm: float,
    sigma0_err_nm: float,
) -> tuple[np.ndarray, np.ndarray]:
    """MSD = sigma^2 - sigma_0^2 (nm^2) with its propagated standard error.

    The error adds the frame's own term (2 sigma dsigma) and the shared sigma_0 term
    (2 sigma_0 dsigma_0) in quadrature; the second is common to all frames (a systematic offset
    of the whole curve), which the regime fit handles by fitting sigma_0 jointly.
    """
    sigma_nm = np.asarray(sigma_nm, dtype=float)
    msd = sigma_nm**2 - sigma0_nm**2
    err = np.hypot(
        2.0 * sigma_nm * np.asarray(sigma_err_nm, float), 2.0 * sigma0_nm * sigma0_err_nm
    )
    return msd, err


def diffusivity_cm2_s(
    msd_nm2: np.ndarray, msd_err_nm2: np.ndarray, delay_fs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Effective diffusivity D(t) = MSD / 2t (cm^2/s) and its error; NaN where t <= 0.

    Notes
    -----
    As the paper notes, D(t) is an *equivalent* diffusivity: exact only for normal diffusion
    (alpha = 1), it allows comparison with literature in anomalous regimes.
    """
    t = np.asarray(delay_fs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(t > 0, np.asarray(msd_nm2) / (2.0 * t), np.nan)
        d_err = np.where(t > 0, np.asarray(msd_err_nm2) / (2.0 * t), np.nan)
    return nm2_per_fs_to_cm2_per_s(d), nm2_per_fs_to_cm2_per_s(d_err)


def transport_length_nm(
    msd_nm2: np.ndarray, msd_err_nm2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Transport length L = sqrt(MSD) (nm) and its error; NaN where MSD <= 0."""
    msd = np.asarray(msd_nm2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        length = np.where(msd > 0, np.sqrt(np.clip(msd, 0, None)), np.nan)
        err = np.where(msd > 0, np.asarray(msd_err_nm2) / (2.0 * length), np.nan)
    return length, err


def local_exponent(
    delay_fs: np.ndarray, msd_nm2: np.ndarray, msd_err_nm2: np.ndarray, window: int = 5
) -> np.ndarray:
    """Local exponent alpha(t) = d ln MSD / d ln t by weighted regression in a sliding window.

    Only points with t > 0 and MSD above twice its error enter (the logarithm of a noisy,
    near-zero MSD is meaningless); a window needs at least 3 such points, else NaN.
    """
    t = np.asarray(delay_fs, dtype=float)
    msd = np.asarray(msd_nm2, dtype=float)
    err = np.asarray(msd_err_nm2, dtype=float)
    good = (t > 0) & np.isfinite(msd) & np.isfinite(err) & (msd > 2.0 * err)
    alpha = np.full(t.shape, np.nan)
    idx = np.flatnonzero(good)
    half = window // 2
    for pos, i in enumerate(idx):
        sel = idx[max(0, pos - half) : pos + half + 1]
        if sel.size < 3:
            continue
        x = np.log(t[sel])
        y = np.log(msd[sel])
        w = (msd[sel] / err[sel]) ** 2  # 1 / var(ln MSD)
        xm = np.average(x, weights=w)
        ym = np.average(y, weights=w)
        denom = np.sum(w * (x - xm) ** 2)
        if denom > 0:
            alpha[i] = np.sum(w * (x - xm) * (y - ym)) / denom
    return alpha

