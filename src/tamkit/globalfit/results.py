"""The typed ``global_fit`` block of ``results.json``: the top level's keys, from the global fit.

``sigma0_nm``, ``sigma0_err_nm``, ``regimes`` and ``band_like`` mean what they mean at the top
level of ``results.json`` (:mod:`tamkit.carrier_transport.results`); the other keys say which
model and centre treatment the global fit used and how it compared the models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tamkit.carrier_transport.results import BandLike, Regime


@dataclass
class ModelScore:
    """One candidate MSD model of the global fit and its information criterion."""

    name: str
    n_params: int
    chi2: float
    bic: float


@dataclass
class GlobalFitBlock:
    """What ``results.json`` holds of a global spatiotemporal fit."""

    sigma0_nm: float
    sigma0_err_nm: float
    regimes: list[Regime]
    band_like: BandLike | None
    model: str = ""
    centre_mode: str = ""
    chi2_red: float = float("nan")
    n_frames: int = 0
    n_pixels: int = 0
    run_time_s: float = float("nan")
    models: list[ModelScore] = field(default_factory=list)
    selection: str = ("BIC = chi^2 + p ln F (p the MSD model's parameters, F the frames fitted) "
                      "detects the regimes; when a band-like regime is detected, the band-like "
                      "candidate of least AIC = chi^2 + 2p gives its metrics (a smooth SBPL turn "
                      "only if it beats every sharp-break law by more than 4)")
    #: "law" (smooth population N(t), peak = N sigma_ref^2 / sigma_t^2) or "per-frame"
    amplitude: str = "per-frame"
    amplitude_test: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["band_like"] = asdict(self.band_like) if self.band_like else None
        return doc

    @classmethod
    def from_dict(cls, block: dict[str, Any] | None) -> GlobalFitBlock | None:
        if block is None:
            return None
        values = dict(block)
        values["regimes"] = [Regime.from_dict(r) for r in block.get("regimes", [])]
        values["band_like"] = BandLike.from_dict(block.get("band_like"))
        values["models"] = [ModelScore(**m) for m in block.get("models", [])]
        for key in ("sigma0_nm", "sigma0_err_nm", "chi2_red", "run_time_s"):
            if values.get(key) is None:
                values[key] = float("nan")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})
