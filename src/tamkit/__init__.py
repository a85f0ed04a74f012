"""tamkit: ultrafast transient absorption microscopy of carrier transport.

The analysis reads in four lines::

    stack = tamkit.load("film.tif", delays="delays.csv", pixel_nm=55.6)
    fits = tamkit.fit_frames(stack)                 # one row per delay
    result = tamkit.transport(fits, pitch_nm=3.08)  # MSD, D(t), regimes, band-like metrics
    tamkit.report(result, "out/")
"""

from tamkit.errors import InputError
from tamkit.stack import make_stack, validate_stack

__version__ = "0.1.0"

__all__ = ["InputError", "make_stack", "validate_stack", "__version__"]
