"""The moment estimator as a function of aperture sums, and its noise covariance.

A frame enters only through the sums ``T_ab = sum_p w_p xi_p^a eta_p^b`` (``a + b <= 4``) over the
aperture pixels, with ``(xi, eta)`` the pixel position relative to the aperture centre in units of
a per-frame length ``L`` (so that the sums are O(1) and their covariance well conditioned). With
iid pixel noise of variance ``s^2`` and an offset subtracted as the mean of ``n_ann`` annulus
pixels, the noise covariance of the sums is exactly
``cov(T_j, T_k) = s^2 G_{j+k} + (s^2 / n_ann) G_j G_k`` with ``G_ab = sum_p xi^a eta^b`` over the
aperture: drawing sums from it resamples the noise of a frame without touching its pixels.
"""

from __future__ import annotations

from math import comb

import numpy as np

from tamkit.moments.truncation import kurtosis_truncated, variance_factor

#: the monomials (a, b) of the sums, a + b <= 4, in a fixed order
MONOMIALS = tuple((a, n - a) for n in range(5) for a in range(n, -1, -1))
INDEX = {ab: i for i, ab in enumerate(MONOMIALS)}


def power_sums(weights: np.ndarray, xi: np.ndarray, eta: np.ndarray, order: int) -> np.ndarray:
    """``S[n, a, b] = sum_p weights[n, p] xi[n, p]^a eta[n, p]^b`` for a, b <= order.

    One batched matrix product per stack; shapes (n, p) in, (n, order + 1, order + 1) out.
    """
    n, p = xi.shape
    xp = np.empty((n, order + 1, p))
    yp = np.empty((n, p, order + 1))
    xp[:, 0], yp[:, :, 0] = weights, 1.0
    for a in range(1, order + 1):
        np.multiply(xp[:, a - 1], xi, out=xp[:, a])
        np.multiply(yp[:, :, a - 1], eta, out=yp[:, :, a])
    return np.matmul(xp, yp)


def sums_vector(s: np.ndarray) -> np.ndarray:
    """The 15 sums of :data:`MONOMIALS` from a power-sum table ``s[..., a, b]``."""
    return np.stack([s[..., a, b] for a, b in MONOMIALS], axis=-1)


def noise_covariance(geom: np.ndarray, noise_var: np.ndarray, n_annulus: np.ndarray) -> np.ndarray:
    """Covariance (n, 15, 15) of the sums from the aperture geometry ``geom[n, a, b]`` (a, b <= 8).

    ``noise_var`` is the per-pixel noise variance of each frame; ``n_annulus`` the number of pixels
    whose mean was subtracted as the offset (0: no offset subtracted).
    """
    a = np.array([m[0] for m in MONOMIALS])
    b = np.array([m[1] for m in MONOMIALS])
    pair = geom[:, a[:, None] + a[None, :], b[:, None] + b[None, :]]
    single = geom[:, a, b]
    with np.errstate(divide="ignore", invalid="ignore"):
        off_var = np.where(n_annulus > 0, noise_var / np.maximum(n_annulus, 1), 0.0)
    return noise_var[:, None, None] * pair + off_var[:, None, None] * (
        single[:, :, None] * single[:, None, :]
    )


def _central(r: dict, mx: np.ndarray, my: np.ndarray, p: int, q: int) -> np.ndarray:
    out = 0.0
    for i in range(p + 1):
        for j in range(q + 1):
            coef = comb(p, i) * comb(q, j)
            out = out + coef * (-mx) ** (p - i) * (-my) ** (q - j) * r[(i, j)]
    return out


def estimator(t: np.ndarray, k: np.ndarray) -> dict[str, np.ndarray]:
    """Centre, principal variances, orientation and excess kurtoses from the sums ``t[..., 15]``.

    ``k`` is the Mahalanobis radius of the aperture (broadcast against ``t[..., 0]``). Variances
    are divided by the Gaussian truncation factor and kurtoses scaled by ``3 / K(k)`` (see
    :mod:`tamkit.moments.truncation`). Lengths are in the units of the sums' coordinates.
    """
    m00 = t[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = {ab: t[..., i] / m00 for i, ab in enumerate(MONOMIALS)}
        mx, my = r[(1, 0)], r[(0, 1)]
        mu = {pq: _central(r, mx, my, *pq) for pq in
              ((2, 0), (1, 1), (0, 2), (4, 0), (3, 1), (2, 2), (1, 3), (0, 4))}
        half_tr = 0.5 * (mu[(2, 0)] + mu[(0, 2)])
        half_diff = 0.5 * (mu[(2, 0)] - mu[(0, 2)])
        rad = np.sqrt(half_diff**2 + mu[(1, 1)] ** 2)
        lam1, lam2 = half_tr + rad, half_tr - rad
        theta = 0.5 * np.arctan2(2.0 * mu[(1, 1)], mu[(2, 0)] - mu[(0, 2)])
        c, s = np.cos(theta), np.sin(theta)
        m4_major = (c**4 * mu[(4, 0)] + 4 * c**3 * s * mu[(3, 1)] + 6 * c**2 * s**2 * mu[(2, 2)]
                    + 4 * c * s**3 * mu[(1, 3)] + s**4 * mu[(0, 4)])
        m4_minor = (s**4 * mu[(4, 0)] - 4 * s**3 * c * mu[(3, 1)] + 6 * s**2 * c**2 * mu[(2, 2)]
                    - 4 * s * c**3 * mu[(1, 3)] + c**4 * mu[(0, 4)])
        g = variance_factor(k)
        kscale = 3.0 / kurtosis_truncated(k)
        bad = (m00 <= 0) | (lam2 <= 0)
        ek_major = np.where(bad, np.nan, m4_major / lam1**2 * kscale - 3.0)
        ek_minor = np.where(bad, np.nan, m4_minor / lam2**2 * kscale - 3.0)
        var_major = np.where(bad, np.nan, lam1 / g)
        var_minor = np.where(bad, np.nan, lam2 / g)
        # the x and y marginal variances, for the covariance of the next aperture
        cxx, cxy, cyy = mu[(2, 0)] / g, mu[(1, 1)] / g, mu[(0, 2)] / g
    return {
        "signal": m00, "dx": mx, "dy": my, "var_major": var_major, "var_minor": var_minor,
        "theta": theta, "ek_major": ek_major, "ek_minor": ek_minor,
        "variance": 0.5 * (var_major + var_minor), "excess_kurtosis": 0.5 * (ek_major + ek_minor),
        "cxx": cxx, "cxy": cxy, "cyy": cyy,
    }
