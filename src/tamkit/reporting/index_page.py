"""``index.html`` of a folder of analyses (``tamkit series`` and ``tamkit batch``): one row per
stack with its headline numbers and a link to its ``report.html``, the folder's figures and data
files, and the provenance. Relative links only."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tamkit.reporting import html as H
from tamkit.reporting.style import format_delay

SERIES_CAPTIONS = {
    "msd_overlay": "MSD = σ<sub>t</sub>² − σ₀² of every stack of the series on log-log axes, one "
                   "colour per stack (error bars 1 s.e.), with its regime fit (solid); for a "
                   "fluence series also each stack's estimated Auger-depletion artefact "
                   "(dashed) and the delay after which the MSD grows alike at every fluence "
                   "(dash-dotted). Points with MSD ≤ 0 are marked on the bottom edge.",
    "D_overlay": "D(t) = MSD / 2t (cm²/s) of every stack on log-log axes, with its regime fit; "
                 "values ≤ 0 are marked on the bottom edge.",
    "band_like_vs_nabs": "Band-like metrics (D<sub>max</sub>, band-like length; ±1 s.e.) "
                         "against ⟨N<sub>abs</sub>⟩. A stack without a band-like regime has no "
                         "value: a dotted line marks it, it is never plotted as 0.",
    "band_like_vs_composition": "Band-like metrics (D<sub>max</sub>, band-like length, 1/τ; ±1 "
                                "s.e.) against perovskite content. A stack without a band-like "
                                "regime has no value: a dotted line marks it, it is never "
                                "plotted as 0.",
}


def write_index(folder: str | os.PathLike, title: str, rows: Sequence[Mapping[str, Any]], *,
                report_dirs: Sequence[str | None], figures: Sequence[str] = (),
                data_files: Sequence[tuple[str, str]] = (), warnings: Sequence[str] = (),
                blocks: Mapping[str, Any] | None = None,
                path: str | os.PathLike | None = None, value_label: str | None = None) -> Path:
    """Write ``folder/index.html``.

    ``rows``: one mapping per stack (``path``, ``status``, ``sigma0_nm``, ``D_max_cm2_s``,
    ``tau_fs``, ``length_nm``, ... any of them); ``report_dirs``: each stack's analysis folder
    relative to ``folder`` (None: no report, e.g. a failed stack); ``path``: where to write
    (default ``folder/index.html``); ``value_label``: the header of the series variable's column
    (default from ``title``: ⟨N_abs⟩ for a fluence series, vol% for a composition). The errors
    a row lacks, and each stack's warnings, are read from its ``results.json``.
    """
    rows = [_with_results(row, folder, rdir) for row, rdir in zip(rows, report_dirs,
                                                                  strict=True)]
    warnings = list(dict.fromkeys([*warnings, *(w for row in rows for w in row["_warnings"])]))
    has_value = any(row.get("value") is not None for row in rows)
    body = []
    for row, rdir in zip(rows, report_dirs, strict=True):
        name = Path(str(row.get("path", "?"))).name
        link = (H.Html(f'<a href="{H.esc(rdir)}/report.html">{H.esc(name)}</a>') if rdir
                else name)
        tau = row.get("tau_fs")
        body.append([link, *([row.get("value")] if has_value else []), row.get("status", "ok"),
                     H.pm(row.get("sigma0_nm"), row.get("sigma0_err_nm"), "nm"),
                     H.pm(row.get("D_max_cm2_s"), row.get("D_max_err_cm2_s"), "cm²/s"),
                     _tau(tau, row.get("tau_err_fs")) if tau is not None else "—",
                     H.pm(row.get("length_nm"), row.get("length_err_nm"), "nm"),
                     row.get("reason") or ""])
    headers = ["stack (report)", *([value_label or _value_label(title)] if has_value else []),
               "status", "σ₀", "Dₘₐₓ", "band-like τ", "band-like length", "reason"]
    parts = [H.warnings_block(list(warnings)), "<h2>Stacks</h2>",
             H.table(headers, body, cls="stacks")]
    if figures:
        parts.append("<h2>Figures</h2>" + H.figures("figures/", figures, SERIES_CAPTIONS))
    parts.append("<h2>Data files</h2>" + H.data_links(list(data_files)))
    inputs = [{"path": r.get("path"), **r["_input"]} for r in rows]
    parts.append(H.provenance(inputs, blocks=blocks or {}))
    out = Path(path) if path is not None else Path(folder) / "index.html"
    out.write_text(H.page(title, "".join(parts)), encoding="utf-8")
    return out


_ERRORS = {"sigma0_err_nm": ("sigma0_err_nm",), "D_max_err_cm2_s": ("band_like", "D_max_err_cm2_s"),
           "tau_err_fs": ("band_like", "tau_err_fs"),
           "length_err_nm": ("band_like", "length_err_nm")}


def _with_results(row: Mapping[str, Any], folder, rdir: str | None) -> dict[str, Any]:
    """``row`` with the errors it lacks and the stack's warnings, from its ``results.json``."""
    out = {**row, "_warnings": [], "_input": {}}
    if not rdir:
        return out
    try:
        doc = json.loads((Path(folder) / rdir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    for key, where in _ERRORS.items():
        if out.get(key) is None:
            v: Any = doc
            for k in where:
                v = (v or {}).get(k) if isinstance(v, Mapping) else None
            out[key] = v
    info = doc.get("input") or {}
    out["_input"] = {k: info[k] for k in ("sha256", "n_frames", "pixel_nm") if k in info}
    options = (info.get("batch") or {}).get("options")
    if options:
        out["_input"]["analysis options"] = options
    name = Path(str(row.get("path", rdir))).name
    out["_warnings"] = [f"{name}: {w}" for w in doc.get("warnings") or []]
    return out


def _value_label(title: str) -> str:
    if "fluence" in title:
        return "⟨N_abs⟩"
    if "composition" in title:
        return "perovskite (vol%)"
    return "series value"


def _tau(tau_fs: float, err_fs: float | None) -> H.Html:
    """τ ± error in the unit that reads best (fs below 1 ps, else ps)."""
    if err_fs is None:
        return H.Html(H.esc(format_delay(tau_fs)))
    if tau_fs >= 1e3:
        return H.pm(tau_fs / 1e3, err_fs / 1e3, "ps")
    return H.pm(tau_fs, err_fs, "fs")
