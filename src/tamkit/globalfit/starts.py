"""Starting values of a global fit from the per-frame fits: cheap, on widths only.

Each candidate MSD model is first fitted to the per-frame widths sigma_t^2 (a few tens of
numbers, from several starting breaks); the best of these starts the pixel-level fit. This only
has to land in the right basin: the pixel-level fit decides the numbers.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from tamkit.carrier_transport.batch_lsq import batched_least_squares
from tamkit.globalfit.msd_models import MsdModel

#: starting first breaks of the width-level fits, log-spaced over the delays
N_START_BREAKS = 8
#: Levenberg-Marquardt iterations of each width-level fit
MAX_ITER = 100


def _fit_starts(model: MsdModel, t: np.ndarray, s2: np.ndarray, err: np.ndarray,
                starts: list[np.ndarray], lo: np.ndarray,
                hi: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Width-level fits of ``model`` to sigma_t^2 (nm^2, errors ``err`` nm^2), all starts at
    once (one batched Levenberg-Marquardt with the closed-form Jacobian; one scipy call per
    start cost ~10 ms of Python each, most of a global fit's time): (cost, theta) pairs of
    those that ended finite."""
    if not starts:
        return []
    inv_err = 1.0 / np.asarray(err, float)
    upper = np.where(np.isfinite(hi), hi - 1e-6, hi)
    p0 = np.clip(np.array(starts, float), lo + 1e-6, upper)

    def fun(rows_theta, _rows):
        s2_rows, jac = model.sigma_sq_rows(t, rows_theta)
        return (s2_rows - s2) * inv_err, jac * inv_err[None, :, None]

    with np.errstate(all="ignore"):
        params, cost = batched_least_squares(fun, p0, lo, hi, max_iter=MAX_ITER)
    return [(float(c), x) for c, x in zip(cost, params, strict=True) if np.isfinite(c)]


def frame_widths(fits: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(delay_fs, sigma^2 nm^2, its error nm^2) of the usable per-frame fits at t >= 0."""
    t = np.asarray(fits["delay"].values, float)
    s = np.asarray(fits["sigma_nm"].values, float)
    e = np.asarray(fits["sigma_err_nm"].values, float)
    ok = (np.asarray(fits["status"].values).astype(str) == "ok") & (t >= 0)
    ok &= np.isfinite(s) & np.isfinite(e) & (e > 0)
    return t[ok], s[ok] ** 2, 2 * s[ok] * e[ok]


def frame_centres(fits: xr.Dataset, delay_fs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame centres (nm) at ``delay_fs``: the usable fits', interpolated in delay order
    across frames whose fit failed (0 when none is usable)."""
    t = np.asarray(fits["delay"].values, float)
    ok = (np.asarray(fits["status"].values).astype(str) == "ok") & (t >= 0)
    out = []
    for key in ("x0_nm", "y0_nm"):
        v = np.asarray(fits[key].values, float)
        good = ok & np.isfinite(v)
        if good.sum() == 0:
            out.append(np.zeros(np.size(delay_fs)))
            continue
        order = np.argsort(t[good])
        out.append(np.interp(delay_fs, t[good][order], v[good][order]))
    return out[0], out[1]


def prefit(model: MsdModel, t: np.ndarray, s2: np.ndarray, err: np.ndarray,
           n_best: int = 1) -> np.ndarray | list[np.ndarray]:
    """The best of a few width-level fits of ``model`` (its ``theta``); with ``n_best`` > 1 a
    list of up to that many, the best first, with distinct first breaks."""
    pos = t > 0
    early = s2[: max(3, s2.size // 10)]
    s0sq = float(np.median(early)) if early.size else float(np.median(s2))
    excess = np.clip(s2 - s0sq, 1e-3 * s0sq, None)
    order = np.argsort(t)

    def msd_at(tt):
        return float(np.interp(tt, t[order], excess[order]))

    t_lo, t_hi = model.t_range_fs
    lo, hi = model.bounds()
    lo[0] = max(lo[0], 1.0)
    if pos.sum() < model.n_params + 2:
        return model.start(s0sq, msd_at, np.sqrt(t_lo * t_hi))
    # a grid of first breaks (a coarse grid lands in a wrong basin: at SNR 12 the pixel-level
    # optimum from 3 starting breaks was up to 10 in chi^2 above the one from the truth)
    breaks = np.geomspace(max(t_lo * 3, t[pos][2] if pos.sum() > 3 else t_lo),
                          t_hi / 10, N_START_BREAKS)
    starts = []
    for tb in breaks:
        if model.family == "sbpl":
            later = tuple(np.geomspace(tb * 3, t_hi / 2, model.k + 1)[1:]) if model.k else None
            starts.append(model.start(s0sq, msd_at, tb, breaks_fs=later))
        elif model.k > 1:
            starts.append(model.start(s0sq, msd_at, tb,
                                      breaks_fs=tuple(np.geomspace(tb, t_hi, model.k)[:-1])))
    if model.family == "piecewise" and model.k == 1:
        starts = [model.start(s0sq, msd_at, t_lo, alphas=(0.7,))]

    found = _fit_starts(model, t, s2, err, starts, lo, hi)
    if not found:
        return starts[0] if n_best == 1 else [starts[0]]
    found.sort(key=lambda c: c[0])
    if n_best == 1:
        return found[0][1]
    # the best few with distinct first breaks (a factor 1.5 apart): other basins of a
    # likelihood that is multi-modal in the breaks at low SNR
    i_break = 4 if model.family == "sbpl" else (2 + model.k if model.k > 1 else None)
    out = [found[0][1]]
    for _, x in found[1:]:
        if len(out) >= n_best or i_break is None:
            break
        if all(abs(x[i_break] - o[i_break]) > np.log(1.5) for o in out):
            out.append(x)
    return out
