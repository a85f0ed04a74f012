"""The TA map: a labelled ``xarray.DataArray`` with dims ``(delay, wavelength)``.

Coordinates: ``delay`` in fs (strictly increasing; negative delays precede time zero) and
``wavelength`` in nm (strictly increasing after :func:`make_tamap`). Values are the transient
signal (Delta A in mOD, or dT/T: the ``quantity`` attribute says which). Attributes may carry
``temperature_K``, ``sample``, ``provenance`` and ``source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.stack import MAX_ABS_DELAY_FS, VALUE_RANGE

MAP_DIMS = ("delay", "wavelength")
#: Multiply a delay in these units by the factor to get fs.
DELAY_UNITS_FS = {"fs": 1.0, "ps": 1e3, "ns": 1e6, "us": 1e9}


def delay_factor_fs(unit: str) -> float:
    """Factor converting delays in ``unit`` (fs, ps, ns, us) to fs."""
    try:
        return DELAY_UNITS_FS[unit]
    except KeyError:
        units = ", ".join(DELAY_UNITS_FS)
        raise InputError(f"unknown delay unit {unit!r}; use one of {units}") from None


def make_tamap(
    values: np.ndarray,
    delay_fs: np.ndarray,
    wavelength_nm: np.ndarray,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Build and validate a TA map from a ``(delay, wavelength)`` array.

    Parameters
    ----------
    values : ndarray, shape (n_delay, n_wavelength)
        Transient signal.
    delay_fs : ndarray, shape (n_delay,)
        Pump-probe delays (fs), strictly increasing.
    wavelength_nm : ndarray, shape (n_wavelength,)
        Probe wavelengths (nm); sorted into increasing order (with the columns) if decreasing.
    attrs : mapping, optional
        Metadata (``quantity``, ``temperature_K``, ``sample``, ``provenance``...).

    Returns
    -------
    xarray.DataArray
        dims ``(delay, wavelength)``.
    """
    values = np.asarray(values, dtype=float)
    delay_fs = np.asarray(delay_fs, dtype=float).ravel()
    wavelength_nm = np.asarray(wavelength_nm, dtype=float).ravel()
    if values.ndim != 2:
        raise InputError(f"a TA map must be 2-D (delay x wavelength), got {values.ndim} dimensions")
    if values.shape != (delay_fs.size, wavelength_nm.size):
        raise InputError(
            f"map of shape {values.shape} does not match {delay_fs.size} delays x "
            f"{wavelength_nm.size} wavelengths"
        )
    if wavelength_nm.size > 1 and np.all(np.diff(wavelength_nm) < 0):
        wavelength_nm = wavelength_nm[::-1]
        values = values[:, ::-1]
    tamap = xr.DataArray(
        values,
        dims=MAP_DIMS,
        coords={
            "delay": ("delay", delay_fs, {"units": "fs"}),
            "wavelength": ("wavelength", wavelength_nm, {"units": "nm"}),
        },
        name="ta",
        attrs={"quantity": "dA", **dict(attrs or {})},
    )
    return validate_tamap(tamap)


#: longest plausible probe wavelength (nm): 1 mm (the delay and value limits are the stacks')
MAX_WAVELENGTH_NM = 1e6


#: fewest delays a TA map may have
MIN_MAP_DELAYS = 5


def validate_tamap(tamap: xr.DataArray) -> xr.DataArray:
    """Check that ``tamap`` is a usable TA map; raise :class:`InputError` saying why not.

    Checks: dims ``(delay, wavelength)``; at least 5 delays; finite, strictly increasing delays
    and wavelengths; positive wavelengths; numeric values, at least one of them finite at a
    delay >= 0 (NaN pixels, dead spectra and columns are allowed: the analysis masks them).
    """
    if not isinstance(tamap, xr.DataArray):
        raise InputError("a TA map must be an xarray.DataArray with dims (delay, wavelength)")
    if tuple(tamap.dims) != MAP_DIMS:
        raise InputError(f"TA map dims must be {MAP_DIMS}, got {tuple(tamap.dims)}")
    if tamap.sizes["delay"] < MIN_MAP_DELAYS:
        raise InputError(f"a TA map needs at least {MIN_MAP_DELAYS} delays, "
                         f"got {tamap.sizes['delay']}")
    for dim, unit in (("delay", "fs"), ("wavelength", "nm")):
        axis = np.asarray(tamap[dim].values, dtype=float)
        if not np.all(np.isfinite(axis)):
            raise InputError(f"{dim}s contain NaN or infinite values")
        steps = np.diff(axis)
        if np.any(steps == 0):
            raise InputError(f"duplicate {dim} {axis[1:][steps == 0][0]:g} {unit}")
        if np.any(steps < 0):
            raise InputError(f"{dim}s are not in increasing order")
    if np.any(tamap["wavelength"].values <= 0):
        raise InputError("wavelengths must be positive (nm)")
    if np.max(tamap["wavelength"].values) > MAX_WAVELENGTH_NM:
        raise InputError(f"wavelengths reach {np.max(tamap['wavelength'].values):.3g} nm, beyond "
                         "1 mm: are they in nm?")
    if np.max(np.abs(tamap["delay"].values)) > MAX_ABS_DELAY_FS:
        raise InputError(f"delays reach {np.max(np.abs(tamap['delay'].values)):.3g} fs, beyond "
                         "one second: is the delay unit right (--delay-unit)?")
    values = np.asarray(tamap.values)
    if not np.issubdtype(values.dtype, np.number):
        raise InputError(f"TA map values must be numeric, got {values.dtype}")
    delay = tamap["delay"].values
    if not np.any(delay >= 0):
        raise InputError("no delay >= 0 fs: the map holds only pre-time-zero baseline")
    # dead spectra, columns and pixels (NaN) are masked by the analysis
    # (tamkit.spectro.corrections.mask_invalid); a map with no finite value at all is refused
    after = values[delay >= 0]
    if not np.any(np.isfinite(after)):
        raise InputError("the TA map has no finite value at delays >= 0")
    peak = float(np.max(np.abs(after[np.isfinite(after)])))
    if peak == 0:
        raise InputError("the TA map is zero at every delay >= 0: there is no signal to fit")
    if not VALUE_RANGE[0] <= peak <= VALUE_RANGE[1]:
        raise InputError(f"TA map values reach at most {peak:.3g} in magnitude, outside "
                         f"{VALUE_RANGE[0]:g}-{VALUE_RANGE[1]:g}: rescale the data")
    return tamap


def band_trace(tamap: xr.DataArray, band_nm: tuple[float, float]) -> xr.DataArray:
    """Mean of the map over a wavelength band (inclusive), as a function of delay."""
    lo, hi = sorted(float(b) for b in band_nm)
    sel = tamap.sel(wavelength=slice(lo, hi))
    if sel.sizes["wavelength"] == 0:
        wl = tamap["wavelength"].values
        raise InputError(
            f"band {lo:g}-{hi:g} nm lies outside the map's wavelengths ({wl[0]:g}-{wl[-1]:g} nm)"
        )
    return sel.mean("wavelength")
