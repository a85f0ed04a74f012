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

The package, along its seams: :mod:`.parameters` (the measured and *fit* values),
:mod:`.film` (the :class:`Film` dataclass), :mod:`.geometry` (Moreels sizing, pitch,
:func:`build_film`) and :mod:`.presets` (presets, TOML files, overrides). Every public name is
re-exported here: ``from tamkit.sim.film import X`` is the way to import them.
"""

from tamkit.sim.film.film import Film
from tamkit.sim.film.geometry import (
    build_film,
    dot_diameter_from_exciton_nm,
    moreels_gap_eV,
    pitch_from_fraction_nm,
)
from tamkit.sim.film.parameters import (
    CONTACT_SPACING_NM,
    CQD_FILM_PEAK_NM,
    FILM_RED_SHIFT_MEV,
    FIT_PARAMETERS,
    PRESET_COMPOSITION,
    PRESET_NAMES,
    RCP_FRACTION,
    fit_value,
)
from tamkit.sim.film.presets import film_from_mapping, film_preset, load_film, with_changes

__all__ = [
    "CONTACT_SPACING_NM",
    "CQD_FILM_PEAK_NM",
    "FILM_RED_SHIFT_MEV",
    "FIT_PARAMETERS",
    "PRESET_COMPOSITION",
    "PRESET_NAMES",
    "RCP_FRACTION",
    "Film",
    "build_film",
    "dot_diameter_from_exciton_nm",
    "film_from_mapping",
    "film_preset",
    "fit_value",
    "load_film",
    "moreels_gap_eV",
    "pitch_from_fraction_nm",
    "with_changes",
]
