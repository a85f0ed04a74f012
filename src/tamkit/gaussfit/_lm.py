"""Compiled (numba) Levenberg-Marquardt fits of one frame, isotropic and elliptical.

Units inside the kernels: positions in pixels from the frame centre (``u = j - (n - 1) / 2``),
values in units of the noise scale, unit weights. Masked pixels hold 0 in the data and are listed
per frame in CSR form (``mask_ptr``, ``mask_idx`` = flat pixel index), so that full-grid sums can
be corrected by subtracting their few contributions.

Isotropic model ``A gx(x) gy(y) + c`` with ``gx = exp(-(x - x0)^2 / 2 s^2)``: the Gaussian
separates, so J^T J is built from 1D moment sums and J^T d from three matrix-vector products
(D gx, D gx dx, D gx dx^2): three multiply-adds per pixel per iteration, no Jacobian stored.

Elliptical model ``A exp(-(a dx^2 + 2 b dx dy + c dy^2) / 2) + off``: the precision-matrix form
(a, b, c) stays well conditioned at isotropy (where the angle is undefined); J^T J is accumulated
pixel by pixel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

ISO_NPAR = 5  # A, x0, y0, s, c
ELL_NPAR = 7  # A, x0, y0, a, b, c, off
MAX_ITER = 1000
_LAM0 = 1e-3
_LAM_MAX = 1e12
#: Widths beyond which the Gaussian (< 7e-10 of its peak) is left out of the data sums: it
#: moves the fit by ~1e-9 of a standard error and spares most pixels of a large frame.
_CUT_SIGMAS = 6.5
_CHI2_TOL = 1e-7  # absolute chi^2 decrease (noise units) below which an accepted step has converged


# explicit loops: numba compiles slice assignment far more slowly than these


@njit(cache=True)
def _copy(src, dst):
    a = src.ravel()
    b = dst.ravel()
    for i in range(a.size):
        b[i] = a[i]


@njit(cache=True)
def _fill(dst, value):
    b = dst.ravel()
    for i in range(b.size):
        b[i] = value


@njit(cache=True, fastmath=False)
def _solve(m, b, out):
    """Solve ``m x = b`` (small, dense) by Gaussian elimination with pivoting; False if singular."""
    return _solve_in_place(m.copy(), b.copy(), out)


@njit(cache=True, fastmath=False)
def _solve_in_place(a, x, out):
    """:func:`_solve` that overwrites ``a`` and ``x`` (scratch): no allocation in the LM loop."""
    n = x.shape[0]
    for k in range(n):
        piv = k
        best = abs(a[k, k])
        for i in range(k + 1, n):
            if abs(a[i, k]) > best:
                best = abs(a[i, k])
                piv = i
        if best == 0.0 or not np.isfinite(best):
            return False
        if piv != k:
            for j in range(n):
                a[k, j], a[piv, j] = a[piv, j], a[k, j]
            x[k], x[piv] = x[piv], x[k]
        for i in range(k + 1, n):
            f = a[i, k] / a[k, k]
            if f != 0.0:
                for j in range(k, n):
                    a[i, j] -= f * a[k, j]
                x[i] -= f * x[k]
    for k in range(n - 1, -1, -1):
        s = x[k]
        for j in range(k + 1, n):
            s -= a[k, j] * out[j]
        out[k] = s / a[k, k]
    return True


@njit(cache=True)
def _invert(m, out):
    """Inverse of a small symmetric positive-definite matrix (Jacobi-scaled Cholesky).

    NaN-filled, returning False, if the matrix is not positive definite (a degenerate fit).
    """
    n = m.shape[0]
    d = np.empty(n)
    for i in range(n):
        if not m[i, i] > 0:
            _fill(out, np.nan)
            return False
        d[i] = 1.0 / np.sqrt(m[i, i])
    low = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            acc = m[i, j] * d[i] * d[j]
            for k in range(j):
                acc -= low[i, k] * low[j, k]
            if i == j:
                if not acc > 1e-14:
                    _fill(out, np.nan)
                    return False
                low[i, i] = np.sqrt(acc)
            else:
                low[i, j] = acc / low[j, j]
    # inverse of the triangular factor, then (L L^T)^-1 = L^-T L^-1
    inv = np.zeros((n, n))
    for i in range(n):
        inv[i, i] = 1.0 / low[i, i]
        for j in range(i):
            acc = 0.0
            for k in range(j, i):
                acc -= low[i, k] * inv[k, j]
            inv[i, j] = acc / low[i, i]
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for k in range(i, n):
                acc += inv[k, i] * inv[k, j]
            out[i, j] = acc * d[i] * d[j]
            out[j, i] = out[i, j]
    return True


# ---------------------------------------------------------------------------------------------
# isotropic, separable


@njit(cache=True, fastmath=True)
def _iso_eval(p, data, ux, uy, mrow, mcol, sum_d, sum_d2, jtj, jtd, gx, gy, hx1, hx2):
    """chi^2 at ``p``; fills J^T J and J^T r (r = data - model) over unmasked pixels.

    Rows and columns beyond :data:`_CUT_SIGMAS` widths of the centre, where the Gaussian is
    below 7e-10 of its peak, are left out (the model is truncated there, consistently in the
    model, J^T J and J^T r): a small spot in a large frame costs little.
    """
    ny, nx = data.shape
    amp, x0, y0, s, c = p[0], p[1], p[2], p[3], p[4]
    inv_s2 = 1.0 / (s * s)
    reach = _CUT_SIGMAS * abs(s)
    # on the unit pixel grid exp(-dx^2 / 2s^2) follows a two-term recurrence: 3 exp per axis
    q = np.exp(-inv_s2)
    x0_, x1_, x2_, x3_, x4_ = 0.0, 0.0, 0.0, 0.0, 0.0
    gx0, gx1, gx2 = 0.0, 0.0, 0.0
    for j in range(nx):
        gx[j] = 0.0
        hx1[j] = 0.0
        hx2[j] = 0.0
    j_lo = max(0, int(np.ceil(x0 - reach - ux[0])))
    j_hi = min(nx - 1, int(np.floor(x0 + reach - ux[0])))
    if j_lo <= j_hi:
        dx = ux[j_lo] - x0
        g = np.exp(-0.5 * dx * dx * inv_s2)
        ratio = np.exp(-(dx + 0.5) * inv_s2)
        for j in range(j_lo, j_hi + 1):
            gx[j] = g
            hx1[j] = g * dx
            hx2[j] = g * dx * dx
            g2 = g * g
            x0_ += g2
            x1_ += g2 * dx
            x2_ += g2 * dx * dx
            x3_ += g2 * dx * dx * dx
            x4_ += g2 * dx * dx * dx * dx
            gx0 += g
            gx1 += g * dx
            gx2 += g * dx * dx
            g *= ratio
            ratio *= q
            dx += 1.0
    y0_, y1_, y2_, y3_, y4_ = 0.0, 0.0, 0.0, 0.0, 0.0
    gy0, gy1, gy2 = 0.0, 0.0, 0.0
    t00 = 0.0
    t10 = 0.0
    t01 = 0.0
    tr2 = 0.0
    for i in range(ny):
        gy[i] = 0.0
    i_lo = max(0, int(np.ceil(y0 - reach - uy[0])))
    i_hi = min(ny - 1, int(np.floor(y0 + reach - uy[0])))
    width = j_hi + 1 - j_lo
    if i_lo <= i_hi and width > 0:
        wx0 = gx[j_lo : j_hi + 1]
        wx1 = hx1[j_lo : j_hi + 1]
        wx2 = hx2[j_lo : j_hi + 1]
        dy = uy[i_lo] - y0
        g = np.exp(-0.5 * dy * dy * inv_s2)
        ratio = np.exp(-(dy + 0.5) * inv_s2)
        for i in range(i_lo, i_hi + 1):
            gy[i] = g
            g2 = g * g
            y0_ += g2
            y1_ += g2 * dy
            y2_ += g2 * dy * dy
            y3_ += g2 * dy * dy * dy
            y4_ += g2 * dy * dy * dy * dy
            gy0 += g
            gy1 += g * dy
            gy2 += g * dy * dy
            u0 = 0.0
            u1 = 0.0
            u2 = 0.0
            row = data[i, j_lo : j_hi + 1]
            for j in range(width):
                v = row[j]
                u0 += v * wx0[j]
                u1 += v * wx1[j]
                u2 += v * wx2[j]
            t00 += g * u0
            t10 += g * u1
            t01 += g * dy * u0
            tr2 += g * (u2 + dy * dy * u0)
            g *= ratio
            ratio *= q
            dy += 1.0
    X = (x0_, x1_, x2_, x3_, x4_)
    Y = (y0_, y1_, y2_, y3_, y4_)
    Gx = (gx0, gx1, gx2)
    Gy = (gy0, gy1, gy2)
    k1 = amp * inv_s2
    k2 = k1 / s
    # J columns: g, k1 g dx, k1 g dy, k2 g (dx^2 + dy^2), 1 (full-grid sums, then masked removed)
    jtj[0, 0] = X[0] * Y[0]
    jtj[0, 1] = k1 * X[1] * Y[0]
    jtj[0, 2] = k1 * X[0] * Y[1]
    jtj[0, 3] = k2 * (X[2] * Y[0] + X[0] * Y[2])
    jtj[0, 4] = Gx[0] * Gy[0]
    jtj[1, 1] = k1 * k1 * X[2] * Y[0]
    jtj[1, 2] = k1 * k1 * X[1] * Y[1]
    jtj[1, 3] = k1 * k2 * (X[3] * Y[0] + X[1] * Y[2])
    jtj[1, 4] = k1 * Gx[1] * Gy[0]
    jtj[2, 2] = k1 * k1 * X[0] * Y[2]
    jtj[2, 3] = k1 * k2 * (X[2] * Y[1] + X[0] * Y[3])
    jtj[2, 4] = k1 * Gx[0] * Gy[1]
    jtj[3, 3] = k2 * k2 * (X[4] * Y[0] + 2.0 * X[2] * Y[2] + X[0] * Y[4])
    jtj[3, 4] = k2 * (Gx[2] * Gy[0] + Gx[0] * Gy[2])
    jtj[4, 4] = nx * ny
    for q in range(mrow.shape[0]):
        i = mrow[q]
        j = mcol[q]
        dx = ux[j] - x0
        dy = uy[i] - y0
        g = gx[j] * gy[i]
        jm = (g, k1 * g * dx, k1 * g * dy, k2 * g * (dx * dx + dy * dy), 1.0)
        for a in range(5):
            for b in range(a, 5):
                jtj[a, b] -= jm[a] * jm[b]
    for a in range(5):
        for b in range(a):
            jtj[a, b] = jtj[b, a]
    # the model is amp * column0 + c * column4, so J^T m follows from J^T J
    jtd[0] = t00 - (amp * jtj[0, 0] + c * jtj[0, 4])
    jtd[1] = k1 * t10 - (amp * jtj[1, 0] + c * jtj[1, 4])
    jtd[2] = k1 * t01 - (amp * jtj[2, 0] + c * jtj[2, 4])
    jtd[3] = k2 * tr2 - (amp * jtj[3, 0] + c * jtj[3, 4])
    jtd[4] = sum_d - (amp * jtj[4, 0] + c * jtj[4, 4])
    chi2 = (
        sum_d2
        - 2.0 * (amp * t00 + c * sum_d)
        + amp * amp * jtj[0, 0]
        + 2.0 * amp * c * jtj[0, 4]
        + c * c * jtj[4, 4]
    )
    return max(chi2, 0.0)


@njit(cache=True)
def _iso_valid(p, nx, ny):
    s = p[3]
    inside = abs(p[1]) < 10.0 * nx and abs(p[2]) < 10.0 * ny
    return np.isfinite(p).all() and inside and s > 0.1 and s < 50.0 * max(nx, ny)


@njit(cache=True, fastmath=True)
def _sums(data):
    """Sum and sum of squares of a frame (a vectorised pass)."""
    flat = data.ravel()
    s1 = 0.0
    s2 = 0.0
    for q in range(flat.size):
        v = flat[q]
        s1 += v
        s2 += v * v
    return s1, s2


@njit(cache=True)
def _iso_fit_one(data, ux, uy, mrow, mcol, p0, linear_start, p_out, cov_out):
    """LM fit of one frame; returns (chi2, n_iter, converged)."""
    ny, nx = data.shape
    sum_d, sum_d2 = _sums(data)
    jtj = np.empty((5, 5))
    jtd = np.empty(5)
    jtj_t = np.empty((5, 5))
    jtd_t = np.empty(5)
    gx = np.empty(nx)
    gy = np.empty(ny)
    hx1 = np.empty(nx)
    hx2 = np.empty(nx)
    p = p0.copy()
    chi2 = _iso_eval(p, data, ux, uy, mrow, mcol, sum_d, sum_d2, jtj, jtd, gx, gy, hx1, hx2)
    if linear_start:
        # best amplitude and offset for the guessed centre and width (variable projection)
        t00 = jtd[0] + p[0] * jtj[0, 0] + p[4] * jtj[0, 4]
        det = jtj[0, 0] * jtj[4, 4] - jtj[0, 4] ** 2
        if det > 0:
            p[0] = (t00 * jtj[4, 4] - jtj[0, 4] * sum_d) / det
            p[4] = (jtj[0, 0] * sum_d - jtj[0, 4] * t00) / det
            chi2 = _iso_eval(p, data, ux, uy, mrow, mcol, sum_d, sum_d2, jtj, jtd, gx, gy, hx1, hx2)
    lam = _LAM0
    step = np.empty(5)
    damped = np.empty((5, 5))
    rhs = np.empty(5)
    trial = np.empty(5)
    converged = False
    n_iter = 0
    for it in range(MAX_ITER):
        n_iter = it + 1
        for a in range(5):
            for b in range(5):
                damped[a, b] = jtj[a, b]
            damped[a, a] = jtj[a, a] * (1.0 + lam) + 1e-300
            rhs[a] = jtd[a]
        if not _solve_in_place(damped, rhs, step):
            lam *= 10.0
            if lam > _LAM_MAX:
                break
            continue
        if lam < 1.0:
            # nearly Gauss-Newton: a step that cannot lower chi^2 by _CHI2_TOL is not taken
            pred = 0.0
            for a in range(5):
                pred += step[a] * jtd[a]
            if pred < _CHI2_TOL:
                converged = True
                break
        for a in range(5):
            trial[a] = p[a] + step[a]
        if not _iso_valid(trial, nx, ny):
            lam *= 10.0
            if lam > _LAM_MAX:
                break
            continue
        chi2_t = _iso_eval(
            trial, data, ux, uy, mrow, mcol, sum_d, sum_d2, jtj_t, jtd_t, gx, gy, hx1, hx2
        )
        chi2, lam, converged, stop = _accept_or_damp(chi2, chi2_t, lam, trial, p, jtj_t, jtj,
                                                     jtd_t, jtd)
        if stop:
            break
    _copy(p, p_out)
    _invert(jtj, cov_out)
    return chi2, n_iter, converged


@njit(cache=True)
def _accept_or_damp(chi2, chi2_t, lam, trial, p, jtj_t, jtj, jtg_t, jtg):
    """One Levenberg-Marquardt decision on a trial step of chi^2 ``chi2_t``.

    A step that does not raise chi^2 is taken (``trial`` and its normal equations become the
    current ones) and the damping falls; otherwise the damping rises. Returns
    ``(chi2, lam, converged, stop)``.
    """
    if chi2_t <= chi2:
        decrease = chi2 - chi2_t
        _copy(trial, p)
        _copy(jtj_t, jtj)
        _copy(jtg_t, jtg)
        if decrease < _CHI2_TOL and (lam < 1.0 or _predicted_decrease(jtj, jtg) < _CHI2_TOL):
            return chi2_t, lam, True, True
        return chi2_t, max(lam * 0.1, 1e-9), False, False
    lam *= 10.0
    # at the minimum, rounding alone can reject every step: stop if nothing is left
    if lam > 1.0 and _predicted_decrease(jtj, jtg) < _CHI2_TOL:
        return chi2, lam, True, True
    if lam > _LAM_MAX:
        # no downhill step exists: converged if the Gauss-Newton decrease is negligible
        return chi2, lam, _predicted_decrease(jtj, jtg) < _CHI2_TOL, True
    return chi2, lam, False, False


@njit(cache=True)
def _predicted_decrease(jtj, jtd):
    n = jtd.shape[0]
    step = np.empty(n)
    if not _solve(jtj, jtd, step):
        return np.inf
    s = 0.0
    for a in range(n):
        s += step[a] * jtd[a]
    return s


# ---------------------------------------------------------------------------------------------
# elliptical, pixel by pixel


@njit(cache=True, fastmath=True)
def _ell_eval(p, data, valid, ux, uy, jtj, jtr, totals):
    """chi^2 at ``p``; fills J^T J and J^T r (r = data - model) over valid pixels.

    As in :func:`_iso_eval`, the Gaussian is left out beyond :data:`_CUT_SIGMAS` widths: only the
    box around the ellipse at that level is visited pixel by pixel; the pixels outside it see
    the offset alone, and their sums follow from the frame's ``totals`` (count, sum, sum of
    squares of the valid pixels) less the box's. A 256 x 256 frame costs a box, not 65,536
    exponentials per iteration.
    """
    ny, nx = data.shape
    amp, x0, y0, a, b, c, off = p[0], p[1], p[2], p[3], p[4], p[5], p[6]
    _fill(jtj, 0.0)
    _fill(jtr, 0.0)
    chi2 = 0.0
    jv = np.empty(7)
    # the ellipse a dx^2 + 2 b dx dy + c dy^2 <= CUT^2 lies within |dx| <= CUT sqrt(c / det)
    det = a * c - b * b
    reach_x = _CUT_SIGMAS * np.sqrt(c / det) if det > 0 else 1e300
    reach_y = _CUT_SIGMAS * np.sqrt(a / det) if det > 0 else 1e300
    j_lo = max(0, int(np.ceil(max(x0 - reach_x - ux[0], -1.0))))
    j_hi = min(nx - 1, int(np.floor(min(x0 + reach_x - ux[0], float(nx)))))
    i_lo = max(0, int(np.ceil(max(y0 - reach_y - uy[0], -1.0))))
    i_hi = min(ny - 1, int(np.floor(min(y0 + reach_y - uy[0], float(ny)))))
    n_in = 0.0
    s1_in = 0.0
    s2_in = 0.0
    for i in range(i_lo, i_hi + 1):
        dy = uy[i] - y0
        for j in range(j_lo, j_hi + 1):
            if not valid[i, j]:
                continue
            v = data[i, j]
            n_in += 1.0
            s1_in += v
            s2_in += v * v
            dx = ux[j] - x0
            g = np.exp(-0.5 * (a * dx * dx + 2.0 * b * dx * dy + c * dy * dy))
            ag = amp * g
            r = v - (ag + off)
            chi2 += r * r
            jv[0] = g
            jv[1] = ag * (a * dx + b * dy)
            jv[2] = ag * (b * dx + c * dy)
            jv[3] = -0.5 * ag * dx * dx
            jv[4] = -ag * dx * dy
            jv[5] = -0.5 * ag * dy * dy
            jv[6] = 1.0
            for k in range(7):
                jtr[k] += jv[k] * r
                for m in range(k, 7):
                    jtj[k, m] += jv[k] * jv[m]
    # outside the box the model is the offset: r = v - off, J = (0, ..., 0, 1)
    n_out = totals[0] - n_in
    s1_out = totals[1] - s1_in
    s2_out = totals[2] - s2_in
    chi2 += s2_out - 2.0 * off * s1_out + off * off * n_out
    jtr[6] += s1_out - off * n_out
    jtj[6, 6] += n_out
    for k in range(7):
        for m in range(k):
            jtj[k, m] = jtj[m, k]
    return max(chi2, 0.0)


@njit(cache=True)
def _valid_totals(data, valid):
    """Count, sum and sum of squares of the valid pixels of a frame."""
    ny, nx = data.shape
    totals = np.zeros(3)
    for i in range(ny):
        for j in range(nx):
            if valid[i, j]:
                v = data[i, j]
                totals[0] += 1.0
                totals[1] += v
                totals[2] += v * v
    return totals


@njit(cache=True)
def _ell_valid(p, nx, ny):
    if not np.isfinite(p).all():
        return False
    a, b, c = p[3], p[4], p[5]
    lim = 1.0 / (50.0 * max(nx, ny)) ** 2
    return a > lim and c > lim and a * c - b * b > lim * lim and a < 400.0 and c < 400.0


@njit(cache=True)
def _ell_fit_one(data, valid, ux, uy, p0, p_out, cov_out):
    ny, nx = data.shape
    jtj = np.empty((7, 7))
    jtr = np.empty(7)
    jtj_t = np.empty((7, 7))
    jtr_t = np.empty(7)
    p = p0.copy()
    totals = _valid_totals(data, valid)
    chi2 = _ell_eval(p, data, valid, ux, uy, jtj, jtr, totals)
    lam = _LAM0
    step = np.empty(7)
    damped = np.empty((7, 7))
    trial = np.empty(7)
    converged = False
    n_iter = 0
    for it in range(MAX_ITER):
        n_iter = it + 1
        for a in range(7):
            for b in range(7):
                damped[a, b] = jtj[a, b]
            damped[a, a] = jtj[a, a] * (1.0 + lam) + 1e-300
        if not _solve(damped, jtr, step):
            lam *= 10.0
            if lam > _LAM_MAX:
                break
            continue
        if lam < 1.0:
            # nearly Gauss-Newton: a step that cannot lower chi^2 by _CHI2_TOL is not taken
            pred = 0.0
            for a in range(7):
                pred += step[a] * jtr[a]
            if pred < _CHI2_TOL:
                converged = True
                break
        for a in range(7):
            trial[a] = p[a] + step[a]
        if not _ell_valid(trial, nx, ny):
            lam *= 10.0
            if lam > _LAM_MAX:
                break
            continue
        chi2_t = _ell_eval(trial, data, valid, ux, uy, jtj_t, jtr_t, totals)
        chi2, lam, converged, stop = _accept_or_damp(chi2, chi2_t, lam, trial, p, jtj_t, jtj,
                                                     jtr_t, jtr)
        if stop:
            break
    _copy(p, p_out)
    _invert(jtj, cov_out)
    return chi2, n_iter, converged
