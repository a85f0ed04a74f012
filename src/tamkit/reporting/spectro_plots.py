"""Figures of a TA analysis: map with chirp, kinetics with fits, DAS, SVD, bleach-peak shift.

Each function returns a :class:`matplotlib.figure.Figure` (Agg backend).
"""

from __future__ import annotations

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tamkit.reporting.html import typeset
from tamkit.reporting.style import (
    CYCLE,
    OKABE_ITO,
    delay_axis,
    format_delay,
    format_pm,
    legend_outside,
    new_figure,
)
from tamkit.spectro.globalfit import GlobalFit  # noqa: E402


def _symlog_delay(ax, linthresh_ps: float = 1.0) -> None:
    ax.set_xscale("symlog", linthresh=linthresh_ps, linscale=1.0)
    delay_axis(ax, unit_fs=1e3, label=f"delay (linear below ±{linthresh_ps:g} ps, log above)")


def plot_map(tamap: xr.DataArray, fit: GlobalFit | None = None) -> Figure:
    """The raw map (delay on a symlog axis) with the fitted chirp t0(lambda) drawn over it."""
    fig, ax = new_figure(figsize=(6.8, 4.6), margins={"right": 0.1})
    delay_ps = tamap["delay"].values / 1e3
    wl = tamap["wavelength"].values
    vmax = float(np.nanpercentile(np.abs(tamap.values), 99.5)) or 1.0
    # rasterized: in the SVG the ~10^5 cells are one embedded image (as in the PNG), not one
    # path each; axes, labels and the chirp line stay vector
    mesh = ax.pcolormesh(wl, delay_ps, tamap.values, cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                         shading="nearest", rasterized=True)
    fig.colorbar(mesh, ax=ax, label=typeset_quantity(tamap.attrs.get("quantity", "signal")))
    if fit is not None:
        ax.plot(wl, fit.t0_fs(wl) / 1e3, "k--", lw=1.2)
    ax.set_yscale("symlog", linthresh=1.0)
    delay_axis(ax, axis="y", unit_fs=1e3, label="delay (linear below ±1 ps, log above)")
    ax.set_xlabel("wavelength (nm)")
    ax.set_title("TA map" + ("; dashed: fitted time zero (chirp)" if fit is not None else ""),
                 fontsize=10)
    return fig


def kinetic_wavelengths(fit: GlobalFit, n: int = 4) -> np.ndarray:
    """Wavelengths at the extrema of the largest DAS (good places to show kinetics)."""
    das = fit.das.values[: len(fit.lifetimes_fs)]
    wl = fit.das["wavelength"].values
    picks = []
    for row in das[np.argsort(-np.abs(das).max(axis=1))]:
        for j in (int(np.argmax(row)), int(np.argmin(row))):
            if all(abs(wl[j] - p) > 0.05 * (wl.max() - wl.min()) for p in picks):
                picks.append(wl[j])
    return np.array(sorted(picks[:n]))


def plot_kinetics(tamap: xr.DataArray, fit: GlobalFit, wavelengths_nm=None) -> Figure:
    """Data and global-fit model at a few wavelengths (raw delays, chirp included in the model)."""
    fig, ax = new_figure(figsize=(8.0, 4.4), legend_in=1.4)
    wls = kinetic_wavelengths(fit) if wavelengths_nm is None else np.asarray(wavelengths_nm)
    delay_ps = tamap["delay"].values / 1e3
    for k, w in enumerate(wls):
        colour = CYCLE[k % len(CYCLE)]
        data = tamap.sel(wavelength=w, method="nearest")
        model = fit.fitted.sel(wavelength=w, method="nearest")
        ax.plot(delay_ps, data.values, ".", ms=2.5, color=colour, alpha=0.6)
        ax.plot(delay_ps, model.values, "-", color=colour, lw=1.2,
                label=f"{float(data['wavelength']):.0f} nm")
    _symlog_delay(ax, linthresh_ps=max(1.0, 5 * fit.irf_fwhm_fs / 1e3))
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_ylabel(typeset_quantity(tamap.attrs.get("quantity", "signal")))
    ax.set_title("kinetics: data (dots) and global fit (lines)", fontsize=10)
    legend_outside(ax)
    return fig


def lifetime_label(entry: dict) -> str:
    """One lifetime of :meth:`GlobalFit.lifetimes_ps` as a short label: the value with its error,
    or an undetermined component's status and bound (the same words on every page and figure)."""
    st = entry["status"]
    if st == "ok":
        return format_pm(entry["value"], entry["err"], "ps")
    if st == "below_irf":
        return (f"< {format_delay(1e3 * entry['upper_bound'])} (faster than the IRF, "
                "not determined)")
    if st == "beyond_window":
        return f"> {format_delay(1e3 * entry['lower_bound'])} (beyond the window: an offset)"
    lo, hi = entry["range"]
    why = "degenerate pair" if st == "degenerate" else "relative error > 50 %"
    return f"{lo:.3g}–{hi:.3g} ps ({why}, not determined)"


def plot_das(fit: GlobalFit, quantity: str = "dT/T") -> Figure:
    """Decay-associated spectra: determined components on the left; undetermined ones (faster
    than the IRF, beyond the window, degenerate) in a panel of their own on the right, so that
    their large amplitudes never flatten the real spectra."""
    entries = fit.lifetimes_ps()
    good = [k for k, e in enumerate(entries) if e["status"] == "ok"]
    bad = [k for k, e in enumerate(entries) if e["status"] != "ok"]
    extra = list(fit.das["component"].values[len(entries):])
    ncols = 2 if (bad or extra) else 1
    fig, axes = new_figure(1, ncols, figsize=(5.4 * ncols + 0.6, 4.4), squeeze=False,
                           margins={"left": 0.95, "right": 0.2, "wspace": 0.3, "bottom": 1.4})
    wl = fit.das["wavelength"].values
    unit = typeset_quantity(quantity)
    ax = axes[0, 0]
    for j, k in enumerate(good):
        ax.plot(wl, fit.das.values[k], lw=1.5, color=CYCLE[j % len(CYCLE)],
                label=lifetime_label(entries[k]))
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel(f"DAS amplitude ({unit})")
    ax.set_title("decay-associated spectra (determined lifetimes)", fontsize=10)
    if good:  # no determined lifetime: an empty legend would only warn
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    else:
        ax.text(0.5, 0.5, "no lifetime is determined", transform=ax.transAxes, ha="center",
                va="center", color="0.4")
        ax.set_xlim(float(np.min(wl)), float(np.max(wl)))
    if ncols == 2:
        ax2 = axes[0, 1]
        for j, k in enumerate(bad):
            ax2.plot(wl, fit.das.values[k], lw=1.2, ls="--", color=CYCLE[(len(good) + j) %
                                                                         len(CYCLE)],
                     label=lifetime_label(entries[k]))
        for name in extra:
            ax2.plot(wl, fit.das.sel(component=name).values, ":", lw=1.0, color="0.3",
                     label=f"{name} (coherent artefact / offset)")
        ax2.axhline(0, color="0.6", lw=0.6)
        ax2.set_xlabel("wavelength (nm)")
        ax2.set_ylabel(f"amplitude ({unit})")
        ax2.set_title("undetermined components and artefacts", fontsize=10)
        ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return fig


def plot_svd(svd: dict) -> Figure:
    """Singular values against the noise edge; the title counts what lies above it."""
    fig, ax = new_figure(figsize=(7.4, 3.8), legend_in=1.8)
    s = np.asarray(svd["singular_values"])
    edge = float(svd["noise_edge"])
    above = s > edge
    ax.semilogy(np.arange(1, s.size + 1), s, "-", color="0.6", lw=0.8)
    ax.semilogy(np.flatnonzero(above) + 1, s[above], "o", color=OKABE_ITO["blue"],
                label="above the noise edge")
    ax.semilogy(np.flatnonzero(~above) + 1, s[~above], "o", mfc="none",
                color=OKABE_ITO["blue"], label="below the noise edge")
    ax.axhline(edge, color=OKABE_ITO["vermillion"], ls="--", label="noise edge")
    ax.set_xlabel("component")
    ax.set_ylabel("singular value")
    n_above = int(above.sum())
    smooth = svd.get("n_smooth")
    title = f"SVD: {n_above} of {s.size} singular values above the noise edge"
    if smooth is not None and smooth != n_above:
        title += f"\n({smooth} with smooth vectors)"
    ax.set_title(title, fontsize=10)
    legend_outside(ax)
    return fig


def typeset_quantity(quantity: str) -> str:
    """dT/T -> ΔT/T, dA -> ΔA (mOD stays)."""
    return {"dT/T": "ΔT/T", "dA": "ΔA", "dOD": "ΔOD"}.get(quantity, quantity)


def plot_peak_shift(track: xr.Dataset, bleach: dict) -> Figure:
    """Tracked bleach peak energy vs delay with the fitted exponential relaxation."""
    fig, ax = new_figure(figsize=(8.6, 4.2), legend_in=2.4)
    ok = track["ok"].values & (track["delay"].values > 0)
    t_ps = track["delay"].values[ok] / 1e3
    e = track["peak_meV"].values[ok]
    ax.errorbar(t_ps, e, yerr=track["peak_err_meV"].values[ok], fmt=".", ms=3, alpha=0.7,
                color=OKABE_ITO["blue"], label="peak (local Gaussian fit)")
    e0 = 1e3 * 1239.84198 / bleach["peak0_nm"]
    tau = bleach["tau_ps"]
    grid = np.geomspace(max(t_ps.min(), 1e-3), t_ps.max(), 200)
    ax.plot(grid, e0 + bleach["delta_E_meV"] * (1 - np.exp(-grid / tau)), "k-",
            label=f"fit: ΔE = {bleach['delta_E_meV']:.2f} meV,\nτ = {tau:.3g} ps")
    ax.set_xscale("log")
    delay_axis(ax, unit_fs=1e3)
    ax.set_ylabel("bleach peak (meV)")
    sigma = bleach.get("sigma_inh_meV")
    title = "bleach red-shift" + (f": σ$_{{inh}}$ = {sigma:.1f} meV" if sigma else "")
    convention = typeset(bleach["convention"]).replace("σ_inh", "σ$_{inh}$")
    ax.set_title(title + f"\n({convention.replace('k_B T', '$k_B T$')})", fontsize=9)
    legend_outside(ax)
    return fig


def plot_injection(injection: dict) -> Figure:
    """Normalised donor and acceptor band kinetics with their fits."""
    fig, ax = new_figure(figsize=(8.4, 4.2), legend_in=1.8)
    for k, role in enumerate(("donor", "acceptor")):
        fit = injection["fits"][role]
        data = fit.fitted.values[:, 0] + fit.residuals.values[:, 0]
        model = fit.fitted.values[:, 0]
        scale = np.max(np.abs(model)) or 1.0
        delay_ps = fit.fitted["delay"].values / 1e3
        ax.plot(delay_ps, data / scale, ".", ms=2.5, color=CYCLE[k], alpha=0.6)
        tau = injection[f"{role}_tau_ps"]
        text = f"{tau:.3g} ps" if tau is not None else "none"
        ax.plot(delay_ps, model / scale, "-", color=CYCLE[k], label=f"{role}: {text}")
    _symlog_delay(ax)
    ax.set_ylabel("normalised signal")
    verdict = "agree" if injection["agree"] else "differ"
    ax.set_title(f"injection: donor decay vs acceptor rise ({verdict})", fontsize=10)
    legend_outside(ax)
    return fig
