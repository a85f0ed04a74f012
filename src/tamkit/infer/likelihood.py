"""The likelihood of a fluence series' early MSD, with its errors and a model-discrepancy term.

Per measurement the residual r = MSD_measured - MSD_model over the window is Gaussian with

    C = diag(e_i^2 - s_0^2) + s_0^2 1 1^T + f^2 m m^T + g^2 diag(m^2),

* e_i, the analysis' per-frame MSD errors, which already hold the sigma_0 error
  s_0 = 2 sigma_0 sd(sigma_0) in quadrature: that part is common to every frame (the same sigma_0
  is subtracted from all), so it is moved from the diagonal into a fully correlated block;
* f m m^T (m the measured MSD, f = :data:`DISCREPANCY_SCALE`), a per-measurement scale error of
  the model, marginalised: the forward model leaves out the hopping stage and the hot flights of
  Auger survivors, which add a smooth share of the MSD that grows with delay and fluence, and
  the fit-chain emulator has a first-order error (0.3 % over draws from the prior, 1 % at its
  strong-scattering corner, against direct fits of the rendered spot, tests/infer). Against
  the simulator's noise-free fits of a default cqd series the band-like model alone is within
  0.3 % at 0.045 and 1.3 % at 0.18 up to 1 ps, and within 0.35 % at every fluence with the
  stochastic stages' surrogate (:mod:`tamkit.infer.surrogate`); for prior draws with a 1 ps MSD
  above ~2000 nm^2, within 0.8 %. f = 1.5 % is kept above that: the surrogate's Monte Carlo
  noise (its t^2 coefficients scatter by up to 2x between independent trainings of the low
  densities) and its D_hot scaling away from the base film are not in those figures;
* g = :data:`DISCREPANCY_POINT` (0.5 %), an independent per-frame term for the linearisation of
  the fit chain, which is not exactly a scale.

Using the measured m in the covariance (not the model's) keeps C fixed, so it is factorised once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import solve_triangular

from tamkit.infer.data import Measured

DISCREPANCY_SCALE = 0.015
DISCREPANCY_POINT = 0.005


def covariance(m: Measured, scale: float = DISCREPANCY_SCALE,
               point: float = DISCREPANCY_POINT) -> np.ndarray:
    """The residual covariance (nm^4) of one measurement, see the module docstring."""
    s0 = m.offset_sd_nm2
    e2 = m.msd_err_nm2**2
    diag = np.clip(e2 - s0**2, 0.25 * e2, None)
    level = np.clip(m.msd_nm2, 0.0, None)
    cov = np.diag(diag + (point * level) ** 2) + s0**2
    cov += scale**2 * np.outer(level, level)
    return cov


class SeriesLikelihood:
    """Gaussian log-likelihood of a series; ``__call__(model_list)`` -> (W,) log-likelihoods."""

    def __init__(self, series: Sequence[Measured], scale: float = DISCREPANCY_SCALE,
                 point: float = DISCREPANCY_POINT) -> None:
        self.data = [m.msd_nm2 for m in series]
        self.chol = []
        self.norm = 0.0
        for m in series:
            c = np.linalg.cholesky(covariance(m, scale, point))
            # the whitening matrix L^-1, once: each call is then one small matrix product
            self.chol.append(solve_triangular(c, np.eye(c.shape[0]), lower=True))
            self.norm -= np.sum(np.log(np.diag(c))) + 0.5 * len(m.msd_nm2) * np.log(2 * np.pi)

    def __call__(self, models: Sequence[np.ndarray]) -> np.ndarray:
        total = None
        for d, c, model in zip(self.data, self.chol, models, strict=True):
            r = d[None, :] - np.atleast_2d(model)
            z = r @ c.T  # (W, T), whitened residuals
            chi2 = np.einsum("wt,wt->w", z, z)
            total = -0.5 * chi2 if total is None else total - 0.5 * chi2
        return total + self.norm
