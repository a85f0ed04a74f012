"""Writing a transport analysis out: results.json, frames.csv, figures and report.html.

``results.json`` follows schema ``tamkit.results/1`` (DESIGN.md): keys may be added, never renamed.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import xarray as xr

from tamkit import __version__
from tamkit.carrier_transport.analysis import TransportResult
from tamkit.core.outputs import atomic_output_dir, format_value, write_json
from tamkit.core.tables import write_csv
from tamkit.io.results import RESULTS_SCHEMA as SCHEMA
from tamkit.io.results import results_record, rows_from_frames
from tamkit.reporting.plots import plot_diffusivity, plot_length, plot_montage, plot_msd
from tamkit.reporting.style import close

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


def write_figures(result: TransportResult, folder: Path, stack: xr.DataArray | None) -> list[str]:
    """Save the standard figures as PNG into ``folder``; return their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"msd.png": plot_msd(result), "diffusivity.png": plot_diffusivity(result),
               "length.png": plot_length(result)}
    if stack is not None:
        figures["montage.png"] = plot_montage(stack, result.frames)
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=120)
        close(fig)
    return list(figures)


def _html_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _fmt(value: Any, err: Any = None, unit: str = "", digits: int = 3) -> str:
    return format_value(value, err, unit, digits)


def summary_rows(result: TransportResult) -> list[tuple[str, str]]:
    """Headline numbers as (label, text) pairs, shared by the HTML report and the terminal."""
    rows = [("sigma_0", _fmt(result.sigma0_nm, result.sigma0_err_nm, "nm", 4))]
    for r in result.regimes:
        rows.append((f"regime: {r.name}", f"{r.start_fs:.3g}-{r.end_fs:.3g} fs, "
                     f"alpha = {_fmt(r.alpha, r.alpha_err)}"))
    b = result.band_like
    if b is None:
        rows.append(("band-like regime", "none (early regime not at least diffusive)"))
    else:
        rows += [
            ("band-like persistence tau", _fmt(b.tau_fs, b.tau_err_fs, "fs")),
            ("band-like length", _fmt(b.length_nm, b.length_err_nm, "nm")),
            ("number of dots", _fmt(b.n_dots) if b.n_dots is not None else "n/a (no --pitch)"),
            ("D_max", _fmt(b.D_max_cm2_s, b.D_max_err_cm2_s, "cm^2/s")),
            ("mobility (Einstein)", _fmt(b.mobility_cm2_Vs, b.mobility_err_cm2_Vs, "cm^2/(V s)")),
        ]
    return rows


def write_html(result: TransportResult, path: Path, figures: list[str], input_info: dict) -> None:
    """A self-contained summary page that links the figures in ``figures/``."""
    warn = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings) or "<li>none</li>"
    info = _html_table([(k, str(v)) for k, v in input_info.items()])
    imgs = "".join(f'<figure><img src="figures/{f}" alt="{f}"><figcaption>{f}</figcaption>'
                   "</figure>" for f in figures)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tamkit report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}
figure{{display:inline-block;margin:6px}}img{{max-width:520px}}</style></head><body>
<h1>tamkit transport analysis</h1><p>tamkit {__version__}; schema {SCHEMA}</p>
<h2>Input</h2>{info}<h2>Results</h2>{_html_table(summary_rows(result))}
<h2>Warnings</h2><ul>{warn}</ul><h2>Figures</h2>{imgs}
<p>Per-axis convention: MSD = sigma_t^2 - sigma_0^2; D = MSD/2t; 1 nm^2/fs = 10 cm^2/s.
sigma_0: {html.escape(result.parameters.sigma0_method)}.</p></body></html>"""
    path.write_text(page, encoding="utf-8")


def report(
    result: TransportResult,
    out_dir: str | os.PathLike,
    *,
    stack: xr.DataArray | None = None,
    input_info: dict | None = None,
    force: bool = False,
) -> Path:
    """Write results.json, frames.csv, figures/*.png and report.html into ``out_dir``.

    The folder appears only when everything is written (atomic rename); an existing non-empty
    folder is replaced only with ``force=True``.
    """
    input_info = dict(input_info or {})
    with atomic_output_dir(out_dir, force=force) as tmp:
        write_json(tmp / "results.json", results_dict(result, input_info))
        write_frames_csv(result, tmp / "frames.csv")
        figures = write_figures(result, tmp / "figures", stack)
        write_html(result, tmp / "report.html", figures, input_info)
    return Path(out_dir)
