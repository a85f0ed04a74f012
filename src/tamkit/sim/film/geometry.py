"""Film geometry: PbS dot size from its exciton peak, pitch in a perovskite matrix, build_film.

Geometry (PHYSICS.md): dots of diameter d (Moreels sizing of the solution exciton peak) are hard
spheres of effective diameter d + s0 in random close packing (phi = 0.64). Below x = 1 - phi
(0.36) the perovskite fills the voids and the pitch stays d + s0; above, the packing dilates:
a = (d + s0) (phi / (1 - x))^(1/3). Couplings fall as J = J0 exp(-beta (s - s0)).
"""

from __future__ import annotations

import math
from dataclasses import fields

from scipy.optimize import brentq

from tamkit.core.constants import ROOM_TEMPERATURE_K, ev_to_nm, nm_to_ev
from tamkit.core.errors import InputError
from tamkit.sim.film.film import Film
from tamkit.sim.film.parameters import (
    CONTACT_SPACING_NM,
    CQD_FILM_PEAK_NM,
    FILM_RED_SHIFT_MEV,
    RCP_FRACTION,
)
from tamkit.sim.film.parameters import fit_value as _fit


def moreels_gap_eV(d_nm):
    """Solution exciton energy of PbS dots, E0 = 0.41 + 1 / (0.0252 d^2 + 0.283 d) (eV).

    References
    ----------
    Moreels et al., ACS Nano 3, 3023 (2009), the PbS sizing curve (d in nm).
    """
    return 0.41 + 1.0 / (0.0252 * d_nm**2 + 0.283 * d_nm)


def dot_diameter_from_exciton_nm(
    peak_eV: float | None = None,
    *,
    peak_nm: float | None = None,
    film_red_shift_meV: float = 0.0,
) -> float:
    """PbS dot diameter (nm) from its exciton peak, by inverting Moreels' sizing curve.

    Parameters
    ----------
    peak_eV, peak_nm : float
        The exciton peak, as an energy (eV) or a wavelength (nm); give exactly one.
    film_red_shift_meV : float
        Red shift of the measured peak relative to solution (meV). The sizing curve holds for
        solution; pass 91 for the paper's film peak (905 nm film -> 849 nm solution).

    Returns
    -------
    float
        Diameter d (nm): 2.7 nm for the paper's 849 nm solution peak.

    References
    ----------
    Moreels et al., ACS Nano 3, 3023 (2009).
    """
    if (peak_eV is None) == (peak_nm is None):
        raise InputError("give the exciton peak either as peak_eV or as peak_nm, not both")
    energy_eV = nm_to_ev(peak_nm) if peak_nm is not None else float(peak_eV)
    if not math.isfinite(energy_eV):
        raise InputError(f"exciton peak must be finite, got {energy_eV}")
    energy_eV += film_red_shift_meV * 1e-3
    # the curve spans 0.41 eV (bulk) to large confinement energies; 0.6-3 nm^-1 bracket is ample
    if not moreels_gap_eV(100.0) < energy_eV < moreels_gap_eV(0.5):
        raise InputError(
            f"solution exciton energy {energy_eV:.3f} eV is outside the PbS sizing curve "
            f"({moreels_gap_eV(100.0):.3f}-{moreels_gap_eV(0.5):.2f} eV)"
        )
    return float(brentq(lambda d: moreels_gap_eV(d) - energy_eV, 0.5, 100.0, xtol=1e-12))


def pitch_from_fraction_nm(
    d_nm: float, x: float, s0_nm: float = CONTACT_SPACING_NM, phi: float = RCP_FRACTION
) -> float:
    """Centre-to-centre pitch (nm) of dots in a matrix of volume fraction x.

    Hard spheres of effective diameter d + s0 in random close packing (fraction phi): the
    matrix fills the voids up to x = 1 - phi, then dilates the packing uniformly,
    a = (d + s0) (phi / (1 - x))^(1/3). For d = 2.7 nm: x = 0, 0.4, 0.6, 0.9 give 3.00, 3.07,
    3.51, 5.57 nm.
    """
    if not 0.0 <= x < 1.0:
        raise InputError(f"perovskite volume fraction must be in [0, 1), got {x}")
    if d_nm <= 0 or s0_nm < 0 or not 0 < phi < 1:
        raise InputError(f"need d > 0, s0 >= 0 and 0 < phi < 1; got {d_nm}, {s0_nm}, {phi}")
    contact_nm = d_nm + s0_nm
    if x <= 1.0 - phi:
        return contact_nm
    return contact_nm * (phi / (1.0 - x)) ** (1.0 / 3.0)


def build_film(name: str, perovskite_fraction: float, sigma_inh_meV: float, **overrides) -> Film:
    """A film from its composition, deriving geometry, coupling and exciton peak.

    The dot size comes from the pure film's 905 nm peak (Moreels sizing after the 91 meV
    film shift); the pitch from :func:`pitch_from_fraction_nm`; J = J0 exp(-beta (s - s0)); the
    film peak shifts back towards the solution peak in proportion to the lost coupling (the
    91 meV red shift is taken as proportional to J, as the nearest-neighbour band-edge shift
    -z J of a tight-binding band is). Any field in ``overrides`` wins over the derived value;
    geometry fields given explicitly are used as such (pitch = d + spacing must hold).
    """
    unknown = set(overrides) - {f.name for f in fields(Film)} - {"coupling0_meV"}
    if unknown:
        raise InputError(f"unknown film parameter(s): {', '.join(sorted(unknown))}")
    beta = overrides.get("beta_per_nm", _fit("beta_per_nm"))
    s0 = overrides.get("contact_spacing_nm", CONTACT_SPACING_NM)
    coupling0 = overrides.pop("coupling0_meV", _fit("coupling0_meV"))
    solution_peak_eV = nm_to_ev(CQD_FILM_PEAK_NM) + FILM_RED_SHIFT_MEV * 1e-3
    d = overrides.get("dot_diameter_nm") or dot_diameter_from_exciton_nm(solution_peak_eV)
    if "pitch_nm" in overrides and "spacing_nm" not in overrides:
        overrides["spacing_nm"] = overrides["pitch_nm"] - d
    if "spacing_nm" in overrides and "pitch_nm" not in overrides:
        overrides["pitch_nm"] = d + overrides["spacing_nm"]
    pitch = overrides.get("pitch_nm", pitch_from_fraction_nm(d, perovskite_fraction, s0))
    spacing = pitch - d
    coupling = overrides.get("coupling_meV", coupling0 * math.exp(-beta * (spacing - s0)))
    shift_eV = FILM_RED_SHIFT_MEV * 1e-3 * coupling / coupling0 if coupling0 > 0 else 0.0
    peak_nm = ev_to_nm(moreels_gap_eV(d) - shift_eV)
    sigma_site = _fit("sigma_site_meV") * sigma_inh_meV / _fit("sigma_inh_meV")
    values = {
        "name": name,
        "perovskite_fraction": perovskite_fraction,
        "exciton_peak_nm": peak_nm,
        "dot_diameter_nm": d,
        "pitch_nm": pitch,
        "spacing_nm": spacing,
        "coupling_meV": coupling,
        "sigma_inh_meV": sigma_inh_meV,
        "sigma_site_meV": sigma_site,
        "beta_per_nm": beta,
        "hop_rate0_per_fs": _fit("hop_rate0_per_fs"),
        "tau_c0_fs": _fit("tau_c0_fs"),
        "scatter_per_nabs": _fit("scatter_per_nabs"),
        "kappa": _fit("kappa"),
        "tau_xx_fs": _fit("tau_xx_fs"),
        "hot_rate_factor": _fit("hot_rate_factor"),
        "tau_cool_fs": _fit("tau_cool_fs"),
        "temperature_K": ROOM_TEMPERATURE_K,
        "contact_spacing_nm": s0,
        "hot_flight_fs": _fit("hot_flight_fs"),
        "encounter_auger_factor": _fit("encounter_auger_factor"),
    }
    values.update(overrides)
    return Film(**values)
