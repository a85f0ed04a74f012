"""The one CSV writer: every table tamkit writes (frames, DAS, series, batch summary) goes here.

Cells follow RFC 4180 through :mod:`csv` (quoted only when they hold a comma, quote or newline);
floats are written with 8 significant digits (NaN as ``nan``), None as an empty cell.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np


def csv_cell(value: Any) -> str:
    """The text of one cell."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.8g}"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def write_csv(path: str | os.PathLike, columns: Sequence[str],
              rows: Iterable[Mapping[str, Any]]) -> None:
    """Write ``rows`` (mappings keyed by column name; missing keys are empty) as CSV.

    Parameters
    ----------
    path : path
        Output file (overwritten; callers write inside an atomic output folder).
    columns : sequence of str
        Header, in order.
    rows : iterable of mapping
        One mapping per row.
    """
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row.get(name)) for name in columns])
