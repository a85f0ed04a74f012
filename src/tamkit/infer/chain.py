"""Emulator of the microscope + Gaussian-fit chain: what a per-frame fit makes of the spot's MSD.

The spot is a superposition of carriers from local densities N_k (the simulator's levels), each
spreading with its own MSD_k; the centre (high N, more carrier-carrier scattering) spreads less
than the rim. A Gaussian fit of that non-Gaussian image does not return the population mean of
MSD_k: for cqd it returns 2 % (<N_abs> = 0.045) to 9 % (0.18) less (checked against the
simulator's noise-free fits, ``truth['noise_free_fit']``). The emulator linearises the chain
around equal MSDs m, where the image is an exact Gaussian and the fit returns F0(m) ~ m:

    MSD_fit ~ F0(m) + sum_k c_k(m) (MSD_k - m),   m = population mean,

with the sensitivities c_k(m) = d MSD_fit / d MSD_k found by finite differences through the
simulator's own imager (:func:`tamkit.sim.microscope.spot_imager`: pump spot, blur, pixels) and
its least-squares Gaussian fit (:func:`tamkit.sim.truth.fit_isotropic_sigma_nm`), on a grid of m
and interpolated in log m. The table depends on the film base only through the microscope and
<N_abs>; it is cached (:mod:`tamkit.infer.cache`) and computed on Dask when it is missing.
"""

from __future__ import annotations

import numpy as np

from tamkit.sim.microscope import Microscope, spot_imager
from tamkit.sim.spot import default_levels
from tamkit.sim.truth import fit_isotropic_sigma_nm

#: Operating points m (nm^2) of the sensitivity table: 0 to beyond the prior's largest 1 ps MSD.
MSD_GRID_NM2 = np.array([250.0, 1e3, 2.5e3, 5e3, 1e4, 2e4, 4e4, 8e4, 1.6e5])
#: Finite-difference step, relative to m + 1000 nm^2.
STEP_FRACTION = 0.05


def fit_sensitivities(nabs: float, n_levels: int = 4, microscope: Microscope | None = None,
                      msd_grid_nm2: np.ndarray = MSD_GRID_NM2) -> np.ndarray:
    """The chain's table on the grid of m, shape (len(grid), 1 + K).

    Column 0 is F0(m), the fitted MSD of a spot whose levels all spread by m (the fit of a finite
    field with an offset returns slightly less than m for large spots); columns 1.. are the
    sensitivities c_k(m). One render and fit per level and operating point, plus one at the
    operating point and one at m = 0 (~0.4 s per fluence for the default grid).
    """
    microscope = microscope or Microscope()
    levels = default_levels(float(nabs), n_levels)
    imager = spot_imager(microscope, float(nabs), levels)
    axis = microscope.axis_nm()
    k = len(levels)
    ones = np.ones(k)
    out = np.empty((len(msd_grid_nm2), 1 + k))
    sigma2_zero = fit_isotropic_sigma_nm(imager.render(np.zeros(k), ones)[None], axis)[0] ** 2
    for i, m in enumerate(msd_grid_nm2):
        h = STEP_FRACTION * (m + 1000.0)
        frames = [imager.render(np.full(k, m), ones)]
        for j in range(k):
            bumped = np.full(k, m)
            bumped[j] += h
            frames.append(imager.render(bumped, ones))
        sigma2 = fit_isotropic_sigma_nm(np.stack(frames), axis) ** 2
        out[i, 0] = sigma2[0] - sigma2_zero
        out[i, 1:] = (sigma2[1:] - sigma2[0]) / h
    return out


def apply_sensitivities(level_msd: np.ndarray, level_weights: np.ndarray,
                        table: np.ndarray, msd_grid_nm2: np.ndarray = MSD_GRID_NM2) -> np.ndarray:
    """Fitted MSD from per-level MSDs ``level_msd`` (..., K, T) with the linearised chain.

    ``level_weights`` (K,) are the population weights; the result has shape (..., T).
    """
    mean = np.einsum("...kt,k->...t", level_msd, level_weights)
    logm = np.log(np.clip(mean, msd_grid_nm2[0], msd_grid_nm2[-1]))
    grid = np.log(msd_grid_nm2)
    # F0 is ~ m: interpolate the ratio F0 / m, which is smooth in log m
    ratio = np.interp(logm, grid, table[:, 0] / msd_grid_nm2)
    c = np.stack([np.interp(logm, grid, table[:, j]) for j in range(1, table.shape[1])], axis=-2)
    return ratio * mean + np.sum(c * (level_msd - mean[..., None, :]), axis=-2)
