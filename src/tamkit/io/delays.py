"""Delays files: one column of pump-probe delays in fs.

Accepted: an optional header line ``delay_fs`` (any case, quoted or not; ``delay_ps``,
``delay_ns`` or ``delay_s`` give the values in that unit), comments from ``#`` to the end of a
line, blank lines, and a trailing comma or semicolon (CSV exports). Values may be separated
from line ends by spaces, tabs, commas or semicolons, but each line holds one number; a file
whose every value is written with a decimal comma (``1,5``) is read as such. Sorting and
uniqueness are checked when the delays meet the frames (:func:`tamkit.core.stack.validate_stack`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.errors import InputError
from tamkit.io._common import check_path

HEADER = "delay_fs"
#: header lines naming another unit, and its factor to fs
HEADER_UNITS_FS = {"delay_fs": 1.0, "delay_ps": 1.0e3, "delay_ns": 1.0e6, "delay_s": 1.0e15}
_SEPARATORS = re.compile(r"[,;\s]+")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+(?:,\d+)?(?:[eE][-+]?\d+)?\s*$")


def _decimal_commas(lines: list[str]) -> bool:
    """Every value line is one number written with a decimal comma (``-1,25``), and none has a
    point: a European export, not two columns."""
    data = [ln.split("#", 1)[0] for ln in lines]
    data = [ln for ln in data if ln.strip() and ln.strip().strip("\"'").lower()
            not in HEADER_UNITS_FS]
    return (any("," in ln for ln in data)
            and all(_DECIMAL_COMMA.match(ln) and "." not in ln for ln in data))


def read_delays(path: str | os.PathLike) -> np.ndarray:
    """Read a delays file (one column, fs); raise :class:`InputError` on any problem.

    Parameters
    ----------
    path : path-like
        Text file with one delay per line in fs, optionally headed by ``delay_fs``.

    Returns
    -------
    ndarray
        The delays (fs), in file order.
    """
    path = check_path(path, kind="delays file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: the delays file is not text (one column of numbers in fs)"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the delays file ({exc.strerror})") from None
    values: list[float] = []
    lines = text.splitlines()
    if _decimal_commas(lines):
        lines = [ln.replace(",", ".") for ln in lines]
    factor = 1.0
    for lineno, line in enumerate(lines, start=1):
        fields = [f for f in _SEPARATORS.split(line.split("#", 1)[0]) if f]
        if not fields:
            continue
        if len(fields) > 1:
            raise InputError(
                f"{path}, line {lineno}: {len(fields)} columns; a delays file holds one column (fs)"
            )
        field = fields[0].strip("\"'")
        if not values and field.lower() in HEADER_UNITS_FS:
            factor = HEADER_UNITS_FS[field.lower()]
            continue
        try:
            value = float(field)
        except ValueError:
            raise InputError(
                f"{path}, line {lineno}: {field!r} is not a number (delays in fs)"
            ) from None
        if not np.isfinite(value):
            raise InputError(f"{path}, line {lineno}: delay {field!r} is not a finite number")
        values.append(value)
    if not values:
        raise InputError(f"{path}: no delays in the file")
    return factor * np.asarray(values, dtype=float)


def write_delays(delay_fs: np.ndarray, path: str | os.PathLike) -> Path:
    """Write delays (fs) as a one-column file with the ``delay_fs`` header; return the path.

    ``repr`` of each float keeps the file exact, so :func:`read_delays` gives the same array.
    """
    path = Path(path)
    lines = [HEADER] + [repr(float(v)) for v in np.asarray(delay_fs, dtype=float).ravel()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: Names tried, in order, for a stack's own delays file beside it (``{stem}``: the stack's stem).
SIDECAR_NAMES = ("{stem}.delays.csv", "{stem}.delays.txt", "{stem}_delays.csv",
                 "{stem}_delays.txt", "delays.csv", "delays.txt")


def sidecar_delays(path: str | os.PathLike) -> Path | None:
    """A stack's own delays file, found beside it by name, or None.

    Tried in order (:data:`SIDECAR_NAMES`): ``<stem>.delays.csv``, ``<stem>.delays.txt``,
    ``<stem>_delays.csv``, ``<stem>_delays.txt``, then ``delays.csv`` and ``delays.txt`` (one
    file for the whole folder).
    """
    path = Path(path)
    for name in SIDECAR_NAMES:
        candidate = path.with_name(name.format(stem=path.stem))
        if candidate.is_file():
            return candidate
    return None


def delays_of(path: str | os.PathLike, delays: Any) -> Any:
    """The delays option of one stack: ``delays`` itself, or its entry when it maps paths."""
    if isinstance(delays, Mapping):
        return delays.get(str(path))
    return delays
