"""Infer a film's microscopic parameters (posterior) from a fluence series.

INPUTS are stack files (analysed here), results.json files or analysis
folders of one film at several fluences; <N_abs> comes from each input
(stack attribute or the analysis' input block) or from --nabs. The early
MSD (< 1 ps) of every fluence is fitted with the band-like closed form
(OU velocity + localisation, spot-averaged, through the instrument
response and an emulator of the Gaussian-fit chain) and sampled with
emcee. Writes DIR/infer.json (schema tamkit.infer/1), DIR/infer.html and
DIR/figures/{corner,predictive}.png.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tamkit.cli.options import ForceOption
from tamkit.core.errors import InputError


def _floats(text: str | None, flag: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{flag} must be comma-separated numbers, got {text!r}") from None


def command(
    inputs: Annotated[list[Path], typer.Argument(help="Stacks, results.json files or analysis "
                                                      "folders (one per fluence).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (created; see --force).")],
    film: Annotated[str, typer.Option("--film", help="Base film: preset or TOML file.")] = "cqd",
    free: Annotated[str | None, typer.Option(
        "--free", help="Comma-separated Film fields to infer (default coupling_meV, tau_c0_fs, "
                       "scatter_per_nabs, kappa).")] = None,
    nabs: Annotated[str | None, typer.Option(
        "--nabs", help="Comma-separated <N_abs> of the inputs, in order.")] = None,
    ta: Annotated[Path | None, typer.Option(
        "--ta", help="spectro.json of the film's TA map: its sigma_inh becomes a prior.")] = None,
    window: Annotated[float, typer.Option("--window", help="End of the fitted window (fs), "
                                                           "100-3000: the band-like stage.")
                      ] = 1000.0,
    steps: Annotated[int, typer.Option("--steps", help="emcee steps per walker (a third are "
                                                       "burn-in).")] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Sampler seed.")] = 0,
    cache: Annotated[Path | None, typer.Option("--cache", help="Emulator cache folder.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler for emulator training (threads or an address).")
                         ] = None,
    force: ForceOption = False,
) -> None:
    import importlib.util

    for module in ("emcee", "corner"):
        if importlib.util.find_spec(module) is None:
            raise InputError(f"tamkit infer needs {module}: pip install 'tamkit[infer]'")
    from tamkit.infer import DEFAULT_FREE, infer_film
    from tamkit.infer.report import write_inference

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise InputError(f"output folder {out} already exists; use --force to replace it")
    if steps < 200:
        raise InputError(f"--steps must be at least 200, got {steps}")
    names = DEFAULT_FREE if free is None else [n for n in free.split(",")]
    values = _floats(nabs, "--nabs")
    start = time.perf_counter()
    result = infer_film([str(p) for p in inputs], film=film, free=names, nabs=values,
                        ta=ta, window_fs=window, n_steps=steps, burn=steps // 3, seed=seed,
                        cache=cache, scheduler=scheduler)
    write_inference(result, out, force=force)
    print(f"inferred {', '.join(result.free)} from {len(result.series)} measurement(s) in "
          f"{time.perf_counter() - start:.1f} s")
    converged = result.chain.convergence()["converged"]
    for name, v in result.parameters.items():
        flag = "determined" if v["determined"] else "at its prior"
        flag += "" if converged else " (chain not converged)"
        print(f"  {name:18s} {v['median']:.4g}  95 % [{v['ci95'][0]:.4g}, {v['ci95'][1]:.4g}]"
              f"  {flag}")
    print(f"wrote {out / 'infer.json'} and {out / 'infer.html'}")
    if not converged:
        Console(stderr=True).print(f"[yellow]warning:[/] {result.statements[0]}")
