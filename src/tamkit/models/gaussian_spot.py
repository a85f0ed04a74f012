"""The 2D Gaussian models in numpy, their Jacobians, and the Cramer-Rao bound.

For independent Gaussian pixel noise of variance s_n^2 (white, or a per-pixel map), the Fisher
information of the parameters p of a model m(x, y; p) sampled on pixels is
F = sum_pixels J^T J / s_n^2 with J = dm/dp; no unbiased
estimator has a variance below (F^-1)_kk (Kay, *Fundamentals of Statistical Signal Processing:
Estimation Theory*, 1993, ch. 3; for Gaussian spots: Ober, Ram & Ward, Biophys. J. 86, 1185
(2004)).
"""

from __future__ import annotations

import numpy as np

ISO_NAMES = ("amplitude", "x0_nm", "y0_nm", "sigma_nm", "offset")
ELL_NAMES = ("amplitude", "x0_nm", "y0_nm", "sigma_x_nm", "sigma_y_nm", "theta_rad", "offset")


def isotropic_model(x: np.ndarray, y: np.ndarray, amp, x0, y0, sigma, offset) -> np.ndarray:
    """A exp(-((x - x0)^2 + (y - y0)^2) / 2 sigma^2) + offset."""
    return amp * np.exp(-0.5 * ((x - x0) ** 2 + (y - y0) ** 2) / sigma**2) + offset


def elliptical_model(x, y, amp, x0, y0, sigma_x, sigma_y, theta, offset) -> np.ndarray:
    """Rotated Gaussian: width sigma_x along angle theta (from the x axis), sigma_y across it."""
    xr, yr = _rotate(x - x0, y - y0, theta)
    return amp * np.exp(-0.5 * (xr**2 / sigma_x**2 + yr**2 / sigma_y**2)) + offset


def _rotate(dx, dy, theta):
    c, s = np.cos(theta), np.sin(theta)
    return dx * c + dy * s, -dx * s + dy * c


def isotropic_jacobian(x, y, amp, x0, y0, sigma, offset) -> np.ndarray:
    """dm/d(A, x0, y0, sigma, offset), shape (npix, 5)."""
    dx, dy = x - x0, y - y0
    g = np.exp(-0.5 * (dx**2 + dy**2) / sigma**2)
    ag = amp * g
    return np.stack(
        [
            g,
            ag * dx / sigma**2,
            ag * dy / sigma**2,
            ag * (dx**2 + dy**2) / sigma**3,
            np.ones_like(g),
        ],
        axis=-1,
    )


def elliptical_jacobian(x, y, amp, x0, y0, sigma_x, sigma_y, theta, offset) -> np.ndarray:
    """dm/d(A, x0, y0, sigma_x, sigma_y, theta, offset), shape (npix, 7)."""
    xr, yr = _rotate(x - x0, y - y0, theta)
    c, s = np.cos(theta), np.sin(theta)
    g = np.exp(-0.5 * (xr**2 / sigma_x**2 + yr**2 / sigma_y**2))
    ag = amp * g
    ax, ay = xr / sigma_x**2, yr / sigma_y**2
    return np.stack(
        [
            g,
            ag * (ax * c - ay * s),
            ag * (ax * s + ay * c),
            ag * xr**2 / sigma_x**3,
            ag * yr**2 / sigma_y**3,
            ag * xr * yr * (1.0 / sigma_y**2 - 1.0 / sigma_x**2),
            np.ones_like(g),
        ],
        axis=-1,
    )


def cramer_rao_bound(
    params: dict | np.ndarray,
    x_nm: np.ndarray,
    y_nm: np.ndarray,
    noise_std: float | np.ndarray,
    model: str = "isotropic",
    mask: np.ndarray | None = None,
) -> dict[str, float]:
    """Cramer-Rao lower bounds on the standard errors of a 2D Gaussian's parameters.

    Parameters
    ----------
    params : dict or array
        True (or fitted) parameters: isotropic ``amplitude, x0_nm, y0_nm, sigma_nm, offset``;
        elliptical ``amplitude, x0_nm, y0_nm, sigma_x_nm, sigma_y_nm, theta_rad, offset``
        (an array in that order).
    x_nm, y_nm : ndarray
        Pixel-centre axes (nm) of the frame, lengths nx and ny.
    noise_std : float or ndarray of shape (ny, nx)
        Per-pixel noise standard deviation (units of the amplitude): one value for white noise,
        or a map for noise that varies across the frame (an EMCCD's shot noise follows the
        probe profile and the signal).
    model : {"isotropic", "elliptical"}
    mask : ndarray of bool, shape (ny, nx), optional
        True where a pixel is excluded.

    Returns
    -------
    dict
        Bound on the standard error of each parameter, same names as ``params``; elliptical
        adds ``sigma_nm``, the bound on sqrt((sigma_x^2 + sigma_y^2) / 2). An unidentifiable
        parameter (theta of a round spot) has an infinite bound.
    """
    names = ISO_NAMES if model == "isotropic" else ELL_NAMES
    if model not in ("isotropic", "elliptical"):
        raise ValueError(f"model must be 'isotropic' or 'elliptical', got {model!r}")
    values = [float(params[k]) for k in names] if isinstance(params, dict) else list(params)
    xx, yy = np.meshgrid(np.asarray(x_nm, float), np.asarray(y_nm, float))
    keep = np.ones(xx.shape, bool) if mask is None else ~np.asarray(mask, bool)
    jac_fn = isotropic_jacobian if model == "isotropic" else elliptical_jacobian
    jac = jac_fn(xx[keep], yy[keep], *values)
    fisher = _fisher(jac, noise_std, keep)
    cov = _inverse_dropping_null(fisher)
    out = {k: float(np.sqrt(cov[i, i])) for i, k in enumerate(names)}
    if model == "elliptical":
        sx, sy = values[3], values[4]
        sigma = np.sqrt((sx**2 + sy**2) / 2)
        grad = np.array([sx, sy]) / (2 * sigma)
        sub = cov[3:5, 3:5]
        out["sigma_nm"] = float(np.sqrt(grad @ sub @ grad)) if np.all(np.isfinite(sub)) else np.inf
    return out


def _fisher(jac: np.ndarray, noise_std, keep: np.ndarray) -> np.ndarray:
    """F = sum over kept pixels of J^T J / s_n^2, for a scalar s_n or a per-pixel map."""
    if np.ndim(noise_std) == 0:
        return jac.T @ jac / noise_std**2
    noise = np.broadcast_to(np.asarray(noise_std, float), keep.shape)[keep]
    return jac.T @ (jac / noise[:, None] ** 2)


def _inverse_dropping_null(fisher: np.ndarray) -> np.ndarray:
    """Inverse Fisher matrix; parameters with no information get an infinite variance."""
    scale = np.sqrt(np.diag(fisher))
    null = scale <= 1e-12 * scale.max()
    cov = np.full(fisher.shape, np.nan)
    keep = ~null
    sub = fisher[np.ix_(keep, keep)] / np.outer(scale[keep], scale[keep])
    cov[np.ix_(keep, keep)] = np.linalg.inv(sub) / np.outer(scale[keep], scale[keep])
    cov[null, null] = np.inf
    return cov
