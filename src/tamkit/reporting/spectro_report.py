"""Writing a TA analysis: spectro.json, das.csv, figures/*.png and the spectro.html section."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.outputs import atomic_output_dir, format_value, write_json
from tamkit.core.tables import write_csv
from tamkit.reporting import spectro_plots as plots
from tamkit.reporting.style import close
from tamkit.spectro.analysis import SpectroAnalysis, spectro_dict


def write_figures(analysis: SpectroAnalysis, folder: Path) -> list[str]:
    """Save the figures as PNG into ``folder``; return their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {
        "ta_map.png": plots.plot_map(analysis.tamap, analysis.fit),
        "kinetics.png": plots.plot_kinetics(analysis.tamap, analysis.fit),
        "das.png": plots.plot_das(analysis.fit),
        "svd.png": plots.plot_svd(analysis.svd),
    }
    if analysis.bleach is not None and analysis.track is not None:
        figures["peak_shift.png"] = plots.plot_peak_shift(analysis.track, analysis.bleach)
    if analysis.injection is not None:
        figures["injection.png"] = plots.plot_injection(analysis.injection)
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=110)
        close(fig)
    return list(figures)


def _fmt(value: Any, err: Any = None, unit: str = "", digits: int = 4) -> str:
    return format_value(value, err, unit, digits)


def lifetime_text(entry: dict[str, Any]) -> str:
    """One lifetime as text: value +- statistical (+- systematic, its source), or the status and
    bound of an undetermined component (never a plain number)."""
    st = entry["status"]
    if st == "below_irf":
        return f"< {entry['upper_bound']:.2g} ps (faster than the IRF: not determined)"
    if st == "beyond_window":
        return (f"> {entry['lower_bound']:.3g} ps (longer than the delay window: an offset, "
                "not determined)")
    if st == "degenerate":
        lo, hi = entry["range"]
        return f"{lo:.3g}-{hi:.3g} ps (degenerate pair: only the range is determined)"
    if st == "undetermined":
        lo, hi = entry["range"]
        return f"{lo:.3g}-{hi:.3g} ps (relative error above 50 %: not determined)"
    text = _fmt(entry["value"], entry["err"], "ps") + " (stat)"
    syst = entry.get("systematic")
    if syst:
        text += (f" ± {syst['systematic_ps']:.2g} ps (syst, {100 * syst['relative']:.0f} %: "
                 f"{syst['source']})")
    return text


def summary_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Headline numbers of ``spectro.json`` as (label, text) pairs (HTML and terminal)."""
    rows = []
    for k, entry in enumerate(data["lifetimes_ps"]):
        rows.append((f"lifetime {k + 1}", lifetime_text(entry)))
    rows.append(("IRF FWHM", _fmt(data["irf_fwhm_fs"], data["irf_fwhm_err_fs"], "fs")))
    rows.append(("chirp span", _fmt(data["chirp"]["span_fs"], None, "fs")))
    comp = data["components"]
    rows.append(("components (fit statistics / SVD)",
                 f"{comp['n_supported_by_fit'] or 'n/a'} / {comp['n_svd_smooth']}"))
    b = data["bleach"]
    if b.get("delta_E_meV") is not None:
        rows += [
            ("bleach Delta E", _fmt(b["delta_E_meV"], b["delta_E_err_meV"], "meV")),
            ("bleach shift tau", _fmt(b["tau_ps"], b["tau_err_ps"], "ps")),
            ("sigma_inh", _fmt(b["sigma_inh_meV"], b["sigma_inh_err_meV"], "meV")),
            ("sigma_inh convention", b["convention"]),
        ]
    inj = data.get("injection")
    if inj:
        rows.append(("injection: donor decay",
                     _fmt(inj["donor_tau_ps"], inj["donor_tau_err_ps"], "ps")))
        rows.append(("injection: acceptor rise",
                     _fmt(inj["acceptor_tau_ps"], inj["acceptor_tau_err_ps"], "ps")))
        rows.append(("injection: agree", f"{inj['agree']} (z = {_fmt(inj['z'], None, '', 3)}, "
                     f"relative difference {_fmt(inj['relative_difference'], None, '', 2)})"))
    return rows


def write_html(data: dict[str, Any], path: Path, figures: list[str]) -> None:
    """The spectro.html report section (self-contained page; figures linked from figures/)."""
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                    for k, v in summary_rows(data))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in data["notes"]) or "<li>none</li>"
    imgs = "".join(f'<figure><img src="figures/{f}" alt="{f}"><figcaption>{f}</figcaption>'
                   "</figure>" for f in figures)
    source = html.escape(str(data["input"].get("path", "")))
    alts = data.get("systematic_alternatives") or []
    alt_rows = "".join(
        f"<tr><th>{html.escape(a['label'])}</th><td>"
        + html.escape(", ".join("n.d." if v is None else f"{v:.4g}" for v in a["lifetimes_ps"]))
        + f"</td><td>{a['rss']:.4g}</td></tr>" for a in alts)
    alt_table = ("<h3>Systematic alternatives (lifetimes in ps, RSS)</h3><table>"
                 f"{alt_rows}</table>") if alts else ""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tamkit spectro</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}
figure{{display:inline-block;margin:6px}}img{{max-width:520px}}</style></head><body>
<section id="spectro"><h2>Transient absorption: {source}</h2>
<p>Global analysis by variable projection: exponentials convolved with a Gaussian IRF, time zero
a polynomial in probe frequency (chirp), decay-associated spectra by linear least squares.</p>
<table>{table}</table>{alt_table}<h3>Notes</h3><ul>{notes}</ul><h3>Figures</h3>{imgs}</section>
</body></html>"""
    path.write_text(page, encoding="utf-8")


def write_das_csv(analysis: SpectroAnalysis, path: Path) -> None:
    """DAS as CSV: wavelength_nm then one column per component (lifetime in ps in the header)."""
    das = analysis.fit.das
    names = []
    for c, tau in zip(das["component"].values, das["lifetime_fs"].values, strict=True):
        names.append(f"{c}_{tau / 1e3:.4g}ps" if np.isfinite(tau) else str(c))
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
) -> dict[str, Any]:
    """Write spectro.json, das.csv, figures/*.png and spectro.html atomically; return the dict."""
    data = spectro_dict(analysis, input_info)
    with atomic_output_dir(out_dir, force=force) as tmp:
        write_json(tmp / "spectro.json", data)
        write_das_csv(analysis, tmp / "das.csv")
        figures = write_figures(analysis, tmp / "figures")
        write_html(data, tmp / "spectro.html", figures)
    return data
