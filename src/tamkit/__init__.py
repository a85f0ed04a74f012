"""tamkit: ultrafast transient absorption microscopy of carrier transport.

The analysis reads in four lines::

    stack = tamkit.load("film.tif", delays="delays.csv", pixel_nm=55.6)
    fits = tamkit.fit_frames(stack)                 # one row per delay
    result = tamkit.transport(fits, pitch_nm=3.08)  # MSD, D(t), regimes, band-like metrics
    tamkit.report(result, "out/", stack=stack)

Synthetic data with a known truth: :mod:`tamkit.artificial` (prescribed MSD) and
:mod:`tamkit.sim` (carriers in quantum-dot films and the microscope). TA spectroscopy maps:
:mod:`tamkit.spectro`.
"""

__version__ = "0.1.0"

from tamkit.batch import analyze_many  # noqa: E402
from tamkit.errors import InputError  # noqa: E402
from tamkit.gaussfit import cramer_rao_bound, fit_frames, fit_frames_reference  # noqa: E402
from tamkit.io import load, load_stack, read_delays, save_stack  # noqa: E402
from tamkit.pipeline import analyze_file, analyze_stack  # noqa: E402
from tamkit.preprocess import estimate_time_zero, preprocess  # noqa: E402
from tamkit.report import report  # noqa: E402
from tamkit.series import composition_series, fluence_series  # noqa: E402
from tamkit.stack import make_stack, validate_stack  # noqa: E402
from tamkit.transport import TransportResult, transport  # noqa: E402

__all__ = [
    "InputError",
    "TransportResult",
    "__version__",
    "analyze_file",
    "analyze_many",
    "analyze_stack",
    "composition_series",
    "cramer_rao_bound",
    "estimate_time_zero",
    "fit_frames",
    "fit_frames_reference",
    "fluence_series",
    "load",
    "load_stack",
    "make_stack",
    "preprocess",
    "read_delays",
    "report",
    "save_stack",
    "transport",
    "validate_stack",
]
