"""Figures of a series: MSD and D(t) overlaid across fluences or compositions, and the trends.

The look comes from :mod:`tamkit.reporting.style`: one Okabe-Ito colour per stack (the fluence
order matches the paper's Fig. 3a), legends outside the data, delays in fs/ps/ns, typeset units,
values <= 0 on a log axis marked on the bottom edge, and a stack without a band-like regime left
missing in the trends (marked, never drawn as a measured 0). Saved as PNG + SVG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from tamkit.core.constants import nm2_per_fs_to_cm2_per_s
from tamkit.reporting.style import (
    SERIES_COLOURS,
    delay_axis,
    format_delay,
    legend_outside,
    log_points,
    new_figure,
    regime_colour,
    save_figure,
)
from tamkit.series.trends import CompositionSeries, FluenceSeries, SeriesMember

FIGSIZE = (8.8, 4.4)
LEGEND_IN = 2.9
DPI = 120
NABS_LABEL = "⟨N$_{abs}$⟩"


def _ok(member: SeriesMember) -> np.ndarray:
    f = member.result.frames
    return (np.asarray(f["status"].values).astype(str) == "ok") & (f["delay"].values > 0)


def member_label(member: SeriesMember, kind: str) -> str:
    """``⟨N_abs⟩ = 0.05`` (fluence) or ``40 vol%`` (composition), typeset (the member's own
    label is ASCII, for JSON)."""
    return f"{NABS_LABEL} = {member.value:g}" if kind == "fluence" else f"{member.value:g} vol%"


def series_colour(k: int) -> str:
    """The colour of the k-th stack of a series (sorted by its value)."""
    return SERIES_COLOURS[k % len(SERIES_COLOURS)]


def plot_overlay(members: list[SeriesMember], quantity: str = "msd_nm2",
                 dependence: list[dict] | None = None, *, kind: str = "fluence",
                 independence_time_fs: float | None = None) -> Figure:
    """MSD or D(t) of every stack on log-log axes, one colour each, with its regime fit.

    A fluence series also gets the estimated Auger-depletion artefact of each stack (dashed)
    and the delay after which the MSD grows alike at every fluence (dash-dotted).
    """
    from matplotlib.lines import Line2D

    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN)
    is_msd = quantity == "msd_nm2"
    err_name = "msd_err_nm2" if is_msd else "D_err_cm2_s"
    n_edge = 0
    for k, member in enumerate(members):
        colour = series_colour(k)
        f, ok = member.result.frames, _ok(member)
        n_edge += log_points(ax, f["delay"].values[ok], f[quantity].values[ok],
                             f[err_name].values[ok], colour, label=member_label(member, kind),
                             edge_label=None, alpha=0.85, ms=3)
        grid = np.geomspace(*member.result.model.t_range_fs, 300)
        model = member.result.model_msd_nm2(grid)
        if not is_msd:
            model = nm2_per_fs_to_cm2_per_s(model / (2 * grid))
        keep = model > 0
        ax.plot(grid[keep], model[keep], color=colour, lw=1.2)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.3", lw=1.2))
    labels.append("regime fit (piecewise power law)")
    if dependence and is_msd:
        missing = []
        for k, art in enumerate(dependence):
            t = np.asarray(art["delay_fs"], float)
            a = np.asarray(art["apparent_msd_nm2"], float)
            keep = (t > 0) & (a > 0)
            if keep.any():
                ax.plot(t[keep], a[keep], ls="--", color=series_colour(k), lw=1)
            else:
                missing.append(f"{art['nabs']:g}")
        if len(missing) < len(dependence):
            handles.append(Line2D([], [], color="0.3", ls="--", lw=1))
            labels.append("Auger-depletion artefact (estimated)")
        if missing:
            handles.append(Line2D([], [], ls="none"))
            labels.append(f"no artefact detected at {NABS_LABEL} = {', '.join(missing)}")
    if n_edge:
        handles.append(Line2D([], [], ls="none", marker="v", mfc="none", mec="0.3", ms=5))
        labels.append(f"{n_edge} point(s) ≤ 0 (at the bottom edge)")
    if independence_time_fs and is_msd:
        handles.append(ax.axvline(independence_time_fs, color="k", ls="-.", lw=1.2))
        labels.append("MSD grows alike at every\nfluence after "
                      f"{format_delay(independence_time_fs)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    delay_axis(ax)
    ax.set_ylabel("MSD = σ$_t^2$ − σ$_0^2$ (nm²)" if is_msd else "D(t) = MSD / 2t (cm²/s)")
    what = "fluences" if kind == "fluence" else "compositions"
    ax.set_title(f"{'MSD' if is_msd else 'D(t)'} at {len(members)} {what}", fontsize=10)
    legend_outside(ax, handles, labels)
    return fig


_ERR_KEYS = {"D_max_cm2_s": "D_max_err_cm2_s", "length_nm": "length_err_nm",
             "tau_fs": "tau_err_fs", "inv_tau_per_ps": "inv_tau_err_per_ps"}


def _column(table: list[dict], key: str | None) -> np.ndarray:
    if key is None:
        return np.full(len(table), np.nan)
    return np.array([np.nan if row.get(key) is None else float(row[key]) for row in table],
                    float)


def plot_trend(table: list[dict], x_label: str, keys: tuple[str, ...],
               labels: tuple[str, ...], *, log_x: bool | None = None, unit: str = "",
               title: str = "") -> Figure:
    """Band-like metrics against the series variable, one panel per metric, with 1 s.e. errors.

    A stack without a band-like regime has no value: the line breaks there and the stack's
    position is marked by a dotted vertical line, never plotted as a measured 0.
    ``unit``: of the series variable, for the legend ("vol%"; "" for ⟨N_abs⟩).
    """
    from matplotlib.lines import Line2D

    n = len(keys)
    fig, axes = new_figure(1, n, figsize=(3.3 * n + 2.4, 3.6), legend_in=2.2, squeeze=False,
                           margins={"left": 0.85, "wspace": 0.5, "top": 0.5})
    x = _column(table, "value")
    order = np.argsort(x)
    x = x[order]
    colour = regime_colour("band-like")
    if log_x is None:
        log_x = bool(np.all(x > 0) and x.max() >= 5 * x.min())
    absent = np.zeros(x.size, bool)
    for ax, key, label in zip(axes.ravel(), keys, labels, strict=True):
        y = _column(table, key)[order]
        yerr = _column(table, _ERR_KEYS.get(key))[order]
        ax.errorbar(x, y, yerr=np.where(np.isfinite(yerr), yerr, 0.0), fmt="s-", color=colour,
                    ms=5, capsize=3, lw=1, label="band-like regime (±1 s.e.)")
        missing = ~np.isfinite(y)
        absent |= missing
        for xm in x[missing]:
            ax.axvline(xm, color="0.45", ls=":", lw=1.2)
            ax.text(xm, 0.5, "no band-like regime ", rotation=90, ha="right", va="center",
                    fontsize=7, color="0.35", transform=ax.get_xaxis_transform())
        if log_x:
            ax.set_xscale("log")
            ax.set_xlim(x.min() / 1.4, x.max() * 1.4)
        else:
            pad = 0.08 * (x.max() - x.min() or 1.0)
            ax.set_xlim(x.min() - pad, x.max() + pad)
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        if np.isfinite(y).any():
            ax.set_ylim(bottom=0)
    handles, names = axes.ravel()[0].get_legend_handles_labels()
    if absent.any():
        handles.append(Line2D([], [], color="0.45", ls=":", lw=1.2))
        names.append("no band-like regime (no value)\nat "
                     + ", ".join(f"{v:g}{' ' + unit if unit else ''}" for v in x[absent]))
    legend_outside(axes.ravel()[-1], handles, names)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def series_figures(series: FluenceSeries | CompositionSeries) -> dict[str, Figure]:
    """The standard figures of a series, by file name."""
    table = series.table()
    if isinstance(series, FluenceSeries):
        return {
            "msd_overlay.png": plot_overlay(
                series.members, "msd_nm2", series.depletion, kind="fluence",
                independence_time_fs=series.independence_time_fs),
            "D_overlay.png": plot_overlay(series.members, "D_cm2_s", kind="fluence"),
            "band_like_vs_nabs.png": plot_trend(
                table, NABS_LABEL, ("D_max_cm2_s", "length_nm"),
                ("D$_{max}$ (cm²/s)", "band-like length (nm)"),
                title="band-like transport against fluence"),
        }
    return {
        "msd_overlay.png": plot_overlay(series.members, "msd_nm2", kind="composition"),
        "D_overlay.png": plot_overlay(series.members, "D_cm2_s", kind="composition"),
        "band_like_vs_composition.png": plot_trend(
            table, "perovskite content (vol%)", ("D_max_cm2_s", "length_nm", "inv_tau_per_ps"),
            ("D$_{max}$ (cm²/s)", "band-like length (nm)", "band-like 1/τ (ps⁻¹)"),
            log_x=False, unit="vol%", title="band-like transport against perovskite content"),
    }


def save_figures(figures: dict[str, Figure], folder: str | Path, *,
                 vector: bool = False) -> list[str]:
    """Write each figure as PNG (and its SVG twin with ``vector``) into ``folder``, close it;
    return the names."""
    written: list[str] = []
    for name, fig in figures.items():
        written += save_figure(fig, folder, name, dpi=DPI, vector=vector)
    return written
