"""Kinetics of TA maps: band traces with IRF-convolved exponentials, SVD, number of components.

Single-band fits reuse the variable-projection fitter of :mod:`tamkit.spectro.globalfit` on a
one-wavelength map, so lifetimes, IRF handling, standard errors and the below-IRF flag are the
same as in the global analysis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.tamap import band_trace, make_tamap, validate_tamap
from tamkit.spectro.globalfit import GlobalFit, global_fit


def fit_kinetics(
    tamap: xr.DataArray,
    band_nm: tuple[float, float],
    n_exp: int = 1,
    *,
    offset: bool = True,
    irf_fwhm_fs: float = 100.0,
    fit_irf: bool = False,
    lifetimes_fs=None,
    time_zero_fs: float = 0.0,
) -> GlobalFit:
    """Fit the mean trace of a wavelength band with IRF-convolved exponentials.

    Parameters
    ----------
    tamap : DataArray (delay, wavelength)
        Chirp-corrected map (time zero near ``time_zero_fs``, which is refined by the fit).
    band_nm : (float, float)
        Wavelength band averaged into one trace (nm).
    n_exp : int
        Number of exponential components.
    offset : bool
        Add a non-decaying component.
    irf_fwhm_fs, fit_irf : float, bool
        IRF FWHM (fs), fixed (default, e.g. from the global fit) or fitted.
    lifetimes_fs : sequence, optional
        Starting lifetimes (fs).
    time_zero_fs : float
        Starting time zero (fs).

    Returns
    -------
    GlobalFit
        With one wavelength: ``das`` holds the amplitudes of the components.
    """
    trace = band_trace(tamap, band_nm)
    centre = float(np.mean(band_nm))
    one = make_tamap(trace.values[:, None], trace["delay"].values, [centre], attrs=tamap.attrs)
    return global_fit(one, n_exp, lifetimes_fs=lifetimes_fs, irf_fwhm_fs=irf_fwhm_fs,
                      fit_irf=fit_irf, chirp_order=0, chirp_coeffs_fs=[time_zero_fs],
                      offset=offset)


def noise_std(tamap: xr.DataArray, before_fs: float | None = None) -> float:
    """Noise standard deviation of a map.

    From the spectra before ``before_fs`` (at least 5 of them, mean spectrum removed) if given;
    otherwise from second differences along wavelength, robustly: for white noise
    var(y[i-1] - 2 y[i] + y[i+1]) = 6 sigma^2, and 1.4826 MAD estimates the standard deviation.
    """
    tamap = validate_tamap(tamap)
    values = tamap.values
    if before_fs is not None:
        pre = tamap["delay"].values < before_fs
        if pre.sum() >= 5:
            rows = values[pre]
            return float(np.nanstd(rows - np.nanmean(rows, axis=0), ddof=1))
    d2 = values[:, :-2] - 2 * values[:, 1:-1] + values[:, 2:]
    return float(1.4826 * np.nanmedian(np.abs(d2 - np.nanmedian(d2))) / np.sqrt(6.0))


def svd_analysis(
    tamap: xr.DataArray, n_keep: int = 10, noise: float | None = None,
    before_fs: float | None = None,
) -> dict[str, Any]:
    """Singular value decomposition of a map and the number of components above the noise.

    A matrix of m x n independent Gaussian values of standard deviation sigma has its largest
    singular value near sigma (sqrt(m) + sqrt(n)) (Marchenko-Pastur edge; Geman, Ann. Probab. 8,
    252 (1980)); singular values above that edge carry signal.

    Returns
    -------
    dict
        ``singular_values`` (first ``n_keep``), ``noise_std``, ``noise_edge``,
        ``n_significant``, ``left`` (DataArray delay x k) and ``right`` (wavelength x k).
    """
    tamap = validate_tamap(tamap)
    values = np.nan_to_num(tamap.values)
    u, s, vt = np.linalg.svd(values, full_matrices=False)
    sigma = noise_std(tamap, before_fs) if noise is None else float(noise)
    m, n = values.shape
    edge = sigma * (np.sqrt(m) + np.sqrt(n))
    k = min(n_keep, s.size)
    return {
        "singular_values": s[:k],
        "noise_std": sigma,
        "noise_edge": edge,
        "n_significant": int(np.sum(s > edge)),
        "left": xr.DataArray(u[:, :k] * s[:k], dims=("delay", "k"),
                             coords={"delay": tamap["delay"].values}),
        "right": xr.DataArray(vt[:k].T, dims=("wavelength", "k"),
                              coords={"wavelength": tamap["wavelength"].values}),
    }


#: largest singular value, over the pure-noise edge, below which a map has no structure
NO_SIGNAL_EDGE_RATIO = 1.1


def structure_above_noise(tamap: xr.DataArray) -> float:
    """The largest singular value of the whole map, its mean spectrum removed, over the edge of
    pure noise (sigma (sqrt(m - 1) + sqrt(n)), sigma from second differences along wavelength).

    Removing the mean spectrum of all delays takes out a steady background but no pump-induced
    change: a rise at time zero or a decay stays as structure. White noise alone gives ~1
    (Marchenko-Pastur edge); below :data:`NO_SIGNAL_EDGE_RATIO` the map holds nothing a fit
    could resolve. Spectrally correlated noise raises the ratio (never a false "no signal").
    """
    values = np.asarray(tamap.values, float)
    keep = np.isfinite(values).all(axis=0)
    if keep.sum() < 3:
        return float("nan")
    values = values[:, keep]
    sigma = noise_std(tamap.isel(wavelength=np.flatnonzero(keep)))
    if not sigma > 0:
        return float("inf")
    centred = values - values.mean(axis=0)
    m, n = centred.shape
    top = float(np.linalg.svd(centred, compute_uv=False)[0])
    return top / (sigma * (np.sqrt(m - 1) + np.sqrt(n)))


def _split_starts(fit: GlobalFit | None, factor: float = 2.5) -> list[np.ndarray]:
    """Starts with one more component: each lifetime of ``fit`` split into tau/f and tau*f,
    and a new component added a decade beyond either end."""
    if fit is None:
        return []
    taus = np.asarray(fit.lifetimes_fs, dtype=float)
    starts = [np.sort(np.concatenate([np.delete(taus, j), [taus[j] / factor, taus[j] * factor]]))
              for j in range(taus.size)]
    starts += [np.sort(np.append(taus, taus.min() / 10)), np.sort(np.append(taus, taus.max() * 10))]
    return starts


def _drop_starts(fit: GlobalFit) -> list[np.ndarray]:
    """Starts with one component fewer: ``fit``'s lifetimes with each one removed."""
    taus = np.asarray(fit.lifetimes_fs, dtype=float)
    return [np.delete(taus, j) for j in range(taus.size)] if taus.size > 1 else []


def is_determined(fit: GlobalFit) -> bool:
    """Every component determined, except at most one IRF-limited response (it stands for the
    coherent artifact and the IRF-limited decay; two such are indistinguishable) and one offset
    beyond the delay window."""
    st = fit.status
    return (st.count("below_irf") <= 1 and st.count("beyond_window") <= 1
            and "undetermined" not in st and "degenerate" not in st)


def compare_components(
    tamap: xr.DataArray, n_values=(1, 2, 3, 4, 5), *, stop_early: bool = True, **fit_kwargs
) -> tuple[list[dict[str, Any]], int, dict[int, GlobalFit]]:
    """Global fits with different numbers of components, and the number the data support.

    Each n is fitted from the multistart of :func:`global_fit` plus starts made from the n - 1
    fit with each component split in two; then, from the largest n down, each fit is refitted
    from the n + 1 solution with each component dropped, and the better of the two kept. The
    supported number is the largest n whose fit converged, lowers the BIC relative to every
    smaller accepted n, and has all its lifetimes determined (:func:`is_determined`); fits that
    did not converge are never chosen. With ``stop_early`` the upward pass stops at the first n
    after an accepted one whose fit converged but is not accepted (more components than the
    data support); a fit that did not converge does not stop it.
    The upward pass also stops at the first n the map cannot take (too few delays for n
    components, :class:`InputError`); if that is the smallest n, the error is raised.

    Returns
    -------
    rows, n_supported, fits
        One row per n (n, rss, rss_per_dof, bic, lifetimes_fs, status, converged,
        all_determined); the chosen n; the fits.
    """
    if not n_values:
        raise InputError("no component numbers to compare")
    values = sorted(n_values)
    fits: dict[int, GlobalFit] = {}
    accepted_any = False
    for n in values:
        try:
            fit = global_fit(tamap, n, extra_starts=_split_starts(fits.get(n - 1)), **fit_kwargs)
        except InputError:
            if not fits:
                raise
            break  # too few delays (or wavelengths) for n components: fewer it is
        fits[n] = fit
        ok = fit.success and is_determined(fit)
        # only a converged fit can say the data hold no more components: a solver that stopped
        # short says nothing about n + 1 (a map written with 6 digits instead of 17 had its
        # 2-component fit stop short, and the search ended at 1 component instead of 3)
        if stop_early and accepted_any and fit.success and not ok:
            break
        accepted_any |= ok
    fitted = sorted(fits)
    for n in reversed(fitted[:-1]):
        if n + 1 not in fits:
            continue
        cur = fits[n]
        kwargs = {**fit_kwargs, "irf_fwhm_fs": cur.irf_fwhm_fs, "n_starts": 0,
                  "lifetimes_fs": cur.lifetimes_fs}
        alt = global_fit(tamap, n, extra_starts=_drop_starts(fits[n + 1]), **kwargs)
        if alt.rss < cur.rss * (1 - 1e-6):
            fits[n] = alt
    rows = []
    best, best_bic = None, np.inf
    for n in fitted:
        fit = fits[n]
        determined = is_determined(fit)
        rows.append({"n": n, "rss": fit.rss, "rss_per_dof": fit.rss_per_dof, "bic": fit.bic,
                     "lifetimes_fs": fit.lifetimes_fs.tolist(), "status": fit.status,
                     "converged": bool(fit.success), "all_determined": determined})
        if fit.success and determined and fit.bic < best_bic:
            best, best_bic = n, fit.bic
    if best is None:  # nothing converged and determined: the smallest converged fit, or n = 1
        best = next((n for n in fitted if fits[n].success), fitted[0])
    return rows, int(best), fits
