"""Reproduce the paper (Liu et al. 2021) end to end: simulate -> image -> analyse.

Simulates the pure CQD film at <N_abs> = 0.045, 0.09, 0.18 and the 40, 60,
90 vol% perovskite films at 0.045, preprocesses the raw camera frames and
analyses them with tamkit's pipeline, runs the fluence and composition
series, analyses simulated TA maps (bleach red-shift -> sigma_inh) and the
geometry model, then writes DIR/fig2a.png ... fig4d.png and
DIR/reproduce.json and prints the paper's table with tamkit's values
beside it (measured or model input) and the paper's trends. The default
run takes a few minutes on 2 cores; --quick is a test run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tamkit.cli.options import output_folder
from tamkit.core.errors import InputError


def command(
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (created, with missing parents; "
                           "see --force).")
    ] = Path("tamkit-reproduce"),
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer runs, delays and replicates (a test run).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bits).")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    max_regimes: Annotated[
        int | None,
        typer.Option("--max-regimes", help="Most MSD power-law regimes the transport fit may "
                     "use (BIC chooses); default: the analysis default."),
    ] = None,
) -> None:
    from tamkit.paper.reproduce import reproduce

    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if max_regimes is not None and not 1 <= max_regimes <= 6:
        raise InputError(f"--max-regimes must be between 1 and 6, got {max_regimes}")
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    # refuse an existing output before minutes of work (reproduce checks again when writing)
    with output_folder(out, force), Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("simulating + analysing", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=f"done: {label}")

        rep = reproduce(out, quick=quick, seed=seed, progress=progress, force=force,
                        max_regimes=max_regimes)
    print_report(rep, Console(width=None if Console().is_terminal else 160))


def _num(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}g}"


def _pm(v, err) -> str:
    return "-" if v is None else f"{_num(v)} ± {_num(err, 2)}"


def print_report(rep, console: Console) -> None:
    """The table (paper vs tamkit) and the trends, as rich tables."""
    table = Table(title="Liu et al. 2021 reproduced by tamkit", show_lines=False)
    for name, justify in [("quantity", "left"), ("unit", "left"), ("paper", "right"),
                          ("tamkit", "right"), ("± err", "right"), ("rel. diff", "right"),
                          ("source", "left"), ("truth", "right")]:
        table.add_column(name, justify=justify)
    for row in rep.table:
        rel = row["rel_diff"]
        rel_text = "-" if rel is None else f"{100 * rel:+.1f} %"
        if rel is not None and row["source"] in ("measured", "simulated"):
            rel_text = f"[{'green' if abs(rel) <= 0.15 else 'red'}]{rel_text}[/]"
        paper = row.get("paper_range")
        paper_text = _num(row["paper"]) if paper is None else f"{_num(paper[0])}-{_num(paper[1])}"
        table.add_row(row["quantity"], row["unit"], paper_text, _num(row["tamkit"]),
                      _num(row["tamkit_err"], 2), rel_text, row["source"], _num(row["truth"]))
    console.print(table)
    trends = Table(title="Trends")
    trends.add_column("trend")
    trends.add_column("holds")
    trends.add_column("detail")
    for t in rep.trends:
        trends.add_row(t["name"], "[green]yes[/]" if t["holds"] else "[red]no[/]", t["detail"])
    console.print(trends)
    comp = Table(title="Composition series (<N_abs> = 0.045) and bleach analysis")
    for name in ("vol%", "D_max (cm^2/s)", "length (nm)", "dots", "1/tau (1/ps)",
                 "sigma_inh (meV)", "truth sigma_inh"):
        comp.add_column(name, justify="right")
    truth = {m["perovskite_vol_percent"]: m["truth"]["sigma_inh_meV"] for m in rep.maps.values()}
    for row in rep.composition.table():
        sig, sig_err = rep.sigma_inh.get(row["value"], (None, None))
        comp.add_row(f"{row['value']:g}", _pm(row["D_max_cm2_s"], row["D_max_err_cm2_s"]),
                     _pm(row["length_nm"], row["length_err_nm"]), _num(row["n_dots"]),
                     _pm(row["inv_tau_per_ps"], row["inv_tau_err_per_ps"]), _pm(sig, sig_err),
                     _num(truth.get(row["value"])))
    console.print(comp)
    convention = next((m["bleach"]["convention"] for m in rep.maps.values() if m["bleach"]), "")
    console.print(f"sigma_inh convention: {convention}")
    console.print(f"wrote {len(rep.figures)} figure files, reproduce.json and reproduce.html to "
                  f"{rep.out_dir} "
                  f"in {rep.wall_s:.0f} s")
