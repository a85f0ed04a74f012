"""Writing outputs safely: atomically, and never over existing results without ``force``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.errors import InputError


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder that becomes ``out_dir`` only if the block succeeds.

    Raises :class:`InputError` before any work if ``out_dir`` exists (and is not an empty
    folder) and ``force`` is false. On failure the temporary folder is removed and ``out_dir``
    is left exactly as it was.
    """
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise InputError(f"output path {out} exists and is not a folder")
        if any(out.iterdir()) and not force:
            raise InputError(f"output folder {out} already exists; use --force to replace it")
    parent = out.absolute().parent
    if not parent.exists():
        raise InputError(f"parent folder {parent} of the output does not exist")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise InputError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
        os.replace(out, trash / "old")
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats into plain JSON (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON (strict: NaN and inf become null)."""
    Path(path).write_text(json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")


def format_value(value: Any, err: Any = None, unit: str = "", digits: int = 3) -> str:
    """``value ± err unit`` with ``digits`` significant digits; ``n/a`` for missing values."""
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}g}"
    if err is not None and np.isfinite(err):
        text += f" ± {err:.2g}"
    return f"{text} {unit}".strip()
