"""MSD laws: the per-axis mean-square displacement MSD(t) (nm^2) as a function of delay (fs).

Pure functions shared by the artificial data (:mod:`tamkit.testing.artificial`, which draws a
prescribed MSD) and the transport analysis (:mod:`tamkit.carrier_transport.regimes` and
:mod:`tamkit.carrier_transport.bandpeak`, which fit these laws). Both laws are zero for t <= 0
(no carriers before the pump). A power law MSD ~ t^alpha is ballistic for alpha = 2, diffusive
for alpha = 1 and sub-diffusive below (Metzler & Klafter, Phys. Rep. 339, 1 (2000)).
"""

from __future__ import annotations

import numpy as np


def piecewise_power_law_msd_nm2(
    delay_fs: np.ndarray,
    breaks_fs: np.ndarray | tuple[float, ...],
    alphas: np.ndarray | tuple[float, ...],
    msd_at_anchor_nm2: float,
    anchor_fs: float | None = None,
) -> np.ndarray:
    """A continuous piecewise power law MSD(t) (nm^2), zero for t <= 0.

    Parameters
    ----------
    delay_fs : ndarray
        Delays (fs).
    breaks_fs : sequence of float
        Breakpoints b_1 < b_2 < ... (fs).
    alphas : sequence of float
        ``alphas[k]`` is the exponent between ``breaks_fs[k-1]`` and ``breaks_fs[k]`` (one more
        exponent than breaks).
    msd_at_anchor_nm2 : float
        MSD (nm^2) at the first break, or at ``anchor_fs`` when there is no break.
    anchor_fs : float, optional
        Anchor time (fs) of a single power law (no breaks).

    Returns
    -------
    ndarray
        MSD(t) = M (t / b_1)^alpha_1 for t <= b_1, continuing with exponent alpha_k between
        b_(k-1) and b_k (continuous at every break).
    """
    alphas = np.asarray(alphas, dtype=float)
    breaks_fs = np.asarray(breaks_fs, dtype=float)
    if alphas.size != breaks_fs.size + 1:
        raise ValueError("need one more exponent than breakpoints")
    t = np.asarray(delay_fs, dtype=float)
    log_t = np.log(np.clip(t, 1e-300, None))
    edges = np.log(breaks_fs)
    ref = edges[0] if edges.size else np.log(anchor_fs)
    log_msd = np.log(msd_at_anchor_nm2) + alphas[0] * (log_t - ref)
    for k in range(1, alphas.size):
        log_msd = log_msd + (alphas[k] - alphas[k - 1]) * np.clip(log_t - edges[k - 1], 0, None)
    # exp only where t > 0: at the clipped t <= 0 a negative exponent would overflow
    return np.exp(np.where(t > 0, log_msd, -np.inf))


def sbpl_msd_nm2(t, log_m, a1, a2, log_tb, log_s):
    """Smoothly broken power law MSD (nm^2) at times ``t`` (fs), zero for t <= 0.

    Parameters
    ----------
    t : ndarray
        Delays (fs).
    log_m : float
        ln of M, the MSD scale (nm^2) at the break.
    a1, a2 : float
        Exponents well before and well after the break.
    log_tb : float
        ln of the break time t_b (fs).
    log_s : float
        ln of the smoothness s; s -> 0 gives the sharp corner of
        :func:`piecewise_power_law_msd_nm2`.

    Returns
    -------
    ndarray
        MSD(t) = M (t/t_b)^a1 [(1 + (t/t_b)^(1/s)) / 2]^((a2 - a1) s).

    References
    ----------
    The smoothly broken power law of astropy's ``SmoothlyBrokenPowerLaw1D`` (exponents there
    with the opposite sign).
    """
    t = np.asarray(t, float)
    x = np.clip(t, 1e-300, None) / np.exp(log_tb)
    s = np.exp(log_s)
    log_msd = log_m + a1 * np.log(x) + (a2 - a1) * s * (np.logaddexp(0, np.log(x) / s) - np.log(2))
    return np.where(t > 0, np.exp(log_msd), 0.0)
