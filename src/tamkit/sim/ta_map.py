"""Synthetic transient-absorption maps (delay x wavelength) with known truth.

Two generators share one instrument model (a Gaussian instrument response, a probe chirp from
group-velocity dispersion, white noise):

- :func:`multi_exponential_map`: a sum of exponentials with given decay-associated spectra, the
  exact model of global analysis (for testing lifetimes, IRF and chirp recovery);
- :func:`film_ta_map`: the paper's perovskite/quantum-dot films (Fig. 2c-d): the perovskite
  ground-state bleach (GSB, ~565 nm) decays with the injection time constant, the dot GSB
  (~905 nm) rises with the same constant and red-shifts as carriers relax downhill in the
  disordered dot ensemble, and the dots' photoinduced absorption (PIA, ~670 nm) appears at once
  (no rise). Signs follow dT/T: bleach positive, PIA negative.

Chirp model: the probe's group delay through a dispersive medium with a Cauchy index
n = A + B / lambda^2 has n_g = A + 3 B / lambda^2, so time zero is

    t0(lambda) = time_zero_fs + gvd_fs_um2 * (1 / lambda_um^2 - 1 / ref_um^2),

with gvd_fs_um2 = 3 B L / c (~85 fs um^2 for 2 mm of fused silica). Red light arrives first.

Energy relaxation (the red-shift): the dot GSB centre moves as E(t) = E0 + Delta_E (1 - e^{-t/tau}),
with Delta_E = -sigma_inh^2 / (f k_B T); f = 2 is the paper's printed convention and f = 1 the
equilibrium of a Gaussian density of states (Bassler, Phys. Status Solidi B 175, 15 (1993)). The
convention is a parameter and is recorded in the truth (see :mod:`tamkit.spectro.bleach`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.constants import HC_EV_NM, ROOM_TEMPERATURE_K, thermal_energy_meV
from tamkit.core.errors import InputError
from tamkit.core.tamap import make_tamap
from tamkit.models.disorder import CONVENTIONS, delta_e_from_sigma
from tamkit.models.ta_kinetics import exp_irf_basis, sigma_from_fwhm


@dataclass
class TAMapTruth:
    """What a synthetic map was made from (times in fs, wavelengths in nm, energies in meV)."""

    lifetimes_fs: list[float]
    irf_fwhm_fs: float
    t0_fs: np.ndarray
    noise_std: float
    time_zero_fs: float
    gvd_fs_um2: float
    chirp_ref_nm: float
    injection_tau_fs: float | None = None
    sigma_inh_meV: float | None = None
    temperature_K: float | None = None
    convention: str | None = None
    delta_E_meV: float | None = None
    shift_tau_fs: float | None = None
    cqd_peak_nm: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON-ready dict."""
        return asdict(self)


def default_delays_fs() -> np.ndarray:
    """-1 to 2 ps in 20 fs steps, then log-spaced to 500 ps (fs): 150 + 100 delays."""
    return np.concatenate([np.arange(-1000.0, 2000.0, 20.0), np.geomspace(2000.0, 5e5, 100)])


def chirp_t0_fs(
    wavelength_nm, time_zero_fs: float = 0.0, gvd_fs_um2: float = 85.0, ref_nm: float = 700.0
) -> np.ndarray:
    """Time zero (fs) per wavelength from Cauchy-medium group-velocity dispersion (see module)."""
    wl_um = np.asarray(wavelength_nm, dtype=float) / 1e3
    return time_zero_fs + gvd_fs_um2 * (1.0 / wl_um**2 - 1.0 / (ref_nm / 1e3) ** 2)


def _basis(delay_fs, t0_fs, lifetimes_fs, irf_fwhm_fs) -> np.ndarray:
    """(n_w, n_t, m) IRF-convolved exponentials; an infinite lifetime gives a step."""
    rates = np.array([0.0 if not np.isfinite(t) else 1.0 / t for t in lifetimes_fs], dtype=float)
    sigma = float(sigma_from_fwhm(irf_fwhm_fs))
    return exp_irf_basis(np.asarray(delay_fs, float), np.asarray(t0_fs, float), rates, sigma)


def _noisy(values: np.ndarray, noise_std: float, seed: int | None) -> np.ndarray:
    if noise_std < 0:
        raise InputError(f"noise_std must be >= 0, got {noise_std}")
    rng = np.random.default_rng(seed)
    return values + rng.normal(0.0, noise_std, values.shape) if noise_std > 0 else values


def multi_exponential_map(
    delay_fs,
    wavelength_nm,
    lifetimes_fs,
    das,
    *,
    irf_fwhm_fs: float = 100.0,
    time_zero_fs: float = 0.0,
    gvd_fs_um2: float = 85.0,
    chirp_ref_nm: float = 700.0,
    noise_std: float = 0.0,
    seed: int | None = 0,
) -> tuple[xr.DataArray, TAMapTruth]:
    """A map sum_j DAS_j(lambda) (exp(-t/tau_j) H(t)) * IRF, chirped, with white noise.

    Parameters
    ----------
    delay_fs, wavelength_nm : array
        Grids (fs, nm).
    lifetimes_fs : sequence of float
        Lifetimes (fs); ``inf`` gives a non-decaying step.
    das : array, shape (n_components, n_wavelength)
        Decay-associated spectra.
    irf_fwhm_fs : float
        FWHM of the Gaussian instrument response (fs).
    time_zero_fs, gvd_fs_um2, chirp_ref_nm : float
        Chirp (see :func:`chirp_t0_fs`).
    noise_std : float
        Standard deviation of the additive white noise (signal units).
    seed : int or None
        Random seed of the noise.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    das = np.atleast_2d(np.asarray(das, dtype=float))
    if das.shape != (len(lifetimes_fs), wl.size):
        raise InputError(f"das must have shape ({len(lifetimes_fs)}, {wl.size}), got {das.shape}")
    t0 = chirp_t0_fs(wl, time_zero_fs, gvd_fs_um2, chirp_ref_nm)
    basis = _basis(delay_fs, t0, lifetimes_fs, irf_fwhm_fs)
    values = np.einsum("wtj,jw->tw", basis, das)
    tamap = make_tamap(_noisy(values, noise_std, seed), delay_fs, wl,
                       attrs={"quantity": "dT/T", "provenance": "tamkit.sim.ta_map"})
    truth = TAMapTruth(list(map(float, lifetimes_fs)), irf_fwhm_fs, t0, noise_std, time_zero_fs,
                       gvd_fs_um2, chirp_ref_nm)
    return tamap, truth


def _gauss_energy(wl_nm: np.ndarray, center_meV, width_meV: float) -> np.ndarray:
    energy_meV = 1e3 * HC_EV_NM / wl_nm
    return np.exp(-0.5 * ((energy_meV - center_meV) / width_meV) ** 2)


def film_ta_map(
    delay_fs=None,
    wavelength_nm=None,
    *,
    sigma_inh_meV: float = 30.0,
    temperature_K: float = ROOM_TEMPERATURE_K,
    convention: str = "paper",
    injection_tau_fs: float = 2000.0,
    shift_tau_fs: float = 5000.0,
    cqd_lifetime_fs: float = 2e6,
    perovskite_lifetime_fs: float = 2e6,
    perovskite_share: float = 0.6,
    perovskite_gsb_nm: float = 565.0,
    cqd_gsb_nm: float = 905.0,
    pia_nm: float = 670.0,
    perovskite_width_meV: float = 40.0,
    cqd_width_meV: float = 50.0,
    pia_width_meV: float = 120.0,
    gsb_amplitude: float = 0.01,
    pia_amplitude: float = 0.003,
    irf_fwhm_fs: float = 100.0,
    time_zero_fs: float = 0.0,
    gvd_fs_um2: float = 85.0,
    chirp_ref_nm: float = 700.0,
    noise_std: float = 5e-5,
    seed: int | None = 0,
) -> tuple[xr.DataArray, TAMapTruth]:
    """A TA map of a perovskite/quantum-dot film with injection, PIA and the dot bleach red-shift.

    Kinetics (before the IRF and chirp), with k_i = 1 / injection_tau_fs:

    - perovskite GSB: share * exp(-(k_i + 1/perovskite_lifetime) t) (injection empties it);
    - dot GSB: (1 - share) e^{-t/tau_Q} (dots excited directly) plus share k_i / (k_i + k_p - k_Q)
      (e^{-k_Q t} - e^{-(k_i + k_p) t}) (carriers injected from the perovskite): the rise;
    - PIA (negative): present from time zero, decaying with the dots' lifetime (no rise).

    The dot GSB is a Gaussian in photon energy whose centre relaxes as E0 + Delta_E (1 - e^{-t/
    shift_tau}); Delta_E = -sigma_inh^2 / (f k_B T) with f from ``convention`` ("paper": 2,
    "gaussian_dos": 1). The centre is evaluated at the chirp-shifted delay clipped at zero.

    Parameters
    ----------
    delay_fs, wavelength_nm : array, optional
        Grids; default :func:`default_delays_fs` and 500-1000 nm in 2 nm steps.
    sigma_inh_meV, temperature_K, convention : float, float, str
        Energetic disorder (meV), lattice temperature (K), Delta_E convention.
    injection_tau_fs, shift_tau_fs, cqd_lifetime_fs, perovskite_lifetime_fs : float
        Time constants (fs).
    perovskite_share : float
        Fraction of the excitation absorbed by the perovskite (0 for a pure dot film).
    perovskite_gsb_nm, cqd_gsb_nm, pia_nm : float
        Band centres (nm) at time zero.
    perovskite_width_meV, cqd_width_meV, pia_width_meV : float
        Gaussian band widths (standard deviation in photon energy, meV).
    gsb_amplitude, pia_amplitude : float
        Peak dT/T of the bleaches (per unit population) and of the PIA.
    irf_fwhm_fs, time_zero_fs, gvd_fs_um2, chirp_ref_nm, noise_std, seed
        Instrument model (see :func:`multi_exponential_map`).
    """
    if convention not in CONVENTIONS:
        raise InputError(f"convention must be one of {sorted(CONVENTIONS)}, got {convention!r}")
    if not 0.0 <= perovskite_share <= 1.0:
        raise InputError(f"perovskite_share must be in [0, 1], got {perovskite_share}")
    delay = default_delays_fs() if delay_fs is None else np.asarray(delay_fs, dtype=float)
    wl = np.arange(500.0, 1000.1, 2.0) if wavelength_nm is None else np.asarray(wavelength_nm)
    t0 = chirp_t0_fs(wl, time_zero_fs, gvd_fs_um2, chirp_ref_nm)
    k_i, k_p, k_q = 1.0 / injection_tau_fs, 1.0 / perovskite_lifetime_fs, 1.0 / cqd_lifetime_fs
    k_pv = k_i + k_p
    basis = _basis(delay, t0, [1.0 / k_pv, cqd_lifetime_fs], irf_fwhm_fs)  # (W, T, 2)
    pero_pop = perovskite_share * basis[:, :, 0]
    injected = perovskite_share * k_i / (k_pv - k_q)
    cqd_pop = (1.0 - perovskite_share + injected) * basis[:, :, 1] - injected * basis[:, :, 0]
    pia_pop = basis[:, :, 1]
    delta_e = delta_e_from_sigma(sigma_inh_meV, temperature_K, convention)
    e0_meV = 1e3 * HC_EV_NM / cqd_gsb_nm
    tau = np.clip(delay[None, :] - t0[:, None], 0.0, None)
    e_c = e0_meV + delta_e * (1.0 - np.exp(-tau / shift_tau_fs))  # (W, T)
    energy = 1e3 * HC_EV_NM / wl
    cqd_shape = np.exp(-0.5 * ((energy[:, None] - e_c) / cqd_width_meV) ** 2)
    pero_shape = _gauss_energy(wl, 1e3 * HC_EV_NM / perovskite_gsb_nm, perovskite_width_meV)
    pia_shape = _gauss_energy(wl, 1e3 * HC_EV_NM / pia_nm, pia_width_meV)
    values = gsb_amplitude * (pero_pop * pero_shape[:, None] + cqd_pop * cqd_shape)
    values = values - pia_amplitude * pia_pop * pia_shape[:, None]
    tamap = make_tamap(
        _noisy(values.T, noise_std, seed), delay, wl,
        attrs={"quantity": "dT/T", "provenance": "tamkit.sim.ta_map.film_ta_map",
               "temperature_K": temperature_K},
    )
    truth = TAMapTruth(
        [1.0 / k_pv, cqd_lifetime_fs], irf_fwhm_fs, t0, noise_std, time_zero_fs, gvd_fs_um2,
        chirp_ref_nm, injection_tau_fs=injection_tau_fs, sigma_inh_meV=sigma_inh_meV,
        temperature_K=temperature_K, convention=convention, delta_E_meV=delta_e,
        shift_tau_fs=shift_tau_fs, cqd_peak_nm=cqd_gsb_nm,
        extras={"kT_meV": thermal_energy_meV(temperature_K), "perovskite_share": perovskite_share},
    )
    return tamap, truth


def simulated_ta_map_for_film(film_or_name, **kwargs) -> tuple[xr.DataArray, TAMapTruth]:
    """:func:`film_ta_map` with sigma_inh, temperature, dot peak and perovskite share from a Film.

    ``film_or_name`` is a :class:`tamkit.sim.film.Film` or a preset name ("cqd", "qdip40",
    "qdip60", "qdip90"). The perovskite's share of the absorbed light is taken equal to its
    volume fraction (a simplification: it ignores the two materials' different absorption);
    other keyword arguments override anything.
    """
    from tamkit.sim.film import film_preset

    film = film_preset(film_or_name) if isinstance(film_or_name, str) else film_or_name
    params: dict[str, Any] = {
        "sigma_inh_meV": film.sigma_inh_meV,
        "temperature_K": film.temperature_K,
        "perovskite_share": film.perovskite_fraction,
        "cqd_gsb_nm": getattr(film, "exciton_peak_nm", 905.0),
    }
    params.update(kwargs)
    return film_ta_map(**params)
