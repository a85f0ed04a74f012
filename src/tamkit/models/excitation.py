"""Photophysics of the pump: absorption cross-section, <N_abs>, Poisson excitation per dot.

<N_abs>, the mean number of photons absorbed per dot, is the product of the absorption
cross-section and the photon fluence per pulse (paper l. 154, refs. 29-30). Across the pump
spot the local mean follows the spot's Gaussian, <N>(r) = <N_abs> exp(-r^2 / 2 sigma_0^2), and
the number of excitations on one dot is Poisson distributed with that mean.

The spot's sigma_0 defaults to the paper's diffraction-limited pump, 0.21 x 580 nm / 1.1 =
110.7 nm (:data:`tamkit.models.imaging.PAPER_PUMP_SIGMA_NM`), where the carriers start. The
141 nm sigma_0 that the paper's Gaussian fits measure at t = 0 also holds the detection blur and
the pixel (:mod:`tamkit.models.imaging`); the carriers, and the fluence, do not see those.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from tamkit.core.constants import HC_EV_NM
from tamkit.core.errors import InputError
from tamkit.models.imaging import PAPER_PUMP_SIGMA_NM

#: Avogadro constant (1/mol), CODATA 2018 exact; converts molar extinction to cross-section.
AVOGADRO_PER_MOL = 6.02214076e23
#: Elementary charge (J/eV), to turn photon energies into joules.
_J_PER_EV = 1.602176634e-19
#: Moreels et al. (2009): molar extinction at 400 nm, eps_400 = 19600 r^3 (1/(M cm), r in nm).
MOREELS_EPS400_PER_NM3 = 19600.0
#: Wavelengths (nm) where the Moreels 400 nm calibration is used as is.
_MOREELS_WINDOW_NM = (390.0, 410.0)


def absorption_cross_section_cm2(d_nm: float, wavelength_nm: float = 400.0) -> float:
    """Absorption cross-section of one PbS dot (cm^2) at 400 nm.

    Parameters
    ----------
    d_nm : float
        Dot diameter (nm).
    wavelength_nm : float
        Excitation wavelength (nm); must lie within 390-410 nm.

    Returns
    -------
    float
        sigma = ln(10) 1000 eps / N_A with eps_400 = 19600 r^3 1/(M cm) (r = d/2 in nm):
        1.84e-16 cm^2 for d = 2.7 nm.

    Notes
    -----
    Far above the gap the dot absorbs like bulk PbS in a Maxwell-Garnett medium, so eps scales
    with the volume (Moreels 2009); the calibration is at 400 nm. Elsewhere the spectrum
    follows the bulk dielectric function, which tamkit does not tabulate: for other pump
    wavelengths (the paper pumps at 580 nm) pass a measured cross-section to
    :func:`nabs_from_fluence` instead.

    References
    ----------
    Moreels et al., ACS Nano 3, 3023 (2009); Cademartiri et al., JACS 128, 10337 (2006).
    """
    if not d_nm > 0:
        raise InputError(f"dot diameter must be positive, got {d_nm}")
    lo, hi = _MOREELS_WINDOW_NM
    if not lo <= wavelength_nm <= hi:
        raise InputError(
            f"the PbS cross-section is calibrated at 400 nm only (got {wavelength_nm} nm); "
            "pass cross_section_cm2 for other wavelengths"
        )
    eps_per_M_cm = MOREELS_EPS400_PER_NM3 * (d_nm / 2.0) ** 3
    return math.log(10.0) * 1000.0 * eps_per_M_cm / AVOGADRO_PER_MOL


def photon_energy_J(wavelength_nm: float) -> float:
    """Photon energy (J) at a vacuum wavelength (nm)."""
    if not wavelength_nm > 0:
        raise InputError(f"wavelength must be positive, got {wavelength_nm}")
    return HC_EV_NM / wavelength_nm * _J_PER_EV


def peak_fluence_J_cm2(pulse_energy_J: float, sigma_nm: float = PAPER_PUMP_SIGMA_NM) -> float:
    """Peak fluence (J/cm^2) of a Gaussian spot of per-axis width sigma: E / (2 pi sigma^2)."""
    if pulse_energy_J < 0 or not sigma_nm > 0:
        raise InputError(f"need pulse energy >= 0 and sigma > 0; got {pulse_energy_J}, {sigma_nm}")
    sigma_cm = sigma_nm * 1e-7
    return pulse_energy_J / (2.0 * math.pi * sigma_cm**2)


def _cross_section(cross_section_cm2, d_nm, wavelength_nm):
    if cross_section_cm2 is not None:
        if not cross_section_cm2 > 0:
            raise InputError(f"cross-section must be positive, got {cross_section_cm2}")
        return float(cross_section_cm2)
    if d_nm is None:
        raise InputError("give cross_section_cm2, or d_nm to compute it (400 nm only)")
    return absorption_cross_section_cm2(d_nm, wavelength_nm)


def nabs_from_fluence(
    fluence_J_cm2: float | None = None,
    wavelength_nm: float = 400.0,
    cross_section_cm2: float | None = None,
    *,
    pulse_energy_J: float | None = None,
    sigma_nm: float = PAPER_PUMP_SIGMA_NM,
    d_nm: float | None = None,
) -> float:
    """Peak <N_abs> (photons absorbed per dot) from the fluence or the pulse energy.

    Parameters
    ----------
    fluence_J_cm2 : float, optional
        Peak pulse fluence (J/cm^2). Give this or ``pulse_energy_J``.
    wavelength_nm : float
        Pump wavelength (nm).
    cross_section_cm2 : float, optional
        Absorption cross-section per dot at the pump wavelength (cm^2). If omitted it is
        computed from ``d_nm`` by :func:`absorption_cross_section_cm2` (400 nm only).
    pulse_energy_J : float, optional
        Pulse energy in the Gaussian spot (J); peak fluence E / (2 pi sigma^2).
    sigma_nm : float
        Per-axis width of the pump spot (nm), used with ``pulse_energy_J``; default the
        paper's diffraction-limited pump, 110.7 nm.
    d_nm : float, optional
        Dot diameter (nm), used when no cross-section is given.

    Returns
    -------
    float
        <N_abs> = sigma_abs * fluence / (h c / lambda) at the spot centre (paper l. 154).
    """
    if (fluence_J_cm2 is None) == (pulse_energy_J is None):
        raise InputError("give either fluence_J_cm2 or pulse_energy_J")
    if pulse_energy_J is not None:
        fluence_J_cm2 = peak_fluence_J_cm2(pulse_energy_J, sigma_nm)
    if fluence_J_cm2 < 0:
        raise InputError(f"fluence must be >= 0, got {fluence_J_cm2}")
    sigma_abs = _cross_section(cross_section_cm2, d_nm, wavelength_nm)
    return sigma_abs * fluence_J_cm2 / photon_energy_J(wavelength_nm)


def fluence_from_nabs(
    nabs: float,
    wavelength_nm: float = 400.0,
    cross_section_cm2: float | None = None,
    *,
    d_nm: float | None = None,
) -> float:
    """Peak fluence (J/cm^2) that gives ``nabs`` photons absorbed per dot (inverse of
    :func:`nabs_from_fluence`); multiply by 2 pi sigma^2 for the pulse energy."""
    if nabs < 0:
        raise InputError(f"<N_abs> must be >= 0, got {nabs}")
    sigma_abs = _cross_section(cross_section_cm2, d_nm, wavelength_nm)
    return nabs * photon_energy_J(wavelength_nm) / sigma_abs


def poisson_excitation(nabs, n_max: int = 8) -> np.ndarray:
    """Probabilities that a dot holds 0, 1, ..., n_max excitations at mean ``nabs``.

    Poisson statistics of independent absorption events; the last entry collects n >= n_max
    (a PbS 1S level holds at most 8 carriers: 4 L valleys x 2 spins). Broadcasts over
    ``nabs``; the last axis is n.
    """
    mean = np.asarray(nabs, dtype=float)
    if np.any(~np.isfinite(mean)) or np.any(mean < 0):
        raise InputError("<N_abs> must be finite and >= 0")
    if n_max < 1:
        raise InputError(f"n_max must be >= 1, got {n_max}")
    n = np.arange(n_max + 1)
    m = mean[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):  # N = 0 is handled below
        logp = n * np.log(m) - m - gammaln(n + 1)
    p = np.where(m > 0, np.exp(logp), (n == 0).astype(float))
    p[..., -1] = np.clip(1.0 - p[..., :-1].sum(axis=-1), 0.0, None)
    return p


def multiple_excitation_fraction(nabs):
    """Fraction of excited dots that hold two or more excitations (Poisson).

    P(n >= 2) / P(n >= 1) = (1 - e^-N - N e^-N) / (1 - e^-N): 0.0223 at N = 0.045, 0.0443 at
    0.09, 0.0873 at 0.18. Tends to N/2 for small N.
    """
    m = np.asarray(nabs, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise InputError("<N_abs> must be finite and > 0")
    excited = -np.expm1(-m)
    multiple = excited - m * np.exp(-m)
    out = multiple / excited
    return float(out) if out.ndim == 0 else out


def local_nabs(r_nm, nabs_peak: float, sigma0_nm: float = PAPER_PUMP_SIGMA_NM):
    """<N>(r) = <N_abs> exp(-r^2 / 2 sigma_0^2) across the Gaussian pump spot (photons per dot).

    Parameters
    ----------
    r_nm : float or ndarray
        Distance from the spot centre (nm); any shape.
    nabs_peak : float
        <N_abs> at the spot centre (photons absorbed per dot).
    sigma0_nm : float
        Per-axis sigma of the pump spot (nm), which the carriers start with; default the
        paper's diffraction-limited pump, 110.7 nm.
    """
    if nabs_peak < 0 or not sigma0_nm > 0:
        raise InputError(f"need <N_abs> >= 0 and sigma_0 > 0; got {nabs_peak}, {sigma0_nm}")
    r = np.asarray(r_nm, dtype=float)
    return nabs_peak * np.exp(-0.5 * (r / sigma0_nm) ** 2)
