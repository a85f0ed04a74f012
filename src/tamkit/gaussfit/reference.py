"""The reference fitter: a per-frame ``scipy.optimize.curve_fit`` loop.

It shares every step but the optimiser with :func:`tamkit.gaussfit.fit_frames` (masks, noise,
sign, starting values, error calibration, flags), so the two must agree; it is the yardstick of
the tests and of ``benchmarks/bench_fit.py``.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import xarray as xr
from scipy.optimize import OptimizeWarning, curve_fit

from tamkit.gaussfit import _batch
from tamkit.gaussfit.fit import LEVEL_NOISE_UNITS, fit_stack


def _iso(xy, amp, x0, y0, s, c):
    x, y = xy
    return amp * np.exp(-0.5 * ((x - x0) ** 2 + (y - y0) ** 2) / s**2) + c


def _ell(xy, amp, x0, y0, a, b, c, off):
    x, y = xy
    dx, dy = x - x0, y - y0
    return amp * np.exp(-0.5 * (a * dx * dx + 2 * b * dx * dy + c * dy * dy)) + off


def _curve_fit(fn, xy, data, p0):
    """One curve_fit (Levenberg-Marquardt, numerical Jacobian, unit weights)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            popt, pcov = curve_fit(fn, xy, data, p0=p0, absolute_sigma=True, maxfev=4000)
        except RuntimeError:
            return np.asarray(p0, float), np.full((len(p0), len(p0)), np.nan), False
    return popt, pcov, True


def _fit_frames(model, scaled, valid, p0, xx, yy):
    n = scaled.shape[0]
    n_par = 5 if model == "isotropic" else 7
    params = np.empty((n, n_par))
    cov = np.empty((n, n_par, n_par))
    chi2 = np.empty(n)
    converged = np.zeros(n, dtype=bool)
    fn = _iso if model == "isotropic" else _ell
    for f in range(n):
        keep = valid[f].ravel()
        xy = (xx.ravel()[keep], yy.ravel()[keep])
        data = scaled[f].ravel()[keep]
        start = p0[f].copy()
        # amplitude and offset solved linearly at the guessed centre and width, as the fast path
        basis = np.stack([_iso(xy, 1.0, *start[1:4], 0.0), np.ones_like(data)], axis=1)
        start[[0, 4]] = np.linalg.lstsq(basis, data, rcond=None)[0]
        popt, pcov, ok = _curve_fit(_iso, xy, data, start)
        popt[3] = abs(popt[3])
        if model == "elliptical" and ok:
            s2 = popt[3] ** -2
            start_e = np.array([popt[0], popt[1], popt[2], s2, 0.0, s2, popt[4]])
            popt, pcov, ok = _curve_fit(_ell, xy, data, start_e)
        params[f] = popt
        cov[f] = pcov
        chi2[f] = np.sum((data - fn(xy, *popt)) ** 2)
        converged[f] = ok
    return params, cov, chi2, converged


def curve_fit_engine(model, frames, static_bad, border, scale, ux, uy, sign, threshold, cap):
    """Same contract as the compiled engine, one ``curve_fit`` per frame."""
    code = _batch.ISO if model == "isotropic" else _batch.ELLIPTICAL
    scaled, valid, p0, frame_stats = _batch.prepare_batch(frames, static_bad, border,
                                                   LEVEL_NOISE_UNITS * float(scale), float(scale),
                                                   ux, uy, float(sign))
    xx, yy = np.meshgrid(ux, uy)
    params, cov, chi2, converged = _fit_frames(model, scaled, valid, p0, xx, yy)
    spikes, count = _batch.spikes_batch(scaled, valid, ux, uy, params, code, float(threshold), cap)
    spiky = (count > 0) & (count <= cap)
    redo = np.flatnonzero(spiky)
    if redo.size:
        sub, sub_valid = scaled[redo], valid[redo]
        for r, k in enumerate(redo):
            sub[r].flat[spikes[k, : count[k]]] = 0.0
            sub_valid[r].flat[spikes[k, : count[k]]] = False
        p0_r = _batch.guess_batch(sub, ux, uy, float(sign))
        out_r = _fit_frames(model, sub, sub_valid, p0_r, xx, yy)
        for arr, arr_r in zip((params, cov, chi2, converged), out_r, strict=True):
            arr[redo] = arr_r
    spikes[~spiky] = -1
    n_bad = (~valid).reshape(valid.shape[0], -1).sum(axis=1) + np.where(spiky, count, 0)
    n_iter = np.zeros(frames.shape[0], dtype=np.int64)
    return params, cov, chi2, n_iter, converged, n_bad, spikes, frame_stats


def fit_frames_reference(
    stack: xr.DataArray,
    model: Literal["isotropic", "elliptical"] = "isotropic",
    *,
    noise_std: float | None = None,
    min_snr: float = 3.0,
    mask: np.ndarray | None = None,
) -> xr.Dataset:
    """:func:`tamkit.gaussfit.fit_frames` with ``scipy.optimize.curve_fit`` as the optimiser.

    Slow (one Python-level fit per frame, numerical Jacobians); same outputs.
    """
    return fit_stack(stack, model, noise_std, min_snr, mask, curve_fit_engine)
