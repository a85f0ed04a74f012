"""Cramer-Rao bound of the band-like metrics of the global pixel model on a given stack design.

The Fisher information of every pixel of every frame for the model of :mod:`tamkit.globalfit`,

    dT/T(x, y, t) = A_t exp(-[(x - x0_t)^2 + (y - y0_t)^2] / 2 s_t^2) + c_t,
    s_t^2 = sigma_0^2 + MSD(t; theta),

with white pixel noise, evaluated at the truth. Per frame, the nuisance parameters (offset,
centre and either a free amplitude or, under the amplitude law, ln A_t = B(t) beta -
ln(s_t^2 / sigma_ref^2)) are marginalised by Schur complements; the inverse of what is left is
the smallest covariance any unbiased estimator of theta can reach. The band-like metrics of
the truth's own family (a continuous piecewise power law, sharp breaks: tau is the first break,
D_max = MSD(tau) / 2 tau) follow by the delta method, and the chance that an efficient,
Gaussian estimator lands within a tolerance of both by Monte Carlo of their joint normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamkit.core.constants import cm2_per_s_to_nm2_per_fs
from tamkit.globalfit.msd_models import MsdModel


@dataclass
class BandLikeBound:
    """Cramer-Rao bound of the band-like metrics (relative standard deviations)."""

    d_max_rel_sd: float
    tau_rel_sd: float
    correlation: float
    sigma0_sd_nm: float
    #: P(|D_max / truth - 1| < d_tol and |tau / truth - 1| < tau_tol) for an efficient estimator
    p_within: float
    amplitude: str
    n_frames: int


def _frame_information(delay_fs, s_nm, amp, x_nm, y_nm, noise):
    """Per-frame Fisher information (F, 5, 5) of (s, ln A, c, x0, y0) from every pixel."""
    X, Y = np.meshgrid(x_nm, y_nm)
    r2 = X * X + Y * Y
    out = np.empty((delay_fs.size, 5, 5))
    for i, (s, a) in enumerate(zip(s_nm, amp, strict=True)):
        g = np.exp(-0.5 * r2 / s**2)
        jac = np.stack([a * g * r2 / s**3, a * g, np.ones_like(g), a * g * X / s**2,
                        a * g * Y / s**2]).reshape(5, -1)
        out[i] = jac @ jac.T / noise**2
    return out


def _schur(info, keep):
    drop = [k for k in range(info.shape[-1]) if k not in keep]
    a = info[:, keep][:, :, keep]
    b = info[:, drop][:, :, keep]
    d = info[:, drop][:, :, drop]
    return a - np.einsum("fak,fab,fbl->fkl", b, np.linalg.inv(d), b)


def band_like_bound(
    delay_fs: np.ndarray,
    *,
    D_max_cm2_s: float = 102.0,
    tau_fs: float = 300.0,
    alphas: tuple[float, float, float] = (1.1, 0.5, 0.3),
    second_break_fs: float = 1.0e5,
    sigma0_nm: float = 141.0,
    pixel_nm: float = 55.6,
    shape: tuple[int, int] = (48, 48),
    peak_snr: float = 12.0,
    peak_dT_T: float = 1e-3,
    lifetime_fs: float = 2.0e5,
    repeats: int = 1,
    amplitude: str = "per-frame",
    d_tol: float = 0.15,
    tau_tol: float = 0.30,
    n_mc: int = 200_000,
    seed: int = 0,
) -> BandLikeBound:
    """The bound for a stack like :func:`tamkit.testing.artificial.spreading_gaussian_stack`
    of a :class:`~tamkit.testing.artificial.BandLikeTruth` (same defaults).

    ``repeats`` averages that many independent acquisitions (noise / sqrt(repeats));
    ``amplitude`` is ``"per-frame"`` or ``"law"`` (:func:`tamkit.globalfit.fit.amplitude_basis`).
    """
    from tamkit.globalfit.fit import amplitude_basis

    t = np.asarray(delay_fs, float)
    t = t[t >= 0]
    pos = t[t > 0]
    model = MsdModel("piecewise", 3, (float(pos[0]), float(pos[-1])))
    msd_tau = 2.0 * cm2_per_s_to_nm2_per_fs(D_max_cm2_s) * tau_fs
    theta = np.array([sigma0_nm**2, np.log(msd_tau), *alphas, np.log(tau_fs),
                      np.log(second_break_fs / tau_fs)])
    s = np.sqrt(model.sigma_sq_nm2(t, theta))
    amp = peak_dT_T * np.exp(-t / lifetime_fs) * sigma0_nm**2 / s**2
    ny, nx = shape
    x = (np.arange(nx) - (nx - 1) / 2) * pixel_nm
    y = (np.arange(ny) - (ny - 1) / 2) * pixel_nm
    noise = peak_dT_T / peak_snr / np.sqrt(repeats)
    info = _frame_information(t, s, amp, x, y, noise)
    js = model.sigma_sq_jacobian(t, theta) / (2.0 * s[:, None])
    p = theta.size
    if amplitude == "per-frame":
        i_s = _schur(info, [0])[:, 0, 0]
        fisher = np.einsum("f,fi,fj->ij", i_s, js, js)
    elif amplitude == "law":
        basis = amplitude_basis(t)
        i_sa = _schur(info, [0, 1])
        jac = np.zeros((t.size, 2, p + basis.shape[1]))
        jac[:, 0, :p] = js
        jac[:, 1, :p] = -2.0 * js / s[:, None]
        jac[:, 1, p:] = basis
        fisher = np.einsum("fai,fab,fbj->ij", jac, i_sa, jac)
    else:
        raise ValueError(f"amplitude must be 'per-frame' or 'law', got {amplitude!r}")
    cov = np.linalg.inv(fisher)
    # ln D_max = ln MSD(tau) - ln tau - ln 2: gradient (log_m +1, log tau -1); ln tau itself
    g_d = np.zeros(cov.shape[0])
    g_d[1], g_d[5] = 1.0, -1.0
    sd_d, sd_t = float(np.sqrt(g_d @ cov @ g_d)), float(np.sqrt(cov[5, 5]))
    rho = float(cov[5] @ g_d / (sd_d * sd_t))
    c2 = np.array([[sd_d**2, rho * sd_d * sd_t], [rho * sd_d * sd_t, sd_t**2]])
    z = np.random.default_rng(seed).multivariate_normal([0.0, 0.0], c2, n_mc)
    inside = (np.abs(np.expm1(z[:, 0])) < d_tol) & (np.abs(np.expm1(z[:, 1])) < tau_tol)
    return BandLikeBound(sd_d, sd_t, rho, float(np.sqrt(cov[0, 0]) / (2 * sigma0_nm)),
                         float(inside.mean()), amplitude, int(t.size))
