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
