"""Analyse stacks as a series: one film at several fluences, or films of several compositions.

Fluence series: band-like D and length against <N_abs>, MSD overlaid, the time after which the
MSD grows alike at every fluence, the Auger-assisted excess and the Auger-depletion artefact.
Composition series: D_max, length, dots, tau and 1/tau against perovskite vol%, with sigma_inh.
Writes DIR/series.json, DIR/series.csv, DIR/figures/*.png and one analysis folder per stack.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from tamkit.cli.options import (
    ForceOption,
    PitchOption,
    PixelSizeOption,
    StacksDelaysOption,
    SvgOption,
    TemperatureOption,
    analysis_options,
    output_folder,
    stacks_delays,
)
from tamkit.core.errors import InputError
from tamkit.reporting.style import format_delay


class SeriesKind(StrEnum):
    fluence = "fluence"
    composition = "composition"


def _floats(text: str | None, n: int, name: str) -> list[float | None] | None:
    """Comma-separated numbers, one per stack; an empty entry (or ``none``) leaves that stack
    to its file's metadata. NaN and infinity are refused: a value that a script computed and
    lost must not silently become the file's."""
    if text is None:
        return None
    values: list[float | None] = []
    for i, entry in enumerate(text.split(",")):
        entry = entry.strip()
        if entry.lower() in ("", "none"):
            values.append(None)
            continue
        try:
            value = float(entry)
        except ValueError:
            raise InputError(f"{name} must be comma-separated numbers, got {text!r}") from None
        if not np.isfinite(value):
            raise InputError(f"{name} entry {i + 1} is {entry!r}: give a number, or leave the "
                             "entry empty to take the file's metadata")
        values.append(value)
    if len(values) != n:
        raise InputError(f"{name} gives {len(values)} values for {n} stacks")
    return values


def _value_from_attrs(stack, kind: SeriesKind, path: Path) -> float:
    key = "nabs" if kind is SeriesKind.fluence else "perovskite_fraction"
    value = stack.attrs.get(key)
    if value is None:
        flag = "--values" if kind is SeriesKind.fluence else "--values (vol%)"
        raise InputError(f"{path}: no '{key}' in the file's metadata; give {flag}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{path}: the metadata's '{key}' is not a number: {value!r}") from None
    value = value if kind is SeriesKind.fluence else 100.0 * value
    _check_value(value, kind, f"{path} (metadata '{key}')")
    return value


def _check_value(value: float, kind: SeriesKind, where: str) -> None:
    """A fluence <N_abs> must be > 0; a perovskite content in [0, 100) vol%."""
    if kind is SeriesKind.fluence:
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{where}: <N_abs> must be a positive number, got {value:g}")
    elif not (np.isfinite(value) and 0 <= value < 100):
        raise InputError(f"{where}: the perovskite content must be in [0, 100) vol%, "
                         f"got {value:g}")


def _unit_hints(values: list[float], kind: SeriesKind) -> list[str]:
    """Warnings for values that look given in the wrong unit (fractions for vol%)."""
    if kind is SeriesKind.composition and 0 < max(values) <= 1:
        shown = ", ".join(f"{v:g}" for v in values)
        percent = ", ".join(f"{100 * v:g}" for v in values)
        return [f"the perovskite contents ({shown} vol%) are all at most 1 vol%: if they are "
                f"fractions, give them in vol% ({percent})"]
    return []


def command(
    stacks: Annotated[list[Path], typer.Argument(help="Two or more stack files.")],
    by: Annotated[SeriesKind, typer.Option("--by", help="fluence or composition.")] = (
        SeriesKind.fluence),
    values: Annotated[str | None, typer.Option(
        "--values", help="<N_abs> > 0 (fluence) or perovskite vol% in [0, 100) (composition) "
        "per stack, comma-separated; default (or an empty entry) from each file's "
        "metadata.")] = None,
    sigma_inh: Annotated[str | None, typer.Option(
        "--sigma-inh", help="sigma_inh (meV) per stack, comma-separated (composition).")] = None,
    pump_sigma: Annotated[float | None, typer.Option(
        "--pump-sigma", help="Sigma (nm) of the pump spot, if known (fluence): the "
        "Auger-depletion estimate then treats the rest of sigma_0 as detection blur; without "
        "it the estimate is an upper bound.")] = None,
    delays: StacksDelaysOption = None,
    pixel_size: PixelSizeOption = None,
    pitch: PitchOption = None,
    temperature: TemperatureOption = None,
    out: Annotated[Path, typer.Option(
        "--out", help="Output folder (created, with missing parents).")] = Path("tamkit-series"),
    force: ForceOption = False,
    svg: SvgOption = False,
) -> None:
    options = analysis_options(pixel_size, pitch, temperature)
    if pump_sigma is not None and not (np.isfinite(pump_sigma) and pump_sigma > 0):
        raise InputError(f"--pump-sigma must be a positive number of nm, got {pump_sigma}")
    if pump_sigma is not None and by is not SeriesKind.fluence:
        raise InputError("--pump-sigma refines the Auger-depletion estimate of a fluence series; "
                         "it has no use with --by composition")
    if len(stacks) < 2:
        raise InputError("a series needs at least two stacks")
    if len({p.resolve() for p in stacks}) != len(stacks):
        raise InputError("the same stack is given twice; a series needs distinct stacks")
    given = _floats(values, len(stacks), "--values")
    for i, value in enumerate(given or []):
        if value is not None:
            _check_value(value, by, f"--values (stack {i + 1}, {stacks[i].name})")
    if given and None not in given:
        from tamkit.series.trends import check_distinct_values

        check_distinct_values(given, "<N_abs>" if by is SeriesKind.fluence else
                              "perovskite content")  # before minutes of fitting
    sig = _floats(sigma_inh, len(stacks), "--sigma-inh")
    for i, value in enumerate(sig or []):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise InputError(f"--sigma-inh (stack {i + 1}, {stacks[i].name}) must be a positive "
                             f"number of meV, got {value:g}")
    per_stack = stacks_delays(stacks, delays)
    inputs = [*stacks, *filter(None, per_stack.values())]
    with output_folder(out, force, inputs=inputs):
        _run(stacks, by, given, sig, pump_sigma, per_stack, options, out, force, svg)


def _run(stacks: list[Path], by: SeriesKind, given, sig, pump_sigma, delays: dict,
         options: dict, out: Path, force: bool, svg: bool = False) -> None:
    from tamkit.core.outputs import atomic_output_dir, run_folder_names, write_json
    from tamkit.core.tables import write_csv
    from tamkit.io import load
    from tamkit.reporting.analysis_report import report
    from tamkit.reporting.index_page import write_index
    from tamkit.reporting.series_plots import save_figures, series_figures
    from tamkit.series.trends import composition_series, fluence_series
    from tamkit.workflows.analysis import analyze

    console = Console(stderr=True)
    # every stack's value is checked (metadata included) before minutes of fitting
    loaded = [load(p, delays=delays[str(p)], pixel_nm=options["pixel_nm"]) for p in stacks]
    vals = [g if g is not None else _value_from_attrs(stack, by, p)
            for g, stack, p in zip(given or [None] * len(stacks), loaded, stacks, strict=True)]
    notes = _unit_hints(vals, by)
    for note in notes:
        console.print(f"warning: {note}")
    analyses = []
    with Progress(console=console, transient=True,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task("analysing stacks", total=len(stacks))
        for path, stack in zip(stacks, loaded, strict=True):
            try:
                analyses.append(analyze(path, stack=stack, delays=delays[str(path)], **options))
            except InputError as exc:  # which of the stacks could not be analysed
                raise InputError(f"{path}: {exc}") from None
            progress.advance(task)
    results = [a.result for a in analyses]
    if by is SeriesKind.fluence:
        series = fluence_series(results, vals, stacks=[a.stack for a in analyses],
                                carrier_sigma_nm=pump_sigma)
    else:
        series = composition_series(results, vals, sig)
    summary = series.to_dict()
    summary["inputs"] = [str(p) for p in stacks]
    summary["warnings"] = notes
    names = run_folder_names(stacks)  # a/stack.nc, b/stack.nc: a_stack/, b_stack/
    with atomic_output_dir(out, force=force) as tmp:
        write_json(tmp / "series.json", summary)
        write_csv(tmp / "series.csv", list(summary["members"][0]), summary["members"])
        figures = save_figures(series_figures(series), tmp / "figures", vector=svg)
        for path, analysis in zip(stacks, analyses, strict=True):
            report(analysis.result, tmp / names[str(path)], stack=analysis.stack,
                   input_info=analysis.input_info)
        rows = [{**row, "path": str(p), "status": "ok",
                 "sigma0_nm": a.result.sigma0_nm, "sigma0_err_nm": a.result.sigma0_err_nm}
                for row, p, a in zip(summary["members"], stacks, analyses, strict=True)]
        write_index(tmp, f"tamkit series ({summary['kind']})", rows,
                    report_dirs=[names[str(p)] for p in stacks], figures=figures,
                    data_files=[("series.json", "the series and its trends"),
                                ("series.csv", "one row per stack")],
                    warnings=[*notes, *(f"{p.name}: {w}"
                                        for p, a in zip(stacks, analyses, strict=True)
                                        for w in a.result.warnings)],
                    blocks={"series": {k: v for k, v in summary.items()
                                       if k not in ("members", "depletion", "inputs")}})
    _print(summary)
    Console().print(f"series results in {out}/")


def _print(summary: dict) -> None:
    table = Table(title=f"tamkit series ({summary['kind']})")
    for col in ("value", "D_max (cm²/s)", "length (nm)", "τ (fs)", "band-like"):
        table.add_column(col)
    for row in summary["members"]:
        def fmt(v, e=None):
            if v is None:
                return "-"
            return f"{v:.3g}" + (f" ± {e:.2g}" if e is not None else "")
        table.add_row(f"{row['value']:g}", fmt(row["D_max_cm2_s"], row["D_max_err_cm2_s"]),
                      fmt(row["length_nm"], row["length_err_nm"]),
                      fmt(row["tau_fs"], row["tau_err_fs"]), "yes" if row["band_like"] else "no")
    Console().print(table)
    if summary["kind"] == "fluence":
        t = summary["independence_time_fs"]
        Console().print("MSD grows alike at every fluence (within the data's resolution) "
                        "after: " + (format_delay(t) if t else "not within the data"))
        ex = summary["auger_excess"]
        if ex.get("excess_msd_nm2") is not None:
            Console().print(f"Auger-assisted excess MSD (highest - lowest fluence): "
                            f"{ex['excess_msd_nm2']:.0f} ± {ex['excess_msd_err_nm2']:.0f} nm²")
        for dep in summary["depletion"]:
            delay = np.asarray(dep["delay_fs"], float)
            before = np.flatnonzero((delay > 0) & (delay <= 1e5))
            if before.size:
                i = before[-1]
                Console().print(
                    f"Auger-depletion artefact at ⟨N_abs⟩ = {dep['nabs']:g}, "
                    f"{format_delay(delay[i])}: "
                    f"{dep['apparent_msd_nm2'][i]:.0f} ± {dep['apparent_msd_err_nm2'][i]:.0f} "
                    f"nm² ({dep['model']} law of the spot integral)")
    else:
        peak = summary["volcano_maximum_vol_percent"]
        Console().print(f"longest band-like length at: {peak} vol%")
