"""Emulator of the microscope + Gaussian-fit chain: what a per-frame fit makes of the spot's MSD.

The spot is a superposition of carriers from local densities N_k (the simulator's levels), each
spreading with its own MSD_k and surviving Auger with its own S_k; the centre (high N, more
carrier-carrier scattering) spreads less than the rim. A Gaussian fit of that non-Gaussian image
does not return the population mean of MSD_k: for cqd it returns 2 % (<N_abs> = 0.045) to 9 %
(0.18) less, and far from cqd (strong scattering, the centre's MSD half the rim's) up to 40 %
less. The emulator therefore expands the chain not around equal MSDs but around a *reference
spot* with the same population mean m and the same centre-to-rim ratio rho = MSD_top / MSD_bottom
(top: the brightest level, bottom: the faintest), whose level MSDs follow the band-like shape

    r_k(m, rho) = m u_k / sum_j w_j u_j,   u_k = 1 / (1 + beta x_k),   x_k = N_k / N_top,

(MSD_k ~ tau_c(N_k) = 1 / (1/tau_c0 + b N_k) once t >> tau_c; beta follows from rho). On a grid
of (m, rho) the table holds the exact fit of the reference spot, F(m, rho) (through the
simulator's own imager, :func:`tamkit.sim.microscope.spot_imager`: pump spot, blur, pixels, and
its least-squares Gaussian fit, :func:`tamkit.sim.truth.fit_isotropic_sigma_nm`), and the
sensitivities c_k = d MSD_fit / d MSD_k and e_k = d MSD_fit / d S_k there (finite differences):

    MSD_fit ~ F(m, rho) + sum_k c_k (MSD_k - r_k) + sum_k e_k (S_k - 1),

bilinear in (ln m, ln rho). The MSD deviations from the reference are small (it matches the
mean and both ends), and 1 - S_k < 1 % before 1 ps, so the first-order terms are accurate: against
direct fits of rendered spots at 120 band-like parameter sets drawn from the prior (100-1000 fs)
the emulator is within 0.3 % (the old expansion around equal MSDs: up to 40 %). The survival
term is the apparent broadening by Auger depletion of the bright centre (~30 nm^2 at
<N_abs> = 0.18 by 1 ps), which matters where the band-like MSD is small.

The table depends on the film base only through the microscope and <N_abs>; it is cached
(:mod:`tamkit.infer.cache`) and computed on Dask when it is missing.
"""

from __future__ import annotations

import numpy as np

from tamkit.sim.microscope import Microscope, spot_imager
from tamkit.sim.spot import default_levels, spot_overlaps
from tamkit.sim.truth import fit_isotropic_sigma_nm

#: Population-mean MSD m (nm^2) of the table: from the first frames to beyond the prior's
#: largest 1 ps MSD (~5e5 nm^2, where the spot outgrows the camera field).
MSD_GRID_NM2 = np.geomspace(50.0, 1.0e6, 20)
#: Centre-to-rim ratio rho = MSD_top / MSD_bottom: down to b <N_abs> tau_c0 ~ 100 (the prior's
#: corner; the limit of the shape is x_bottom = 1/8), up to 1.2 (stochastic stages at the centre).
RHO_GRID = np.geomspace(0.13, 1.2, 12)
#: Finite-difference steps: MSD relative to m + 1000 nm^2; survival absolute.
STEP_FRACTION = 0.05
SURVIVAL_STEP = 0.01


def _x(levels: np.ndarray) -> np.ndarray:
    levels = np.asarray(levels, dtype=float)
    return levels / levels[-1]


def reference_shape(rho: np.ndarray, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """r_k / m of the reference spot for ratios ``rho`` (...), shape (..., K)."""
    rho = np.asarray(rho, dtype=float)
    beta = (1.0 - rho) / (rho - x[0])
    u = 1.0 / (1.0 + beta[..., None] * x)
    return u / (u @ weights)[..., None]


def population_weights(nabs: float, levels: np.ndarray, microscope: Microscope) -> np.ndarray:
    """Population share of each level in the spot (sums to 1)."""
    w = spot_overlaps(float(nabs), microscope.pump_sigma_nm, levels).m0.sum(axis=1)
    return w / w.sum()


def fit_table(nabs: float, n_levels: int = 4, microscope: Microscope | None = None,
              msd_grid_nm2: np.ndarray = MSD_GRID_NM2,
              rho_grid: np.ndarray = RHO_GRID) -> np.ndarray:
    """The chain's table, shape (len(msd grid), len(rho grid), 1 + 2K).

    Column 0 is F(m, rho) / m, the fitted MSD of the reference spot relative to its population
    mean (the fit of a finite field with an offset returns less than m for large spots);
    columns 1..K are c_k, columns K+1..2K are e_k. 1 + 2K renders and fits per grid point
    (~2160 for the default grid, ~10-20 s per fluence on one core).
    """
    microscope = microscope or Microscope()
    levels = default_levels(float(nabs), n_levels)
    imager = spot_imager(microscope, float(nabs), levels)
    axis = microscope.axis_nm()
    w = population_weights(nabs, levels, microscope)
    x = _x(levels)
    k = len(levels)
    ones = np.ones(k)
    eye = np.eye(k)
    out = np.empty((len(msd_grid_nm2), len(rho_grid), 1 + 2 * k))
    sigma2_zero = fit_isotropic_sigma_nm(imager.render(np.zeros(k), ones)[None], axis)[0] ** 2
    for i, m in enumerate(msd_grid_nm2):
        h = STEP_FRACTION * (m + 1000.0)
        for j, rho in enumerate(rho_grid):
            ref = m * reference_shape(np.array(rho), x, w)
            frames = [imager.render(ref, ones)]
            frames += [imager.render(ref + h * eye[q], ones) for q in range(k)]
            frames += [imager.render(ref, ones - SURVIVAL_STEP * eye[q]) for q in range(k)]
            sigma2 = fit_isotropic_sigma_nm(np.stack(frames), axis) ** 2
            out[i, j, 0] = (sigma2[0] - sigma2_zero) / m
            out[i, j, 1:1 + k] = (sigma2[1:1 + k] - sigma2[0]) / h
            out[i, j, 1 + k:] = (sigma2[0] - sigma2[1 + k:]) / SURVIVAL_STEP
    return out


class FitChain:
    """The emulator of one fluence: :meth:`__call__` turns per-level MSDs into the fitted MSD."""

    def __init__(self, nabs: float, table: np.ndarray, n_levels: int = 4,
                 microscope: Microscope | None = None,
                 msd_grid_nm2: np.ndarray = MSD_GRID_NM2,
                 rho_grid: np.ndarray = RHO_GRID) -> None:
        microscope = microscope or Microscope()
        levels = default_levels(float(nabs), n_levels)
        self.table = np.asarray(table, dtype=float)
        self.k = len(levels)
        self.weights = population_weights(nabs, levels, microscope)
        self.x = _x(levels)
        self.log_m = np.log(np.asarray(msd_grid_nm2, dtype=float))
        self.log_rho = np.log(np.asarray(rho_grid, dtype=float))
        if self.table.shape != (self.log_m.size, self.log_rho.size, 1 + 2 * self.k):
            raise ValueError(f"fit-chain table of shape {self.table.shape} does not match the "
                             "grids: retrain it (tamkit.infer.cache)")

    @staticmethod
    def _cell(value: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.interp(value, grid, np.arange(grid.size, dtype=float))
        i0 = np.minimum(pos.astype(int), grid.size - 2)
        return i0, pos - i0

    def __call__(self, level_msd: np.ndarray, survival: np.ndarray | None = None) -> np.ndarray:
        """Fitted MSD from per-level MSDs (..., K, T) and survivals (K, T) (default 1)."""
        level_msd = np.asarray(level_msd, dtype=float)
        mean = np.einsum("...kt,k->...t", level_msd, self.weights)
        top, bottom = level_msd[..., -1, :], level_msd[..., 0, :]
        ratio = np.divide(top, bottom, out=np.ones_like(top), where=bottom > 0)
        rho = np.clip(ratio, np.exp(self.log_rho[0]), np.exp(self.log_rho[-1]))
        i0, a = self._cell(np.log(np.clip(mean, np.exp(self.log_m[0]), None)), self.log_m)
        j0, b = self._cell(np.log(rho), self.log_rho)
        t = self.table
        cell = ((1 - a) * (1 - b))[..., None] * t[i0, j0] + (a * (1 - b))[..., None] * t[i0 + 1, j0]
        cell += ((1 - a) * b)[..., None] * t[i0, j0 + 1] + (a * b)[..., None] * t[i0 + 1, j0 + 1]
        ref = mean[..., None] * reference_shape(rho, self.x, self.weights)       # (..., T, K)
        dev = np.moveaxis(level_msd, -2, -1) - ref
        out = cell[..., 0] * mean + np.sum(cell[..., 1:1 + self.k] * dev, axis=-1)
        if survival is not None:
            loss = np.asarray(survival, dtype=float).T - 1.0                      # (T, K)
            out = out + np.sum(cell[..., 1 + self.k:] * loss, axis=-1)
        return out
