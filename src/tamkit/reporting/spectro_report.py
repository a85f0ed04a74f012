"""Writing a TA analysis: spectro.json, das.csv, figures/*.png and the spectro.html section."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.outputs import atomic_output_dir, format_value, write_json
from tamkit.core.tables import write_csv
from tamkit.reporting import html as H
from tamkit.reporting import spectro_plots as plots
from tamkit.reporting.style import format_delay, format_pm, save_figure
from tamkit.spectro.analysis import SpectroAnalysis, spectro_dict

FIGURE_CAPTIONS = {
    "ta_map": "The measured TA map (delay axis linear within ±1 ps, logarithmic beyond) with the "
              "fitted time zero t₀(λ) (the chirp, dashed).",
    "kinetics": "Kinetics at the extrema of the largest decay-associated spectra: data (dots) "
                "and the global fit (lines), chirp included.",
    "das": "Decay-associated spectra of the determined lifetimes (left); components the data "
           "cannot determine (faster than the IRF, beyond the delay window, degenerate) and the "
           "coherent-artefact terms are drawn apart (right), labelled by status and bound.",
    "svd": "Singular values of the map against the noise edge (the largest singular value of a "
           "noise-only map of the measured noise level).",
    "peak_shift": "Bleach-peak energy against delay (local Gaussian fits) with the exponential "
                  "relaxation E(t) = E₀ + ΔE (1 − e<sup>−t/τ</sup>); σ<sub>inh</sub> from ΔE in "
                  "the stated convention.",
    "injection": "Normalised donor-band decay and acceptor-band rise with their single-"
                 "exponential fits: injection is seen when the two times agree.",
}


def write_figures(analysis: SpectroAnalysis, folder: Path, *, vector: bool = False) -> list[str]:
    """Save the figures as PNG (and SVG with ``vector``) into ``folder``; return their names."""
    quantity = analysis.tamap.attrs.get("quantity", "signal")
    figures = {
        "ta_map": lambda: plots.plot_map(analysis.tamap, analysis.fit),
        "kinetics": lambda: plots.plot_kinetics(analysis.tamap, analysis.fit),
        "das": lambda: plots.plot_das(analysis.fit, quantity),
        "svd": lambda: plots.plot_svd(analysis.svd),
    }
    if analysis.bleach is not None and analysis.track is not None:
        figures["peak_shift"] = lambda: plots.plot_peak_shift(analysis.track, analysis.bleach)
    if analysis.injection is not None:
        figures["injection"] = lambda: plots.plot_injection(analysis.injection)
    written: list[str] = []
    for name, make in figures.items():
        written += save_figure(make(), folder, name, dpi=110, vector=vector)
    return written


def _fmt(value: Any, err: Any = None, unit: str = "", digits: int = 4) -> str:
    return format_value(value, err, unit, digits)


def lifetime_text(entry: dict[str, Any]) -> str:
    """One lifetime as text: value +- statistical (+- systematic, its source), or the status and
    bound of an undetermined component (never a plain number); the words of the DAS legend."""
    if entry["status"] != "ok":
        return plots.lifetime_label(entry)
    text = plots.lifetime_label(entry) + " (stat)"
    syst = entry.get("systematic")
    if syst:
        text += (f" ± {syst['systematic_ps']:.2g} ps (syst, {100 * syst['relative']:.0f} %: "
                 f"{syst['source']})")
    return text


def chi2_text(data: dict[str, Any]) -> str:
    """The fit quality as a reader can judge it: the RSS and, when the noise is known (SVD
    estimate), the noise-normalised reduced chi-square RSS / (σ² (N − p))."""
    fit, svd = data["fit"], data.get("svd") or {}
    rss, chi2, noise = fit.get("rss"), fit.get("chi2_reduced"), svd.get("noise_std")
    text = f"RSS = {rss:.3g}" if rss is not None else "RSS n/a"
    if chi2 is not None:
        text += (f"; reduced χ² = RSS / (σ² (N − p)) = {chi2:.3g}, "
                 f"N = {fit['n_data']} data, p = {fit['n_free']} free parameters")
        text += f" (noise σ = {noise:.2g} from the SVD)"
    return text


def summary_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Headline numbers of ``spectro.json`` as (label, text) pairs (HTML and terminal)."""
    rows = []
    for k, entry in enumerate(data["lifetimes_ps"]):
        rows.append((f"lifetime {k + 1}", lifetime_text(entry)))
    rows.append(("IRF FWHM", format_pm(data["irf_fwhm_fs"], data["irf_fwhm_err_fs"], "fs")))
    rows.append(("chirp span", _fmt(data["chirp"]["span_fs"], None, "fs")))
    rows.append(("fit quality", chi2_text(data)))
    comp = data["components"]
    rows.append(("components (fit statistics / SVD above noise)",
                 f"{comp['n_supported_by_fit'] or 'n/a'} / {comp['n_svd_above_noise']}"))
    b = data["bleach"]
    if b.get("delta_E_meV") is not None:
        def with_sys(text, sys):
            ok = sys is not None and np.isfinite(sys)
            return text + (f" (± {sys:.2g} systematic)" if ok else "")

        rows += [
            ("bleach ΔE", with_sys(format_pm(b["delta_E_meV"], b["delta_E_err_meV"], "meV"),
                                   b.get("delta_E_sys_meV"))),
            ("bleach shift τ", with_sys(format_pm(b["tau_ps"], b["tau_err_ps"], "ps"),
                                        b.get("tau_sys_ps"))),
            ("σ_inh", with_sys(format_pm(b["sigma_inh_meV"], b["sigma_inh_err_meV"], "meV"),
                               b.get("sigma_inh_sys_meV"))),
            ("systematic errors", b.get("systematic_source", "n/a")),
            ("σ_inh convention", b["convention"]),
        ]
    inj = data.get("injection")
    if inj:
        rows.append(("injection: donor decay",
                     format_pm(inj["donor_tau_ps"], inj["donor_tau_err_ps"], "ps")))
        rows.append(("injection: acceptor rise",
                     format_pm(inj["acceptor_tau_ps"], inj["acceptor_tau_err_ps"], "ps")))
        rows.append(("injection: donor and acceptor times",
                     f"{'agree' if inj['agree'] else 'differ'} (z = {_fmt(inj['z'], None, '', 3)}"
                     f", relative difference {_fmt(inj['relative_difference'], None, '', 2)})"))
        ref = inj.get("reference")
        if ref:
            lo, hi = ref["band_nm"]
            rises = ", ".join(format_pm(c["tau_fs"] / 1e3, c["err_fs"] / 1e3, "ps")
                              for c in ref["rise_components"])
            rows.append((f"injection: reference band {lo:g}-{hi:g} nm",
                         f"rises ({rises}): not a clean reference" if ref["rises"]
                         else "no rise, as a reference band should"))
    return rows


def _track_table(analysis: SpectroAnalysis | None) -> str:
    if analysis is None or analysis.track is None:
        return ""
    tr = analysis.track
    rows = [[H.Html(H.esc(format_delay(d))), H.pm(e, err, "meV"), bool(ok)]
            for d, e, err, ok in zip(tr["delay"].values, tr["peak_meV"].values,
                                     tr["peak_err_meV"].values, tr["ok"].values, strict=True)]
    return ("<h2>Per-delay bleach peak</h2><details><summary>one row per delay ("
            f"{len(rows)})</summary>" + H.table(["delay", "bleach peak", "used in the fit"], rows)
            + "</details>")


def write_html(data: dict[str, Any], path: Path, figures: list[str],
               analysis: SpectroAnalysis | None = None) -> None:
    """``spectro.html``: notes at the top, the lifetimes, figures with captions, the per-delay
    bleach peak, the data files and the provenance (relative links only)."""
    name = Path(str(data["input"].get("path", "TA map"))).name
    parts = [H.warnings_block(data["notes"], "Notes")]
    parts.append('<section id="spectro"><h2>Results</h2>'
                 "<p>Global analysis by variable projection: exponentials convolved with a "
                 "Gaussian IRF, time zero a polynomial in probe frequency (chirp), decay-"
                 "associated spectra by linear least squares.</p>"
                 + H.kv_table(summary_rows(data), cls="headline") + "</section>")
    alts = data.get("systematic_alternatives") or []
    if alts:
        rows = [[a["label"], ", ".join("n.d." if v is None else f"{v:.4g}"
                                       for v in a["lifetimes_ps"]), a["rss"]] for a in alts]
        parts.append("<h3>Systematic alternatives</h3>"
                     + H.table(["alternative", "lifetimes (ps)", "RSS"], rows))
    parts.append("<h2>Figures</h2>" + H.figures("figures/", figures, FIGURE_CAPTIONS))
    parts.append(_track_table(analysis))
    parts.append("<h2>Data files</h2>" + H.data_links(
        [("spectro.json", "every number on this page (schema tamkit.spectro/1)"),
         ("das.csv", "decay-associated spectra, one column per component"),
         *[(f"figures/{f}", "vector figure") for f in figures if f.endswith(".svg")]]))
    fit = data["fit"]
    parts.append(H.provenance(data["input"], version=data.get("tamkit_version"), blocks={
        "parameters": data.get("parameters"), "fit": fit, "chirp": {
            k: v for k, v in data["chirp"].items() if k not in ("wavelength_nm", "t0_fs")},
        "components": data.get("components")}))
    page = H.page(f"tamkit spectro: {name}", "".join(parts),
                  subtitle="transient absorption map: global lifetimes, injection, bleach shift")
    path.write_text(page, encoding="utf-8")


def write_das_csv(analysis: SpectroAnalysis, path: Path) -> None:
    """DAS as CSV: wavelength_nm then one column per component (lifetime in ps in the header)."""
    das = analysis.fit.das
    names = []
    for c, tau in zip(das["component"].values, das["lifetime_fs"].values, strict=True):
        names.append(f"{c}_{tau / 1e3:.4g}ps" if np.isfinite(tau) else str(c))
    for k, entry in enumerate(analysis.fit.lifetimes_ps()):
        if entry["status"] != "ok":  # an undetermined lifetime is not a number to quote
            names[k] = f"{das['component'].values[k]}_{entry['status']}"
    columns = ["wavelength_nm", *names]
    rows = [dict(zip(columns, [wl, *values], strict=True))
            for wl, values in zip(das["wavelength"].values, das.values.T, strict=True)]
    write_csv(path, columns, rows)


def spectro_report(
    analysis: SpectroAnalysis,
    out_dir: str | os.PathLike,
    *,
    input_info: dict | None = None,
    force: bool = False,
    vector: bool = False,
) -> dict[str, Any]:
    """Write spectro.json, das.csv, figures/*.png (+ *.svg with ``vector``) and spectro.html
    atomically; return the dict."""
    data = spectro_dict(analysis, input_info)
    with atomic_output_dir(out_dir, force=force) as tmp:
        write_json(tmp / "spectro.json", data)
        write_das_csv(analysis, tmp / "das.csv")
        figures = write_figures(analysis, tmp / "figures", vector=vector)
        write_html(data, tmp / "spectro.html", figures, analysis)
    return data
