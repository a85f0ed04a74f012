"""The parameter table of the inference: which :class:`~tamkit.sim.film.Film` fields, their priors.

Every free parameter is a ``Film`` field, sampled in log space under a log-uniform (scale-free)
prior between bounds that span the physically plausible range (PHYSICS.md, docs/simulator.md);
the bounds are wide on purpose, so that what the posterior says comes from the data. Fields that
the forward model cannot yet constrain are listed in :data:`NOT_INFERRED` with the reason, and
``infer.json`` carries that reason instead of a posterior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tamkit.core.errors import InputError


@dataclass(frozen=True)
class Prior:
    """A log-uniform prior on one ``Film`` field.

    Attributes
    ----------
    name : str
        The ``Film`` field name (units in the name).
    lo, hi : float
        Bounds of the prior (same units), 0 < lo < hi.
    stage : str
        Which part of the measurement constrains it (``band-like``).
    note : str
        Where the bounds come from.
    """

    name: str
    lo: float
    hi: float
    stage: str
    note: str

    @property
    def log_bounds(self) -> tuple[float, float]:
        return math.log(self.lo), math.log(self.hi)

    @property
    def sd(self) -> float:
        """Prior standard deviation of the parameter itself (log-uniform, linear units)."""
        a, b = self.log_bounds
        width = b - a
        mean = (self.hi - self.lo) / width
        second = (self.hi**2 - self.lo**2) / (2.0 * width)
        return math.sqrt(max(second - mean**2, 0.0))

    @property
    def log_sd(self) -> float:
        """Prior standard deviation of ln(parameter): width / sqrt(12)."""
        a, b = self.log_bounds
        return (b - a) / math.sqrt(12.0)


#: The band-like stage (closed form, :mod:`tamkit.infer.forward`). sigma_inh_meV and kappa enter
#: only through lambda = sigma_inh / (kappa hbar): with both free, only their ratio is fixed.
PRIORS: dict[str, Prior] = {p.name: p for p in (
    Prior("coupling_meV", 20.0, 150.0, "band-like",
          "J: PHYSICS.md's 35-75 meV for D_max ~ 102 cm^2/s, widened by 2x both ways"),
    Prior("tau_c0_fs", 30.0, 400.0, "band-like",
          "velocity memory without carrier-carrier scattering; cqd's 115 fs inside a decade"),
    Prior("scatter_per_nabs", 0.002, 0.2, "band-like",
          "b (1/fs per <N_abs>): from 2 % to 20x the cqd value's effect on tau_c at 0.045"),
    Prior("kappa", 4.0, 60.0, "band-like",
          "tau_b = kappa hbar / sigma_inh: ~90 fs to ~1.3 ps at 30 meV (PHYSICS.md ~14)"),
    Prior("sigma_inh_meV", 8.0, 60.0, "band-like",
          "inhomogeneous broadening; normally fixed by the film base or a TA bleach map"),
)}

#: Free by default: the band-like parameters a fluence series separates (PHYSICS.md).
DEFAULT_FREE = ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa")

#: Film fields the data bear on but this version does not infer, with the reason.
NOT_INFERRED: dict[str, str] = {
    "hop_rate0_per_fs": (
        "hopping stage (> 100 ps): the late MSD grows by ~150 nm^2 between 0.1 and 1 ns, "
        "below what the measured errors resolve (docs/simulator.md), and is mixed with the "
        "hot-flight excess; its small share of the early MSD enters through the surrogate "
        "(tamkit.infer.surrogate) at the film base's value"),
    "sigma_site_meV": (
        "hopping landscape: shows in the late sub-diffusion and the bleach red-shift kinetics; "
        "not in the early MSD that the closed-form forward model covers"),
    "tau_xx_fs": (
        "Auger: shows in the fluence dependence of the amplitude decay and of the hot-flight "
        "MSD excess (1-100 ps), outside the fitted first picosecond; the surrogate of the "
        "early hot flights holds it at the film base's value"),
    "hot_rate_factor": "hot-carrier stage (1-100 ps): outside the fitted window; held at the base",
    "hot_flight_fs": "hot-carrier stage (1-100 ps): outside the fitted window; held at the base",
}


def check_free(names) -> tuple[str, ...]:
    """The free parameter names, checked against :data:`PRIORS` (``InputError`` otherwise)."""
    from dataclasses import fields

    from tamkit.sim.film import Film

    given = [n.strip() for n in names if n.strip()]
    names = tuple(dict.fromkeys(given))
    if not names:
        raise InputError("--free needs at least one parameter name")
    if len(names) < len(given):
        # a repeated name is a typo more often than not (another parameter was meant)
        twice = sorted({n for n in given if given.count(n) > 1})
        raise InputError(f"--free names {', '.join(twice)} more than once; give each "
                         "parameter once")
    film_fields = {f.name for f in fields(Film)}
    for name in names:
        if name in NOT_INFERRED:
            raise InputError(f"{name} cannot be inferred yet: {NOT_INFERRED[name]}")
        if name not in PRIORS:
            hint = "a Film field" if name in film_fields else "not a Film field"
            raise InputError(f"unknown free parameter {name!r} ({hint}); "
                             f"choose from {', '.join(PRIORS)}")
    return names
