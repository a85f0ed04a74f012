"""Physical constants and unit conversions, in one place.

Every other module takes its constants from here, so that a unit slip can only
happen once. Values are CODATA 2018 (exact SI definitions where they exist).
"""

from __future__ import annotations

#: Elementary charge (C).
E_CHARGE_C = 1.602176634e-19
#: Boltzmann constant (eV/K).
K_B_EV_PER_K = 8.617333262e-5
#: Boltzmann constant (meV/K).
K_B_MEV_PER_K = K_B_EV_PER_K * 1e3
#: Reduced Planck constant (meV fs): hbar = 658.2119569 meV fs.
HBAR_MEV_FS = 658.2119569
#: Planck constant times speed of light (eV nm): E[eV] = 1239.84198 / lambda[nm].
HC_EV_NM = 1239.84198
#: Default lattice temperature (K): the paper's 3.94e3 cm^2/Vs from 102 cm^2/s implies 300 K.
ROOM_TEMPERATURE_K = 300.0

#: 1 nm^2/fs expressed in cm^2/s: (1e-7 cm)^2 / 1e-15 s = 10 cm^2/s.
NM2_PER_FS_IN_CM2_PER_S = 10.0


def nm2_per_fs_to_cm2_per_s(d_nm2_fs):
    """Convert a diffusivity from nm^2/fs to cm^2/s (1 nm^2/fs = 10 cm^2/s)."""
    return d_nm2_fs * NM2_PER_FS_IN_CM2_PER_S


def cm2_per_s_to_nm2_per_fs(d_cm2_s):
    """Convert a diffusivity from cm^2/s to nm^2/fs."""
    return d_cm2_s / NM2_PER_FS_IN_CM2_PER_S


def thermal_energy_meV(temperature_K: float = ROOM_TEMPERATURE_K) -> float:
    """k_B T in meV (25.85 meV at 300 K)."""
    return K_B_MEV_PER_K * temperature_K


def einstein_mobility_cm2_Vs(D_cm2_s, temperature_K: float = ROOM_TEMPERATURE_K):
    """Mobility from diffusivity by the Einstein relation, mu = e D / (k_B T).

    Parameters
    ----------
    D_cm2_s : float or array
        Diffusivity (cm^2/s).
    temperature_K : float
        Lattice temperature (K).

    Returns
    -------
    float or array
        Mobility (cm^2 V^-1 s^-1). 102 cm^2/s gives 3946 cm^2/Vs at 300 K.

    Notes
    -----
    With k_B T expressed in eV, e/(k_B T) is simply 1/(k_B T [V]).
    """
    return D_cm2_s / (K_B_EV_PER_K * temperature_K)


def ev_to_nm(energy_eV):
    """Photon energy (eV) to vacuum wavelength (nm)."""
    return HC_EV_NM / energy_eV


def nm_to_ev(wavelength_nm):
    """Vacuum wavelength (nm) to photon energy (eV)."""
    return HC_EV_NM / wavelength_nm
