"""The TAM stack: a labelled ``xarray.DataArray`` of dT/T with dims ``(delay, y, x)``.

Coordinates: ``delay`` in fs, ``y`` and ``x`` in nm (pixel centres, 0 at the frame centre).
Attributes carry the metadata: ``pixel_nm`` and, where known, ``pump_nm``, ``probe_nm``,
``nabs``, ``temperature_K``, ``sample``, ``provenance``. Raw acquisitions carry extra dims
(``spot``, ``run``, ``chopper``) until :mod:`tamkit.preprocessing.differential` reduces them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError

FRAME_DIMS = ("delay", "y", "x")
RAW_DIMS = ("spot", "run", "chopper")
#: Attributes a stack may carry, with their meaning (for docs and validation).
KNOWN_ATTRS = {
    "pixel_nm": "pixel size at the sample (nm)",
    "pump_nm": "pump centre wavelength (nm)",
    "probe_nm": "probe centre wavelength (nm)",
    "nabs": "<N_abs>, mean photons absorbed per dot",
    "temperature_K": "lattice temperature (K)",
    "sample": "sample name",
    "perovskite_fraction": "perovskite volume fraction (0-1)",
    "pitch_nm": "dot-to-dot pitch (nm)",
    "provenance": "where the data came from",
    "quantity": "what the values are (dT/T or counts)",
}


def pixel_axis_nm(n: int, pixel_nm: float) -> np.ndarray:
    """Pixel-centre positions (nm) of an axis of ``n`` pixels, zero at the frame centre."""
    return (np.arange(n) - (n - 1) / 2.0) * pixel_nm


def make_stack(
    frames: np.ndarray,
    delay_fs: np.ndarray,
    pixel_nm: float,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Build and validate a dT/T stack from a ``(delay, y, x)`` array.

    Parameters
    ----------
    frames : ndarray, shape (n_delay, ny, nx)
        dT/T images, one per delay, in delay order.
    delay_fs : ndarray, shape (n_delay,)
        Pump-probe delays (fs); strictly increasing. Negative delays are the baseline.
    pixel_nm : float
        Pixel size at the sample (nm).
    attrs : mapping, optional
        Extra metadata (see :data:`KNOWN_ATTRS`).

    Returns
    -------
    xarray.DataArray
        dims ``(delay, y, x)``, coords in fs and nm.
    """
    # a dask array stays lazy (large stacks), float32 kept (each step reads its blocks of
    # frames as float64: a float64 copy of every chunk would double the memory of each read);
    # anything else becomes a float ndarray
    lazy = type(frames).__module__.startswith("dask")
    if lazy:
        frames = frames if frames.dtype in (np.float32, np.float64) else frames.astype(float)
    else:
        frames = np.asarray(frames, dtype=float)
    if frames.ndim == 2:
        frames = frames[None]
    if frames.ndim != 3:
        raise InputError(f"expected frames of shape (delay, y, x), got {frames.ndim} dimensions")
    delay_fs = np.asarray(delay_fs, dtype=float).ravel()
    if delay_fs.size != frames.shape[0]:
        raise InputError(delay_count_mismatch(delay_fs.size, frames.shape, 0))
    pixel_nm = _checked_pixel_nm(pixel_nm)
    ny, nx = frames.shape[1:]
    stack = xr.DataArray(
        frames,
        dims=FRAME_DIMS,
        coords={
            "delay": ("delay", delay_fs, {"units": "fs"}),
            "y": ("y", pixel_axis_nm(ny, pixel_nm), {"units": "nm"}),
            "x": ("x", pixel_axis_nm(nx, pixel_nm), {"units": "nm"}),
        },
        name="dT_T",
        attrs={"quantity": "dT/T", **dict(attrs or {}), "pixel_nm": pixel_nm},
    )
    validate_stack(stack)
    return stack


def _checked_pixel_nm(pixel_nm: Any) -> float:
    try:
        value = float(pixel_nm)
    except (TypeError, ValueError):
        raise InputError(f"pixel size must be a number in nm, got {pixel_nm!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"pixel size must be a positive number of nm, got {pixel_nm!r}")
    if not PIXEL_NM_RANGE[0] <= value <= PIXEL_NM_RANGE[1]:
        raise InputError(f"pixel size {value:g} nm is outside {PIXEL_NM_RANGE[0]:g}-"
                         f"{PIXEL_NM_RANGE[1]:g} nm; is the unit nm (not µm)?")
    return value


#: plausible pixel sizes at the sample (nm): 1 nm (far below any optical microscope's; a
#: pixel given in µm, 0.0556, is refused) to 1 cm
PIXEL_NM_RANGE = (1.0, 1e7)
#: largest |delay| (fs): one second
MAX_ABS_DELAY_FS = 1e15
#: magnitudes of frame values the fits handle (any unit: dT/T, counts, mOD)
VALUE_RANGE = (1e-100, 1e100)


def validate_stack(stack: xr.DataArray) -> xr.DataArray:
    """Check that ``stack`` is a usable dT/T stack; raise :class:`InputError` saying why not.

    Checks: dims ``(delay, y, x)``; at least 5x5 pixels; finite, strictly increasing delays
    (no duplicates); a positive pixel size; at least one frame at delay >= 0; no frame at
    delay >= 0 that is entirely NaN. A dask-backed stack stays lazy: the NaN test computes one
    count per frame, chunk by chunk.
    """
    delay = validate_layout(stack)
    if not np.issubdtype(stack.dtype, np.number) or np.issubdtype(stack.dtype, np.complexfloating):
        raise InputError(f"frame values must be real numbers, got {stack.dtype}")
    finite_per_frame, largest = _finite_counts_and_peaks(stack)
    dead = np.flatnonzero((finite_per_frame == 0) & (delay >= 0))
    if dead.size:
        raise InputError(
            f"frame at delay {delay[dead[0]]:g} fs has no finite pixel (all NaN); "
            "remove it or fix the file"
        )
    peak = float(np.max(largest)) if finite_per_frame.any() else 0.0
    if peak > VALUE_RANGE[1] or 0 < peak < VALUE_RANGE[0]:
        raise InputError(f"frame values reach at most {peak:.3g} in magnitude, outside "
                         f"{VALUE_RANGE[0]:g}-{VALUE_RANGE[1]:g}: rescale the data")
    return stack


#: frames per block of the value checks: a few MB at a time, never a copy of the whole stack
CHECK_BLOCK_FRAMES = 64


def _finite_counts_and_peaks(stack: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the number of finite pixels and the largest finite |value| (0 if none).

    A dask-backed stack is read one chunk of frames at a time, in this thread: dask's threaded
    scheduler had held several chunks and their temporaries at once (a 524 MB float32 stack
    opened lazily peaked at 920 MB in this check).
    """
    if stack.chunks is None:
        return _block_counts_and_peaks(stack.values)
    data = stack.data
    edges = np.cumsum((0, *data.chunks[0]))
    parts = [_block_counts_and_peaks(np.asarray(data[lo:hi].compute(scheduler="synchronous")))
             for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return (np.concatenate([c for c, _ in parts]), np.concatenate([p for _, p in parts]))


def _block_counts_and_peaks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = np.empty(values.shape[0], dtype=np.int64)
    peaks = np.empty(values.shape[0])
    for start in range(0, values.shape[0], CHECK_BLOCK_FRAMES):
        block = values[start:start + CHECK_BLOCK_FRAMES]
        finite = np.isfinite(block)
        counts[start:start + block.shape[0]] = finite.sum(axis=(1, 2))
        peaks[start:start + block.shape[0]] = np.where(finite, np.abs(block), 0).max(axis=(1, 2))
    return counts, peaks


def validate_layout(stack: xr.DataArray) -> np.ndarray:
    """The checks of :func:`validate_stack` that need no pixel values; returns the delays (fs)."""
    if not isinstance(stack, xr.DataArray):
        raise InputError("a TAM stack must be an xarray.DataArray with dims (delay, y, x)")
    if tuple(stack.dims) != FRAME_DIMS:
        raise InputError(f"stack dims must be {FRAME_DIMS}, got {tuple(stack.dims)}")
    ny, nx = stack.sizes["y"], stack.sizes["x"]
    if ny < 5 or nx < 5:
        raise InputError(f"frames of {ny}x{nx} pixels are too small to fit (need at least 5x5)")
    _checked_pixel_nm(stack.attrs.get("pixel_nm"))
    delay = np.asarray(stack["delay"].values, dtype=float)
    if not np.all(np.isfinite(delay)):
        raise InputError("delays contain NaN or infinite values")
    if np.any(np.abs(delay) > MAX_ABS_DELAY_FS):
        raise InputError(f"delays reach {np.max(np.abs(delay)):.3g} fs, beyond one second: "
                         "are they in fs?")
    steps = np.diff(delay)
    if np.any(steps == 0):
        dup = delay[1:][steps == 0][0]
        raise InputError(f"duplicate delay {dup:g} fs; delays must be unique")
    if np.any(steps < 0):
        raise InputError("delays are not sorted in increasing order; frames must be in delay order")
    if not np.any(delay >= 0):
        raise InputError("no frame at delay >= 0 fs: the stack holds only pre-time-zero baseline")
    return delay


def pixel_nm(stack: xr.DataArray) -> float:
    """Pixel size (nm) of a stack."""
    return _checked_pixel_nm(stack.attrs.get("pixel_nm"))


def baseline_frames(stack: xr.DataArray) -> xr.DataArray:
    """Frames before time zero (delay < 0): no pump signal, only noise and background."""
    return stack.sel(delay=stack["delay"] < 0)


def signal_frames(stack: xr.DataArray) -> xr.DataArray:
    """Frames at delay >= 0."""
    return stack.sel(delay=stack["delay"] >= 0)


def delay_count_mismatch(n_delays: int, shape: tuple[int, ...], delay_axis: int) -> str:
    """The message for delays that do not match the frames' delay axis, with the likely cause
    when another axis has as many entries (the delays stored last, as (y, x, delay))."""
    message = f"{n_delays} delays given for {shape[delay_axis]} frames; they must match"
    others = [k for k, n in enumerate(shape) if n == n_delays and k != delay_axis]
    if others:
        message += (f" (axis {others[-1]} of the array, shape {tuple(shape)}, has {n_delays} "
                    "entries: frames are read as (delay, y, x); move the delay axis first, "
                    "e.g. numpy.moveaxis(frames, -1, 0))")
    return message
