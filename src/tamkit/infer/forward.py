"""The forward model of the early MSD: band-like closed form, spot-averaged, through the IRF.

For parameters theta (``Film`` fields) the measured per-axis MSD at peak <N_abs> is modelled as
the simulator makes it (:mod:`tamkit.sim.scenario`), minus its stochastic stages:

* at each local density N_k of the spot (the simulator's levels, :func:`tamkit.sim.spot.
  default_levels`) the exact OU + localisation MSD (:func:`tamkit.sim.bandlike.
  semiclassical_msd_nm2`; PHYSICS.md stage 1) with v^2 = 2 J^2 a^2 / hbar^2,
  1/tau_c = 1/tau_c0 + b N_k and lambda = sigma_inh / (kappa hbar), and v^2 = 0 below the
  Ioffe-Regel limit (mean free path < pitch), as :func:`tamkit.sim.bandlike.band_like_parameters`;
* averaged over the spot with the population weights sum_l M_kl of
  :func:`tamkit.sim.spot.spot_overlaps` (no loss yet: Auger removes < 1 % by 1 ps);
* optionally passed through the emulator of the microscope + Gaussian-fit chain
  (:mod:`tamkit.infer.chain`), which turns the spot's mixture of MSDs into the fitted MSD;
* averaged over the 13 fs Gaussian instrument response with the simulator's quadrature
  (:func:`tamkit.sim.microscope.irf_nodes`), normalised by the response after time zero.

The hopping and hot-flight stages add ~1 % of the MSD by 1 ps at <N_abs> = 0.18: optionally a
surrogate trained on the simulator (:mod:`tamkit.infer.surrogate`) adds it per level; the
model-discrepancy term of :mod:`tamkit.infer.likelihood` covers what remains. The window is the
first picosecond. Everything is vectorised over a batch of parameter vectors (emcee's walkers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tamkit.core.constants import HBAR_MEV_FS
from tamkit.infer.chain import FitChain
from tamkit.infer.surrogate import late_msd_nm2, late_survival
from tamkit.sim.bandlike import band_like_parameters, semiclassical_msd_nm2
from tamkit.sim.film import Film
from tamkit.sim.microscope import Microscope, irf_nodes
from tamkit.sim.spot import default_levels, spot_overlaps

#: Default end of the fitted window (fs): the band-like stage and its localisation, before the
#: hot flights of Auger survivors add more than ~2 % to the MSD (docs/simulator.md).
DEFAULT_WINDOW_FS = 1000.0
#: Latest end of the fitted window (fs): by a few ps Auger loss (left out here) and hopping
#: change the MSD by more than the model-discrepancy term allows.
MAX_WINDOW_FS = 3000.0
#: Local-density levels of the spot, as the simulator's default.
N_LEVELS = 4


@dataclass(frozen=True)
class _FluenceGrid:
    nabs: float
    delay_fs: np.ndarray            # (T,)
    levels: np.ndarray              # (K,)
    level_weights: np.ndarray       # (K,), sum 1
    node_fs: np.ndarray             # (U,) distinct IRF nodes after t = 0
    node_weights: np.ndarray        # (U, T), columns sum to 1 (0 where the IRF precedes t = 0)


class BandLikeForward:
    """Closed-form early MSD of a fluence series, for parameters over a base film.

    Parameters
    ----------
    film : Film
        The base film: its pitch, sigma_inh and every parameter that is not free.
    nabs : sequence of float
        Peak <N_abs> of each measurement (photons absorbed per dot).
    delays_fs : sequence of ndarray
        The delays (fs) of each measurement at which the model is wanted.
    free : sequence of str
        Names of the free ``Film`` fields, in the order of the parameter vectors.
    microscope : Microscope, optional
        Pump spot and instrument response; default the paper's.
    chain : sequence of ndarray, optional
        Per measurement, the table of :func:`tamkit.infer.chain.fit_table`: the model then
        returns what a Gaussian fit of the images reports, not the population mean.
    late : sequence of ndarray, optional
        Per measurement, the surrogate of the stochastic stages (:mod:`tamkit.infer.surrogate`,
        shape (K, 2 + N_TIMES)): its MSD is added to each level's, and its survival enters the
        fit-chain emulator (the apparent broadening of Auger depletion).
    late_window_fs : float
        The window the surrogate was trained over (its survival's time grid).
    """

    def __init__(self, film: Film, nabs: Sequence[float], delays_fs: Sequence[np.ndarray],
                 free: Sequence[str], microscope: Microscope | None = None,
                 chain: Sequence[np.ndarray] | None = None,
                 late: Sequence[np.ndarray] | None = None,
                 late_window_fs: float = DEFAULT_WINDOW_FS) -> None:
        microscope = microscope or Microscope()
        self.film = film
        self.free = tuple(free)
        self.late = None if late is None else [np.asarray(c, dtype=float) for c in late]
        self._hot_base = film.coupling_meV**2 * film.tau_c0_fs
        self.grids = []
        for n, t in zip(nabs, delays_fs, strict=True):
            t = np.asarray(t, dtype=float)
            levels = default_levels(float(n), N_LEVELS)
            overlaps = spot_overlaps(float(n), microscope.pump_sigma_nm, levels)
            w = overlaps.m0.sum(axis=1)
            nodes, weights = irf_nodes(t, microscope.irf_sigma_fs)
            total = weights.sum(axis=1, keepdims=True)
            weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
            # late delays use one node: keep only the distinct nodes that carry weight
            used = (weights > 0) & (nodes > 0)
            unique, index = np.unique(nodes[used], return_inverse=True)
            matrix = np.zeros((unique.size, t.size))
            np.add.at(matrix, (index, np.nonzero(used)[0]), weights[used])
            self.grids.append(_FluenceGrid(float(n), t, levels, w / w.sum(), unique, matrix))
        self.chain = None if chain is None else [
            FitChain(g.nabs, c, N_LEVELS, microscope) for g, c in zip(self.grids, chain,
                                                                       strict=True)]
        # per-level survival at each delay (IRF-averaged), from the surrogate's runs
        self.survival = None
        if self.late is not None:
            self.survival = []
            for g, c in zip(self.grids, self.late, strict=True):
                s = late_survival(c, g.node_fs, late_window_fs) @ g.node_weights
                s[:, g.node_weights.sum(axis=0) == 0] = 1.0
                self.survival.append(s)

    def values(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Film fields (free ones from ``theta``, shape (W, P), the rest from the base), (W,)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        base = {k: np.full(theta.shape[0], getattr(self.film, k))
                for k in ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa",
                          "sigma_inh_meV")}
        for i, name in enumerate(self.free):
            base[name] = theta[:, i]
        return base

    def msd_nm2(self, theta: np.ndarray) -> list[np.ndarray]:
        """Model MSD (nm^2) of each measurement, shape (W, T_i), for ``theta`` (W, P) or (P,)."""
        p = self.values(theta)
        pitch = self.film.pitch_nm
        v2 = 2.0 * (p["coupling_meV"] * pitch / HBAR_MEV_FS) ** 2          # (W,)
        lam = p["sigma_inh_meV"] / (p["kappa"] * HBAR_MEV_FS)              # (W,)
        out = []
        for i, g in enumerate(self.grids):
            gam = 1.0 / p["tau_c0_fs"][:, None] + p["scatter_per_nabs"][:, None] * g.levels
            tau_c = 1.0 / gam                                               # (W, K)
            # Ioffe-Regel: no band-like motion where the mean free path is below one pitch
            v2k = np.where(np.sqrt(v2)[:, None] * tau_c >= pitch, v2[:, None], 0.0)
            tau = g.node_fs[None, None]                                     # (1, 1, U)
            lk = lam[:, None, None]
            gk = (lam[:, None] + gam)[:, :, None]
            first = -np.expm1(-lk * tau) / lk
            second = -np.expm1(-gk * tau) / gk
            msd = 2.0 * (v2k * tau_c)[:, :, None] * (first - second)        # (W, K, U)
            if self.late is not None:
                ratio = p["coupling_meV"] ** 2 * p["tau_c0_fs"] / self._hot_base
                msd = msd + late_msd_nm2(self.late[i], g.node_fs, ratio)
            per_delay = msd @ g.node_weights                                # (W, K, T)
            if self.chain is None:
                out.append(np.einsum("wkt,k->wt", per_delay, g.level_weights))
            else:
                surv = None if self.survival is None else self.survival[i]
                out.append(self.chain[i](per_delay, surv))
        return out


def single_level_msd_nm2(film: Film, nabs: float, delay_fs) -> np.ndarray:
    """The simulator's own closed form at one local density (no spot, no IRF): for tests."""
    bp = band_like_parameters(film, nabs)
    return semiclassical_msd_nm2(delay_fs, bp.v2_nm2_fs2, bp.tau_c_fs, bp.tau_b_fs)
