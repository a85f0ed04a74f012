"""Compiled least-squares fit of the Gauss-Laguerre expansion to one frame.

The model at pixel ``(x, y)`` is ``f = sum_n b_n e^-u L_n(u) + b_off`` (``n = 0, 2, ..., order``)
with ``u = d^T C^-1 d / 2`` and nonlinear parameters ``theta = (x0, y0, ln s_x, ln s_y,
atanh rho)`` (px). Damped Gauss-Newton, then Newton, on all parameters at once, with the
analytic Jacobian and Hessian:
``df/du = -e^-u sum_n b_n sum_{k<=n} L_k(u)`` (from ``L_n' = -sum_{k<n} L_k``), times ``du/dtheta``.
Only the normal equations ``J^T J``, ``J^T r`` are accumulated, pixel by pixel, so no
(pixels x parameters) array is ever built.

Pixels beyond a Mahalanobis radius :data:`BOX_RADIUS` of the current spot (outside the bounding
box of that ellipse) see only the offset: every other column is below ``e^-32 u^4 ~ 1e-11`` there.
They enter exactly through three sums (their count, ``sum d`` and ``sum d^2``: frame totals minus
the box's), so the cost does not grow with the frame beyond the spot.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tamkit.core.cholesky import cholesky_factor, cholesky_solve

#: nonlinear parameters: x0, y0 (px), ln s_x, ln s_y, atanh(rho)
N_NONLINEAR = 5
#: pixels beyond this Mahalanobis radius of the current spot enter through the offset only
BOX_RADIUS = 8.0
#: a step smaller than this many standard errors (in the metric J^T J / s^2) ends the fit
STEP_TOL_SIGMA = 1e-5
#: Newton steps (full Hessian) once a Gauss-Newton step is below this many standard errors
NEWTON_SIGMA = 1.0
MAX_PASSES = 200


@njit(cache=True, error_model="numpy")
def _box(axis, centre, half):
    """Index range [lo, hi) of the ascending ``axis`` within ``centre +- half``."""
    lo = np.searchsorted(axis, centre - half, side="left")
    hi = np.searchsorted(axis, centre + half, side="right")
    return lo, hi


@njit(cache=True, inline="always", error_model="numpy")
def _u_hessian(i, j, dx, dy, ix, iy, omr, rho, ex, ey, u_rho, u, hx, hy, hr):
    """``d^2 u / dtheta_i dtheta_j`` through the primaries dx, dy, rho (``_normal_equations``)."""
    uxx = 1.0 / omr
    uxy = -rho / omr
    uxr = (-dy + 2.0 * rho * ex) / omr
    uyr = (-dx + 2.0 * rho * ey) / omr
    urr = (2.0 * u + 4.0 * rho * u_rho) / omr
    out = (uxx * (hx[i] * hx[j] + hy[i] * hy[j]) + uxy * (hx[i] * hy[j] + hy[i] * hx[j])
           + uxr * (hx[i] * hr[j] + hr[i] * hx[j]) + uyr * (hy[i] * hr[j] + hr[i] * hy[j])
           + urr * hr[i] * hr[j])
    # second derivatives of the primaries themselves: dx = (X - x0) e^-l1, rho = tanh a
    if (i == 0 and j == 2) or (i == 2 and j == 0):
        out += ex * ix
    elif i == 2 and j == 2:
        out += ex * dx
    elif (i == 1 and j == 3) or (i == 3 and j == 1):
        out += ey * iy
    elif i == 3 and j == 3:
        out += ey * dy
    elif i == 4 and j == 4:
        out += u_rho * (-2.0 * rho * omr)
    return out


@njit(cache=True, error_model="numpy")
def _normal_equations(d, valid, X, Y, xs, ys, raster, totals, q, order, jtj, jtr, hess,
                      second):
    """Cost ``sum r^2`` at ``q``; fills ``jtj``, ``jtr`` (residuals r = f - d) and ``hess``, the
    Hessian of ``cost / 2``: ``J^T J + sum r d^2 f`` (only ``J^T J`` unless ``second``).

    ``u`` depends on ``theta`` through the primaries ``dx = (X - x0) / s_x``, ``dy`` and ``rho``:
    ``du/dtheta = u_dx hx + u_dy hy + u_rho hr`` with ``hx = d dx / d theta`` etc.
    """
    x0, y0, l1, l2, a = q[0], q[1], q[2], q[3], q[4]
    sx, sy, rho = np.exp(l1), np.exp(l2), np.tanh(a)
    omr = 1.0 - rho * rho
    n_lin = order  # L_0, L_2..L_order
    npar = N_NONLINEAR + n_lin + 1
    b = q[N_NONLINEAR:]
    off = b[n_lin]
    jtj[:, :] = 0.0
    jtr[:] = 0.0
    hess[:, :] = 0.0
    nx = xs.size
    if raster:
        ix0, ix1 = _box(xs, x0, BOX_RADIUS * sx)
        iy0, iy1 = _box(ys, y0, BOX_RADIUS * sy)
    else:
        ix0, ix1, iy0, iy1 = 0, d.size, 0, 1
    row = np.empty(npar)
    du = np.empty(N_NONLINEAR)
    hlin = np.empty(n_lin)  # d phi_n / du of each Gaussian-Laguerre column
    lag = np.empty(order + 1)
    hx, hy, hr = np.zeros(N_NONLINEAR), np.zeros(N_NONLINEAR), np.zeros(N_NONLINEAR)
    inv_x, inv_y = 1.0 / sx, 1.0 / sy
    hx[0], hy[1], hr[4] = -inv_x, -inv_y, omr
    cost = 0.0
    n_box, s1_box, s2_box = 0.0, 0.0, 0.0
    for iy in range(iy0, iy1):
        for ix in range(ix0, ix1):
            j = iy * nx + ix if raster else ix
            if not valid[j]:
                continue
            dj = d[j]
            dx = (X[j] - x0) * inv_x
            dy = (Y[j] - y0) * inv_y
            u = (dx * dx - 2.0 * rho * dx * dy + dy * dy) / (2.0 * omr)
            g = np.exp(-u)
            # Laguerre polynomials by their recurrence; with S_n = sum_{k<=n} L_k,
            # d(g L_n)/du = -g S_n and d^2(g L_n)/du^2 = g (S_n + sum_{k<n} S_k)
            lag[0] = 1.0
            lag[1] = 1.0 - u
            for k in range(1, order):
                lag[k + 1] = ((2 * k + 1 - u) * lag[k] - k * lag[k - 1]) / (k + 1)
            f = off + b[0] * g
            fu = -b[0] * g
            fuu = b[0] * g
            s_n = 1.0 + lag[1]
            s_cum = 1.0 + s_n  # S_0 + S_1
            hlin[0] = -g
            row[N_NONLINEAR] = g
            for n in range(2, order + 1):
                s_n += lag[n]
                gl = g * lag[n]
                row[N_NONLINEAR + n - 1] = gl
                hlin[n - 1] = -g * s_n
                f += b[n - 1] * gl
                fu -= b[n - 1] * g * s_n
                fuu += b[n - 1] * g * (s_n + s_cum)
                s_cum += s_n
            row[npar - 1] = 1.0
            ex = (dx - rho * dy) / omr  # du/d(dx)
            ey = (dy - rho * dx) / omr  # du/d(dy)
            u_rho = (2.0 * rho * u - dx * dy) / omr
            hx[2], hy[3] = -dx, -dy
            for i in range(N_NONLINEAR):
                du[i] = ex * hx[i] + ey * hy[i] + u_rho * hr[i]
                row[i] = fu * du[i]
            r = f - dj
            cost += r * r
            n_box += 1.0
            s1_box += dj
            s2_box += dj * dj
            for p in range(npar):
                rp = row[p]
                jtr[p] += rp * r
                for s in range(p + 1):
                    jtj[p, s] += rp * row[s]
            if not second:
                continue
            # the residual-weighted second derivatives of f
            for p in range(N_NONLINEAR):
                for s in range(p + 1):
                    hess[p, s] += r * (fuu * du[p] * du[s] + fu * _u_hessian(
                        p, s, dx, dy, inv_x, inv_y, omr, rho, ex, ey, u_rho, u, hx, hy, hr))
                for n in range(n_lin):
                    hess[N_NONLINEAR + n, p] += r * hlin[n] * du[p]
    # the pixels outside the box: residual off - d, Jacobian row (0, ..., 0, 1)
    n_far = totals[0] - n_box
    s1_far = totals[1] - s1_box
    s2_far = max(totals[2] - s2_box, 0.0)
    cost += n_far * off * off - 2.0 * off * s1_far + s2_far
    jtr[npar - 1] += n_far * off - s1_far
    jtj[npar - 1, npar - 1] += n_far
    for p in range(npar):
        for s in range(p + 1):
            hess[p, s] += jtj[p, s]
    for p in range(npar):
        for s in range(p):
            jtj[s, p] = jtj[p, s]
            hess[s, p] = hess[p, s]
    return cost


@njit(cache=True, error_model="numpy")
def _solve_spd(a, rhs):
    """Solve ``a x = rhs`` by Cholesky; (x, ok) with ok False when ``a`` is not positive
    definite."""
    n = rhs.size
    low = np.zeros((n, n))
    if not cholesky_factor(a, n, low):
        return rhs * np.nan, False
    x = np.empty(n)
    cholesky_solve(low, n, rhs, x)
    return x, True


@njit(cache=True, error_model="numpy")
def fit_frame(d, valid, X, Y, xs, ys, raster, totals, theta0, order):
    """Least-squares Gauss-Laguerre fit of one frame.

    Parameters
    ----------
    d, valid, X, Y : ndarray, shape (p,)
        Pixel values, validity, coordinates (px); raster order (x fastest) when ``raster``.
    xs, ys : ndarray
        The raster's ascending axes (px); ignored unless ``raster``.
    totals : ndarray, shape (3,)
        Count, sum and sum of squares of the valid pixels of the whole frame.
    theta0 : ndarray, shape (5,)
        Starting nonlinear parameters.
    order : int
        Highest Laguerre term.

    Returns
    -------
    q : ndarray
        Nonlinear then linear parameters (``b_0, b_2..b_order, offset``).
    info : ndarray
        ``J^T J`` at ``q``.
    cost : float
        Sum of squared residuals.
    converged : bool
    passes : int
        Evaluations of the normal equations.
    """
    npar = N_NONLINEAR + order + 1
    q = np.zeros(npar)
    q[:N_NONLINEAR] = theta0
    jtj, hess = np.empty((npar, npar)), np.empty((npar, npar))
    jtr = np.empty(npar)
    # linear coefficients at the start: the model is linear in them, one Gauss-Newton step on
    # their block is their exact least-squares solution
    _normal_equations(d, valid, X, Y, xs, ys, raster, totals, q, order, jtj, jtr, hess,
                      False)
    step, ok = _solve_spd(jtj[N_NONLINEAR:, N_NONLINEAR:].copy(), -jtr[N_NONLINEAR:])
    if not ok:
        return q * np.nan, jtj * np.nan, np.nan, False, 1
    q[N_NONLINEAR:] += step
    cost = _normal_equations(d, valid, X, Y, xs, ys, raster, totals, q, order, jtj, jtr, hess,
                             False)
    dof = max(totals[0] - npar, 1.0)
    new_jtj, new_hess = np.empty((npar, npar)), np.empty((npar, npar))
    new_jtr = np.empty(npar)
    # Levenberg-Marquardt (Gauss-Newton, damped on the Fisher diagonal) until a step is below one
    # standard error, then Newton on the full Hessian: with a misfit (a non-Gaussian spot)
    # Gauss-Newton alone zig-zags in the width-c_2 valley, while Newton from a distant start can
    # leave for another of the (rare) local minima
    lam = 1e-3
    newton = False
    converged = False
    passes = 2
    while passes < MAX_PASSES:
        a = hess.copy() if newton else jtj.copy()
        for p in range(npar):
            a[p, p] += lam * max(jtj[p, p], 1e-300)
        step, ok = _solve_spd(a, -jtr)
        if not ok:
            lam = max(lam * 10.0, 1e-6)
            if lam > 1e12:
                break
            continue
        # the step's size in standard errors: step^T (J^T J) step / s^2
        size2 = 0.0
        for p in range(npar):
            for s in range(npar):
                size2 += step[p] * jtj[p, s] * step[s]
        size2 /= cost / dof
        if size2 < STEP_TOL_SIGMA**2:
            # within the tolerance of the minimum: take the last (tiny) step only if it helps
            converged = True
            trial = q + step
            new_cost = _normal_equations(d, valid, X, Y, xs, ys, raster, totals, trial, order,
                                         new_jtj, new_jtr, new_hess, False)
            passes += 1
            if new_cost <= cost:
                q, cost = trial, new_cost
                jtj[:, :] = new_jtj
            break
        trial = q + step
        # the Hessian is needed from the first step below NEWTON_SIGMA on
        new_cost = _normal_equations(d, valid, X, Y, xs, ys, raster, totals, trial, order,
                                     new_jtj, new_jtr, new_hess,
                                     newton or size2 < NEWTON_SIGMA**2)
        passes += 1
        if new_cost <= cost:
            q, cost = trial, new_cost
            jtj[:, :] = new_jtj
            jtr[:] = new_jtr
            hess[:, :] = new_hess
            if size2 < NEWTON_SIGMA**2 and not newton:
                newton, lam = True, 0.0
            lam = 0.0 if lam <= 1e-6 else lam / 10.0
        else:
            lam = max(lam * 10.0, 1e-6)
            if lam > 1e12:
                break
    return q, jtj, cost, converged, passes


@njit(cache=True, parallel=True, error_model="numpy")
def fit_frames_parallel(w, valid, X, Y, xs, ys, raster, totals, theta0, order, which):
    """:func:`fit_frame` of the frames ``which`` (rows of ``w`` (n, p)), in parallel.

    Returns q (m, P), info (m, P, P), cost (m,), converged (m,) for the m frames of ``which``.
    """
    m = which.size
    npar = N_NONLINEAR + order + 1
    q = np.empty((m, npar))
    info = np.empty((m, npar, npar))
    cost = np.empty(m)
    converged = np.zeros(m, dtype=np.bool_)
    for k in prange(m):
        i = which[k]
        qi, infoi, ci, ok, _ = fit_frame(w[i], valid[i], X, Y, xs, ys, raster, totals[i],
                                         theta0[i], order)
        q[k] = qi
        info[k] = infoi
        cost[k] = ci
        converged[k] = ok
    return q, info, cost, converged
