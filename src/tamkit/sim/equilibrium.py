"""Equilibrium hopping transport of a film: the long-time diffusivity and Einstein mobility.

A TAM measurement ends at ~1 ns, while the carriers are still relaxing into the tail of the
Gaussian density of states; the steady-state mobility that field-effect or THz measurements
report (the paper's "~1e-3 to 1e-1 cm^2/Vs" for such films, refs. 17 and 32) belongs to carriers
that have settled at the equilibrium energy -sigma_site^2 / k_B T (Bassler, Phys. Status Solidi
B 175, 15 (1993)). This module follows dilute thermal carriers (no Auger, no hot carriers) with
the same kinetic Monte Carlo as the TAM simulation (:func:`tamkit.sim.hopping.simulate_hopping`)
to ~100 ns, checks that their mean energy has settled, and takes the diffusivity from the slope
of the per-axis MSD over the last decade: MSD = c + 2 D t. Independent groups of landscapes give
the standard error.

This is a property of the simulated film, measured on carrier trajectories rather than imaged:
at 0.1-1 ns the MSD grows by only ~150 nm^2, below what 50 runs on 5 spots resolve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tamkit.core.constants import K_B_MEV_PER_K, einstein_mobility_cm2_Vs, nm2_per_fs_to_cm2_per_s
from tamkit.core.errors import InputError
from tamkit.sim.hopping import simulate_hopping

#: Last time followed (fs): 100 ns, ~12,500 hop times at the 8 ps of the pure CQD film.
DEFAULT_T_MAX_FS = 1.0e8
#: Dilute carriers: few dots hold two, so carriers hardly meet (Auger is off anyway).
DILUTE_NABS = 0.01
#: Independent groups of landscapes (the spread of their slopes is the standard error).
DEFAULT_N_GROUPS = 8
#: A box of 32^3 dots, as many realisations per group: ~350 carriers per group.
N_SITES_SIDE = 32
REALISATIONS_PER_GROUP = 1
#: The mean energy counts as settled within this many k_B T of -sigma^2 / k_B T.
SETTLED_TOLERANCE_KT = 0.1


@dataclass(frozen=True)
class EquilibriumTransport:
    """Long-time (equilibrium) hopping transport of a film.

    Attributes
    ----------
    D_cm2_s, D_err_cm2_s : float
        Per-axis diffusivity from the MSD slope over the last decade (cm^2/s) and its standard
        error over independent landscape groups.
    mobility_cm2_Vs, mobility_err_cm2_Vs : float
        Einstein mobility e D / k_B T (cm^2/(V s)) and its error.
    D_previous_decade_cm2_s : float
        The same slope one decade earlier: near D when transport has become diffusive.
    window_fs : tuple of float
        The fitted window (fs).
    mean_energy_meV, equilibrium_energy_meV : float
        Mean carrier site energy over the window and the Gaussian-DOS equilibrium value
        -sigma_site^2 / k_B T (meV).
    settled : bool
        Whether the mean energy is within ``SETTLED_TOLERANCE_KT`` k_B T of equilibrium.
    n_carriers : int
        Carriers followed over all groups.
    delay_fs, msd_nm2 : ndarray
        The pooled per-axis MSD curve (nm^2) at the sampled delays (fs).
    params : dict
        Settings of the run.
    """

    D_cm2_s: float
    D_err_cm2_s: float
    mobility_cm2_Vs: float
    mobility_err_cm2_Vs: float
    D_previous_decade_cm2_s: float
    window_fs: tuple[float, float]
    mean_energy_meV: float
    equilibrium_energy_meV: float
    settled: bool
    n_carriers: int
    delay_fs: np.ndarray
    msd_nm2: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready headline values."""
        return {"D_cm2_s": self.D_cm2_s, "D_err_cm2_s": self.D_err_cm2_s,
                "mobility_cm2_Vs": self.mobility_cm2_Vs,
                "mobility_err_cm2_Vs": self.mobility_err_cm2_Vs,
                "D_previous_decade_cm2_s": self.D_previous_decade_cm2_s,
                "window_fs": list(self.window_fs), "mean_energy_meV": self.mean_energy_meV,
                "equilibrium_energy_meV": self.equilibrium_energy_meV, "settled": self.settled,
                "n_carriers": self.n_carriers, **self.params}


def _slope_nm2_per_fs(t: np.ndarray, msd: np.ndarray, lo: float, hi: float) -> float:
    inside = (t >= lo * (1 - 1e-9)) & (t <= hi * (1 + 1e-9))
    return float(np.polyfit(t[inside], msd[inside], 1)[0])


def equilibrium_transport(
    film,
    *,
    t_max_fs: float = DEFAULT_T_MAX_FS,
    n_groups: int = DEFAULT_N_GROUPS,
    seed: int = 0,
) -> EquilibriumTransport:
    """Equilibrium diffusivity and mobility of ``film``'s thermal hopping.

    Parameters
    ----------
    film : tamkit.sim.film.Film
        The film (pitch, site-energy width, hop rate, temperature).
    t_max_fs : float
        Last time followed (fs); the slope is fitted over [t_max / 10, t_max].
    n_groups : int
        Independent groups of landscapes (>= 2), for the standard error.
    seed : int
        Seed of the first group (group k uses seed + k).

    Returns
    -------
    EquilibriumTransport
    """
    if not (np.isfinite(t_max_fs) and t_max_fs >= 1e3):
        raise InputError(f"t_max_fs must be a finite time of at least 1000 fs, got {t_max_fs}")
    if int(n_groups) < 2:
        raise InputError(f"n_groups must be at least 2, got {n_groups}")
    delay = np.geomspace(t_max_fs / 1e3, t_max_fs, 31)  # 10 points per decade
    window = (t_max_fs / 10.0, t_max_fs)
    previous = (t_max_fs / 100.0, t_max_fs / 10.0)
    slopes, slopes_before, energies, msd_sum, n_carriers = [], [], [], 0.0, 0
    for k in range(int(n_groups)):
        run = simulate_hopping(film, DILUTE_NABS, delay, n_sites_side=N_SITES_SIDE,
                               n_realisations=REALISATIONS_PER_GROUP, seed=int(seed) + k,
                               hot_carriers=False, auger=False)
        slopes.append(_slope_nm2_per_fs(delay, run.msd_nm2, *window))
        slopes_before.append(_slope_nm2_per_fs(delay, run.msd_nm2, *previous))
        in_window = delay >= window[0] * (1 - 1e-9)
        energies.append(float(np.mean(run.mean_energy_meV[in_window])))
        msd_sum = msd_sum + run.msd_nm2 * run.n_carriers
        n_carriers += run.n_carriers
    # per axis MSD = 2 D t: D is half the slope
    d = nm2_per_fs_to_cm2_per_s(np.mean(slopes) / 2.0)
    d_err = nm2_per_fs_to_cm2_per_s(np.std(slopes, ddof=1) / np.sqrt(len(slopes)) / 2.0)
    kT = K_B_MEV_PER_K * film.temperature_K
    e_eq = -film.sigma_site_meV**2 / kT
    e_mean = float(np.mean(energies))
    return EquilibriumTransport(
        D_cm2_s=float(d), D_err_cm2_s=float(d_err),
        mobility_cm2_Vs=float(einstein_mobility_cm2_Vs(d, film.temperature_K)),
        mobility_err_cm2_Vs=float(einstein_mobility_cm2_Vs(d_err, film.temperature_K)),
        D_previous_decade_cm2_s=float(nm2_per_fs_to_cm2_per_s(np.mean(slopes_before) / 2.0)),
        window_fs=window, mean_energy_meV=e_mean, equilibrium_energy_meV=float(e_eq),
        settled=bool(abs(e_mean - e_eq) <= SETTLED_TOLERANCE_KT * kT),
        n_carriers=int(n_carriers), delay_fs=delay, msd_nm2=msd_sum / max(n_carriers, 1),
        params={"film": getattr(film, "name", None), "t_max_fs": float(t_max_fs),
                "n_groups": int(n_groups), "seed": int(seed), "nabs": DILUTE_NABS,
                "n_sites_side": N_SITES_SIDE, "method": "slope of the per-axis MSD of dilute "
                "thermal carriers (kinetic Monte Carlo) over the last decade"},
    )
