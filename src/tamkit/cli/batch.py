"""Analyse many stacks on Dask (a local cluster, threads, or a scheduler address).

Writes DIR/<stem>/ per stack (as tamkit analyze does), each as soon as that stack is done (a
killed batch keeps every completed stack), and DIR/summary.csv + DIR/summary.json, one row per
stack. --resume continues a batch in DIR: stacks already analysed there from the same file
(sha256) with the same options are skipped, the others analysed, and the summary rebuilt from
both. A stack whose analysis fails never stops the others: exit 0 when all succeeded, 0 with a
warning when some failed, 2 when all failed. Paths that do not exist (and a bad --delays) are
refused before any work, with exit 2: a typo should not cost a campaign's first hour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tamkit.cli.options import (
    PitchOption,
    PixelSizeOption,
    StacksDelaysOption,
    TemperatureOption,
    analysis_options,
    stacks_delays,
)
from tamkit.core.errors import InputError


def command(
    paths: Annotated[
        list[str], typer.Argument(help="Stack files or glob patterns (quote them: 'data/*.nc').")
    ],
    out: Annotated[Path, typer.Option(
        "--out", help="Output folder for all stacks (created, with missing parents).")],
    scheduler: Annotated[
        str, typer.Option("--scheduler", help="local, threads, or tcp://host:port.")
    ] = "local",
    workers: Annotated[
        int | None, typer.Option("--workers", help="Workers (local) or threads; default: cores.")
    ] = None,
    delays: StacksDelaysOption = None,
    pixel_size: PixelSizeOption = None,
    pitch: PitchOption = None,
    temperature: TemperatureOption = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue a batch in --out: skip the stacks already analysed there "
        "from the same file with the same options; rebuild the summary.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an existing output folder (its contents are removed first).")
    ] = False,
) -> None:
    from tamkit.workflows.batch import check_scheduler, expand_paths
    from tamkit.workflows.batch_run import run_batch

    options = analysis_options(pixel_size, pitch, temperature)
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    check_scheduler(scheduler)
    files = expand_paths(paths)
    # one delays file for all is read now (exit 2 before any work); a stack's own sidecar is
    # read with its stack, so that a bad one fails that stack only
    per_stack = stacks_delays(files, delays, read_sidecars=False)
    err = Console(stderr=True)

    def plan(todo: list[str], skipped: list[str]) -> None:
        if skipped:
            err.print(f"resuming: {len(skipped)} of {len(files)} stacks already analysed with "
                      f"the same input and options; analysing {len(todo)}", highlight=False,
                      soft_wrap=True)

    with Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=err,
                  transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def planned(todo: list[str], skipped: list[str]) -> None:
            bar.update(task, total=len(todo))
            plan(todo, skipped)

        def done(row) -> None:
            bar.update(task, advance=1, description=f"{Path(row.path).name}: {row.status}")

        run = run_batch(files, out, resume=resume, force=force, on_plan=planned, on_done=done,
                        scheduler=scheduler, n_workers=workers, delays=per_stack, **options)
    rows = run.rows
    print_batch_summary(rows, title=f"tamkit batch: {len(rows)} stacks"
                        + (f" ({len(run.skipped)} from an earlier run)" if run.skipped else ""))
    Console().print(f"results in {out}/")
    n_failed = run.n_failed
    if n_failed == len(rows):
        raise InputError(f"all {n_failed} stacks failed; the reasons are in {out}/summary.csv")
    if n_failed:
        err.print(f"[yellow]warning:[/] {n_failed} of {len(rows)} stacks failed; "
                  f"see {out}/summary.csv")


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
