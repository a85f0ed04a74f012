"""The widget's three panels, drawn on a matplotlib Figure (no pyplot, no Qt).

MSD(t) with the fitted model and the regimes, D(t) = MSD/2t, and the kymograph of the line cut
through the spot centre with the fitted FWHM marked.
"""

from __future__ import annotations

import numpy as np

from tamkit.core.constants import nm2_per_fs_to_cm2_per_s
from tamkit.napari.layers import HWHM_PER_SIGMA, LineCut, format_delay

#: Okabe-Ito, colour-blind safe; one colour per regime, in order
REGIME_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2")
MARK = "#D55E00"


def _regimes(ax, result) -> None:
    for k, regime in enumerate(result.regimes):
        ax.axvspan(regime.start_fs, regime.end_fs, color=REGIME_COLOURS[k % 5], alpha=0.18, lw=0,
                   label=f"{regime.name}: α = {regime.alpha:.2f}")


def draw_transport(fig, analysis, cut: LineCut) -> dict:
    """Draw MSD, D(t) and the kymograph of ``analysis`` on ``fig``; return the axes by name."""
    fig.clear()
    ax_msd, ax_d, ax_k = fig.subplots(3, 1, sharex=True)
    result = analysis.result
    frames = result.frames
    t = frames["delay"].values.astype(float)
    ok = (frames["status"].values == "ok") & (t > 0)
    grid = np.geomspace(t[ok].min(), t[ok].max(), 200) if ok.any() else np.array([1.0, 10.0])

    msd, msd_err = frames["msd_nm2"].values, frames["msd_err_nm2"].values
    _regimes(ax_msd, result)
    ax_msd.errorbar(t[ok], msd[ok], yerr=msd_err[ok], fmt="o", ms=2.5, color="k", ecolor="0.6",
                    lw=0.6, label="frames")
    model = result.model_msd_nm2(grid)
    ax_msd.plot(grid, np.where(model > 0, model, np.nan), color=MARK, lw=1.5, label="fit")
    ax_msd.set_xscale("log")
    ax_msd.set_yscale("log")
    ax_msd.set_ylabel("MSD (nm²)")
    ax_msd.legend(fontsize=6, loc="lower right", frameon=False)

    d, d_err = frames["D_cm2_s"].values, frames["D_err_cm2_s"].values
    _regimes(ax_d, result)
    ax_d.errorbar(t[ok], d[ok], yerr=d_err[ok], fmt="o", ms=2.5, color="k", ecolor="0.6", lw=0.6)
    ax_d.plot(grid, nm2_per_fs_to_cm2_per_s(model / (2.0 * grid)), color=MARK, lw=1.5)
    b = result.band_like
    if b is not None:
        tau = ax_d.axvline(b.tau_fs, color=MARK, ls=":", lw=1,
                           label=f"τ = {format_delay(b.tau_fs)}, D_max = {b.D_max_cm2_s:.3g} cm²/s")
        ax_d.legend(handles=[tau], fontsize=6, loc="upper right", frameon=False)
    ax_d.set_ylabel("D(t) (cm²/s)")
    ax_d.axhline(0.0, color="0.7", lw=0.5)

    pos = cut.delay_fs > 0
    if pos.sum() >= 2:
        td = cut.delay_fs[pos]
        edges = np.concatenate([[td[0] ** 1.5 / td[1] ** 0.5], np.sqrt(td[1:] * td[:-1]),
                                [td[-1] ** 1.5 / td[-2] ** 0.5]])
        dx = np.diff(cut.x_nm).mean() if cut.x_nm.size > 1 else 1.0
        xedges = np.concatenate([cut.x_nm - dx / 2, [cut.x_nm[-1] + dx / 2]])
        mesh = ax_k.pcolormesh(edges, xedges, cut.normalised[pos].T, cmap="magma", vmin=0,
                               vmax=1, shading="flat", rasterized=True)
        cbar = fig.colorbar(mesh, ax=ax_k, pad=0.02, fraction=0.05)
        cbar.set_label("dT/T / row peak", fontsize=7)
        cbar.ax.tick_params(labelsize=6)
        x0 = frames["x0_nm"].values
        hw = HWHM_PER_SIGMA * frames["sigma_nm"].values
        ax_k.plot(t[ok], x0[ok] + hw[ok], color="w", lw=1.0, ls="--")
        ax_k.plot(t[ok], x0[ok] - hw[ok], color="w", lw=1.0, ls="--")
        ax_k.set_title("line cut along x; dashed: fitted FWHM", fontsize=7)
    ax_k.set_ylabel(f"x (nm) at y = {cut.y_nm:.0f} nm")
    ax_k.set_xlabel("delay (fs)")
    for ax in (ax_msd, ax_d, ax_k):
        ax.tick_params(labelsize=7)
        ax.yaxis.label.set_size(8)
        ax.xaxis.label.set_size(8)
    return {"msd": ax_msd, "D": ax_d, "kymograph": ax_k}


def mark_delay(axes: dict, delay_fs: float, lines: list) -> list:
    """Move the marker of the current frame (a vertical line on every panel) to ``delay_fs``."""
    for line in lines:
        line.remove()
    if not np.isfinite(delay_fs) or delay_fs <= 0:
        return []
    return [ax.axvline(delay_fs, color="0.3", lw=0.8, alpha=0.8) for ax in axes.values()]
