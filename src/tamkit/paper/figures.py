"""The paper's figures (2a, 2d, 3a-c, 4a-d) from tamkit's analyses of simulated data.

Each function returns a :class:`matplotlib.figure.Figure` (Agg backend); :func:`write_figures`
saves them all as PNG. Curves are tamkit's measured values; model curves (the geometry of Fig.
2a) and truth are labelled as such.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tamkit.core.constants import HC_EV_NM, nm2_per_fs_to_cm2_per_s  # noqa: E402
from tamkit.reporting.style import (
    OKABE_ITO,
    delay_axis,
    format_delay,
    format_pm,
    legend_outside,
    new_figure,
    regime_colour,
    save_figure,
)

FLUENCE_COLOURS = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["vermillion"])
FILM_COLOURS = {0.0: OKABE_ITO["black"], 40.0: OKABE_ITO["green"], 60.0: OKABE_ITO["blue"],
                90.0: OKABE_ITO["purple"]}
FIGSIZE = (8.8, 4.4)
LEGEND_IN = 2.8
DPI = 150

#: captions as in the paper (Liu et al. 2021), with what tamkit drew
CAPTIONS = {
    "fig2a": "Fig. 2a. Inter-dot spacing and film exciton peak against perovskite content "
             "(geometry model; markers: the four films).",
    "fig2d": "Fig. 2d. Bleach-peak energy shift against delay for the four films, with the "
             "exponential fits; σ<sub>inh</sub> from ΔE = −σ²/(2 k<sub>B</sub>T) (paper "
             "convention). Shaded: ±1 s.e. of each tracked peak.",
    "fig3a": "Fig. 3a. MSD of the pure CQD film at three fluences, with the estimated "
             "Auger-depletion artefact; right: the first picosecond on linear axes (band-like "
             "regime shaded). The MSD grows alike at every fluence after the marked delay.",
    "fig3b": "Fig. 3b. Equivalent diffusivity D(t) = MSD/2t of the pure CQD film at three "
             "fluences, with each band-like maximum D<sub>max</sub>.",
    "fig3c": "Fig. 3c. Transport length L(t) = √MSD at the lowest fluence, with the band-like "
             "length and persistence time.",
    "fig4a": "Fig. 4a. D(t) against perovskite content (⟨N<sub>abs</sub>⟩ = 0.045); the pure "
             "CQD film dashed.",
    "fig4b": "Fig. 4b. Band-like transport length and number of dots against perovskite content "
             "(the volcano); a film without a band-like regime is marked, not plotted as 0.",
    "fig4c": "Fig. 4c. Peak diffusivity D<sub>max</sub> and inter-dot spacing against perovskite "
             "content; a film without a band-like regime is marked, not plotted as 0.",
    "fig4d": "Fig. 4d. Band-like decay rate 1/τ<sub>band-like</sub> and energetic disorder "
             "σ<sub>inh</sub> against perovskite content.",
}


def _ok(result):
    f = result.frames
    ok = (np.asarray(f["status"].values).astype(str) == "ok") & (f["delay"].values > 0)
    return f, ok


def _film_colour(vol: float) -> str:
    return FILM_COLOURS.get(vol, "0.4")


def fig2a(geometry: dict) -> Figure:
    """Inter-dot spacing and film exciton peak vs perovskite vol% (geometry model), twin axes."""
    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN, margins={"right": 0.85})
    x = geometry["vol_percent"]
    ax.plot(x, 10.0 * geometry["spacing_nm"], color=OKABE_ITO["blue"], lw=2,
            label="inter-dot spacing")
    ax.set_xlabel("perovskite content (vol%)")
    ax.set_ylabel("inter-dot spacing (Å)", color=OKABE_ITO["blue"])
    ax.axvline(geometry["onset_vol_percent"], color="0.5", ls=":", lw=1,
               label=f"1 − φ = {geometry['onset_vol_percent']:.0f} vol%\n(voids filled)")
    ax2 = ax.twinx()
    ax2.plot(x, geometry["exciton_peak_nm"], color=OKABE_ITO["vermillion"], lw=2,
             label="film exciton peak")
    ax2.axhline(geometry["solution_peak_nm"], color=OKABE_ITO["vermillion"], ls="--", lw=1,
                label=f"solution peak ({geometry['solution_peak_nm']:.0f} nm)")
    ax2.set_ylabel("exciton peak (nm)", color=OKABE_ITO["vermillion"])
    for vol, film in geometry["presets"].items():
        ax.plot(vol, 10.0 * film["spacing_nm"], "o", color=OKABE_ITO["blue"], ms=6)
        ax2.plot(vol, film["exciton_peak_nm"], "s", color=OKABE_ITO["vermillion"], ms=6)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    legend_outside(ax, lines[0] + lines2[0], lines[1] + lines2[1], bbox_to_anchor=(1.16, 1.0))
    ax.set_title("Fig. 2a: geometry model (markers: the four films)",
                 fontsize=10)
    return fig


def fig2d(maps: dict) -> Figure:
    """Bleach-peak energy shift vs delay with the exponential fits, one curve per film, with the
    tracked peaks' errors as a band."""
    fig, ax = new_figure(figsize=(9.6, 4.4), legend_in=3.6)
    for name, m in sorted(maps.items(), key=lambda kv: kv[1]["perovskite_vol_percent"]):
        b = m["bleach"]
        vol = m["perovskite_vol_percent"]
        colour = _film_colour(vol)
        t = np.asarray(m["track_delay_fs"], float)
        e = np.asarray(m["track_peak_meV"], float)
        if b is None:
            continue
        e_err = np.asarray(m.get("track_peak_err_meV", np.full(e.shape, np.nan)), float)
        e0 = 1e3 * HC_EV_NM / b["peak0_nm"]
        sel = np.isfinite(e) & (t > 0)
        ax.plot(t[sel] / 1e3, e[sel] - e0, ".", ms=2.5, color=colour, alpha=0.5)
        band = sel & np.isfinite(e_err)
        if band.any():
            ax.fill_between(t[band] / 1e3, e[band] - e0 - e_err[band], e[band] - e0 + e_err[band],
                            color=colour, alpha=0.15, lw=0)
        grid = np.geomspace(max(t[sel].min(), 10.0), t[sel].max(), 300)
        tau_fs = 1e3 * b["tau_ps"]
        fit = b["delta_E_meV"] * (1 - np.exp(-grid / tau_fs))
        sig = b["sigma_inh_meV"]
        label = (f"{name} ({vol:g} vol%):\n ΔE = "
                 f"{format_pm(b['delta_E_meV'], b.get('delta_E_err_meV'), 'meV')},\n τ = "
                 f"{format_pm(b['tau_ps'], b.get('tau_err_ps'), 'ps')}, σ$_{{inh}}$ = "
                 + ("n/a" if sig is None else
                    format_pm(sig, b.get("sigma_inh_err_meV"), "meV")))
        ax.plot(grid / 1e3, fit, color=colour, lw=2, label=label)
    ax.set_xscale("log")
    delay_axis(ax, unit_fs=1e3)
    ax.set_ylabel("bleach-peak shift E(t) − E(0) (meV)")
    ax.axhline(0, color="0.6", lw=0.8)
    legend_outside(ax, fontsize=7)
    ax.set_title("Fig. 2d: bleach red-shift of the four films (CQD and CQD:perovskite)",
                 fontsize=10)
    return fig


def _msd_curve(result):
    f, ok = _ok(result)
    t, msd, err = f["delay"].values[ok], f["msd_nm2"].values[ok], f["msd_err_nm2"].values[ok]
    return t, msd, err


def _shade(ax, result, t_star=None):
    for regime in result.regimes:
        ax.axvspan(regime.start_fs, regime.end_fs, color=regime_colour(regime.name), alpha=0.08,
                   lw=0)
        # the name sits above the axes (never over the points), where the regime is wide enough
        if regime.end_fs >= 2.8 * regime.start_fs:
            ax.text(np.sqrt(regime.start_fs * regime.end_fs), 1.01, regime.name, fontsize=7,
                    ha="center", va="bottom", transform=ax.get_xaxis_transform(),
                    color=regime_colour(regime.name))


def _plot_artefacts(ax, dep: dict, truth: dict | None, colour) -> bool:
    """The estimated Auger-depletion artefact (dashed) and the simulator's (dotted): both as a
    Gaussian fit sees it, unlabelled (the legend explains the line styles once). Returns False
    when the estimate is zero everywhere (nothing to draw on a log axis)."""
    curves = [(dep["delay_fs"], dep["apparent_msd_nm2"], "--", 1.2)]
    if truth and truth.get("auger_apparent_fit_msd_nm2") is not None:
        curves.append((truth["delay_fs"], truth["auger_apparent_fit_msd_nm2"], ":", 1.0))
    drawn = True
    for k, (delay, values, style, width) in enumerate(curves):
        d, a = np.asarray(delay, float), np.asarray(values, float)
        sel = (d > 0) & (a > 0)
        if sel.any():
            ax.plot(d[sel], a[sel], style, color=colour, lw=width)
        elif k == 0:
            drawn = False
    return drawn


def fig3a(fluence, truths: list[dict] | None = None) -> Figure:
    """MSD vs delay at three fluences (log-log) with the estimated Auger-depletion artefact
    (and the simulator's true artefact, labelled truth), and a linear panel of the first ps."""
    from matplotlib.lines import Line2D

    fig, (ax, ax2) = new_figure(1, 2, figsize=(12.4, 4.6), legend_in=3.0,
                                gridspec_kw={"width_ratios": [1.5, 1]},
                                margins={"wspace": 0.25, "top": 0.55})
    missing = []
    for k, (m, dep) in enumerate(zip(fluence.members, fluence.depletion, strict=True)):
        colour = FLUENCE_COLOURS[k % 3]
        t, msd, err = _msd_curve(m.result)
        pos = msd > 0
        ax.errorbar(t[pos], msd[pos], yerr=np.minimum(err[pos], 0.999 * msd[pos]), fmt="o",
                    ms=3, color=colour, ecolor=colour, alpha=0.8, lw=0.6,
                    label=f"⟨N$_{{abs}}$⟩ = {m.value:g}")
        grid = np.geomspace(*m.result.model.t_range_fs, 300)
        ax.plot(grid, m.result.model_msd_nm2(grid), color=colour, lw=1.2)
        if not _plot_artefacts(ax, dep, truths[k] if truths else None, colour):
            missing.append(f"{m.value:g}")
        early = (t <= 1000.0)
        ax2.errorbar(t[early], msd[early], yerr=err[early], fmt="o", ms=3, color=colour,
                     lw=0.6)
        g2 = np.linspace(max(t[early].min(), 1.0), 1000.0, 200)
        ax2.plot(g2, m.result.model_msd_nm2(g2), color=colour, lw=1.2)
    _shade(ax, fluence.members[0].result)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", lw=1.2), Line2D([], [], color="0.3", ls="--"),
                Line2D([], [], color="0.3", ls=":")]
    labels += ["regime fit (piecewise power law)", "Auger-depletion artefact (estimated)",
               "depletion artefact (simulator truth)"]
    if missing:
        handles.append(Line2D([], [], ls="none"))
        labels.append(f"no artefact detected at {', '.join(missing)}")
    if fluence.independence_time_fs:
        line = ax.axvline(fluence.independence_time_fs, color="k", ls="-.", lw=1.2)
        handles.append(line)
        labels.append("MSD grows alike at every\nfluence after "
                      f"{format_delay(fluence.independence_time_fs)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    delay_axis(ax)
    ax.set_ylabel("MSD = σ$_t^2$ − σ$_0^2$ (nm²)")
    ax.set_title("Fig. 3a: pure CQD film, MSD at three fluences", fontsize=10, pad=14)
    band = fluence.members[0].result.band_like
    if band:
        ax2.axvspan(0, band.tau_fs, color=regime_colour("band-like"), alpha=0.08, lw=0)
        ax2.axvline(band.tau_fs, color=regime_colour("band-like"), ls=":", lw=1)
    ax2.set_xlim(0, 1000)
    ax2.set_xlabel("delay (fs)")
    ax2.set_ylabel("MSD (nm²)")
    ax2.set_title("first picosecond (band-like regime shaded)", fontsize=10, pad=14)
    legend_outside(ax2, handles, labels)
    return fig


def _d_curve(ax, result, colour, label, ls="-"):
    f, ok = _ok(result)
    t, d, e = f["delay"].values[ok], f["D_cm2_s"].values[ok], f["D_err_cm2_s"].values[ok]
    ax.errorbar(t, d, yerr=e, fmt="o", ms=2.5, color=colour, lw=0.5, alpha=0.6)
    grid = np.geomspace(*result.model.t_range_fs, 400)
    model = nm2_per_fs_to_cm2_per_s(result.model_msd_nm2(grid) / (2 * grid))
    ax.plot(grid, model, ls, color=colour, lw=1.8, label=label)


def fig3b(fluence) -> Figure:
    """D(t) = MSD / 2t at the three fluences (log time axis), with each band-like maximum."""
    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN)
    for k, m in enumerate(fluence.members):
        b = m.result.band_like
        extra = (f",\nD$_{{max}}$ = {format_pm(b.D_max_cm2_s, b.D_max_err_cm2_s, 'cm²/s')}"
                 if b else "")
        _d_curve(ax, m.result, FLUENCE_COLOURS[k % 3], f"⟨N$_{{abs}}$⟩ = {m.value:g}{extra}")
    _style_d_axis(ax)
    ax.set_title("Fig. 3b: equivalent diffusivity, pure CQD film", fontsize=10)
    return fig


def fig3c(member, truth: dict | None = None) -> Figure:
    """Transport length L(t) = sqrt(MSD) at the lowest fluence, with the band-like length."""
    result = member.result
    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN)
    f, ok = _ok(result)
    t, length, err = f["delay"].values[ok], f["length_nm"].values[ok], f["length_err_nm"].values[ok]
    ax.errorbar(t, length, yerr=err, fmt="o", ms=3, color="k", lw=0.6, label="tamkit (measured)")
    grid = np.geomspace(*result.model.t_range_fs, 400)
    ax.plot(grid, np.sqrt(np.clip(result.model_msd_nm2(grid), 0, None)),
            color=OKABE_ITO["vermillion"], lw=1.8, label="regime fit")
    if truth and truth.get("msd_nm2") is not None:
        td, tm = np.asarray(truth["delay_fs"], float), np.asarray(truth["msd_nm2"], float)
        sel = (td > 0) & (tm > 0)
        ax.plot(td[sel], np.sqrt(tm[sel]), color="0.5", lw=1, ls="--", label="simulator truth")
    b = result.band_like
    if b:
        ax.axhline(b.length_nm, color=OKABE_ITO["vermillion"], ls=":", lw=1)
        ax.axvline(b.tau_fs, color=OKABE_ITO["vermillion"], ls=":", lw=1)
        dots = f", {b.n_dots:.0f} dots" if b.n_dots else ""
        ax.set_title(f"Fig. 3c: L(t) at ⟨N$_{{abs}}$⟩ = {member.value:g}; band-like length "
                     f"{b.length_nm:.0f} ± {b.length_err_nm:.0f} nm{dots} in {b.tau_fs:.0f} fs",
                     fontsize=9)
    ax.set_xscale("log")
    delay_axis(ax)
    ax.set_ylabel(r"L = $\sqrt{\mathrm{MSD}}$ (nm)")
    legend_outside(ax)
    return fig


def fig4a(comp) -> Figure:
    """D(t) per composition; the pure CQD film dashed."""
    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN)
    for m in comp.members:
        ls = "--" if m.value == 0 else "-"
        b = m.result.band_like
        extra = (f", D$_{{max}}$ = {b.D_max_cm2_s:.0f} cm²/s" if b
                 else ", no band-like regime")
        _d_curve(ax, m.result, _film_colour(m.value), f"{m.value:g} vol%{extra}", ls=ls)
    _style_d_axis(ax)
    ax.set_title("Fig. 4a: D(t) vs perovskite content (⟨N$_{abs}$⟩ = 0.045)", fontsize=10)
    return fig


def _style_d_axis(ax) -> None:
    """Axes of a D(t) panel: log delay over the band-like window, D from zero."""
    ax.set_xscale("log")
    ax.set_xlim(10, 1e4)
    ax.set_ylim(bottom=0)
    delay_axis(ax)
    ax.set_ylabel("D(t) = MSD / 2t (cm²/s)")
    legend_outside(ax)


def _twin(x, y1, e1, y2, e2, label1, label2, title, *, absent=()) -> Figure:
    """Two quantities against vol% on twin axes. A missing value (None/NaN: a film without a
    band-like regime) is not plotted: the line breaks there and the film is marked on the axis
    with the reason, never drawn as a measured 0."""
    fig, ax = new_figure(figsize=(8.8, 4.4), legend_in=2.6, margins={"right": 0.85})
    c1, c2 = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
    x = np.asarray(x, float)
    y1 = np.asarray(y1, float)
    y2 = np.asarray(y2, float)
    ax.errorbar(x, y1, yerr=None if e1 is None else np.asarray(e1, float), fmt="o-", color=c1,
                ms=6, capsize=3, label=label1)
    ax.set_xlabel("perovskite content (vol%)")
    ax.set_ylabel(label1, color=c1)
    ax2 = ax.twinx()
    ax2.errorbar(x, y2, yerr=None if e2 is None else np.asarray(e2, float), fmt="s--",
                 color=c2, ms=6, capsize=3, label=label2)
    ax2.set_ylabel(label2, color=c2)
    for v in absent:
        ax.plot([v], [0.0], "x", color="0.3", ms=8, mew=1.5, transform=ax.get_xaxis_transform(),
                clip_on=False)
        ax.annotate("no band-like\nregime", (v, 0.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 10), textcoords="offset points", ha="center", fontsize=7,
                    color="0.3")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    if absent:
        from matplotlib.lines import Line2D

        h2 = [*h2, Line2D([], [], ls="none", marker="x", color="0.3", mew=1.5)]
        l2 = [*l2, "no band-like regime (no value)"]
    legend_outside(ax, h1 + h2, l1 + l2, bbox_to_anchor=(1.16, 1.0))
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-5, 95)
    return fig


def _nan(v):
    return np.nan if v is None else float(v)


def fig4b(comp) -> Figure:
    """Band-like length and number of dots vs vol% (missing where no band-like regime exists)."""
    rows = comp.table()
    x = [r["value"] for r in rows]
    length = [_nan(r["length_nm"]) if r["band_like"] else np.nan for r in rows]
    err = [_nan(r["length_err_nm"]) if r["band_like"] else np.nan for r in rows]
    dots = [_nan(r["n_dots"]) if r["band_like"] else np.nan for r in rows]
    pitch = [m.result.parameters.pitch_nm for m in comp.members]
    dots_err = [e / p if p else np.nan for e, p in zip(err, pitch, strict=True)]
    absent = [r["value"] for r in rows if not r["band_like"]]
    return _twin(x, length, err, dots, dots_err, "band-like length (nm)", "number of dots",
                 "Fig. 4b: band-like transport length (volcano)", absent=absent)


def fig4c(comp, geometry: dict) -> Figure:
    """D_max and the inter-dot spacing vs vol% (D_max missing where no band-like regime)."""
    rows = comp.table()
    x = [r["value"] for r in rows]
    d = [_nan(r["D_max_cm2_s"]) if r["band_like"] else np.nan for r in rows]
    e = [_nan(r["D_max_err_cm2_s"]) if r["band_like"] else np.nan for r in rows]
    spacing = [10.0 * geometry["presets"][v]["spacing_nm"] for v in x]
    return _twin(x, d, e, spacing, None, "D$_{max}$ (cm²/s)",
                 "inter-dot spacing (Å, model)", "Fig. 4c: peak diffusivity and spacing",
                 absent=[r["value"] for r in rows if not r["band_like"]])


def fig4d(comp, sigma_inh: dict) -> Figure:
    """1/tau_band-like and sigma_inh (from the bleach shift) vs vol%."""
    rows = comp.table()
    x = [r["value"] for r in rows]
    inv = [_nan(r["inv_tau_per_ps"]) for r in rows]
    inv_e = [_nan(r["inv_tau_err_per_ps"]) for r in rows]
    sig = [_nan(sigma_inh.get(v, (None, None))[0]) for v in x]
    sig_e = [_nan(sigma_inh.get(v, (None, None))[1]) for v in x]
    return _twin(x, inv, inv_e, sig, sig_e, "1/τ of the band-like regime (ps⁻¹)",
                 "σ$_{inh}$ (meV, paper convention)",
                 "Fig. 4d: band-like decay rate and energetic disorder",
                 absent=[r["value"] for r in rows if not r["band_like"]])


def write_figures(out_dir: Path, *, geometry, maps, fluence, comp, sigma_inh,
                  low_truth, fluence_truths=None) -> list[str]:
    """Write every figure as PNG and SVG into ``out_dir``; returns the file names."""
    figures = {
        "fig2a.png": lambda: fig2a(geometry),
        "fig2d.png": lambda: fig2d(maps),
        "fig3a.png": lambda: fig3a(fluence, fluence_truths),
        "fig3b.png": lambda: fig3b(fluence),
        "fig3c.png": lambda: fig3c(fluence.members[0], low_truth),
        "fig4a.png": lambda: fig4a(comp),
        "fig4b.png": lambda: fig4b(comp),
        "fig4c.png": lambda: fig4c(comp, geometry),
        "fig4d.png": lambda: fig4d(comp, sigma_inh),
    }
    written = []
    for name, make in figures.items():
        # the paper's figures are for print: each also as SVG with editable text
        written += save_figure(make(), Path(out_dir), name, dpi=DPI, vector=True)
    return written
