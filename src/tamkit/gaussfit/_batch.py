"""Compiled batch processing: many frames at once, one frame per thread (numba ``prange``).

:func:`fit_batch` runs the whole per-frame pipeline while the frame is in cache: scale and
mask, starting values, isotropic fit, elliptical refinement, spike check and refit. The other
kernels expose the same steps to the ``curve_fit`` reference, so both see identical inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tamkit.gaussfit._lm import _CUT_SIGMAS, _ell_fit_one, _iso_fit_one

ISO, ELLIPTICAL = 0, 1


@njit(cache=True)
def _scale_one(frame, static_bad, border, level_above, inv_scale, buf, valid, frame_stats):
    """buf = (frame - level) * inv_scale, 0 where bad; fills ``valid``; returns the bad flat
    indices.

    ``frame_stats`` gets the median of the finite values at the flat indices ``border`` (0 if none),
    the level taken out (that median where its magnitude exceeds ``level_above``, else 0), and
    the count and sum of the frame's valid values (data units): the level and flipped-sign
    tests' inputs, taken here while the frame is in cache.
    """
    ny, nx = frame.shape
    flat = frame.ravel()
    ring = np.empty(border.size)
    k = 0
    for q in range(border.size):
        v = flat[border[q]]
        if np.isfinite(v):
            ring[k] = v
            k += 1
    median = np.median(ring[:k]) if k > 0 else 0.0
    level = median if abs(median) > level_above else 0.0
    n_bad = 0
    total = 0.0
    for i in range(ny):
        for j in range(nx):
            v = frame[i, j]
            ok = not static_bad[i, j] and np.isfinite(v)
            valid[i, j] = ok
            buf[i, j] = (v - level) * inv_scale if ok else 0.0
            total += v if ok else 0.0
            n_bad += not ok
    frame_stats[0] = median
    frame_stats[1] = level
    frame_stats[2] = ny * nx - n_bad
    frame_stats[3] = total
    bad = np.empty(n_bad, dtype=np.int64)
    if n_bad:
        k = 0
        for i in range(ny):
            for j in range(nx):
                if not valid[i, j]:
                    bad[k] = i * nx + j
                    k += 1
    return bad


@njit(cache=True, fastmath=True)
def _guess_one(buf, ux, uy, sign, out, rows, sm):
    """Isotropic starting values from a 3x3-smoothed peak and its half-maximum area.

    Offset: mean of the border pixels. Centre: the extremum (of the stack's sign) of the 3x3
    box-smoothed frame. Width: the area above half maximum, pi 2 ln2 s^2, less the box's own
    variance (2/3 px^2). Amplitude and offset are refined linearly at the start of the fit.
    Masked pixels hold 0 and are not worth the bookkeeping here: these are only starting values.
    ``rows`` and ``sm`` are (ny, nx) scratch arrays.
    """
    ny, nx = buf.shape
    acc = 0.0
    for j in range(nx):
        acc += buf[0, j] + buf[ny - 1, j]
    for i in range(1, ny - 1):
        acc += buf[i, 0] + buf[i, nx - 1]
    off = acc / (2 * nx + 2 * ny - 4)
    # separable 3x3 box sum: three-pixel sums along rows, then along columns (2D indexing,
    # no row views: each view costs an atomic reference count in the loop)
    for i in range(ny):
        rows[i, 0] = buf[i, 0] + buf[i, 1]
        for j in range(1, nx - 1):
            rows[i, j] = buf[i, j - 1] + buf[i, j] + buf[i, j + 1]
        rows[i, nx - 1] = buf[i, nx - 2] + buf[i, nx - 1]
    k = sign / 9.0
    # running maximum per column and the first row that holds it: element-wise, so it
    # vectorises (a scalar max-reduction does not); ties resolve to the first pixel in
    # row-major order, as a flat argmax would
    col_max = np.full(nx, -np.inf)
    col_row = np.zeros(nx, dtype=np.int64)
    for i in range(ny):
        up = max(i - 1, 0)
        down = min(i + 1, ny - 1)
        if i == 0 or i == ny - 1:
            for j in range(nx):
                sm[i, j] = k * (rows[up, j] + rows[down, j])
        else:
            for j in range(nx):
                sm[i, j] = k * (rows[up, j] + rows[i, j] + rows[down, j])
        for j in range(nx):
            v = sm[i, j]
            higher = v > col_max[j]
            col_row[j] = i if higher else col_row[j]
            col_max[j] = v if higher else col_max[j]
    best = -np.inf
    for j in range(nx):
        best = col_max[j] if col_max[j] > best else best
    best_row = ny
    best_col = 0
    for j in range(nx):
        if col_max[j] == best and col_row[j] < best_row:
            best_row = col_row[j]
            best_col = j
    if best_row == ny:  # no finite maximum (overflowing data): the first pixel, as before
        best_row = 0
    flat = sm.ravel()
    half = 0.5 * (best + sign * off)
    best -= sign * off
    area = 0
    for q in range(flat.size):
        area += flat[q] > half
    s2 = area / (2.0 * np.pi * np.log(2.0)) - 2.0 / 3.0
    out[0] = sign * max(best, 1e-3)
    out[1] = ux[best_col]
    out[2] = uy[best_row]
    out[3] = min(np.sqrt(max(s2, 0.36)), 0.5 * min(nx, ny))
    out[4] = off


@njit(cache=True)
def _profile(u, centre, s, scale, out):
    """``scale exp(-(u - centre)^2 / 2 s^2)`` on the unit grid ``u``, 0 beyond the fit's cut.

    exp(-(d + 1)^2 / 2s^2) = exp(-d^2 / 2s^2) exp(-(d + 1/2) / s^2): a two-term recurrence,
    as in :func:`tamkit.gaussfit._lm._iso_eval`.
    """
    n = u.size
    if not (np.isfinite(centre) and np.isfinite(s) and np.isfinite(scale)):
        for k in range(n):
            out[k] = np.nan  # a failed fit: no pixel is called a spike against it
        return
    inv_s2 = 1.0 / (s * s)
    reach = _CUT_SIGMAS * abs(s)
    for k in range(n):
        out[k] = 0.0
    lo = max(0, int(np.ceil(centre - reach - u[0])))
    hi = min(n - 1, int(np.floor(centre + reach - u[0])))
    if lo > hi:
        return
    d = u[lo] - centre
    g = np.exp(-0.5 * d * d * inv_s2)
    ratio = np.exp(-(d + 0.5) * inv_s2)
    q = np.exp(-inv_s2)
    for k in range(lo, hi + 1):
        out[k] = scale * g
        g *= ratio
        ratio *= q


@njit(cache=True, fastmath=True)
def _spikes_one(buf, valid, ux, uy, p, model, threshold, found):
    """Unmasked pixels with |residual| > threshold into ``found`` (up to its size); their count.

    A branch-free counting pass (vectorised); pixels are located only if there are any.
    """
    ny, nx = buf.shape
    cap = found.shape[0]
    gx = np.empty(nx)
    gy = np.empty(ny)
    if model == ISO:
        # the profiles as the fit evaluates them: zero beyond its cut (_CUT_SIGMAS widths,
        # < 7e-10 of the peak), the unit-grid recurrence inside (two exp per axis)
        _profile(ux, p[1], p[3], p[0], gx)
        _profile(uy, p[2], p[3], 1.0, gy)
    row_model = np.empty(nx)
    count = 0
    if model == ISO:
        # the isotropic model written out (as in _model_row): one fused vectorised pass
        c = p[4]
        for i in range(ny):
            g = gy[i]
            for j in range(nx):
                count += valid[i, j] & (abs(buf[i, j] - (g * gx[j] + c)) > threshold)
    else:
        for i in range(ny):
            _model_row(gx, gy[i], ux, uy[i], p, model, row_model)
            for j in range(nx):
                count += valid[i, j] & (abs(buf[i, j] - row_model[j]) > threshold)
    if count == 0:
        return 0
    k = 0
    for i in range(ny):
        _model_row(gx, gy[i], ux, uy[i], p, model, row_model)
        for j in range(nx):
            if valid[i, j] and abs(buf[i, j] - row_model[j]) > threshold:
                if k < cap:
                    found[k] = i * nx + j
                k += 1
    return k


@njit(cache=True, fastmath=True)
def _model_row(gx, gy, ux, y, p, model, out):
    """One row of the fitted model at height ``y`` (pixels); isotropic from gx * gy."""
    if model == ISO:
        for j in range(ux.size):
            out[j] = gy * gx[j] + p[4]
        return
    dy = y - p[2]
    for j in range(ux.size):
        dx = ux[j] - p[1]
        q2 = p[3] * dx * dx + 2.0 * p[4] * dx * dy + p[5] * dy * dy
        out[j] = p[0] * np.exp(-0.5 * q2) + p[6]


@njit(cache=True)
def _fit_one(buf, valid, bad, ux, uy, sign, model, p_iso, p_out, cov_out, rows, sm):
    """Starting values, isotropic LM and (elliptical) refinement; (chi2, n_iter, converged)."""
    nx = buf.shape[1]
    mrow = bad // nx
    mcol = bad % nx
    _guess_one(buf, ux, uy, sign, p_iso, rows, sm)
    if model == ISO:
        return _iso_fit_one(buf, ux, uy, mrow, mcol, p_iso, True, p_out, cov_out)
    cov_iso = np.empty((5, 5))
    fit_iso = np.empty(5)
    _, it, ok = _iso_fit_one(buf, ux, uy, mrow, mcol, p_iso, True, fit_iso, cov_iso)
    s2 = 1.0 / (fit_iso[3] * fit_iso[3])
    start = np.array([fit_iso[0], fit_iso[1], fit_iso[2], s2, 0.0, s2, fit_iso[4]])
    chi2, it_e, ok_e = _ell_fit_one(buf, valid, ux, uy, start, p_out, cov_out)
    return chi2, it + it_e, ok and ok_e


@njit(cache=True, parallel=True)
def fit_batch(frames, static_bad, border, level_above, scale, ux, uy, sign, model, threshold,
              cap, workers):
    """Fit every frame of ``frames`` (n, ny, nx), data units, about its border level; the
    compiled engine.

    Returns params (n, P) and cov (n, P, P) (unit weights, fit units, the offset about the
    level), chi2, n_iter, converged, n_bad (masked pixels incl. spikes), spikes (n, cap) flat
    indices (-1 padded), frame_stats (n, 4): border median, level taken out, count and sum of the
    valid values (see :func:`_scale_one`).
    """
    n, ny, nx = frames.shape
    n_par = 5 if model == ISO else 7
    params = np.empty((n, n_par))
    cov = np.empty((n, n_par, n_par))
    chi2 = np.empty(n)
    n_iter = np.empty(n, dtype=np.int64)
    converged = np.zeros(n, dtype=np.bool_)
    n_bad = np.empty(n, dtype=np.int64)
    spikes = np.full((n, cap), -1, dtype=np.int64)
    frame_stats = np.empty((n, 4))
    inv_scale = 1.0 / scale
    # one block of frames per thread, so that each allocates its scratch frames once
    n_workers = min(workers, n)
    for w in prange(n_workers):
        buf = np.empty((ny, nx))
        valid = np.empty((ny, nx), dtype=np.bool_)
        rows = np.empty((ny, nx))
        sm = np.empty((ny, nx))
        p_iso = np.empty(5)
        found = np.empty(cap, dtype=np.int64)
        for f in range(w, n, n_workers):
            bad = _scale_one(frames[f], static_bad, border, level_above, inv_scale, buf, valid,
                             frame_stats[f])
            c2, it, ok = _fit_one(
                buf, valid, bad, ux, uy, sign, model, p_iso, params[f], cov[f], rows, sm
            )
            k = _spikes_one(buf, valid, ux, uy, params[f], model, threshold, found)
            if k > 0 and k <= cap:
                # isolated spikes (cosmic rays, flickering pixels): mask them and fit again
                for q in range(k):
                    buf[found[q] // nx, found[q] % nx] = 0.0
                    valid[found[q] // nx, found[q] % nx] = False
                    spikes[f, q] = found[q]
                bad = np.sort(np.concatenate((bad, found[:k])))
                c2, it2, ok = _fit_one(
                    buf, valid, bad, ux, uy, sign, model, p_iso, params[f], cov[f], rows, sm
                )
                it += it2
            chi2[f] = c2
            n_iter[f] = it
            converged[f] = ok
            n_bad[f] = bad.size
    return params, cov, chi2, n_iter, converged, n_bad, spikes, frame_stats


@njit(cache=True, parallel=True)
def prepare_batch(frames, static_bad, border, level_above, scale, ux, uy, sign):
    """For the reference: scaled frames about their level (0 at bad pixels), valid masks,
    starting values and the frame stats as in :func:`fit_batch`."""
    n, ny, nx = frames.shape
    scaled = np.empty((n, ny, nx))
    valid = np.empty((n, ny, nx), dtype=np.bool_)
    p0 = np.empty((n, 5))
    frame_stats = np.empty((n, 4))
    inv_scale = 1.0 / scale
    for f in prange(n):
        _scale_one(frames[f], static_bad, border, level_above, inv_scale, scaled[f], valid[f],
                   frame_stats[f])
        _guess_one(scaled[f], ux, uy, sign, p0[f], np.empty((ny, nx)), np.empty((ny, nx)))
    return scaled, valid, p0, frame_stats


@njit(cache=True, parallel=True)
def spikes_batch(scaled, valid, ux, uy, params, model, threshold, cap):
    """For the reference: spike pixels (n, cap) and their counts, as in :func:`fit_batch`."""
    n = scaled.shape[0]
    found = np.full((n, cap), -1, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    for f in prange(n):
        count[f] = _spikes_one(scaled[f], valid[f], ux, uy, params[f], model, threshold, found[f])
    return found, count


@njit(cache=True)
def guess_batch(scaled, ux, uy, sign):
    """For the reference: starting values (n, 5) of already scaled and masked frames."""
    p0 = np.empty((scaled.shape[0], 5))
    rows = np.empty(scaled.shape[1:])
    sm = np.empty(scaled.shape[1:])
    for f in range(scaled.shape[0]):
        _guess_one(scaled[f], ux, uy, sign, p0[f], rows, sm)
    return p0
