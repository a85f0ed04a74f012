"""Reading TA maps (delay x wavelength) from the formats TA labs use.

``load_tamap(path, delay_unit=None, delay_offset=0.0, orientation="auto")`` picks the reader from
the file's content (its first bytes), whatever its suffix:

- Glotaran ASCII, "Time explicit" (a row of delays, then one row per wavelength: the wavelength
  followed by the values) or "Wavelength explicit" (a row of wavelengths, then one row per delay);
- plain CSV/TSV/whitespace matrices with the delays in the first column and the wavelengths in
  the first row (corner cell ignored, e.g. KiMoPack's ``.SIA``: tab-separated, corner
  ``Time [ps]``), or the transpose (``orientation``);
- NumPy ``.npz`` with a 2-D data array and 1-D delay and wavelength arrays (names such as
  ``data``/``t``/``wl``), and ``.npy`` matrices laid out like the CSV files;
- tamkit's NetCDF (``.nc``, ``.h5``): a DataArray with dims ``(delay, wavelength)``, delay in fs.

Text and NumPy files carry no units: delays are read in ``delay_unit`` (default ps, the
convention of Glotaran and most TA software) and ``delay_offset`` (same unit) is subtracted.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.tamap import delay_factor_fs, make_tamap, validate_tamap

_DATA_KEYS = ("data", "map", "ta", "da", "delta_a", "spec", "values")
_DELAY_KEYS = ("t", "time", "times", "delay", "delays", "delay_fs", "delay_ps", "t_ps", "t_fs")
_WL_KEYS = ("wl", "wavelength", "wavelengths", "wavelength_nm", "lambda", "wl_nm", "wn")


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
        Unit of the delays in text/NumPy files (default ps). Ignored for NetCDF (fs).
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
    if orientation not in ("auto", "delay_rows", "wavelength_rows"):
        raise InputError(f"orientation must be auto, delay_rows or wavelength_rows: {orientation}")
    kind = _sniff(path)
    if kind == "netcdf":
        return _load_netcdf(path)
    factor = delay_factor_fs(delay_unit or "ps")
    if kind == "npz":
        values, delay, wl = _read_npz(path)
    elif kind == "npy":
        values, delay, wl = _split_matrix(_read_npy(path), orientation, path)
    elif kind == "text":
        values, delay, wl = _read_text(path, orientation)
    else:
        raise InputError(
            f"{path.name} is neither text nor a NumPy or NetCDF/HDF5 file; use a CSV/TSV "
            "matrix (any suffix, e.g. KiMoPack .SIA), Glotaran ASCII, .npz/.npy or NetCDF"
        )
    delay_fs = (np.asarray(delay, dtype=float) - delay_offset) * factor
    attrs = {"source": path.name}
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
    return validate_tamap(ds[names[0]].transpose("delay", "wavelength"))


def save_tamap(tamap: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write a TA map to NetCDF-4 (h5netcdf); :func:`load_tamap` reads it back unchanged."""
    path = Path(path)
    validate_tamap(tamap)
    da = tamap.copy()
    da.attrs = {k: (str(v) if isinstance(v, dict | list | tuple | type(None)) else v)
                for k, v in tamap.attrs.items()}
    da.rename(tamap.name or "ta").to_netcdf(path, engine="h5netcdf")
    return path


def _read_npz(path: Path):
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
    if values is None or delay is None or wl is None:
        raise InputError(
            f"{path.name}: an .npz TA map needs a 2-D data array and 1-D delay and wavelength "
            f"arrays (e.g. data, t, wl); found {sorted(arrays)}"
        )
    if values.shape == (wl.size, delay.size) and wl.size != delay.size:
        values = values.T
    return values.astype(float), delay.astype(float), wl.astype(float)


def _read_npy(path: Path) -> np.ndarray:
    try:
        matrix = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise InputError(f"cannot read {path.name} as .npy: {exc}") from None
    if matrix.ndim != 2 or min(matrix.shape) < 2:
        raise InputError(f"{path.name}: a .npy TA map must be a 2-D matrix with axes in row/col 0")
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
    n_comma, n_tab = text.count(","), text.count("\t")
    # tabs are the delimiter where present (a KiMoPack header "Time [ps]" holds a space)
    delimiter = "," if n_comma > n_tab else ("\t" if n_tab else None)
    try:
        matrix = np.genfromtxt(io.StringIO(text), delimiter=delimiter, dtype=float,
                               comments="#", filling_values=np.nan)
    except ValueError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(first[:2])[:160]
        raise InputError(f"{path.name}: cannot read as a numeric matrix ({detail})") from None
    if matrix.ndim != 2 or min(matrix.shape) < 2:
        raise InputError(f"{path.name}: expected a 2-D matrix with the axes in row 0 and column 0")
    if np.all(np.isnan(matrix[0, 1:])):  # a text header line above the numbers
        matrix = matrix[1:]
    if matrix.shape[0] < 3 or matrix.shape[1] < 2 or np.all(np.isnan(matrix[1:, 1:])):
        raise InputError(f"{path.name}: no numeric matrix with the axes in row 0 and column 0")
    return _split_matrix(matrix, orientation, path)


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
