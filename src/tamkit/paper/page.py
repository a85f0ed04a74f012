"""``reproduce.html``: the paper's table beside tamkit's values, the trends with their verdicts,
every figure captioned as in the paper, the measurements and the provenance.

Built from the ``reproduce.json`` document only (so that it can be rebuilt from the file), with
the shared page parts of :mod:`tamkit.reporting.html`; relative links only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tamkit.paper.figures import CAPTIONS
from tamkit.reporting import html as H


def _paper_text(row: dict[str, Any]) -> H.Html:
    rng = row.get("paper_range")
    if rng is not None:
        return H.Html(f"{H.number(rng[0])}–{H.number(rng[1])}")
    return H.Html(H.number(row.get("paper")))


def _difference(row: dict[str, Any]) -> H.Html:
    rel = row.get("rel_diff")
    if rel is None:
        return H.Html("—")
    cls = ""
    if row.get("source") in ("measured", "simulated"):
        cls = "ok" if abs(rel) <= 0.15 else "bad"
    text = f"{100 * rel:+.1f} %"
    return H.Html(f'<span class="{cls}">{text}</span>' if cls else text)


def table_html(rows: list[dict[str, Any]]) -> str:
    """The paper-vs-tamkit table: paper, tamkit, error, difference, source (and truth, note)."""
    body = []
    for r in rows:
        unit = H.typeset(r.get("unit") or "")
        body.append([r["quantity"], H.Html(H.esc(unit)), _paper_text(r),
                     H.Html(H.number(r.get("tamkit"))), H.Html(H.number(r.get("tamkit_err"), 2)),
                     _difference(r), r.get("source") or "", H.Html(H.number(r.get("truth"))),
                     r.get("note") or ""])
    return H.table(["quantity", "unit", "paper", "tamkit", "± error", "difference", "source",
                    "simulator truth", "note"], body, cls="paper-table")


def trends_html(trends: list[dict[str, Any]]) -> str:
    rows = [[t["name"], H.Html('<span class="ok">holds</span>' if t["holds"]
                               else '<span class="bad">does not hold</span>'), t["detail"]]
            for t in trends]
    return H.table(["trend (paper)", "verdict", "detail"], rows, cls="trends")


def _measurements_html(measurements: dict[str, Any]) -> str:
    rows = []
    for key, m in measurements.items():
        s = m.get("summary") or {}
        band = s.get("band_like") or {}
        rows.append([key, m.get("film"), m.get("nabs"), m.get("seed"),
                     H.pm(s.get("sigma0_nm"), s.get("sigma0_err_nm"), "nm"),
                     H.pm(band.get("D_max_cm2_s"), band.get("D_max_err_cm2_s"), "cm²/s")
                     if band else "no band-like regime",
                     H.pm(band.get("length_nm"), band.get("length_err_nm"), "nm") if band else "—",
                     len(m.get("warnings") or []), H.Html(H.number(m.get("wall_s"), 3))])
    return H.table(["measurement", "film", "⟨N_abs⟩", "seed", "σ₀", "D_max", "band-like length",
                    "warnings", "wall time (s)"], rows)


def write_page(doc: dict[str, Any], folder: Path) -> None:
    """Write ``reproduce.html`` beside ``reproduce.json`` and the figures in ``folder``."""
    warnings = [f"{key}: {w}" for key, m in doc.get("measurements", {}).items()
                for w in (m.get("warnings") or [])]
    settings = doc.get("settings", {})
    parts = [H.warnings_block(warnings)]
    if settings.get("quick"):
        parts.insert(0, '<p class="warnings"><strong>Quick run</strong> (--quick): fewer runs, '
                     "spots, delays and bootstrap replicates; a test of the loop, not the "
                     "reproduction's precision.</p>")
    parts.append('<section id="table"><h2>The paper\'s values and tamkit\'s</h2>'
                 "<p>Difference = (tamkit − paper) / paper, green within 15 % for measured "
                 "values. Source: <em>measured</em> (tamkit's analysis of simulated "
                 "measurements), <em>simulated</em>, <em>model input</em> (set, not measured) "
                 "or <em>not modelled</em>.</p>"
                 + table_html(doc.get("table", [])) + "</section>")
    parts.append('<section id="trends"><h2>Trends</h2>' + trends_html(doc.get("trends", []))
                 + "</section>")
    figs = [f for f in doc.get("figures", [])]
    parts.append("<h2>Figures</h2>" + H.figures("", figs, CAPTIONS))
    parts.append("<h2>Measurements</h2>" + _measurements_html(doc.get("measurements", {})))
    parts.append("<h2>Data files</h2>" + H.data_links(
        [("reproduce.json", f"every number on this page (schema {doc.get('schema')})"),
         *[(f, "vector figure") for f in figs if f.endswith(".svg")]]))
    parts.append(H.provenance({"paper": doc.get("paper", "")}, version=doc.get("tamkit_version"),
                              blocks={"settings": settings,
                                      "wall time (s)": doc.get("wall_time_s"),
                                      "geometry model": doc.get("geometry_model"),
                                      "equilibrium transport": doc.get("equilibrium_transport")}))
    page = H.page("tamkit reproduce: Liu et al. 2021", "".join(parts),
                  subtitle="nonequilibrium transport in CQD solids, reproduced end to end "
                           "(simulate → image → analyse)")
    (Path(folder) / "reproduce.html").write_text(page, encoding="utf-8")
