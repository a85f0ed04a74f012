"""Delays files: one column of pump-probe delays in fs.

Accepted: an optional header line before the first value, ``delay_fs`` or any words with at
most one time unit (``delay (fs)``, ``Delay [ps]``, ``time / ns``, ``t_us``). A header with
no unit (``time``: fs or ps?) or a unit that is not a time (``position (mm)``: a delay-stage
reading) is refused; a file without a header is in fs.
A unit may also follow each value on its line (``-200  fs``), the same on every line. Comments
run from ``#`` to the end of a line, and lines starting with ``%`` or ``//`` are comments too;
blank lines and a trailing comma or semicolon (CSV exports) are ignored. Values may be separated
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
from tamkit.io._common import UNIT_FS, check_path, units_in_label

HEADER = "delay_fs"
#: header lines naming another unit, and its factor to fs
HEADER_UNITS_FS = {"delay_fs": 1.0, "delay_ps": 1.0e3, "delay_ns": 1.0e6, "delay_s": 1.0e15}
_SEPARATORS = re.compile(r"[,;\s]+")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+(?:,\d+)?(?:[eE][-+]?\d+)?\s*$")


def _decimal_commas(lines: list[str]) -> bool:
    """Every value line is one number written with a decimal comma (``-1,25``), and none has a
    point: a European export, not two columns."""
    data = [_content(ln) for ln in lines]
    data = [ln for ln in data if ln.strip() and not _is_header(ln)]
    return (any("," in ln for ln in data)
            and all(_DECIMAL_COMMA.match(ln) and "." not in ln for ln in data))


def _content(line: str) -> str:
    """The line without its comment (``#`` to the end; a line starting with ``%`` or ``//``)."""
    stripped = line.lstrip()
    if stripped.startswith(("%", "//")):
        return ""
    return line.split("#", 1)[0]


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _is_header(line: str) -> bool:
    """A line of words (at least one of two letters, perhaps a unit) with no number."""
    fields = [f.strip("\"'") for f in _SEPARATORS.split(line) if f.strip("\"'")]
    return (bool(fields) and not any(_is_number(f) for f in fields)
            and re.search(r"[^\W\d_]{2}", line) is not None)


def header_unit_factor(header: str, where: str) -> float:
    """The factor to fs of the time unit a header line names.

    ``where`` (path and line) begins the message of a header that names no time unit, a unit
    that is not a time, or two units.
    """
    text = header.strip().strip("\"'").lower()
    if text in HEADER_UNITS_FS:
        return HEADER_UNITS_FS[text]
    times, lengths = units_in_label(header)
    if lengths and not times:
        raise InputError(f"{where}: the header names {lengths[0]!r}, not a time; a delays file "
                         "holds pump-probe delays (fs, ps, ns, us or s), not stage positions")
    if len(times) > 1:
        names = ", ".join(sorted(times))
        raise InputError(f"{where}: the header names several time units ({names})")
    if not times:
        # "time" alone could be fs or ps: a labelled column must say which
        raise InputError(f"{where}: the header {header.strip()!r} names no time unit; write "
                         "delay_fs, or the unit in it, e.g. 'delay (ps)'")
    return UNIT_FS[times.pop()]


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
    value_unit = None  # a unit written after each value
    header_seen = False
    for lineno, line in enumerate(lines, start=1):
        content = _content(line)
        fields = [f for f in _SEPARATORS.split(content) if f]
        if not fields:
            continue
        where = f"{path}, line {lineno}"
        if not values and not header_seen and _is_header(content):
            factor = header_unit_factor(content, where)
            header_seen = True
            continue
        if len(fields) == 2 and fields[1].strip("\"'").lower() in UNIT_FS:
            unit = fields[1].strip("\"'").lower()
            if value_unit is not None and UNIT_FS[unit] != UNIT_FS[value_unit]:
                raise InputError(f"{where}: unit {unit!r} after {value_unit!r} on earlier lines; "
                                 "write every delay in one unit")
            value_unit = unit
            fields = fields[:1]
        if len(fields) > 1:
            raise InputError(
                f"{where}: {len(fields)} columns; a delays file holds one column (fs)"
            )
        field = fields[0].strip("\"'")
        try:
            value = float(field)
        except ValueError:
            raise InputError(f"{where}: {field!r} is not a number (delays in fs)") from None
        if not np.isfinite(value):
            raise InputError(f"{where}: delay {field!r} is not a finite number")
        values.append(value)
    if value_unit is not None:
        if factor != 1.0 and factor != UNIT_FS[value_unit]:
            raise InputError(f"{path}: the header's unit and the values' unit "
                             f"({value_unit!r}) differ")
        factor = UNIT_FS[value_unit]
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
