"""Figures of a transport analysis: MSD, D(t), L(t) and a montage of fitted frames.

Each function returns a :class:`matplotlib.figure.Figure` (Agg backend, no screen needed), so
callers decide where it goes.
"""

from __future__ import annotations

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tamkit.carrier_transport.analysis import TransportResult  # noqa: E402
from tamkit.core.constants import nm2_per_fs_to_cm2_per_s  # noqa: E402
from tamkit.reporting.style import new_figure

REGIME_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")


def _ok(result: TransportResult) -> np.ndarray:
    f = result.frames
    return (np.asarray(f["status"].values).astype(str) == "ok") & (f["delay"].values > 0)


def _shade_regimes(ax, result: TransportResult) -> None:
    for k, regime in enumerate(result.regimes):
        ax.axvspan(regime.start_fs, regime.end_fs, color=REGIME_COLOURS[k % 4], alpha=0.07, lw=0)


def _model_grid(result: TransportResult) -> np.ndarray:
    lo, hi = result.model.t_range_fs
    return np.geomspace(lo, hi, 400)


def _data_figure(result: TransportResult, key: str, err_key: str, positive_only: bool = False,
                 label: str = "data"):
    """A new figure with the usable frames' ``key`` (error ``err_key``) against delay.

    ``positive_only`` keeps values > 0 and clips their error bars above zero (log axes).
    Returns (fig, ax, values) with the values drawn.
    """
    f = result.frames
    ok = _ok(result)
    t = f["delay"].values[ok]
    y, err = f[key].values[ok], f[err_key].values[ok]
    if positive_only:
        pos = y > 0
        t, y, err = t[pos], y[pos], np.minimum(err[pos], 0.999 * y[pos])
    fig, ax = new_figure(figsize=(6, 4.2), layout="constrained")
    ax.errorbar(t, y, yerr=err, fmt="o", ms=3.5, color="k", ecolor="0.6", lw=0.8, label=label)
    return fig, ax, y


def plot_msd(result: TransportResult) -> Figure:
    """MSD(t) on log axes with the fitted piecewise power law, one colour per regime."""
    fig, ax, _ = _data_figure(result, "msd_nm2", "msd_err_nm2", positive_only=True,
                              label="data (fitted frames)")
    grid = _model_grid(result)
    model = result.model_msd_nm2(grid)
    edges = [r.start_fs for r in result.regimes] + [result.regimes[-1].end_fs]
    for k, regime in enumerate(result.regimes):
        sel = (grid >= edges[k]) & (grid <= edges[k + 1])
        ax.plot(grid[sel], model[sel], color=REGIME_COLOURS[k % 4], lw=2,
                label=f"{regime.name}: alpha = {regime.alpha:.2f} ± {regime.alpha_err:.2f}")
    _shade_regimes(ax, result)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("delay (fs)")
    ax.set_ylabel(r"MSD = $\sigma_t^2 - \sigma_0^2$ (nm$^2$)")
    ax.set_title(rf"$\sigma_0$ = {result.sigma0_nm:.1f} ± {result.sigma0_err_nm:.1f} nm")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_diffusivity(result: TransportResult) -> Figure:
    """Effective diffusivity D(t) = MSD / 2t (cm^2/s) against delay, log time axis."""
    fig, ax, d = _data_figure(result, "D_cm2_s", "D_err_cm2_s")
    grid = _model_grid(result)
    ax.plot(grid, nm2_per_fs_to_cm2_per_s(result.model_msd_nm2(grid) / (2 * grid)), color="C3",
            lw=2, label="regime fit")
    if result.band_like:
        b = result.band_like
        ax.axvline(b.tau_fs, color="C3", ls=":", lw=1)
        ax.set_title(f"D_max = {b.D_max_cm2_s:.0f} ± {b.D_max_err_cm2_s:.0f} cm²/s "
                     f"at tau = {b.tau_fs:.0f} ± {b.tau_err_fs:.0f} fs")
    _shade_regimes(ax, result)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=max(1e-3, float(np.nanmax(np.abs(d))) * 1e-4))
    ax.set_xlabel("delay (fs)")
    ax.set_ylabel(r"D(t) = MSD / 2t (cm$^2$ s$^{-1}$)")
    ax.legend(fontsize=8)
    return fig


def plot_length(result: TransportResult) -> Figure:
    """Transport length L(t) = sqrt(MSD) (nm), as in the paper's Fig. 3c."""
    fig, ax, _ = _data_figure(result, "length_nm", "length_err_nm")
    grid = _model_grid(result)
    ax.plot(grid, np.sqrt(np.clip(result.model_msd_nm2(grid), 0, None)), color="C3", lw=2,
            label="regime fit")
    if result.band_like:
        b = result.band_like
        ax.axhline(b.length_nm, color="C3", ls=":", lw=1)
        dots = f" ({b.n_dots:.0f} dots)" if b.n_dots is not None else ""
        ax.set_title(f"band-like length {b.length_nm:.0f} ± {b.length_err_nm:.0f} nm{dots}")
    _shade_regimes(ax, result)
    ax.set_xscale("log")
    ax.set_xlabel("delay (fs)")
    ax.set_ylabel(r"L = $\sqrt{\sigma_t^2 - \sigma_0^2}$ (nm)")
    ax.legend(fontsize=8)
    return fig


def plot_montage(stack: xr.DataArray, fits: xr.Dataset, n_panels: int = 8) -> Figure:
    """A row of frames across the delays, with the fitted 1-sigma and 2-sigma contours."""
    delay = stack["delay"].values
    signal_idx = np.flatnonzero(delay >= 0)
    pick = signal_idx[np.unique(np.linspace(0, signal_idx.size - 1, n_panels).round().astype(int))]
    ncols = min(4, pick.size)
    nrows = int(np.ceil(pick.size / ncols))
    fig, axes = new_figure(nrows, ncols, figsize=(2.6 * ncols, 2.6 * nrows),
                             layout="constrained", squeeze=False)
    x, y = stack["x"].values, stack["y"].values
    extent = (x[0], x[-1], y[-1], y[0])
    theta = np.linspace(0, 2 * np.pi, 200)
    for ax, i in zip(axes.ravel(), pick, strict=False):
        frame = np.asarray(stack.isel(delay=i).values, float)
        lim = np.nanpercentile(np.abs(frame), 99.5) or 1.0
        ax.imshow(frame, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=extent)
        row = fits.isel(delay=i)
        if str(row["status"].values) == "ok":
            cx, cy, s = (float(row[v]) for v in ("x0_nm", "y0_nm", "sigma_nm"))
            for n in (1, 2):
                ax.plot(cx + n * s * np.cos(theta), cy + n * s * np.sin(theta), "k-", lw=0.8)
            ax.set_title(f"{delay[i]:g} fs, σ = {s:.0f} nm", fontsize=8)
        else:
            ax.set_title(f"{delay[i]:g} fs ({row['status'].values})", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[pick.size:]:
        ax.axis("off")
    return fig
