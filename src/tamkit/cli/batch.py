"""Analyse many stacks on Dask (a local cluster, threads, or a scheduler address).

Writes DIR/<stem>/ per stack (as tamkit analyze does) and DIR/summary.csv + DIR/summary.json,
one row per stack. A failed stack never stops the others: exit 0 when all succeeded, 0 with a
warning when some failed, 2 when all failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tamkit.cli.options import (
    ForceOption,
    PitchOption,
    PixelSizeOption,
    TemperatureOption,
    analysis_options,
)
from tamkit.core.errors import InputError


def command(
    paths: Annotated[
        list[str], typer.Argument(help="Stack files or glob patterns (quote them: 'data/*.nc').")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder for all stacks.")],
    scheduler: Annotated[
        str, typer.Option("--scheduler", help="local, threads, or tcp://host:port.")
    ] = "local",
    workers: Annotated[
        int | None, typer.Option("--workers", help="Workers (local) or threads; default: cores.")
    ] = None,
    pixel_size: PixelSizeOption = None,
    pitch: PitchOption = None,
    temperature: TemperatureOption = None,
    force: ForceOption = False,
) -> None:
    import dask

    from tamkit.core.outputs import atomic_output_dir
    from tamkit.workflows.batch import analyze_many, check_scheduler, expand_paths, write_summary

    options = analysis_options(pixel_size, pitch, temperature)
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    check_scheduler(scheduler)
    files = expand_paths(paths)
    err = Console(stderr=True)
    with atomic_output_dir(out, force=force) as tmp:
        with Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}"), console=err,
                      transient=True) as bar:
            task = bar.add_task("", total=len(files))

            def done(row) -> None:
                bar.update(task, advance=1, description=f"{Path(row.path).name}: {row.status}")

            rows = analyze_many(files, scheduler=scheduler, n_workers=workers, on_done=done,
                                **options)
        # dask-backed stacks are read here (montage frames) in this process
        with dask.config.set(scheduler="synchronous"), err.status("writing reports"):
            for row in rows:
                if row.ok:
                    _write_report(row, tmp / Path(row.path).stem)
        write_summary(rows, tmp)
    print_batch_summary(rows, title=f"tamkit batch: {len(rows)} stacks")
    Console().print(f"results in {out}/")
    n_failed = sum(not row.ok for row in rows)
    if n_failed == len(rows):
        raise InputError(f"all {n_failed} stacks failed; the reasons are in {out}/summary.csv")
    if n_failed:
        err.print(f"[yellow]warning:[/] {n_failed} of {len(rows)} stacks failed; "
                  f"see {out}/summary.csv")


def _write_report(row, folder: Path) -> None:
    """Write one stack's analyze outputs; a failure to write fails that row only."""
    from tamkit.reporting.analysis_report import report

    a = row.analysis
    try:
        report(a.result, folder, stack=a.stack, input_info=a.input_info)
    except Exception as exc:  # one stack's report must not lose the others
        row.status = "failed"
        row.reason = f"writing the report: {type(exc).__name__}: {' '.join(str(exc).split())}"


def print_batch_summary(rows, title: str) -> None:
    """Print one line per stack (status, sigma_0, D_max, tau, length, regimes, seconds), then
    the reason of each failed stack on a line of its own (reasons are long)."""
    table = Table(title=title)
    for name in ("stack", "status", "sigma_0 (nm)", "D_max (cm^2/s)", "tau (fs)",
                 "length (nm)", "regimes", "s"):
        table.add_column(name)
    for row in rows:
        status = "[green]ok[/]" if row.ok else "[red]failed[/]"
        table.add_row(Path(row.path).name, status, _num(row.sigma0_nm), _num(row.D_max_cm2_s),
                      _num(row.tau_fs), _num(row.length_nm),
                      "" if row.n_regimes is None else str(row.n_regimes), f"{row.seconds:.1f}")
    console = Console()
    console.print(table)
    for row in rows:
        if not row.ok:
            console.print(f"[red]failed[/] {Path(row.path).name}: {row.reason}",
                          markup=True, highlight=False)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
