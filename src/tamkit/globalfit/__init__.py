"""The global spatiotemporal fit: one Gaussian-spot model of every pixel of every frame.

``global_fit(stack, fits)`` fits sigma_t^2 = sigma_0^2 + MSD(t; theta) to the whole stack, with
per-frame amplitudes and offsets eliminated by variable projection, and returns sigma_0, the
regimes and the band-like metrics with calibrated errors (:class:`GlobalFit`).
"""

from tamkit.globalfit.fit import GlobalFit, global_fit
from tamkit.globalfit.msd_models import MsdModel, candidate_models
from tamkit.globalfit.results import GlobalFitBlock, ModelScore

__all__ = ["GlobalFit", "GlobalFitBlock", "ModelScore", "MsdModel", "candidate_models",
           "global_fit"]
