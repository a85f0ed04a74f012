"""Reading tamkit's JSON results back: ``results.json`` and ``spectro.json`` as typed objects.

:func:`results_record` turns a finished transport analysis into an :class:`AnalysisResults`, the
one object that ``results.json`` is written from (:meth:`AnalysisResults.to_dict`) and read back
into (:func:`read_results`), so that writing what was read gives identical JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tamkit.carrier_transport.results import (
    Anisotropy,
    BandLike,
    Regime,
    RegimeModel,
    TransportParameters,
)
from tamkit.core.errors import InputError
from tamkit.core.outputs import to_jsonable
from tamkit.globalfit.results import GlobalFitBlock
from tamkit.moments.gaussianity import Gaussianity

RESULTS_SCHEMA = "tamkit.results/1"
SPECTRO_SCHEMA = "tamkit.spectro/1"
#: string-valued columns of the per-frame table; every other column is a float
TEXT_COLUMNS = ("status", "reason")


def _in_order(doc: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """``doc`` with its keys in ``order`` (the order read), new keys after them."""
    if not order:
        return doc
    head = {k: doc[k] for k in order if k in doc}
    return {**head, **{k: v for k, v in doc.items() if k not in head}}


def frames_from_rows(rows: list[dict[str, Any]]) -> xr.Dataset:
    """The per-frame table (JSON rows keyed by column) as a Dataset over ``delay`` (fs)."""
    if not rows:
        return xr.Dataset(coords={"delay": ("delay", np.empty(0))})
    columns = [k for k in rows[0] if k != "delay_fs"]
    delay = np.array([np.nan if r.get("delay_fs") is None else r["delay_fs"] for r in rows], float)
    data = {}
    for name in columns:
        values = [r.get(name) for r in rows]
        if name in TEXT_COLUMNS:
            data[name] = ("delay", np.array(["" if v is None else str(v) for v in values]))
        else:
            data[name] = ("delay", np.array([np.nan if v is None else v for v in values], float))
    return xr.Dataset(data, coords={"delay": ("delay", delay, {"units": "fs"})})


def rows_from_frames(frames: xr.Dataset, columns: list[str] | tuple[str, ...] | None = None,
                     ) -> list[dict[str, Any]]:
    """JSON rows of a per-frame Dataset: ``delay_fs`` then ``columns`` (all data variables).

    Missing columns are NaN; text columns are strings, all others floats.
    """
    names = [c for c in (columns or ["delay_fs", *frames.data_vars]) if c != "delay_fs"]
    n = frames.sizes["delay"]
    cols = {"delay_fs": np.asarray(frames["delay"].values, float)}
    for name in names:
        cols[name] = (np.asarray(frames[name].values) if name in frames
                      else np.full(n, np.nan))
    rows = []
    for i in range(n):
        rows.append({name: (str(v[i]) if name in TEXT_COLUMNS else float(v[i]))
                     for name, v in cols.items()})
    return rows


@dataclass
class AnalysisResults:
    """The content of ``results.json`` (schema ``tamkit.results/1``) as typed objects.

    ``frames`` is the per-frame table over ``delay`` (fs); ``extra`` keeps any top-level block
    this version does not know, so that a file written by a newer tamkit round-trips.
    """

    tamkit_version: str
    input: dict[str, Any]
    parameters: TransportParameters
    fit_parameters: dict[str, Any]
    sigma0_nm: float
    sigma0_err_nm: float
    frames: xr.Dataset
    regimes: list[Regime]
    band_like: BandLike | None
    anisotropy: Anisotropy
    model: RegimeModel
    warnings: list[str] = field(default_factory=list)
    #: the Gaussian-spot check (``{gaussian, first_non_gaussian_fs, note, ...}``), when it ran
    gaussianity: Gaussianity | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema: str = RESULTS_SCHEMA
    #: the global spatiotemporal fit's sigma_0, regimes and band-like metrics (top-level keys)
    global_fit: GlobalFitBlock | None = None
    #: sigma_0's systematic error from the regime count (nm), beside its error; None if absent
    sigma0_sys_nm: float | None = None
    #: top-level key order of the document read (kept so that rewriting it is byte-identical)
    key_order: list[str] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (plain types; NaN as null)."""
        return _in_order(to_jsonable({
            "schema": self.schema,
            "tamkit_version": self.tamkit_version,
            "input": self.input,
            "parameters": {**asdict(self.parameters), "fit": self.fit_parameters},
            "sigma0_nm": self.sigma0_nm,
            "sigma0_err_nm": self.sigma0_err_nm,
            **({} if self.sigma0_sys_nm is None else {"sigma0_sys_nm": self.sigma0_sys_nm}),
            "frames": rows_from_frames(self.frames),
            "regimes": [asdict(r) for r in self.regimes],
            "band_like": asdict(self.band_like) if self.band_like else None,
            "anisotropy": asdict(self.anisotropy),
            "model": asdict(self.model),
            "gaussianity": None if self.gaussianity is None else self.gaussianity.to_dict(),
            "warnings": list(self.warnings),
            **self._global_fit_entry(),
            **self.extra,
        }), self.key_order)

    def _global_fit_entry(self) -> dict[str, Any]:
        # written when present, or as the null that was read (a file without it stays without)
        if self.global_fit is not None:
            return {"global_fit": self.global_fit.to_dict()}
        return {"global_fit": None} if "global_fit" in self.key_order else {}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> AnalysisResults:
        """Read a ``results.json`` document."""
        known = {"schema", "tamkit_version", "input", "parameters", "sigma0_nm", "sigma0_err_nm",
                 "sigma0_sys_nm", "frames", "regimes", "band_like", "anisotropy", "model",
                 "gaussianity", "warnings", "global_fit"}
        parameters = dict(doc["parameters"])
        fit_parameters = parameters.pop("fit", {})

        def number(v):
            return float("nan") if v is None else float(v)

        return cls(
            schema=doc["schema"],
            tamkit_version=doc["tamkit_version"],
            input=doc.get("input", {}),
            parameters=TransportParameters.from_dict(parameters),
            fit_parameters=fit_parameters,
            sigma0_nm=number(doc["sigma0_nm"]),
            sigma0_err_nm=number(doc["sigma0_err_nm"]),
            sigma0_sys_nm=None if doc.get("sigma0_sys_nm") is None else float(
                doc["sigma0_sys_nm"]),
            frames=frames_from_rows(doc["frames"]),
            regimes=[Regime.from_dict(r) for r in doc["regimes"]],
            band_like=BandLike.from_dict(doc["band_like"]),
            anisotropy=Anisotropy.from_dict(doc["anisotropy"]),
            model=RegimeModel.from_dict(doc["model"]),
            warnings=list(doc.get("warnings", [])),
            gaussianity=Gaussianity.from_dict(doc.get("gaussianity")),
            extra={k: v for k, v in doc.items() if k not in known},
            key_order=list(doc),
            global_fit=GlobalFitBlock.from_dict(doc.get("global_fit")),
        )


def results_record(result, input_info: dict | None = None,
                   frame_columns: tuple[str, ...] | None = None) -> AnalysisResults:
    """The :class:`AnalysisResults` of a transport result (``tamkit.transport``'s return).

    ``frame_columns`` chooses and orders the per-frame columns (default: all).
    """
    from tamkit import __version__

    frames = result.frames
    if frame_columns is not None:
        rows = rows_from_frames(frames, frame_columns)
        frames = frames_from_rows(rows)
    fits_attrs = {k: v for k, v in result.frames.attrs.items() if np.isscalar(v)}
    model = result.model
    return AnalysisResults(
        tamkit_version=__version__,
        input=dict(input_info or {}),
        parameters=result.parameters,
        fit_parameters=fits_attrs,
        sigma0_nm=result.sigma0_nm,
        sigma0_err_nm=result.sigma0_err_nm,
        sigma0_sys_nm=float(getattr(result, "sigma0_sys_nm", 0.0)),
        frames=frames,
        regimes=list(result.regimes),
        band_like=result.band_like,
        anisotropy=result.anisotropy,
        model=RegimeModel(n_regimes=int(model.n_regimes),
                          alphas=[float(a) for a in model.alphas],
                          breaks_fs=[float(b) for b in model.breaks_fs],
                          chi2_red=float(model.chi2_red), bic=float(model.bic)),
        warnings=list(result.warnings),
        gaussianity=result.gaussianity,
        global_fit=getattr(result, "global_fit", None),
    )


@dataclass
class SpectroResults:
    """The content of ``spectro.json`` (schema ``tamkit.spectro/1``).

    The headline numbers are typed fields; each section (chirp, fit, components, svd, bleach,
    injection) stays the mapping written, and unknown blocks are kept in ``extra``.
    """

    tamkit_version: str
    input: dict[str, Any]
    parameters: dict[str, Any]
    lifetimes_ps: list[float | None]
    irf_fwhm_fs: float | None
    irf_fwhm_err_fs: float | None
    sections: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    schema: str = SPECTRO_SCHEMA
    key_order: list[str] = field(default_factory=list, repr=False, compare=False)

    _SECTIONS = ("chirp", "fit", "components", "svd", "bleach", "injection")

    def to_dict(self) -> dict[str, Any]:
        head = {"schema": self.schema, "tamkit_version": self.tamkit_version,
                "input": self.input, "parameters": self.parameters,
                "lifetimes_ps": self.lifetimes_ps, "irf_fwhm_fs": self.irf_fwhm_fs,
                "irf_fwhm_err_fs": self.irf_fwhm_err_fs}
        doc = to_jsonable({**head, **self.sections, "notes": self.notes, **self.extra})
        return _in_order(doc, self.key_order)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> SpectroResults:
        head = {"schema", "tamkit_version", "input", "parameters", "lifetimes_ps", "irf_fwhm_fs",
                "irf_fwhm_err_fs", "notes"}
        sections = {k: doc[k] for k in cls._SECTIONS if k in doc}
        return cls(
            schema=doc["schema"], tamkit_version=doc["tamkit_version"],
            input=doc.get("input", {}), parameters=doc.get("parameters", {}),
            lifetimes_ps=list(doc.get("lifetimes_ps", [])),
            irf_fwhm_fs=doc.get("irf_fwhm_fs"), irf_fwhm_err_fs=doc.get("irf_fwhm_err_fs"),
            sections=sections, notes=list(doc.get("notes", [])),
            extra={k: v for k, v in doc.items() if k not in head and k not in sections},
            key_order=list(doc),
        )


_READERS = {RESULTS_SCHEMA: AnalysisResults, SPECTRO_SCHEMA: SpectroResults}


def write_results(results: AnalysisResults | SpectroResults, path: str | os.PathLike) -> None:
    """Write a result read by :func:`read_results` (or made by :func:`results_record`)."""
    from tamkit.core.outputs import write_json

    write_json(path, results.to_dict())


def read_results(path: str | os.PathLike) -> AnalysisResults | SpectroResults:
    """Read a ``results.json`` or ``spectro.json`` (or the folder holding one) back.

    Parameters
    ----------
    path : path
        The JSON file, or an output folder of ``tamkit analyze`` / ``tamkit spectro``.

    Returns
    -------
    AnalysisResults or SpectroResults
        By the file's ``schema``.

    Raises
    ------
    InputError
        When the file is missing, is not JSON, or has a schema tamkit does not read.
    """
    path = Path(path)
    if path.is_dir():
        for name in ("results.json", "spectro.json"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise InputError(f"{path}: no results.json or spectro.json in this folder")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a tamkit JSON result ({exc})") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema not in _READERS:
        raise InputError(f"{path}: schema {schema!r} is not one tamkit reads "
                         f"({', '.join(_READERS)})")
    try:
        return _READERS[schema].from_dict(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed {schema} document ({exc})") from None
