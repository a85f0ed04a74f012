"""Posterior summaries and identifiability: intervals, correlations, what stays at its prior.

A parameter counts as *determined* when its posterior standard deviation of ln(value) is at most
:data:`DETERMINED_FRACTION` (0.7) of its prior's: above that the data have narrowed it by less
than ~30 % and the interval mostly restates the prior. ln is the scale the priors are flat in,
so the comparison does not depend on the units. Correlations are Pearson coefficients of ln
values; pairs with |r| > :data:`DEGENERATE_CORRELATION` are reported (a combination of them is
measured better than each).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tamkit.infer.parameters import NOT_INFERRED, Prior

DETERMINED_FRACTION = 0.7
DEGENERATE_CORRELATION = 0.9


def summarise(samples: np.ndarray, priors: Sequence[Prior]) -> dict[str, dict]:
    """``{name: {median, mean, sd, ci68, ci95, determined, prior, sd_ratio}}`` per parameter."""
    out = {}
    logs = np.log(samples)
    for i, p in enumerate(priors):
        x = samples[:, i]
        q = np.percentile(x, [2.5, 16.0, 50.0, 84.0, 97.5])
        ratio = float(np.std(logs[:, i]) / p.log_sd)
        out[p.name] = {
            "median": float(q[2]), "mean": float(np.mean(x)), "sd": float(np.std(x)),
            "ci68": [float(q[1]), float(q[3])], "ci95": [float(q[0]), float(q[4])],
            "determined": bool(ratio <= DETERMINED_FRACTION),
            "posterior_to_prior_sd": ratio,
            "prior": {"kind": "log-uniform", "lo": p.lo, "hi": p.hi, "note": p.note},
            "stage": p.stage,
        }
    return out


def correlations(samples: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Pearson correlation matrix of ln(parameters) as a nested mapping."""
    if len(names) < 2:
        return {n: {n: 1.0} for n in names}
    r = np.corrcoef(np.log(samples).T)
    return {a: {b: float(r[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)}


def identifiability(parameters: dict[str, dict], corr: dict[str, dict[str, float]],
                    fixed: dict[str, float]) -> list[str]:
    """Plain sentences: what is determined, what stays at its prior, which pairs are degenerate."""
    lines = []
    det = [n for n, v in parameters.items() if v["determined"]]
    prior = [n for n, v in parameters.items() if not v["determined"]]
    if det:
        lines.append("Determined by the data: " + ", ".join(
            f"{n} (posterior SD {100 * parameters[n]['posterior_to_prior_sd']:.0f} % of the "
            f"prior's)" for n in det) + ".")
    if prior:
        lines.append("Left at (or near) their prior: " + ", ".join(
            f"{n} (posterior SD {100 * parameters[n]['posterior_to_prior_sd']:.0f} % of the "
            f"prior's)" for n in prior) + "; their intervals say more about the prior than "
            "about the film.")
    names = list(corr)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            r = corr[a][b]
            if abs(r) > DEGENERATE_CORRELATION:
                both = parameters[a]["determined"] and parameters[b]["determined"]
                tail = ("a combination of them is fixed better than each" if both else
                        "the data fix a combination of them, not each")
                lines.append(f"{a} and {b} are strongly correlated (r = {r:+.2f}): {tail}.")
    if fixed:
        lines.append("Held fixed at the film base: " + ", ".join(
            f"{k} = {v:.4g}" for k, v in fixed.items()) + ".")
    lines.append("Not inferred: " + ", ".join(NOT_INFERRED) + " (reasons in not_inferred).")
    return lines
