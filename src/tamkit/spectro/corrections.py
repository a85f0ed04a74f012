"""Corrections of TA maps: background before time zero, chirp, and averaging of scans.

The chirp (group-velocity dispersion of the white-light probe) makes time zero depend on the
probe wavelength. It is modelled as a polynomial t0(lambda) in the normalised wavelength
x of the probe frequency (:func:`tamkit.models.ta_kinetics.chirp_design`). A model-free
estimate (:func:`estimate_chirp`) starts the global fit, which refines it with the IRF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from tamkit.core.errors import InputError
from tamkit.core.tamap import MAP_DIMS, validate_tamap
from tamkit.models.ta_kinetics import chirp_design, chirp_normalisation


@dataclass
class ChirpEstimate:
    """Time zero per wavelength from the rising edges, and a robust polynomial through it (fs)."""

    wavelength_nm: np.ndarray
    t0_fs: np.ndarray
    weight: np.ndarray
    coeffs_fs: np.ndarray
    nu_center_um: float
    nu_half_um: float
    #: Gaussian width (fs) of the rise from its 10-50 % times (NaN without a rising edge)
    rise_sigma_fs: float = float("nan")

    def __call__(self, wavelength_nm) -> np.ndarray:
        """The polynomial time zero (fs) at the given wavelengths."""
        x = chirp_design(np.atleast_1d(wavelength_nm), len(self.coeffs_fs) - 1, self.nu_center_um,
                         self.nu_half_um)
        return x @ self.coeffs_fs

    def coefficients_for(self, nu_center_um: float, nu_half_um: float) -> np.ndarray:
        """The same polynomial expressed in another normalisation of the probe frequency."""
        if np.isclose(nu_center_um, self.nu_center_um) and np.isclose(nu_half_um, self.nu_half_um):
            return self.coeffs_fs.copy()
        wl = np.linspace(self.wavelength_nm.min(), self.wavelength_nm.max(), 64)
        design = chirp_design(wl, len(self.coeffs_fs) - 1, nu_center_um, nu_half_um)
        return np.linalg.lstsq(design, self(wl), rcond=None)[0]


def _minus_early_background(tamap: xr.DataArray) -> np.ndarray:
    """The map's values (NaN as 0) less the median of its earliest negative delays (the first
    5 % of the span), when there are at least 3 of them."""
    delay = tamap["delay"].values
    y = np.nan_to_num(tamap.values)
    pre = (delay < delay[0] + 0.05 * (delay[-1] - delay[0])) & (delay < 0)
    return y - np.median(y[pre], axis=0) if pre.sum() >= 3 else y


def _onset_fs(y: np.ndarray, delay: np.ndarray) -> float:
    """The first delay (fs) at which the summed absolute signal reaches half its maximum."""
    total = np.abs(y).sum(axis=1)
    if not total.max() > 0:
        raise InputError("the TA map does not change with delay (constant at every "
                         "wavelength): it holds no kinetics to fit")
    return float(delay[int(np.argmax(total >= 0.5 * total.max()))])


def signal_onset_fs(tamap: xr.DataArray) -> float:
    """Delay (fs) at which the map's summed absolute signal first reaches half its maximum:
    the global time zero within the IRF and chirp (the start of :func:`estimate_chirp`)."""
    tamap = validate_tamap(tamap)
    return _onset_fs(_minus_early_background(tamap), tamap["delay"].values)


def estimate_chirp(
    tamap: xr.DataArray,
    order: int = 3,
    window_fs: float = 2000.0,
    smooth: int = 5,
) -> ChirpEstimate:
    """Estimate time zero vs wavelength from the rising edge of the signal.

    At each wavelength (averaged over ``smooth`` neighbours against noise), time zero is where
    the absolute signal first reaches half its maximum within ``window_fs`` after the global
    onset: for a step seen through a symmetric IRF that is exactly time zero. A polynomial of
    degree ``order`` is fitted through these points with a robust (soft-L1) loss weighted by the
    signal size, so that wavelengths without signal or with a sign change do not pull it.

    Parameters
    ----------
    tamap : DataArray (delay, wavelength)
        The map, not chirp-corrected; delay in fs.
    order : int
        Polynomial degree.
    window_fs : float
        How far after the global onset (fs) to look for each wavelength's maximum.
    smooth : int
        Number of neighbouring wavelengths averaged before finding the edge.
    """
    tamap = validate_tamap(tamap)
    delay = tamap["delay"].values
    wl = tamap["wavelength"].values
    y = _minus_early_background(tamap)
    if smooth > 1 and wl.size >= smooth:
        kernel = np.ones(smooth) / smooth
        y = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, y)
    onset = _onset_fs(y, delay)
    early = delay <= onset + window_fs
    a = np.abs(y[early])
    peak = a.max(axis=0)
    t0 = np.empty(wl.size)
    t10 = np.full(wl.size, np.nan)
    no_edge = np.zeros(wl.size, dtype=bool)
    for j in range(wl.size):
        t0[j] = _first_crossing_fs(a[:, j], 0.5 * peak[j], delay)
        if not np.isfinite(t0[j]):
            # half the maximum already at the first delay: no rising edge seen (no signal, or
            # an offset); such wavelengths carry no weight in the polynomial
            t0[j] = delay[0]
            no_edge[j] = True
            continue
        t10[j] = _first_crossing_fs(a[:, j], 0.1 * peak[j], delay)
    # noise from differences between neighbouring wavelengths, or along delay for one
    # wavelength (no neighbours)
    steps = np.diff(y[early], axis=1) if wl.size > 1 else np.diff(y, axis=0)
    noise = (np.median(np.abs(steps)) if steps.size else 0.0) + 1e-300
    weight = np.where(no_edge, 0.0, np.clip(peak / noise, 0, None))
    if not weight.any():
        weight = np.ones(wl.size)
    center, half = chirp_normalisation(wl)
    design = chirp_design(wl, order, center, half)
    w = np.sqrt(weight / weight.max())
    c0 = np.linalg.lstsq(design * w[:, None], t0 * w, rcond=None)[0]
    grid = np.diff(delay[early]) if early.sum() > 1 else np.diff(delay)
    scale = max(float(np.median(grid)), 1.0)
    sol = least_squares(lambda c: (design @ c - t0) * w, c0, loss="soft_l1", f_scale=scale)
    return ChirpEstimate(wl, t0, weight, sol.x, center, half, _rise_sigma_fs(t0, t10, weight))


def _first_crossing_fs(trace: np.ndarray, level: float, delay: np.ndarray) -> float:
    """The first delay (fs, linearly interpolated) at which ``trace`` reaches ``level``; NaN if
    it is there from the first delay on (no rising edge) or never."""
    above = np.flatnonzero(trace >= level)
    if above.size == 0 or above[0] == 0:
        return float("nan")
    i = above[0]
    lo, hi = trace[i - 1], trace[i]
    frac = (level - lo) / (hi - lo) if hi > lo else 0.0
    return float(delay[i - 1] + frac * (delay[i] - delay[i - 1]))


#: a step seen through a Gaussian IRF of width sigma rises from 10 % to 50 % in 1.2816 sigma
_RISE_10_50_SIGMAS = 1.2816


def _rise_sigma_fs(t50: np.ndarray, t10: np.ndarray, weight: np.ndarray) -> float:
    """The rise's Gaussian width (fs) from the 10-50 % rise times: their weighted 10th
    percentile over the wavelengths with an edge (the promptly rising ones: a slower rise is
    kinetics, not the IRF); NaN without any. A decay during the rise shortens it, the delay
    grid and the noise lengthen it: a measure of where the rise begins, not a fitted IRF."""
    rise = (t50 - t10) / _RISE_10_50_SIGMAS
    ok = np.isfinite(rise) & (weight > 0)
    if not ok.any():
        return float("nan")
    order = np.argsort(rise[ok])
    cum = np.cumsum(weight[ok][order])
    return float(rise[ok][order][np.searchsorted(cum, 0.1 * cum[-1])])


def correct_chirp(
    tamap: xr.DataArray, t0_fs: Callable[[np.ndarray], np.ndarray] | np.ndarray
) -> xr.DataArray:
    """Shift each wavelength's trace so that its time zero falls at delay 0.

    Parameters
    ----------
    tamap : DataArray (delay, wavelength)
    t0_fs : callable or ndarray
        Time zero (fs) per wavelength, or a callable of wavelength (nm), e.g. a
        :class:`ChirpEstimate` or ``GlobalFit.t0_fs``.

    Returns
    -------
    DataArray
        The map on the same delay grid, linearly interpolated; delays at which some wavelength
        would need data outside the measured range are dropped rather than extrapolated.
    """
    tamap = validate_tamap(tamap)
    wl = tamap["wavelength"].values
    t0 = np.asarray(t0_fs(wl) if callable(t0_fs) else t0_fs, dtype=float)
    if t0.shape != wl.shape:
        raise InputError(f"{t0.size} time zeros given for {wl.size} wavelengths")
    delay = tamap["delay"].values
    out = np.empty(tamap.shape)
    for j in range(wl.size):
        out[:, j] = np.interp(delay + t0[j], delay, tamap.values[:, j], left=np.nan, right=np.nan)
    keep = np.all(np.isfinite(out), axis=1)
    corrected = tamap.copy(data=out).isel(delay=np.flatnonzero(keep))
    corrected.attrs["chirp_corrected"] = 1
    return corrected


def subtract_background(
    tamap: xr.DataArray, before_fs: float | np.ndarray = 0.0, min_delays: int = 3
) -> xr.DataArray:
    """Subtract the mean signal recorded before ``before_fs`` (scatter, pump leakage, offsets).

    ``before_fs`` is one delay or one per wavelength (e.g. the chirp minus a few IRF widths).
    Wavelengths with fewer than ``min_delays`` earlier spectra are left unchanged; if that is
    every wavelength, :class:`InputError` is raised. ``attrs["background_wavelengths"]`` counts
    the corrected wavelengths.
    """
    tamap = validate_tamap(tamap)
    delay = tamap["delay"].values
    limit = np.broadcast_to(np.asarray(before_fs, dtype=float), tamap["wavelength"].shape)
    pre = (delay[:, None] < limit[None, :]) & np.isfinite(tamap.values)
    counts = pre.sum(axis=0)
    usable = counts >= min_delays
    if not usable.any():
        raise InputError(
            f"fewer than {min_delays} spectra before time zero at every wavelength; cannot "
            "estimate the background"
        )
    values = np.where(pre, tamap.values, 0.0)
    background = np.where(usable, values.sum(axis=0) / np.maximum(counts, 1), 0.0)
    out = tamap.copy(data=tamap.values - background[None, :])
    out.attrs = {**tamap.attrs, "background_subtracted": 1,
                 "background_wavelengths": int(usable.sum())}
    return out


def average_scans(
    scans: Sequence[xr.DataArray] | xr.DataArray, reject_mad: float | None = 5.0
) -> xr.DataArray:
    """Average repeated scans of one map, rejecting outliers point by point.

    Parameters
    ----------
    scans : sequence of DataArray (delay, wavelength), or one DataArray with a ``scan`` dim
        Scans on the same delay and wavelength grid.
    reject_mad : float or None
        Points further than this many scaled median absolute deviations (1.4826 MAD, the
        Gaussian standard deviation) from the per-point median are ignored (e.g. a probe
        flicker in one scan). None keeps every point. Needs at least 3 scans to act.

    Returns
    -------
    DataArray
        The mean map, with ``attrs["n_scans"]``.
    """
    if isinstance(scans, xr.DataArray):
        if "scan" not in scans.dims:
            raise InputError("a DataArray of scans needs a 'scan' dimension")
        stacked = scans.transpose("scan", *MAP_DIMS)
    else:
        scans = list(scans)
        if not scans:
            raise InputError("no scans to average")
        for s in scans:
            validate_tamap(s)
        try:
            stacked = xr.concat(scans, dim="scan", join="exact")
        except ValueError:
            raise InputError("scans must share the same delay and wavelength grids") from None
    values = stacked.values
    if reject_mad is not None and values.shape[0] >= 3:
        med = np.nanmedian(values, axis=0)
        mad = 1.4826 * np.nanmedian(np.abs(values - med), axis=0)
        bad = np.abs(values - med) > reject_mad * np.where(mad > 0, mad, np.inf)
        values = np.where(bad, np.nan, values)
    mean = stacked.isel(scan=0).copy(data=np.nanmean(values, axis=0))
    mean.attrs["n_scans"] = int(values.shape[0])
    return validate_tamap(mean)


def mask_invalid(tamap: xr.DataArray, max_nan_fraction: float = 0.5
                 ) -> tuple[xr.DataArray, list[str]]:
    """Drop dead wavelengths and delays; leave isolated NaN pixels to the fit's mask.

    A wavelength (detector column) or delay (spectrum) with more than ``max_nan_fraction`` of
    its values NaN or infinite is dropped, and so is a wavelength that is exactly 0 at every
    delay while others are not (a dead channel written as zeros); the remaining non-finite
    pixels become NaN, which :func:`tamkit.spectro.globalfit.global_fit` gives zero weight.
    Returns the map and notes saying what was masked (empty if nothing).
    """
    values = np.asarray(tamap.values, dtype=float)
    bad = ~np.isfinite(values)
    zero = np.all(values == 0, axis=0)
    if zero.all():
        zero[:] = False  # an all-zero map is refused by validate_tamap, not masked here
    if not bad.any() and not zero.any():
        return tamap, []
    notes = []
    dead_nan = bad.mean(axis=0) > max_nan_fraction
    dead_wl = dead_nan | zero
    dead_t = bad[:, ~dead_wl].mean(axis=1) > max_nan_fraction if (~dead_wl).any() else dead_wl
    if dead_wl.all() or dead_t.all():
        raise InputError("the TA map has no finite values to analyse")
    for dead, what in ((dead_nan, "NaN/inf"), (zero & ~dead_nan, "exactly 0 at every delay")):
        if dead.any():
            wl = tamap["wavelength"].values[dead]
            notes.append(f"{dead.sum()} dead wavelength column(s) masked ({what}: "
                         f"{', '.join(f'{w:g}' for w in wl[:5])}{' ...' if wl.size > 5 else ''}"
                         " nm)")
    if dead_t.any():
        notes.append(f"{dead_t.sum()} delay(s) with mostly NaN/inf spectra masked")
    out = tamap.isel(wavelength=np.flatnonzero(~dead_wl), delay=np.flatnonzero(~dead_t))
    rest = ~np.isfinite(out.values)
    if rest.any():
        notes.append(f"{rest.sum()} isolated NaN/inf pixel(s) given zero weight in the fit")
        out = out.copy(data=np.where(rest, np.nan, out.values))
    return out, notes


def select_window(
    tamap: xr.DataArray,
    wavelength_nm: tuple[float, float] | None = None,
    delay_fs: tuple[float, float] | None = None,
    exclude_nm: Sequence[tuple[float, float]] = (),
) -> xr.DataArray:
    """The map within a wavelength and a delay window (inclusive), without excluded bands.

    ``exclude_nm`` lists wavelength bands (nm, inclusive) to remove, e.g. pump scatter (the
    scatter cut of KiMoPack). Raises :class:`InputError` if too little is left to fit.
    """
    wl = tamap["wavelength"].values
    delay = tamap["delay"].values
    keep_wl = np.ones(wl.size, dtype=bool)
    if wavelength_nm is not None:
        lo, hi = sorted(wavelength_nm)
        keep_wl &= (wl >= lo) & (wl <= hi)
    for lo, hi in exclude_nm:
        lo, hi = sorted((lo, hi))
        keep_wl &= ~((wl >= lo) & (wl <= hi))
    keep_t = np.ones(delay.size, dtype=bool)
    if delay_fs is not None:
        lo, hi = sorted(delay_fs)
        keep_t &= (delay >= lo) & (delay <= hi)
    if keep_wl.sum() < 1:
        raise InputError(f"no wavelength left in the window and exclusions "
                         f"(the map covers {wl[0]:g}-{wl[-1]:g} nm)")
    if keep_t.sum() < 5:
        raise InputError(f"fewer than 5 delays left in the delay window "
                         f"(the map covers {delay[0] / 1e3:g}-{delay[-1] / 1e3:g} ps)")
    out = tamap.isel(wavelength=np.flatnonzero(keep_wl), delay=np.flatnonzero(keep_t))
    return validate_tamap(out)
