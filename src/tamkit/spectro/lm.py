"""A Levenberg-Marquardt loop on the normal equations, for tall problems with few parameters.

Global TA fits have ~10^5 residuals and ~10 parameters. MINPACK's ``lmder`` (behind
``scipy.optimize.least_squares(method="lm")``) QR-factorises the full Jacobian at every
iteration, which costs more than the model itself here; forming J^T J (one BLAS call) and
solving the damped P x P system is exact in exact arithmetic and well conditioned enough at
these sizes (the parameters are scaled by the diagonal of J^T J, Marquardt's choice:
Marquardt, J. SIAM 11, 431 (1963); More, Lecture Notes in Math. 630, 105 (1978)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class LMResult:
    """Outcome of :func:`levenberg_marquardt` (``cost`` is half the sum of squares)."""

    x: np.ndarray
    cost: float
    nfev: int
    njev: int
    success: bool
    message: str


def levenberg_marquardt(
    fun: Callable[[np.ndarray], np.ndarray],
    jac: Callable[[np.ndarray], np.ndarray],
    x0,
    *,
    max_nfev: int = 200,
    ftol: float = 1e-6,
    xtol: float = 1e-10,
    lam0: float = 1e-3,
) -> LMResult:
    """Minimise 0.5 |fun(x)|^2 with the Jacobian ``jac``.

    Stops when an accepted step lowers the cost by less than ``ftol`` (relative), when the
    scaled step is below ``xtol``, when no damping finds a lower
    cost (a minimum to working precision), or after ``max_nfev`` evaluations (not a success).
    """
    x = np.asarray(x0, dtype=float).copy()
    r = fun(x)
    cost = 0.5 * float(r @ r)
    if not np.isfinite(cost):
        return LMResult(x, cost, 1, 0, False, "non-finite residual at the start")
    jmat = jac(x)
    nfev, njev = 1, 1
    a, g = jmat.T @ jmat, jmat.T @ r
    lam = lam0
    while nfev < max_nfev:
        # a parameter the cost does not depend on (a pinned rate) gets damping, not a wild step
        scale = np.maximum(np.diag(a), 1e-12 * max(float(np.max(np.diag(a))), 1e-300))
        try:
            step = np.linalg.solve(a + lam * np.diag(scale), -g)
        except np.linalg.LinAlgError:
            lam *= 10.0
            continue
        x_new = x + step
        r_new = fun(x_new)
        nfev += 1
        cost_new = 0.5 * float(r_new @ r_new)
        if np.isfinite(cost_new) and cost_new < cost:
            actual = cost - cost_new
            x, r, old_cost, cost = x_new, r_new, cost, cost_new
            lam = max(lam / 3.0, 1e-12)
            # the Jacobian of variable projection is Kaufman's approximation, so the predicted
            # reduction need not shrink with the actual one: stop on the actual reduction
            if actual <= ftol * old_cost:
                return LMResult(x, cost, nfev, njev, True, "relative reduction below ftol")
            if np.sqrt(np.sum(scale * step**2)) <= xtol * max(np.sqrt(2 * cost), 1e-300):
                return LMResult(x, cost, nfev, njev, True, "step below xtol")
            jmat = jac(x)
            njev += 1
            a, g = jmat.T @ jmat, jmat.T @ r
        else:
            lam *= 4.0
            if lam > 1e12:
                return LMResult(x, cost, nfev, njev, True, "no lower cost nearby: a minimum")
    return LMResult(x, cost, nfev, njev, False, "maximum number of evaluations reached")
