"""Batched 2D Gaussian fits of TAM frames, their calibrated errors and the Cramer-Rao bound.

``fit_frames`` (compiled, batched) and ``fit_frames_reference`` (a per-frame ``curve_fit``
loop) share every step but the optimiser and return the same Dataset.
"""

from tamkit.gaussfit._results import FILLS_FRAME, OPPOSITE_SIGN
from tamkit.gaussfit.fit import fit_frames
from tamkit.gaussfit.reference import fit_frames_reference
from tamkit.models.gaussian_spot import cramer_rao_bound

#: FILLS_FRAME and OPPOSITE_SIGN begin the ``reason`` of frames left out for those causes: the
#: fits table's contract with the transport warnings
__all__ = ["FILLS_FRAME", "OPPOSITE_SIGN", "cramer_rao_bound", "fit_frames",
           "fit_frames_reference"]
