"""Model-free moments of TAM frames and a check of the Gaussian-spot assumption.

``frame_moments(stack)`` gives, per delay, the centre of mass, the principal-axis variances, the
moment MSD and the excess kurtosis of each axis's marginal, with errors and with the background,
truncation and noise biases corrected; ``check_gaussianity(moments, frames)`` compares them with
the Gaussian fits' MSD and with zero kurtosis, frame by frame and regime by regime.
"""

from tamkit.moments.frames import frame_moments
from tamkit.moments.gaussianity import Gaussianity, check_gaussianity

__all__ = ["Gaussianity", "check_gaussianity", "frame_moments"]
