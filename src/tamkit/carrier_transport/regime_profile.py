"""Profile-likelihood errors of the regime exponents and breaks.

The regime bootstrap (:func:`tamkit.carrier_transport.regimes._bootstrap`) refits replicates
from the best fit and a few competing minima. For a break that is weakly placed, replicates
keep choosing the basin they start in, so their spread misses how far the break could move:
on the artificial stack a second break fitted at 250 ps (truth 100 ps) got a bootstrap error of
20 ps, and the break pulls had an SD of 3.7 (``benchmarks/calibration.py``). This is a known
weakness of the bootstrap for change points.

A profile does not depend on where replicates start. The parameter is held on a grid while the
others are refitted, and the error is half the width of the interval where chi^2 rises by at
most max(1, chi^2_red) (Wilks; the scale the bootstrap gives its noise). Each grid point starts
from the best fit with only the profiled parameter moved. A break's profile holds its log time,
with the breaks packed about it (:mod:`tamkit.carrier_transport.regimes_kernel`).
"""

from __future__ import annotations

import numpy as np

from tamkit.carrier_transport.regimes_kernel import fit_rows

#: grid points of each profile (denser towards the best fit: offsets grow as the square), and
#: its half-span in multiples of the bootstrap error, clipped (exponent; ln of the break)
N_GRID = 41
SPAN_IN_BOOTSTRAP_ERRORS = 8.0
ALPHA_SPAN = (0.3, 2.0)
LOG_BREAK_SPAN = (0.3, 4.0)


def _half_width(grid: np.ndarray, dchi2: np.ndarray, centre: int) -> tuple[float, float]:
    """The interval about ``grid[centre]`` where ``dchi2`` <= 1, interpolated at each end; an
    end that never crosses is the grid's edge."""
    inside = dchi2 <= 1.0  # NaN (an infeasible grid point) is outside
    inside[centre] = True
    ends = []
    for step in (-1, 1):
        i = centre
        while 0 <= i + step < grid.size and inside[i + step]:
            i += step
        j = i + step
        if not 0 <= j < grid.size or not np.isfinite(dchi2[j]):
            ends.append(grid[i])
            continue
        # sqrt(delta chi^2) is linear in the parameter near the minimum: interpolate that
        a = np.sqrt(min(max(dchi2[i], 0.0), 1.0))
        b = np.sqrt(dchi2[j])
        frac = (1.0 - a) / (b - a) if b > a else 0.0
        ends.append(grid[i] + frac * (grid[j] - grid[i]))
    return ends[0], ends[1]


def _to_pivot(rows: np.ndarray, k: int, pivot: int) -> np.ndarray:
    """Packed rows (break slots e_0, gaps) repacked about break ``pivot``."""
    out = rows.copy()
    s = 2 + k
    e = np.cumsum(rows[:, s:], axis=1)
    out[:, s + pivot] = e[:, pivot]
    for m in range(pivot):
        out[:, s + m] = e[:, m + 1] - e[:, m]
    for m in range(pivot + 1, k - 1):
        out[:, s + m] = e[:, m] - e[:, m - 1]
    return out


def _pivot_bounds(lo: np.ndarray, hi: np.ndarray, k: int, pivot: int):
    """Bounds of rows packed about ``pivot``: the absolute log break's bounds move to its slot,
    and slot e_0 takes a gap's."""
    s = 2 + k
    lo, hi = lo.copy(), hi.copy()
    if pivot:  # then k >= 3, so slot s + 1 holds a gap
        gap_lo, gap_hi = lo[s + 1], hi[s + 1]
        lo[s + pivot], hi[s + pivot] = lo[s], hi[s]
        lo[s], hi[s] = gap_lo, gap_hi
    return lo, hi


def _span(boot_err: float, limits: tuple[float, float]) -> float:
    err = boot_err if np.isfinite(boot_err) else limits[1]
    return float(np.clip(SPAN_IN_BOOTSTRAP_ERRORS * err, *limits))


def profile_errors(p_best: np.ndarray, k: int, t: np.ndarray, s2: np.ndarray, err: np.ndarray,
                   anchor_fs: float, lo: np.ndarray, hi: np.ndarray, best_chi2: float,
                   chi2_red: float,
                   boot_alpha_err: np.ndarray, boot_log_break_err: np.ndarray,
                   min_log_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Profile errors of the k exponents and the k - 1 breaks (fs) of a piecewise fit.

    Parameters
    ----------
    p_best : ndarray
        The best fit, packed (:func:`tamkit.carrier_transport.regimes._pack`).
    t, s2, err : ndarray
        Delays (fs), sigma_t^2 and its errors (nm^2), as fitted.
    lo, hi : ndarray
        The fit's bounds (usual packing).
    best_chi2 : float
        chi^2 of ``p_best``.
    chi2_red : float
        Reduced chi^2 of the best fit: chi^2 rises are divided by max(1, chi2_red).
    boot_alpha_err, boot_log_break_err : ndarray
        Bootstrap errors of the exponents and of ln(break): they set each grid's span.
    min_log_gap : float
        Smallest ln ratio of neighbouring breaks.

    Returns
    -------
    alpha_err, break_err_fs : ndarray
        Half the width of each profile's interval (exponent; fs for the breaks).
    """
    scale = max(1.0, chi2_red if np.isfinite(chi2_red) else 1.0)
    which = np.zeros(N_GRID, int)
    offsets = np.linspace(-1.0, 1.0, N_GRID)
    offsets = np.sign(offsets) * offsets**2
    centre = N_GRID // 2
    alpha_err = np.full(k, np.nan)
    for m in range(k):
        grid = np.clip(p_best[2 + m] + _span(boot_alpha_err[m], ALPHA_SPAN) * offsets,
                       lo[2 + m], hi[2 + m])
        rows = np.repeat(p_best[None, :], N_GRID, axis=0)
        rows[:, 2 + m] = grid
        _, cost = fit_rows(rows, k, t, anchor_fs, s2, which, err, lo, hi, hold=2 + m)
        a, b = _half_width(grid, (2 * cost - best_chi2) / scale, centre)
        alpha_err[m] = 0.5 * (b - a)
    break_err = np.full(k - 1, np.nan)
    e_best = np.cumsum(p_best[2 + k :])
    for j in range(k - 1):
        grid = e_best[j] + _span(boot_log_break_err[j], LOG_BREAK_SPAN) * offsets
        grid = np.clip(grid, lo[2 + k], hi[2 + k])
        e = np.repeat(e_best[None, :], N_GRID, axis=0)
        e[:, j] = grid
        # the other breaks stay where they were, pushed aside only as far as the gap requires
        for m in range(j + 1, k - 1):
            e[:, m] = np.maximum(e[:, m], e[:, m - 1] + min_log_gap)
        for m in range(j - 1, -1, -1):
            e[:, m] = np.minimum(e[:, m], e[:, m + 1] - min_log_gap)
        feasible = (e[:, 0] >= lo[2 + k]) & (e[:, -1] <= hi[2 + k])
        rows = np.repeat(p_best[None, :], N_GRID, axis=0)
        rows[:, 2 + k] = e[:, 0]
        rows[:, 3 + k :] = np.diff(e, axis=1)
        plo, phi = _pivot_bounds(lo, hi, k, j)
        _, cost = fit_rows(_to_pivot(rows, k, j), k, t, anchor_fs, s2, which, err, plo, phi,
                           pivot=j, hold=2 + k + j)
        dchi2 = np.where(feasible, (2 * cost - best_chi2) / scale, np.nan)
        a, b = _half_width(grid, dchi2, centre)
        break_err[j] = 0.5 * (np.exp(b) - np.exp(a))
    return alpha_err, break_err

