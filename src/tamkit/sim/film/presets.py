"""The paper's film presets and user films: TOML loading, mappings of overrides, copies.

Presets reproduce the paper's films (Liu et al. 2021): ``cqd`` (pure PbS CQD solid) and
``qdip40``, ``qdip60``, ``qdip90`` (40, 60, 90 vol% CsPbBr2I). A user film is a TOML file whose
keys are :class:`~tamkit.sim.film.Film` fields plus an optional ``base`` preset (see
:func:`load_film`).
"""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path

from tamkit.core.errors import InputError
from tamkit.sim.film.film import Film
from tamkit.sim.film.geometry import build_film
from tamkit.sim.film.parameters import PRESET_COMPOSITION, PRESET_NAMES

#: Fastest hop (1/fs) a film may give, hot carriers included: a hop faster than 0.1 fs is not
#: hopping (it is band-like motion, which the band-like stage models), and the kinetic Monte
#: Carlo's cost grows with the number of hops (~20 s per run and spot at 100x the cqd rate).
MAX_HOP_RATE_PER_FS = 10.0

#: Allowed values of the fields a film file may set: (low, high, unit, low end included).
#: Wide physical ranges, beyond which a film is meaningless or cannot be simulated in finite
#: time; checked on the user's values before anything is derived from them, so that an error
#: names what the user wrote.
FIELD_RANGES: dict[str, tuple[float, float, str, bool]] = {
    "exciton_peak_nm": (200.0, 10_000.0, "nm", True),
    "dot_diameter_nm": (0.5, 100.0, "nm", True),
    "pitch_nm": (0.0, 1000.0, "nm", False),
    "spacing_nm": (0.0, 1000.0, "nm", True),
    "coupling_meV": (0.0, 1000.0, "meV", True),
    "coupling0_meV": (0.0, 1000.0, "meV", True),
    "sigma_inh_meV": (1e-3, 1000.0, "meV", True),
    "sigma_site_meV": (0.0, 1000.0, "meV", True),
    "beta_per_nm": (0.0, 100.0, "1/nm", True),
    "hop_rate0_per_fs": (0.0, MAX_HOP_RATE_PER_FS, "1/fs", False),
    "tau_c0_fs": (1e-3, 1e6, "fs", True),
    "scatter_per_nabs": (0.0, 100.0, "1/fs per <N_abs>", True),
    "kappa": (1e-3, 1e4, "", True),
    "tau_xx_fs": (1e-3, 1e12, "fs", True),
    "hot_rate_factor": (0.0, 1e4, "", False),
    "tau_cool_fs": (1e-3, 1e9, "fs", True),
    "temperature_K": (1e-3, 1e4, "K", True),
    "contact_spacing_nm": (0.0, 10.0, "nm", True),
    "hot_flight_fs": (0.0, 1e9, "fs", True),
    "encounter_auger_factor": (0.0, 1.0, "", True),
}


def check_film_fields(values: dict) -> None:
    """Raise :class:`InputError` naming the first field of ``values`` outside
    :data:`FIELD_RANGES` (value and allowed range); other keys are not checked here."""
    import math

    for key, value in values.items():
        if key not in FIELD_RANGES:
            continue
        low, high, unit, closed = FIELD_RANGES[key]
        value = float(value)
        inside = math.isfinite(value) and (low <= value if closed else low < value) \
            and value <= high
        if not inside:
            bracket = "[" if closed else "("
            raise InputError(f"film field {key} = {value:g} is outside the allowed range "
                             f"{bracket}{low:g}, {high:g}]" + (f" {unit}" if unit else ""))


def _check_hop_rate(film: Film, user: dict) -> None:
    """Refuse a film whose fastest hop (hot carriers, tunnelling factor included) exceeds
    :data:`MAX_HOP_RATE_PER_FS`, naming the film-file fields that set it."""
    fastest = film.hop_rate_per_fs * max(film.hot_rate_factor, 1.0)
    if fastest > MAX_HOP_RATE_PER_FS:
        causes = [k for k in ("hop_rate0_per_fs", "hot_rate_factor", "beta_per_nm", "pitch_nm",
                              "spacing_nm", "contact_spacing_nm", "dot_diameter_nm")
                  if k in user]
        given = ", ".join(f"{k} = {float(user[k]):g}" for k in causes) or "the base film"
        raise InputError(f"film hop rate {fastest:.3g} per fs (nu0 exp(-2 beta (s - s0)) times "
                         f"hot_rate_factor) from {given} exceeds {MAX_HOP_RATE_PER_FS:g} per fs; "
                         "a hop faster than 0.1 fs is not hopping")


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
    if not isinstance(base, str) or base not in PRESET_COMPOSITION:
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
    user = dict(data)
    check_film_fields(user)
    fraction, sigma_inh = PRESET_COMPOSITION[base]
    fraction = float(data.pop("perovskite_fraction", fraction))
    sigma_inh = float(data.pop("sigma_inh_meV", sigma_inh))
    try:
        film = build_film(name, fraction, sigma_inh, **{k: float(v) for k, v in data.items()})
    except TypeError as exc:
        raise InputError(f"bad film parameters: {exc}") from exc
    except InputError as exc:
        if any(key in str(exc) for key in user):
            raise
        # a derived field failed: say which of the user's values led there
        given = ", ".join(f"{k} = {float(v):g}" for k, v in user.items())
        raise InputError(f"the film values {given} give an impossible film ({exc})") from None
    _check_hop_rate(film, user)
    return film


def with_changes(film: Film, **changes) -> Film:
    """A copy of ``film`` with some fields changed (validated like a new film)."""
    return replace(film, **changes)
