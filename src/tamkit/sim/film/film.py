"""Film model: PbS quantum-dot solids with a perovskite matrix (geometry, couplings, presets).

A :class:`Film` holds every parameter the simulator needs, in physical units. Presets
reproduce the paper's films (Liu et al. 2021): ``cqd`` (pure PbS CQD solid) and ``qdip40``,
``qdip60``, ``qdip90`` (40, 60, 90 vol% CsPbBr2I). A user film is a TOML file whose keys are
:class:`Film` fields plus an optional ``base`` preset (see :func:`load_film`).

Geometry (PHYSICS.md): dots of diameter d (Moreels sizing of the solution exciton peak) are hard
spheres of effective diameter d + s0 in random close packing (phi = 0.64). Below x = 1 - phi
(0.36) the perovskite fills the voids and the pitch stays d + s0; above, the packing dilates:
a = (d + s0) (phi / (1 - x))^(1/3). Couplings fall as J = J0 exp(-beta (s - s0)), hopping rates
as nu0 exp(-2 beta (s - s0)).

Every *fit* parameter sits in one table, :data:`FIT_PARAMETERS`, with its source or tuning target.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from scipy.optimize import brentq

from tamkit.core.constants import HBAR_MEV_FS, ROOM_TEMPERATURE_K, ev_to_nm, nm_to_ev
from tamkit.core.errors import InputError

#: Red shift of the film exciton peak from the solution peak at full coupling (meV; paper l. 108).
FILM_RED_SHIFT_MEV = 91.0
#: Exciton peak of the pure CQD film (nm; paper: GSB at 905 nm).
CQD_FILM_PEAK_NM = 905.0
#: Inter-dot spacing of the close-packed halide-capped film (nm; paper: 2-4 Angstrom).
CONTACT_SPACING_NM = 0.3
#: Random close packing fraction of the dots (paper l. 106, ref. 19).
RCP_FRACTION = 0.64

#: The *fit* parameters, each with its value and its source or tuning target. Values for the
#: pure CQD film; the composition dependence is in :data:`PRESET_COMPOSITION`.
FIT_PARAMETERS: dict[str, tuple[float, str]] = {
    "coupling0_meV": (
        74.9,
        "J at contact spacing s0. Tuned so that the semiclassical D(t) of cqd at <N_abs> = 0.045 "
        "peaks at 102 cm^2/s near 300 fs (paper Fig. 3b); PHYSICS.md range 35-75 meV.",
    ),
    "beta_per_nm": (
        1.5,
        "Tunnelling decay through the perovskite (0.15 per Angstrom, middle of PHYSICS.md's "
        "0.1-0.2). Keeps the band-like regime at 40 vol% and removes it at 90 vol% "
        "(mean free path below one pitch), as observed.",
    ),
    "tau_c0_fs": (
        115.0,
        "Velocity correlation time without carrier-carrier scattering. With scatter_per_nabs, "
        "gives tau_c = 100 fs at <N_abs> = 0.045 (the D_max = 102 cm^2/s calibration).",
    ),
    "scatter_per_nabs": (
        0.0290,
        "b in 1/tau_c = 1/tau_c0 + b <N_abs> (1/fs per absorbed photon per dot). Tuned so that "
        "D_max falls by ~20 % from <N_abs> = 0.045 to 0.18 (paper Fig. 3b: D falls with fluence; "
        "the figure's values are not in the text).",
    ),
    "kappa": (
        17.5,
        "lambda = sigma_inh / (kappa hbar): tau_b = 385 fs at sigma_inh = 30 meV, which puts the "
        "D(t) maximum of cqd at ~300 fs and the band-like length at ~80 nm (paper Fig. 3c).",
    ),
    "sigma_inh_meV": (
        30.0,
        "Inhomogeneous broadening of the pure CQD film. PHYSICS.md's 30 meV (kappa ~ 14-18 then "
        "gives the ~300 fs persistence); bleach shift -sigma^2/(2 k_B T) = -17 meV.",
    ),
    "sigma_site_meV": (
        25.0,
        "Hopping-landscape width for the pure film (PHYSICS.md ~25 meV); scaled with sigma_inh "
        "across compositions (the same improved uniformity narrows both).",
    ),
    "hop_rate0_per_fs": (
        1.0 / (6.0 * 8000.0),
        "nu0 per neighbour at contact spacing: a hop time of ~8 ps (Proppe et al. 2018) on a "
        "lattice of 6 neighbours, tau_hop = 1 / (6 nu0); D = nu0 a^2 = 1.9e-3 cm^2/s at a = 3 nm.",
    ),
    "tau_xx_fs": (
        10_000.0,
        "Biexciton Auger lifetime ~10 ps at d = 2.7 nm (volume scaling; PHYSICS.md 10-50 ps).",
    ),
    "hot_rate_factor": (30.0, "Hop-rate enhancement of Auger-heated carriers (PHYSICS.md 10-100)."),
    "tau_cool_fs": (
        1000.0,
        "Stepwise cooling time of a hot carrier within the 1S manifold after its flight "
        "(PHYSICS.md 0.5-2 ps); adds < 1 % of the Auger-assisted MSD.",
    ),
    "hot_flight_fs": (
        20_000.0,
        "Mean time an Auger survivor (~1.37 eV excess) moves band-like in the delocalised "
        "higher states (D_hot = v^2 tau_c0, 27 nm^2/fs for cqd) before it drops into the 1S "
        "level; Erlang-distributed (8 stages). Tuned so that the true MSD averaged over 2-50 ps "
        "at <N_abs> = 0.18 exceeds that at 0.045 by ~3,900 nm^2, more than making up the "
        "~2,000 nm^2 band-like deficit (paper: MSD rises with fluence before 100 ps; hot "
        "carriers relax 'over tens of picoseconds'), with every flight over by ~60 ps so that "
        "the increments after 100 ps agree across fluences within ~5 nm^2 (15 ps gives "
        "~2,900 nm^2; longer flights raise the offset at 100 ps, ~11,000 nm^2 at 0.18 now).",
    ),
    "encounter_auger_factor": (
        0.0,
        "Auger rate of carriers that met by hopping, relative to a pump-made multiexciton that "
        "never left its dot. Thermalised carriers in these strongly coupled films are "
        "dissociated charges: an encounter forms an exciton (radiative lifetime ~us in PbS) or "
        "a like-charge pair, neither recombining within 1 ns; Auger needs a third carrier. Any "
        "value that matters breaks the paper's fluence-independent MSD after 100 ps: at 0.001 "
        "the late increments at 0.18 and 0.045 differ by ~7,000 nm^2, each encounter Auger "
        "launching a hot flight. Set > 0 to explore exciton-exciton annihilation.",
    ),
}

#: Per-preset composition: perovskite volume fraction and inhomogeneous broadening (meV).
#: The paper reports that sigma_inh falls as the perovskite content rises (Fig. 2d) and that
#: 1/tau_band-like follows it (Fig. 4d); the values are not printed, so they are *fit*.
#: qdip40's 18.25 meV is tuned to D_max = 106 cm^2/s (paper l. 219); it then also gives the
#: longest band-like length (91 nm, 30 dots; paper l. 235) with no further knob. This is the
#: "improved structural uniformity" the paper proposes (l. 221), chosen over dielectric
#: screening because Fig. 2d shows sigma_inh falling and Fig. 4d ties 1/tau_band-like to it,
#: whereas no measured quantity pins a screening-raised J.
#: qdip60 (15 meV) and qdip90 (12 meV) continue the fall; the volcano's far side comes from the
#: dilated spacing (J falls as exp(-beta (s - s0))), not from disorder.
PRESET_COMPOSITION: dict[str, tuple[float, float]] = {
    "cqd": (0.0, 30.0),
    "qdip40": (0.40, 18.25),
    "qdip60": (0.60, 15.0),
    "qdip90": (0.90, 12.0),
}

PRESET_NAMES: tuple[str, ...] = tuple(PRESET_COMPOSITION)


def _fit(name: str) -> float:
    return FIT_PARAMETERS[name][0]


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


def film_preset(name: str) -> Film:
    """One of the paper's films: ``cqd``, ``qdip40``, ``qdip60`` or ``qdip90``."""
    if name not in PRESET_COMPOSITION:
        raise InputError(f"unknown film {name!r}; presets are: {', '.join(PRESET_NAMES)}")
    fraction, sigma_inh = PRESET_COMPOSITION[name]
    return build_film(name, fraction, sigma_inh)


def load_film(path_or_name: str | Path) -> Film:
    """A film from a preset name or a user TOML file.

    The TOML file holds :class:`Film` fields at top level (any subset) and optionally
    ``base = "<preset>"`` (default ``cqd``) and ``coupling0_meV``. Composition-dependent
    quantities (pitch, spacing, coupling, exciton peak, sigma_site) are re-derived from the
    file's ``perovskite_fraction`` and ``sigma_inh_meV`` unless the file sets them. Unknown
    keys are an :class:`InputError`.

    Examples
    --------
    A file ``myfilm.toml`` with ``base = "cqd"`` and ``sigma_inh_meV = 20.0`` is the pure CQD
    film with less disorder.
    """
    text = str(path_or_name)
    if text in PRESET_COMPOSITION:
        return film_preset(text)
    path = Path(path_or_name)
    if not path.is_file():
        raise InputError(
            f"{text!r} is neither a film preset ({', '.join(PRESET_NAMES)}) nor a TOML file"
        )
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot parse film file {path}: {exc}") from exc
    return film_from_mapping(data, default_name=path.stem)


def film_from_mapping(data: dict, default_name: str = "custom") -> Film:
    """A film from a dict of overrides on a base preset (the TOML form, see :func:`load_film`)."""
    data = dict(data)
    base = data.pop("base", "cqd")
    if base not in PRESET_COMPOSITION:
        raise InputError(f"unknown base film {base!r}; presets are: {', '.join(PRESET_NAMES)}")
    allowed = {f.name for f in fields(Film)} | {"coupling0_meV"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(
            f"unknown film parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    name = data.pop("name", default_name)
    if not isinstance(name, str):
        raise InputError(f"film name must be a string, got {name!r}")
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"film parameter {key} must be a number, got {value!r}")
    fraction, sigma_inh = PRESET_COMPOSITION[base]
    fraction = float(data.pop("perovskite_fraction", fraction))
    sigma_inh = float(data.pop("sigma_inh_meV", sigma_inh))
    try:
        return build_film(name, fraction, sigma_inh, **{k: float(v) for k, v in data.items()})
    except TypeError as exc:
        raise InputError(f"bad film parameters: {exc}") from exc


def with_changes(film: Film, **changes) -> Film:
    """A copy of ``film`` with some fields changed (validated like a new film)."""
    return replace(film, **changes)
