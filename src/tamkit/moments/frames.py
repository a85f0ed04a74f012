"""Model-free moments of every frame: centre of mass, principal variances, excess kurtosis, MSD.

The recipe, per frame (all frames at once, vectorised):

1. **Background.** The per-pixel mean of the pre-time-zero frames is subtracted from every frame
   (a static background: scatter, a long-lived signal from the previous pulse, fixed-pattern
   offsets, persistent hot pixels); then a per-frame offset, the mean of an outer annulus (pixels
   beyond a Mahalanobis radius ``aperture_k + annulus_gap`` of the current spot), is subtracted.
   Without pre-zero frames only the annulus is used; where the spot leaves no annulus, the pixels
   outside the aperture serve, and with too few of those no offset is subtracted.
2. **Noise.** The per-pixel noise of each frame is the standard deviation of its annulus pixels
   (after both subtractions, so that it includes the noise of the pre-zero map).
3. **Adaptive aperture.** Centre and covariance are iterated: the aperture is the ellipse of
   Mahalanobis radius ``aperture_k`` of the current truncation-corrected covariance, about the
   current centre of mass, shrunk where the field edge would cut it.
4. **Moments.** Inside the converged aperture: centre of mass, the central second moments along
   the principal axes, and the fourth moment of each principal axis's 1D marginal.
5. **Truncation bias.** Divided out in closed form, assuming the profile is Gaussian within and
   beyond the aperture (:mod:`tamkit.moments.truncation`): exact for a Gaussian, approximate
   for a profile whose tail beyond the aperture is heavier.
6. **Noise bias and errors.** Noise adds no mean to the sums, but the estimator is non-linear in
   them (a ratio, a centre subtracted, a square): its noise bias is second order and grows with
   the aperture as noise pixels far out weigh ``r^2`` and ``r^4``. Both bias and error come from
   a parametric resampling of the sums with their exact noise covariance (:mod:`._sums`):
   ``estimate = 2 f(T) - mean f(T*)``, ``error = std f(T*)``.
7. **Kurtosis** (default): the aperture marginals' kurtosis is kept (``ek_aperture``), but
   ``excess_kurtosis`` is 3 c_2 of a Gauss-Laguerre expansion fitted to every pixel
   (:mod:`tamkit.moments.laguerre`: apodised moments whose weighting bias the expansion corrects
   in closed form; exact zero for a Gaussian), with Fisher errors, pooled over 5 adjacent
   frames. At peak SNR 30 its per-frame error is ~6x below the aperture kurtosis'.
8. **MSD.** Per axis, the mean of the two principal variances minus its value at time zero (the
   intercept of a weighted straight line through the first usable frames at t >= 0):
   ``MSD = sigma_t^2 - sigma_0^2``, as for the Gaussian fits.

Notes
-----
The imaged spot is the carrier distribution convolved with the detection point-spread function
(and, for a camera, the pixel box). Convolution adds variances, so for a Gaussian PSF the MSD is
unaffected; cumulants add too, so the fourth cumulant of the carriers survives but the excess
kurtosis ``kappa_4 / sigma^4`` is diluted by ``(sigma_carriers^2 / sigma_image^2)^2``. The
excess kurtosis reported is the image's; a value consistent with 0 does not prove the carrier
distribution Gaussian when the PSF dominates the width. The same holds for the initial
excitation profile, whose width sigma_0 dilutes the kurtosis of the spreading part.

References
----------
Moments, excess kurtosis and Gaussianity of spreading profiles, e.g. arXiv 2510.15587 (public code
``phond-uam/TM_kurtosis``); here the background is not hand-tuned but measured.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from tamkit.core.errors import InputError
from tamkit.core.frames import FrameReader
from tamkit.moments._aperture import aperture_pass
from tamkit.moments._sums import estimator, noise_covariance, sums_vector
from tamkit.moments.laguerre import laguerre_moments, pooled
from tamkit.moments.truncation import variance_factor

#: The aperture iteration stops when no centre or width moves by more than this (pixels).
CONVERGED_PX = 0.01
#: Width (pixels) the adaptive aperture starts from when no guess is given.
START_SIGMA_PX = 1.5
#: Frames at t >= 0 used to pick the sign of the signal.
SIGN_FRAMES = 5
#: Fewest annulus pixels for a per-frame offset and noise estimate.
MIN_ANNULUS_PX = 60
#: Smallest Mahalanobis radius the field may shrink the aperture to before a frame is 'truncated'.
MIN_APERTURE_K = 2.5
#: Signal sum below this many of its own standard errors: the frame is 'low_signal'.
MIN_SIGNAL_SIGNIFICANCE = 8.0
#: First usable frames at t >= 0 whose straight line gives the moment variance at time zero.
N_SIGMA0_FRAMES = 5

BACKGROUND_PREZERO = (
    "per-pixel mean of the {n} pre-time-zero frames subtracted from every frame, then a per-frame "
    "offset: the mean of the pixels beyond a Mahalanobis radius {ka:g} of the spot (outer annulus)"
)
BACKGROUND_ANNULUS = (
    "no pre-time-zero frames: a per-frame offset only, the mean of the pixels beyond a "
    "Mahalanobis radius {ka:g} of the spot (outer annulus)"
)
TRUNCATION_NOTE = (
    "elliptical aperture of Mahalanobis radius {k:g} (smaller where the field edge cuts it); "
    "truncation corrected in closed form assuming a Gaussian profile (exact for a Gaussian; a "
    "heavier tail beyond the aperture is not recovered)"
)
NOISE_NOTE = (
    "per-pixel noise from the annulus scatter; noise bias (second order: ratio, centre, squares) "
    "and errors from {b} parametric resamplings of the aperture sums with their exact noise "
    "covariance"
)


def frame_moments(
    stack: xr.DataArray,
    *,
    sign: int | None = None,
    aperture_k: float = 4.0,
    annulus_gap: float = 1.5,
    n_iter: int = 12,
    n_resample: int = 256,
    guess: xr.Dataset | None = None,
    profiles: bool = True,
    seed: int = 0,
    kurtosis: str = "laguerre",
    pool_frames: int = 5,
) -> xr.Dataset:
    """Model-free moments of every frame of a stack.

    Parameters
    ----------
    stack : xarray.DataArray
        dT/T, dims (delay, y, x); delays in fs, x and y in nm.
    sign : {+1, -1}, optional
        Sign of the signal (+1 bleach, -1 photoinduced absorption); found from the early frames
        when not given.
    aperture_k : float
        Aperture radius in units of the spot's own width (Mahalanobis radius). Larger apertures
        truncate less and are noisier (the variance's noise grows as the radius cubed).
    annulus_gap : float
        The background annulus starts this many widths outside the aperture.
    n_iter : int
        Most iterations of the adaptive aperture.
    n_resample : int
        Parametric resamplings for the noise bias and the errors.
    guess : xarray.Dataset, optional
        Per-frame fits (``x0_nm``, ``y0_nm``, ``sigma_nm``) to start the aperture from; only
        the starting point: the result does not depend on it once converged.
    profiles : bool
        Also keep radial profiles and line cuts through the centre.
    seed : int
        Seed of the resampling.
    kurtosis : {"laguerre", "aperture"}
        Estimator of ``excess_kurtosis``: ``laguerre`` (default), 3 c_2 of a Gauss-Laguerre
        expansion fitted to every pixel within 6 widths (:mod:`tamkit.moments.laguerre`), with
        its Fisher error, pooled over ``pool_frames``; ``aperture``, the mean of the aperture
        marginals' kurtoses (``ek_major``, ``ek_minor``). Both are kept: ``ek_laguerre_frame``
        (unpooled) and ``ek_aperture``.
    pool_frames : int
        Odd number of adjacent usable frames (centred, inverse-variance) the Laguerre kurtosis
        is pooled over; 1 for none. The errors include the noise the frames share through
        the pre-zero background map. At peak SNR 30 one frame's kurtosis error (~0.15 at 10 ps
        on a 64x64 stack) is above the 3-error detection of a 35 % hot minority's EK ~0.45;
        five frames bring it to ~0.09.

    Returns
    -------
    xarray.Dataset
        One row per delay: ``x0_nm``, ``y0_nm`` (centre of mass), ``var_major_nm2``,
        ``var_minor_nm2``, ``theta_rad`` (principal axes), ``variance_nm2`` (their mean) and
        ``variance_err_nm2``, ``msd_moment_nm2`` and ``msd_moment_err_nm2``,
        ``ek_major``, ``ek_minor``, ``excess_kurtosis`` (their mean) and
        ``excess_kurtosis_err`` (by default the pooled Gauss-Laguerre kurtosis; see
        ``kurtosis``), ``ek_laguerre_frame(_err)``, ``ek_aperture(_err)``,
        ``variance_laguerre_nm2`` (and ``_err``: the expansion's variance, ~5 % errors at peak
        SNR 30 where the aperture variance's are ~8 %, but 12 % low on the hot mixture by
        100 ps), ``aperture_k``, ``aperture_major_nm``, ``offset``,
        ``noise_std``, ``n_annulus_px``, ``signal``, ``signal_err``, ``status``; with
        ``profiles``, ``radial_profile`` (delay, r_nm), ``cut_x`` (delay, x), ``cut_y``
        (delay, y) of the background-subtracted, sign-corrected signal. ``attrs`` state the
        background, truncation and noise treatment and ``sigma0_sq_nm2``.

    Notes
    -----
    See the module docstring: background, truncation and noise-bias corrections, and why a
    Gaussian point-spread function leaves the MSD unchanged but dilutes the kurtosis.
    """
    delay = np.asarray(stack["delay"].values, float)
    pix = float(stack.attrs["pixel_nm"])
    xs = np.asarray(stack["x"].values, float) / pix
    ys = np.asarray(stack["y"].values, float) / pix
    n, ny, nx = (int(stack.sizes[d]) for d in ("delay", "y", "x"))
    baseline = delay < 0
    n_base = int(baseline.sum())
    bmap = None
    reader = FrameReader(stack)  # one file chunk of a dask-backed stack read at a time
    if n_base:
        raw = reader.read(np.flatnonzero(baseline))
        vb = np.isfinite(raw)
        bmap = np.where(vb, raw, 0.0).sum(0) / np.maximum(vb.sum(0), 1)
        del raw, vb
    if sign is None:
        idx = np.flatnonzero(delay >= 0)[:SIGN_FRAMES]
        if idx.size == 0:
            raise InputError("no frame at delay >= 0: nothing to take moments of")
        sign = _sign(_frames(reader, idx, bmap, 1)[0].reshape(idx.size, ny, nx), delay[idx])
    X = np.broadcast_to(xs[None, :], (ny, nx)).ravel()
    Y = np.broadcast_to(ys[:, None], (ny, nx)).ravel()
    edges = (xs.min() - 0.5, xs.max() + 0.5, ys.min() - 0.5, ys.max() + 0.5)
    start = _start_of(guess, pix, nx, ny)

    # frames are independent up to here: work through the stack in blocks of frames, so that the
    # (frames x pixels) temporaries stay small whatever the stack's size
    block = max(1, CHUNK_BYTES // (8 * ny * nx))
    keys = ("cx", "cy", "cxx", "cxy", "cyy", "k", "offset", "offset_used", "noise",
            "n_annulus", "t", "geom")
    parts: dict[str, list] = {key: [] for key in keys}
    prof_parts = []
    for lo in range(0, n, block):
        idx = np.arange(lo, min(n, lo + block))
        w, valid = _frames(reader, idx, bmap, sign)
        res = _block_sums(w, valid, X, Y, xs, ys, start, idx, pix, aperture_k, annulus_gap,
                          edges, n_iter)
        for key in keys:
            parts[key].append(res[key])
        # one block is kept for the profiles; more are read again then (memory over time)
        prof_parts.append((w, valid, res["offset"], idx) if lo == 0 and block >= n else
                          (None, None, res["offset"], idx))
        del w, valid
    cx, cy, cxx, cxy, cyy, kk, off, offset_used, noise, n_ann, t, geom = (
        np.concatenate(parts[key]) for key in keys)
    noise = _fill_noise(noise, n_ann, lambda: _frames(reader, np.flatnonzero(baseline), bmap,
                                                      sign), baseline)
    scale = kk * np.sqrt(0.5 * (cxx + cyy))  # per-frame length (px) that makes the sums O(1)
    cov = noise_covariance(geom, noise**2, np.where(offset_used, n_ann, 0))
    est, err = _resampled(t, cov, kk, n_resample, seed)

    status = np.full(n, "ok", dtype=object)
    status[kk < MIN_APERTURE_K] = "truncated"
    with np.errstate(divide="ignore", invalid="ignore"):
        significance = est["signal"] / err["signal"]
    status[~(significance > MIN_SIGNAL_SIGNIFICANCE)] = "low_signal"
    status[~np.isfinite(est["variance"]) | ~np.isfinite(err["variance"])] = "failed"
    status[baseline] = "baseline"

    ek_ap, ek_ap_err = est["excess_kurtosis"], err["excess_kurtosis"]
    ok_frames = (status == "ok") & ~baseline
    x0p, y0p = cx + est["dx"] * scale, cy + est["dy"] * scale
    if kurtosis == "laguerre":
        lag = _laguerre_frames(reader, bmap, sign, X, Y, (x0p, y0p, cxx, cxy, cyy), ok_frames)
        ek_f, ek_f_err = lag["ek"], lag["ek_err"]
        usable_ek = ok_frames & lag["converged"]
        half = max(0, (int(pool_frames) - 1) // 2)
        common = 1.0 / (n_base + 1) if n_base else 0.0
        ek, ek_err = pooled(ek_f, ek_f_err, usable_ek, half, common)
        var_lag = np.where(usable_ek, lag.get("variance", np.full(n, np.nan)), np.nan)
        var_lag_err = np.where(usable_ek, lag.get("variance_err", np.full(n, np.nan)), np.nan)
    elif kurtosis == "aperture":
        ek_f = ek_f_err = var_lag = var_lag_err = np.full(n, np.nan)
        ek, ek_err, half = ek_ap, ek_ap_err, 0
    else:
        raise InputError(f"kurtosis must be 'laguerre' or 'aperture', got {kurtosis!r}")

    L2 = (scale * pix) ** 2
    variance, variance_err = est["variance"] * L2, err["variance"] * L2
    sigma0_sq, sigma0_sq_err, used = _variance_at_zero(delay, variance, variance_err, status)
    msd = np.where(delay >= 0, variance - sigma0_sq, np.nan)
    msd_err = np.where(delay >= 0, np.hypot(variance_err, sigma0_sq_err), np.nan)
    x0 = (cx + est["dx"] * scale) * pix
    y0 = (cy + est["dy"] * scale) * pix
    frame_cols = {
        "x0_nm": (x0, "nm"), "y0_nm": (y0, "nm"),
        "x0_err_nm": (err["dx"] * scale * pix, "nm"), "y0_err_nm": (err["dy"] * scale * pix, "nm"),
        "var_major_nm2": (est["var_major"] * L2, "nm^2"),
        "var_minor_nm2": (est["var_minor"] * L2, "nm^2"),
        "theta_rad": (est["theta"], "rad"),
        "variance_nm2": (variance, "nm^2"), "variance_err_nm2": (variance_err, "nm^2"),
        "msd_moment_nm2": (msd, "nm^2"), "msd_moment_err_nm2": (msd_err, "nm^2"),
        "ek_major": (est["ek_major"], ""), "ek_minor": (est["ek_minor"], ""),
        "excess_kurtosis": (ek, ""),
        "excess_kurtosis_err": (ek_err, ""),
        "ek_laguerre_frame": (ek_f, ""), "ek_laguerre_frame_err": (ek_f_err, ""),
        "ek_aperture": (ek_ap, ""), "ek_aperture_err": (ek_ap_err, ""),
        "variance_laguerre_nm2": (var_lag * pix**2, "nm^2"),
        "variance_laguerre_err_nm2": (var_lag_err * pix**2, "nm^2"),
        "aperture_k": (kk, ""),
        "aperture_major_nm": (kk * np.sqrt(_major(cxx, cxy, cyy)) * pix, "nm"),
        "offset": (float(sign) * off, "dT/T"), "noise_std": (noise, "dT/T"),
        "n_annulus_px": (n_ann, ""), "signal": (est["signal"], "dT/T px"),
        "signal_err": (err["signal"], "dT/T px"),
    }
    out = xr.Dataset(
        {name: ("delay", np.asarray(v, float), {"units": u}) for name, (v, u) in
         frame_cols.items()},
        coords={"delay": ("delay", delay, {"units": "fs"})},
    )
    out["status"] = ("delay", status.astype(str))
    out.attrs = {
        "background": (BACKGROUND_PREZERO.format(n=n_base, ka=aperture_k + annulus_gap) if n_base
                       else BACKGROUND_ANNULUS.format(ka=aperture_k + annulus_gap)),
        "truncation": TRUNCATION_NOTE.format(k=aperture_k),
        "noise": NOISE_NOTE.format(b=n_resample),
        "msd": ("per axis: mean of the two principal-axis variances minus sigma_0^2, the "
                f"intercept of a weighted straight line through the first {used} usable frames "
                "at t >= 0"),
        "psf": ("the image is the carrier profile convolved with the PSF: a Gaussian PSF adds "
                "variance (MSD unchanged) but dilutes the excess kurtosis"),
        "sigma0_sq_nm2": float(sigma0_sq), "sigma0_sq_err_nm2": float(sigma0_sq_err),
        "signal_sign": int(sign), "aperture_k": float(aperture_k), "pixel_nm": pix,
        "kurtosis": (KURTOSIS_LAGUERRE.format(p=2 * half + 1) if kurtosis == "laguerre"
                     else "mean of the aperture marginals' excess kurtoses, as ek_major/minor"),
        "ek_pool_frames": int(2 * half + 1),
    }
    if profiles:
        x0p, y0p = x0 / pix, y0 / pix
        prof = []
        for w, valid, offb, idx in prof_parts:
            if w is None:
                w, valid = _frames(reader, idx, bmap, sign)
            sub = ((w - offb[:, None]) * valid).reshape(idx.size, ny, nx)
            prof.append(_profiles(sub, valid.reshape(idx.size, ny, nx), xs, ys, x0p[idx],
                                  y0p[idx], noise[idx], stack.isel(delay=idx), pix))
        out = out.merge(xr.concat(prof, "delay") if len(prof) > 1 else prof[0])
    return out


#: Bytes of one block of frames (float64) processed at a time by :func:`frame_moments`.
CHUNK_BYTES = 8 * 2**20


KURTOSIS_LAGUERRE = (
    "excess kurtosis 3 c_2 of a Gauss-Laguerre expansion A e^-u (1 + c_2 L_2(u)) + offset fitted "
    "to the pixels within 6 widths (apodised moments, exact zero for a Gaussian; ~10-20 % low "
    "for a scale mixture), Fisher errors, pooled over {p} adjacent usable frames "
    "(inverse-variance, errors with the shared pre-zero map noise)"
)


def _laguerre_frames(reader, bmap, sign, X, Y, start, use):
    """Gauss-Laguerre moments of the frames ``use``, read block by block."""
    n = use.size
    out = None
    ny, nx = int(reader.stack.sizes["y"]), int(reader.stack.sizes["x"])
    block = max(1, CHUNK_BYTES // (8 * ny * nx))
    for lo in range(0, n, block):
        idx = np.arange(lo, min(n, lo + block))
        if not use[idx].any():
            continue
        w, valid = _frames(reader, idx, bmap, sign)
        res = laguerre_moments(w, valid, X, Y, tuple(v[idx] for v in start), order=2,
                               use=use[idx])
        if out is None:
            out = {k: np.full(n, np.nan) if v.dtype != bool else np.zeros(n, bool)
                   for k, v in res.items()}
        for k, v in res.items():
            out[k][idx] = v
    if out is None:
        out = {"ek": np.full(n, np.nan), "ek_err": np.full(n, np.nan),
               "converged": np.zeros(n, bool)}
    return out


def _frames(reader, idx, bmap, sign):
    """Frames ``idx`` of a :class:`~tamkit.core.frames.FrameReader` as float64 (frames, pixels):
    pre-zero map subtracted, invalid pixels 0, times ``sign``; and the validity mask."""
    data = reader.read(idx)
    valid = np.isfinite(data)
    if bmap is not None:
        data -= bmap[None]
    data[~valid] = 0.0
    m = data.shape[0]
    w = data.reshape(m, -1)
    if sign != 1:
        w *= float(sign)
    return w, valid.reshape(m, -1)


def _block_sums(w, valid, X, Y, xs, ys, start, idx, pix, aperture_k, annulus_gap, edges,
                n_iter):
    """The adaptive aperture of a block of frames, then its aperture state and power sums."""
    m = w.shape[0]
    ny, nx = ys.size, xs.size
    cx, cy, cxx, cxy, cyy = _start(w.reshape(m, ny, nx), xs, ys, start, idx)
    # the frames' totals once: the annulus is the frame minus the inner box (see ._aperture)
    totals = np.stack([valid.sum(1), w.sum(1), np.einsum("np,np->n", w, w)], axis=1)
    totals = totals.astype(float)
    raster = bool(np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0))
    frame = (w, valid, X, Y, xs, ys, raster, totals)
    for _ in range(n_iter):
        kk = _radius(cx, cy, cxx, cyy, aperture_k, edges)
        s, _, _ = aperture_pass(*frame, cx, cy, cxx, cxy, cyy, kk, annulus_gap, np.ones(m), 2, 2,
                                MIN_ANNULUS_PX)
        m00 = s[:, 0, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            mx, my = s[:, 1, 0] / m00, s[:, 0, 1] / m00
            g = variance_factor(kk)
            sxx = (s[:, 2, 0] / m00 - mx * mx) / g
            syy = (s[:, 0, 2] / m00 - my * my) / g
            sxy = (s[:, 1, 1] / m00 - mx * my) / g
        ok = (m00 > 0) & (sxx > 0) & (syy > 0) & (sxx * syy - sxy**2 > 0)
        ok &= np.isfinite(mx) & np.isfinite(my)
        ncx, ncy = np.where(ok, cx + mx, cx), np.where(ok, cy + my, cy)
        ncx, ncy = np.clip(ncx, edges[0], edges[1]), np.clip(ncy, edges[2], edges[3])
        nxx, nxy, nyy = _clip_cov(np.where(ok, sxx, cxx), np.where(ok, sxy, cxy),
                                  np.where(ok, syy, cyy), nx, ny)
        change = np.nanmax(np.abs(np.concatenate([ncx - cx, ncy - cy,
                                                  np.sqrt(nxx) - np.sqrt(cxx),
                                                  np.sqrt(nyy) - np.sqrt(cyy)])))
        cx, cy, cxx, cxy, cyy = ncx, ncy, nxx, nxy, nyy
        # every frame of the block iterates until all have converged (as one block would: a
        # stack that fits in one block gives the very same result as without blocks)
        if change < CONVERGED_PX:
            break

    kk = _radius(cx, cy, cxx, cyy, aperture_k, edges)
    scale = kk * np.sqrt(0.5 * (cxx + cyy))
    t, geom, stats = aperture_pass(*frame, cx, cy, cxx, cxy, cyy, kk, annulus_gap, scale, 4, 8,
                                   MIN_ANNULUS_PX)
    return {"cx": cx, "cy": cy, "cxx": cxx, "cxy": cxy, "cyy": cyy, "k": kk,
            "offset": stats[:, 1], "offset_used": stats[:, 2] > 0, "noise": stats[:, 3],
            "n_annulus": stats[:, 0].astype(int), "t": sums_vector(t), "geom": geom}


def _sign(data: np.ndarray, delay: np.ndarray) -> int:
    """+1 or -1: the sign of the strongest smoothed pixel of the mean of ``data`` (the first
    frames at t >= 0, pre-zero map subtracted)."""
    mean = ndimage.uniform_filter(data.mean(0), size=3, mode="nearest")
    peak = mean.flat[np.argmax(np.abs(mean))]
    return 1 if peak >= 0 else -1


def _start_of(guess, pix, nx, ny):
    """The guess's per-frame centre and width (px), and which frames it holds good ones for."""
    if guess is None or not {"x0_nm", "y0_nm", "sigma_nm"} <= set(guess.data_vars):
        return None
    gx, gy, gs = (np.asarray(guess[k].values, float) / pix for k in ("x0_nm", "y0_nm", "sigma_nm"))
    good = np.isfinite(gx) & np.isfinite(gy) & np.isfinite(gs) & (gs > 0)
    good &= (gs < 0.4 * min(nx, ny))
    return gx, gy, gs, good


def _start(w, xs, ys, start, idx):
    n, ny, nx = w.shape
    # start small: an aperture narrower than the spot grows by about 2x per iteration (the
    # truncated variance of a wide spot is ~R^2 / 4), where one much wider than the spot may
    # be dominated by noise from the start
    cx, cy = np.zeros(n), np.zeros(n)
    s2 = np.full(n, START_SIGMA_PX**2)
    good = np.zeros(n, bool)
    if start is not None:
        gx, gy, gs, good = (v[idx] for v in start)
    # the smoothed frame's peak only where the guess holds no good fit (smoothing every full
    # frame was most of this step's time on large frames)
    need = ~good
    if need.any():
        smooth = ndimage.gaussian_filter(w[need], sigma=(0, 2, 2), mode="nearest")
        iy, ix = np.unravel_index(np.argmax(smooth.reshape(int(need.sum()), -1), axis=1),
                                  (ny, nx))
        cx[need], cy[need] = xs[ix], ys[iy]
    if start is not None:
        cx, cy, s2 = np.where(good, gx, cx), np.where(good, gy, cy), np.where(good, gs**2, s2)
    return cx, cy, s2, np.zeros(n), s2.copy()


def _major(cxx, cxy, cyy):
    return 0.5 * (cxx + cyy) + np.sqrt(0.25 * (cxx - cyy) ** 2 + cxy**2)


def _clip_cov(cxx, cxy, cyy, nx, ny):
    lo, hi = 0.25, (0.5 * max(nx, ny)) ** 2
    cxx, cyy = np.clip(cxx, lo, hi), np.clip(cyy, lo, hi)
    lim = 0.95 * np.sqrt(cxx * cyy)
    return cxx, np.clip(cxy, -lim, lim), cyy


def _radius(cx, cy, cxx, cyy, k, edges):
    """Mahalanobis radius of each aperture: ``k``, less where the field edge would cut it."""
    # the field edge must not cut the ellipse: limit k by the distance to each edge over the
    # ellipse's half-extent along that axis
    kx = np.minimum(cx - edges[0], edges[1] - cx) / np.sqrt(cxx)
    ky = np.minimum(cy - edges[2], edges[3] - cy) / np.sqrt(cyy)
    return np.clip(np.minimum(k, np.minimum(kx, ky)), 0.5, None)


def _fill_noise(noise, n_ann, baseline_frames, baseline):
    """Frames without an annulus take the median noise of those with one, else the pre-zero's."""
    good = np.isfinite(noise) & (n_ann >= MIN_ANNULUS_PX) & ~baseline
    if good.any():
        return np.where(np.isfinite(noise) & (n_ann >= MIN_ANNULUS_PX), noise,
                        np.median(noise[good]))
    nb = int(baseline.sum())
    if nb >= 2:
        # a baseline frame minus the mean of the nb baseline frames has noise sigma^2 (1 - 1/nb);
        # a signal frame minus it has sigma^2 (1 + 1/nb)
        wb, vb = baseline_frames()
        sd = np.std(wb[vb])
        return np.full(noise.shape, sd * np.sqrt((1 + 1 / nb) / (1 - 1 / nb)))
    raise InputError("no background pixels to estimate the noise from: the spot fills the field")


#: frames resampled together: bounds the (frames, draws, sums) temporaries to ~50 MB
RESAMPLE_CHUNK_FRAMES = 128


def _resampled(t, cov, kk, n_resample, seed):
    """Bias-corrected estimates and standard errors from resampled aperture sums.

    Frames are resampled in chunks; the normal deviates are drawn in the same order as one
    draw over all frames would (a generator fills C order), so the chunk size changes nothing.
    """
    rng = np.random.default_rng(seed)
    parts = [_resampled_chunk(t[i : i + RESAMPLE_CHUNK_FRAMES], cov[i : i + RESAMPLE_CHUNK_FRAMES],
                              kk[i : i + RESAMPLE_CHUNK_FRAMES], n_resample, rng)
             for i in range(0, t.shape[0], RESAMPLE_CHUNK_FRAMES)]
    est = {key: np.concatenate([p[0][key] for p in parts]) for key in parts[0][0]}
    err = {key: np.concatenate([p[1][key] for p in parts]) for key in parts[0][1]}
    return est, err


def _resampled_chunk(t, cov, kk, n_resample, rng):
    n = t.shape[0]
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0, None))[:, None, :]
    z = rng.standard_normal((n, n_resample, t.shape[1]))
    draws = t[:, None, :] + np.einsum("njk,nbk->nbj", root, z)
    base = estimator(t, kk)
    boot = estimator(draws, kk[:, None])
    est, err = {}, {}
    for key, value in base.items():
        b = boot[key]
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(b)
            nf = finite.sum(1)
            mean = np.where(finite, b, 0.0).sum(1) / nf
            sd = np.sqrt(np.where(finite, (b - mean[:, None]) ** 2, 0.0).sum(1) / (nf - 1))
        enough = nf >= 0.9 * n_resample
        if key in ("theta",):
            est[key] = value
        else:
            est[key] = np.where(enough, 2.0 * value - mean, np.nan)
        err[key] = np.where(enough, sd, np.nan)
    return est, err


def _variance_at_zero(delay, variance, err, status):
    """sigma_0^2 of the moments: intercept of a weighted line through the first usable frames."""
    idx = np.flatnonzero((delay >= 0) & (status == "ok"))[:N_SIGMA0_FRAMES]
    if idx.size == 0:
        return np.nan, np.nan, 0
    t, v, e = delay[idx], variance[idx], err[idx]
    wgt = 1.0 / e**2
    if idx.size < 3 or np.ptp(t) == 0:
        mean = np.sum(wgt * v) / np.sum(wgt)
        return float(mean), float(1 / np.sqrt(np.sum(wgt))), int(idx.size)
    A = np.stack([np.ones_like(t), t], axis=1)
    cov = np.linalg.inv(A.T @ (A * wgt[:, None]))
    coef = cov @ (A.T @ (wgt * v))
    return float(coef[0]), float(np.sqrt(cov[0, 0])), int(idx.size)


def _profiles(sub, valid, xs, ys, cx, cy, noise, stack, pix):
    """Radial profiles about the centre of mass and the row and column through it."""
    n, ny, nx = sub.shape
    r_max = int(np.floor(min(nx, ny) / 2))
    r = np.hypot(xs[None, None, :] - cx[:, None, None], ys[None, :, None] - cy[:, None, None])
    fin = np.isfinite(cx) & np.isfinite(cy)
    b = np.where(fin[:, None, None], np.floor(r), r_max + 1).astype(int)
    b = np.where(valid & (b <= r_max), b, r_max + 1)
    flat = (np.arange(n)[:, None, None] * (r_max + 2) + b).ravel()
    total = np.bincount(flat, weights=sub.ravel(), minlength=n * (r_max + 2))
    count = np.bincount(flat, minlength=n * (r_max + 2))
    total = total.reshape(n, r_max + 2)[:, : r_max + 1]
    count = count.reshape(n, r_max + 2)[:, : r_max + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        prof = total / count
        prof_err = noise[:, None] / np.sqrt(count)
    iy = np.clip(np.rint(np.nan_to_num(cy) - ys[0]).astype(int), 0, ny - 1)
    ix = np.clip(np.rint(np.nan_to_num(cx) - xs[0]).astype(int), 0, nx - 1)
    frames = np.arange(n)
    cut_x = np.where(valid[frames, iy, :], sub[frames, iy, :], np.nan)
    cut_y = np.where(valid[frames, :, ix], sub[frames, :, ix], np.nan)
    r_nm = (np.arange(r_max + 1) + 0.5) * pix  # bin i holds i <= r / pixel < i + 1
    return xr.Dataset(
        {
            "radial_profile": (("delay", "r_nm"), prof, {"units": "dT/T (sign-corrected)"}),
            "radial_profile_err": (("delay", "r_nm"), prof_err, {"units": "dT/T"}),
            "cut_x": (("delay", "x"), cut_x, {"units": "dT/T (sign-corrected)",
                                              "note": "row nearest the centre of mass"}),
            "cut_y": (("delay", "y"), cut_y, {"units": "dT/T (sign-corrected)",
                                              "note": "column nearest the centre of mass"}),
        },
        coords={"delay": stack["delay"], "r_nm": ("r_nm", r_nm, {"units": "nm"}),
                "x": stack["x"], "y": stack["y"]},
    )
