"""Many small bounded least-squares problems at once: the bootstrap replicates of one fit.

A parametric bootstrap refits the same model to a few hundred noise realisations of the same
delays, each starting at the best fit. One ``scipy.optimize.least_squares`` call per replicate
spends most of its time in Python overhead (about 8 ms for a 10-parameter, 100-point problem);
here every replicate takes its Levenberg-Marquardt step in one vectorised pass (a batched
``numpy.linalg.solve`` of p x p systems), so 200 replicates cost about as much as a few single
fits. No well-kept library solves batches of bounded problems on NumPy arrays (JAX-based solvers
do, at the price of a heavy dependency), hence this small solver.

Method: Levenberg-Marquardt with Marquardt's diagonal scaling (More 1978), bounds by projection
of each trial point onto the box; a replicate stops when, with little damping left, its relative
cost reduction or its step falls below the tolerances.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: residuals (B, n) and Jacobian (B, n, p) of B parameter rows (B, p)
ResidualJacobian = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def batched_least_squares(
    fun: ResidualJacobian,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_iter: int = 100,
    ftol: float = 1e-8,
    xtol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise 0.5 * sum(r_b(p_b)^2) for every row b, within ``lower <= p <= upper``.

    Parameters
    ----------
    fun : callable
        ``fun(P, rows)`` returns the residuals (len(rows), n) and their Jacobian
        (len(rows), n, p) of the parameter rows ``P`` for the problems ``rows`` (indices into
        the batch; the data of each problem live in the closure).
    p0 : ndarray (B, p)
        Starting points (clipped into the box).
    lower, upper : ndarray (p,)
        Bounds (may be infinite).
    max_iter : int
        Largest number of Levenberg-Marquardt iterations per problem.
    ftol, xtol : float
        Stop when the relative cost reduction of an accepted step is below ``ftol`` or the step
        is below ``xtol`` relative to the parameters.

    Returns
    -------
    params : ndarray (B, p)
    cost : ndarray (B,)
        0.5 * sum of squared residuals at ``params``.
    """
    p = np.clip(np.array(p0, float), lower, upper)
    rows = np.arange(p.shape[0])
    r, jac = fun(p, rows)
    cost = 0.5 * np.einsum("bn,bn->b", r, r)
    damping = np.full(p.shape[0], 1e-3)
    active = np.isfinite(cost)
    n_par = p.shape[1]
    eye = np.eye(n_par)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        j, res = jac[idx], r[idx]
        jt = j.transpose(0, 2, 1)
        jtj = jt @ j
        grad = (jt @ res[..., None])[..., 0]
        # a parameter on a bound whose gradient pushes it outwards is held for this step (an
        # active set): projecting its step back would shorten every other parameter's step too
        held = ((p[idx] <= lower) & (grad > 0)) | ((p[idx] >= upper) & (grad < 0))
        free = ~held
        jtj = jtj * (free[:, :, None] & free[:, None, :]) + held[:, :, None] * eye
        grad = np.where(held, 0.0, grad)
        diag = np.einsum("bii->bi", jtj)
        scale = np.maximum(diag, 1e-12 * np.max(diag, axis=1, keepdims=True))
        system = jtj + damping[idx, None, None] * scale[:, :, None] * eye
        try:
            step = -np.linalg.solve(system, grad[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular system in the batch: least-norm steps
            step = -np.einsum("bij,bj->bi", np.linalg.pinv(system), grad)
        trial = np.clip(p[idx] + step, lower, upper)
        with np.errstate(all="ignore"):
            r_new, j_new = fun(trial, idx)
            cost_new = 0.5 * np.einsum("bn,bn->b", r_new, r_new)
        better = np.isfinite(cost_new) & (cost_new < cost[idx])
        moved = np.abs(trial - p[idx])
        small_step = np.all(moved <= xtol * (np.abs(p[idx]) + xtol), axis=1)
        gain = (cost[idx] - cost_new) / np.maximum(cost[idx], 1e-300)
        # converged only where the step was close to Gauss-Newton's: a heavily damped step
        # gains little far from the minimum too (stopping there left bootstrap replicates short
        # of their minima and their spread ~10 % small)
        near_gauss_newton = damping[idx] <= 1e-2
        done = near_gauss_newton & ((better & (gain <= ftol)) | small_step)
        done |= damping[idx] > 1e10
        acc = idx[better]
        p[acc], cost[acc] = trial[better], cost_new[better]
        r[acc], jac[acc] = r_new[better], j_new[better]
        damping[acc] = np.maximum(damping[acc] * 0.3, 1e-12)
        damping[idx[~better]] *= 4.0
        active[idx[done]] = False
    return p, cost
