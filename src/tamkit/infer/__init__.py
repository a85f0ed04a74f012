"""Inverse modelling: a film's microscopic parameters (posterior) from its TAM measurements.

The flow: measurements (:mod:`.data`) -> forward model of the early MSD (:mod:`.forward`, the
band-like closed form; :mod:`.chain`, the emulator of the microscope + Gaussian-fit chain,
cached and trained on Dask by :mod:`.cache`) -> likelihood with a model-discrepancy term
(:mod:`.likelihood`) over the priors of :mod:`.parameters` -> emcee (:mod:`.sampling`) ->
summaries and identifiability (:mod:`.summary`) -> ``infer.json``, figures and a page
(:mod:`.report`). :func:`infer_film` is the one call; ``tamkit infer`` runs it.
"""

from tamkit.infer.data import Measured, load_measured, load_series
from tamkit.infer.parameters import DEFAULT_FREE, NOT_INFERRED, PRIORS, Prior
from tamkit.infer.run import INFER_SCHEMA, InferenceResult, infer_film

__all__ = [
    "DEFAULT_FREE",
    "INFER_SCHEMA",
    "NOT_INFERRED",
    "PRIORS",
    "InferenceResult",
    "Measured",
    "Prior",
    "infer_film",
    "load_measured",
    "load_series",
]
