"""Compiled Cholesky factor and solve of small dense systems, for the numba kernels.

The per-row fits (regime bootstrap, Gauss-Laguerre moments, the TA variable projection) solve
normal equations of a few to a dozen unknowns millions of times inside compiled loops, where a
call into LAPACK per system costs more than the arithmetic. One copy of the two loops serves them
all. (numba does not track calls across modules in its disk cache: after editing this file in a
development checkout, delete the callers' ``__pycache__/*.nbi``.)
"""

from __future__ import annotations

import math

import numba


@numba.njit(cache=True, inline="always")
def cholesky_factor(a, m, low):  # pragma: no cover - compiled
    """Lower Cholesky factor of the leading ``m`` x ``m`` block of ``a`` into ``low``.

    Returns False, leaving ``low`` partly written, when the block is not positive definite
    (a pivot <= 0 or not finite).
    """
    for i in range(m):
        for j in range(i + 1):
            acc = a[i, j]
            for k in range(j):
                acc -= low[i, k] * low[j, k]
            if i == j:
                if not acc > 0.0:
                    return False
                low[i, i] = math.sqrt(acc)
            else:
                low[i, j] = acc / low[j, j]
    return True


@numba.njit(cache=True, inline="always")
def cholesky_solve(low, m, rhs, out):  # pragma: no cover - compiled
    """Solve L L^T x = rhs into ``out`` by forward then back substitution (``out`` may not be
    ``rhs``)."""
    for i in range(m):
        s = rhs[i]
        for k in range(i):
            s -= low[i, k] * out[k]
        out[i] = s / low[i, i]
    for i in range(m - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, m):
            s -= low[k, i] * out[k]
        out[i] = s / low[i, i]
