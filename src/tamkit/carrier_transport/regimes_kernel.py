"""Compiled sigma_t^2 and Jacobian of the packed piecewise power law, for many parameter rows.

The regime bootstrap evaluates the model and its Jacobian for a few thousand parameter rows per
Levenberg-Marquardt iteration; in NumPy that meant several (rows, delays, regimes) temporaries
per call and most of the analysis time. One compiled pass per row writes both at once, and
:func:`fit_rows` runs each row's whole bounded Levenberg-Marquardt fit in compiled code.

Packed parameters (see :mod:`tamkit.carrier_transport.regimes`): ``[sigma_0^2, ln M, alpha_1..k,
e_0, gaps...]`` with log-breaks ``e_j = e_0 + gaps[1] + ... + gaps[j]``. With u = ln t,
ln MSD = ln M + sum_m alpha_m c_m(u), where c_0 = (u - e_0) - (u - e_0)+,
c_m = (u - e_(m-1))+ - (u - e_m)+ and c_(k-1) = (u - e_(k-2))+; one regime is anchored at
``anchor_fs`` instead (c_0 = u - ln anchor).

A profile over one break holds that break's log time: :func:`fit_rows` then takes the breaks
packed about a ``pivot`` j, ``[..., e_j - e_(j-1), ..., e_1 - e_0, e_j, e_(j+1) - e_j, ...]``
(slot of e_0 + m: the gap to the pivot's side of break m; pivot 0 is the packing above), so that
e_j is one parameter and ``hold`` can keep it fixed.
"""

from __future__ import annotations

import numba
import numpy as np

from tamkit.core.cholesky import cholesky_factor, cholesky_solve


# two functions, not one made by a factory: numba's disk cache confuses closures of one name
@numba.njit(cache=True, error_model="numpy")
def _sigma_sq_rows_serial(P, k, log_t, positive, log_anchor_fs):  # pragma: no cover - compiled
    n_rows, n_par = P.shape
    sigma_sq = np.empty((n_rows, log_t.size))
    jac = np.empty((n_rows, n_par, log_t.size))
    for b in range(n_rows):
        _row_model(P[b], k, log_t, positive, log_anchor_fs, sigma_sq[b], jac[b], 0)
    return sigma_sq, jac


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _sigma_sq_rows_parallel(P, k, log_t, positive, log_anchor_fs):  # pragma: no cover
    n_rows, n_par = P.shape
    sigma_sq = np.empty((n_rows, log_t.size))
    jac = np.empty((n_rows, n_par, log_t.size))
    for b in numba.prange(n_rows):
        _row_model(P[b], k, log_t, positive, log_anchor_fs, sigma_sq[b], jac[b], 0)
    return sigma_sq, jac


#: rows from which the thread pool pays
PARALLEL_ROWS = 64


def sigma_sq_rows(P: np.ndarray, k: int, delay_fs: np.ndarray,
                  anchor_fs: float) -> tuple[np.ndarray, np.ndarray]:
    """sigma_t^2 (nm^2, shape (B, n)) of B packed parameter rows (B, p) and its Jacobian (B, n, p).

    Delays <= 0 give sigma_0^2 (no spreading yet) and a Jacobian row of (1, 0, ...).
    """
    t = np.asarray(delay_fs, float)
    positive = t > 0
    log_t = np.log(np.where(positive, t, 1.0))
    P = np.ascontiguousarray(P, float)
    kernel = _sigma_sq_rows_parallel if P.shape[0] >= PARALLEL_ROWS else _sigma_sq_rows_serial
    sigma_sq, jac = kernel(P, int(k), log_t, positive, float(np.log(anchor_fs)))
    return sigma_sq, jac.transpose(0, 2, 1)


@numba.njit(cache=True, error_model="numpy")
def _row_model(p, k, log_t, positive, log_anchor_fs, sigma_sq, jac, pivot):  # pragma: no cover
    """sigma_t^2 and Jacobian of one packed row ``p`` (breaks packed about ``pivot``) into
    ``sigma_sq`` (n,) and ``jac``, transposed (p, n): the normal equations then run along
    contiguous delays."""
    n = log_t.size
    e = np.empty(max(k - 1, 1))
    if k > 1:
        e[pivot] = p[2 + k + pivot]
        for j in range(pivot - 1, -1, -1):
            e[j] = e[j + 1] - p[2 + k + j]
        for j in range(pivot + 1, k - 1):
            e[j] = e[j - 1] + p[2 + k + j]
    coeff = np.empty(k)
    d_e = np.empty(max(k - 1, 1))
    for i in range(n):
        for q in range(p.size):
            jac[q, i] = 0.0
        jac[0, i] = 1.0
        if not positive[i]:
            sigma_sq[i] = p[0]
            continue
        u = log_t[i]
        if k == 1:
            coeff[0] = u - log_anchor_fs
        else:
            r_prev = max(u - e[0], 0.0)
            coeff[0] = (u - e[0]) - r_prev
            for m in range(1, k - 1):
                r_m = max(u - e[m], 0.0)
                coeff[m] = r_prev - r_m
                r_prev = r_m
            coeff[k - 1] = r_prev
        log_msd = p[1]
        for m in range(k):
            log_msd += p[2 + m] * coeff[m]
        msd = np.exp(log_msd)
        sigma_sq[i] = p[0] + msd
        jac[1, i] = msd
        for m in range(k):
            jac[2 + m, i] = msd * coeff[m]
        if k > 1:
            # d ln MSD / d e_j
            for j in range(k - 1):
                d_e[j] = -(p[3 + j] - p[2 + j]) if u > e[j] else 0.0
            d_e[0] -= p[2]
            # the pivot moves every e_m; a gap to its right moves e_m for m >= its break, one
            # to its left (e_(j+1) - e_j) moves e_m for m <= j, the other way
            total = 0.0
            for j in range(k - 1):
                total += d_e[j]
            jac[2 + k + pivot, i] = msd * total
            cumulative = 0.0
            for j in range(k - 2, pivot, -1):
                cumulative += d_e[j]
                jac[2 + k + j, i] = msd * cumulative
            cumulative = 0.0
            for j in range(pivot):
                cumulative += d_e[j]
                jac[2 + k + j, i] = -msd * cumulative


@numba.njit(cache=True, error_model="numpy")
def _solve_spd(a, b):  # pragma: no cover - compiled
    """Solve a x = b for a symmetric positive-definite ``a`` (Cholesky); least norm if not
    (NaN where ``a`` is not finite: the step is then rejected)."""
    n = b.size
    low = np.zeros((n, n))
    if not cholesky_factor(a, n, low):
        return np.linalg.pinv(a) @ b if np.all(np.isfinite(a)) else b * np.nan
    x = np.empty(n)
    cholesky_solve(low, n, b, x)
    return x


@numba.njit(cache=True, error_model="numpy")
def _residuals_into(p, k, log_t, positive, log_anchor_fs, y, err, r, jac,
                    pivot):  # pragma: no cover
    """Residuals into ``r`` and their Jacobian, transposed (p, n), into ``jac``; 0.5 chi^2."""
    _row_model(p, k, log_t, positive, log_anchor_fs, r, jac, pivot)
    cost = 0.0
    for i in range(r.size):
        r[i] = (r[i] - y[i]) / err[i]
        cost += r[i] * r[i]
    for q in range(p.size):
        for i in range(r.size):
            jac[q, i] /= err[i]
    return 0.5 * cost


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _lm_rows(P0, k, log_t, positive, log_anchor_fs, Y, which, err, lower, upper,
             max_iter, ftol, xtol, pivot, hold):  # pragma: no cover - compiled
    n_rows, n_par = P0.shape
    n = log_t.size
    params = np.empty((n_rows, n_par))
    costs = np.empty(n_rows)
    for b in numba.prange(n_rows):
        y = Y[which[b]]
        p = np.minimum(np.maximum(P0[b].copy(), lower), upper)
        r = np.empty(n)
        jac = np.empty((n_par, n))  # transposed: the normal equations run along delays
        r_new = np.empty(n)
        jac_new = np.empty((n_par, n))
        cost = _residuals_into(p, k, log_t, positive, log_anchor_fs, y, err, r, jac, pivot)
        damping = 1e-3
        active = np.isfinite(cost)
        jtj = np.empty((n_par, n_par))
        grad = np.empty(n_par)
        system = np.empty((n_par, n_par))
        for _ in range(max_iter):
            if not active:
                break
            jtj[:, :] = jac @ jac.T
            grad[:] = jac @ r
            # a parameter on a bound whose gradient pushes it outwards is held for this step
            for a in range(n_par):
                if (a == hold or (p[a] <= lower[a] and grad[a] > 0)
                        or (p[a] >= upper[a] and grad[a] < 0)):
                    for c in range(n_par):
                        jtj[a, c] = 0.0
                        jtj[c, a] = 0.0
                    jtj[a, a] = 1.0
                    grad[a] = 0.0
            diag_max = 0.0
            for a in range(n_par):
                diag_max = max(diag_max, jtj[a, a])
            for a in range(n_par):
                for c in range(n_par):
                    system[a, c] = jtj[a, c]
                system[a, a] += damping * max(jtj[a, a], 1e-12 * diag_max)
            step = _solve_spd(system, grad)
            trial = np.minimum(np.maximum(p - step, lower), upper)
            cost_new = _residuals_into(trial, k, log_t, positive, log_anchor_fs, y, err,
                                       r_new, jac_new, pivot)
            better = np.isfinite(cost_new) and cost_new < cost
            small_step = True
            for a in range(n_par):
                if abs(trial[a] - p[a]) > xtol * (abs(p[a]) + xtol):
                    small_step = False
            gain = (cost - cost_new) / max(cost, 1e-300)
            # converged only near Gauss-Newton: a heavily damped step gains little anywhere
            done = damping <= 1e-2 and ((better and gain <= ftol) or small_step)
            done = done or damping > 1e10
            if better:
                p[:] = trial
                cost = cost_new
                r, r_new = r_new, r
                jac, jac_new = jac_new, jac
                damping = max(damping * 0.3, 1e-12)
            else:
                damping *= 4.0
            if done:
                active = False
        params[b] = p
        costs[b] = cost
    return params, costs


def fit_rows(p0: np.ndarray, k: int, delay_fs: np.ndarray, anchor_fs: float,
             sigma_sq_nm2: np.ndarray, which: np.ndarray, err_nm2: np.ndarray,
             lower: np.ndarray, upper: np.ndarray, *, max_iter: int = 100,
             ftol: float = 1e-8, xtol: float = 1e-8, pivot: int = 0,
             hold: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Bounded Levenberg-Marquardt fits of the packed piecewise power law, one per row of ``p0``.

    The compiled twin of :func:`tamkit.carrier_transport.batch_lsq.batched_least_squares` (same
    steps, damping, active set and stopping rule) for this model, so a bootstrap's thousand
    refits never leave compiled code.

    Parameters
    ----------
    p0 : ndarray (B, p)
        Starting rows (clipped into the box).
    k : int
        Number of regimes.
    delay_fs : ndarray (n,)
        Delays (fs).
    anchor_fs : float
        Anchor time of the one-regime model (fs).
    sigma_sq_nm2 : ndarray (R, n)
        Curves to fit; row ``b`` fits curve ``which[b]``.
    which : ndarray (B,) of int
    err_nm2 : ndarray (n,)
        Standard errors of sigma_t^2 (nm^2).
    lower, upper : ndarray (p,)
        Bounds.
    pivot : int
        Break about which the rows' breaks are packed (module docstring; 0: the usual packing).
    hold : int
        Parameter held at each row's starting value (a profile), or -1 for none.

    Returns
    -------
    params : ndarray (B, p)
    cost : ndarray (B,)
        0.5 * chi^2 at ``params``.
    """
    t = np.asarray(delay_fs, float)
    positive = t > 0
    log_t = np.log(np.where(positive, t, 1.0))
    curves = np.ascontiguousarray(np.atleast_2d(sigma_sq_nm2), float)
    return _lm_rows(np.ascontiguousarray(p0, float), int(k), log_t, positive,
                    float(np.log(anchor_fs)), curves,
                    np.asarray(which, np.int64), np.asarray(err_nm2, float),
                    np.asarray(lower, float), np.asarray(upper, float), int(max_iter),
                    float(ftol), float(xtol), int(pivot), int(hold))
