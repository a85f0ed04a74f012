"""Multi-page TIFF stacks, including ImageJ hyperstacks (read with ``tifffile``).

Reading
-------
Frames are pages in delay order. Axes come from the TIFF series (``T``, ``Z``, ``C``, ``Y``,
``X``, ...); axes of size 1 are dropped. The delay axis is ``T``, or ``Z`` when there is no
``T``, or the generic page axis (``I``/``Q``) of a plain multi-page file. A channel axis ``C``
of size 2 becomes the chopper (pump on/off) only when the metadata says so, with
``chopper = on,off`` (the channel order) in tamkit's JSON, ImageJ ``Info`` or ``Properties``.
Any other extra axis (a ``T`` and a ``Z`` both longer than 1, RGB samples, ...) is ambiguous
and raises :class:`~tamkit.core.errors.InputError`.

Metadata, first found wins (the caller's ``delays`` and ``pixel_nm`` override all of it):

* tamkit's JSON record (written by :func:`save_tiff`) or a JSON ImageDescription with
  ``delay_fs`` and ``pixel_nm``;
* ImageJ ``Info`` lines ``delay_fs = ...`` / ``pixel_nm = ...`` or ``Properties`` entries;
* pixel size from the resolution tags: ImageJ's ``unit`` (um, nm, ...) with XResolution in
  pixels per unit, or the TIFF ResolutionUnit centimetre/inch. A centimetre/inch resolution is
  used only if it gives 0.01 nm to 10 um per pixel: document defaults such as 72 dpi
  (353 um per pixel) describe no microscope and are ignored. ImageJ's ``spacing`` is the
  Z step, not the pixel width, so it never sets the pixel size.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.io._common import (
    Read,
    as_delay_array,
    file_errors,
    length_nm,
    parse_key_values,
    read_from_metadata,
    stack_metadata,
)

#: Plausible pixel sizes at the sample (nm) for a resolution given per cm or per inch.
RESOLUTION_RANGE_NM = (0.01, 1.0e4)
_NM_PER_RESOLUTION_UNIT = {2: 2.54e7, 3: 1.0e7}  # TIFF ResolutionUnit: 2 inch, 3 centimetre


def _check_one_series(tf: tifffile.TiffFile) -> None:
    """Refuse a TIFF whose pages form several image series (pages of different shapes or
    types): reading the first series alone would silently drop the others' frames."""
    if len(tf.series) > 1:
        shapes = ", ".join("x".join(map(str, s.shape[-2:])) for s in tf.series[:4])
        raise InputError(f"the TIFF holds {len(tf.series)} image series of different page "
                         f"shapes or types ({shapes}); a stack has frames of one shape")


def read_tiff(path: Path) -> Read:
    """Read a TIFF stack and its metadata (see the module docstring for the rules)."""
    with file_errors(path, "TIFF"), quiet_tifffile(), tifffile.TiffFile(path) as tf:
        if not tf.series:
            raise InputError("the TIFF holds no images")
        _check_one_series(tf)
        series = tf.series[0]
        values = series.asarray()
        axes = series.axes
        meta = tiff_metadata(tf)
        if "dims" in meta:
            return read_from_metadata(values, meta, str(path))
        values, dims = _map_axes(values, axes, chopper="chopper" in meta)
        delay_fs = as_delay_array(meta["delay_fs"], str(path)) if "delay_fs" in meta else None
        pixel = meta.get("pixel_nm")
        if pixel is None:
            pixel = resolution_pixel_nm(tf)
        coords = {}
        if "chopper" in dims:
            labels = meta["chopper"]
            if isinstance(labels, str):
                labels = labels.replace(",", " ").split()
            coords["chopper"] = list(labels)
        attrs = {k: v for k, v in meta.items() if k in ("pump_nm", "probe_nm", "sample")}
        return Read(values, dims, delay_fs=delay_fs, pixel_nm=pixel, attrs=attrs, coords=coords)


@contextlib.contextmanager
def quiet_tifffile() -> Iterator[None]:
    """Silence tifffile's logged warnings: a damaged file becomes one InputError, not log noise."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def tiff_metadata(tf: tifffile.TiffFile) -> dict[str, Any]:
    """tamkit-relevant metadata from shaped JSON, the ImageDescription or ImageJ tags."""
    meta: dict[str, Any] = {}
    for record in tf.shaped_metadata or ():
        if isinstance(record, dict) and "tamkit" in record:
            return json.loads(record["tamkit"])
    description = tf.pages.first.description if tf.pages else ""
    if description.lstrip().startswith("{"):
        try:
            parsed = json.loads(description)
        except json.JSONDecodeError:
            parsed = {}
        if isinstance(parsed, dict):
            meta.update({k: v for k, v in parsed.items() if k in _KEYS})
    imagej = tf.imagej_metadata or {}
    properties = imagej.get("Properties")
    sources = [parse_key_values(imagej.get("Info", ""))]
    if isinstance(properties, dict):
        sources.append(properties)
    for source in sources:
        for key in _KEYS:
            if key in source and key not in meta:
                meta[key] = source[key]
    return meta


_KEYS = ("delay_fs", "pixel_nm", "chopper", "pump_nm", "probe_nm", "sample")


def _map_axes(values: np.ndarray, axes: str, chopper: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map TIFF series axes to tamkit dims; drop size-1 axes; reject ambiguous ones."""
    if axes[-2:] != "YX":
        if axes[-1:] == "S" and values.shape[-1] > 1:
            raise InputError(
                f"the TIFF holds colour samples (axes {axes}); TAM frames must be greyscale"
            )
        if axes[-1:] == "S":
            values, axes = values[..., 0], axes[:-1]
        if axes[-2:] != "YX":
            raise InputError(f"the TIFF axes {axes} do not end in Y, X")
    keep = [i for i, a in enumerate(axes[:-2]) if values.shape[i] > 1]
    lead = "".join(axes[i] for i in keep)
    values = values.reshape([values.shape[i] for i in keep] + list(values.shape[-2:]))
    dims: list[str] = []
    delay_axis = "T" if "T" in lead else "Z" if "Z" in lead else None
    for i, axis in enumerate(lead):
        if axis == delay_axis or (delay_axis is None and axis in "IQ" and "delay" not in dims):
            dims.append("delay")
        elif axis == "C" and chopper and values.shape[i] == 2:
            dims.append("chopper")
        elif axis == "C":
            raise InputError(
                f"the TIFF has a channel axis C of size {values.shape[i]}; it is read as pump "
                "on/off only when the metadata says 'chopper = on,off'"
            )
        else:
            raise InputError(
                f"the TIFF axes {axes} (shape {values.shape}) are ambiguous: cannot tell which "
                "axis is the delay; write one frame per delay"
            )
    if "delay" not in dims:
        values = values[..., None, :, :] if dims else values[None]
        dims.append("delay")
    elif dims[-1] != "delay":
        values = np.moveaxis(values, dims.index("delay"), -3)
        dims.remove("delay")
        dims.append("delay")
    return values, (*dims, "y", "x")


def resolution_pixel_nm(tf: tifffile.TiffFile) -> float | None:
    """Pixel size (nm) from the resolution tags, or None if they do not give a length."""
    page = tf.pages.first
    tags = page.tags
    if "XResolution" not in tags:
        return None
    x_res = _rational(tags["XResolution"].value)
    y_res = _rational(tags["YResolution"].value) if "YResolution" in tags else x_res
    if not x_res or x_res <= 0:
        return None
    unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
    imagej_unit = (tf.imagej_metadata or {}).get("unit")
    if imagej_unit is not None and unit == 1:
        pixel = length_nm(1.0 / x_res, imagej_unit)
        if pixel is None:
            return None
    elif unit in _NM_PER_RESOLUTION_UNIT:
        pixel = _NM_PER_RESOLUTION_UNIT[unit] / x_res
        low, high = RESOLUTION_RANGE_NM
        if not low <= pixel <= high:
            return None
    else:
        return None
    if y_res and abs(x_res - y_res) > 1e-6 * x_res:
        raise InputError(
            f"the TIFF resolution tags give non-square pixels ({x_res:g} vs {y_res:g} per unit); "
            "give the pixel size explicitly"
        )
    return pixel


def _rational(value: Any) -> float:
    if isinstance(value, tuple):
        numerator, denominator = value
        return numerator / denominator if denominator else 0.0
    return float(value)


def save_tiff(stack: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write a stack (dT/T or raw) as a multi-page TIFF with tamkit's JSON metadata.

    Values keep their dtype; the JSON record holds dims, delays, pixel size, coords and attrs,
    and the resolution tags give the pixel size in pixels per centimetre for other readers.
    """
    path = Path(path)
    meta = stack_metadata(stack)
    pixels_per_cm = 1.0e7 / float(stack.attrs["pixel_nm"])
    tifffile.imwrite(
        path,
        np.ascontiguousarray(stack.values),
        photometric="minisblack",  # one grey page per frame, never RGB for 3- or 4-frame stacks
        metadata={"tamkit": json.dumps(meta)},
        resolution=(pixels_per_cm, pixels_per_cm),
        resolutionunit="CENTIMETER",
    )
    return path
