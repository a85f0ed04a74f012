"""Energetic disorder: the bleach red-shift Delta E of carriers relaxing in a Gaussian DOS.

As carriers relax downhill in a Gaussian density of states of width sigma_inh, the bleach centre
red-shifts by Delta E. Two conventions relate the two, and tamkit always names the one it uses:

- ``"paper"``: Delta E = -sigma_inh^2 / (2 k_B T), as printed in the paper (Liu et al. 2021; the
  factor 2 corresponds to a density of states written exp(-eps^2 / sigma'^2));
- ``"gaussian_dos"``: Delta E = -sigma^2 / (k_B T), the equilibrium mean energy of carriers in a
  Gaussian density of states of standard deviation sigma (Bassler, Phys. Status Solidi B 175, 15
  (1993)); this is the convention of tamkit's hopping simulator.

Shared by the simulator's TA map and the bleach analysis (:mod:`tamkit.spectro.bleach`).
"""

from __future__ import annotations

import numpy as np

from tamkit.core.constants import ROOM_TEMPERATURE_K, thermal_energy_meV
from tamkit.core.errors import InputError

#: Delta E = -sigma^2 / (factor k_B T), per convention.
CONVENTIONS = {"paper": 2.0, "gaussian_dos": 1.0}
CONVENTION_TEXT = {
    "paper": "paper: ΔE = −σ_inh² / (2 k_B T)",
    "gaussian_dos": "gaussian_dos: ΔE = −σ² / (k_B T) (Bässler 1993)",
}
DEFAULT_CONVENTION = "paper"


def convention_factor(convention: str) -> float:
    """The factor f of Delta E = -sigma^2 / (f k_B T): 2 for ``"paper"``, 1 for ``"gaussian_dos"``.

    Raises :class:`~tamkit.core.errors.InputError` for an unknown convention.
    """
    try:
        return CONVENTIONS[convention]
    except KeyError:
        raise InputError(
            f"unknown sigma_inh convention {convention!r}; use one of {sorted(CONVENTIONS)}"
        ) from None


def delta_e_from_sigma(sigma_meV, temperature_K=ROOM_TEMPERATURE_K, convention=DEFAULT_CONVENTION):
    """Equilibrium red-shift Delta E (meV, negative) for disorder sigma (meV) at T (K).

    Delta E = -sigma^2 / (f k_B T), f from :func:`convention_factor` (Bassler, Phys. Status
    Solidi B 175, 15 (1993) for f = 1).
    """
    kT_meV = thermal_energy_meV(temperature_K)
    return -np.asarray(sigma_meV) ** 2 / (convention_factor(convention) * kT_meV)


def sigma_from_delta_e(
    delta_e_meV, temperature_K=ROOM_TEMPERATURE_K, convention=DEFAULT_CONVENTION
):
    """Disorder sigma (meV) from a red-shift Delta E (meV); NaN for a blue shift (Delta E > 0).

    The inverse of :func:`delta_e_from_sigma`: sigma = sqrt(-Delta E f k_B T).
    """
    d = np.asarray(delta_e_meV, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.sqrt(-d * convention_factor(convention) * thermal_energy_meV(temperature_K))
