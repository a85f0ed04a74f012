"""Transient absorption spectroscopy: TA maps, corrections, kinetics, injection, bleach shift.

The flow (see :func:`analyze_tamap` for all of it in one call)::

    tamap = load_tamap("map.ascii")                     # DataArray (delay fs, wavelength nm)
    fit = global_fit(tamap, 4)                          # lifetimes, IRF, chirp, DAS
    corrected = correct_chirp(tamap, fit.t0_fs)
    bleach, track = bleach_analysis(corrected, (850, 980), temperature_K=300)
"""

from tamkit.core.tamap import band_trace, make_tamap, validate_tamap
from tamkit.spectro.analysis import SpectroAnalysis, analyze_tamap, spectro_dict
from tamkit.spectro.bleach import (
    CONVENTIONS,
    bleach_analysis,
    delta_e_from_sigma,
    fit_peak_shift,
    sigma_from_delta_e,
    track_peak,
)
from tamkit.spectro.corrections import (
    ChirpEstimate,
    average_scans,
    correct_chirp,
    estimate_chirp,
    subtract_background,
)
from tamkit.spectro.globalfit import GlobalFit, global_fit
from tamkit.spectro.injection import injection_test
from tamkit.spectro.kinetics import compare_components, fit_kinetics, noise_std, svd_analysis
from tamkit.spectro.loading import load_tamap, save_tamap

__all__ = [
    "CONVENTIONS",
    "ChirpEstimate",
    "GlobalFit",
    "SpectroAnalysis",
    "analyze_tamap",
    "average_scans",
    "band_trace",
    "bleach_analysis",
    "compare_components",
    "correct_chirp",
    "delta_e_from_sigma",
    "estimate_chirp",
    "fit_kinetics",
    "fit_peak_shift",
    "global_fit",
    "injection_test",
    "load_tamap",
    "make_tamap",
    "noise_std",
    "save_tamap",
    "sigma_from_delta_e",
    "spectro_dict",
    "subtract_background",
    "svd_analysis",
    "track_peak",
    "validate_tamap",
]
