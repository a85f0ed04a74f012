"""tamkit: ultrafast transient absorption microscopy of carrier transport.

The analysis reads in four lines::

    stack = tamkit.load("film.tif", delays="delays.csv", pixel_nm=55.6)
    fits = tamkit.fit_frames(stack)                 # one row per delay
    result = tamkit.transport(fits, pitch_nm=3.08)  # MSD, D(t), regimes, band-like metrics
    tamkit.report(result, "out/", stack=stack)

or in one: ``analysis = tamkit.analyze("film.tif", delays="delays.csv")``, which is what the
command line, batch, series, reproduction and demo all call. ``tamkit.read_results`` reads a
``results.json`` (or ``spectro.json``) back into typed objects; ``tamkit.infer_film`` turns a
fluence series into the posterior of the film's band-like parameters (:mod:`tamkit.infer`).

The package reads as the flow (see ``docs/architecture.md``): :mod:`tamkit.core` (data model,
units, errors, safe writing) and :mod:`tamkit.models` (forward physics shared by simulator and
analysis) at the bottom; the analysis (:mod:`tamkit.io`, :mod:`tamkit.preprocessing`,
:mod:`tamkit.gaussfit`, :mod:`tamkit.carrier_transport`, :mod:`tamkit.series`,
:mod:`tamkit.spectro`) beside the simulator (:mod:`tamkit.sim`), neither importing the other;
:mod:`tamkit.reporting`, :mod:`tamkit.workflows`, :mod:`tamkit.testing` (artificial data),
:mod:`tamkit.paper` and :mod:`tamkit.cli` on top.

Importing tamkit is cheap: every name below is loaded on first use.
"""

from __future__ import annotations

import importlib
import warnings

__version__ = "0.2.0"

#: public name -> (module, attribute), loaded on first access (PEP 562)
_PUBLIC = {
    "InputError": ("tamkit.core.errors", "InputError"),
    "make_stack": ("tamkit.core.stack", "make_stack"),
    "validate_stack": ("tamkit.core.stack", "validate_stack"),
    "load": ("tamkit.io", "load"),
    "read_delays": ("tamkit.io", "read_delays"),
    "save_stack": ("tamkit.io", "save_stack"),
    "read_results": ("tamkit.io.results", "read_results"),
    "preprocess": ("tamkit.preprocessing.differential", "preprocess"),
    "estimate_time_zero": ("tamkit.preprocessing.differential", "estimate_time_zero"),
    "fit_frames": ("tamkit.gaussfit", "fit_frames"),
    "fit_frames_reference": ("tamkit.gaussfit", "fit_frames_reference"),
    "cramer_rao_bound": ("tamkit.models.gaussian_spot", "cramer_rao_bound"),
    "transport": ("tamkit.carrier_transport.analysis", "transport"),
    "TransportResult": ("tamkit.carrier_transport.analysis", "TransportResult"),
    "fluence_series": ("tamkit.series.trends", "fluence_series"),
    "composition_series": ("tamkit.series.trends", "composition_series"),
    "report": ("tamkit.reporting.analysis_report", "report"),
    "analyze": ("tamkit.workflows.analysis", "analyze"),
    "Analysis": ("tamkit.workflows.analysis", "Analysis"),
    "analyze_many": ("tamkit.workflows.batch", "analyze_many"),
    "infer_film": ("tamkit.infer", "infer_film"),
}
#: deprecated name -> (module, attribute, replacement); kept for one release (0.2)
_DEPRECATED = {
    "load_stack": ("tamkit.io", "load_stack", "tamkit.io.load_stack or tamkit.load"),
    "analyze_file": ("tamkit.workflows.analysis", "analyze_file", "tamkit.analyze"),
    "analyze_stack": ("tamkit.workflows.analysis", "analyze_stack", "tamkit.analyze"),
}

__all__ = sorted([*_PUBLIC, "__version__"])


def __getattr__(name: str):
    if name in _PUBLIC:
        module, attr = _PUBLIC[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _DEPRECATED:
        module, attr, instead = _DEPRECATED[name]
        warnings.warn(f"tamkit.{name} is deprecated; use {instead}", DeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tamkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
