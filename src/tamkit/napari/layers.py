"""The numbers behind tamkit's napari layers, in plain numpy (no napari, no Qt).

A stack's world coordinates in napari are the stack's own: the ``y`` and ``x`` axes in nm (pixel
centres, 0 at the frame centre) and the delay axis in fs where the delays are uniform. Measured
TAM delays rarely are (fine steps around time zero, then log-spaced to 1 ns), so the delay axis is
then the frame index (scale 1) and the delays travel in ``layer.metadata["delay_fs"]``.

The fitted contour of a frame is drawn at its full width at half maximum: an ellipse of
semi-axes ``sqrt(2 ln 2) sigma`` (the half-maximum contour of the fitted Gaussian), one per frame
whose fit is ``ok``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.outputs import format_delay
from tamkit.core.stack import make_stack

#: semi-axis of the half-maximum contour of a Gaussian, in units of sigma: sqrt(2 ln 2)
HWHM_PER_SIGMA = float(np.sqrt(2.0 * np.log(2.0)))

__all__ = [
    "HWHM_PER_SIGMA",
    "DelayAxis",
    "LineCut",
    "contour_ellipses",
    "delay_axis",
    "format_delay",
    "image_layer_kwargs",
    "line_cut",
    "stack_from_layer",
]


@dataclass(frozen=True)
class DelayAxis:
    """How the delay axis maps onto napari's world coordinate."""

    scale: float
    translate: float
    uniform: bool
    unit: str  # "fs" when uniform, else "pixel" (napari's dimensionless default: a frame index)

    def world(self, index: np.ndarray | float) -> np.ndarray:
        """World coordinate of frame ``index``."""
        return self.translate + self.scale * np.asarray(index, dtype=float)


def delay_axis(delay_fs: np.ndarray, rtol: float = 1e-6) -> DelayAxis:
    """The layer scale of the delay axis: the step (fs) if the delays are uniform, else 1."""
    delay_fs = np.asarray(delay_fs, dtype=float)
    steps = np.diff(delay_fs)
    if steps.size and np.allclose(steps, steps[0], rtol=rtol, atol=0.0) and steps[0] > 0:
        return DelayAxis(float(steps[0]), float(delay_fs[0]), True, "fs")
    return DelayAxis(1.0, 0.0, False, "pixel")


def image_layer_kwargs(stack: xr.DataArray, name: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``viewer.add_image`` for a dT/T stack (delay, y, x)."""
    delay_fs = stack["delay"].values.astype(float)
    axis = delay_axis(delay_fs)
    y, x = stack["y"].values, stack["x"].values
    pixel_nm = float(stack.attrs["pixel_nm"])
    values = np.asarray(stack.values, dtype=float)
    finite = values[np.isfinite(values)]
    # symmetric limits about zero: bleach (dT/T > 0) and photoinduced absorption (< 0) alike
    limit = float(np.percentile(np.abs(finite), 99.9)) if finite.size else 1.0
    attrs = {k: v for k, v in stack.attrs.items() if isinstance(v, str | int | float | bool)}
    return {
        "name": name or str(stack.attrs.get("sample") or stack.name or "dT/T"),
        "scale": (axis.scale, pixel_nm, pixel_nm),
        "translate": (axis.translate, float(y[0]), float(x[0])),
        "units": (axis.unit, "nm", "nm"),
        "axis_labels": ("delay" if axis.uniform else "frame", "y", "x"),
        "contrast_limits": (-limit, limit) if limit > 0 else (-1.0, 1.0),
        "metadata": {
            "tamkit": True,
            "quantity": "dT/T",
            "delay_fs": delay_fs,
            "uniform_delays": axis.uniform,
            "pixel_nm": pixel_nm,
            "attrs": attrs,
        },
    }


def stack_from_layer(
    data: np.ndarray, scale: tuple, translate: tuple, metadata: dict | None = None
) -> xr.DataArray:
    """Rebuild a tamkit stack from an image layer's data, scale, translate and metadata.

    Delays come from ``metadata["delay_fs"]`` when present (tamkit's reader puts them there),
    else from the layer's delay axis (``translate + index * scale``, read as fs); the pixel size
    from ``metadata["pixel_nm"]``, else from the layer's x scale (read as nm).
    """
    metadata = metadata or {}
    data = np.asarray(data, dtype=float)
    if data.ndim != 3:
        raise ValueError(f"a TAM stack has 3 axes (delay, y, x); this layer has {data.ndim}")
    n = data.shape[0]
    if "delay_fs" in metadata and len(metadata["delay_fs"]) == n:
        delay_fs = np.asarray(metadata["delay_fs"], dtype=float)
    else:
        delay_fs = float(translate[0]) + float(scale[0]) * np.arange(n)
    pixel_nm = float(metadata.get("pixel_nm", scale[-1]))
    return make_stack(data, delay_fs, pixel_nm, attrs=dict(metadata.get("attrs", {})))


def _widths(fits: xr.Dataset, elliptical: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if elliptical and "sigma_x_nm" in fits:
        theta = np.nan_to_num(fits["theta_rad"].values.astype(float))
        return fits["sigma_x_nm"].values, fits["sigma_y_nm"].values, theta
    sigma = fits["sigma_nm"].values.astype(float)
    return sigma, sigma, np.zeros_like(sigma)


def contour_ellipses(
    fits: xr.Dataset, delay: DelayAxis, *, elliptical: bool = False
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """FWHM ellipses of the fitted spots, one per ``ok`` frame, as napari shapes.

    Parameters
    ----------
    fits : xarray.Dataset
        Per-frame fits over ``delay`` (:func:`tamkit.fit_frames` or ``TransportResult.frames``):
        ``x0_nm``, ``y0_nm``, ``sigma_nm`` (and ``sigma_x_nm``, ``sigma_y_nm``, ``theta_rad``),
        ``status``.
    delay : DelayAxis
        The image layer's delay axis, so that each ellipse sits on its frame.
    elliptical : bool
        Draw the elliptical fit (sigma_x along theta from the x axis, sigma_y across) rather
        than the isotropic one.

    Returns
    -------
    shapes : list of ndarray, shape (4, 3)
        The corners (world delay coordinate, y_nm, x_nm) of each ellipse's bounding rectangle.
    features : dict of ndarray
        ``delay_fs``, ``sigma_nm`` (isotropic-equivalent) and ``fwhm_nm`` of each ellipse.
    """
    sx, sy, theta = _widths(fits, elliptical)
    x0, y0 = fits["x0_nm"].values.astype(float), fits["y0_nm"].values.astype(float)
    ok = (fits["status"].values == "ok") & np.isfinite(x0 + y0 + sx + sy)
    shapes, keep = [], np.flatnonzero(ok)
    for i in keep:
        a, b = HWHM_PER_SIGMA * sx[i], HWHM_PER_SIGMA * sy[i]
        u = np.array([np.sin(theta[i]), np.cos(theta[i])])  # (y, x) along sigma_x
        v = np.array([np.cos(theta[i]), -np.sin(theta[i])])  # (y, x) along sigma_y
        centre = np.array([y0[i], x0[i]])
        corners = [centre + a * u + b * v, centre + a * u - b * v,
                   centre - a * u - b * v, centre - a * u + b * v]
        frame = float(delay.world(i))
        shapes.append(np.array([[frame, c[0], c[1]] for c in corners]))
    sigma = np.sqrt((sx**2 + sy**2) / 2.0)
    features = {
        "delay_fs": fits["delay"].values[keep].astype(float),
        "sigma_nm": sigma[keep],
        "fwhm_nm": 2.0 * HWHM_PER_SIGMA * sigma[keep],
    }
    return shapes, features


@dataclass
class LineCut:
    """The kymograph: the row of every frame through the spot centre, dT/T along x."""

    delay_fs: np.ndarray  # (n_delay,)
    x_nm: np.ndarray  # (nx,)
    y_nm: float  # the row cut (nm)
    values: np.ndarray  # (n_delay, nx): dT/T of that row
    normalised: np.ndarray  # (n_delay, nx): each row divided by its peak along the fitted sign


def line_cut(stack: xr.DataArray, fits: xr.Dataset) -> LineCut:
    """The line cut along x through the fitted centre, for every frame.

    The row is the one nearest the centre averaged over the ``ok`` frames, weighted by
    ``1 / y0_err^2`` (one straight cut, so that spreading is not mixed with centre jitter);
    each frame's profile is also given normalised to its extreme value in the signal's sign.
    """
    ok = fits["status"].values == "ok"
    y0 = fits["y0_nm"].values.astype(float)
    err = fits["y0_err_nm"].values.astype(float) if "y0_err_nm" in fits else np.ones_like(y0)
    use = ok & np.isfinite(y0) & np.isfinite(err) & (err > 0)
    centre = float(np.average(y0[use], weights=err[use] ** -2.0)) if use.any() else 0.0
    y = stack["y"].values
    row = int(np.argmin(np.abs(y - centre)))
    values = np.asarray(stack.isel(y=row).values, dtype=float)
    sign = int(fits.attrs.get("signal_sign", 0)) or (1 if np.nansum(values) >= 0 else -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        peak = np.nanmax(sign * values, axis=1, keepdims=True)
        normalised = np.where(peak > 0, sign * values / peak, np.nan)
    return LineCut(stack["delay"].values.astype(float), stack["x"].values.astype(float),
                   float(y[row]), values, normalised)
