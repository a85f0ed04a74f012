"""The typed pieces of a transport result, as written to and read back from ``results.json``.

Each is a plain dataclass of numbers and strings (units in the field names), so that
:func:`dataclasses.asdict` gives its JSON block and ``Type(**block)`` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def _from_block(cls, block: dict[str, Any] | None):
    """``cls(**block)`` with JSON nulls read back as NaN for float fields; unknown keys dropped."""
    if block is None:
        return None
    names = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in block.items():
        if key not in names:
            continue
        if value is None and names[key].type in ("float", float):
            value = float("nan")
        values[key] = value
    return cls(**values)


@dataclass
class Regime:
    """One transport regime: MSD ~ t^alpha between ``start_fs`` and ``end_fs``."""

    name: str
    start_fs: float
    end_fs: float
    alpha: float
    alpha_err: float
    #: bootstrap standard errors of the two ends (fs); NaN where an end is a data edge
    start_err_fs: float = float("nan")
    end_err_fs: float = float("nan")

    @classmethod
    def from_dict(cls, block: dict[str, Any]) -> Regime:
        return _from_block(cls, block)


@dataclass
class BandLike:
    """The early band-like regime: persistence, length, peak diffusivity, mobility."""

    tau_fs: float
    tau_err_fs: float
    length_nm: float
    length_err_nm: float
    n_dots: float | None
    D_max_cm2_s: float
    D_max_err_cm2_s: float
    mobility_cm2_Vs: float
    mobility_err_cm2_Vs: float
    alpha: float
    alpha_err: float
    ends_within_data: bool = True
    #: systematic errors from the turn's shape (see :mod:`tamkit.carrier_transport.bandpeak`):
    #: 0 where the data exclude a sharp corner, None where the smooth fit was not made
    tau_sys_fs: float | None = None
    length_sys_nm: float | None = None
    D_max_sys_cm2_s: float | None = None
    mobility_sys_cm2_Vs: float | None = None

    @classmethod
    def from_dict(cls, block: dict[str, Any] | None) -> BandLike | None:
        return _from_block(cls, block)


@dataclass
class Anisotropy:
    """Spot ellipticity, transport anisotropy and the spot centre's drift.

    ``available`` is False (with a ``reason``) when there are no usable elliptical fits; the
    numbers are then None. Late MSDs are per principal axis (nm^2), relative to each axis' own
    early variance. For an elliptical spot (or anisotropic transport) the band-like metrics are
    also given per principal axis (``band_like_x``, ``band_like_y``: each axis' sigma^2(t) fitted
    on its own); the isotropic equivalent reported as the result's ``band_like`` follows one
    convention, the mean of the two per-axis MSDs (``isotropic_convention``). The drift of the
    fitted centre is a weighted straight line in the frame index (nm per frame, in acquisition
    order), its error scaled by sqrt(chi^2_red) of the line (the centres' actual scatter).
    """

    available: bool
    reason: str | None = None
    spot_ratio_x_over_y: float | None = None
    spot_ratio_err: float | None = None
    theta_deg: float | None = None
    late_msd_x_nm2: float | None = None
    late_msd_x_err_nm2: float | None = None
    late_msd_y_nm2: float | None = None
    late_msd_y_err_nm2: float | None = None
    transport_isotropic: bool | None = None
    spot_isotropic: bool | None = None
    band_like_x: BandLike | None = None
    band_like_y: BandLike | None = None
    isotropic_convention: str | None = None
    drift_x_nm_per_frame: float | None = None
    drift_x_err_nm_per_frame: float | None = None
    drift_y_nm_per_frame: float | None = None
    drift_y_err_nm_per_frame: float | None = None

    @classmethod
    def from_dict(cls, block: dict[str, Any]) -> Anisotropy:
        out = _from_block(cls, block)
        for axis in ("band_like_x", "band_like_y"):
            value = getattr(out, axis)
            if isinstance(value, dict):
                setattr(out, axis, BandLike.from_dict(value))
        return out


@dataclass
class TransportParameters:
    """The options and methods behind a transport result (stated in every ``results.json``)."""

    pitch_nm: float | None
    temperature_K: float
    max_regimes: int
    n_bootstrap: int
    seed: int
    sigma0_method: str
    n_frames_used: int
    chi2_red: float
    regime_selection: str = "BIC over 1..max_regimes piecewise power laws"
    #: which per-frame width entered: ``isotropic`` or the ``elliptical`` fit's equivalent
    width_model: str | None = None
    #: how the model-free moments were taken (background, truncation, noise, MSD, PSF)
    moments: dict[str, Any] | None = None
    #: the width error all frames share, drawn by the bootstraps (or None: frames independent)
    common_error: str | None = None

    @classmethod
    def from_dict(cls, block: dict[str, Any]) -> TransportParameters:
        return _from_block(cls, block)


@dataclass
class RegimeModel:
    """The selected piecewise power-law model, in brief (its full form stays in memory)."""

    n_regimes: int
    alphas: list[float] = field(default_factory=list)
    breaks_fs: list[float] = field(default_factory=list)
    chi2_red: float = float("nan")
    bic: float = float("nan")

    @classmethod
    def from_dict(cls, block: dict[str, Any]) -> RegimeModel:
        return _from_block(cls, block)
