"""Closed-form moments of a 2D Gaussian seen through an elliptical aperture.

For a 2D Gaussian of covariance ``C`` and the aperture ``{d : d^T C^-1 d < k^2}`` (a Mahalanobis
radius ``k``), whitening turns the aperture into a disk of radius ``k`` around a unit isotropic
Gaussian, where ``w = r^2 / 2`` is exponentially distributed. With ``u = k^2 / 2``:

- the covariance measured inside the aperture is ``g(u) C``, ``g(u) = E[w | w < u]
  = (1 - (1 + u) e^-u) / (1 - e^-u)``;
- the 1D marginal along either principal axis has ``<x^4> / <x^2>^2 = K(u)
  = 1.5 E[w^2 | w < u] / E[w | w < u]^2``, ``E[w^2 | w < u] = (2 - (2 + 2u + u^2) e^-u) /
  (1 - e^-u)``, which tends to 3 as ``u -> inf``.

Dividing by ``g(u)`` and scaling the kurtosis by ``3 / K(u)`` corrects the truncation exactly for a
Gaussian; for other profiles it is the stated assumption (the part of a heavier tail beyond the
aperture is not recovered).
"""

from __future__ import annotations

import numpy as np


def _tail_terms(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = np.asarray(u, dtype=float)
    e = np.exp(-u)
    inside = -np.expm1(-u)  # 1 - e^-u, accurate for small u
    m1 = (1.0 - (1.0 + u) * e) / inside
    m2 = (2.0 - (2.0 + 2.0 * u + u * u) * e) / inside
    return m1, m2


def variance_factor(k: np.ndarray | float) -> np.ndarray:
    """Measured / true variance of a Gaussian inside a Mahalanobis radius ``k`` (both axes)."""
    m1, _ = _tail_terms(0.5 * np.asarray(k, float) ** 2)
    return m1


def kurtosis_truncated(k: np.ndarray | float) -> np.ndarray:
    """``<x^4> / <x^2>^2`` of either principal-axis marginal of a Gaussian inside radius ``k``."""
    m1, m2 = _tail_terms(0.5 * np.asarray(k, float) ** 2)
    return 1.5 * m2 / m1**2
