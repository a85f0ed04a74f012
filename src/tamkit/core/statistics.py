"""Small statistical helpers shared by the analyses."""

from __future__ import annotations

import numpy as np


def residual_correlation_inflation(residuals: np.ndarray) -> float:
    """Error inflation sqrt((1 + rho) / (1 - rho)) for residuals correlated at lag 1 (rho >= 0).

    A covariance from a least-squares fit assumes independent residuals; where the model misses
    a slow structure of the curve (a relaxation that is not one exponential), neighbouring
    residuals share a sign and the data hold fewer independent points than delays. For an AR(1)
    sequence the variance of a mean grows by (1 + rho) / (1 - rho) (e.g. Bayley & Hammersley,
    J. R. Stat. Soc. B 8, 184 (1946)); rho is capped at 0.9. Used by the bleach-shift fit (on the
    simulator's 90 vol% maps rho = 0.06-0.22; the pull SD of Delta E 1.25 -> 1.1).
    """
    r = np.asarray(residuals, float)
    r = r[np.isfinite(r)]
    if r.size < 4:
        return 1.0
    r = r - r.mean()
    rho = float(np.sum(r[:-1] * r[1:]) / np.sum(r * r)) if np.any(r) else 0.0
    rho = min(max(rho, 0.0), 0.9)
    return float(np.sqrt((1.0 + rho) / (1.0 - rho)))


def replicate_noise(err: np.ndarray, n: int, rng: np.random.Generator, *,
                    common: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Noise for ``n`` bootstrap replicates (n, len(err)) of points with errors ``err``.

    Without ``common`` the points are independent. With common modes (len(err), m), each
    replicate also draws the shared part ``common @ u`` (u from its own generator, so that the
    independent draws stay those of ``rng``), and the points' own noise has what is left of
    their variance.
    """
    z = rng.standard_normal((n, err.size))
    if common is None or not np.any(common):
        return err * z
    shared = (common**2).sum(axis=1)
    own = np.sqrt(np.clip(err**2 - shared, 0.0, None))
    u = np.random.default_rng([int(seed), 0x0C0]).standard_normal((n, common.shape[1]))
    return own * z + u @ common.T


def bootstrap_error(values) -> float:
    """Bootstrap standard error as half the central 68 % interval (16th to 84th percentile).

    Robust to the few replicates where a nonlinear fit lands in another minimum, which would
    inflate a plain standard deviation; equal to it for a normal distribution.
    """
    values = np.asarray(list(values), float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan")
    lo, hi = np.percentile(values, [15.865, 84.135])
    return float((hi - lo) / 2)
