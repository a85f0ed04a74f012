"""Many stacks on Dask: one analysis per stack, as futures, failures kept per stack.

:func:`analyze_many` runs :func:`analyze_one` for every path on a Dask scheduler (a fresh
``distributed.LocalCluster``, the threaded scheduler, a running scheduler's address, or a
``distributed.Client`` the caller already has) and returns one :class:`BatchRow` per path, in
input order, with the per-stack :class:`~tamkit.workflows.analysis.Analysis` of those that
succeeded. It writes nothing.

Writing a batch to disk as it goes, and resuming it, is :mod:`tamkit.workflows.batch_run`.

Each stack runs in one task. Stacks larger than ``lazy_threshold_bytes`` are opened
dask-backed (:mod:`tamkit.io.lazy`) and read chunk by chunk inside that task with the synchronous
scheduler, so a task never waits on sub-tasks of its own (no deadlock on one-thread workers).
A remote scheduler's workers need tamkit installed and the same paths readable.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.errors import InputError
from tamkit.io import load_maybe_lazy
from tamkit.io._common import LAZY_THRESHOLD_BYTES
from tamkit.io.delays import delays_of
from tamkit.workflows.analysis import Analysis

SUMMARY_COLUMNS = (
    "path", "status", "reason", "sigma0_nm", "D_max_cm2_s", "tau_fs", "length_nm",
    "n_regimes", "seconds",
)
ANALYSIS_OPTIONS = ("delays", "pixel_nm", "pitch_nm", "temperature_K", "n_bootstrap")
SCHEDULER_HELP = "local, threads, or a scheduler address such as tcp://host:8786"
#: Names of a stack's own delays file beside it, in the order tried (``{stem}``: its stem).


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

    Folders matched by a pattern are left out. Raises InputError when a pattern matches no
    file, or a named file does not exist or is a folder. Inputs that share a stem get distinct
    output folders (:func:`~tamkit.core.outputs.run_folder_names`).
    """
    paths: list[Path] = []
    for pattern in patterns:
        text = str(pattern)
        if glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise InputError(f"the pattern {text!r} matches no file")
            files = [Path(m) for m in matches if not Path(m).is_dir()]
            if not files:
                raise InputError(f"the pattern {text!r} matches only folders; give their "
                                 "stacks (a pattern such as DIR/*.nc)")
            paths += files
        elif not Path(text).exists():
            raise InputError(f"{text}: no such file")
        elif Path(text).is_dir():
            raise InputError(f"{text} is a folder, not a stack file; give its stacks (a "
                             f"pattern such as '{Path(text) / '*.nc'}')")
        else:
            paths.append(Path(text))
    unique = list(dict.fromkeys(p.resolve() for p in paths))
    if not unique:
        raise InputError("no stack files given")
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
    threads = _task_threads(opts.pop("host_threads", None))
    _worker_malloc()
    try:
        # dask-backed stacks are read in this task, chunk after chunk, not by sub-tasks
        with (dask.config.set(scheduler="synchronous"), _numba_threads(threads),
              _quiet_numerics()):
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


@contextlib.contextmanager
def _quiet_numerics() -> Iterator[None]:
    """Keep numpy's RuntimeWarnings (a division by zero on a blank or constant stack) off the
    terminal: a stack that cannot be analysed fails with its reason in the summary, which is
    what the user needs, and its workers' warnings would only bury the progress bar.

    Floating-point warnings are silenced with ``np.errstate`` (per thread, nothing else
    changes); the others (an empty ``nanmean``) with a warnings filter, on Dask workers only:
    the filter is process-wide, and in the caller's process (``threads``) the command line
    already sets it.
    """
    with np.errstate(all="ignore"):
        if not _on_dask_worker():
            yield
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield


def _on_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


#: glibc malloc: blocks up to this size come from the heap (its largest dynamic threshold)...
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: ...and free memory at the heap's top is returned to the system beyond this
TRIM_THRESHOLD_BYTES = 64 * 2**20
_MALLOC_TUNED: list[bool] = []


def _worker_malloc() -> None:
    """Undo, once per process, the fixed malloc thresholds a Dask nanny gives its workers.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (to release memory early);
    setting any threshold turns off glibc's dynamic mmap threshold, so that every array above
    128 KiB was mapped and unmapped again, its pages faulted in afresh on each allocation: an
    analysis ran ~2.3 million page faults and 6 s of system time per stack in a worker against
    20 thousand and 0.2 s in a plain process. Thresholds as the dynamic rule reaches them
    (32 MiB mmap, 64 MiB trim) restore the heap's reuse and still release large frees.
    """
    if _MALLOC_TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC_TUNED.append(True)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, TRIM_THRESHOLD_BYTES)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, MMAP_THRESHOLD_BYTES)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to undo
        pass


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: the key of :func:`_task_threads`' layout for the threads of this process (``threads``)
LOCAL = "this process"


def _task_threads(host_threads: dict[str, int] | None) -> int | None:
    """Compiled-kernel threads for a task on a Dask worker: the host's cores shared among the
    task threads of all workers on that host (one thread each for one-thread workers filling
    the machine), so that workers do not oversubscribe the cores; None (leave numba's setting)
    outside a worker or without the layout."""
    if not host_threads:
        return None
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host

        total = host_threads.get(get_address_host(get_worker().address))
    except (ImportError, ValueError):  # not on a worker: this process' threads
        total = host_threads.get(LOCAL)
    if not total:
        return None
    return max(1, _cores() // int(total))


@contextlib.contextmanager
def _numba_threads(n: int | None) -> Iterator[None]:
    """numba's thread count for this thread's parallel kernels, restored afterwards."""
    if n is None:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _host_threads(client) -> dict[str, int]:
    """Task threads per host of a Dask cluster (its workers' ``nthreads``, summed by host)."""
    from distributed.comm import get_address_host

    counts: dict[str, int] = {}
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # older distributed: all workers by default
        workers = client.scheduler_info()["workers"]
    for address, info in workers.items():
        host = get_address_host(address)
        counts[host] = counts.get(host, 0) + int(info.get("nthreads", 1))
    return counts


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
        given, ``str``) to its own delays file or None
        (see :func:`tamkit.io.delays.sidecar_delays`).

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
        # without a dashboard (dashboard_address=None still takes port 8787). Its logs are
        # silenced below CRITICAL: a worker whose heartbeat meets the closing scheduler logs a
        # CommClosedError traceback at ERROR after every stack is done (seen once in 4 runs of
        # 2 stacks), and a stack whose worker dies is reported in its row, not by the log
        with (
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=":0", scheduler_kwargs={"dashboard": False},
                         silence_logs=logging.CRITICAL) as cluster,
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

    layout = _host_threads(client)
    futures = [client.submit(analyze_one, p, pure=False, host_threads=layout, **kw)
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

    layout = {LOCAL: n_workers or _cores()}
    tasks = {f"tamkit-batch-{i}": dask.delayed(analyze_one, pure=False)(p, host_threads=layout,
                                                                         **kw)
             for i, (p, kw) in enumerate(zip(paths, kwargs, strict=True))}

    class _Done(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if on_done is not None and isinstance(result, BatchRow):
                on_done(result)

    with _Done():
        rows = dask.compute(*tasks.values(), scheduler="threads", num_workers=n_workers)
    return list(rows)
