"""The analysis flow in one call: load -> preprocess -> fit -> transport.

:func:`analyze` takes a path or a stack in memory and returns an :class:`Analysis`; the command
line, batch, series, the reproduction and the demo all call it, and
:func:`tamkit.reporting.analysis_report.report` writes it out.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from tamkit.carrier_transport.analysis import TransportResult, transport
from tamkit.core.constants import ROOM_TEMPERATURE_K
from tamkit.core.errors import InputError
from tamkit.core.stack import validate_stack
from tamkit.gaussfit import fit_frames
from tamkit.gaussfit.common_noise import baseline_common_modes
from tamkit.io import load_maybe_lazy
from tamkit.io._common import sha256_of  # noqa: F401  (also imported from here)
from tamkit.moments import Gaussianity, check_gaussianity, frame_moments

if TYPE_CHECKING:
    from tamkit.globalfit import GlobalFit

METHODS = ("per-frame", "global", "both")
ELLIPTICAL_KEYS = ("sigma_x_nm", "sigma_x_err_nm", "sigma_y_nm", "sigma_y_err_nm", "theta_rad")


@dataclass
class Analysis:
    """A finished analysis of one stack.

    Attributes
    ----------
    stack : xarray.DataArray
        The analysed dT/T stack, dims (delay, y, x).
    fits : xarray.Dataset
        Per-frame Gaussian fits, one row per delay.
    result : TransportResult
        MSD, D(t), regimes and band-like metrics.
    input_info : dict
        Provenance of the input: path, sha256, frame count and shape, pixel size, signal sign.
    moments : xarray.Dataset or None
        Model-free moments per frame (:func:`tamkit.moments.frame_moments`), with radial
        profiles and line cuts.
    gaussianity : Gaussianity or None
        The Gaussian-spot check (:func:`tamkit.moments.check_gaussianity`).
    global_fit : GlobalFit or None
        The global spatiotemporal fit (``method="global"`` or ``"both"``).
    """

    stack: xr.DataArray
    fits: xr.Dataset
    result: TransportResult
    input_info: dict
    moments: xr.Dataset | None = field(default=None, repr=False)
    gaussianity: Gaussianity | None = None
    global_fit: GlobalFit | None = None

    @property
    def warnings(self) -> list[str]:
        """The analysis' warnings (those of the transport result)."""
        return self.result.warnings

    @property
    def provenance(self) -> dict:
        """Alias of :attr:`input_info`: where the numbers came from."""
        return self.input_info


def _fit_widths(stack: xr.DataArray, anisotropy: bool) -> tuple[xr.Dataset, bool]:
    """Isotropic fits, switched to the elliptical fit's isotropic equivalent for elliptical spots.

    Returns the fits and whether the switch was made.
    """
    fits = fit_frames(stack, model="isotropic")
    if not anisotropy:
        return fits, False
    elliptical = fit_frames(stack, model="elliptical")
    if spot_is_elliptical(elliptical):
        # an isotropic fit of an elliptical spot biases the MSD; the elliptical fit's
        # isotropic-equivalent width sqrt((sx^2 + sy^2)/2) grows by exactly the per-axis MSD
        return elliptical, True
    for key in ELLIPTICAL_KEYS:
        fits[key] = elliptical[key]
    return fits, False


def _baseline_modes(stack: xr.DataArray, fits: xr.Dataset) -> np.ndarray | None:
    """The widths' common error from the subtracted baseline, when tamkit subtracted one."""
    n_baseline = int(stack.attrs.get("baseline_frames_subtracted", 0) or 0)
    if n_baseline < 1:
        return None
    return baseline_common_modes(fits, np.asarray(stack["x"].values, float),
                                 np.asarray(stack["y"].values, float), n_baseline)


def analyze(
    source: str | os.PathLike | xr.DataArray,
    *,
    delays: str | os.PathLike | None = None,
    pixel_nm: float | None = None,
    pitch_nm: float | None = None,
    temperature_K: float | None = None,
    anisotropy: bool = True,
    max_regimes: int = 5,
    n_bootstrap: int = 200,
    seed: int = 0,
    stack: xr.DataArray | None = None,
    method: str = "both",
) -> Analysis:
    """Load (when given a path), fit every frame and analyse transport: the whole analysis.

    Parameters
    ----------
    source : path or xarray.DataArray
        A stack file (any format :func:`tamkit.load` reads; raw frames are preprocessed) or a
        dT/T stack already in memory, dims (delay, y, x). A file above
        ``tamkit.io._common.LAZY_THRESHOLD_BYTES`` (128 MiB) whose layout allows it is opened
        dask-backed (:mod:`tamkit.io.lazy`) and read one file chunk at a time by every step:
        a 524 MB float32 file of 2000 256x256 frames is analysed in ~560 MB.
    delays : path, optional
        One-column delays file (fs), for formats without delays.
    pixel_nm : float, optional
        Pixel size at the sample (nm), for formats without it.
    pitch_nm : float, optional
        Dot pitch (nm) for the number of dots; falls back to ``stack.attrs['pitch_nm']``.
    temperature_K : float, optional
        Temperature for the Einstein mobility (K); falls back to the stack's, then 300 K.
    anisotropy : bool
        Also fit elliptical Gaussians, report the anisotropy, and use the elliptical fit's
        isotropic-equivalent width when the spot is elliptical.
    max_regimes : int
        Largest number of power-law regimes considered (BIC).
    n_bootstrap : int
        Bootstrap replicates for the uncertainties.
    seed : int
        Seed of the bootstrap.
    stack : xarray.DataArray, optional
        The stack of ``source`` when the caller has already loaded it (lazily, say); ``source``
        then only identifies the input.
    method : {"both", "per-frame", "global"}
        ``per-frame``: Gaussian fits of each frame, then transport from their widths;
        ``global``: one spatiotemporal fit of every pixel and delay
        (:func:`tamkit.globalfit.global_fit`), whose numbers then fill the top level;
        ``both`` (default): the top level keeps the per-frame result, the global one is in
        :attr:`Analysis.global_fit` (and ``results.json``'s ``global_fit``), with a warning
        where their band-like numbers disagree.

    Returns
    -------
    Analysis
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    path = None
    if isinstance(source, xr.DataArray):
        stack = validate_stack(source)
    else:
        path = Path(source)
        if stack is None:
            stack = load_maybe_lazy(path, delays=delays, pixel_nm=pixel_nm)
    if temperature_K is None:
        temperature_K = float(stack.attrs.get("temperature_K", ROOM_TEMPERATURE_K))
    if pitch_nm is None and "pitch_nm" in stack.attrs:
        pitch_nm = float(stack.attrs["pitch_nm"])
    fits, switched = _fit_widths(stack, anisotropy)
    result = transport(fits, pitch_nm=pitch_nm, temperature_K=temperature_K,
                       max_regimes=max_regimes, n_bootstrap=n_bootstrap, seed=seed,
                       width_common_modes_nm=_baseline_modes(stack, fits))
    result.parameters.width_model = "elliptical" if switched else "isotropic"
    if switched:
        result.warnings.append(
            "the pump spot is elliptical: widths are the elliptical fit's isotropic-equivalent "
            "sqrt((sigma_x^2 + sigma_y^2)/2), not the isotropic fit's"
        )
    if "pixel_nm_in_file" in stack.attrs:
        stored, used = float(stack.attrs["pixel_nm_in_file"]), float(stack.attrs["pixel_nm"])
        result.warnings.append(
            f"the pixel size given ({used:g} nm) replaces the {stored:g} nm stored in the file: "
            f"every length scales by {used / stored:.3g} and every D by {(used / stored)**2:.3g}")
    moments, gaussianity = _moments(stack, fits, result, seed)
    global_result = None
    if method != "per-frame":
        global_result = _global(stack, fits, result, method, pitch_nm, temperature_K)
    info = {
        "path": None if path is None else str(path),
        "sha256": None if path is None else sha256_of(path),
        "n_frames": int(stack.sizes["delay"]),
        "n_baseline_frames": int(np.sum(stack["delay"].values < 0)),
        "frame_shape": [int(stack.sizes["y"]), int(stack.sizes["x"])],
        "pixel_nm": float(stack.attrs["pixel_nm"]),
        "signal_sign": int(fits.attrs.get("signal_sign", 0)),
        "delays_file": None if delays is None else str(delays),
        "sample": stack.attrs.get("sample"),
        "nabs": stack.attrs.get("nabs"),
        "lazy_loaded": stack.chunks is not None,
    }
    return Analysis(stack, fits, result, info, moments=moments, gaussianity=gaussianity,
                    global_fit=global_result)


#: moment columns copied into the transport frames (and so into results.json and frames.csv)
MOMENT_COLUMNS = ("msd_moment_nm2", "msd_moment_err_nm2", "excess_kurtosis",
                  "excess_kurtosis_err")


def _moments(stack, fits, result, seed):
    """Model-free moments and the Gaussianity check; both ride on the transport result."""
    moments = frame_moments(stack, sign=int(fits.attrs.get("signal_sign", 0)) or None,
                            guess=fits, seed=seed)
    for name in MOMENT_COLUMNS:
        result.frames[name] = moments[name]
    gaussianity = check_gaussianity(moments, result.frames, result.regimes)
    result.gaussianity = gaussianity
    result.parameters.moments = {k: moments.attrs[k] for k in
                                 ("background", "truncation", "noise", "msd", "psf")}
    if gaussianity.gaussian is not True:  # non-Gaussian, or not tested
        result.warnings.append(gaussianity.note)
    return moments, gaussianity


def _global(stack, fits, result, method, pitch_nm, temperature_K):
    """Run the global fit, record it on ``result`` and compare (``both``) or replace (``global``)
    the top level."""
    from tamkit.globalfit import global_fit
    from tamkit.globalfit.compare import disagreements

    try:
        fit = global_fit(stack, fits, pitch_nm=pitch_nm, temperature_K=temperature_K)
    except InputError as exc:
        if method == "global":
            raise
        result.warnings.append(f"no global fit: {exc}")
        return None
    except (np.linalg.LinAlgError, FloatingPointError) as exc:
        # the per-frame result stands on its own: a numerical failure of the optional global
        # fit is reported, never allowed to take the per-frame analysis down with it
        if method == "global":
            raise InputError(f"the global fit failed numerically ({exc})") from exc
        result.warnings.append(f"no global fit: it failed numerically ({exc})")
        return None
    result.global_fit = fit.block()
    result.warnings.extend(f"global fit: {w}" for w in fit.warnings)
    if method == "both":
        result.warnings.extend(disagreements(result, fit))
    else:
        result.sigma0_nm, result.sigma0_err_nm = fit.sigma0_nm, fit.sigma0_err_nm
        result.regimes, result.band_like = list(fit.regimes), fit.band_like
        result.warnings.append(
            f"method 'global': sigma_0, regimes and band-like metrics are the global fit's "
            f"({fit.model.name}); the per-frame table is the per-frame fits'")
    return fit


def analyze_stack(stack: xr.DataArray, **options) -> tuple[xr.Dataset, TransportResult]:
    """Deprecated (0.2): ``tamkit.analyze(stack)`` returns the fits and the result as one object."""
    warnings.warn("analyze_stack is deprecated; use tamkit.analyze", DeprecationWarning,
                  stacklevel=2)
    analysis = analyze(stack, **options)
    return analysis.fits, analysis.result


def analyze_file(path: str | os.PathLike, **options) -> Analysis:
    """Deprecated (0.2): use ``tamkit.analyze(path)``."""
    warnings.warn("analyze_file is deprecated; use tamkit.analyze", DeprecationWarning,
                  stacklevel=2)
    return analyze(path, **options)


#: Spot ellipticity above which the isotropic-equivalent width of the elliptical fit is used.
ELLIPTICITY_SWITCH = 0.05


def spot_is_elliptical(elliptical: xr.Dataset, n_early: int = 10) -> bool:
    """True when the early spot is elliptical beyond a 5 % axis ratio, at three standard errors.

    Each frame gives the orientation-aware ellipticity vector
    ``e (cos 2 theta, sin 2 theta)`` with ``e = (sx^2 - sy^2) / (sx^2 + sy^2)``; averaging the
    vector over the first ``n_early`` usable frames lets noise cancel, where averaging
    ``max(sx/sy, sy/sx)`` would be biased upwards at low SNR.
    """
    ok = (np.asarray(elliptical["status"].values).astype(str) == "ok") & (
        elliptical["delay"].values >= 0
    )
    idx = np.flatnonzero(ok)[:n_early]
    if idx.size < 3:
        return False
    sx2 = elliptical["sigma_x_nm"].values[idx] ** 2
    sy2 = elliptical["sigma_y_nm"].values[idx] ** 2
    theta = elliptical["theta_rad"].values[idx]
    e = (sx2 - sy2) / (sx2 + sy2)
    q, u = e * np.cos(2 * theta), e * np.sin(2 * theta)
    magnitude = float(np.hypot(q.mean(), u.mean()))
    error = float(np.sqrt((q.var(ddof=1) + u.var(ddof=1)) / (2 * idx.size)))
    threshold = ((1 + ELLIPTICITY_SWITCH) ** 2 - 1) / ((1 + ELLIPTICITY_SWITCH) ** 2 + 1)
    return magnitude > threshold and magnitude > 3.0 * error


