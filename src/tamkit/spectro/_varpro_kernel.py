"""Compiled variable-projection step: basis, amplitudes, residual and normal equations in one pass.

For every wavelength the kernel builds the basis C (delays x components) of IRF-convolved
exponentials (the formulas of :mod:`tamkit.models.ta_kinetics`) and, if asked, its derivatives,
solves the small linear least-squares problem for the amplitudes, and accumulates the residual
sum of squares and, with ``want_jac``, J^T J and J^T r of Golub and Pereyra's full Jacobian
(see :meth:`tamkit.spectro.varpro.VarProProblem.jacobian`). The Jacobian itself (n_w n_t x P) is
never stored: per wavelength it has only n_exp + 2 distinct columns (the rates, the IRF width and
time zero; the chirp coefficients are the time-zero column times the design row), whose small
Gram matrix gives that wavelength's share of J^T J. This is the same arithmetic as the NumPy
path, without the (n_w, n_t, P) temporaries.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tamkit.core.cholesky import cholesky_factor, cholesky_solve
from tamkit.models.ta_kinetics import _conv_exp, _safe_sigma

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


#: Reassociation lets LLVM vectorise the sums over delays (rounding-level differences only);
#: no "nnan"/"ninf": a non-finite value must propagate so the optimiser can reject the step.
_FAST = {"reassoc", "contract", "arcp", "nsz"}


@numba.njit(cache=True, fastmath=_FAST)
def _block(delay, t0, rates, n_exp, sigma, art_order, y, mask, design, slope, fit_sigma,
           fit_chirp, want_jac, amp_out, resid_out, step, w_lo, w_hi, jtj,
           jtr):  # pragma: no cover
    """|r|^2 of the wavelengths ``w_lo`` to ``w_hi`` - 1; adds their share of J^T J (lower
    triangle) and J^T r into ``jtj`` and ``jtr`` (zeros on entry). NaN on a failed pivot."""
    n_w, n_t = y.shape
    m_r = rates.shape[0]
    n_art = art_order + 1 if art_order >= 0 else 0
    m = m_r + n_art
    n_c = design.shape[1]
    q = n_exp + (1 if fit_sigma else 0) + (1 if fit_chirp else 0)
    qs = max(q, 1)
    p_total = n_exp + (1 if fit_sigma else 0) + (n_c if fit_chirp else 0)
    has_mask = mask.shape[0] == n_w
    keep_resid = resid_out.shape[0] == n_w
    s = _safe_sigma(sigma)
    s2 = s * s
    inv_s = 1.0 / s
    x_scale = 1.0 / (_SQRT2 * s)
    g_norm = 1.0 / (_SQRT2PI * s)
    f = np.empty((m, n_t))
    dt = np.empty((m, n_t))
    dk = np.empty((max(m_r, 1), n_t))
    ds = np.empty((m, n_t))
    gbuf = np.empty(n_t)
    mk = np.ones(n_t)
    gram = np.empty((m, m))
    lmat = np.zeros((m, m))
    b = np.empty(m)
    a = np.empty(m)
    r = np.empty(n_t)
    v = np.empty((qs, n_t))
    back = np.empty((qs, m))
    rhs = np.empty(m)
    coef = np.empty(m)
    jw = np.empty((qs, n_t))
    qq = np.empty((qs, qs))
    qr = np.empty(qs)
    cost = 0.0
    for w in range(w_lo, w_hi):
        t0w = t0[w]
        # the same time zero as the previous wavelength and no mask (the SVD-compressed start
        # search, a chirp of order 0): the same basis, Gram matrix and factor; reuse them
        if not (w > w_lo and not has_mask and t0w == t0[w - 1]):
            if has_mask:
                for t in range(n_t):
                    mk[t] = mask[w, t]
            for t in range(n_t):
                tau = delay[t] - t0w
                u2 = tau * tau / (2.0 * s2)
                gbuf[t] = math.exp(-u2) * g_norm if u2 < 800.0 else 0.0
            # basis (and derivatives) at this wavelength: near time zero the full formula, past
            # the rise the plain exponential continued by the per-delay step factor
            for j in range(m_r):
                k = rates[j]
                t = 0
                while t < n_t:
                    tau = delay[t] - t0w
                    if (k * s2 - tau) * x_scale < -6.0:
                        break
                    f[j, t] = _conv_exp(tau, k, s)
                    t += 1
                if t < n_t:
                    val = math.exp(k * (0.5 * k * s2 - (delay[t] - t0w)))
                    f[j, t] = val
                    for tt in range(t + 1, n_t):
                        val *= step[j, tt]
                        f[j, tt] = val
                if want_jac:
                    ks2 = k * s2
                    k2s = k * k * s
                    ks = k * s
                    for t in range(n_t):
                        tau = delay[t] - t0w
                        val = f[j, t]
                        g = gbuf[t]
                        dt[j, t] = -(g - k * val) * mk[t]
                        dk[j, t] = k * ((ks2 - tau) * val - s2 * g) * mk[t]
                        ds[j, t] = s * (k2s * val - g * (ks + tau * inv_s)) * mk[t]
                if has_mask:
                    for t in range(n_t):
                        f[j, t] *= mk[t]
            if n_art > 0:
                for t in range(n_t):
                    u = (delay[t] - t0w) * inv_s
                    gg = math.exp(-0.5 * u * u)
                    h0 = gg
                    h1 = -u * gg
                    h2 = (u * u - 1.0) * gg
                    h3 = (3.0 * u - u * u * u) * gg
                    for n in range(n_art):
                        hn = h0 if n == 0 else (h1 if n == 1 else h2)
                        hn1 = h1 if n == 0 else (h2 if n == 1 else h3)
                        f[m_r + n, t] = hn * mk[t]
                        if want_jac:
                            dt[m_r + n, t] = -hn1 * inv_s * mk[t]
                            ds[m_r + n, t] = -u * hn1 * mk[t]
            # amplitudes: (C^T C + ridge) a = C^T y, by Cholesky
            tr = 0.0
            for i in range(m):
                for j in range(i + 1):
                    acc = 0.0
                    for t in range(n_t):
                        acc += f[i, t] * f[j, t]
                    gram[i, j] = acc
                    gram[j, i] = acc
                tr += gram[i, i]
            ridge = 1e-12 * tr + 1e-300
            for i in range(m):
                gram[i, i] += ridge
            if not cholesky_factor(gram, m, lmat):
                return np.nan
        for i in range(m):
            acc = 0.0
            for t in range(n_t):
                acc += f[i, t] * y[w, t]
            b[i] = acc
        cholesky_solve(lmat, m, b, a)
        for i in range(m):
            amp_out[w, i] = a[i]
        for t in range(n_t):
            r[t] = y[w, t]
        for j in range(m):
            aj = a[j]
            for t in range(n_t):
                r[t] -= f[j, t] * aj
        acc = 0.0
        for t in range(n_t):
            acc += r[t] * r[t]
        cost += acc
        if keep_resid:
            for t in range(n_t):
                resid_out[w, t] = r[t]
        if not want_jac:
            continue
        # the distinct Jacobian columns: v = (dC/dp) a, back = (dC/dp)^T r
        c = 0
        for j in range(n_exp):
            sc = a[j] * slope[j]
            acc = 0.0
            for t in range(n_t):
                v[c, t] = dk[j, t] * sc
                acc += dk[j, t] * r[t]
            for i in range(m):
                back[c, i] = 0.0
            back[c, j] = acc * slope[j]
            c += 1
        for which in range(2):
            if (which == 0 and not fit_sigma) or (which == 1 and not fit_chirp):
                continue
            d = ds if which == 0 else dt
            for t in range(n_t):
                v[c, t] = 0.0
            for j in range(m):
                aj = a[j]
                acc = 0.0
                for t in range(n_t):
                    v[c, t] += d[j, t] * aj
                    acc += d[j, t] * r[t]
                back[c, j] = acc
            c += 1
        # J column = -[v - C G^-1 (C^T v - back)]
        for c in range(q):
            for i in range(m):
                acc = 0.0
                for t in range(n_t):
                    acc += f[i, t] * v[c, t]
                rhs[i] = acc - back[c, i]
            cholesky_solve(lmat, m, rhs, coef)
            for t in range(n_t):
                jw[c, t] = -v[c, t]
            for i in range(m):
                ci = coef[i]
                for t in range(n_t):
                    jw[c, t] += f[i, t] * ci
        for c1 in range(q):
            for c2 in range(c1 + 1):
                acc = 0.0
                for t in range(n_t):
                    acc += jw[c1, t] * jw[c2, t]
                qq[c1, c2] = acc
                qq[c2, c1] = acc
            acc = 0.0
            for t in range(n_t):
                acc += jw[c1, t] * r[t]
            qr[c1] = acc
        # scatter into the full parameter vector (chirp: time-zero column times design row)
        n_own = q - 1 if fit_chirp else q
        for p1 in range(p_total):
            c1 = p1 if p1 < n_own else q - 1
            s1 = 1.0 if p1 < n_own else design[w, p1 - n_own]
            jtr[p1] += s1 * qr[c1]
            for p2 in range(p1 + 1):
                c2 = p2 if p2 < n_own else q - 1
                sp2 = 1.0 if p2 < n_own else design[w, p2 - n_own]
                jtj[p1, p2] += s1 * sp2 * qq[c1, c2]
    return cost


#: wavelengths per block of :func:`varpro_normal`: a fixed size, so that the sums (block by
#: block, in order) do not depend on the number of threads
BLOCK_WAVELENGTHS = 16


@numba.njit(cache=True, parallel=True)
def varpro_normal(delay, t0, rates, n_exp, sigma, art_order, y, mask, design, slope,
                  fit_sigma, fit_chirp, want_jac, amp_out, resid_out):  # pragma: no cover
    """Cost 0.5 |r|^2 and, with ``want_jac``, (J^T J, J^T r); fills ``amp_out`` (n_w, M) and,
    if it has n_w rows, ``resid_out`` (n_w, n_t). ``mask`` of shape (0, 0) means no mask.
    ``delay`` must increase strictly.

    Past the rise (erfc argument below -6, where the convolved exponential is the plain one
    shifted by k^2 s^2 / 2) each component is continued along the delays by multiplying with
    exp(-k (t_i - t_{i-1})), computed once per call for all wavelengths. A non-positive pivot
    of the (ridged) Gram matrix gives a NaN cost: a rejected step. Blocks of
    :data:`BLOCK_WAVELENGTHS` wavelengths run in parallel; their sums are added in order.
    """
    n_w, n_t = y.shape
    m_r = rates.shape[0]
    n_c = design.shape[1]
    p_total = n_exp + (1 if fit_sigma else 0) + (n_c if fit_chirp else 0)
    step = np.empty((m_r, n_t))
    for j in range(m_r):
        step[j, 0] = 1.0
        for t in range(1, n_t):
            step[j, t] = math.exp(-rates[j] * (delay[t] - delay[t - 1]))
    n_blocks = (n_w + BLOCK_WAVELENGTHS - 1) // BLOCK_WAVELENGTHS
    costs = np.zeros(n_blocks)
    jtjs = np.zeros((n_blocks, p_total, p_total))
    jtrs = np.zeros((n_blocks, p_total))
    for blk in numba.prange(n_blocks):
        w_lo = blk * BLOCK_WAVELENGTHS
        w_hi = min(n_w, w_lo + BLOCK_WAVELENGTHS)
        costs[blk] = _block(delay, t0, rates, n_exp, sigma, art_order, y, mask, design, slope,
                            fit_sigma, fit_chirp, want_jac, amp_out, resid_out, step, w_lo,
                            w_hi, jtjs[blk], jtrs[blk])
    cost = 0.0
    jtj = np.zeros((p_total, p_total))
    jtr = np.zeros(p_total)
    for blk in range(n_blocks):
        cost += costs[blk]
        for p1 in range(p_total):
            jtr[p1] += jtrs[blk, p1]
            for p2 in range(p1 + 1):
                jtj[p1, p2] += jtjs[blk, p1, p2]
    for p1 in range(p_total):
        for p2 in range(p1):
            jtj[p2, p1] = jtj[p1, p2]
    return 0.5 * cost, jtj, jtr
