"""Stages 2 and 3 of carrier motion: hot carriers with Auger events, then thermal hopping.

Carriers sit on the dots of a periodic cubic box with Gaussian site energies (PHYSICS.md stage 3).
Each dot starts with a Poisson number of excitations of mean ``nabs_local`` (the local <N_abs>);
doubly excited dots lose carriers to Auger recombination, the survivors become hot, hop fast while
they cool, and then everything hops thermally with Miller-Abrahams (or Marcus) rates, drifting
downhill in energy: sub-diffusion and the bleach red-shift. The kinetic Monte Carlo itself is the
compiled kernel :func:`tamkit.sim.kmc.run_kmc`.

Conventions: energies are site energies eps_i (meV) of a Gaussian density of states
exp(-eps^2 / (2 sigma_site^2)) centred on 0; its equilibrium mean is -sigma_site^2 / k_B T
(Bassler, Phys. Status Solidi B 175, 15 (1993)), i.e. the paper's -sigma'^2 / (2 k_B T) with
sigma'^2 = 2 sigma_site^2. MSD is per axis. Times are fs, lengths nm.

Fluence: a pump-made multiexciton (a dot the pump excited more than once) loses carriers by Auger
within ~tau_XX unless its carriers hop apart first; each Auger survivor takes the band gap as
excess energy and flies band-like through the delocalised higher states (per-axis diffusivity
D_hot = v^2 tau_c0 of the film, for ~tau_flight) before it cools. Survivors are 1-4 % of the
carriers at <N_abs> = 0.045-0.18 but each spreads by ~1 um, so the MSD rises with fluence
until the flights are over (~60 ps). Carriers that meet later are dissociated charges and do
not Auger by default (``encounter_auger_factor`` = 0): the MSD after 100 ps then grows the same
way at every fluence (paper: fluence-independent thermal hopping after ~100 ps).

Public surface: :func:`simulate_hopping` (takes a :class:`tamkit.sim.film.Film`),
:func:`simulate_hopping_physics` (the same with plain physical parameters) and
:class:`HoppingResult`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tamkit.core.constants import K_B_MEV_PER_K, nm_to_ev
from tamkit.core.errors import InputError
from tamkit.sim.kmc import run_kmc
from tamkit.sim.landscape import (
    CUBIC_STEPS,
    DOT_CAPACITY,
    cubic_neighbours,
    gaussian_site_energies_meV,
    poisson_occupancy,
    thermal_rates_per_fs,
)

#: Excess energy of an Auger survivor (meV): the band gap, the film's exciton at 905 nm
#: (1.370 eV; PHYSICS.md "Dots"), used when the film does not give its own.
DEFAULT_EXCESS_ENERGY_MEV = 1e3 * float(nm_to_ev(905.0))
#: Equal steps in which a hot carrier sheds its excess energy. A modelling choice: the paper says
#: only that cooling is stepwise over ~0.5-2 ps; the mean total cooling time is tau_cool whatever
#: the number of steps, and with a band-gap excess every step still clears the ~25 meV barriers.
DEFAULT_N_COOL_STEPS = 4
#: Erlang stages of a hot survivor's flight time (see :func:`tamkit.sim.kmc.run_kmc`). A
#: modelling choice like DEFAULT_N_COOL_STEPS: cooling from ~1.37 eV runs through many levels,
#: so its duration is sharper than one exponential; 8 stages give a relative spread of 35 %
#: and end nearly every flight within 2 mean flight times.
FLIGHT_STAGES = 8
#: Default box: 20^3 dots (60 nm at a = 3 nm), several times the rms carrier displacement at
#: 1 ns (~25 nm), and small enough for the kernel's per-dot arrays to stay in cache (the kernel
#: is memory-bound: 20^3 runs ~2x more events per second than 32^3). Statistics come from
#: realisations instead: 32 boxes hold ~11 500 carriers at <N> = 0.045.
DEFAULT_N_SITES_SIDE = 20
DEFAULT_N_REALISATIONS = 32
#: Marcus reorganisation energy (meV) when the Marcus option is chosen without one.
DEFAULT_REORGANISATION_MEV = 100.0


@dataclass(frozen=True)
class HoppingResult:
    """Carrier statistics of the hopping simulation, one entry per requested delay.

    Attributes
    ----------
    delay_fs : ndarray
        The delays asked for (fs); delays <= 0 report the initial state.
    msd_nm2 : ndarray
        Per-axis mean squared displacement (nm^2) of the carriers alive at t, each from its own
        starting dot: (dx^2 + dy^2 + dz^2) / 3 averaged over carriers.
    msd_err_nm2 : ndarray
        Standard error of ``msd_nm2`` (nm^2) over the pooled carriers.
    survival : ndarray
        Fraction of the initial excitations still alive.
    mean_energy_meV : ndarray
        Mean site energy (meV) of the carriers alive (0 = centre of the Gaussian density of
        states); it falls as carriers relax downhill (the bleach red-shift).
    hot_fraction : ndarray
        Fraction of the carriers alive that are hot (not yet cooled after an Auger event).
    n_hops, n_auger, n_cooling_steps : int
        Event totals over all realisations up to the last delay.
    n_carriers : int
        Initial excitations over all realisations.
    params : dict
        Every parameter of the run (JSON-serialisable).
    """

    delay_fs: np.ndarray
    msd_nm2: np.ndarray
    msd_err_nm2: np.ndarray
    survival: np.ndarray
    mean_energy_meV: np.ndarray
    hot_fraction: np.ndarray
    n_hops: int
    n_auger: int
    n_cooling_steps: int
    n_carriers: int
    params: dict[str, Any] = field(default_factory=dict)


def _check_positive(name: str, value: float, allow_zero: bool = False, allow_inf: bool = False):
    ok = (value >= 0 if allow_zero else value > 0) and (allow_inf or np.isfinite(value))
    if not ok or np.isnan(value):
        raise InputError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"number, got {value}.")


def _check_delays(delay_fs) -> np.ndarray:
    delay = np.asarray(delay_fs, dtype=float)
    if delay.ndim != 1 or delay.size == 0 or not np.all(np.isfinite(delay)):
        raise InputError("delay_fs must be a non-empty 1-D array of finite delays in fs.")
    return delay


def simulate_hopping_physics(
    *,
    nabs_local: float,
    delay_fs: np.ndarray,
    pitch_nm: float,
    sigma_site_meV: float,
    hop_rate_per_fs: float,
    temperature_K: float,
    tau_xx_fs: float,
    hot_rate_factor: float,
    tau_cool_fs: float,
    excess_energy_meV: float = DEFAULT_EXCESS_ENERGY_MEV,
    n_cool_steps: int = DEFAULT_N_COOL_STEPS,
    rate_model: str = "miller-abrahams",
    reorganisation_meV: float = DEFAULT_REORGANISATION_MEV,
    n_sites_side: int = DEFAULT_N_SITES_SIDE,
    n_realisations: int = DEFAULT_N_REALISATIONS,
    seed: int = 0,
    hot_carriers: bool = True,
    auger: bool = True,
    n_workers: int | None = None,
    encounter_auger_factor: float = 1.0,
    hot_diffusivity_nm2_fs: float = 0.0,
    hot_flight_fs: float = 0.0,
) -> HoppingResult:
    """Kinetic Monte Carlo of hot-carrier, Auger and thermal hopping with plain parameters.

    Parameters
    ----------
    nabs_local : float
        Mean excitations per dot at t = 0 (Poisson; a dot holds at most 8).
    delay_fs : array
        Delays (fs) at which to report; any order, delays <= 0 give the initial state.
    pitch_nm : float
        Centre-to-centre dot distance a (nm).
    sigma_site_meV : float
        Standard deviation of the Gaussian site energies (meV).
    hop_rate_per_fs : float
        Thermal attempt rate nu per neighbour (1/fs), tunnelling factor included.
    temperature_K : float
        Lattice temperature (K).
    tau_xx_fs : float
        Biexciton Auger time (fs): a dot with n >= 2 loses one at rate n^2 (n - 1) / (4 tau_XX).
        ``inf`` switches Auger off.
    hot_rate_factor : float
        Hot hop rate / nu.
    tau_cool_fs : float
        Mean time (fs) a hot carrier takes to shed all its excess energy.
    excess_energy_meV : float
        Energy (meV) the Auger survivor receives: the band gap.
    n_cool_steps : int
        Number of equal cooling steps.
    rate_model : {"miller-abrahams", "marcus"}
        Thermal hop rates, see :func:`tamkit.sim.landscape.thermal_rates_per_fs`.
    reorganisation_meV : float
        Marcus reorganisation energy (meV).
    n_sites_side : int
        Dots per side of the periodic cubic box.
    n_realisations : int
        Independent landscapes and excitations, pooled.
    seed : int
        Seed; the same seed gives the same result bit for bit.
    hot_carriers : bool
        Whether Auger survivors become hot.
    auger : bool
        Whether Auger recombination happens at all.
    n_workers : int, optional
        Threads running realisations in parallel (default: one per CPU); the result does not
        depend on it.
    encounter_auger_factor : float
        Auger rate of carriers that met by hopping, relative to a pump-made (geminate)
        multiexciton on one dot, in [0, 1].
    hot_diffusivity_nm2_fs : float
        Per-axis diffusivity D_hot (nm^2/fs) of a heated Auger survivor in the delocalised
        higher states.
    hot_flight_fs : float
        Mean time (fs) the survivor moves band-like with D_hot before it drops into the 1S
        level; its displacement, Gaussian of per-axis variance 2 D_hot t_flight with t_flight
        exponential of this mean, is applied at the Auger event (:func:`tamkit.sim.kmc.run_kmc`).

    Returns
    -------
    HoppingResult
    """
    delay = _check_delays(delay_fs)
    for name, value in [("pitch_nm", pitch_nm), ("temperature_K", temperature_K),
                        ("tau_cool_fs", tau_cool_fs)]:
        _check_positive(name, value)
    _check_positive("tau_xx_fs", tau_xx_fs, allow_inf=True)
    for name, value in [("sigma_site_meV", sigma_site_meV), ("hop_rate_per_fs", hop_rate_per_fs),
                        ("hot_rate_factor", hot_rate_factor),
                        ("excess_energy_meV", excess_energy_meV),
                        ("hot_diffusivity_nm2_fs", hot_diffusivity_nm2_fs),
                        ("hot_flight_fs", hot_flight_fs)]:
        _check_positive(name, value, allow_zero=True)
    if not 0.0 <= encounter_auger_factor <= 1.0:
        raise InputError(f"encounter_auger_factor must be in [0, 1], got {encounter_auger_factor}.")
    if int(n_realisations) < 1:
        raise InputError(f"n_realisations must be >= 1, got {n_realisations}.")
    if int(n_cool_steps) < 1:
        raise InputError(f"n_cool_steps must be >= 1, got {n_cool_steps}.")
    if not 0 <= int(seed) < 2**63:
        raise InputError(f"seed must be a non-negative integer, got {seed}.")

    kT = K_B_MEV_PER_K * temperature_K
    nbr = cubic_neighbours(int(n_sites_side))
    n_sites = nbr.shape[0]
    order = np.argsort(delay, kind="stable")
    sample_t = np.clip(delay[order], 0.0, None)
    auger_coef = 0.0 if (not auger or np.isinf(tau_xx_fs)) else 1.0 / (4.0 * tau_xx_fs)
    cool_rate = n_cool_steps / tau_cool_fs

    hot_rate = hot_rate_factor * hop_rate_per_fs
    # flights of heated survivors: diffusivity in pitch^2/fs and landing rate
    flies = hot_carriers and hot_diffusivity_nm2_fs > 0 and hot_flight_fs > 0
    flight_d = hot_diffusivity_nm2_fs / pitch_nm**2 if flies else 0.0
    land_rate = 1.0 / hot_flight_fs if flies else 1.0
    # validate the rate model once, before any worker starts
    thermal_rates_per_fs(np.zeros(1), np.zeros((1, 1), dtype=np.int32), hop_rate_per_fs, kT,
                         rate_model, reorganisation_meV)

    def one_realisation(child: np.random.SeedSequence):
        rng = np.random.default_rng(child)
        eps = gaussian_site_energies_meV(rng, n_sites, sigma_site_meV)
        rates = thermal_rates_per_fs(eps, nbr, hop_rate_per_fs, kT, rate_model,
                                     reorganisation_meV)
        occ0 = poisson_occupancy(rng, n_sites, nabs_local)
        o, cnt, _ = run_kmc(nbr, CUBIC_STEPS, eps, rates, occ0, sample_t, DOT_CAPACITY,
                            hot_rate, kT, excess_energy_meV, int(n_cool_steps), cool_rate,
                            auger_coef, auger_coef > 0, bool(hot_carriers), rng,
                            float(encounter_auger_factor), float(flight_d), float(land_rate),
                            FLIGHT_STAGES)
        return int(occ0.sum()), o, cnt

    # Realisations are independent, each with its own generator, and the compiled kernel
    # releases the GIL: threads run them in parallel, and summing in submission order keeps
    # the result bit-for-bit independent of the number of workers.
    children = np.random.SeedSequence(int(seed)).spawn(int(n_realisations))
    n_workers = max(1, min(len(children), n_workers or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        runs = list(pool.map(one_realisation, children))
    obs = np.zeros((delay.size, 6))
    counts = np.zeros(3, dtype=np.int64)
    n_initial = 0
    for n0, o, cnt in runs:
        n_initial += n0
        obs += o
        counts += cnt

    n_alive = obs[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_sq = obs[:, 1] / n_alive
        var = np.clip(obs[:, 2] / n_alive - mean_sq**2, 0.0, None)
        err = np.sqrt(var / n_alive)
        mean_e = obs[:, 3] / n_alive
        hot_frac = obs[:, 4] / n_alive
    a2 = pitch_nm**2
    unsort = np.empty_like(order)
    unsort[order] = np.arange(order.size)
    params = {
        "nabs_local": float(nabs_local), "pitch_nm": float(pitch_nm),
        "sigma_site_meV": float(sigma_site_meV), "hop_rate_per_fs": float(hop_rate_per_fs),
        "temperature_K": float(temperature_K), "kT_meV": float(kT),
        "tau_xx_fs": float(tau_xx_fs), "hot_rate_factor": float(hot_rate_factor),
        "tau_cool_fs": float(tau_cool_fs), "excess_energy_meV": float(excess_energy_meV),
        "n_cool_steps": int(n_cool_steps), "rate_model": rate_model,
        "reorganisation_meV": float(reorganisation_meV), "lattice": "simple cubic, periodic",
        "n_sites_side": int(n_sites_side), "n_realisations": int(n_realisations),
        "dot_capacity": DOT_CAPACITY, "seed": int(seed), "hot_carriers": bool(hot_carriers),
        "auger": bool(auger), "encounter_auger_factor": float(encounter_auger_factor),
        "hot_diffusivity_nm2_fs": float(hot_diffusivity_nm2_fs),
        "hot_flight_fs": float(hot_flight_fs), "flight_stages": FLIGHT_STAGES,
        "engine": "rejection-free (BKL) kinetic Monte Carlo, numba",
    }
    return HoppingResult(
        delay_fs=delay,
        msd_nm2=(mean_sq * a2)[unsort],
        msd_err_nm2=(err * a2)[unsort],
        survival=(n_alive / n_initial if n_initial else np.full(delay.size, np.nan))[unsort],
        mean_energy_meV=mean_e[unsort],
        hot_fraction=hot_frac[unsort],
        n_hops=int(counts[0]),
        n_auger=int(counts[1]),
        n_cooling_steps=int(counts[2]),
        n_carriers=n_initial,
        params=params,
    )


def simulate_hopping(
    film,
    nabs_local: float,
    delay_fs: np.ndarray,
    *,
    n_sites_side: int = DEFAULT_N_SITES_SIDE,
    n_realisations: int = DEFAULT_N_REALISATIONS,
    seed: int = 0,
    hot_carriers: bool = True,
    auger: bool = True,
    rate_model: str = "miller-abrahams",
    reorganisation_meV: float = DEFAULT_REORGANISATION_MEV,
    n_cool_steps: int = DEFAULT_N_COOL_STEPS,
    n_workers: int | None = None,
) -> HoppingResult:
    """Hot-carrier, Auger and thermal hopping of a film (stages 2 and 3), see
    :func:`simulate_hopping_physics` for the model and the keyword arguments.

    Parameters
    ----------
    film : tamkit.sim.film.Film
        Supplies pitch_nm, sigma_site_meV, hop_rate_per_fs (nu0 exp(-2 beta (s - s0)), per
        neighbour), temperature_K, tau_xx_fs, hot_rate_factor, tau_cool_fs, and
        exciton_peak_nm (the Auger survivor's excess energy is the band gap).
    nabs_local : float
        Local mean excitations per dot.
    delay_fs : array
        Delays (fs).
    """
    # The Auger survivor takes up the band gap: the film's own exciton peak.
    peak_nm = getattr(film, "exciton_peak_nm", None)
    excess = None if peak_nm is None else 1e3 * float(nm_to_ev(peak_nm))
    result = simulate_hopping_physics(
        nabs_local=nabs_local,
        delay_fs=delay_fs,
        pitch_nm=film.pitch_nm,
        sigma_site_meV=film.sigma_site_meV,
        hop_rate_per_fs=film.hop_rate_per_fs,
        temperature_K=film.temperature_K,
        tau_xx_fs=film.tau_xx_fs,
        hot_rate_factor=film.hot_rate_factor,
        tau_cool_fs=film.tau_cool_fs,
        excess_energy_meV=DEFAULT_EXCESS_ENERGY_MEV if excess is None else excess,
        n_cool_steps=n_cool_steps,
        rate_model=rate_model,
        reorganisation_meV=reorganisation_meV,
        n_sites_side=n_sites_side,
        n_realisations=n_realisations,
        seed=seed,
        hot_carriers=hot_carriers,
        auger=auger,
        n_workers=n_workers,
        encounter_auger_factor=getattr(film, "encounter_auger_factor", 1.0),
        hot_diffusivity_nm2_fs=getattr(film, "hot_diffusivity_nm2_fs", 0.0),
        hot_flight_fs=getattr(film, "hot_flight_fs", 0.0),
    )
    result.params["film"] = getattr(film, "name", None)
    return result
