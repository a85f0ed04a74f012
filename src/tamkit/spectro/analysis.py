"""The TA-map pipeline: background, components, global fit, chirp correction, bleach, injection.

``analyze_tamap(tamap, ...)`` runs the steps in order and returns a :class:`SpectroAnalysis`;
:func:`spectro_dict` turns it into the ``spectro.json`` contract (schema ``tamkit.spectro/1``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.constants import ROOM_TEMPERATURE_K
from tamkit.core.errors import InputError
from tamkit.core.tamap import MIN_MAP_DELAYS, validate_tamap
from tamkit.models.ta_kinetics import chirp_design
from tamkit.spectro.bleach import CONVENTION_TEXT, DEFAULT_CONVENTION, bleach_analysis
from tamkit.spectro.checks import (
    BLEACH_MIN_WAVELENGTHS,
    SHORTEST_PLAUSIBLE_SPAN_FS,
    check_bands_in_map,
    check_injection_bands,
    check_map_holds_kinetics,
    check_window_holds_the_rise,
    exclusion_note,
)
from tamkit.spectro.corrections import (
    correct_chirp,
    estimate_chirp,
    mask_invalid,
    select_window,
    subtract_background,
)
from tamkit.spectro.globalfit import MAX_COMPONENTS, GlobalFit, _fill_masked, global_fit
from tamkit.spectro.injection import injection_test
from tamkit.spectro.kinetics import (
    NO_SIGNAL_EDGE_RATIO,
    compare_components,
    noise_std,
    structure_above_noise,
    svd_analysis,
)

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
    systematics: list[dict[str, Any]] = field(default_factory=list)


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
    background: bool = True,
    wavelength_nm: tuple[float, float] | None = None,
    delay_fs: tuple[float, float] | None = None,
    exclude_nm=(),
    systematics: bool = True,
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
    background : bool
        Subtract the mean spectrum recorded before time zero (default) or not.
    wavelength_nm, delay_fs : (float, float), optional
        Wavelength (nm) and delay (fs) windows analysed.
    exclude_nm : sequence of (float, float)
        Wavelength bands (nm) removed, e.g. pump scatter.
    systematics : bool
        Refit with the other background choice and with chirp order +-1, and report the shifts
        of the lifetimes beside their statistical errors (:func:`systematic_alternatives`).
    """
    tamap = validate_tamap(tamap)
    if not temperature_K > 0:
        raise InputError(f"temperature must be positive (K), got {temperature_K}")
    if (donor_nm is None) != (acceptor_nm is None):
        raise InputError("the injection test needs both a donor and an acceptor band")
    if donor_nm is not None:
        check_injection_bands(donor_nm, acceptor_nm)
    notes: list[str] = []
    if tamap.attrs.get("loading_note"):
        notes.append(str(tamap.attrs["loading_note"]))
    if wavelength_nm is not None or delay_fs is not None or exclude_nm:
        wl_all = tamap["wavelength"].values
        if delay_fs is not None:
            check_window_holds_the_rise(tamap, delay_fs, irf_fwhm_fs)
        tamap = select_window(tamap, wavelength_nm, delay_fs, exclude_nm)
        if exclude_nm:
            notes.append(exclusion_note(wl_all, exclude_nm))
    tamap, masked = mask_invalid(tamap)
    notes += masked
    check_map_holds_kinetics(tamap)
    check_bands_in_map(tamap, {"--bleach": (bleach_nm, BLEACH_MIN_WAVELENGTHS),
                               "--donor": (donor_nm, 1), "--acceptor": (acceptor_nm, 1),
                               "--reference": (reference_nm, 1)})
    span_fs = float(np.ptp(tamap["delay"].values))
    unit_hint = ""
    if tamap.attrs.get("delay_unit_assumed") and span_fs < SHORTEST_PLAUSIBLE_SPAN_FS:
        unit_hint = (f"the delays were read as {tamap.attrs['delay_unit_assumed']} (no unit "
                     f"given or named in the file) and span {span_fs:.3g} fs: if they are in "
                     "ns or us, give --delay-unit")
        notes.append(unit_hint)
    if not 0 < irf_fwhm_fs < span_fs:  # NaN and inf fail too
        raise InputError(f"--irf {irf_fwhm_fs:g} fs must be positive and shorter than the "
                         f"delay span of the map ({span_fs:.4g} fs)"
                         + (f"; {unit_hint}" if unit_hint else ""))
    n_wl = tamap.sizes["wavelength"]
    if chirp_order > n_wl - 1:
        # a polynomial of degree n_wl - 1 already passes through every time zero
        notes.append(f"{n_wl} wavelength(s) analysed: the chirp polynomial is of order "
                     f"{n_wl - 1} instead of {chirp_order}")
        chirp_order = n_wl - 1
    # beyond MAX_COMPONENTS the global fit's own limit (and its reason) speaks
    if n_components is not None and n_wl < n_components <= MAX_COMPONENTS:
        raise InputError(f"--components {n_components} exceeds the {n_wl} wavelength(s) "
                         f"analysed: a map of {n_wl} wavelength(s) determines at most {n_wl} "
                         "decay-associated spectra")
    with _linear_algebra_as_input_error():
        return _fit_and_report(tamap, n_components, notes, bleach_nm=bleach_nm,
                               temperature_K=temperature_K, convention=convention,
                               donor_nm=donor_nm, acceptor_nm=acceptor_nm,
                               reference_nm=reference_nm, chirp_order=chirp_order,
                               irf_fwhm_fs=irf_fwhm_fs, max_components=min(max_components, n_wl),
                               artifact_order=artifact_order, background=background,
                               wavelength_nm=wavelength_nm, delay_fs=delay_fs,
                               exclude_nm=exclude_nm, systematics=systematics)


@contextmanager
def _linear_algebra_as_input_error():
    """A linear-algebra failure (an SVD that does not converge) on a user's map: the map or
    window is too small or degenerate for the fit, a fact about the input, said in one line."""
    try:
        yield
    except np.linalg.LinAlgError as exc:
        raise InputError(f"the fit failed on this map ({exc}): the map or the window is too "
                         "small or degenerate; widen --wl-range/--delay-range or lower "
                         "--chirp-order or --components") from None


def _fit_and_report(tamap, n_components, notes, *, bleach_nm, temperature_K, convention,
                    donor_nm, acceptor_nm, reference_nm, chirp_order, irf_fwhm_fs,
                    max_components, artifact_order, background, wavelength_nm, delay_fs,
                    exclude_nm, systematics) -> SpectroAnalysis:
    """The steps of :func:`analyze_tamap` after the map is windowed, masked and checked."""
    structure = structure_above_noise(tamap)
    if structure < NO_SIGNAL_EDGE_RATIO:
        notes.append(f"no signal above the noise: the map's largest singular value (mean "
                     f"spectrum removed) is {structure:.2f} of the pure-noise edge (white noise "
                     "gives 0.94-1.03); the lifetimes below describe noise")
    chirp0 = estimate_chirp(tamap, order=chirp_order)
    # the spectra "before time zero" (background, noise) end 3 rise widths before it: the
    # starting IRF's or the rise measured on the map, the wider (a 1 fs start had put the
    # rising edge of a 100 fs IRF into the background and the noise, 8x too high)
    rise = chirp0.rise_sigma_fs
    sigma0 = max(irf_fwhm_fs / 2.3548, rise if np.isfinite(rise) else 0.0)
    before = chirp0(tamap["wavelength"].values) - 3.0 * sigma0
    raw = tamap
    subtracted = None
    try:
        subtracted = subtract_background(tamap, before_fs=before)
        n_bg = subtracted.attrs["background_wavelengths"]
        if background and n_bg < tamap.sizes["wavelength"]:
            notes.append(f"background subtracted at {n_bg} of {tamap.sizes['wavelength']} "
                         "wavelengths (the others have fewer than 3 spectra before the estimated "
                         "time zero less 3 IRF widths)")
    except InputError:
        if background:
            notes.append("fewer than 3 spectra before the estimated time zero less 3 IRF widths "
                         f"(the chirp's t0 from {float(np.min(before + 3.0 * sigma0)):.4g} fs): "
                         "no background subtracted")
    work = subtracted if background and subtracted is not None else raw
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
    if fit.extras.get("irf_at_bound") == "floor":
        notes.append("the IRF width is at its floor: the rise is faster than the delay grid "
                     "resolves (a step); the IRF FWHM is only an upper bound")
    alternatives = []
    if systematics:
        other = raw if work is subtracted else subtracted
        alternatives = systematic_alternatives(
            work, fit, chirp_order, artifact_order,
            other_background=other,
            other_label="without" if work is subtracted else "with")
    filled = work.copy(data=_fill_masked(work.values, work["delay"].values))
    corrected = correct_chirp(filled, fit.t0_fs)
    if corrected.sizes["delay"] < MIN_MAP_DELAYS:
        # the correction keeps only delays every wavelength's shifted grid covers
        notes.append(f"the chirp correction leaves {corrected.sizes['delay']} of "
                     f"{filled.sizes['delay']} delays (too few): the SVD and the spectra "
                     "below are of the map without chirp correction")
        corrected = filled
    # noise from the spectra before time zero of the uncorrected map: the chirp correction
    # interpolates, which would smooth the noise and lower the estimate
    svd = svd_analysis(corrected, noise=noise_std(work, float(np.min(before))))
    svd["n_smooth"] = smooth_components(svd)
    svd["structure_over_noise_edge"] = structure
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
              "irf_fwhm_start_fs": irf_fwhm_fs, "artifact_order": artifact_order,
              "background_subtracted": work is subtracted,
              "wavelength_window_nm": wavelength_nm,
              "delay_window_fs": delay_fs, "exclude_nm": [list(b) for b in exclude_nm]}
    return SpectroAnalysis(tamap, corrected, fit, svd, comparison, n_supported, bleach, track,
                           injection, params, notes, alternatives)


def _refit_chirp(fit: GlobalFit, wl: np.ndarray, order: int) -> np.ndarray:
    """The fitted time zero as a polynomial of another degree (least squares on the grid)."""
    design = chirp_design(wl, order, fit.chirp_nu_center_um, fit.chirp_nu_half_um)
    return np.linalg.lstsq(design, fit.t0_fs(wl), rcond=None)[0]


def systematic_alternatives(
    work: xr.DataArray,
    fit: GlobalFit,
    chirp_order: int,
    artifact_order: int | None,
    other_background: xr.DataArray | None = None,
    other_label: str = "without",
) -> list[dict[str, Any]]:
    """Refits of the same model under the analysis choices the data do not fix.

    Alternatives: the other background choice (``other_background``: the map with or without
    the pre-time-zero background subtracted) and the chirp polynomial one degree lower and
    higher. Each is started from the nominal fit (its lifetimes, IRF and chirp), so it finds the
    corresponding minimum. Returns one dict per alternative: ``label``, ``lifetimes_ps`` (None
    where that component is not determined), ``rss`` and ``shift_ps`` (alternative minus
    nominal, per component, None where either is undetermined).
    """
    wl = work["wavelength"].values
    n = len(fit.lifetimes_fs)
    runs = []
    if other_background is not None:
        runs.append((f"{other_label} pre-time-zero background subtraction", other_background,
                     chirp_order, fit.chirp_coeffs_fs))
    for order in (chirp_order - 1, chirp_order + 1):
        if 0 <= order <= 6 and wl.size > order + 1:
            runs.append((f"chirp order {order}", work, order, _refit_chirp(fit, wl, order)))
    out = []
    nominal = fit.lifetimes_ps()
    for label, tamap, order, coeffs in runs:
        try:
            alt = global_fit(tamap, n, lifetimes_fs=fit.lifetimes_fs, irf_fwhm_fs=fit.irf_fwhm_fs,
                             chirp_order=order, chirp_coeffs_fs=coeffs,
                             artifact_order=artifact_order, n_starts=0)
        except InputError:
            continue
        values = [e["value"] for e in alt.lifetimes_ps()]
        shift = [None if (a is None or b["value"] is None) else a - b["value"]
                 for a, b in zip(values, nominal, strict=True)]
        out.append({"label": label, "lifetimes_ps": values, "rss": alt.rss,
                    "irf_fwhm_fs": alt.irf_fwhm_fs, "converged": bool(alt.success),
                    "shift_ps": shift})
    return out


def systematic_errors(nominal: list[dict[str, Any]], alternatives: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
    """Per component, the largest shift among the alternatives and what caused it, where it
    exceeds the statistical error (else None): ``{"systematic_ps", "source", "relative"}``."""
    out = []
    for j, entry in enumerate(nominal):
        best = None
        for alt in alternatives:
            d = alt["shift_ps"][j] if j < len(alt["shift_ps"]) else None
            if d is not None and (best is None or abs(d) > abs(best[0])):
                best = (d, alt["label"])
        if best is None or entry["value"] is None or not abs(best[0]) > (entry["err"] or 0.0):
            out.append(None)
        else:
            out.append({"systematic_ps": abs(best[0]), "shift_ps": best[0], "source": best[1],
                        "relative": abs(best[0]) / entry["value"]})
    return out


def reduced_chi2(rss: float, n_data: int, n_free: int, noise_std: float | None) -> float | None:
    """The noise-normalised reduced chi-square RSS / (σ² (N − p)); None without a noise σ or
    degrees of freedom (near 1 for a fit that leaves only noise)."""
    if not noise_std or not np.isfinite(noise_std) or n_data <= n_free:
        return None
    return float(rss / (noise_std**2 * (n_data - n_free)))


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
        "lifetimes_ps": _lifetimes_with_systematics(fit, analysis.systematics),
        "systematic_alternatives": analysis.systematics,
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
        "fit": {"rss": fit.rss, "rss_per_dof": fit.rss_per_dof,
                "chi2_reduced": reduced_chi2(fit.rss, fit.n_data, fit.n_free, svd["noise_std"]),
                "bic": fit.bic,
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
                "noise_edge": svd["noise_edge"],
                "structure_over_noise_edge": svd.get("structure_over_noise_edge")},
        "bleach": bleach,
        "injection": _injection_json(analysis.injection),
        "notes": analysis.notes,
    }


def _lifetimes_with_systematics(fit: GlobalFit, alternatives) -> list[dict[str, Any]]:
    entries = fit.lifetimes_ps()
    for entry, syst in zip(entries, systematic_errors(entries, alternatives), strict=True):
        entry["systematic"] = syst
    return entries


def _injection_json(injection: dict[str, Any] | None) -> dict[str, Any] | None:
    if injection is None:
        return None
    return {k: v for k, v in injection.items() if k != "fits"}
