"""Figures of a series: MSD and D(t) overlaid across fluences or compositions, and the trends."""

from __future__ import annotations

import numpy as np  # noqa: E402
from matplotlib import colormaps
from matplotlib.figure import Figure  # noqa: E402

from tamkit.reporting.style import close, new_figure
from tamkit.series.trends import CompositionSeries, FluenceSeries, SeriesMember  # noqa: E402


def _ok(member: SeriesMember):
    f = member.result.frames
    ok = (np.asarray(f["status"].values).astype(str) == "ok") & (f["delay"].values > 0)
    return f["delay"].values[ok], f


def plot_overlay(members: list[SeriesMember], quantity: str = "msd_nm2",
                 dependence: list[dict] | None = None) -> Figure:
    """MSD (log-log) or D(t) (log time) of every member on one axis, one colour each."""
    fig, ax = new_figure(figsize=(6.4, 4.4), layout="constrained")
    colours = colormaps['viridis'](np.linspace(0, 0.9, len(members)))
    for colour, member in zip(colours, members, strict=True):
        t, f = _ok(member)
        ok = np.isin(f["delay"].values, t)
        y = f[quantity].values[ok]
        err_name = "msd_err_nm2" if quantity == "msd_nm2" else "D_err_cm2_s"
        yerr = f[err_name].values[ok]
        if quantity == "msd_nm2":
            pos = y > 0
            t, y, yerr = t[pos], y[pos], np.minimum(yerr[pos], 0.999 * y[pos])
        ax.errorbar(t, y, yerr=yerr, fmt="o-", ms=3, lw=0.8, color=colour, ecolor=colour,
                    alpha=0.85, label=member.label)
    if dependence and quantity == "msd_nm2":
        for colour, art in zip(colours, dependence, strict=True):
            t = np.asarray(art["delay_fs"])
            a = np.asarray(art["apparent_msd_nm2"])
            keep = (t > 0) & (a > 0)
            if keep.any():
                ax.plot(t[keep], a[keep], ls="--", color=colour, lw=1,
                        label=f"Auger-depletion artefact, {art['nabs']:g}")
    ax.set_xscale("log")
    if quantity == "msd_nm2":
        ax.set_yscale("log")
        ax.set_ylabel(r"MSD (nm$^2$)")
    else:
        ax.set_ylabel(r"D(t) = MSD / 2t (cm$^2$ s$^{-1}$)")
    ax.set_xlabel("delay (fs)")
    ax.legend(fontsize=7)
    return fig


def plot_trend(table: list[dict], x_label: str, keys: tuple[str, ...],
               labels: tuple[str, ...]) -> Figure:
    """Band-like metrics against the series variable, one panel per metric, with errors."""
    fig, axes = new_figure(1, len(keys), figsize=(3.4 * len(keys), 3.4), layout="constrained",
                             squeeze=False)
    x = np.array([row["value"] for row in table], float)
    for ax, key, label in zip(axes.ravel(), keys, labels, strict=True):
        y = np.array([np.nan if row.get(key) is None else row[key] for row in table], float)
        err_key = {"D_max_cm2_s": "D_max_err_cm2_s", "length_nm": "length_err_nm",
                   "tau_fs": "tau_err_fs", "inv_tau_per_ps": "inv_tau_err_per_ps"}.get(key)
        yerr = (np.array([np.nan if row.get(err_key) is None else row[err_key] for row in table],
                         float) if err_key else None)
        ax.errorbar(x, y, yerr=yerr, fmt="s-", color="C3", ms=5)
        absent = ~np.isfinite(y)
        for xi in x[absent]:
            ax.annotate("no band-like\nregime", (xi, 0), fontsize=7, ha="center",
                        xycoords=("data", "axes fraction"), xytext=(0, 8),
                        textcoords="offset points")
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
    return fig


def series_figures(series: FluenceSeries | CompositionSeries) -> dict[str, Figure]:
    """The standard figures of a series, by file name."""
    if isinstance(series, FluenceSeries):
        table = series.table()
        return {
            "msd_overlay.png": plot_overlay(series.members, "msd_nm2", series.depletion),
            "D_overlay.png": plot_overlay(series.members, "D_cm2_s"),
            "band_like_vs_nabs.png": plot_trend(
                table, r"$\langle N_{abs}\rangle$", ("D_max_cm2_s", "length_nm"),
                (r"D$_{max}$ (cm$^2$ s$^{-1}$)", "band-like length (nm)")),
        }
    table = series.table()
    figs = {
        "msd_overlay.png": plot_overlay(series.members, "msd_nm2"),
        "D_overlay.png": plot_overlay(series.members, "D_cm2_s"),
        "band_like_vs_composition.png": plot_trend(
            table, "perovskite (vol%)", ("D_max_cm2_s", "length_nm", "inv_tau_per_ps"),
            (r"D$_{max}$ (cm$^2$ s$^{-1}$)", "band-like length (nm)",
             r"1/$\tau_{band-like}$ (ps$^{-1}$)")),
    }
    return figs


def save_figures(figures: dict[str, Figure], folder) -> list[str]:
    """Write figures as PNG and close them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=120)
        close(fig)
    return list(figures)
