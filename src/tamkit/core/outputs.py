"""Writing outputs safely: atomically, and never over existing results without ``force``.

* :func:`check_output_path` refuses, before any work, an output path that cannot become a
  results folder (an existing file, an existing non-empty folder without ``force``, a parent
  that is a file);
* :func:`output_parents` creates the missing parent folders of an output (and removes them
  again when the work fails before anything was written);
* :func:`atomic_output_dir` writes a folder that appears only complete;
* :func:`write_json` and :func:`replace_file` write single files (the latter atomically).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.errors import InputError

#: files one of tamkit's commands writes at the top of its output folder: a non-empty folder
#: with none of them was never a tamkit output, and ``--force`` does not replace it
OUTPUT_MARKERS = ("results.json", "spectro.json", "series.json", "summary.json", "summary.csv",
                  "reproduce.json", "infer.json", "truth.json", "stack.nc")


def is_tamkit_output(folder: Path) -> bool:
    """Whether ``folder`` holds a file a tamkit command writes (:data:`OUTPUT_MARKERS`)."""
    return any((folder / name).is_file() for name in OUTPUT_MARKERS)


def check_output_path(
    out_dir: str | os.PathLike,
    force: bool = False,
    *,
    allow_existing: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Raise :class:`InputError` if ``out_dir`` cannot become a results folder; return it.

    Refused: an empty name; an existing path that is not a folder (always, ``force`` or not:
    replacing a file by a folder is never what was meant); an existing non-empty folder unless
    ``force`` or ``allow_existing``; with ``force``, a folder holding the current folder or one
    of ``inputs`` (replacing it would delete them) or a non-empty folder holding no tamkit
    output (:data:`OUTPUT_MARKERS`: ``--force`` replaces results, never a folder of other
    files); a path whose nearest existing ancestor is a file.
    """
    if not str(out_dir).strip():
        raise InputError("the output folder's name is empty")
    out = Path(out_dir)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError(f"output path {out} exists and is a file, not a folder; "
                             "give a folder")
        holds_files = any(out.iterdir())
        if not (force or allow_existing) and holds_files:
            raise InputError(f"output folder {out} already exists; use --force to replace it")
        if force:
            real = out.resolve()
            for inside in (Path.cwd(), *map(Path, inputs)):
                if inside.resolve().is_relative_to(real):
                    raise InputError(f"--force would replace {out}, which holds {inside}; "
                                     "give another output folder")
        if force and not allow_existing and holds_files and not is_tamkit_output(out):
            example = sorted(p.name for p in out.iterdir())[0]
            raise InputError(f"--force replaces only a tamkit output folder; {out} holds other "
                             f"files ({example}, ...) and no tamkit result: give another "
                             "output folder")
        _check_writable(out.absolute().parent, out)
        return out
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"output path {out}: {parent} is a file, not a folder")
            _check_writable(parent, out)
            break
    return out


def _check_writable(folder: Path, out: Path) -> None:
    """Refuse ``out`` before any work when nothing can be created in ``folder`` (where its
    results are assembled): a read-only or immutable folder, a full disk. A real probe, since
    permission bits do not tell (root ignores them; an immutable flag or a read-only mount
    stops root too)."""
    try:
        probe = tempfile.mkdtemp(prefix=".tamkit-probe-", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write the output folder {out}: nothing can be created in "
                         f"{folder} ({exc.strerror or type(exc).__name__})") from None
    os.rmdir(probe)


@contextlib.contextmanager
def output_parents(out_dir: str | os.PathLike) -> Iterator[list[Path]]:
    """Create the missing parent folders of ``out_dir``; yield them (outermost first).

    If the block raises and ``out_dir`` was not created, the parents created here are removed
    again (those still empty), so that a failed command leaves the file system as it was.
    """
    out = Path(out_dir).absolute()
    missing: list[Path] = []
    for parent in out.parents:
        if parent.exists():
            break
        missing.insert(0, parent)
    created: list[Path] = []
    try:
        for folder in missing:
            try:
                folder.mkdir()
            except FileExistsError:
                if not folder.is_dir():
                    raise InputError(f"output path {out_dir}: {folder} is a file, "
                                     "not a folder") from None
                continue
            except OSError as exc:
                raise InputError(f"cannot create the folder {folder}: "
                                 f"{exc.strerror or exc}") from None
            created.append(folder)
        yield created
    except BaseException:
        if not out.exists():
            for folder in reversed(created):
                try:
                    folder.rmdir()
                except OSError:
                    break
        raise


def _current_umask() -> int:
    """The process umask, read without changing it where the system says it (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)  # elsewhere: set and restore at once
    os.umask(mask)
    return mask


def _as_if_made_plainly(path: Path, mode: int) -> None:
    """Give a temporary file or folder the permissions a plain ``open``/``mkdir`` would have.

    ``tempfile`` makes them private (0600 and 0700), which the finished output would keep:
    colleagues on a shared server could then not read a results folder.
    """
    os.chmod(path, mode & ~_current_umask())


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder that becomes ``out_dir`` only if the block succeeds.

    Raises :class:`InputError` before any work if ``out_dir`` exists (and is not an empty
    folder) and ``force`` is false. On failure the temporary folder is removed and ``out_dir``
    is left exactly as it was. The parent folder must exist (see :func:`output_parents`).
    """
    out = check_output_path(out_dir, force)
    parent = out.absolute().parent
    if not parent.exists():
        raise InputError(f"parent folder {parent} of the output does not exist")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise InputError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    try:
        _as_if_made_plainly(tmp, 0o777)
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


@contextlib.contextmanager
def replace_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` (atomically) if the block
    succeeds, and is removed if it fails: a reader sees the old file or the new, never half."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.absolute().parent)
    os.close(fd)
    tmp = Path(name)
    try:
        _as_if_made_plainly(tmp, 0o666)
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def format_delay(delay_fs: float) -> str:
    """A delay in the unit that reads best: 250 fs, 8 ps, 1.2 ns."""
    t = float(delay_fs)
    if abs(t) < 1e3:
        return f"{t:.3g} fs"
    if abs(t) < 1e6:
        return f"{t / 1e3:.3g} ps"
    return f"{t / 1e6:.3g} ns"


def format_value(value: Any, err: Any = None, unit: str = "", digits: int = 3) -> str:
    """``value ± err unit`` with ``digits`` significant digits; ``n/a`` for missing values."""
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}g}"
    if err is not None and np.isfinite(err):
        text += f" ± {err:.2g}"
    return f"{text} {unit}".strip()


def run_folder_names(paths: Sequence[str | os.PathLike]) -> dict[str, str]:
    """One output sub-folder name per input file, unique within ``paths``.

    A file's stem where no other input shares it; where stems repeat (``a/stack.nc`` and
    ``b/stack.nc``, as ``tamkit simulate`` writes them), the stem prefixed with as many of
    its parent folders' names as make it unique (``a_stack``, ``b_stack``). Keyed by
    ``str(path)`` as given; names depend only on the set of paths, so a rerun on the same
    inputs writes the same folders.
    """
    keys = list(dict.fromkeys(str(p) for p in paths))
    parts = {k: Path(os.path.abspath(k)).parts for k in keys}
    depth = dict.fromkeys(keys, 0)
    with_suffix: set[str] = set()

    def name(key: str) -> str:
        parents = list(parts[key][len(parts[key]) - 1 - depth[key]:-1])
        stem = Path(key).stem
        if key in with_suffix and Path(key).suffix:
            stem += "_" + Path(key).suffix.lstrip(".")
        return "_".join([*(p.strip(os.sep) or "root" for p in parents), stem])

    while True:
        by_name: dict[str, list[str]] = {}
        for key in keys:
            by_name.setdefault(name(key), []).append(key)
        clashes = [group for group in by_name.values() if len(group) > 1]
        grown = False
        for group in clashes:
            folders = {parts[key][:-1] for key in group}
            for key in group:
                if len(folders) == 1 and key not in with_suffix:
                    with_suffix.add(key)  # a.nc and a.tif side by side: a_nc, a_tif
                    grown = True
                elif len(folders) > 1 and depth[key] < len(parts[key]) - 1:
                    depth[key] += 1
                    grown = True
        if not clashes or not grown:
            break
    names: dict[str, str] = {}
    taken: set[str] = set()
    for key in keys:  # identical paths, or names that "_" makes alike (a_b/c, a/b_c)
        base = candidate = name(key)
        count = 1
        while candidate in taken:
            count += 1
            candidate = f"{base}-{count}"
        taken.add(candidate)
        names[key] = candidate
    return names


def is_run_folder_name(folder_name: str, path: str | os.PathLike) -> bool:
    """Whether :func:`run_folder_names` may have named ``path``'s folder ``folder_name``."""
    return any(folder_name in (name, name.rsplit("-", 1)[0])
               for name in _folder_name_candidates(path))


def _folder_name_candidates(path: str | os.PathLike) -> set[str]:
    parts = Path(os.path.abspath(path)).parts
    stems = {Path(path).stem}
    if Path(path).suffix:
        stems.add(Path(path).stem + "_" + Path(path).suffix.lstrip("."))
    names = set()
    for depth in range(len(parts)):
        parents = [p.strip(os.sep) or "root" for p in parts[len(parts) - 1 - depth:-1]]
        names |= {"_".join([*parents, stem]) for stem in stems}
    return names
