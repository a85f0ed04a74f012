"""Reading TA maps (delay x wavelength) from the formats TA labs use.

``load_tamap(path, delay_unit=None, delay_offset=0.0, orientation="auto")`` picks the reader from
the file's content (its first bytes), whatever its suffix:

- Glotaran ASCII, "Time explicit" (a row of delays, then one row per wavelength: the wavelength
  followed by the values) or "Wavelength explicit" (a row of wavelengths, then one row per delay);
- plain CSV/TSV/whitespace matrices with the delays in the first column and the wavelengths in
  the first row (corner cell ignored, e.g. KiMoPack's ``.SIA``: tab-separated, corner
  ``Time [ps]``), or the transpose (``orientation``);
- NumPy ``.npz`` with a 2-D data array and 1-D delay and wavelength arrays (names such as
  ``data``/``t``/``wl``; a wavenumber axis ``wn`` in cm^-1 is converted to nm; a square map
  needs ``orientation``), and ``.npy`` matrices laid out like the CSV files;
- tamkit's NetCDF (``.nc``, ``.h5``): a DataArray with dims ``(delay, wavelength)``, delay in fs.

Text and NumPy files carry no units: delays are read in ``delay_unit`` (default ps, the
convention of Glotaran and most TA software) and ``delay_offset`` (same unit) is subtracted.
A text matrix whose corner label names a time unit ("Time in fs", "Time [ns]") is read in that
unit; a ``delay_unit`` that contradicts the label is refused.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.tamap import delay_factor_fs, make_tamap, validate_tamap
from tamkit.io._common import units_in_label

_DATA_KEYS = ("data", "map", "ta", "da", "delta_a", "spec", "values")
_DELAY_KEYS = ("t", "time", "times", "delay", "delays", "delay_fs", "delay_ps", "t_ps", "t_fs")
_WL_KEYS = ("wl", "wavelength", "wavelengths", "wavelength_nm", "lambda", "wl_nm")
#: keys of a wavenumber axis (cm^-1), converted to nm (1e7 / wavenumber)
_WAVENUMBER_KEYS = ("wn", "wavenumber", "wavenumbers", "wn_cm", "nu")


def load_tamap(
    path: str | os.PathLike,
    delay_unit: str | None = None,
    delay_offset: float = 0.0,
    orientation: str = "auto",
) -> xr.DataArray:
    """Load a TA map into a DataArray with dims ``(delay, wavelength)``, delay in fs, wl in nm.

    Parameters
    ----------
    path : path-like
        The file (see the module docstring for formats).
    delay_unit : {"fs", "ps", "ns", "us"}, optional
        Unit of the delays in text/NumPy files (default ps). NetCDF maps store theirs in fs;
        there it is only the unit of ``delay_offset`` (default fs).
    delay_offset : float
        Subtracted from the delays, in ``delay_unit`` (e.g. a stage position of time zero).
    orientation : {"auto", "delay_rows", "wavelength_rows"}
        For plain matrices: whether each row is one delay (delays in the first column) or one
        wavelength. ``auto`` decides from the axes' values and raises if it cannot.

    Returns
    -------
    xarray.DataArray
        Validated TA map with ``attrs["source"]`` set to the file name.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"TA map file {path} does not exist")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a TA map file")
    if not path.is_file():  # a FIFO or a device: reading it would wait for a writer
        raise InputError(f"{path} is not a regular file (a pipe or a device?); give a TA map file")
    if orientation not in ("auto", "delay_rows", "wavelength_rows"):
        raise InputError(f"orientation must be auto, delay_rows or wavelength_rows: {orientation}")
    if delay_unit is not None:
        delay_factor_fs(delay_unit)  # an empty unit is a mistake, not a request for the default
    if not np.isfinite(delay_offset):
        raise InputError(f"the delay offset must be a finite number, got {delay_offset}")
    kind = _sniff(path)
    labelled = _labelled_delay_unit(path) if kind == "text" else None
    if labelled is not None and delay_unit is not None and labelled != delay_unit:
        raise InputError(f"{path.name}: the corner label says the delays are in {labelled}, "
                         f"but --delay-unit is {delay_unit}; drop one of them")
    if kind == "netcdf":
        tamap = _load_netcdf(path)
        if delay_offset == 0:
            return tamap
        unit = delay_unit or "fs"
        offset_fs = delay_offset * delay_factor_fs(unit)
        _check_offset(tamap["delay"].values, offset_fs, "fs")
        shifted = tamap.assign_coords(delay=tamap["delay"].values - offset_fs)
        shifted.attrs["loading_note"] = (f"time zero moved by --delay-offset {delay_offset:g} "
                                         f"{unit}: the delays stored in {path.name} minus "
                                         f"{offset_fs:g} fs")
        return validate_tamap(shifted)
    factor = delay_factor_fs(delay_unit or labelled or "ps")
    if kind == "npz":
        values, delay, wl = _read_npz(path, orientation)
    elif kind == "npy":
        values, delay, wl = _split_matrix(_read_npy(path), orientation, path)
    elif kind == "text":
        values, delay, wl = _read_text(path, orientation)
    else:
        raise InputError(
            f"{path.name} is neither text nor a NumPy or NetCDF/HDF5 file; use a CSV/TSV "
            "matrix (any suffix, e.g. KiMoPack .SIA), Glotaran ASCII, .npz/.npy or NetCDF"
        )
    _check_offset(np.asarray(delay, dtype=float), delay_offset, delay_unit or labelled or "ps")
    delay_fs = (np.asarray(delay, dtype=float) - delay_offset) * factor
    attrs = {"source": path.name}
    if delay_unit is None and labelled is None:
        attrs["delay_unit_assumed"] = "ps"  # neither given nor named by the file: the default
    if np.any(np.diff(delay_fs) < 0):
        order = np.argsort(delay_fs, kind="stable")
        moved = int(np.sum(order != np.arange(order.size)))
        values, delay_fs = values[order], delay_fs[order]
        # a scan recorded out of order (or interleaved forward and back) is analysed in delay
        # order; say so, since a file with a wrong delay column would also end up here
        attrs["loading_note"] = (f"the delays in {path.name} are not in increasing order: "
                                 f"the spectra were sorted by delay ({moved} of "
                                 f"{order.size} moved)")
    return make_tamap(values, delay_fs, wl, attrs=attrs)


def _check_offset(delay: np.ndarray, offset: float, unit: str) -> None:
    """Refuse a delay offset (time zero) farther outside the recorded delays than their span:
    a typo or a wrong unit, which would otherwise shift (or, at 1e300, collapse) every delay."""
    finite = delay[np.isfinite(delay)]
    if offset == 0 or finite.size == 0:
        return
    low, high = float(finite.min()), float(finite.max())
    if abs(offset - np.clip(offset, low, high)) > max(high - low, 0.0):
        raise InputError(f"the delay offset {offset:g} {unit} puts time zero farther outside "
                         f"the recorded delays ({low:g} to {high:g} {unit}) than their span; "
                         "is its unit that of the delays?")


#: bytes of a text map read for its corner label: its first lines, never the whole file again
_LABEL_BYTES = 1 << 16


def _labelled_delay_unit(path: Path) -> str | None:
    """The delay unit named by a text matrix's corner label ("Time in fs", "Time [ps]"): the
    words of its first line that are not numbers; None without a (single) time unit there."""
    with path.open("rb") as fh:
        head = fh.read(_LABEL_BYTES).decode("utf-8", "replace")
    for line in head.splitlines()[:10]:
        if not line.strip() or line.lstrip().startswith(("#", "%")):
            continue
        words = [w for w in re.split(r"[\t;,]+|\s{2,}", line) if w.strip()]
        times, _ = units_in_label(" ".join(w for w in words
                                           if not np.isfinite(_to_float(w, False))))
        # seconds: no TA delay axis is written in s (and --delay-unit has none): left alone
        return times.pop() if len(times) == 1 and "s" not in times else None
    return None


def _sniff(path: Path) -> str:
    """The file's kind from its first bytes (not its suffix): npz, npy, netcdf, text or binary."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"\x89HDF", b"CDF\x01", b"CDF\x02")):
        return "netcdf"
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 4096-byte edge
            try:
                head.decode("latin-1")
            except UnicodeDecodeError:
                return "binary"
    return "text"


def _load_netcdf(path: Path) -> xr.DataArray:
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as exc:  # h5py/xarray raise many types for a corrupt file
        raise InputError(f"cannot read {path.name} as NetCDF/HDF5: {exc}") from None
    names = [v for v in ds.data_vars if set(ds[v].dims) == {"delay", "wavelength"}]
    if len(names) != 1:
        raise InputError(f"{path.name}: no single data variable with dims (delay, wavelength)")
    tamap = ds[names[0]].transpose("delay", "wavelength")
    _require_real(tamap.values, path)
    return validate_tamap(tamap)


def _require_real(values: np.ndarray, path: Path) -> None:
    """Refuse complex (or non-numeric) values: casting to float would drop the imaginary part."""
    if np.iscomplexobj(values):
        raise InputError(f"{path.name}: the TA map values are complex ({values.dtype}); a TA "
                         "map holds real numbers (Delta A or dT/T)")


def save_tamap(tamap: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write a TA map to NetCDF-4 (h5netcdf); :func:`load_tamap` reads it back unchanged."""
    path = Path(path)
    validate_tamap(tamap)
    da = tamap.copy()
    da.attrs = {k: (str(v) if isinstance(v, dict | list | tuple | type(None)) else v)
                for k, v in tamap.attrs.items()}
    da.rename(tamap.name or "ta").to_netcdf(path, engine="h5netcdf")
    return path


def _read_npz(path: Path, orientation: str = "auto"):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # files written by Python 2 warn on load
            with np.load(path, allow_pickle=False) as z:
                arrays = {k.lower(): np.asarray(z[k]) for k in z.files}
    except Exception as exc:
        raise InputError(f"cannot read {path.name} as .npz: {exc}") from None

    def pick(keys, ndim):
        for k in keys:
            if k in arrays and arrays[k].ndim == ndim:
                return arrays[k]
        return None

    values = pick(_DATA_KEYS, 2)
    if values is None:
        two_d = [v for v in arrays.values() if v.ndim == 2]
        values = two_d[0] if len(two_d) == 1 else None
    delay, wl = pick(_DELAY_KEYS, 1), pick(_WL_KEYS, 1)
    if wl is None:
        wavenumber = pick(_WAVENUMBER_KEYS, 1)
        if wavenumber is not None:
            wavenumber = np.asarray(wavenumber, float)
            if not np.all(np.isfinite(wavenumber) & (wavenumber > 0)):
                raise InputError(f"{path.name}: the wavenumber axis (cm^-1) must be positive")
            wl = 1e7 / wavenumber  # cm^-1 -> nm
    if values is None or delay is None or wl is None:
        raise InputError(
            f"{path.name}: an .npz TA map needs a 2-D data array and 1-D delay and wavelength "
            f"arrays (e.g. data, t, wl); found {sorted(arrays)}"
        )
    for array in (values, delay, wl):
        _require_real(array, path)
    if wl.size == delay.size and orientation == "auto" and values.shape == (wl.size,) * 2:
        raise InputError(
            f"{path.name}: the map is square ({wl.size} delays and {wl.size} wavelengths), so "
            "its layout cannot be told from its shape: give --orientation delay_rows (each row "
            "one delay) or wavelength_rows")
    if orientation == "wavelength_rows" or (
            orientation == "auto" and values.shape == (wl.size, delay.size)):
        values = values.T
    if values.shape != (delay.size, wl.size):
        raise InputError(f"{path.name}: data of shape {values.shape} do not match "
                         f"{delay.size} delays x {wl.size} wavelengths")
    return values.astype(float), delay.astype(float), wl.astype(float)


def _read_npy(path: Path) -> np.ndarray:
    try:
        matrix = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise InputError(f"cannot read {path.name} as .npy: {exc}") from None
    if matrix.ndim != 2 or min(matrix.shape) < 2:
        raise InputError(f"{path.name}: a .npy TA map must be a 2-D matrix with axes in row/col 0")
    _require_real(matrix, path)
    return np.asarray(matrix, dtype=float)


def _read_text(path: Path, orientation: str):
    try:
        text = path.read_text(errors="strict")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")  # a degree sign or umlaut in a header
    lines = text.splitlines()
    for i, line in enumerate(lines[:10]):
        key = line.strip().lower()
        if key in ("time explicit", "wavelength explicit"):
            return _read_glotaran(path, lines, i, key.startswith("time"))
    matrix = _parse_matrix(lines, path)
    if matrix.ndim != 2 or min(matrix.shape) < 2:
        raise InputError(f"{path.name}: expected a 2-D matrix with the axes in row 0 and column 0")
    if np.all(np.isnan(matrix[0, 1:])):  # a text header line above the numbers
        matrix = matrix[1:]
    if matrix.shape[0] < 3 or matrix.shape[1] < 2 or np.all(np.isnan(matrix[1:, 1:])):
        raise InputError(f"{path.name}: no numeric matrix with the axes in row 0 and column 0")
    return _split_matrix(matrix, orientation, path)


#: separators tried in this order; None is any run of whitespace. Tabs first: a KiMoPack
#: header "Time [ps]" holds spaces; semicolons before commas: they go with decimal commas
_SEPARATORS = ("\t", ";", ",", None)
_SEPARATOR_NAMES = {"\t": "tabs", ";": "semicolons", ",": "commas", None: "spaces"}
#: fraction of a body's cells that must read as numbers for a separator to be taken
_NUMERIC_FRACTION = 0.9


def _cells(line: str, separator: str | None) -> list[str]:
    return line.split(separator) if separator is not None else line.split()


def _to_float(cell: str, decimal_comma: bool) -> float:
    """A cell's number; NaN for an empty or non-numeric cell (a label, a missing value)."""
    cell = cell.strip()
    if decimal_comma:
        cell = cell.replace(",", ".")
    try:
        return float(cell)
    except ValueError:
        return np.nan


def _numeric_fraction(rows: list[list[str]], decimal_comma: bool) -> float:
    cells = [c for row in rows for c in row]
    numeric = sum(np.isfinite(_to_float(c, decimal_comma)) or c.strip().lower() == "nan"
                  for c in cells)
    return numeric / max(len(cells), 1)


def _split_rule(body: list[str]) -> tuple[str | None, bool] | None:
    """The separator and whether commas are decimal points, judged from the lines below the
    first (the header row may hold a text corner): the first separator that splits every
    line into the same number (>= 2) of cells that read as numbers; None if none does."""
    for separator in _SEPARATORS:
        rows = [_cells(line, separator) for line in body]
        widths = {len(row) for row in rows}
        if len(widths) != 1 or widths == {1}:
            continue
        if _numeric_fraction(rows, False) >= _NUMERIC_FRACTION:
            return separator, False
        # "1,5" for 1.5: possible only when the comma does not separate cells
        if separator != "," and _numeric_fraction(rows, True) >= _NUMERIC_FRACTION:
            return separator, True
    return None


def _data_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(line number from 1, text) of the lines that are neither blank nor comments (``#`` to
    the end of a line; a line starting with ``%``, as MATLAB and Origin write them); a
    separator that ends every line (spreadsheet and LabVIEW exports) is dropped."""
    out = []
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("%"):
            continue
        text = line.split("#", 1)[0]
        if text.strip():
            out.append((number, text))
    for end in ("\t", ";", ","):
        if len(out) > 1 and all(t.rstrip(" \r").endswith(end) for _, t in out):
            out = [(n, t.rstrip(" \r")[:-1]) for n, t in out]
            break
    return out


def _parse_matrix(lines: list[str], path: Path) -> np.ndarray:
    """The text matrix as floats (NaN for empty or non-numeric cells), its separator and
    decimal mark recognised by content; ragged lines are refused saying which and why."""
    numbered = _data_lines(lines)
    if not numbered:
        raise InputError(f"{path.name} is empty: no line holds numbers (expected a 2-D matrix "
                         "with the axes in row 0 and column 0)")
    texts = [text for _, text in numbered]
    # a sample is enough to recognise the layout; every line is checked below
    rule = _split_rule(texts[1:201]) if len(texts) > 2 else None
    if rule is None:
        # fall back on the most frequent separator, to say which line breaks the pattern
        counts = {sep: sum(t.count(sep) for t in texts) for sep in ("\t", ";", ",")}
        best = max(counts, key=counts.get)
        rule = (best if counts[best] else None), False
    separator, decimal_comma = rule
    rows = [_cells(text, separator) for text in texts]
    width = len(rows[1]) if len(rows) > 1 else len(rows[0])
    header = rows[0]
    if len(header) > width and not any(np.isfinite(_to_float(c, decimal_comma))
                                       for c in header[:len(header) - width + 1]):
        # a corner label holding the separator (spaces in "Time in ps"): one cell
        rows[0] = [" ".join(header[:len(header) - width + 1]), *header[len(header) - width + 1:]]
    elif len(header) == width - 1 and separator is None:
        rows[0] = ["", *header]  # an empty corner cell, lost to the whitespace split
    for (number, _), row in zip(numbered, rows, strict=True):
        if len(row) != width:
            raise InputError(
                f"{path.name}: line {number} holds {len(row)} value(s) separated by "
                f"{_SEPARATOR_NAMES[separator]}, but line {numbered[1][0]} holds {width}; "
                "every line of a TA matrix needs the same number of values")
    # the first row apart: its corner is often a label ("Time [ps]")
    first = [_to_float(c, decimal_comma) for c in rows[0]]
    if len(rows) == 1:
        return np.array([first])
    return np.vstack([first, _to_matrix(rows[1:], decimal_comma)])


def _to_matrix(rows: list[list[str]], decimal_comma: bool) -> np.ndarray:
    """Cells to floats: NumPy's conversion where every cell is a number (fast), else cell by
    cell with NaN for empty or non-numeric cells."""
    try:
        cells = np.array(rows, dtype=str)
        if decimal_comma:
            cells = np.char.replace(cells, ",", ".")
        return cells.astype(float)
    except ValueError:
        return np.array([[_to_float(c, decimal_comma) for c in row] for row in rows], dtype=float)


def _read_glotaran(path: Path, lines: list[str], i: int, time_explicit: bool):
    body = [ln for ln in lines[i + 1:] if ln.strip()]
    if not body or not body[0].strip().lower().startswith("intervalnr"):
        raise InputError(f"{path.name}: Glotaran ASCII needs an 'intervalnr N' line")
    try:
        n = int(body[0].split()[1])
        axis = np.array(body[1].split(), dtype=float)
        rows = np.array([ln.split() for ln in body[2:]], dtype=float)
    except (ValueError, IndexError):
        raise InputError(f"{path.name}: malformed Glotaran ASCII (ragged/non-numeric)") from None
    if axis.size != n or rows.ndim != 2 or rows.shape[1] != n + 1:
        raise InputError(f"{path.name}: Glotaran header says {n} columns but rows disagree")
    if time_explicit:  # rows are wavelengths
        return rows[:, 1:].T, axis, rows[:, 0]
    return rows[:, 1:], rows[:, 0], axis


def _wavelength_problem(axis: np.ndarray) -> str | None:
    """Why ``axis`` does not look like probe wavelengths (nm), or None if it does: at least two
    values, all in 100-30,000 nm, strictly monotonic, spanning less than a factor 20."""
    axis = axis[np.isfinite(axis)]
    if axis.size < 2:
        return "fewer than two values"
    if np.any(axis <= 100) or np.any(axis > 30000):
        return f"values from {axis.min():g} to {axis.max():g}, outside 100-30,000 nm"
    d = np.diff(axis)
    if not (np.all(d > 0) or np.all(d < 0)):
        repeated = axis[1:][d == 0]
        return (f"{repeated[0]:g} repeated" if repeated.size else "not monotonic")
    if axis.max() / axis.min() >= 20:
        return f"spans {axis.min():g} to {axis.max():g}, more than a factor 20"
    return None


def _split_matrix(matrix: np.ndarray, orientation: str, path: Path):
    col, row = matrix[1:, 0], matrix[0, 1:]
    values = matrix[1:, 1:]
    if orientation == "auto":
        row_issue, col_issue = _wavelength_problem(row), _wavelength_problem(col)
        if (row_issue is None) == (col_issue is None):
            why = ("both the first row and the first column look like wavelengths"
                   if row_issue is None else
                   f"neither looks like wavelengths (first row: {row_issue}; first column: "
                   f"{col_issue})")
            raise InputError(
                f"{path.name}: cannot tell which axis holds the wavelengths: {why}; pass "
                "--orientation delay_rows (delays down the first column) or wavelength_rows")
        orientation = "delay_rows" if row_issue is None else "wavelength_rows"
    if orientation == "delay_rows":
        delay, wl = col, row
    else:
        delay, wl, values = row, col, values.T
    if not (np.all(np.isfinite(delay)) and np.all(np.isfinite(wl))):
        raise InputError(f"{path.name}: the delay or wavelength axis has missing values")
    return values, delay, wl
