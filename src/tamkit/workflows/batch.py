"""Many stacks on Dask: one analysis per stack, as futures, failures kept per stack.

:func:`analyze_many` runs :func:`analyze_one` for every path on a Dask scheduler (a fresh
``distributed.LocalCluster``, the threaded scheduler, a running scheduler's address, or a
``distributed.Client`` the caller already has) and returns one :class:`BatchRow` per path, in
input order, with the per-stack :class:`~tamkit.workflows.analysis.Analysis` of those that
succeeded. It writes nothing.

:func:`run_batch` is ``tamkit batch``: it writes each stack's analysis folder ``DIR/<stem>/``
(as ``tamkit analyze`` does) atomically as soon as that stack completes, so a batch that is
killed keeps every completed stack, and refreshes ``DIR/summary.csv``/``summary.json``
(:func:`write_summary`) as it goes and at the end. Each stack's ``results.json`` records, under
``input.batch``, the options it was analysed with and their fingerprint
(:func:`options_fingerprint`); with ``resume=True`` a stack whose folder holds results for the
same input (``input.sha256``) and the same fingerprint is not analysed again, and the summary
is rebuilt from the folders on disk plus the stacks analysed now.

Each stack runs in one task. Stacks larger than ``lazy_threshold_bytes`` are opened
dask-backed (:mod:`tamkit.io.lazy`) and read chunk by chunk inside that task with the synchronous
scheduler, so a task never waits on sub-tasks of its own (no deadlock on one-thread workers).
A remote scheduler's workers need tamkit installed and the same paths readable.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.errors import InputError
from tamkit.core.outputs import (
    check_output_path,
    output_parents,
    replace_file,
    to_jsonable,
    write_json,
)
from tamkit.core.tables import write_csv
from tamkit.io.lazy import LAZY_THRESHOLD_BYTES, load_maybe_lazy
from tamkit.workflows.analysis import Analysis

SUMMARY_COLUMNS = (
    "path", "status", "reason", "sigma0_nm", "D_max_cm2_s", "tau_fs", "length_nm",
    "n_regimes", "seconds",
)
ANALYSIS_OPTIONS = ("delays", "pixel_nm", "pitch_nm", "temperature_K", "n_bootstrap")
SCHEDULER_HELP = "local, threads, or a scheduler address such as tcp://host:8786"
#: Names of a stack's own delays file beside it, in the order tried (``{stem}``: its stem).
SIDECAR_NAMES = ("{stem}.delays.csv", "{stem}.delays.txt", "{stem}_delays.csv",
                 "{stem}_delays.txt", "delays.csv", "delays.txt")
#: Seconds between two refreshes of the summary while a batch runs.
SUMMARY_EVERY_S = 5.0


@dataclass
class BatchRow:
    """The outcome of one stack: the summary columns, plus its analysis when it succeeded."""

    path: str
    status: str
    reason: str = ""
    sigma0_nm: float | None = None
    D_max_cm2_s: float | None = None
    tau_fs: float | None = None
    length_nm: float | None = None
    n_regimes: int | None = None
    seconds: float = 0.0
    analysis: Analysis | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> dict[str, Any]:
        """The row as a plain dict of :data:`SUMMARY_COLUMNS` (None where not available)."""
        return {name: getattr(self, name) for name in SUMMARY_COLUMNS}


def expand_paths(patterns: Iterable[str | os.PathLike]) -> list[Path]:
    """Paths from names and glob patterns, in order, without repeats.

    Raises InputError when a pattern matches nothing, a named file does not exist, or two
    inputs share a stem (they would write the same ``DIR/<stem>``).
    """
    paths: list[Path] = []
    for pattern in patterns:
        text = str(pattern)
        if glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise InputError(f"the pattern {text!r} matches no file")
            paths += [Path(m) for m in matches]
        elif not Path(text).exists():
            raise InputError(f"{text}: no such file")
        else:
            paths.append(Path(text))
    unique = list(dict.fromkeys(p.resolve() for p in paths))
    if not unique:
        raise InputError("no stack files given")
    by_stem: dict[str, Path] = {}
    for p in unique:
        if p.stem in by_stem:
            raise InputError(
                f"{by_stem[p.stem]} and {p} would both write the output folder {p.stem}/; "
                "rename one of them"
            )
        by_stem[p.stem] = p
    return unique


def analyze_one(
    path: str | os.PathLike,
    *,
    lazy_threshold_bytes: int = LAZY_THRESHOLD_BYTES,
    **analysis_options: Any,
) -> BatchRow:
    """Analyse one stack and never raise: a failure is a row with status ``failed``.

    The reason is the InputError's message for bad input, and ``Type: message`` for anything
    else (a bug, which the row should make easy to report).
    """
    import dask

    from tamkit.workflows.analysis import analyze

    start = time.perf_counter()
    opts = dict(analysis_options)
    try:
        # dask-backed stacks are read in this task, chunk after chunk, not by sub-tasks
        with dask.config.set(scheduler="synchronous"):
            stack = load_maybe_lazy(path, delays=opts.get("delays"), pixel_nm=opts.get("pixel_nm"),
                                    threshold_bytes=lazy_threshold_bytes)
            analysis = analyze(path, stack=stack, **opts)
    except InputError as exc:
        return BatchRow(str(path), "failed", _one_line(str(exc)),
                        seconds=time.perf_counter() - start)
    except Exception as exc:  # a bug in one stack must not stop the others
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{type(exc).__name__}: {_one_line(str(exc))} (at {Path(where.filename).name}:" \
                 f"{where.lineno})"
        return BatchRow(str(path), "failed", reason, seconds=time.perf_counter() - start)
    return _row_from(str(path), analysis, time.perf_counter() - start)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "no message"


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _row_from(path: str, analysis: Analysis, seconds: float) -> BatchRow:
    result = analysis.result
    band = result.band_like
    return BatchRow(
        path=path,
        status="ok",
        sigma0_nm=_finite(result.sigma0_nm),
        D_max_cm2_s=_finite(band.D_max_cm2_s) if band else None,
        tau_fs=_finite(band.tau_fs) if band else None,
        length_nm=_finite(band.length_nm) if band else None,
        n_regimes=int(result.model.n_regimes),
        seconds=seconds,
        analysis=analysis,
    )


def _check_options(options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(ANALYSIS_OPTIONS))
    if unknown:
        raise InputError(f"unknown analysis options {unknown}; known: {list(ANALYSIS_OPTIONS)}")
    for key, unit in (("pixel_nm", "nm"), ("pitch_nm", "nm"), ("temperature_K", "kelvin")):
        value = options.get(key)
        if value is not None and not (np.isfinite(value) and value > 0):
            raise InputError(f"{key} must be a positive number of {unit}, got {value}")


def check_scheduler(scheduler: str) -> str:
    """``scheduler`` if it is ``local``, ``threads`` or an address ``proto://host:port``."""
    text = str(scheduler).strip()
    if text in ("local", "threads"):
        return text
    _, sep, rest = text.partition("://")
    host, colon, port = rest.rpartition(":")
    if not (sep and colon and host and port.isdigit()):
        raise InputError(f"--scheduler must be {SCHEDULER_HELP}, got {scheduler!r}")
    return text


Progress = Callable[[BatchRow], None]


def analyze_many(
    paths: Sequence[str | os.PathLike],
    *,
    scheduler: str = "local",
    n_workers: int | None = None,
    client: Any = None,
    on_done: Progress | None = None,
    connect_timeout_s: float | None = None,
    lazy_threshold_bytes: int = LAZY_THRESHOLD_BYTES,
    **analysis_options: Any,
) -> list[BatchRow]:
    """Analyse many stacks on Dask; one row per path, in the order given.

    Parameters
    ----------
    paths : sequence of path-like
        Stack files (globs are expanded by :func:`expand_paths`, not here).
    scheduler : str
        ``"local"``: a new ``distributed.LocalCluster`` of processes (``n_workers`` of them,
        default the core count, one thread each), closed at the end; ``"threads"``: dask's
        threaded scheduler in this process; else the address of a running scheduler
        (``tcp://host:port``). Ignored when ``client`` is given.
    n_workers : int, optional
        Workers (``local``) or threads (``threads``).
    client : distributed.Client, optional
        An existing client (e.g. in a notebook); it is left open.
    on_done : callable, optional
        Called with each :class:`BatchRow` as its stack finishes (completion order).
    connect_timeout_s : float, optional
        Seconds to wait for a scheduler address (default: dask's ``distributed.comm.timeouts
        .connect``).
    lazy_threshold_bytes : int
        Files larger than this are opened dask-backed (see :mod:`tamkit.io.lazy`).
    **analysis_options
        ``delays``, ``pixel_nm``, ``pitch_nm``, ``temperature_K``, ``n_bootstrap``, as for
        :func:`tamkit.workflows.analysis.analyze`; ``delays`` may also map each path (as
        given, ``str``) to its own delays file or None (see :func:`sidecar_delays`).

    Returns
    -------
    list of BatchRow
        Failed stacks have status ``failed`` and a reason; the others carry their analysis.

    Raises
    ------
    InputError
        Bad options, no paths, a malformed or unreachable scheduler address.
    """
    _check_options(analysis_options)
    paths = [str(p) for p in paths]
    if not paths:
        raise InputError("no stack files given")
    if n_workers is not None and n_workers < 1:
        raise InputError(f"--workers must be at least 1, got {n_workers}")
    base = dict(analysis_options, lazy_threshold_bytes=lazy_threshold_bytes)
    kwargs = [dict(base, delays=delays_of(p, base.get("delays"))) for p in paths]
    if client is not None:
        return _run_distributed(client, paths, kwargs, on_done)
    scheduler = check_scheduler(scheduler)
    if scheduler == "threads":
        return _run_threads(paths, kwargs, n_workers, on_done)
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = min(n_workers or os.cpu_count() or 1, len(paths))
        # a private cluster on this machine: loopback only; its HTTP server on a free port,
        # without a dashboard (dashboard_address=None still takes port 8787)
        with (
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=":0", scheduler_kwargs={"dashboard": False},
                         silence_logs=logging.ERROR) as cluster,
            Client(cluster) as own,
        ):
            return _run_distributed(own, paths, kwargs, on_done)
    timeout = {} if connect_timeout_s is None else {"timeout": connect_timeout_s}
    try:
        own = Client(scheduler, set_as_default=False, **timeout)
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"cannot connect to the Dask scheduler at {scheduler} ({_one_line(str(exc))})"
        ) from None
    with own:
        return _run_distributed(own, paths, kwargs, on_done)


def _run_distributed(client, paths: list[str], kwargs: list[dict], on_done: Progress | None):
    from distributed import as_completed

    futures = [client.submit(analyze_one, p, pure=False, **kw)
               for p, kw in zip(paths, kwargs, strict=True)]
    order = {f.key: i for i, f in enumerate(futures)}
    rows: list[BatchRow | None] = [None] * len(paths)
    for future in as_completed(futures, loop=client.loop):
        i = order[future.key]
        try:
            row = future.result()
        except Exception as exc:  # the worker died (memory, crash): KilledWorker and kin
            row = BatchRow(paths[i], "failed", f"{type(exc).__name__}: {_one_line(str(exc))}")
        rows[i] = row
        if on_done is not None:
            on_done(row)
    return rows  # type: ignore[return-value]


def _run_threads(paths: list[str], kwargs: list[dict], n_workers: int | None, on_done):
    import dask
    from dask.callbacks import Callback

    tasks = {f"tamkit-batch-{i}": dask.delayed(analyze_one, pure=False)(p, **kw)
             for i, (p, kw) in enumerate(zip(paths, kwargs, strict=True))}

    class _Done(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if on_done is not None and isinstance(result, BatchRow):
                on_done(result)

    with _Done():
        rows = dask.compute(*tasks.values(), scheduler="threads", num_workers=n_workers)
    return list(rows)


def write_summary(rows: Sequence[BatchRow], folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.json`` (one row per stack) into ``folder``.

    Each file is replaced atomically: a reader (or a killed batch) sees the old summary or the
    new one, never half of one.
    """
    folder = Path(folder)
    records = [to_jsonable(row.summary()) for row in rows]
    csv_path, json_path = folder / "summary.csv", folder / "summary.json"
    with replace_file(csv_path) as tmp:
        write_csv(tmp, SUMMARY_COLUMNS, records)
    with replace_file(json_path) as tmp:
        write_json(tmp, {"schema": "tamkit.workflows.batch/1",
                         "columns": list(SUMMARY_COLUMNS), "rows": records})
    _write_index(rows, records, folder)
    return csv_path, json_path


def _write_index(rows: Sequence[BatchRow], records: list[dict], folder: Path) -> None:
    """``index.html``: one row per stack, linking its report (a failed stack: its reason)."""
    from tamkit.reporting.index_page import write_index

    dirs = []
    for row in rows:
        sub = stack_folder(folder, row.path)
        dirs.append(os.path.relpath(sub, folder).replace(os.sep, "/")
                    if row.ok and (sub / "report.html").exists() else None)
    with replace_file(folder / "index.html") as tmp:
        write_index(folder, "tamkit batch", records, report_dirs=dirs, path=tmp,
                    data_files=[("summary.csv", "one row per stack"),
                                ("summary.json", "the same, as JSON")],
                    warnings=[f"{Path(r.path).name}: {r.reason}" for r in rows if not r.ok])


# --------------------------------------------------------------------------- delays per stack


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


def stack_folder(out_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """The analysis folder of one stack in a batch's output folder: ``DIR/<stem>``."""
    return Path(out_dir) / Path(path).stem


def completed_row(path: str | os.PathLike, folder: str | os.PathLike,
                  fingerprint: str) -> BatchRow | None:
    """The summary row of a stack already analysed in ``folder``, or None.

    None unless ``folder/results.json`` is readable, is for the same input bytes (its
    ``input.sha256`` is the file's) and was written with the same options (its
    ``input.batch.options_sha256`` is ``fingerprint``).
    """
    from tamkit.workflows.analysis import sha256_of

    try:
        data = json.loads((Path(folder) / "results.json").read_text())
        info = data["input"]
        if info.get("batch", {}).get("options_sha256") != fingerprint:
            return None
        if info.get("sha256") != sha256_of(path):
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
        Stack files (see :func:`expand_paths`); each writes ``out_dir/<stem>/``.
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
    done: dict[str, BatchRow] = {}
    if resume and out.is_dir():
        for p in paths:
            row = completed_row(p, stack_folder(out, p), prints[p]["options_sha256"])
            if row is not None:
                done[p] = row
    todo = [p for p in paths if p not in done]
    if on_plan is not None:
        on_plan(todo, list(done))
    rows: dict[str, BatchRow] = dict(done)
    last = [time.monotonic()]

    def summarise() -> list[BatchRow]:
        return [rows[p] for p in paths if p in rows]

    def finished(row: BatchRow) -> None:
        if row.ok:
            _write_stack(row, stack_folder(out, row.path), prints[row.path])
        rows[row.path] = row
        if time.monotonic() - last[0] > SUMMARY_EVERY_S:
            write_summary(summarise(), out)
            last[0] = time.monotonic()
        if on_done is not None:
            on_done(row)

    with output_parents(out):
        created = not out.exists()
        if force and out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.absolute().parent))
            os.replace(out, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
            created = True
        out.mkdir(exist_ok=True)
        _clear_partials(out)
        try:
            if todo:
                analyze_many(todo, on_done=finished, **batch_options)
        except BaseException:
            # nothing completed (an unreachable scheduler, say): leave no empty folder behind
            if created and len(rows) == len(done):
                shutil.rmtree(out, ignore_errors=True)
            elif len(rows) > len(done):  # interrupted: the summary of what completed
                write_summary(summarise(), out)
            raise
        write_summary(summarise(), out)
    return BatchRun(rows=summarise(), skipped=list(done), out_dir=out)


