"""The disordered energy landscape of a quantum-dot film, and its initial excitation.

A periodic simple-cubic lattice of dots (pitch a, six nearest neighbours: random close packing has a
mean contact number of about six, PHYSICS.md stage 3) with Gaussian site energies, the thermal
hopping rates between neighbours, and the Poisson number of excitations each dot absorbs.
"""

from __future__ import annotations

import numpy as np

from tamkit.core.errors import InputError

#: Carriers one PbS dot's 1S level holds: 4 L valleys x 2 spins (PHYSICS.md stage 2).
DOT_CAPACITY = 8

#: Unit steps of the six nearest neighbours of a simple-cubic lattice, in pitches.
CUBIC_STEPS = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.int64
)


def cubic_neighbours(n_side: int) -> np.ndarray:
    """Neighbour table of a periodic ``n_side``^3 simple-cubic lattice.

    Site index is ``(x * n_side + y) * n_side + z``. Returns int32[n_side^3, 6], slot k holding
    the neighbour reached by ``CUBIC_STEPS[k]`` (int32: half the memory traffic of the kernel).
    """
    if n_side < 3:
        raise InputError(f"the lattice needs at least 3 sites per side, got {n_side}.")
    idx = np.arange(n_side**3, dtype=np.int64)
    coords = np.stack(np.unravel_index(idx, (n_side,) * 3), axis=1)
    nbr = np.empty((idx.size, len(CUBIC_STEPS)), dtype=np.int32)
    for k, step in enumerate(CUBIC_STEPS):
        shifted = (coords + step) % n_side
        nbr[:, k] = np.ravel_multi_index(shifted.T, (n_side,) * 3)
    return nbr


def gaussian_site_energies_meV(
    rng: np.random.Generator, n_sites: int, sigma_site_meV: float
) -> np.ndarray:
    """Static site energies (meV) drawn from N(0, sigma_site^2), one per dot."""
    if not sigma_site_meV >= 0:
        raise InputError(f"sigma_site_meV must be >= 0, got {sigma_site_meV}.")
    return rng.normal(0.0, sigma_site_meV, n_sites) if sigma_site_meV > 0 else np.zeros(n_sites)


def thermal_rates_per_fs(
    eps_meV: np.ndarray,
    nbr: np.ndarray,
    nu_per_fs: float,
    kT_meV: float,
    model: str = "miller-abrahams",
    reorganisation_meV: float = 100.0,
) -> np.ndarray:
    """Rate (1/fs) of a thermalised carrier's hop from each site along each neighbour slot.

    Parameters
    ----------
    eps_meV : ndarray
        Site energies (meV).
    nbr : ndarray
        Neighbour table, int[n_sites, n_nb].
    nu_per_fs : float
        Attempt rate per neighbour (1/fs), already including the tunnelling factor
        exp(-2 beta (s - s0)).
    kT_meV : float
        Thermal energy (meV).
    model : {"miller-abrahams", "marcus"}
        Miller-Abrahams [1]_: k = nu exp(-max(0, dE) / kT). Marcus [2]_:
        k = nu exp(-(dE^2 + 2 lambda dE) / (4 lambda kT)), i.e. the Marcus rate
        exp(-(dE + lambda)^2 / (4 lambda kT)) normalised to nu at dE = 0.
    reorganisation_meV : float
        Marcus reorganisation energy lambda (meV); unused for Miller-Abrahams.

    Returns
    -------
    ndarray
        float64[n_sites, n_nb]. Both models obey detailed balance,
        k_ij / k_ji = exp(-(eps_j - eps_i) / kT).

    References
    ----------
    .. [1] A. Miller, E. Abrahams, Phys. Rev. 120, 745 (1960).
    .. [2] R. A. Marcus, Rev. Mod. Phys. 65, 599 (1993).
    """
    if not kT_meV > 0:
        raise InputError(f"the thermal energy must be > 0 meV, got {kT_meV}.")
    if not nu_per_fs >= 0:
        raise InputError(f"the hop rate must be >= 0 per fs, got {nu_per_fs}.")
    d_e = eps_meV[nbr] - eps_meV[:, None]
    if model == "miller-abrahams":
        return nu_per_fs * np.exp(-np.clip(d_e, 0.0, None) / kT_meV)
    if model == "marcus":
        if not reorganisation_meV > 0:
            raise InputError(
                f"the reorganisation energy must be > 0 meV, got {reorganisation_meV}."
            )
        lam = reorganisation_meV
        return nu_per_fs * np.exp(-(d_e * d_e + 2.0 * lam * d_e) / (4.0 * lam * kT_meV))
    raise InputError(f"unknown rate model {model!r}; use 'miller-abrahams' or 'marcus'.")


def poisson_occupancy(
    rng: np.random.Generator, n_sites: int, nabs: float, capacity: int = DOT_CAPACITY
) -> np.ndarray:
    """Excitations per dot: Poisson with mean ``nabs``, clipped at the dot's capacity.

    Clipping matters only where P(n > 8) does (``nabs`` of order 1 or more): a dot cannot hold
    more excitations than its 1S level has states.
    """
    if not (np.isfinite(nabs) and nabs >= 0):
        raise InputError(f"<N_abs> must be a finite number >= 0, got {nabs}.")
    return np.minimum(rng.poisson(nabs, n_sites), capacity).astype(np.int64)


def multiple_excitation_fraction(nabs):
    """Fraction of excited dots holding two or more excitations, Poisson statistics.

    (1 - e^-N - N e^-N) / (1 - e^-N): 0.0223 at <N> = 0.045, 0.0443 at 0.09, 0.0873 at 0.18.
    """
    n = np.asarray(nabs, dtype=float)
    p0 = np.exp(-n)
    return (1.0 - p0 - n * p0) / (1.0 - p0)
