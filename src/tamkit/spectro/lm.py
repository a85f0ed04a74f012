"""A Levenberg-Marquardt loop on the normal equations, for tall problems with few parameters.

Global TA fits have ~10^5 residuals and ~10 parameters. MINPACK's ``lmder`` (behind
``scipy.optimize.least_squares(method="lm")``) QR-factorises the full Jacobian at every
iteration, which costs more than the model itself here; forming J^T J (one BLAS call) and
solving the damped P x P system is exact in exact arithmetic and well conditioned enough at
these sizes (the parameters are scaled by the diagonal of J^T J, Marquardt's choice:
Marquardt, J. SIAM 11, 431 (1963); More, Lecture Notes in Math. 630, 105 (1978)).
"""

from __future__ import annotations

import math
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


#: Failures of a model evaluation that make a trial step a rejected step, not a crash.
_EVAL_ERRORS = (ArithmeticError, ValueError, np.linalg.LinAlgError)


def _safe(call, x):
    """``call(x)`` as a float array, or None if it fails or is not finite everywhere."""
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = np.asarray(call(x), dtype=float)
    except _EVAL_ERRORS:
        return None
    return out if np.all(np.isfinite(out)) else None


def levenberg_marquardt(
    fun: Callable[[np.ndarray], np.ndarray],
    jac: Callable[[np.ndarray], np.ndarray],
    x0,
    *,
    max_nfev: int = 200,
    ftol: float = 1e-6,
    xtol: float = 1e-10,
    lam0: float = 1e-3,
    lower=None,
    upper=None,
) -> LMResult:
    """Minimise 0.5 |fun(x)|^2 with the Jacobian ``jac`` within the box [lower, upper].

    Stops when an accepted step lowers the cost by less than ``ftol`` (relative), when the
    scaled step is below ``xtol``, when no damping finds a lower
    cost (a minimum to working precision), or after ``max_nfev`` evaluations (not a success).

    A trial step is projected onto the box (bounds may be -inf/inf). A trial point whose residual
    or Jacobian is not finite, or whose evaluation raises an arithmetic error (a division by zero
    in compiled code, say), is a rejected step: the damping grows and the search goes on from the
    last good point. A non-finite start returns ``success=False``.
    """
    def cost(x):
        r = _safe(fun, x)
        return (0.5 * float(r @ r), r) if r is not None else (np.inf, None)

    def normal(x, r):
        jmat = _safe(jac, x)
        return None if jmat is None else (jmat.T @ jmat, jmat.T @ r)

    return _lm_core(cost, normal, x0, max_nfev=max_nfev, ftol=ftol, xtol=xtol, lam0=lam0,
                    lower=lower, upper=upper)


def levenberg_marquardt_normal(
    evaluate: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]],
    x0,
    **options,
) -> LMResult:
    """:func:`levenberg_marquardt` for a model that returns its normal equations directly:
    ``evaluate(x) -> (cost, J^T J, J^T r)`` (cost = 0.5 |r|^2), so the Jacobian need never be
    stored. The same iteration, stopping rules and rejection of non-finite steps."""
    def cost(x):
        out = _safe_normal(evaluate, x)
        return (out[0], out) if out is not None else (np.inf, None)

    def normal(x, out):
        a, g = out[1], out[2]
        return (a, g) if np.isfinite(a).all() and np.isfinite(g).all() else None

    return _lm_core(cost, normal, x0, **options)


def _safe_normal(evaluate, x):
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            c, a, g = evaluate(x)
    except _EVAL_ERRORS:
        return None
    return (float(c), a, g) if math.isfinite(c) else None


def _lm_core(cost_fn, normal_fn, x0, *, max_nfev=200, ftol=1e-6, xtol=1e-10, lam0=1e-3,
             lower=None, upper=None) -> LMResult:
    x = np.asarray(x0, dtype=float).copy()
    lo = np.full(x.shape, -np.inf) if lower is None else np.asarray(lower, dtype=float)
    hi = np.full(x.shape, np.inf) if upper is None else np.asarray(upper, dtype=float)
    x = np.clip(x, lo, hi)
    cost, state = cost_fn(x)
    ag = normal_fn(x, state) if state is not None else None
    if state is None or ag is None:
        return LMResult(x, np.inf, 1, 0, False, "non-finite residual or Jacobian at the start")
    nfev, njev = 1, 1
    a, g = ag
    lam = lam0
    while nfev < max_nfev:
        # a parameter the cost does not depend on (a pinned rate) gets damping, not a wild step
        diag = a.diagonal()
        scale = np.maximum(diag, 1e-12 * max(float(diag.max()), 1e-300))
        damped = a.copy()
        damped.flat[:: a.shape[0] + 1] += lam * scale
        try:
            step = np.linalg.solve(damped, -g)
        except np.linalg.LinAlgError:
            step = None
        if step is None or not np.isfinite(step).all():
            lam *= 10.0
            if lam > 1e12:
                return LMResult(x, cost, nfev, njev, True, "no lower cost nearby: a minimum")
            continue
        x_new = np.clip(x + step, lo, hi)
        step = x_new - x
        cost_new, state_new = cost_fn(x_new)
        nfev += 1
        ag_new = normal_fn(x_new, state_new) if cost_new < cost else None
        if ag_new is not None:
            njev += 1
            actual = cost - cost_new
            x, old_cost, cost = x_new, cost, cost_new
            lam = max(lam / 3.0, 1e-12)
            # the Jacobian of variable projection is Kaufman's approximation, so the predicted
            # reduction need not shrink with the actual one: stop on the actual reduction
            if actual <= ftol * old_cost:
                return LMResult(x, cost, nfev, njev, True, "relative reduction below ftol")
            if np.sqrt(np.sum(scale * step**2)) <= xtol * max(np.sqrt(2 * cost), 1e-300):
                return LMResult(x, cost, nfev, njev, True, "step below xtol")
            a, g = ag_new
        else:
            lam *= 4.0
            if lam > 1e12:
                return LMResult(x, cost, nfev, njev, True, "no lower cost nearby: a minimum")
    return LMResult(x, cost, nfev, njev, False, "maximum number of evaluations reached")
