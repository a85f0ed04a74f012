"""Compiled pixel sums of the masked frames with the spot's 1D factors, accumulated in float64.

The frames may be stored as float32 (a float32 file read lazily: half the memory of the global
fit's window); numpy's ``matmul`` would cast every frame to float64 on each call, a copy of the
whole window, and a float32 product would lose the chi^2 differences the model choice compares.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def storage_dtype(dtype) -> type:
    """The dtype frames are held in: float32 stays float32 (summed in float64 here), anything
    else becomes float64."""
    return np.float32 if np.dtype(dtype) == np.float32 else np.float64


@njit(cache=True, parallel=True)
def data_bilinear(data, idx, fy, fx):
    """``out[k, a, b] = sum_y fy[k, a, y] sum_x data[idx[k], y, x] fx[k, b, x]``.

    Parameters
    ----------
    data : ndarray, shape (n_frames, ny, nx), float32 or float64
        Masked frames (0 outside the mask).
    idx : ndarray of int, shape (m,)
        The frames to sum.
    fy, fx : ndarray, shapes (m, n_factors, ny), (m, n_factors, nx)
        The 1D factors of each of those frames.
    """
    m = idx.size
    n_a, ny = fy.shape[1], fy.shape[2]
    n_b, nx = fx.shape[1], fx.shape[2]
    out = np.zeros((m, n_a, n_b))
    for k in prange(m):
        frame = data[idx[k]]
        row = np.empty(n_b)
        for y in range(ny):
            for b in range(n_b):
                row[b] = 0.0
            for x in range(nx):
                v = np.float64(frame[y, x])
                for b in range(n_b):
                    row[b] += v * fx[k, b, x]
            for a in range(n_a):
                w = fy[k, a, y]
                for b in range(n_b):
                    out[k, a, b] += w * row[b]
    return out


@njit(cache=True, parallel=True)
def power_sums(data):
    """Per frame: the sum and the sum of squares of its values (float64), shape (n_frames, 2)."""
    n = data.shape[0]
    out = np.zeros((n, 2))
    for f in prange(n):
        s = 0.0
        ss = 0.0
        for v32 in data[f].ravel():
            v = np.float64(v32)
            s += v
            ss += v * v
        out[f, 0] = s
        out[f, 1] = ss
    return out
