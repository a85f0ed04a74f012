"""From raw camera frames to a dT/T stack: differential imaging, run averaging, baseline, t0.

A raw acquisition has dims ``(spot, run, chopper, delay, y, x)`` (any of spot/run may be
absent) and holds camera counts with the pump on and off. :func:`preprocess` is the one call:

    raw --differential--> dT/T per spot/run --average_runs--> dT/T --subtract_baseline--> stack

:func:`estimate_time_zero` fits the rise of the spot-integrated signal with an erf step.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import curve_fit
from scipy.special import erf

from tamkit.core.errors import InputError
from tamkit.core.stack import FRAME_DIMS, RAW_DIMS, validate_stack

#: MAD-normalised distance above which a run counts as an outlier (3.5 as in Iglewicz & Hoaglin).
OUTLIER_THRESHOLD = 3.5
#: Smallest robust scale of the run distances, as a fraction of their median (see outlier_mask).
RELATIVE_SCALE_FLOOR = 0.05
#: Scale factor making the median absolute deviation a consistent estimate of a normal sigma.
MAD_TO_SIGMA = 1.4826


def differential(raw: xr.DataArray) -> xr.DataArray:
    """Differential transmission dT/T = (T_on - T_off) / T_off per spot, run, delay and pixel.

    Pixels where T_off is not a positive finite count (dead or saturated-to-zero pixels, after
    dark subtraction) carry no transmission reference and become NaN instead of inf.

    Parameters
    ----------
    raw : xarray.DataArray
        Counts with a ``chopper`` dim labelled ``"on"`` and ``"off"``.

    Returns
    -------
    xarray.DataArray
        dT/T with the ``chopper`` dim removed; attrs say how many pixels were masked.
    """
    if "chopper" not in raw.dims:
        raise InputError("differential imaging needs a raw stack with a chopper (on/off) dim")
    labels = [str(v) for v in raw["chopper"].values] if "chopper" in raw.coords else []
    if sorted(labels) != ["off", "on"]:
        raise InputError(f"the chopper axis must hold 'on' and 'off' frames, got {labels}")
    on = raw.sel(chopper="on", drop=True)
    off = np.asarray(raw.sel(chopper="off", drop=True).values, dtype=float)
    # in place, two stack-sized float64 arrays in all: a raw acquisition is the largest array
    # tamkit holds (each temporary of the xarray expression cost ~0.2 s per 200 MB)
    dtt = np.array(on.values, dtype=float)
    no_reference = ~(np.isfinite(off) & (off > 0))
    np.subtract(dtt, off, out=dtt)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(dtt, off, out=dtt)
    _check_some_reference(no_reference, off, on.dims, on.coords)
    dtt[no_reference] = np.nan
    attrs = {**raw.attrs, "quantity": "dT/T"}
    attrs["masked_off_pixels"] = int(np.count_nonzero(no_reference & ~np.isnan(off)))
    return xr.DataArray(dtt, dims=on.dims, coords=on.coords, name="dT_T", attrs=attrs)


def _check_some_reference(no_reference: np.ndarray, off: np.ndarray, dims, coords) -> None:
    """Refuse a delay at which no pixel has a positive pump-off count: dT/T is undefined there,
    and the cause (dark-subtracted counts, swapped or mislabelled chopper frames) is in the
    raw data, not in the frame that later turns out all NaN."""
    axes = tuple(i for i, d in enumerate(dims) if d != "delay")
    dead = np.all(no_reference, axis=axes)
    if not dead.any():
        return
    i = int(np.flatnonzero(dead)[0])
    delay = coords["delay"].values[i] if "delay" in coords else i
    finite = off.take(i, axis=dims.index("delay"))
    finite = finite[np.isfinite(finite)]
    what = (f"are all zero or negative (largest {float(finite.max()):.3g})"
            if finite.size else "are all NaN")
    raise InputError(f"the pump-off counts at delay {delay:g} fs {what}: dT/T = (on - off) / off "
                     "needs positive transmitted counts; were they dark-subtracted to zero, or "
                     "are the chopper labels swapped?")


def _run_labels(dtt: xr.DataArray, run_dims: list[str]) -> list[dict[str, int]]:
    """(spot, run) labels of every acquisition, in the order of a C-order reshape."""
    axes = [
        dtt[d].values if d in dtt.coords else np.arange(dtt.sizes[d]) for d in run_dims
    ]
    grids = np.meshgrid(*axes, indexing="ij")
    return [
        {d: g.ravel()[k].item() for d, g in zip(run_dims, grids, strict=True)}
        for k in range(grids[0].size)
    ]


def run_distances(values: np.ndarray) -> np.ndarray:
    """RMS distance (over delay and pixels) of each acquisition to their pixel-wise median.

    ``values`` has shape ``(n_acquisitions, ...)``; NaN pixels are ignored.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
        reference = _nan_median_first_axis(values)
        sq = np.subtract(values, reference[None])
        np.square(sq, out=sq)
        return np.sqrt(_nan_mean(sq.reshape(values.shape[0], -1), axis=1))


def _nan_mean(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmean``, without its stack-sized copy when there is no NaN (the same sums)."""
    if np.isnan(values).any():
        return np.nanmean(values, axis=axis)
    return np.mean(values, axis=axis)


def _nan_median_first_axis(values: np.ndarray) -> np.ndarray:
    """``np.nanmedian(values, axis=0)``: ``np.median`` where a pixel has no NaN (5x faster:
    nanmedian over a short first axis goes through masked-array sorting), nanmedian on the
    pixels that have one."""
    reference = np.median(values, axis=0)
    with_nan = np.isnan(reference)
    if with_nan.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
            reference[with_nan] = np.nanmedian(values[:, with_nan], axis=0)
    return reference


def outlier_mask(distance: np.ndarray, threshold: float = OUTLIER_THRESHOLD) -> np.ndarray:
    """True for acquisitions whose distance lies more than ``threshold`` robust sigmas above
    the median distance (robust sigma = 1.4826 MAD, Iglewicz & Hoaglin's modified z-score,
    floored at :data:`RELATIVE_SCALE_FLOOR` of the median distance).

    Fewer than three acquisitions cannot outvote one another: none is rejected.
    """
    distance = np.asarray(distance, dtype=float)
    if distance.size < 3:
        return np.zeros(distance.shape, dtype=bool)
    median = np.nanmedian(distance)
    scale = MAD_TO_SIGMA * np.nanmedian(np.abs(distance - median))
    # Shot noise puts good runs at nearly equal distances (over ~1e4 pixels they agree to a
    # few %), so with few runs the MAD can be tiny by chance; flooring the scale at
    # RELATIVE_SCALE_FLOOR of the median distance keeps a run that is only marginally
    # noisier (< ~18 % farther at the default threshold) and still rejects glitches.
    scale = max(scale, RELATIVE_SCALE_FLOOR * abs(median), np.finfo(float).tiny)
    z = (distance - median) / scale
    return np.isnan(z) | (z > threshold)


def average_runs(dtt: xr.DataArray, threshold: float = OUTLIER_THRESHOLD) -> xr.DataArray:
    """Mean dT/T over runs and spots after rejecting outlier runs.

    Each (spot, run) acquisition is compared with the pixel-wise median of all acquisitions;
    its RMS distance to that median is a single number per acquisition, and acquisitions whose
    distance is an outlier (:func:`outlier_mask`) are dropped: a gain glitch or a lost lock
    makes a whole run far from the others, while shot noise keeps the good runs at similar
    distances. The rest are averaged pixel by pixel, ignoring NaN.

    Parameters
    ----------
    dtt : xarray.DataArray
        dT/T with dims ``(spot, run, delay, y, x)`` (either of spot/run may be absent).
    threshold : float
        Modified z-score above which a run is rejected.

    Returns
    -------
    xarray.DataArray
        ``(delay, y, x)``; attrs ``rejected_runs`` (list of ``{"spot": i, "run": j}``) and
        ``n_runs_averaged``.
    """
    run_dims = [d for d in RAW_DIMS if d in dtt.dims and d != "chopper"]
    if "chopper" in dtt.dims:
        raise InputError("average_runs needs dT/T; apply differential() to raw counts first")
    if not run_dims:
        return dtt
    ordered = dtt.transpose(*run_dims, *FRAME_DIMS)
    n_acq = int(np.prod([dtt.sizes[d] for d in run_dims]))
    values = np.asarray(ordered.values, dtype=float).reshape(n_acq, *ordered.shape[len(run_dims):])
    reject = outlier_mask(run_distances(values), threshold)
    labels = _run_labels(dtt, run_dims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels NaN in every run stay NaN
        kept = values[~reject] if reject.any() else values  # (no copy when none is rejected)
        mean = _nan_mean(kept, axis=0)
    attrs = {
        **dtt.attrs,
        "rejected_runs": [labels[k] for k in np.flatnonzero(reject)],
        "n_runs_averaged": int((~reject).sum()),
    }
    coords = {d: ordered[d] for d in FRAME_DIMS if d in ordered.coords}
    return xr.DataArray(mean, dims=FRAME_DIMS, coords=coords, name="dT_T", attrs=attrs)


def subtract_baseline(stack: xr.DataArray) -> xr.DataArray:
    """Remove the per-pixel mean of the frames before time zero (delay < 0), if there are any.

    Before time zero the pump has not arrived, so these frames hold the background (probe
    leakage, scattered pump, detector offset) that every later frame also holds. A pixel with
    no finite baseline value is left uncorrected.
    """
    before = stack["delay"] < 0
    n_baseline = int(before.sum())
    if n_baseline == 0:
        return stack
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        baseline = stack.sel(delay=before).mean("delay", skipna=True).fillna(0.0)
    out = stack - baseline
    out.attrs = {**stack.attrs, "baseline_frames_subtracted": n_baseline}
    return out.rename(stack.name)


def preprocess(stack: xr.DataArray, threshold: float = OUTLIER_THRESHOLD) -> xr.DataArray:
    """Raw counts or dT/T in, a validated dT/T ``(delay, y, x)`` stack out.

    Raw (with a chopper dim): :func:`differential`, :func:`average_runs`,
    :func:`subtract_baseline`. dT/T with spot/run dims: :func:`average_runs` then the baseline.
    dT/T ``(delay, y, x)``: :func:`subtract_baseline` only.
    """
    if "chopper" in stack.dims:
        stack = differential(stack)
    stack = average_runs(stack, threshold)
    stack = subtract_baseline(stack)
    return validate_stack(stack.transpose(*FRAME_DIMS))


def _erf_step(
    t: np.ndarray, offset: float, amplitude: float, t0: float, width: float
) -> np.ndarray:
    """Heaviside step convolved with a Gaussian IRF of standard deviation ``width``."""
    return offset + 0.5 * amplitude * (1.0 + erf((t - t0) / (np.sqrt(2.0) * width)))


def _first_crossing(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """Delay at which ``y`` first reaches ``level`` (linear interpolation between frames)."""
    k = int(np.argmax(y >= level))
    if k == 0:
        return float(t[0])
    frac = (level - y[k - 1]) / (y[k] - y[k - 1])
    return float(t[k - 1] + frac * (t[k] - t[k - 1]))


def estimate_time_zero(stack: xr.DataArray) -> tuple[float, float]:
    """Time zero (fs) and its standard error from the rise of the spot-integrated signal.

    The frame-mean dT/T S(t) is fitted near its rise with a step convolved with a Gaussian
    instrument response, S = c + A/2 [1 + erf((t - t0) / (sqrt(2) w))]; the rise is
    located from the 10 %, 50 % and 90 % crossings of the smoothed signal, and the fit uses
    every frame up to the 90 % crossing plus as many frames again as the rise spans (at least
    three), so that the later decay does not bias t0. The stack must start before the rise.

    Returns
    -------
    t0_fs, t0_err_fs : float
        Error from the fit covariance (scaled by the residual scatter). When the fitted rise
        is sharper than the delay step, t0 is only known to lie between two frames and the
        error is at least half that step.

    Raises
    ------
    InputError
        When no rise stands out of the noise.
    """
    validate_stack(stack)
    delay = np.asarray(stack["delay"].values, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        signal = np.asarray(stack.mean(("y", "x"), skipna=True).values, dtype=float)
    ok = np.isfinite(signal)
    delay, signal = delay[ok], signal[ok]
    if delay.size < 6:
        raise InputError("too few frames with a finite signal to estimate time zero")
    level0 = float(np.median(signal[:3]))
    # 3-point running median: one noisy frame must not trigger a crossing
    padded = np.concatenate([signal[:1], signal, signal[-1:]])
    smooth = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0) - level0
    sign = 1.0 if smooth.max() >= -smooth.min() else -1.0
    rise = sign * smooth
    peak = float(rise.max())
    noise = float(np.std(np.diff(signal[:3]))) if delay.size > 3 else 0.0
    if not peak > 0:
        raise InputError("no rise of the signal found; cannot estimate time zero")
    t10, t50, t90 = (_first_crossing(delay, rise, f * peak) for f in (0.1, 0.5, 0.9))
    i10, i90 = (int(np.argmax(rise >= f * peak)) for f in (0.1, 0.9))
    end = min(delay.size, i90 + max(3, i90 - i10) + 1)
    t, y = delay[:end], signal[:end]
    steps = np.diff(delay)
    step_min = float(steps.min())
    width0 = max((t90 - t10) / 2.563, step_min)  # 10-90 % rise of an erf is 2.563 w
    p0 = (level0, sign * peak, t50, width0)
    lower = (-np.inf, -np.inf, float(t[0]), 1e-3 * step_min)
    upper = (np.inf, np.inf, float(t[-1]), float(t[-1] - t[0]))
    try:
        popt, pcov = curve_fit(_erf_step, t, y, p0=p0, bounds=(lower, upper), maxfev=4000)
    except (RuntimeError, ValueError):
        raise InputError("the fit of the signal rise did not converge; time zero unknown") from None
    with np.errstate(invalid="ignore"):
        errors = np.sqrt(np.diag(pcov))
    _, amplitude, t0, width = (float(v) for v in popt)
    amp_err, t0_err = float(errors[1]), float(errors[2])
    if not (np.isfinite(amp_err) and abs(amplitude) > 3.0 * amp_err) or abs(amplitude) < noise:
        raise InputError("no rise of the signal stands out of the noise; time zero unknown")
    k = int(np.clip(np.searchsorted(delay, t0), 1, delay.size - 1))
    gap = float(delay[k] - delay[k - 1])
    if width < gap or not np.isfinite(t0_err):
        t0_err = max(t0_err if np.isfinite(t0_err) else 0.0, gap / 2.0)
    return t0, t0_err
