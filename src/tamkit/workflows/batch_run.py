"""A batch on disk: per-stack folders written as they complete, the summary, and resuming.

:func:`run_batch` is ``tamkit batch``: it runs :func:`tamkit.workflows.batch.analyze_many` and
writes each stack's analysis folder ``DIR/<name>/`` (its stem, unless stems repeat; as
``tamkit analyze`` does) atomically as soon as that stack completes, so a batch that is
killed keeps every completed stack, and refreshes ``DIR/summary.csv``/``summary.json``
(:func:`write_summary`) as it goes and at the end.
Each stack's ``results.json`` records, under ``input.batch``, the options it was analysed with
and their fingerprint (:func:`options_fingerprint`); with ``resume=True`` a stack whose folder
holds results for the same input (``input.sha256``) and the same fingerprint is not analysed
again, and the summary is rebuilt from the folders on disk plus the stacks analysed now.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tamkit.core.errors import InputError
from tamkit.core.outputs import (
    check_output_path,
    is_run_folder_name,
    output_parents,
    replace_file,
    run_folder_names,
    to_jsonable,
    write_json,
)
from tamkit.core.tables import write_csv
from tamkit.io.delays import delays_of
from tamkit.workflows.batch import (
    ANALYSIS_OPTIONS,
    SUMMARY_COLUMNS,
    BatchRow,
    Progress,
    _check_options,
    _finite,
    _one_line,
    analyze_many,
    check_scheduler,
)

SUMMARY_EVERY_S = 5.0


def write_summary(rows: Sequence[BatchRow], folder: str | os.PathLike,
                  names: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.json`` (one row per stack) into ``folder``.

    Each file is replaced atomically: a reader (or a killed batch) sees the old summary or the
    new one, never half of one. ``names`` maps a row's path to its sub-folder's name
    (default :func:`~tamkit.core.outputs.run_folder_names` of the rows' paths).
    """
    folder = Path(folder)
    records = [to_jsonable(row.summary()) for row in rows]
    csv_path, json_path = folder / "summary.csv", folder / "summary.json"
    with replace_file(csv_path) as tmp:
        write_csv(tmp, SUMMARY_COLUMNS, records)
    with replace_file(json_path) as tmp:
        write_json(tmp, {"schema": "tamkit.workflows.batch/1",
                         "columns": list(SUMMARY_COLUMNS), "rows": records})
    _write_index(rows, records, folder,
                 names if names is not None else run_folder_names([r.path for r in rows]))
    return csv_path, json_path


def _write_index(rows: Sequence[BatchRow], records: list[dict], folder: Path,
                 names: Mapping[str, str]) -> None:
    """``index.html``: one row per stack, linking its report (a failed stack: its reason)."""
    from tamkit.reporting.index_page import write_index

    dirs = []
    for row in rows:
        sub = folder / names[row.path]
        dirs.append(os.path.relpath(sub, folder).replace(os.sep, "/")
                    if row.ok and (sub / "report.html").exists() else None)
    with replace_file(folder / "index.html") as tmp:
        write_index(folder, "tamkit batch", records, report_dirs=dirs, path=tmp,
                    data_files=[("summary.csv", "one row per stack"),
                                ("summary.json", "the same, as JSON")],
                    warnings=[f"{Path(r.path).name}: {r.reason}" for r in rows if not r.ok])



# --------------------------------------------------------------------------- resumable batch


def options_fingerprint(path: str | os.PathLike, options: Mapping[str, Any]) -> dict[str, Any]:
    """The analysis options one stack is analysed with, and their fingerprint.

    Returns ``{"options": {...}, "options_sha256": hex}``: the options with their effective
    defaults (the delays file by its content's SHA-256, not its name), and the SHA-256 of their
    canonical JSON. Two runs with the same fingerprint on the same input bytes give the same
    results.
    """
    import inspect

    from tamkit.workflows.analysis import analyze, sha256_of

    defaults = inspect.signature(analyze).parameters
    opts: dict[str, Any] = {}
    for key in ANALYSIS_OPTIONS:
        if key == "delays":
            delays = delays_of(path, options.get("delays"))
            opts["delays_sha256"] = None if delays is None else sha256_of(delays)
            continue
        value = options.get(key)
        if value is None and defaults[key].default is not inspect.Parameter.empty:
            value = defaults[key].default
        opts[key] = to_jsonable(value)
    text = json.dumps(opts, sort_keys=True, separators=(",", ":"))
    return {"options": opts, "options_sha256": hashlib.sha256(text.encode()).hexdigest()}


def completed_row(path: str | os.PathLike, folder: str | os.PathLike,
                  fingerprint: str, *, check_input: bool = True) -> BatchRow | None:
    """The summary row of a stack already analysed in ``folder``, or None.

    None unless ``folder/results.json`` is readable, is for the same input bytes (its
    ``input.sha256`` is the file's; not checked when ``check_input`` is false, for an input
    that no longer exists) and was written with the same options (its
    ``input.batch.options_sha256`` is ``fingerprint``).
    """
    from tamkit.workflows.analysis import sha256_of

    try:
        data = json.loads((Path(folder) / "results.json").read_text())
        info = data["input"]
        if info.get("batch", {}).get("options_sha256") != fingerprint:
            return None
        if check_input and info.get("sha256") != sha256_of(path):
            return None
        band = data.get("band_like") or {}
        return BatchRow(
            path=str(path),
            status="ok",
            sigma0_nm=_finite(data.get("sigma0_nm")),
            D_max_cm2_s=_finite(band.get("D_max_cm2_s")),
            tau_fs=_finite(band.get("tau_fs")),
            length_nm=_finite(band.get("length_nm")),
            n_regimes=int(data["model"]["n_regimes"]),
            seconds=float(info["batch"].get("seconds") or 0.0),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass
class BatchRun:
    """What :func:`run_batch` did: every row (input order), and which stacks it skipped."""

    rows: list[BatchRow]
    skipped: list[str]
    out_dir: Path

    @property
    def n_failed(self) -> int:
        return sum(not row.ok for row in self.rows)


def _write_stack(row: BatchRow, folder: Path, batch_info: dict[str, Any]) -> None:
    """Write one stack's analysis folder atomically; a failure to write fails that row only."""
    import dask

    from tamkit.reporting.analysis_report import report

    a = row.analysis
    info = {**a.input_info, "batch": {**batch_info, "seconds": row.seconds}}
    try:
        # dask-backed stacks are read here (montage frames), in this process
        with dask.config.set(scheduler="synchronous"):
            report(a.result, folder, stack=a.stack, input_info=info, force=True)
    except Exception as exc:  # one stack's report must not lose the others
        row.status = "failed"
        row.reason = f"writing the report: {type(exc).__name__}: {_one_line(str(exc))}"
    row.analysis = None  # written: free the memory (thousands of stacks)


def _remove_folder(out: Path) -> None:
    """Remove an existing output folder (``--force``): moved aside first, so that it is gone
    at once even if deleting its files takes a while."""
    trash = None
    try:
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.absolute().parent))
        os.replace(out, trash / "old")
    except OSError as exc:
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
        raise InputError(f"cannot replace the output folder {out}: "
                         f"{exc.strerror or _one_line(str(exc))}") from None
    shutil.rmtree(trash, ignore_errors=True)


def _make_writable_folder(out: Path) -> None:
    """Create ``out`` (its parents exist) and check that files can be written in it.

    Raises :class:`InputError` (before any analysis) when the folder cannot be created or
    written: otherwise every stack would be analysed only to fail when written
    (:func:`~tamkit.core.outputs.check_output_path` probed its parent; a resumed folder is
    probed here).
    """
    try:
        out.mkdir(exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"cannot write the output folder {out}: "
                         f"{exc.strerror or _one_line(str(exc))}") from None


def _earlier_rows(out: Path, names: Mapping[str, str],
                  analysis_options: Mapping[str, Any]) -> dict[str, tuple[BatchRow, str]]:
    """Rows of the stacks completed in ``out`` by earlier runs that ``paths`` do not name.

    A resumed batch given a subset of its paths must still list the others in its summary
    (their folders stay). A folder counts when its ``results.json`` was written by a batch
    with this run's analysis options and, if its input file still exists, for that file's
    bytes. Delays are compared by nothing: they are each stack's own (a sidecar, or the
    one file given), recorded in its folder. Keyed by the recorded input path, in folder order;
    each row comes with its folder's name. ``names`` maps this run's paths to their folders.
    """
    named = set(names.values())
    same = {k: v for k, v in analysis_options.items() if k != "delays"}
    rows: dict[str, tuple[BatchRow, str]] = {}
    for folder in sorted(out.iterdir()):
        if folder.name.startswith(".") or folder.name in named or not folder.is_dir():
            continue
        try:
            info = json.loads((folder / "results.json").read_text())["input"]
            source = str(info["path"])
            recorded = dict(info["batch"]["options"])
            fingerprint = str(info["batch"]["options_sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a stack folder of a batch
        if not is_run_folder_name(folder.name, source) or source in rows:
            continue
        wanted = options_fingerprint(source, same)["options"]
        recorded.pop("delays_sha256", None)
        wanted.pop("delays_sha256", None)
        if recorded != wanted:
            continue  # analysed with other options: not part of this summary
        row = completed_row(source, folder, fingerprint, check_input=Path(source).is_file())
        if row is not None:
            rows[source] = (row, folder.name)
    return rows


def _names_on_disk(out: Path, names: Mapping[str, str]) -> dict[str, str]:
    """``names``, with each path's folder of an earlier run kept where it differs.

    A folder name depends on which paths share a stem, so a resume given fewer paths than
    the first run (``b/stack.nc`` without ``a/stack.nc``) would look for ``stack/`` instead
    of ``b_stack/``: the folder whose ``results.json`` records this path wins, if no other
    path of this run is named after it.
    """
    recorded: dict[str, str] = {}
    for folder in sorted(out.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            recorded.setdefault(str(json.loads((folder / "results.json").read_text())
                                    ["input"]["path"]), folder.name)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    chosen = dict(names)
    for path, name in names.items():
        earlier = recorded.get(path)
        if (earlier and earlier != name and is_run_folder_name(earlier, path)
                and earlier not in chosen.values()):
            chosen[path] = earlier
    return chosen


def _clear_partials(out: Path) -> None:
    """Remove what a killed run left half-written: hidden ``.*.partial-*``/``.*.old-*``."""
    for child in out.iterdir():
        if child.name.startswith(".") and (".partial-" in child.name or ".old-" in child.name):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def run_batch(
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    resume: bool = False,
    force: bool = False,
    on_done: Progress | None = None,
    on_plan: Callable[[list[str], list[str]], None] | None = None,
    **batch_options: Any,
) -> BatchRun:
    """Analyse ``paths`` into ``out_dir``, writing each stack's folder as it completes.

    Parameters
    ----------
    paths : sequence of path-like
        Stack files (see :func:`expand_paths`); each writes ``out_dir/<name>/``, named
        by :func:`~tamkit.core.outputs.run_folder_names` (the stem, unless stems repeat).
    out_dir : path-like
        The batch's folder; missing parents are created.
    resume : bool
        Keep an existing ``out_dir``, skip the stacks already analysed there with the same input
        and options (:func:`completed_row`), analyse the others (replacing a stale folder) and
        rebuild the summary from both.
    force : bool
        Replace an existing ``out_dir`` (its contents are removed first).
    on_done : callable, optional
        Called with each new row once its folder is written (completion order).
    on_plan : callable, optional
        Called once, before any analysis, with (paths to analyse, paths skipped).
    **batch_options
        ``scheduler``, ``n_workers``, ``client``, ``connect_timeout_s``,
        ``lazy_threshold_bytes`` and the analysis options, as for :func:`analyze_many`.

    Raises
    ------
    InputError
        Before any work: ``out_dir`` is a file, or exists without ``resume`` or ``force``;
        ``resume`` with ``force``; bad options (see :func:`analyze_many`).
    """
    out = Path(out_dir)
    paths = [str(p) for p in paths]
    if resume and force:
        raise InputError("--resume keeps the results in the output folder and --force replaces "
                         "them; give one of them")
    analysis_options = {k: v for k, v in batch_options.items() if k in ANALYSIS_OPTIONS}
    _check_options(analysis_options)
    if "scheduler" in batch_options and batch_options.get("client") is None:
        check_scheduler(batch_options["scheduler"])
    delays = analysis_options.get("delays")
    delays_files = (list(delays.values()) if isinstance(delays, Mapping) else [delays])
    check_output_path(out, force, allow_existing=resume,
                      inputs=[*paths, *filter(None, delays_files)])
    prints = {p: options_fingerprint(p, analysis_options) for p in paths}
    names = run_folder_names(paths)
    done: dict[str, BatchRow] = {}
    if resume and out.is_dir():
        names = _names_on_disk(out, names)
        for p in paths:
            row = completed_row(p, out / names[p], prints[p]["options_sha256"])
            if row is not None:
                done[p] = row
    # stacks of earlier runs that this run does not name stay in the summary (their folders do)
    found = _earlier_rows(out, names, analysis_options) if resume and out.is_dir() else {}
    earlier = {source: row for source, (row, _) in found.items()}
    all_names = {**names, **{source: folder for source, (_, folder) in found.items()}}
    todo = [p for p in paths if p not in done]
    if on_plan is not None:
        on_plan(todo, list(done))
    rows: dict[str, BatchRow] = dict(done)
    last = [time.monotonic()]

    def summarise() -> list[BatchRow]:
        return [rows[p] for p in paths if p in rows] + list(earlier.values())

    def finished(row: BatchRow) -> None:
        if row.ok:
            _write_stack(row, out / names[row.path], prints[row.path])
        rows[row.path] = row
        if time.monotonic() - last[0] > SUMMARY_EVERY_S:
            write_summary(summarise(), out, all_names)
            last[0] = time.monotonic()
        if on_done is not None:
            on_done(row)

    with output_parents(out):
        created = not out.exists()
        if force and out.exists():
            _remove_folder(out)
            created = True
        _make_writable_folder(out)
        _clear_partials(out)
        try:
            if todo:
                analyze_many(todo, on_done=finished, **batch_options)
        except BaseException:
            # nothing completed (an unreachable scheduler, say): leave no empty folder behind
            if created and len(rows) == len(done):
                shutil.rmtree(out, ignore_errors=True)
            elif len(rows) > len(done):  # interrupted: the summary of what completed
                write_summary(summarise(), out, all_names)
            raise
        write_summary(summarise(), out, all_names)
    return BatchRun(rows=summarise(), skipped=[*done, *earlier], out_dir=out)


