"""After fitting: physical units, calibrated standard errors, status flags, the Dataset.

Shared by the compiled fitter and the curve_fit reference, so both report identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: chi^2_red above 1 + this many standard deviations of its null distribution, sqrt(2 / dof),
#: means a model misfit: errors are then inflated by sqrt(chi^2_red).
MISFIT_Z = 3.0
#: Smallest width (pixels) that is a resolved spot, not a single-pixel spike.
MIN_SIGMA_PX = 0.3
#: The field must reach this many widths from the spot's centre, on its farther side along
#: each axis, for the width to be measured: on a 16 x 16 frame of 55.6 nm pixels a growing spot
#: keeps its true width up to a reach of ~1.4 sigma, then the fit trades its wings for the
#: offset and the width shrinks (the MSD then fell as t^-1 from 54 ps and, with 1,500 frames,
#: drove sigma_0 to 0).
MIN_REACH_SIGMAS = 1.5
#: reasons searched for by the transport warnings
FILLS_FRAME = "the spot fills the frame"
OPPOSITE_SIGN = "signal has the opposite sign"
#: a frame whose summed signal is this many noise units of the opposite sign has flipped
FLIPPED_FLUX_Z = 5.0
#: 'ok' frames whose centre is this many standard errors off the local track of the spot
#: (median of the nearest good frames) are noise features, not the excitation spot.
TRACK_Z = 5.0
TRACK_NEIGHBOURS = 6
TRACK_MIN_WIDTHS = 0.5
#: a weak 'ok' frame (|amplitude| / error below this) whose width falls more than
#: COLLAPSE_Z of its errors below the width the spot had already reached has fitted a noise
#: peak: at |A|/err ~ 5 the fitted width's distribution has a long tail to small widths that its
#: error does not describe (a 501 ps frame of the artificial stack: 233 +- 37 nm, truth 448 nm)
COLLAPSE_MAX_SNR = 10.0
COLLAPSE_Z = 3.0
COLLAPSED = "the width collapsed at a weak signal"


@dataclass
class Geometry:
    """Pixel grid of the stack: internal pixel units to nm."""

    nx: int
    ny: int
    pixel_nm: float
    x_mid_nm: float
    y_mid_nm: float

    @property
    def ux(self) -> np.ndarray:
        return np.arange(self.nx) - (self.nx - 1) / 2.0

    @property
    def uy(self) -> np.ndarray:
        return np.arange(self.ny) - (self.ny - 1) / 2.0


def ellipse_widths(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Principal widths and angle from the precision matrix [[a, b], [b, c]] (pixel^-2).

    Returns (..., 4): sigma_x (along theta), sigma_y (perpendicular), theta in (-pi/4, pi/4],
    and the isotropic-equivalent sigma = sqrt((sigma_x^2 + sigma_y^2) / 2) = sqrt(tr Sigma / 2).
    The widths are assigned so that theta = 0 for an axis-aligned spot, whichever axis is wider.
    """
    det = a * c - b * b
    sxx, syy, sxy = c / det, a / det, -b / det
    half_diff = 0.5 * (sxx - syy)
    root = np.sqrt(half_diff**2 + sxy**2)
    mean = 0.5 * (sxx + syy)
    lam_major, lam_minor = mean + root, mean - root
    theta_major = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)  # in (-pi/2, pi/2]
    near_x = np.abs(theta_major) <= np.pi / 4
    theta = np.where(near_x, theta_major, theta_major - np.sign(theta_major) * np.pi / 2)
    var_x = np.where(near_x, lam_major, lam_minor)
    var_y = np.where(near_x, lam_minor, lam_major)
    with np.errstate(invalid="ignore"):
        out = np.stack(
            [np.sqrt(var_x), np.sqrt(var_y), theta, np.sqrt(np.clip(mean, 0, None))], axis=-1
        )
    return out


def _ellipse_jacobian(abc: np.ndarray) -> np.ndarray:
    """d(sigma_x, sigma_y, theta, sigma) / d(a, b, c), (n, 4, 3), by central differences."""
    n = abc.shape[0]
    jac = np.empty((n, 4, 3))
    scale = np.sqrt(np.abs(abc[:, 0] * abc[:, 2])) + 1e-300
    for k in range(3):
        h = 1e-6 * scale
        up, down = abc.copy(), abc.copy()
        up[:, k] += h
        down[:, k] -= h
        diff = ellipse_widths(*up.T) - ellipse_widths(*down.T)
        # keep theta differences on the principal branch
        diff[:, 2] = (diff[:, 2] + np.pi / 2) % np.pi - np.pi / 2
        jac[:, :, k] = diff / (2 * h[:, None])
    return jac


def physical_results(
    model: str,
    params: np.ndarray,
    cov: np.ndarray,
    chi2: np.ndarray,
    n_valid: np.ndarray,
    scale: float,
    noise: float,
    geom: Geometry,
) -> dict[str, np.ndarray]:
    """Convert internal fits (pixels, units of ``scale``) to physical values and errors.

    Standard errors are sqrt(diag((J^T W J)^-1)) with W = 1 / noise^2, inflated by
    sqrt(chi^2_red) when chi^2_red exceeds 1 by more than :data:`MISFIT_Z` standard deviations
    of its chi^2 distribution (a misfit). ``sigma_crb_nm`` is the uninflated error of sigma: the
    Cramer-Rao bound at the fitted parameters for white Gaussian noise.
    """
    n_par = params.shape[1]
    f2 = (noise / scale) ** 2  # noise variance in fit units
    dof = np.maximum(n_valid - n_par, 1)
    chi2_red = chi2 / f2 / dof
    inflate = np.where(chi2_red > 1.0 + MISFIT_Z * np.sqrt(2.0 / dof), np.sqrt(chi2_red), 1.0)
    cov = cov * f2
    err = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    err = np.where(np.isfinite(np.diagonal(cov, axis1=1, axis2=2)), err, np.nan)
    pix = geom.pixel_nm
    out = {
        "amplitude": params[:, 0] * scale,
        "amplitude_err": err[:, 0] * scale * inflate,
        "x0_nm": geom.x_mid_nm + params[:, 1] * pix,
        "x0_err_nm": err[:, 1] * pix * inflate,
        "y0_nm": geom.y_mid_nm + params[:, 2] * pix,
        "y0_err_nm": err[:, 2] * pix * inflate,
        "offset": params[:, -1] * scale,
        "offset_err": err[:, -1] * scale * inflate,
        "chi2_red": chi2_red,
    }
    if model == "isotropic":
        sigma_err = err[:, 3] * pix
        out["sigma_nm"] = np.abs(params[:, 3]) * pix
        out["sigma_err_nm"] = sigma_err * inflate
        out["sigma_crb_nm"] = sigma_err
        return out
    abc = params[:, 3:6]
    widths = ellipse_widths(*abc.T)
    jac = _ellipse_jacobian(abc)
    wcov = np.einsum("nij,njk,nlk->nil", jac, cov[:, 3:6, 3:6], jac)
    werr = np.sqrt(np.clip(np.diagonal(wcov, axis1=1, axis2=2), 0, None))
    werr = np.where(np.isfinite(np.diagonal(wcov, axis1=1, axis2=2)), werr, np.nan)
    out.update(
        sigma_x_nm=widths[:, 0] * pix,
        sigma_x_err_nm=werr[:, 0] * pix * inflate,
        sigma_y_nm=widths[:, 1] * pix,
        sigma_y_err_nm=werr[:, 1] * pix * inflate,
        theta_rad=widths[:, 2],
        theta_err_rad=werr[:, 2] * inflate,
        sigma_nm=widths[:, 3] * pix,
        sigma_err_nm=werr[:, 3] * pix * inflate,
        sigma_crb_nm=werr[:, 3] * pix,
    )
    return out


def classify(
    res: dict[str, np.ndarray],
    model: str,
    converged: np.ndarray,
    n_iter: np.ndarray,
    n_valid: np.ndarray,
    sign: int,
    min_snr: float,
    geom: Geometry,
    flux_z: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """snr, status and reason of each fitted frame (the first failing check gives the reason).

    A width below 0.3 pixel is reported before non-convergence: a single-pixel spike drives
    the width towards zero, where the fit creeps without converging, and the width says why.
    """
    n = res["amplitude"].size
    n_par = 5 if model == "isotropic" else 7
    pix = geom.pixel_nm
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.abs(res["amplitude"]) / res["amplitude_err"]
    extent_nm = min(geom.nx, geom.ny) * pix
    if model == "isotropic":
        narrow, wide = res["sigma_nm"], res["sigma_nm"]
    else:
        narrow = np.fmin(res["sigma_x_nm"], res["sigma_y_nm"])
        wide = np.fmax(res["sigma_x_nm"], res["sigma_y_nm"])
    kind = "bleach (positive)" if sign > 0 else "photoinduced absorption (negative)"
    checked = [k for k in res if k not in ("theta_rad", "theta_err_rad", "chi2_red")]
    finite = np.all([np.isfinite(res[k]) for k in checked], axis=0)
    x0, y0 = res["x0_nm"], res["y0_nm"]
    if flux_z is None:
        flux_z = np.zeros(n)
    # a centre just beyond the edge is still measured from the spot's visible part: a spot
    # centred on the frame's corner had its centre fitted 5-15 nm outside in most frames, and
    # only the frames where noise put it inside were kept (sigma_0 80 nm instead of 141)
    with np.errstate(invalid="ignore"):
        outside = (np.abs(x0 - geom.x_mid_nm) > geom.nx / 2.0 * pix + np.fmax(wide, pix)) | (
            np.abs(y0 - geom.y_mid_nm) > geom.ny / 2.0 * pix + np.fmax(wide, pix)
        )
    reach = np.fmin(geom.nx / 2.0 * pix + np.abs(x0 - geom.x_mid_nm),
                    geom.ny / 2.0 * pix + np.abs(y0 - geom.y_mid_nm))
    with np.errstate(invalid="ignore"):
        rules = [
            (
                "failed",
                flux_z < -FLIPPED_FLUX_Z,
                lambda i: (
                    f"{OPPOSITE_SIGN} to the stack's {kind}: the frame's summed signal is "
                    f"{-flux_z[i]:.1f} noise units of the other sign"
                ),
            ),
            (
                "failed",
                n_valid < 3 * n_par,
                lambda i: f"only {n_valid[i]} unmasked pixels: too few to fit",
            ),
            (
                "failed",
                narrow < MIN_SIGMA_PX * pix,
                lambda i: (
                    f"width {narrow[i]:.3g} nm is below 0.3 pixel "
                    f"({MIN_SIGMA_PX * pix:.3g} nm): a noise spike or hot pixel, not a spot"
                ),
            ),
            (
                "failed",
                ~converged,
                lambda i: (
                    "the fit did not converge"
                    + (f" in {n_iter[i]} iterations" if n_iter[i] else "")
                ),
            ),
            (
                "failed",
                ~finite,
                lambda i: "the fit is degenerate: its parameter uncertainties are undefined",
            ),
            (
                "failed",
                wide > extent_nm,
                lambda i: (
                    f"width {wide[i]:.4g} nm exceeds the frame ({extent_nm:.4g} nm): "
                    "no spot is resolved in this field of view"
                ),
            ),
            (
                "failed",
                outside,
                lambda i: (f"centre ({x0[i]:.4g}, {y0[i]:.4g}) nm lies more than a width "
                           "outside the frame"),
            ),
            (
                "failed",
                (np.sign(res["amplitude"]) != sign) & (snr >= min_snr),
                lambda i: (
                    f"{OPPOSITE_SIGN} to the stack's {kind} at "
                    f"{snr[i]:.1f} standard errors"
                ),
            ),
            (
                "excluded",
                ~(snr >= min_snr),
                lambda i: (
                    f"signal too weak: |amplitude| / error = {snr[i]:.2f} is below {min_snr:g}"
                ),
            ),
        ]
    status = np.full(n, "ok", dtype=object)
    reason = np.full(n, "", dtype=object)
    open_ = np.ones(n, dtype=bool)
    for st, hit, why in rules:
        for i in np.flatnonzero(hit & open_):
            status[i], reason[i] = st, why(i)
        open_ &= ~hit
    _flag_off_track(res, status, reason)
    _flag_filled_frames(wide, reach, status, reason)
    wide_err = (res["sigma_err_nm"] if model == "isotropic" else
                np.where(res["sigma_x_nm"] >= res["sigma_y_nm"], res["sigma_x_err_nm"],
                         res["sigma_y_err_nm"]))
    _flag_collapsed_weak_frames(wide, wide_err, snr, status, reason)
    return snr, status, reason


def _reached_widths(wide: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Running maximum, over the 'ok' frames ``ok`` in delay order, of the 5-frame median width
    (robust to one noisy frame): the largest width the spot has reached so far."""
    half = 2
    w = wide[ok]
    padded = np.concatenate([np.full(half, np.nan), w, np.full(half, np.nan)])
    smooth = finite_row_median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1))
    return np.fmax.accumulate(smooth)


def _flag_collapsed_weak_frames(wide: np.ndarray, wide_err: np.ndarray, snr: np.ndarray,
                                status: np.ndarray, reason: np.ndarray) -> None:
    """Exclude weak 'ok' frames whose width collapsed below what the spot had reached.

    The reference is the width reached up to the frame before (:func:`_reached_widths`), so a
    collapsed frame cannot lower it. Bright frames are never judged: a real shrinking of the
    apparent spot (hot carriers cooling) is measured precisely there.
    """
    ok = np.flatnonzero(status == "ok")
    if ok.size < 6:
        return
    reached = np.concatenate([[np.nan], _reached_widths(wide, ok)[:-1]])
    with np.errstate(invalid="ignore"):
        z = (reached - wide[ok]) / wide_err[ok]
        hit = (snr[ok] < COLLAPSE_MAX_SNR) & (z > COLLAPSE_Z)
    for j in np.flatnonzero(hit):
        i = ok[j]
        status[i] = "excluded"
        reason[i] = (f"{COLLAPSED}: width {wide[i]:.3g} ± {wide_err[i]:.2g} nm, {z[j]:.1f} "
                     f"errors below the {reached[j]:.3g} nm the spot had reached, at "
                     f"|amplitude| / error = {snr[i]:.1f}: a noise peak, not the carriers")


def _flag_filled_frames(wide: np.ndarray, reach: np.ndarray, status: np.ndarray,
                        reason: np.ndarray) -> None:
    """Exclude 'ok' frames once the spot fills the frame (frames in delay order).

    A filled frame's fitted width is biased low, so it cannot judge itself: the test uses the
    largest width reached so far (a running maximum of the 5-frame median of the 'ok'
    widths, robust to one noisy frame), because the cloud does not shrink back into the field.
    """
    ok = np.flatnonzero(status == "ok")
    if ok.size == 0:
        return
    reached = _reached_widths(wide, ok)
    for j in np.flatnonzero(reached * MIN_REACH_SIGMAS > reach[ok]):
        i = ok[j]
        status[i] = "excluded"
        reason[i] = (f"{FILLS_FRAME}: the field reaches {reach[i] / reached[j]:.2f} widths "
                     f"from its centre (at least {MIN_REACH_SIGMAS:g} needed for an "
                     "unbiased width)")


def finite_row_median(values: np.ndarray) -> np.ndarray:
    """Median of the finite values of each row (NaN where a row has none), for all rows at once
    by sorting the short rows (NaN sorted last): ``np.nanmedian(values, axis=1)`` loops over
    the rows in Python, and ``np.median`` is slower on short rows."""
    finite = np.isfinite(values)
    ordered = np.sort(np.where(finite, values, np.inf), axis=1)
    count = finite.sum(axis=1)
    rows = np.arange(values.shape[0])
    lo = ordered[rows, np.maximum((count - 1) // 2, 0)]
    hi = ordered[rows, np.maximum(count // 2, 0)]
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, (lo + hi) / 2.0, np.nan)


def _flag_off_track(res: dict[str, np.ndarray], status: np.ndarray, reason: np.ndarray) -> None:
    """Fail 'ok' frames whose centre is far off the spot's local track (noise fitted elsewhere).

    The track near a frame is the median centre of its :data:`TRACK_NEIGHBOURS` nearest 'ok'
    frames (in delay order, so a slow drift is followed); its uncertainty combines the median's
    standard error (1.2533 sd / sqrt(n)) with the neighbours' scatter. A centre more than
    :data:`TRACK_Z` combined standard errors away on either axis, and further than
    :data:`TRACK_MIN_WIDTHS` of its own width, cannot be the same spot.
    """
    good = np.flatnonzero(status == "ok")
    m = good.size
    if m < 4:
        return
    k = min(TRACK_NEIGHBOURS, m - 1)
    pos = np.arange(m)
    start = np.clip(pos - k // 2, 0, m - k - 1)
    window = start[:, None] + np.arange(k + 1)[None, :]  # k + 1 consecutive, self included
    near = window[window != pos[:, None]].reshape(m, k)
    z_max = np.zeros(m)
    dist2 = np.zeros(m)
    for axis in ("x0", "y0"):
        centre = res[f"{axis}_nm"][good]
        err = res[f"{axis}_err_nm"][good]
        ref = finite_row_median(centre[near])
        scatter = 1.4826 * finite_row_median(np.abs(centre[near] - ref[:, None]))
        ref_err2 = (1.2533 * finite_row_median(err[near])) ** 2 / k + scatter**2
        z_max = np.fmax(z_max, np.abs(centre - ref) / np.sqrt(err**2 + ref_err2))
        dist2 += (centre - ref) ** 2
    # pointing jitter of a real spot is a small part of its width; a noise feature sits apart
    far = np.sqrt(dist2) > TRACK_MIN_WIDTHS * res["sigma_nm"][good]
    for j in np.flatnonzero((z_max > TRACK_Z) & far):
        i = good[j]
        status[i] = "failed"
        reason[i] = (
            f"centre {np.sqrt(dist2[j]):.4g} nm ({z_max[j]:.1f} standard errors) off the spot's "
            "track in the neighbouring frames: a noise feature, not the excitation spot"
        )
