"""The :class:`Film` dataclass: every parameter of a quantum-dot film and what follows from them.

Couplings fall as J = J0 exp(-beta (s - s0)), hopping rates as nu0 exp(-2 beta (s - s0))
(PHYSICS.md); the derived band-like and hopping quantities are properties of the film.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from tamkit.core.constants import HBAR_MEV_FS, ROOM_TEMPERATURE_K
from tamkit.core.errors import InputError
from tamkit.sim.film.parameters import CONTACT_SPACING_NM, FIT_PARAMETERS


@dataclass(frozen=True)
class Film:
    """Every parameter of a quantum-dot film, in the units its name carries.

    Attributes
    ----------
    name : str
        Label (a preset name or the user's).
    perovskite_fraction : float
        Perovskite volume fraction x in [0, 1).
    exciton_peak_nm : float
        Film exciton (GSB) peak (nm); blue-shifts as the coupling falls.
    dot_diameter_nm, pitch_nm, spacing_nm : float
        Dot diameter d, centre-to-centre pitch a and surface spacing s = a - d (nm).
    coupling_meV : float
        Nearest-neighbour electronic coupling J (meV) at this film's spacing.
    sigma_inh_meV : float
        Inhomogeneous broadening (meV); sets the band-like persistence tau_b = kappa hbar / sigma.
    sigma_site_meV : float
        Standard deviation of Gaussian site energies of the hopping landscape (meV).
    beta_per_nm : float
        Decay constant of the coupling with spacing (1/nm); rates decay with 2 beta.
    hop_rate0_per_fs : float
        nu0: per-neighbour hop rate at contact spacing without disorder (1/fs).
    tau_c0_fs : float
        Band-like velocity correlation time without carrier-carrier scattering (fs).
    scatter_per_nabs : float
        b in 1/tau_c = 1/tau_c0 + b <N_abs> (1/fs per absorbed photon per dot).
    kappa : float
        Dimensionless: localisation rate lambda = sigma_inh / (kappa hbar).
    tau_xx_fs : float
        Biexciton Auger lifetime (fs).
    hot_rate_factor : float
        Hop-rate enhancement of Auger-heated (hot) carriers.
    tau_cool_fs : float
        Stepwise cooling time of hot carriers within the 1S level after their flight (fs).
    temperature_K : float
        Lattice temperature (K).
    contact_spacing_nm : float
        s0, the spacing at which coupling0 and nu0 are defined (nm).
    hot_flight_fs : float
        Mean time (fs) an Auger survivor moves band-like in the delocalised higher states,
        with per-axis diffusivity :attr:`hot_diffusivity_nm2_fs` (0: no flights).
    encounter_auger_factor : float
        Auger rate of carriers that met by hopping relative to a pump-made multiexciton, [0, 1].
    """

    name: str
    perovskite_fraction: float
    exciton_peak_nm: float
    dot_diameter_nm: float
    pitch_nm: float
    spacing_nm: float
    coupling_meV: float
    sigma_inh_meV: float
    sigma_site_meV: float
    beta_per_nm: float
    hop_rate0_per_fs: float
    tau_c0_fs: float
    scatter_per_nabs: float
    kappa: float
    tau_xx_fs: float
    hot_rate_factor: float
    tau_cool_fs: float
    temperature_K: float = ROOM_TEMPERATURE_K
    contact_spacing_nm: float = CONTACT_SPACING_NM
    hot_flight_fs: float = FIT_PARAMETERS["hot_flight_fs"][0]
    encounter_auger_factor: float = FIT_PARAMETERS["encounter_auger_factor"][0]

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "name":
                if not isinstance(value, str):
                    raise InputError(f"film name must be a string, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"film field {f.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise InputError(f"film field {f.name} must be finite, got {value!r}")
        if not 0.0 <= self.perovskite_fraction < 1.0:
            raise InputError(
                f"perovskite_fraction must be in [0, 1), got {self.perovskite_fraction}"
            )
        positive = (
            "exciton_peak_nm", "dot_diameter_nm", "pitch_nm", "sigma_inh_meV", "hop_rate0_per_fs",
            "tau_c0_fs", "kappa", "tau_xx_fs", "hot_rate_factor", "tau_cool_fs", "temperature_K",
        )
        for key in positive:
            if getattr(self, key) <= 0:
                raise InputError(f"film field {key} must be positive, got {getattr(self, key)}")
        nonneg = ("spacing_nm", "coupling_meV", "sigma_site_meV", "beta_per_nm",
                  "scatter_per_nabs", "contact_spacing_nm")
        for key in nonneg:
            if getattr(self, key) < 0:
                raise InputError(f"film field {key} must be >= 0, got {getattr(self, key)}")
        if self.hot_flight_fs < 0:
            raise InputError(f"film field hot_flight_fs must be >= 0, got {self.hot_flight_fs}")
        if not 0.0 <= self.encounter_auger_factor <= 1.0:
            raise InputError(
                f"encounter_auger_factor must be in [0, 1], got {self.encounter_auger_factor}"
            )
        if abs(self.pitch_nm - self.dot_diameter_nm - self.spacing_nm) > 1e-6:
            raise InputError(
                f"pitch_nm ({self.pitch_nm}) must equal dot_diameter_nm + spacing_nm "
                f"({self.dot_diameter_nm} + {self.spacing_nm})"
            )

    @property
    def hop_rate_per_fs(self) -> float:
        """Per-neighbour hop rate nu0 exp(-2 beta (s - s0)) without disorder (1/fs)."""
        offset_nm = self.spacing_nm - self.contact_spacing_nm
        return self.hop_rate0_per_fs * math.exp(-2.0 * self.beta_per_nm * offset_nm)

    @property
    def band_like_velocity2_nm2_fs2(self) -> float:
        """Per-axis mean-square band velocity v^2 = 2 J^2 a^2 / hbar^2 (nm^2/fs^2).

        The average of (2 J a / hbar)^2 sin^2(k a) over a uniformly filled tight-binding band.
        """
        return 2.0 * (self.coupling_meV * self.pitch_nm / HBAR_MEV_FS) ** 2

    @property
    def hot_diffusivity_nm2_fs(self) -> float:
        """Per-axis diffusivity of a hot carrier in the delocalised states, v^2 tau_c0 (nm^2/fs).

        An Auger survivor holds ~1.37 eV of excess energy, far above the ~30 meV disorder that
        localises band-edge carriers, so it moves like the band-like stage without localisation
        and without carrier-carrier scattering: D = v^2 tau_c0 (26.8 nm^2/fs = 268 cm^2/s for
        cqd). The same coupling sets it, so it falls with spacing as J^2 a^2.
        """
        return self.band_like_velocity2_nm2_fs2 * self.tau_c0_fs

    @property
    def localisation_time_fs(self) -> float:
        """tau_b = kappa hbar / sigma_inh (fs): mean persistence before localisation."""
        return self.kappa * HBAR_MEV_FS / self.sigma_inh_meV

    def tau_c_fs(self, nabs: float) -> float:
        """Velocity correlation time at a local <N_abs>: 1/tau_c = 1/tau_c0 + b <N_abs> (fs)."""
        if nabs < 0:
            raise InputError(f"<N_abs> must be >= 0, got {nabs}")
        return 1.0 / (1.0 / self.tau_c0_fs + self.scatter_per_nabs * nabs)

    def mean_free_path_nm(self, nabs: float = 0.0) -> float:
        """Band-like mean free path v tau_c (nm), v = sqrt(v^2) per axis."""
        return math.sqrt(self.band_like_velocity2_nm2_fs2) * self.tau_c_fs(nabs)

    def has_band_like_regime(self, nabs: float = 0.0) -> bool:
        """Ioffe-Regel criterion: band-like motion needs a mean free path of at least one pitch.

        Below it a carrier is scattered before it leaves its dot, so its motion is hopping.
        """
        return self.mean_free_path_nm(nabs) >= self.pitch_nm

    @property
    def hop_time_fs(self) -> float:
        """Mean time between hops on a 6-neighbour lattice without disorder, 1 / (6 nu) (fs)."""
        return 1.0 / (6.0 * self.hop_rate_per_fs)

    def to_dict(self) -> dict:
        """All fields as a plain dict (for truth.json and TOML round trips)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
