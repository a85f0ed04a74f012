"""Compiled local-outlier test behind the hot-pixel map: 3x3 median, robust scale, threshold.

Equal, value for value, to ``scipy.ndimage.median_filter(size=3, mode="nearest")`` followed by
numpy medians (a median selects one of the values, or halves the sum of the middle two), at a
small fraction of the cost.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _sort3(a, b, c):
    lo = min(a, b)
    hi = max(a, b)
    return min(lo, c), max(lo, min(hi, c)), max(hi, c)


@njit(cache=True, inline="always")
def _med3(a, b, c):
    return max(min(a, b), min(max(a, b), c))


@njit(cache=True)
def median3x3_nearest(img, out):
    """3x3 median of ``img`` (no NaN) into ``out``, edges repeated (``mode="nearest"``).

    Median of nine from sorted columns: the median of (largest column minimum, median of the
    column medians, smallest column maximum) [Paeth, Graphics Gems (1990), "Median finding
    on a 3x3 grid"]; exact, and the sorted columns are shared by neighbouring pixels.
    """
    ny, nx = img.shape
    lo = np.empty(nx)
    mid = np.empty(nx)
    hi = np.empty(nx)
    for i in range(ny):
        up = img[max(i - 1, 0)]
        row = img[i]
        down = img[min(i + 1, ny - 1)]
        for j in range(nx):
            lo[j], mid[j], hi[j] = _sort3(up[j], row[j], down[j])
        for j in range(nx):
            jl = max(j - 1, 0)
            jr = min(j + 1, nx - 1)
            a = max(max(lo[jl], lo[j]), lo[jr])
            b = _med3(mid[jl], mid[j], mid[jr])
            c = min(min(hi[jl], hi[j]), hi[jr])
            out[i, j] = _med3(a, b, c)


# serial: a few small frames, where a parallel region's start-up costs more than it saves
@njit(cache=True)
def outlier_maps(frames, z_max, mad_to_std):
    """Per frame (bool (n, y, x)): pixels more than ``z_max`` robust standard deviations from
    the median of their 3x3 neighbourhood.

    Non-finite pixels first take the median of the frame's non-NaN pixels (``np.nanmedian``);
    the robust standard deviation is ``mad_to_std`` times the median absolute deviation from
    the local median (a frame where that is 0 has no outliers).
    """
    n, ny, nx = frames.shape
    out = np.zeros((n, ny, nx), dtype=np.bool_)
    for f in range(n):
        filled = frames[f].copy()
        flat = filled.ravel()
        finite = np.isfinite(flat)
        if not finite.all():
            # as np.nanmedian: the median of the non-NaN values (infinities included)
            numbers = ~np.isnan(flat)
            fill = np.median(flat[numbers]) if numbers.any() else np.nan
            for q in range(flat.size):
                if not finite[q]:
                    flat[q] = fill
        med = np.empty((ny, nx))
        median3x3_nearest(filled, med)
        dev = np.abs(filled - med)
        scale = mad_to_std * np.median(dev)
        if not scale > 0:
            continue
        out[f] = dev / scale > z_max
    return out
