"""Simulate, analyse and summarise the default film (pure PbS CQD solid, <N_abs> = 0.045).

Writes DIR/stack.nc (the synthetic raw measurement), DIR/truth.json and DIR/analysis/ (the
report), and prints tamkit's numbers beside the simulator's truth. The first run also compiles
tamkit's numerical kernels (numba), which is cached for later runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamkit.cli.options import output_folder
from tamkit.core.outputs import atomic_output_dir, write_json

DEMO_FILM = "cqd"
DEMO_NABS = 0.045


def command(
    out: Annotated[Path, typer.Option(
        "--out", help="Output folder (created, with missing parents).")] = Path("tamkit-demo"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    from tamkit.cli.analyze import print_summary
    from tamkit.io import save_stack
    from tamkit.reporting.analysis_report import report
    from tamkit.sim.film import film_preset
    from tamkit.sim.scenario import simulate_measurement
    from tamkit.workflows.analysis import analyze

    console = Console(stderr=True)
    film = film_preset(DEMO_FILM)
    with output_folder(out, force), atomic_output_dir(out, force=force) as tmp:
        with console.status(f"simulating the {DEMO_FILM} film at <N_abs> = {DEMO_NABS}"):
            measurement = simulate_measurement(film, DEMO_NABS, seed=seed)
            save_stack(measurement.raw, tmp / "stack.nc")
            write_json(tmp / "truth.json", measurement.truth)
        with console.status("analysing the synthetic measurement"):
            analysis = analyze(tmp / "stack.nc", pitch_nm=film.pitch_nm)
            report(analysis.result, tmp / "analysis", stack=analysis.stack,
                   input_info={**analysis.input_info, "path": str(out / "stack.nc")})
    truth = measurement.truth
    band = truth.get("band_like") or {}
    print_summary(
        analysis.result,
        title=f"tamkit demo: {DEMO_FILM} film at <N_abs> = {DEMO_NABS} (simulated)",
        truth={
            "sigma_0": f"{truth['sigma0_nm']:.1f} nm",
            "band-like persistence tau": f"{band.get('tau_fs', float('nan')):.0f} fs",
            "band-like length": f"{band.get('length_nm', float('nan')):.0f} nm",
            "number of dots": f"{band.get('n_dots', float('nan')):.1f}",
            "D_max": f"{band.get('D_max_cm2_s', float('nan')):.0f} cm^2/s",
            "mobility (Einstein)": f"{band.get('mobility_cm2_Vs', float('nan')):.3g} cm^2/(V s)",
        },
    )
    Console().print(f"report: {out / 'analysis' / 'report.html'}")
