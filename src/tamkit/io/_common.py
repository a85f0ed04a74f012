"""Shared plumbing of the readers: path checks, error wrapping, and turning arrays into stacks.

Every reader returns its array with dim names, whatever delays/pixel size its metadata held and
the attrs it found; :func:`assemble` applies the user's overrides, builds the labelled stack and
validates it with :func:`tamkit.core.stack.validate_stack`, so all formats share one set of checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.stack import (
    FRAME_DIMS,
    RAW_DIMS,
    _checked_pixel_nm,
    delay_count_mismatch,
    pixel_axis_nm,
    validate_stack,
)

CHOPPER_LABELS = ("on", "off")
#: Files larger than this (bytes) are opened lazily (:mod:`tamkit.io.lazy`) when their layout
#: allows it: loaded whole, a float32 file takes twice its size as float64 frames.
LAZY_THRESHOLD_BYTES = 128 * 2**20
#: Length units found in file metadata, in nm.
UNIT_NM = {
    "nm": 1.0,
    "nanometer": 1.0,
    "nanometers": 1.0,
    "nanometre": 1.0,
    "um": 1.0e3,
    "µm": 1.0e3,
    "μm": 1.0e3,
    "\\u00b5m": 1.0e3,
    "micron": 1.0e3,
    "microns": 1.0e3,
    "micrometer": 1.0e3,
    "micrometers": 1.0e3,
    "micrometre": 1.0e3,
    "mm": 1.0e6,
    "millimeter": 1.0e6,
    "cm": 1.0e7,
    "centimeter": 1.0e7,
    "m": 1.0e9,
    "meter": 1.0e9,
}


#: Time units found in file metadata, in fs.
UNIT_FS = {
    "fs": 1.0,
    "femtosecond": 1.0,
    "femtoseconds": 1.0,
    "ps": 1.0e3,
    "picosecond": 1.0e3,
    "picoseconds": 1.0e3,
    "ns": 1.0e6,
    "nanosecond": 1.0e6,
    "nanoseconds": 1.0e6,
    "us": 1.0e9,
    "µs": 1.0e9,
    "μs": 1.0e9,
    "microsecond": 1.0e9,
    "microseconds": 1.0e9,
    "s": 1.0e15,
    "second": 1.0e15,
    "seconds": 1.0e15,
}


#: the name of each time factor, as the TA loader's --delay-unit spells it
_TIME_NAMES = {1.0: "fs", 1.0e3: "ps", 1.0e6: "ns", 1.0e9: "us", 1.0e15: "s"}
_LABEL_WORDS = re.compile(r"[^\w.µμ]+")
#: a bare "s" is a unit only bracketed, after "in" or "/", or alone ("time (s)", "t in s")
_BARE_SECONDS = re.compile(r"(?:\bin\b|[\[(/])\s*s\s*[\])]?\s*$")


def units_in_label(label: str) -> tuple[set[str], list[str]]:
    """The time units (named fs, ps, ns, us or s) and the length units (:data:`UNIT_NM`) that
    a text label names: a column header ("Delay [ps]", "t_us", "position (mm)") or a TA
    matrix's corner ("Time in fs")."""
    text = label.strip().strip("\"'").lower()
    words = [w for w in _LABEL_WORDS.split(text.replace("_", " ")) if w]
    times = {_TIME_NAMES[UNIT_FS[w]] for w in words if w in UNIT_FS and w != "s"}
    if text == "s" or _BARE_SECONDS.search(text):
        times.add("s")
    return times, sorted(w for w in words if w in UNIT_NM)


def delay_fs_in(values: Any, unit: Any, source: str) -> np.ndarray:
    """Delays ``values`` in ``unit`` (a file's units attribute) converted to fs.

    No unit (or an empty one) means fs, tamkit's convention; a unit that is not a time is
    refused: read as fs, delays in ps would give diffusivities 1000x too large.
    """
    delay = np.asarray(values, dtype=float)
    if isinstance(unit, bytes):
        unit = unit.decode("utf-8", "replace")
    key = str(unit).strip() if unit is not None else ""
    if not key:
        return delay
    factor = UNIT_FS.get(key, UNIT_FS.get(key.lower()))
    if factor is None:
        raise InputError(f"{source}: the delay axis has units {key!r}, not a time; expected "
                         "one of fs, ps, ns, us, s")
    return delay * factor


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex): the identity of an input in results and batch resumes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_path(path: str | os.PathLike, kind: str = "stack file") -> Path:
    """Return ``path`` as a Path if it names a non-empty regular file, else raise InputError
    (``kind`` names what the file should be, for the message)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a {kind}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot access the file ({exc.strerror})") from None
    if size == 0:
        raise InputError(f"{path} is empty (0 bytes)")
    return path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


@contextlib.contextmanager
def file_errors(path: Path, kind: str) -> Iterator[None]:
    """Turn whatever a reader library raises into one InputError naming ``path``.

    InputErrors raised inside get the file name prepended if their message lacks it.
    """
    try:
        yield
    except InputError as exc:
        message = str(exc)
        if str(path) in message:
            raise
        raise InputError(f"{path}: {message}") from None
    except MemoryError:
        raise InputError(f"{path}: the stack does not fit in memory") from None
    except Exception as exc:  # readers raise many types for corrupt or truncated files
        raise InputError(
            f"{path}: cannot read as {kind}; the file is corrupt, truncated or not {kind} "
            f"({type(exc).__name__}: {_first_line(exc)})"
        ) from None


def length_nm(value: Any, unit: Any) -> float | None:
    """A length ``value`` in ``unit`` converted to nm, or None if the unit is not a length."""
    key = str(unit).strip().lower() if unit is not None else ""
    if key not in UNIT_NM:
        return None
    try:
        return float(value) * UNIT_NM[key]
    except (TypeError, ValueError):
        return None


def as_delay_array(value: Any, source: str) -> np.ndarray:
    """Delays from metadata (list, array or comma/space-separated text) as a float array."""
    if isinstance(value, str):
        value = value.strip().strip("[]()").replace(",", " ").replace(";", " ").split()
    try:
        delay_fs = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"delays in {source} are not numbers") from None
    return delay_fs


def parse_key_values(text: str) -> dict[str, str]:
    """``key = value`` or ``key: value`` lines (ImageJ's Info field) as a dict."""
    out: dict[str, str] = {}
    for line in str(text).splitlines():
        for sep in ("=", ":"):
            if sep in line:
                key, _, value = line.partition(sep)
                out[key.strip()] = value.strip()
                break
    return out


def encode_attr(value: Any) -> Any:
    """An attr value as something NetCDF/JSON store; containers and None become tagged JSON."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict | list | tuple | bool | type(None)):
        return "json:" + json.dumps(to_jsonable(value))
    return value


def decode_attr(value: Any) -> Any:
    """Inverse of :func:`encode_attr`."""
    if isinstance(value, str) and value.startswith("json:"):
        try:
            return json.loads(value[5:])
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_jsonable(value: Any) -> Any:
    """Numpy scalars/arrays and tuples as plain JSON types (tuples become lists)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def stack_metadata(stack: xr.DataArray) -> dict[str, Any]:
    """What a writer without labelled dims must store to rebuild ``stack`` exactly."""
    extra = {
        dim: to_jsonable(stack[dim].values)
        for dim in stack.dims
        if dim not in ("delay", "y", "x") and dim in stack.coords
    }
    return {
        "schema": "tamkit.core.stack/1",
        "name": stack.name,
        "dims": list(stack.dims),
        "delay_fs": to_jsonable(stack["delay"].values),
        "pixel_nm": float(stack.attrs["pixel_nm"]),
        "coords": extra,
        "attrs": {k: to_jsonable(v) for k, v in stack.attrs.items()},
    }


def is_raw(stack: xr.DataArray) -> bool:
    """True for a raw acquisition (it has a chopper dim, i.e. pump-on/pump-off frames)."""
    return "chopper" in stack.dims


def assemble(
    values: np.ndarray,
    dims: tuple[str, ...],
    *,
    delay_fs: Any = None,
    pixel_nm: Any = None,
    attrs: Mapping[str, Any] | None = None,
    coords: Mapping[str, Any] | None = None,
    name: str | None = None,
    source: str = "the file",
) -> xr.DataArray:
    """Build and validate a stack from an array with named dims.

    ``dims`` must end with ``("delay", "y", "x")``, optionally preceded by raw dims among
    ``spot``, ``run``, ``chopper``. ``delay_fs`` and ``pixel_nm`` are required here: readers
    merge metadata and user overrides before calling. ``coords`` may label the raw dims.
    """
    values = np.asarray(values)
    if values.ndim != len(dims):
        raise InputError(f"{values.ndim}D data cannot be read as dims {dims}")
    if tuple(dims[-3:]) != FRAME_DIMS or not set(dims[:-3]) <= set(RAW_DIMS):
        raise InputError(f"cannot interpret dims {tuple(dims)}; expected (delay, y, x)")
    if len(set(dims)) != len(dims):
        raise InputError(f"repeated dims in {tuple(dims)}")
    dtype = values.dtype
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise InputError(f"frame values must be real numbers, got {values.dtype}")
    coords = dict(coords or {})
    raw = "chopper" in dims
    if not raw and not (np.issubdtype(dtype, np.floating) and dtype.itemsize >= 4):
        # integers and half floats become float64; float32 frames stay float32 (half the memory
        # of a long stack; every analysis step reads its frames as float64 chunks)
        values = values.astype(float, copy=False)
    if delay_fs is None:
        raise InputError(
            f"no delays for {source}: give a delays file (one column, fs) or store delay_fs "
            "in the file's metadata"
        )
    if pixel_nm is None:
        raise InputError(
            f"no pixel size for {source}: give --pixel-size / pixel_nm (nm at the sample) or "
            "store it in the file's metadata"
        )
    delay_fs = np.asarray(delay_fs, dtype=float).ravel()
    n_delay = values.shape[dims.index("delay")]
    if delay_fs.size != n_delay:
        raise InputError(delay_count_mismatch(delay_fs.size, values.shape, dims.index("delay")))
    pixel = _checked_pixel_nm(pixel_nm)
    ny, nx = values.shape[-2:]
    all_coords: dict[str, Any] = {
        "delay": ("delay", delay_fs, {"units": "fs"}),
        "y": ("y", pixel_axis_nm(ny, pixel), {"units": "nm"}),
        "x": ("x", pixel_axis_nm(nx, pixel), {"units": "nm"}),
    }
    for dim, labels in coords.items():
        if dim in dims and labels is not None:
            all_coords[dim] = (dim, np.asarray(labels))
    if raw:
        labels = coords.get("chopper")
        if labels is None and values.shape[dims.index("chopper")] == 2:
            labels = CHOPPER_LABELS
        labels = [str(v) for v in np.asarray(labels if labels is not None else []).ravel()]
        if sorted(labels) != sorted(CHOPPER_LABELS) or len(labels) != 2:
            raise InputError(
                "the chopper axis must hold exactly the frames 'on' and 'off', "
                f"got {labels or 'none'}"
            )
        all_coords["chopper"] = ("chopper", np.asarray(labels))
    stack_attrs = {k: v for k, v in dict(attrs or {}).items() if v is not None}
    stack_attrs.setdefault("quantity", "counts" if raw else "dT/T")
    stack_attrs["pixel_nm"] = pixel
    stack = xr.DataArray(
        values,
        dims=dims,
        coords=all_coords,
        name=name or ("counts" if raw else "dT_T"),
        attrs=stack_attrs,
    )
    order = tuple(d for d in RAW_DIMS if d in dims) + FRAME_DIMS
    stack = stack.transpose(*order)
    validate_any(stack)
    return stack


def validate_any(stack: xr.DataArray) -> xr.DataArray:
    """:func:`tamkit.core.stack.validate_stack` for dT/T stacks and raw acquisitions alike.

    A raw acquisition is checked through a (delay, y, x) summary: a frame counts as all-NaN
    only if it is NaN in every spot, run and chopper state.
    """
    extra = [d for d in stack.dims if d not in FRAME_DIMS]
    if not extra:
        return validate_stack(stack)
    if not set(extra) <= set(RAW_DIMS):
        raise InputError(f"cannot interpret dims {tuple(stack.dims)}; expected (delay, y, x)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are reported below
        summary = stack.astype(float).max(dim=extra, skipna=True, keep_attrs=True)
    validate_stack(summary.transpose(*FRAME_DIMS))
    return stack


def overridden_pixel(file_pixel_nm: Any, given_pixel_nm: Any) -> dict[str, float]:
    """``{"pixel_nm_in_file": value}`` when a given pixel size replaces a different one the
    file stores (the analysis warns: every length scales with it), else ``{}``."""
    if given_pixel_nm is None or file_pixel_nm is None:
        return {}
    try:
        stored, given = float(file_pixel_nm), float(given_pixel_nm)
    except (TypeError, ValueError):
        return {}
    if not (np.isfinite(stored) and stored > 0) or np.isclose(stored, given, rtol=1e-6):
        return {}
    return {"pixel_nm_in_file": stored}


@dataclass
class Read:
    """What a reader found in a file: the array with its dims and any metadata (or None)."""

    values: np.ndarray
    dims: tuple[str, ...]
    delay_fs: Any = None
    pixel_nm: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)
    coords: dict[str, Any] = field(default_factory=dict)
    name: str | None = None

    def __post_init__(self) -> None:
        self.dims = tuple(self.dims)
        self.attrs = dict(self.attrs or {})
        self.coords = dict(self.coords or {})

    def to_stack(self, source: str, delay_fs: Any = None, pixel_nm: Any = None) -> xr.DataArray:
        """Assemble the stack; user-given ``delay_fs``/``pixel_nm`` override the file's own."""
        return assemble(
            self.values,
            self.dims,
            delay_fs=self.delay_fs if delay_fs is None else delay_fs,
            pixel_nm=self.pixel_nm if pixel_nm is None else pixel_nm,
            attrs={**self.attrs, **overridden_pixel(self.pixel_nm, pixel_nm)},
            coords=self.coords,
            name=self.name,
            source=source,
        )


def read_from_metadata(values: np.ndarray, meta: Mapping[str, Any], source: str) -> Read:
    """A :class:`Read` from tamkit's own metadata record (see :func:`stack_metadata`)."""
    dims = tuple(meta.get("dims") or ())
    if len(dims) != values.ndim:
        shape = meta.get("shape")
        if shape is not None and int(np.prod(shape)) == values.size and len(dims) == len(shape):
            values = values.reshape(shape)
        else:
            raise InputError(f"the metadata in {source} names dims {dims} for {values.ndim}D data")
    attrs = dict(meta.get("attrs") or {})
    return Read(
        values,
        dims,
        delay_fs=meta.get("delay_fs"),
        pixel_nm=meta.get("pixel_nm", attrs.get("pixel_nm")),
        attrs=attrs,
        coords=meta.get("coords") or {},
        name=meta.get("name"),
    )
