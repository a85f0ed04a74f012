"""Per-frame 2D Gaussian fits of a TAM stack: the driver shared by both optimisers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numba
import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.frames import FrameReader
from tamkit.gaussfit import _batch, _prepare
from tamkit.gaussfit._results import Geometry, classify, physical_results

#: Residuals beyond this many noise standard deviations, above what the number of pixels
#: explains (sqrt(2 ln N) is the typical largest |z| of N normal draws), are spikes.
SPIKE_MARGIN_Z = 1.5
#: At most this share of a frame's pixels may be masked as spikes; more means a misfit.
SPIKE_MAX_SHARE = 0.005

Engine = Callable[..., tuple[np.ndarray, ...]]
MODELS = ("isotropic", "elliptical")


def compiled_engine(model, frames, static_bad, border, scale, ux, uy, sign, threshold, cap):
    """Batched numba Levenberg-Marquardt (see :func:`tamkit.gaussfit._batch.fit_batch`)."""
    code = _batch.ISO if model == "isotropic" else _batch.ELLIPTICAL
    return _batch.fit_batch(
        frames,
        static_bad,
        border,
        LEVEL_NOISE_UNITS * float(scale),
        float(scale),
        ux,
        uy,
        float(sign),
        code,
        float(threshold),
        cap,
        numba.get_num_threads(),
    )


def fit_frames(
    stack: xr.DataArray,
    model: Literal["isotropic", "elliptical"] = "isotropic",
    *,
    noise_std: float | None = None,
    min_snr: float = 3.0,
    mask: np.ndarray | None = None,
) -> xr.Dataset:
    """Fit a 2D Gaussian with offset to every frame of a TAM stack.

    Parameters
    ----------
    stack : xarray.DataArray
        dT/T with dims (delay, y, x), delay in fs, x and y in nm, attrs ``pixel_nm``. May be
        dask-backed: frames are then loaded in chunks, never all at once.
    model : {"isotropic", "elliptical"}
        ``A exp(-r^2 / 2 sigma^2) + offset``, or a rotated Gaussian with principal widths
        sigma_x (along theta) and sigma_y.
    noise_std : float, optional
        Per-pixel noise standard deviation (dT/T). Default: from the baseline frames
        (delay < 0), else from each frame's fit residuals.
    min_snr : float
        Frames with |amplitude| / error below this are ``excluded`` as too weak.
    mask : ndarray of bool, shape (y, x), optional
        True where a pixel must be ignored (added to the NaN and hot pixels found here).

    Returns
    -------
    xarray.Dataset
        One row per delay: amplitude, x0_nm, y0_nm, sigma_nm, offset with their errors
        (``*_err``, ``*_err_nm``), chi2_red, snr, sigma_crb_nm, n_pixels, status, reason;
        elliptical adds sigma_x_nm, sigma_y_nm, theta_rad and errors. Attrs: model,
        noise_std, noise_source, signal_sign, n_masked_pixels, pixel_nm.

    Notes
    -----
    Errors are sqrt(diag((J^T W J)^-1)) with W from the noise estimate, inflated by
    sqrt(chi2_red) when chi2_red is significantly above 1. ``sigma_crb_nm`` is the Cramer-Rao
    bound of sigma at the fitted parameters. Status is ``baseline`` before time zero, ``ok``,
    ``excluded`` (signal too weak) or ``failed`` (no convergence, width below 0.3 pixel or
    beyond the frame, centre outside the frame or off the spot's track, wrong sign), with a
    ``reason``; failed frames keep their values for inspection.
    """
    return fit_stack(stack, model, noise_std, min_snr, mask, compiled_engine)


def _checked_args(model: str, noise_std: float | None, min_snr: float) -> None:
    if model not in MODELS:
        raise InputError(f"model must be 'isotropic' or 'elliptical', got {model!r}")
    if noise_std is not None and not (np.isfinite(noise_std) and noise_std > 0):
        raise InputError(f"noise_std must be a positive number, got {noise_std!r}")
    if not (np.isfinite(min_snr) and min_snr >= 0):
        raise InputError(f"min_snr must be a non-negative number, got {min_snr!r}")


def fit_stack(
    stack: xr.DataArray,
    model: str,
    noise_std: float | None,
    min_snr: float,
    mask: np.ndarray | None,
    engine: Engine,
) -> xr.Dataset:
    """Masks, noise, sign, chunked fitting with ``engine``, spike masking, calibration, flags."""
    _checked_args(model, noise_std, min_snr)
    delay, x_nm, y_nm, pix = _prepare.check_stack(stack)
    ny, nx = stack.sizes["y"], stack.sizes["x"]
    geom = Geometry(nx, ny, pix, float(np.mean(x_nm)), float(np.mean(y_nm)))
    base_idx = np.flatnonzero(delay < 0)
    sig_idx = np.flatnonzero(delay >= 0)
    reader = FrameReader(stack)  # one file chunk of a dask-backed stack read at a time
    static_bad = _prepare.checked_mask(mask, ny, nx) | _prepare.hot_pixel_map(stack, base_idx,
                                                                               reader)
    early = reader.read(sig_idx[: _prepare.SIGN_FRAMES], copy=False)
    base = reader.read(base_idx, copy=False) if base_idx.size else None
    sign = _prepare.signal_sign(early, static_bad, base)
    if noise_std is not None:
        noise, source = float(noise_std), "given"
    else:
        noise = _prepare.baseline_noise(base, static_bad) if base is not None else np.nan
        source = "baseline" if np.isfinite(noise) and noise > 0 else "residual"
    working = noise if source != "residual" else _prepare.difference_noise(early, static_bad)
    scale = working if np.isfinite(working) and working > 0 else _fallback_scale(early)

    n_par = 5 if model == "isotropic" else 7
    n_sig = sig_idx.size
    params = np.empty((n_sig, n_par))
    cov = np.empty((n_sig, n_par, n_par))
    chi2, n_iter = np.empty(n_sig), np.empty(n_sig, dtype=np.int64)
    converged, n_valid = np.empty(n_sig, dtype=bool), np.empty(n_sig, dtype=np.int64)
    ever_bad = static_bad.copy()
    n_static = int(static_bad.sum())
    ux, uy = geom.ux, geom.uy
    n_pix = nx * ny
    spike_z = np.sqrt(2.0 * np.log(n_pix)) + SPIKE_MARGIN_Z
    # finite even without a noise estimate: the compiled spike pass assumes no infinities
    threshold = spike_z * working / scale if np.isfinite(working) and working > 0 else 1e300
    cap = max(5, int(SPIKE_MAX_SHARE * n_pix))
    flux_z = np.empty(n_sig)
    pos = 0
    border = np.flatnonzero(_prepare.border_ring(static_bad))
    for idx, frames in _prepare.iter_chunks(stack, sig_idx, reader):
        sl = slice(pos, pos + idx.size)
        out = engine(model, frames, static_bad, border, scale, ux, uy, sign, threshold, cap)
        params[sl], cov[sl], chi2[sl], n_iter[sl], converged[sl], n_bad, spikes, frame_stats = out
        ring, level, count, total = frame_stats.T
        flux_z[sl] = _flux_significance(total, count, ring, border.size, sign, scale)
        params[sl, -1] += level / scale
        n_valid[sl] = n_pix - n_bad
        n_spikes = (spikes >= 0).sum(axis=1)
        with_nan = np.flatnonzero(n_bad - n_spikes > n_static)  # NaN beyond the static mask
        if with_nan.size:
            ever_bad |= ~np.isfinite(frames[with_nan]).all(axis=0)
        ever_bad.flat[spikes[spikes >= 0]] = True
        pos += idx.size

    if source == "residual":
        per_frame = scale * np.sqrt(chi2 / np.maximum(n_valid - n_par, 1))
        usable = converged & np.isfinite(per_frame)
        noise = float(np.median(per_frame[usable])) if usable.any() else float("nan")
    res = physical_results(model, params, cov, chi2, n_valid, scale, noise, geom)
    snr, status, reason = classify(res, model, converged, n_iter, n_valid, sign, min_snr, geom,
                                   flux_z=flux_z)
    res.update(snr=snr, n_pixels=n_valid)
    n_base_valid = (
        (np.isfinite(base) & ~static_bad[None]).reshape(base.shape[0], -1).sum(axis=1)
        if base is not None
        else np.zeros(0, dtype=np.int64)
    )
    return _dataset(
        stack,
        res,
        status,
        reason,
        sig_idx,
        base_idx,
        n_base_valid,
        n_iter,
        {
            "model": model,
            "noise_std": noise,
            "noise_source": source,
            "signal_sign": int(sign),
            "n_masked_pixels": int(ever_bad.sum()),
            "pixel_nm": pix,
        },
    )


#: A frame whose border median exceeds this many noise units is fitted about that level. The
#: compiled fit evaluates chi^2 from sums of the data and its square; on top of a level far
#: above the noise (raw transmission, a detector offset) the chi^2 decrease of a step drowns in
#: rounding, and no fit converged for levels above ten times the spot's amplitude. The model is
#: linear in its offset, so fitting about the level and adding it back changes nothing else.
LEVEL_NOISE_UNITS = 10.0


def _flux_significance(total: np.ndarray, count: np.ndarray, ring_median: np.ndarray,
                       n_border: int, sign: int, scale: float) -> np.ndarray:
    """The frame's summed signal above its border median, in noise units, times the stack's sign.

    ``total`` and ``count`` are the sum and number of the frame's finite unmasked pixels. The
    sum is model-free: the fit is held to the stack's sign, so on a frame whose response has
    flipped it fits a noise feature instead (9 of 46 such frames passed as 'ok'); the sum sees
    the flip.
    """
    with np.errstate(all="ignore"):
        excess = total - count * ring_median
        # the border median (variance ~ pi/2 sigma^2 / n_border) is taken from every pixel
        sd = scale * np.sqrt(count + count**2 * (np.pi / 2) / max(n_border, 1))
        z = sign * excess / np.maximum(sd, 1e-300)
    return np.where(np.isfinite(z), z, 0.0)


def _fallback_scale(frames: np.ndarray) -> float:
    """A positive working scale for noise-free frames (the fit does not depend on it)."""
    peak = np.nanmax(np.abs(frames)) if np.isfinite(frames).any() else 0.0
    return float(peak) * 1e-3 if peak > 0 else 1.0


def _dataset(stack, res, status, reason, sig_idx, base_idx, n_base_valid, n_iter, attrs):
    n = stack.sizes["delay"]
    data_vars = {}
    for name, values in res.items():
        if name == "n_pixels":
            full = np.zeros(n, dtype=np.int64)
            full[base_idx] = n_base_valid
        else:
            full = np.full(n, np.nan)
        full[sig_idx] = values
        data_vars[name] = ("delay", full)
    iters = np.zeros(n, dtype=np.int64)
    iters[sig_idx] = n_iter
    data_vars["n_iter"] = ("delay", iters)
    st = np.full(n, "baseline", dtype=object)
    why = np.full(n, "before time zero", dtype=object)
    st[sig_idx], why[sig_idx] = status, reason
    data_vars["status"] = ("delay", st.astype(str))
    data_vars["reason"] = ("delay", why.astype(str))
    order = [
        "amplitude",
        "amplitude_err",
        "x0_nm",
        "x0_err_nm",
        "y0_nm",
        "y0_err_nm",
        "sigma_nm",
        "sigma_err_nm",
        "sigma_x_nm",
        "sigma_x_err_nm",
        "sigma_y_nm",
        "sigma_y_err_nm",
        "theta_rad",
        "theta_err_rad",
        "offset",
        "offset_err",
        "chi2_red",
        "snr",
        "sigma_crb_nm",
        "n_pixels",
        "n_iter",
        "status",
        "reason",
    ]
    ordered = {k: data_vars[k] for k in order if k in data_vars}
    return xr.Dataset(ordered, coords={"delay": stack["delay"].copy()}, attrs=attrs)
