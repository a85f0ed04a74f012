"""What a TA map and the analysis options must satisfy before any fit: bands inside the map,
separate donor and acceptor bands, kinetics present, a delay window that holds the rise; and
the note on the wavelengths an exclusion removed. Each check raises :class:`InputError` with the
reason in one line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.tamap import MIN_MAP_DELAYS
from tamkit.spectro.corrections import signal_onset_fs

#: fewest wavelengths in a bleach band (the peak tracking's Gaussian fit)
BLEACH_MIN_WAVELENGTHS = 5


def check_injection_bands(donor_nm: tuple[float, float], acceptor_nm: tuple[float, float]
                          ) -> None:
    """Refuse donor and acceptor bands that overlap: the same wavelengths cannot both decay
    (donor) and rise (acceptor), and the test would compare a band with itself."""
    (d_lo, d_hi), (a_lo, a_hi) = sorted(donor_nm), sorted(acceptor_nm)
    if d_lo <= a_hi and a_lo <= d_hi:
        raise InputError(f"the donor band {d_lo:g}-{d_hi:g} nm and the acceptor band "
                         f"{a_lo:g}-{a_hi:g} nm overlap; the injection test needs separate bands")


def check_bands_in_map(tamap: xr.DataArray, bands: dict[str, tuple[Any, int]]) -> None:
    """Refuse, before any fitting, a band (name: (band_nm or None, fewest wavelengths)) that
    holds fewer of the map's wavelengths than it needs."""
    wl = tamap["wavelength"].values
    for name, (band, need) in bands.items():
        if band is None:
            continue
        lo, hi = sorted(float(b) for b in band)
        inside = int(np.sum((wl >= lo) & (wl <= hi)))
        if inside < need:
            raise InputError(f"{name} band {lo:g}-{hi:g} nm holds {inside} of the map's "
                             f"wavelengths ({wl[0]:g}-{wl[-1]:g} nm); it needs at least {need}")


def exclusion_note(wl_nm: np.ndarray, exclude_nm) -> str:
    """Which bands were excluded and how many of the map's wavelengths each removed (a band
    outside the map, a unit slip such as eV or cm^-1 for nm, removes none: say so)."""
    parts, counts = [], []
    removed = np.zeros(wl_nm.size, dtype=bool)
    for band in exclude_nm:
        lo, hi = min(band), max(band)
        inside = (wl_nm >= lo) & (wl_nm <= hi)
        n = int(inside.sum())
        removed |= inside
        counts.append(n)
        parts.append(f"{lo:g}-{hi:g} nm ({n} wavelength{'s' if n != 1 else ''}"
                     + (f"; outside the map's {wl_nm.min():g}-{wl_nm.max():g} nm" if n == 0
                        else "") + ")")
    total = int(removed.sum())
    overlap = f", {total} in all (the bands overlap)" if total < sum(counts) else ""
    return "wavelengths excluded: " + ", ".join(parts) + overlap


def check_map_holds_kinetics(tamap: xr.DataArray) -> None:
    """Refuse a map whose every wavelength is constant in delay: it holds no kinetics (and the
    edge and noise estimates of a flat map are 0 / 0); and a map that is exactly 0 at all but
    a few delays (one live pixel was fitted exactly, RSS 1e-30, as a decay)."""
    values = np.asarray(tamap.values, dtype=float)
    change = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
    if not np.nanmax(change) > 0:
        raise InputError("the TA map is the same at every delay (constant at each wavelength): "
                         "it holds no kinetics to fit")
    with np.errstate(invalid="ignore"):
        live = np.flatnonzero(np.any(np.isfinite(values) & (values != 0), axis=1))
    if live.size < MIN_MAP_DELAYS:
        at = ", ".join(f"{d:g}" for d in tamap["delay"].values[live])
        raise InputError(f"the TA map is exactly 0 at all but {live.size} of its "
                         f"{values.shape[0]} delays ({at} fs): too few to fit kinetics (at "
                         f"least {MIN_MAP_DELAYS})")


#: a TA map spanning less than this (fs) in the assumed unit probably has its delays in another
SHORTEST_PLAUSIBLE_SPAN_FS = 1000.0


def check_window_holds_the_rise(tamap: xr.DataArray, delay_fs: tuple[float, float],
                                 irf_fwhm_fs: float) -> None:
    """Refuse a delay window that starts after the signal's rise: the global fit places time
    zero, the IRF and the chirp from that rise, and without it they take any value (a 1-10 ps
    window put 20 ps of chirp on a map whose time zero was at 0)."""
    try:
        onset_fs = signal_onset_fs(tamap)
    except InputError:
        return  # a map without kinetics is refused later, with its own reason
    if delay_fs[0] > onset_fs + 3 * abs(irf_fwhm_fs):
        raise InputError(
            f"the delay window starts at {delay_fs[0] / 1e3:g} ps, after the signal's rise "
            f"(time zero near {onset_fs / 1e3:.3g} ps): the global fit places time zero, the "
            "IRF and the chirp from that rise; start the window before it")
