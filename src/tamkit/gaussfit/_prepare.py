"""Before fitting: stack checks, bad-pixel masks, the noise level and the sign of the signal.

All of it works on a few frames or on chunks of frames, so a dask-backed stack is never loaded
whole.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import xarray as xr
from scipy import ndimage

from tamkit.core.errors import InputError
from tamkit.core.frames import FrameReader
from tamkit.core.stack import pixel_nm as stack_pixel_nm
from tamkit.core.stack import validate_layout
from tamkit.gaussfit._outliers import outlier_maps

#: 1 / Phi^-1(3/4): MAD of a normal variable times this is its standard deviation.
MAD_TO_STD = 1.482602218505602
#: Robust |z| of a pixel against its 3x3 median above which it is an outlier in that frame.
HOT_Z = 8.0
#: Fraction of sampled frames in which a pixel must be an outlier to be called hot.
HOT_PERSISTENCE = 0.6
#: Frames sampled across the stack for the hot-pixel map.
HOT_SAMPLE_FRAMES = 12
#: Early positive-delay frames that decide the sign of the signal.
SIGN_FRAMES = 5
#: Bytes of float64 frames processed at once.
CHUNK_BYTES = 64 * 2**20


def check_stack(stack: xr.DataArray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Check dims, coordinates and pixel size without loading the frames.

    Returns delay_fs, x_nm, y_nm and pixel_nm.
    """
    delay = validate_layout(stack)
    pix = stack_pixel_nm(stack)
    x_nm = np.asarray(stack["x"].values, dtype=float)
    y_nm = np.asarray(stack["y"].values, dtype=float)
    return delay, x_nm, y_nm, pix


def chunk_frames(ny: int, nx: int) -> int:
    """Frames per chunk so that one chunk of float64 stays near :data:`CHUNK_BYTES`."""
    return int(max(1, CHUNK_BYTES // (8 * ny * nx)))


def iter_chunks(
    stack: xr.DataArray, indices: np.ndarray, reader: FrameReader | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (frame indices, float64 frames) over ``indices`` in memory-bounded chunks."""
    step = chunk_frames(stack.sizes["y"], stack.sizes["x"])
    reader = reader or FrameReader(stack)
    for start in range(0, indices.size, step):
        idx = indices[start : start + step]
        yield idx, reader.read(idx, copy=False)  # the fits only read their frames


def hot_pixel_map(stack: xr.DataArray, baseline: np.ndarray,
                  reader: FrameReader | None = None) -> np.ndarray:
    """Persistent hot pixels (bool, (y, x)): local outliers in most sampled frames.

    A pixel is hot when it stands more than :data:`HOT_Z` robust standard deviations from the
    median of its 3x3 neighbourhood in at least :data:`HOT_PERSISTENCE` of the frames sampled
    across the stack and, if there are baseline frames, also in that share of the baseline
    frames: before time zero there is no spot, so the centre of a sharp spot is never flagged.
    """
    n = stack.sizes["delay"]
    sample = np.unique(np.linspace(0, n - 1, min(n, HOT_SAMPLE_FRAMES)).round().astype(int))
    sample = np.union1d(sample, baseline[:HOT_SAMPLE_FRAMES])
    counts = np.zeros((stack.sizes["y"], stack.sizes["x"]))
    base_counts = np.zeros_like(counts)
    for idx, frames in iter_chunks(stack, sample, reader):
        outlier = outlier_maps(frames, HOT_Z, MAD_TO_STD)
        counts += outlier.sum(axis=0)
        base_counts += outlier[np.isin(idx, baseline)].sum(axis=0)
    hot = counts >= HOT_PERSISTENCE * sample.size
    n_base = np.intersect1d(sample, baseline).size
    if n_base:
        hot &= base_counts >= HOT_PERSISTENCE * n_base
    return hot


def baseline_noise(frames: np.ndarray, bad: np.ndarray) -> float:
    """Per-pixel noise (data units) from baseline frames, MAD-based and pooled over pixels.

    Each pixel's deviations from its own baseline mean (which removes any fixed background
    pattern) are pooled; 1.4826 MAD estimates the standard deviation and the factor
    sqrt(n / (n - 1)) undoes the shrinkage of deviations about a mean of n samples. A single
    baseline frame gives deviations about its median instead.
    """
    good = np.isfinite(frames) & ~bad[None]
    n = frames.shape[0]
    if n >= 2:
        counts = good.sum(axis=0)
        mean = np.where(good, frames, 0.0).sum(axis=0) / np.maximum(counts, 1)
        usable = good & (counts >= 2)[None]
        dev = (frames - mean[None])[usable]
        counts_used = np.broadcast_to(counts[None], frames.shape)[usable]
        dev = dev * np.sqrt(counts_used / (counts_used - 1.0))
    else:
        values = frames[good]
        dev = values - np.median(values)
    if dev.size < 10:
        return float("nan")
    return float(MAD_TO_STD * np.median(np.abs(dev - np.median(dev))))


def difference_noise(frames: np.ndarray, bad: np.ndarray) -> float:
    """Robust noise (data units) from differences of horizontally adjacent pixels.

    A smooth spot hardly changes from one pixel to the next, so MAD of the differences over
    sqrt(2) estimates the per-pixel noise; used as a working scale before residuals exist.
    """
    good = np.isfinite(frames) & ~bad[None]
    diff = np.diff(frames, axis=2)[good[:, :, 1:] & good[:, :, :-1]]
    if diff.size < 10:
        return float("nan")
    return float(MAD_TO_STD * np.median(np.abs(diff - np.median(diff))) / np.sqrt(2.0))


def signal_sign(frames: np.ndarray, bad: np.ndarray, baseline: np.ndarray | None = None) -> int:
    """+1 (bleach) or -1 (photoinduced absorption) from the early positive-delay frames.

    Their mean, less a reference level, is box-smoothed over 3x3 pixels; the sign of the
    largest excursion is the sign of the signal. The level is the median of the baseline
    (pre-time-zero) frames when there are any, else the median of the frame's outer ring of
    pixels: never the early frames' own median, which a spot wider than half the field raises
    to its own level (a 1200 nm spot in a 2700 nm field was called a bleach for a PIA).
    """
    good = np.isfinite(frames) & ~bad[None]
    counts = good.sum(axis=0)
    mean = np.where(good, frames, 0.0).sum(axis=0) / np.maximum(counts, 1)
    valid = counts > 0
    if not valid.any():
        return 1
    level = np.nan
    if baseline is not None and baseline.size:
        quiet = baseline[np.isfinite(baseline) & ~bad[None]]
        level = float(np.median(quiet)) if quiet.size else np.nan
    if not np.isfinite(level):
        ring = border_ring(~valid)
        level = float(np.median(mean[ring])) if ring.any() else float(np.median(mean[valid]))
    mean = np.where(valid, mean - level, 0.0)
    num = ndimage.uniform_filter(mean, size=3, mode="constant")
    den = ndimage.uniform_filter(valid.astype(float), size=3, mode="constant")
    smooth = np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)
    peak = np.unravel_index(np.argmax(np.abs(smooth)), smooth.shape)
    return 1 if smooth[peak] >= 0 else -1


def border_ring(bad: np.ndarray) -> np.ndarray:
    """The frame's outermost ring of pixels, without the masked (``bad``) ones."""
    border = np.zeros(bad.shape, dtype=bool)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    return border & ~bad


def checked_mask(mask: np.ndarray | None, ny: int, nx: int) -> np.ndarray:
    """User mask as bool (y, x), True where a pixel must be excluded."""
    if mask is None:
        return np.zeros((ny, nx), dtype=bool)
    arr = np.asarray(mask)
    if arr.shape != (ny, nx):
        raise InputError(f"mask must have the frame shape {(ny, nx)}, got {arr.shape}")
    return arr.astype(bool)
