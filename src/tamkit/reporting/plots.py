"""Figures of a transport analysis: MSD, D(t), L(t), the moments and a montage of fitted frames.

Each function returns a :class:`matplotlib.figure.Figure` (Agg backend, no screen needed), so
callers decide where it goes; the look comes from :mod:`tamkit.reporting.style`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from tamkit.carrier_transport.analysis import TransportResult
from tamkit.core.constants import nm2_per_fs_to_cm2_per_s
from tamkit.reporting.style import (
    OKABE_ITO,
    delay_axis,
    format_delay,
    format_pm,
    legend_outside,
    log_points,
    new_figure,
    regime_colour,
)

FIGSIZE = (8.4, 4.4)
LEGEND_IN = 2.6
#: Title height (axes fraction) of the log-y axes: where matplotlib's automatic placement puts
#: it (bottom ticks, and a log axis has no offset text to avoid), given up front so that each
#: draw skips measuring the y axis a second time for it
TITLE_Y = 1.0


def _ok(result: TransportResult) -> np.ndarray:
    f = result.frames
    return (np.asarray(f["status"].values).astype(str) == "ok") & (f["delay"].values > 0)


def _shade_regimes(ax, result: TransportResult) -> None:
    for regime in result.regimes:
        ax.axvspan(regime.start_fs, regime.end_fs, color=regime_colour(regime.name), alpha=0.08,
                   lw=0)


def _model_grid(result: TransportResult) -> np.ndarray:
    lo, hi = result.model.t_range_fs
    return np.geomspace(lo, hi, 400)


def _column(result: TransportResult, key: str, err_key: str):
    f = result.frames
    ok = _ok(result)
    return f["delay"].values[ok], f[key].values[ok], f[err_key].values[ok]


def _regime_curves(ax, result: TransportResult, transform=lambda grid, m: m) -> None:
    grid = _model_grid(result)
    model = transform(grid, result.model_msd_nm2(grid))
    for regime in result.regimes:
        sel = (grid >= regime.start_fs) & (grid <= regime.end_fs)
        ax.plot(grid[sel], model[sel], color=regime_colour(regime.name), lw=2.2,
                label=f"{regime.name}: α = {format_pm(regime.alpha, regime.alpha_err)}")


def plot_msd(result: TransportResult) -> Figure:
    """MSD(t) on log axes with the fitted piecewise power law, one colour per regime."""
    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN)
    t, y, err = _column(result, "msd_nm2", "msd_err_nm2")
    log_points(ax, t, y, err, "0.25", label="fitted frames", ecolor="0.65")
    _regime_curves(ax, result)
    _shade_regimes(ax, result)
    ax.set_xscale("log")
    ax.set_yscale("log")
    delay_axis(ax)
    ax.set_ylabel("MSD = σ$_t^2$ − σ$_0^2$ (nm²)")
    ax.set_title(f"σ₀ = {format_pm(result.sigma0_nm, result.sigma0_err_nm, 'nm')}", fontsize=10,
                 y=TITLE_Y)
    legend_outside(ax)
    return fig


def plot_diffusivity(result: TransportResult) -> Figure:
    """D(t) = MSD / 2t (cm²/s) on log axes; non-positive values marked on the bottom edge."""
    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN)
    t, d, err = _column(result, "D_cm2_s", "D_err_cm2_s")
    log_points(ax, t, d, err, "0.25", label="fitted frames", ecolor="0.65")
    _regime_curves(ax, result, lambda g, m: nm2_per_fs_to_cm2_per_s(m / (2 * g)))
    if result.band_like:
        b = result.band_like
        ax.axvline(b.tau_fs, color=regime_colour("band-like"), ls=":", lw=1.2,
                   label=f"τ = {format_pm(b.tau_fs, b.tau_err_fs, 'fs')}")
        ax.set_title(f"D$_{{max}}$ = {format_pm(b.D_max_cm2_s, b.D_max_err_cm2_s, 'cm²/s')}",
                     fontsize=10, y=TITLE_Y)
    _shade_regimes(ax, result)
    ax.set_xscale("log")
    ax.set_yscale("log")
    delay_axis(ax)
    ax.set_ylabel("D(t) = MSD / 2t (cm²/s)")
    legend_outside(ax)
    return fig


def plot_length(result: TransportResult) -> Figure:
    """Transport length L(t) = sqrt(MSD) (nm), as in the paper's Fig. 3c."""
    fig, ax = new_figure(figsize=FIGSIZE, legend_in=LEGEND_IN)
    t, y, err = _column(result, "length_nm", "length_err_nm")
    ax.errorbar(t, y, yerr=err, fmt="o", ms=3.5, color="0.25", ecolor="0.65", lw=0.8,
                label="fitted frames")
    _regime_curves(ax, result, lambda g, m: np.sqrt(np.clip(m, 0, None)))
    if result.band_like:
        b = result.band_like
        dots = f" ({b.n_dots:.0f} dots)" if b.n_dots is not None else ""
        ax.axhline(b.length_nm, color=regime_colour("band-like"), ls=":", lw=1.2,
                   label=f"band-like length{dots}")
        ax.set_title(f"band-like length {format_pm(b.length_nm, b.length_err_nm, 'nm')}{dots}",
                     fontsize=10)
    _shade_regimes(ax, result)
    ax.set_xscale("log")
    delay_axis(ax)
    ax.set_ylabel("L = √(σ$_t^2$ − σ$_0^2$) (nm)")
    legend_outside(ax)
    return fig


def plot_moments(result: TransportResult, gaussianity=None) -> Figure:
    """The model-free moment MSD beside the Gaussian-fit MSD (left) and the excess kurtosis of
    the spot against delay with its errors (right): a Gaussian spot has both MSDs equal and
    excess kurtosis 0."""
    fig, (ax, ax2) = new_figure(1, 2, figsize=(11.4, 4.4), legend_in=LEGEND_IN,
                                margins={"wspace": 0.3})
    t, y, err = _column(result, "msd_nm2", "msd_err_nm2")
    log_points(ax, t, y, err, OKABE_ITO["blue"], label="Gaussian-fit MSD")
    f = result.frames
    dt = f["delay"].values
    moment = f["msd_moment_nm2"].values if "msd_moment_nm2" in f else np.full(dt.shape, np.nan)
    merr = f["msd_moment_err_nm2"].values if "msd_moment_err_nm2" in f else moment * np.nan
    sel = np.isfinite(moment) & (dt > 0)
    log_points(ax, dt[sel], moment[sel], merr[sel], OKABE_ITO["vermillion"],
               label="moment MSD (model-free)", fmt="s", ms=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    delay_axis(ax)
    ax.set_ylabel("MSD (nm²)")
    ax.set_title("second moment vs Gaussian fit", fontsize=10, y=TITLE_Y)
    ek = f["excess_kurtosis"].values if "excess_kurtosis" in f else np.full(dt.shape, np.nan)
    eke = f["excess_kurtosis_err"].values if "excess_kurtosis_err" in f else ek * np.nan
    sel = np.isfinite(ek) & (dt > 0)
    ax2.axhline(0, color="0.4", lw=0.8, ls="--", label="Gaussian (excess kurtosis 0)")
    informative = sel & (np.nan_to_num(eke, nan=np.inf) <= 1.0)
    ax2.errorbar(dt[informative], ek[informative], yerr=eke[informative], fmt="o", ms=3, lw=0.8,
                 color=OKABE_ITO["purple"], label="excess kurtosis ± 1 s.e.")
    hidden = int((sel & ~informative).sum())
    if hidden:
        ax2.plot([], [], " ", label=f"{hidden} frame(s) with error > 1 not shown")
    onset = getattr(gaussianity, "first_non_gaussian_fs", None)
    if onset is not None:
        ax2.axvline(onset, color=OKABE_ITO["black"], ls=":", lw=1.2,
                    label=f"non-Gaussian from {format_delay(onset)}")
    _shade_regimes(ax, result)
    _shade_regimes(ax2, result)
    ax2.set_xscale("log")
    delay_axis(ax2)
    ax2.set_ylabel("excess kurtosis")
    title = "spot shape: excess kurtosis"
    if gaussianity is not None:
        title += {True: " (Gaussian within errors)", False: " (non-Gaussian)",
                  None: " (too few frames to test the shape)"}[gaussianity.gaussian]
    ax2.set_title(title, fontsize=10)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    legend_outside(ax2, h1 + h2, l1 + l2)
    return fig


def _scale_bar(ax, x, y, colour="k") -> None:
    span = float(x[-1] - x[0])
    nice = 10 ** np.floor(np.log10(span / 4))
    length = max(v * nice for v in (1, 2, 5) if v * nice <= span / 3)
    x0 = x[0] + 0.06 * span
    y0 = y[-1] - 0.08 * float(y[-1] - y[0])
    ax.plot([x0, x0 + length], [y0, y0], color=colour, lw=3, solid_capstyle="butt")
    text = f"{length / 1e3:g} µm" if length >= 1e3 else f"{length:g} nm"
    ax.text(x0 + length / 2, y0 - 0.03 * float(y[-1] - y[0]), text, ha="center", va="bottom",
            fontsize=8, color=colour)


def plot_montage(stack: xr.DataArray, fits: xr.Dataset, n_panels: int = 8) -> Figure:
    """Frames across the delays on one colour scale (each normalised to its own peak), with the
    fitted Gaussian's 1-sigma contour (dashed), a scale bar and a colour bar."""
    delay = stack["delay"].values
    signal_idx = np.flatnonzero(delay >= 0)
    pick = signal_idx[np.unique(np.linspace(0, signal_idx.size - 1, n_panels).round().astype(int))]
    ncols = min(4, pick.size)
    nrows = int(np.ceil(pick.size / ncols))
    fig, axes = new_figure(nrows, ncols, figsize=(2.5 * ncols + 1.2, 2.7 * nrows + 0.5),
                           squeeze=False, margins={"left": 0.1, "right": 1.1, "bottom": 0.5,
                                                   "top": 0.55, "wspace": 0.08,
                                                   "hspace": 0.3})
    x, y = stack["x"].values, stack["y"].values
    extent = (x[0], x[-1], y[-1], y[0])
    theta = np.linspace(0, 2 * np.pi, 200)
    sign = float(stack.attrs.get("signal_sign", 0)) or None
    image = None
    for ax, i in zip(axes.ravel(), pick, strict=False):
        frame = np.asarray(stack.isel(delay=i).values, float)
        s = sign or (1.0 if np.nanmax(frame) >= -np.nanmin(frame) else -1.0)
        peak = np.nanpercentile(s * frame, 99.5) or 1.0
        image = ax.imshow(s * frame / peak, cmap="RdBu_r", vmin=-1, vmax=1, extent=extent,
                          interpolation="nearest")
        row = fits.isel(delay=i)
        if str(row["status"].values) == "ok":
            cx, cy, sig = (float(row[v]) for v in ("x0_nm", "y0_nm", "sigma_nm"))
            ax.plot(cx + sig * np.cos(theta), cy + sig * np.sin(theta), "k--", lw=1.0)
            ax.set_title(f"{format_delay(delay[i])}: σ = {sig:.0f} nm", fontsize=9)
        else:
            ax.set_title(f"{format_delay(delay[i])} ({row['status'].values})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        _scale_bar(ax, x, y)
    for ax in axes.ravel()[pick.size:]:
        ax.axis("off")
    cax = fig.add_axes((1 - 0.95 / fig.get_figwidth(), 0.2, 0.14 / fig.get_figwidth(), 0.6))
    fig.colorbar(image, cax=cax, label="signal / frame peak (sign-corrected ΔT/T)")
    fig.text(0.01, 0.015, "dashed: fitted Gaussian, 1σ contour (σ = per-axis standard "
             "deviation)", fontsize=8)
    return fig
