"""Figures of a TA analysis: map with chirp, kinetics with fits, DAS, SVD, bleach-peak shift.

Each function returns a :class:`matplotlib.figure.Figure` (Agg backend).
"""

from __future__ import annotations

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tamkit.reporting.style import new_figure
from tamkit.spectro.globalfit import GlobalFit  # noqa: E402


def _symlog_delay(ax, linthresh_ps: float = 1.0) -> None:
    ax.set_xscale("symlog", linthresh=linthresh_ps, linscale=1.0)
    ax.set_xlabel("delay (ps)")


def plot_map(tamap: xr.DataArray, fit: GlobalFit | None = None) -> Figure:
    """The raw map (delay on a symlog axis) with the fitted chirp t0(lambda) drawn over it."""
    fig, ax = new_figure(figsize=(6.4, 4.4), layout="constrained")
    delay_ps = tamap["delay"].values / 1e3
    wl = tamap["wavelength"].values
    vmax = float(np.nanpercentile(np.abs(tamap.values), 99.5)) or 1.0
    mesh = ax.pcolormesh(wl, delay_ps, tamap.values, cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                         shading="nearest")
    fig.colorbar(mesh, ax=ax, label=tamap.attrs.get("quantity", "signal"))
    if fit is not None:
        ax.plot(wl, fit.t0_fs(wl) / 1e3, "k--", lw=1.2, label="fitted time zero (chirp)")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylabel("delay (ps)")
    ax.set_xlabel("wavelength (nm)")
    ax.set_title("TA map")
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
    fig, ax = new_figure(figsize=(6.4, 4.4), layout="constrained")
    wls = kinetic_wavelengths(fit) if wavelengths_nm is None else np.asarray(wavelengths_nm)
    delay_ps = tamap["delay"].values / 1e3
    for k, w in enumerate(wls):
        colour = f"C{k}"
        data = tamap.sel(wavelength=w, method="nearest")
        model = fit.fitted.sel(wavelength=w, method="nearest")
        ax.plot(delay_ps, data.values, ".", ms=2.5, color=colour, alpha=0.6)
        ax.plot(delay_ps, model.values, "-", color=colour, lw=1.2,
                label=f"{float(data['wavelength']):.0f} nm")
    _symlog_delay(ax, linthresh_ps=max(1.0, 5 * fit.irf_fwhm_fs / 1e3))
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_ylabel(tamap.attrs.get("quantity", "signal"))
    ax.set_title("kinetics: data (dots) and global fit (lines)")
    ax.legend(fontsize=8)
    return fig


def plot_das(fit: GlobalFit) -> Figure:
    """Decay-associated spectra; components faster than the IRF are labelled as such."""
    fig, ax = new_figure(figsize=(6.4, 4.4), layout="constrained")
    wl = fit.das["wavelength"].values
    for k, (tau, st) in enumerate(zip(fit.lifetimes_fs, fit.status, strict=True)):
        label = f"< IRF ({tau / 1e3:.2g} ps)" if st == "below_irf" else f"{tau / 1e3:.3g} ps"
        if st not in ("ok", "below_irf"):
            label += f" [{st}]"
        ax.plot(wl, fit.das.values[k], lw=1.3, label=label)
    for name in fit.das["component"].values[len(fit.lifetimes_fs):]:
        ax.plot(wl, fit.das.sel(component=name).values, ":", lw=1.0, label=str(name))
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("amplitude")
    ax.set_title("decay-associated spectra")
    ax.legend(fontsize=8)
    return fig


def plot_svd(svd: dict) -> Figure:
    """Singular values against the noise edge."""
    fig, ax = new_figure(figsize=(5.0, 3.6), layout="constrained")
    s = np.asarray(svd["singular_values"])
    ax.semilogy(np.arange(1, s.size + 1), s, "o-")
    ax.axhline(svd["noise_edge"], color="C3", ls="--", label="noise edge")
    ax.set_xlabel("component")
    ax.set_ylabel("singular value")
    ax.set_title(f"SVD: {svd.get('n_smooth', svd['n_significant'])} signal components")
    ax.legend(fontsize=8)
    return fig


def plot_peak_shift(track: xr.Dataset, bleach: dict) -> Figure:
    """Tracked bleach peak energy vs delay with the fitted exponential relaxation."""
    fig, ax = new_figure(figsize=(6.4, 4.0), layout="constrained")
    ok = track["ok"].values & (track["delay"].values > 0)
    t_ps = track["delay"].values[ok] / 1e3
    e = track["peak_meV"].values[ok]
    ax.errorbar(t_ps, e, yerr=track["peak_err_meV"].values[ok], fmt=".", ms=3, alpha=0.7,
                label="peak (local Gaussian fit)")
    e0 = 1e3 * 1239.84198 / bleach["peak0_nm"]
    tau = bleach["tau_ps"]
    grid = np.geomspace(max(t_ps.min(), 1e-3), t_ps.max(), 200)
    ax.plot(grid, e0 + bleach["delta_E_meV"] * (1 - np.exp(-grid / tau)), "k-",
            label=f"Delta E = {bleach['delta_E_meV']:.2f} meV, tau = {tau:.3g} ps")
    ax.set_xscale("log")
    ax.set_xlabel("delay (ps)")
    ax.set_ylabel("bleach peak (meV)")
    sigma = bleach.get("sigma_inh_meV")
    title = "bleach red-shift" + (f": sigma_inh = {sigma:.1f} meV" if sigma else "")
    ax.set_title(title + f"\n({bleach['convention']})", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def plot_injection(injection: dict) -> Figure:
    """Normalised donor and acceptor band kinetics with their fits."""
    fig, ax = new_figure(figsize=(6.4, 4.0), layout="constrained")
    for k, role in enumerate(("donor", "acceptor")):
        fit = injection["fits"][role]
        data = fit.fitted.values[:, 0] + fit.residuals.values[:, 0]
        model = fit.fitted.values[:, 0]
        scale = np.max(np.abs(model)) or 1.0
        delay_ps = fit.fitted["delay"].values / 1e3
        ax.plot(delay_ps, data / scale, ".", ms=2.5, color=f"C{k}", alpha=0.6)
        tau = injection[f"{role}_tau_ps"]
        text = f"{tau:.3g} ps" if tau is not None else "none"
        ax.plot(delay_ps, model / scale, "-", color=f"C{k}", label=f"{role}: {text}")
    _symlog_delay(ax)
    ax.set_ylabel("normalised signal")
    verdict = "agree" if injection["agree"] else "differ"
    ax.set_title(f"injection: donor decay vs acceptor rise ({verdict})")
    ax.legend(fontsize=8)
    return fig
