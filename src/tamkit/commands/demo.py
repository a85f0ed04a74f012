"""Simulate, analyse and summarise the default film in well under a minute.

Writes DIR/stack.nc (the synthetic measurement), DIR/truth.json and DIR/analysis/ (the report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamkit.outputs import atomic_output_dir, write_json


def command(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("tamkit-demo"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    from tamkit.artificial import BandLikeTruth, spreading_gaussian_stack
    from tamkit.commands.analyze import print_summary
    from tamkit.io import save_stack
    from tamkit.pipeline import analyze_file
    from tamkit.report import report

    console = Console(stderr=True)
    truth_model = BandLikeTruth()
    with atomic_output_dir(out, force=force) as tmp:
        with console.status("making a synthetic stack (artificial spreading Gaussian)"):
            stack, truth = spreading_gaussian_stack(seed=seed, attrs={"pitch_nm": 3.0})
            save_stack(stack, tmp / "stack.nc")
            write_json(tmp / "truth.json", {**truth.to_dict(), "band_like": {
                "tau_fs": truth_model.tau_fs, "D_max_cm2_s": truth_model.D_max_cm2_s,
                "length_nm": truth_model.length_nm}})
        with console.status("analysing"):
            analysis = analyze_file(tmp / "stack.nc")
            report(analysis.result, tmp / "analysis", stack=analysis.stack,
                   input_info={**analysis.input_info, "path": str(out / "stack.nc")})
    print_summary(analysis.result, title="tamkit demo: artificial band-like film", truth={
        "sigma_0": f"{truth.sigma0_nm:.1f} nm",
        "band-like persistence tau": f"{truth_model.tau_fs:.0f} fs",
        "band-like length": f"{truth_model.length_nm:.0f} nm",
        "D_max": f"{truth_model.D_max_cm2_s:.0f} cm^2/s",
    })
    Console().print(f"report: {out / 'analysis' / 'report.html'}")
