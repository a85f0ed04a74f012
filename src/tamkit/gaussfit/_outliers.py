"""Compiled local-outlier test behind the hot-pixel map: 3x3 median, robust scale, threshold.

Equal, value for value, to ``scipy.ndimage.median_filter(size=3, mode="nearest")`` followed by
numpy medians (a median selects one of the values, or halves the sum of the middle two), at a
small fraction of the cost (the 3x3 median: :mod:`tamkit.core.median3x3`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tamkit.core.median3x3 import median3x3_nearest


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
