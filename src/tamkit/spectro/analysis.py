"""The TA-map pipeline: background, components, global fit, chirp correction, bleach, injection.

``analyze_tamap(tamap, ...)`` runs the steps in order and returns a :class:`SpectroAnalysis`;
:func:`spectro_dict` turns it into the ``spectro.json`` contract (schema ``tamkit.spectro/1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.constants import ROOM_TEMPERATURE_K
from tamkit.core.errors import InputError
from tamkit.core.tamap import validate_tamap
from tamkit.spectro.bleach import CONVENTION_TEXT, DEFAULT_CONVENTION, bleach_analysis
from tamkit.spectro.corrections import correct_chirp, estimate_chirp, subtract_background
from tamkit.spectro.globalfit import GlobalFit, global_fit
from tamkit.spectro.injection import injection_test
from tamkit.spectro.kinetics import compare_components, noise_std, svd_analysis

SCHEMA = "tamkit.spectro/1"
#: A singular vector is "smooth" (signal, not noise) if its lag-1 autocorrelation exceeds this.
SMOOTH_AUTOCORR = 0.8


@dataclass
class SpectroAnalysis:
    """Everything the pipeline produced (maps, fits, tracks, dictionaries)."""

    tamap: xr.DataArray
    corrected: xr.DataArray
    fit: GlobalFit
    svd: dict[str, Any]
    comparison: list[dict[str, Any]] | None
    n_supported: int | None
    bleach: dict[str, Any] | None
    track: xr.Dataset | None
    injection: dict[str, Any] | None
    parameters: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _autocorr(v: np.ndarray) -> float:
    v = v - v.mean()
    return float(np.sum(v[1:] * v[:-1]) / max(np.sum(v * v), 1e-300))


def smooth_components(svd: dict[str, Any]) -> int:
    """Leading SVD components above the noise edge whose vectors are both smooth (autocorr)."""
    n = 0
    for k, s in enumerate(svd["singular_values"]):
        if s <= svd["noise_edge"]:
            break
        if min(_autocorr(svd["left"].values[:, k]), _autocorr(svd["right"].values[:, k])) < (
            SMOOTH_AUTOCORR
        ):
            break
        n += 1
    return n


def analyze_tamap(
    tamap: xr.DataArray,
    n_components: int | None = None,
    *,
    bleach_nm: tuple[float, float] | None = None,
    temperature_K: float = ROOM_TEMPERATURE_K,
    convention: str = DEFAULT_CONVENTION,
    donor_nm: tuple[float, float] | None = None,
    acceptor_nm: tuple[float, float] | None = None,
    reference_nm: tuple[float, float] | None = None,
    chirp_order: int = 3,
    irf_fwhm_fs: float = 100.0,
    max_components: int = 6,
    artifact_order: int | None = None,
) -> SpectroAnalysis:
    """Run the TA pipeline on a map (see the module docstring).

    Parameters
    ----------
    tamap : DataArray (delay, wavelength)
        The raw (not chirp-corrected) map, delay in fs.
    n_components : int, optional
        Exponential components of the global fit; default: the number the fit statistics support
        (:func:`tamkit.spectro.kinetics.compare_components` over 1..``max_components``).
    bleach_nm : (float, float), optional
        Band whose peak is tracked for Delta E and sigma_inh.
    temperature_K, convention : float, str
        For sigma_inh (see :mod:`tamkit.spectro.bleach`).
    donor_nm, acceptor_nm, reference_nm : (float, float), optional
        Bands for the injection test (both donor and acceptor needed).
    chirp_order, irf_fwhm_fs : int, float
        Chirp polynomial degree; starting IRF FWHM (fs).
    max_components : int
        Largest number of components tried when ``n_components`` is None.
    artifact_order : int, optional
        Model a coherent artifact (IRF Gaussian and derivatives up to this order).
    """
    tamap = validate_tamap(tamap)
    if not temperature_K > 0:
        raise InputError(f"temperature must be positive (K), got {temperature_K}")
    if (donor_nm is None) != (acceptor_nm is None):
        raise InputError("the injection test needs both a donor and an acceptor band")
    notes: list[str] = []
    sigma0 = irf_fwhm_fs / 2.3548
    chirp0 = estimate_chirp(tamap, order=chirp_order)
    before = chirp0(tamap["wavelength"].values) - 3.0 * sigma0
    try:
        work = subtract_background(tamap, before_fs=before)
        n_bg = work.attrs["background_wavelengths"]
        if n_bg < tamap.sizes["wavelength"]:
            notes.append(f"background subtracted at {n_bg} of {tamap.sizes['wavelength']} "
                         "wavelengths (the others have fewer than 3 spectra before time zero)")
    except InputError:
        work = tamap
        notes.append("fewer than 3 spectra before time zero: no background subtracted")
    fit_kwargs = {"irf_fwhm_fs": irf_fwhm_fs, "chirp_order": chirp_order,
                  "artifact_order": artifact_order}
    comparison, n_supported = None, None
    if n_components is None:
        comparison, n_supported, fits = compare_components(
            work, tuple(range(1, max_components + 1)), **fit_kwargs
        )
        n_components = n_supported
        fit = fits[n_components]
    else:
        if n_components < 1:
            raise InputError(f"--components must be at least 1, got {n_components}")
        fit = global_fit(work, n_components, **fit_kwargs)
    if not fit.success:
        notes.append(f"global fit did not converge: {fit.message}")
    for tau, st in zip(fit.lifetimes_fs, fit.status, strict=True):
        if st == "below_irf":
            notes.append(f"a component ({tau:.3g} fs) is faster than the instrument response "
                         f"(FWHM {fit.irf_fwhm_fs:.0f} fs): its lifetime is not determined")
        elif st == "undetermined":
            notes.append(f"a component ({tau:.3g} fs) has a relative error above 50 %: "
                         "not determined")
    corrected = correct_chirp(work, fit.t0_fs)
    # noise from the spectra before time zero of the uncorrected map: the chirp correction
    # interpolates, which would smooth the noise and lower the estimate
    svd = svd_analysis(corrected, noise=noise_std(work, float(np.min(before))))
    svd["n_smooth"] = smooth_components(svd)
    bleach, track = None, None
    if bleach_nm is not None:
        bleach, track = bleach_analysis(corrected, bleach_nm, temperature_K, convention,
                                        start_fs=fit.irf_fwhm_fs)
    injection = None
    if donor_nm is not None:
        injection = injection_test(corrected, donor_nm, acceptor_nm, irf_fwhm_fs=fit.irf_fwhm_fs,
                                   reference_nm=reference_nm)
    params = {"n_components": n_components, "bleach_nm": bleach_nm, "temperature_K": temperature_K,
              "convention": convention, "donor_nm": donor_nm, "acceptor_nm": acceptor_nm,
              "reference_nm": reference_nm, "chirp_order": chirp_order,
              "irf_fwhm_start_fs": irf_fwhm_fs, "artifact_order": artifact_order}
    return SpectroAnalysis(tamap, corrected, fit, svd, comparison, n_supported, bleach, track,
                           injection, params, notes)


def spectro_dict(analysis: SpectroAnalysis, input_info: dict[str, Any] | None = None) -> dict:
    """The ``spectro.json`` content (schema ``tamkit.spectro/1``); times in ps unless named fs."""
    from tamkit import __version__

    fit = analysis.fit
    wl = analysis.tamap["wavelength"].values
    grid = np.linspace(wl.min(), wl.max(), 11)
    t0 = fit.t0_fs(wl)
    convention = analysis.parameters["convention"]
    bleach = analysis.bleach or {
        "delta_E_meV": None, "tau_ps": None, "sigma_inh_meV": None,
        "convention": CONVENTION_TEXT[convention], "status": "no --bleach band given",
    }
    svd = analysis.svd
    return {
        "schema": SCHEMA,
        "tamkit_version": __version__,
        "input": input_info or {},
        "parameters": analysis.parameters,
        "lifetimes_ps": fit.lifetimes_ps(),
        "irf_fwhm_fs": fit.irf_fwhm_fs,
        "irf_fwhm_err_fs": fit.irf_fwhm_err_fs,
        "chirp": {
            "model": "t0_fs = sum_i c_i x^i, x = (1000 / wavelength_nm - nu_center) / nu_half",
            "coefficients_fs": fit.chirp_coeffs_fs.tolist(),
            "coefficients_err_fs": fit.chirp_coeffs_err_fs.tolist(),
            "nu_center_per_um": fit.chirp_nu_center_um,
            "nu_half_per_um": fit.chirp_nu_half_um,
            "span_fs": float(t0.max() - t0.min()),
            "wavelength_nm": grid.tolist(),
            "t0_fs": fit.t0_fs(grid).tolist(),
        },
        "fit": {"rss": fit.rss, "chi2_reduced": fit.chi2_reduced, "bic": fit.bic,
                "n_data": fit.n_data, "n_free": fit.n_free, "n_evaluations": fit.n_evaluations,
                "fit_time_s": fit.fit_time_s, "success": fit.success, "message": fit.message},
        "components": {
            "n_used": int(len(fit.lifetimes_fs)),
            "n_supported_by_fit": analysis.n_supported,
            "n_svd_above_noise": svd["n_significant"],
            "n_svd_smooth": svd["n_smooth"],
            "comparison": analysis.comparison,
        },
        "svd": {"singular_values": svd["singular_values"].tolist(), "noise_std": svd["noise_std"],
                "noise_edge": svd["noise_edge"]},
        "bleach": bleach,
        "injection": _injection_json(analysis.injection),
        "notes": analysis.notes,
    }


def _injection_json(injection: dict[str, Any] | None) -> dict[str, Any] | None:
    if injection is None:
        return None
    return {k: v for k, v in injection.items() if k != "fits"}
