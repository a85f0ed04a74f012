"""The analysis flow in one screen: load -> preprocess -> fit -> transport -> report.

:func:`analyze_stack` runs fit and transport on a stack already in memory;
:func:`analyze_file` adds loading and returns what :func:`tamkit.report.report` needs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from tamkit.constants import ROOM_TEMPERATURE_K
from tamkit.gaussfit import fit_frames
from tamkit.io import load
from tamkit.transport import TransportResult, transport

ELLIPTICAL_KEYS = ("sigma_x_nm", "sigma_x_err_nm", "sigma_y_nm", "sigma_y_err_nm", "theta_rad")


@dataclass
class Analysis:
    """A finished analysis: the stack, its per-frame fits, the transport result, input facts."""

    stack: xr.DataArray
    fits: xr.Dataset
    result: TransportResult
    input_info: dict


def analyze_stack(
    stack: xr.DataArray,
    *,
    pitch_nm: float | None = None,
    temperature_K: float = ROOM_TEMPERATURE_K,
    anisotropy: bool = True,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> tuple[xr.Dataset, TransportResult]:
    """Fit every frame (isotropic, plus elliptical for anisotropy) and analyse transport.

    Parameters
    ----------
    stack : xarray.DataArray
        dT/T stack, dims (delay, y, x).
    pitch_nm : float, optional
        Dot pitch (nm) for the number of dots; falls back to ``stack.attrs['pitch_nm']``.
    temperature_K : float
        Temperature for the Einstein mobility (K).
    anisotropy : bool
        Also fit elliptical Gaussians and report the anisotropy.
    """
    fits = fit_frames(stack, model="isotropic")
    switched = False
    if anisotropy:
        elliptical = fit_frames(stack, model="elliptical")
        if spot_is_elliptical(elliptical):
            # an isotropic fit of an elliptical spot biases the MSD; the elliptical fit's
            # isotropic-equivalent width sqrt((sx^2 + sy^2)/2) grows by exactly the per-axis MSD
            fits = elliptical
            switched = True
        else:
            for key in ELLIPTICAL_KEYS:
                fits[key] = elliptical[key]
    if pitch_nm is None and "pitch_nm" in stack.attrs:
        pitch_nm = float(stack.attrs["pitch_nm"])
    result = transport(fits, pitch_nm=pitch_nm, temperature_K=temperature_K,
                       n_bootstrap=n_bootstrap, seed=seed)
    result.parameters["width_model"] = "elliptical" if switched else "isotropic"
    if switched:
        result.warnings.append(
            "the pump spot is elliptical: widths are the elliptical fit's isotropic-equivalent "
            "sqrt((sigma_x^2 + sigma_y^2)/2), not the isotropic fit's"
        )
    return fits, result


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


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def analyze_file(
    path: str | os.PathLike,
    *,
    delays: str | os.PathLike | None = None,
    pixel_nm: float | None = None,
    pitch_nm: float | None = None,
    temperature_K: float | None = None,
    n_bootstrap: int = 200,
    stack: xr.DataArray | None = None,
) -> Analysis:
    """Load a stack file and analyse it; temperature falls back to the file's, then 300 K.

    ``stack`` may be given when the caller has already loaded ``path`` (lazily, say); it is then
    analysed as given and ``path`` only identifies the input.
    """
    if stack is None:
        stack = load(path, delays=delays, pixel_nm=pixel_nm)
    if temperature_K is None:
        temperature_K = float(stack.attrs.get("temperature_K", ROOM_TEMPERATURE_K))
    fits, result = analyze_stack(stack, pitch_nm=pitch_nm, temperature_K=temperature_K,
                                 n_bootstrap=n_bootstrap)
    info = {
        "path": str(Path(path)),
        "sha256": sha256_of(path),
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
    return Analysis(stack, fits, result, info)
