"""Writing a transport analysis out: results.json, frames.csv, figures and report.html.

``results.json`` follows schema ``tamkit.results/1`` (DESIGN.md): keys may be added, never renamed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tamkit import __version__
from tamkit.carrier_transport.analysis import TransportResult
from tamkit.core.outputs import atomic_output_dir, format_value, write_json
from tamkit.core.tables import write_csv
from tamkit.io.results import RESULTS_SCHEMA as SCHEMA
from tamkit.io.results import results_record, rows_from_frames
from tamkit.reporting import html as H
from tamkit.reporting.plots import (
    plot_diffusivity,
    plot_length,
    plot_moments,
    plot_montage,
    plot_msd,
)
from tamkit.reporting.style import (
    format_delay,
    format_pm,
    save_figure,
    shape_sys_text,
    with_shape_sys,
)
from tamkit.reporting.viewer import viewer_data, viewer_html

FRAME_COLUMNS = (
    "delay_fs", "sigma_nm", "sigma_err_nm", "sigma_crb_nm", "msd_nm2", "msd_err_nm2",
    "length_nm", "length_err_nm", "D_cm2_s", "D_err_cm2_s", "alpha_local", "amplitude",
    "amplitude_err", "x0_nm", "y0_nm", "snr", "chi2_red", "status", "reason",
    "msd_moment_nm2", "msd_moment_err_nm2", "excess_kurtosis", "excess_kurtosis_err",
)


def frame_rows(result: TransportResult) -> list[dict[str, Any]]:
    """One dict per delay with the DESIGN.md frame keys and a few more."""
    return rows_from_frames(result.frames, FRAME_COLUMNS)


def results_dict(result: TransportResult, input_info: dict | None = None) -> dict[str, Any]:
    """The ``results.json`` content of an analysis (read back by :func:`tamkit.read_results`)."""
    return results_record(result, input_info, FRAME_COLUMNS).to_dict()


def write_frames_csv(result: TransportResult, path: str | os.PathLike) -> None:
    """Write the per-frame table as CSV (one row per delay)."""
    write_csv(path, FRAME_COLUMNS, frame_rows(result))


FIGURE_CAPTIONS = {
    "msd": "Mean-square displacement MSD(t) = σ<sub>t</sub>² − σ₀² of the fitted frames (grey; "
           "error bars 1 s.e.) with the piecewise power law MSD ∝ t<sup>α</sup> chosen by BIC, "
           "one colour per regime (shaded spans). Points with MSD ≤ 0 are marked on the bottom "
           "edge.",
    "diffusivity": "Effective diffusivity D(t) = MSD / 2t (per axis; 1 nm²/fs = 10 cm²/s) on "
                   "log axes, with the regime fit; values ≤ 0 (σ<sub>t</sub> below σ₀ within "
                   "noise) are marked on the bottom edge. The dotted line marks the end of the "
                   "band-like regime (τ).",
    "length": "Transport length L(t) = √MSD, as in the paper's Fig. 3c, with the regime fit; the "
              "dotted line is the band-like transport length.",
    "moments": "Left: the model-free MSD from the spot's second moment (vermillion) beside the "
               "Gaussian-fit MSD (blue). Right: the spot's excess kurtosis against delay (±1 "
               "s.e.); a Gaussian spot has 0 (dashed) and both MSDs equal.",
    "montage": "Frames across the delays, each normalised to its own peak (sign-corrected "
               "ΔT/T), with the fitted Gaussian's 1σ contour (dashed) and a scale bar.",
    "global_msd": "Global spatiotemporal fit: MSD(t) of the one fit of all pixels and delays.",
}


def write_figures(result: TransportResult, folder: Path, stack: xr.DataArray | None, *,
                  vector: bool = False) -> list[str]:
    """Save the standard figures as PNG (and SVG with ``vector``) into ``folder``; return their
    file names."""
    figures = {"msd": lambda: plot_msd(result), "diffusivity": lambda: plot_diffusivity(result),
               "length": lambda: plot_length(result)}
    if "excess_kurtosis" in result.frames and np.isfinite(
            result.frames["excess_kurtosis"].values).any():
        figures["moments"] = lambda: plot_moments(result, getattr(result, "gaussianity", None))
    if stack is not None:
        figures["montage"] = lambda: plot_montage(stack, result.frames)
    written: list[str] = []
    for name, make in figures.items():
        written += save_figure(make(), folder, name, dpi=120, vector=vector)
    return written


def sigma0_sys_text(sys_nm: float | None) -> str:
    """`` (± 0.4 nm syst: regime count)`` for a nonzero regime-count systematic of sigma_0."""
    if sys_nm is None or not np.isfinite(sys_nm) or sys_nm <= 0:
        return ""
    return f" (± {sys_nm:.2g} nm syst: regime count)"


def summary_rows(result: TransportResult) -> list[tuple[str, str]]:
    """Headline numbers as (label, text) pairs, shared by the HTML report and the terminal."""
    rows = [("sigma_0", format_pm(result.sigma0_nm, result.sigma0_err_nm, "nm")
             + sigma0_sys_text(getattr(result, "sigma0_sys_nm", None)))]
    for r in result.regimes:
        rows.append((f"regime: {r.name}", f"{format_delay(r.start_fs)} to "
                     f"{format_delay(r.end_fs)}, alpha = {format_pm(r.alpha, r.alpha_err)}"))
    b = result.band_like
    if b is None:
        rows.append(("band-like regime", "none (early regime not at least diffusive)"))
    else:
        rows += [
            ("band-like persistence tau",
             with_shape_sys(format_pm(b.tau_fs, b.tau_err_fs, "fs"), b.tau_sys_fs, "fs")),
            ("band-like length", with_shape_sys(format_pm(b.length_nm, b.length_err_nm, "nm"),
                                                b.length_sys_nm, "nm")),
            ("number of dots", format_value(b.n_dots) if b.n_dots is not None
             else "n/a (no --pitch)"),
            ("D_max", with_shape_sys(format_pm(b.D_max_cm2_s, b.D_max_err_cm2_s, "cm²/s"),
                                     b.D_max_sys_cm2_s, "cm²/s")),
            ("mobility (Einstein)", format_pm(b.mobility_cm2_Vs, b.mobility_err_cm2_Vs,
                                              "cm²/(V s)")),
        ]
    g = getattr(result, "gaussianity", None)
    if g is not None:
        verdict = {True: "yes: ", False: "no: ", None: "not tested: "}[g.gaussian]
        rows.append(("Gaussian spot", verdict + g.note))
    return rows


def _pm_sys(block: dict[str, Any], key: str, err_key: str, sys_key: str, unit: str) -> H.Html:
    """``value ± err unit``, then the turn-shape systematic where it is nonzero."""
    text = H.pm(block.get(key), block.get(err_key), unit)
    extra = shape_sys_text(block.get(sys_key), unit)
    return H.Html(f"{text} (stat) {H.esc(extra)}") if extra else text


def _headline_html(doc: dict[str, Any], label: str = "") -> str:
    """The headline numbers of a results document (or of its ``global_fit`` block)."""
    sigma0 = H.pm(doc.get("sigma0_nm"), doc.get("sigma0_err_nm"), "nm")
    sys_text = sigma0_sys_text(doc.get("sigma0_sys_nm"))
    rows: list[tuple[str, Any]] = [
        ("σ₀ (spot at t = 0)", H.Html(f"{sigma0}{H.esc(sys_text)}") if sys_text else sigma0)]
    for r in doc.get("regimes") or []:
        rows.append((f"regime: {r['name']}", H.Html(
            f"{format_delay(r['start_fs'])} – {format_delay(r['end_fs'])}, α = "
            f"{H.esc(format_pm(r['alpha'], r.get('alpha_err')))}")))
    b = doc.get("band_like")
    if not b:
        rows.append(("band-like regime", "none (the early regime is not at least diffusive)"))
    else:
        rows += [
            ("D<sub>max</sub>", _pm_sys(b, "D_max_cm2_s", "D_max_err_cm2_s", "D_max_sys_cm2_s",
                                        "cm²/s")),
            ("band-like persistence τ", _pm_sys(b, "tau_fs", "tau_err_fs", "tau_sys_fs", "fs")),
            ("band-like length", _pm_sys(b, "length_nm", "length_err_nm", "length_sys_nm",
                                         "nm")),
            ("number of dots", H.pm(b.get("n_dots")) if b.get("n_dots") is not None
             else "n/a (no pitch given)"),
            ("mobility (Einstein)", H.pm(b.get("mobility_cm2_Vs"), b.get("mobility_err_cm2_Vs"),
                                         "cm²/(V s)")),
        ]
    body = "".join(f"<tr><th>{k}</th><td>{v if isinstance(v, H.Html) else H.value(v)}</td></tr>"
                   for k, v in rows)
    return f'<table class="headline" id="headline{label}">{body}</table>'


FRAME_TABLE = (("delay", None), ("status", None), ("σ (nm)", "sigma"), ("MSD (nm²)", "msd"),
               ("D (cm²/s)", "D"), ("moment MSD (nm²)", "msd_moment"),
               ("excess kurtosis", "excess_kurtosis"), ("SNR", "snr"), ("reason", None))
_ERR = {"sigma": ("sigma_nm", "sigma_err_nm"), "msd": ("msd_nm2", "msd_err_nm2"),
        "D": ("D_cm2_s", "D_err_cm2_s"), "msd_moment": ("msd_moment_nm2", "msd_moment_err_nm2"),
        "excess_kurtosis": ("excess_kurtosis", "excess_kurtosis_err"), "snr": ("snr", None)}


def _frame_table(frames: list[dict[str, Any]]) -> str:
    rows = []
    for f in frames:
        cells: list[Any] = [H.Html(H.esc(format_delay(f["delay_fs"]))), f.get("status")]
        for _, key in FRAME_TABLE[2:-1]:
            v, e = _ERR[key]
            cells.append(H.pm(f.get(v), f.get(e) if e else None, digits=4))
        cells.append(f.get("reason") or "")
        rows.append(cells)
    return H.table([h for h, _ in FRAME_TABLE], rows, cls="frames")


def write_html(result: TransportResult, path: Path, figures: list[str], input_info: dict,
               doc: dict[str, Any] | None = None, stack: xr.DataArray | None = None) -> None:
    """``report.html``: warnings, headline numbers, the frame viewer, captioned figures, the
    per-frame table, the data files and the provenance; relative links only."""
    doc = doc if doc is not None else results_dict(result, input_info)
    name = Path(str(input_info.get("path", "stack"))).name
    parts = [H.warnings_block(doc.get("warnings") or [])]
    parts.append("<h2>Results</h2>" + _headline_html(doc))
    g = doc.get("gaussianity")
    if g:
        verdict = {True: '<span class="ok">Gaussian within errors</span>',
                   False: '<span class="bad">non-Gaussian</span>',
                   None: "not tested"}[g.get("gaussian")]
        parts.append(f"<p>Spot shape: {verdict}. {H.esc(H.typeset(g.get('note', '')))}</p>")
    glob = doc.get("global_fit")
    if glob:
        parts.append("<h3>Global spatiotemporal fit</h3>" + _headline_html(glob, "-global"))
    script = ""
    if stack is not None:
        body, script = viewer_html(viewer_data(stack, result.frames))
        parts.append(body)
    parts.append("<h2>Figures</h2>" + H.figures("figures/", figures, FIGURE_CAPTIONS))
    parts.append("<h2>Per-frame results</h2><details><summary>one row per delay ("
                 f"{len(doc['frames'])} frames; also in frames.csv)</summary>"
                 + _frame_table(doc["frames"]) + "</details>")
    parts.append("<h2>Data files</h2>" + H.data_links(
        [("results.json", f"every number on this page (schema {SCHEMA})"),
         ("frames.csv", "the per-frame table, one row per delay"),
         *[(f"figures/{f}", "vector figure") for f in figures if f.endswith(".svg")]]))
    parts.append("<p class=\"muted\">Per-axis convention: MSD = σ<sub>t</sub>² − σ₀²; "
                 "D = MSD / 2t; 1 nm²/fs = 10 cm²/s.</p>")
    parts.append(H.provenance(input_info, blocks={
        "parameters": doc.get("parameters"), "anisotropy": doc.get("anisotropy"),
        "regime model": doc.get("model"), "gaussianity test": g}))
    page = H.page(f"tamkit analyze: {name}", "".join(parts), script=script,
                  subtitle=f"tamkit {H.esc(__version__)} · transport analysis of one TAM stack")
    path.write_text(page, encoding="utf-8")


def report(
    result: TransportResult,
    out_dir: str | os.PathLike,
    *,
    stack: xr.DataArray | None = None,
    input_info: dict | None = None,
    force: bool = False,
    vector: bool = False,
) -> Path:
    """Write results.json, frames.csv, figures/*.png (+ *.svg with ``vector``) and report.html
    into ``out_dir``.

    The folder appears only when everything is written (atomic rename); an existing non-empty
    folder is replaced only with ``force=True``.
    """
    input_info = dict(input_info or {})
    with atomic_output_dir(out_dir, force=force) as tmp:
        doc = results_dict(result, input_info)
        write_json(tmp / "results.json", doc)
        write_frames_csv(result, tmp / "frames.csv")
        figures = write_figures(result, tmp / "figures", stack, vector=vector)
        write_html(result, tmp / "report.html", figures, input_info, doc, stack)
    return Path(out_dir)
