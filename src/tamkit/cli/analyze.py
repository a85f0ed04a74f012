"""Analyse a TAM stack: per-frame Gaussian fits, MSD, D(t), regimes and band-like metrics.

Writes DIR/results.json, DIR/frames.csv, DIR/figures/*.png and DIR/report.html.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tamkit.cli.options import (
    ForceOption,
    PitchOption,
    PixelSizeOption,
    SvgOption,
    TemperatureOption,
    analysis_options,
    output_folder,
)


def command(
    stack: Annotated[Path, typer.Argument(help="Stack file: .tif/.tiff, .nc/.h5, .npy or .npz.")],
    delays: Annotated[
        Path | None, typer.Option("--delays", help="One column of delays in fs.")
    ] = None,
    pixel_size: PixelSizeOption = None,
    pitch: PitchOption = None,
    temperature: TemperatureOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: STACK_analysis); "
                                  "missing parent folders are created.")
    ] = None,
    force: ForceOption = False,
    method: Annotated[
        str, typer.Option("--method", help="per-frame, global (one spatiotemporal fit of all "
                          "pixels and delays) or both (default; the top level keeps per-frame).")
    ] = "both",
    svg: SvgOption = False,
) -> None:
    from tamkit.reporting.analysis_report import report
    from tamkit.workflows.analysis import analyze

    options = analysis_options(pixel_size, pitch, temperature)
    if out is None:
        out = stack.with_name(stack.stem + "_analysis")
    console = Console(stderr=True)
    inputs = [stack] + ([delays] if delays else [])
    with output_folder(out, force, inputs=inputs), console.status(f"analysing {stack.name}"):
        analysis = analyze(stack, delays=delays, method=method, **options)
        report(analysis.result, out, stack=analysis.stack, input_info=analysis.input_info,
               force=force, vector=svg)
    print_summary(analysis.result, title=f"tamkit analyze {stack.name}")
    Console().print(f"results in {out}/")
    for warning in analysis.result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


def print_summary(result, title: str, truth: dict | None = None) -> None:
    """Print the headline numbers as a table (with a truth column when given)."""
    from tamkit.reporting.analysis_report import summary_rows

    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("tamkit")
    if truth:
        table.add_column("truth")
    for label, text in summary_rows(result):
        cells = [label, text] + ([str(truth.get(label, ""))] if truth else [])
        table.add_row(*cells)
    Console().print(table)
