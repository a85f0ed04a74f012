"""3x3 median filter of images with edges repeated (``mode="nearest"``), compiled.

Equal, value for value, to ``scipy.ndimage.median_filter(img, size=3, mode="nearest")`` on
NaN-free images, at a small fraction of its cost; shared by the per-frame fits' hot-pixel test
and the global fit's pixel mask.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


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


@njit(cache=True, parallel=True)
def median3x3_frames(frames, out):
    """:func:`median3x3_nearest` of every frame of ``frames`` (n, y, x) into ``out``."""
    for f in prange(frames.shape[0]):
        median3x3_nearest(frames[f], out[f])
