"""Delays files: one column of pump-probe delays in fs.

Accepted: an optional header line ``delay_fs`` (any case, quoted or not), comments from ``#``
to the end of a line, blank lines, and a trailing comma or semicolon (CSV exports). Values
may be separated from line ends by spaces, tabs, commas or semicolons, but each line holds one
number. Sorting and uniqueness are checked when the delays meet the frames
(:func:`tamkit.core.stack.validate_stack`).
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
_SEPARATORS = re.compile(r"[,;\s]+")


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
    path = check_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: the delays file is not text (one column of numbers in fs)"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the delays file ({exc.strerror})") from None
    values: list[float] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = [f for f in _SEPARATORS.split(line.split("#", 1)[0]) if f]
        if not fields:
            continue
        if len(fields) > 1:
            raise InputError(
                f"{path}, line {lineno}: {len(fields)} columns; a delays file holds one column (fs)"
            )
        field = fields[0].strip("\"'")
        if not values and field.lower() == HEADER:
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
    return np.asarray(values, dtype=float)


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
