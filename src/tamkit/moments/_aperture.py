"""Compiled aperture pass: a frame's aperture, offset, noise and power sums in one sweep.

For each frame the elliptical aperture ``d^T C^-1 d < k^2`` (``d`` the offset from the current
centre, px) and the annulus ``d^T C^-1 d > (k + gap)^2`` are classified pixel by pixel; only the
bounding box of the ellipse of radius ``k + gap`` is visited, and the annulus enters through the
frame's totals (count, ``sum w``, ``sum w^2`` of its valid pixels) minus the box's inner part.
The power sums ``sum (w - offset) xi^a eta^b`` (``xi = (x - cx) / scale``) are those of
:func:`tamkit.moments._sums.power_sums` over the aperture, kept for ``a + b <= order`` (the rest
NaN), accumulated as ``sum w xi^a eta^b - offset sum xi^a eta^b`` since the offset is known only
at the end of the sweep.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _box(axis, centre, half):
    lo = np.searchsorted(axis, centre - half, side="left")
    hi = np.searchsorted(axis, centre + half, side="right")
    return lo, hi


@njit(cache=True, error_model="numpy")
def aperture_pass(w, valid, X, Y, xs, ys, raster, totals, cx, cy, cxx, cxy, cyy, kk, gap,
                  scale, w_order, g_order, min_annulus):
    """The aperture state and power sums of each frame of a block.

    Parameters
    ----------
    w, valid : ndarray, shape (n, p)
        Frames (invalid pixels 0) and validity, raster order (x fastest).
    X, Y : ndarray, shape (p,)
        Pixel coordinates (px); ``xs``, ``ys`` the raster's axes, visited only within the box
        of each aperture when ``raster`` (both ascending), else in full.
    totals : ndarray, shape (n, 3)
        Count, ``sum w`` and ``sum w^2`` of each frame's valid pixels.
    cx, cy, cxx, cxy, cyy, kk : ndarray, shape (n,)
        Centre (px), covariance (px^2) and Mahalanobis radius of each aperture.
    gap : float
        The annulus starts at radius ``kk + gap``.
    scale : ndarray, shape (n,)
        Length (px) the sums' coordinates are divided by.
    w_order, g_order : int
        Highest total power of the signal sums and of the geometry sums.
    min_annulus : int
        Fewest annulus pixels: below, the pixels outside the aperture serve.

    Returns
    -------
    sums_w : ndarray, shape (n, w_order + 1, w_order + 1)
        ``sum (w - offset) xi^a eta^b`` over the aperture.
    sums_g : ndarray, shape (n, g_order + 1, g_order + 1)
        ``sum xi^a eta^b`` over the aperture.
    stats : ndarray, shape (n, 4)
        Annulus count, offset (its mean; 0 when fewer than ``min_annulus // 3``), whether it
        was used (1/0), and the noise (the annulus' standard deviation; NaN likewise).
    """
    n = w.shape[0]
    nx = xs.size
    sums_w = np.full((n, w_order + 1, w_order + 1), np.nan)
    sums_g = np.full((n, g_order + 1, g_order + 1), np.nan)
    stats = np.empty((n, 4))
    top = max(w_order, g_order)
    xp, yp = np.empty(top + 1), np.empty(top + 1)
    sw = np.zeros((w_order + 1, w_order + 1))
    sg = np.zeros((g_order + 1, g_order + 1))
    for f in range(n):
        det = cxx[f] * cyy[f] - cxy[f] ** 2
        k2 = kk[f] * kk[f]
        ka = kk[f] + gap
        ka2 = ka * ka
        # every pixel with d2 <= ka^2 lies within ka sqrt(C_ii) of the centre along axis i
        hx = ka * np.sqrt(cxx[f]) * (1.0 + 1e-9) + 1e-9
        hy = ka * np.sqrt(cyy[f]) * (1.0 + 1e-9) + 1e-9
        ix0, ix1, iy0, iy1 = 0, nx, 0, ys.size
        if raster:
            ix0, ix1 = _box(xs, cx[f], hx)
            iy0, iy1 = _box(ys, cy[f], hy)
        sw[:, :] = 0.0
        sg[:, :] = 0.0
        n_ap = n_in = 0.0
        s1_ap = s2_ap = s1_in = s2_in = 0.0
        inv = 1.0 / scale[f]
        for iy in range(iy0, iy1):
            for ix in range(ix0, ix1):
                j = iy * nx + ix
                if not valid[f, j]:
                    continue
                dX = X[j] - cx[f]
                dY = Y[j] - cy[f]
                d2 = cyy[f] * dX * dX - 2 * cxy[f] * dX * dY + cxx[f] * dY * dY
                d2 /= det
                wj = w[f, j]
                if d2 <= ka2:
                    n_in += 1.0
                    s1_in += wj
                    s2_in += wj * wj
                if not d2 < k2:
                    continue
                n_ap += 1.0
                s1_ap += wj
                s2_ap += wj * wj
                xi, eta = dX * inv, dY * inv
                xp[0] = yp[0] = 1.0
                for a in range(1, top + 1):
                    xp[a] = xp[a - 1] * xi
                    yp[a] = yp[a - 1] * eta
                for a in range(g_order + 1):
                    for b in range(g_order + 1 - a):
                        sg[a, b] += xp[a] * yp[b]
                for a in range(w_order + 1):
                    for b in range(w_order + 1 - a):
                        sw[a, b] += wj * xp[a] * yp[b]
        n_ann = totals[f, 0] - n_in
        s1, s2 = totals[f, 1] - s1_in, totals[f, 2] - s2_in
        if n_ann < min_annulus:
            n_ann = totals[f, 0] - n_ap
            s1, s2 = totals[f, 1] - s1_ap, totals[f, 2] - s2_ap
        used = n_ann >= min_annulus // 3
        offset, noise = 0.0, np.nan
        if used:
            offset = s1 / n_ann
            sq = (s2 / n_ann - offset * offset) * n_ann / (n_ann - 1)
            noise = np.sqrt(max(sq, 0.0))
        stats[f, 0], stats[f, 1], stats[f, 2], stats[f, 3] = n_ann, offset, used, noise
        for a in range(g_order + 1):
            for b in range(g_order + 1 - a):
                sums_g[f, a, b] = sg[a, b]
        for a in range(w_order + 1):
            for b in range(w_order + 1 - a):
                sums_w[f, a, b] = sw[a, b] - offset * sg[a, b]
    return sums_w, sums_g, stats
