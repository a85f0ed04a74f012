"""Simulate a TAM measurement of a quantum-dot film, with its truth.

Runs the carrier dynamics (band-like, hot-carrier/Auger, thermal
hopping) across the pump spot, images it through the paper's microscope
(PSF, 55.6 nm pixels, 13 fs response, EMCCD noise, 30 Hz chopping) and
writes DIR/stack.nc (or .tif), raw pump-on/off camera frames with delays
and pixel size inside, ready for `tamkit analyze DIR/stack.nc`, and
DIR/truth.json: every parameter, the true MSD(t), D(t), survival,
energies, band-like metrics and the apparent broadening that Auger
depletion alone would cause.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tamkit.cli.options import output_folder
from tamkit.core.errors import InputError

#: Largest runs x spots accepted: memory grows as 0.5 MB per (run, spot) for default frames.
MAX_RUN_SPOTS = 1000
FORMATS = ("nc", "tif")
#: Marks a temporary output folder with its writer (host and pid) while simulate writes it.
OWNER_FILE = ".tamkit-simulate-owner"


def command(
    out: Annotated[Path, typer.Option(
        "--out", help="Output folder (created, with missing parents; see --force).")],
    film: Annotated[
        str, typer.Option("--film", help="Preset (cqd, qdip40, qdip60, qdip90) or a TOML file.")
    ] = "cqd",
    nabs: Annotated[
        float, typer.Option("--nabs", help="<N_abs> at the spot centre (photons per dot), (0, 8].")
    ] = 0.045,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bits).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="Stack file format: nc or tif.")] = "nc",
    runs: Annotated[int, typer.Option("--runs", help="Runs per spot (the paper: 50).")] = 10,
    spots: Annotated[int, typer.Option("--spots", help="Spots (the paper: at least 5).")] = 5,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    from tamkit.core.outputs import atomic_output_dir, write_json
    from tamkit.io import save_stack
    from tamkit.sim.film import load_film
    from tamkit.sim.scenario import check_nabs, simulate_measurement

    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if runs < 1 or spots < 1 or runs * spots > MAX_RUN_SPOTS:
        raise InputError(
            f"--runs and --spots must be >= 1 with runs x spots <= {MAX_RUN_SPOTS}, "
            f"got {runs} and {spots}"
        )
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    nabs = check_nabs(nabs)
    the_film = load_film(film)
    console = Console(stderr=True)
    start = time.perf_counter()
    with output_folder(out, force), atomic_output_dir(out, force=force) as tmp:
        _clear_stale_partials(out, keep=tmp)
        _mark_owner(tmp)
        columns = (TextColumn("{task.description:<9}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("carriers", total=1.0)
            measurement = simulate_measurement(
                the_film, nabs, seed=seed, n_runs=runs, n_spots=spots,
                progress=lambda f, stage: bar.update(task, completed=f, description=stage),
            )
            bar.update(task, description="writing")
            stack_path = save_stack(measurement.raw, tmp / f"stack.{fmt}")
            truth = {**measurement.truth, "wall_time_s": time.perf_counter() - start}
            write_json(tmp / "truth.json", truth)
        (tmp / OWNER_FILE).unlink()
    _print_summary(truth, out / stack_path.name, time.perf_counter() - start)


def _owner() -> str:
    import os
    import socket

    return f"{socket.gethostname()} {os.getpid()}"


def _mark_owner(tmp: Path) -> None:
    """Record in the temporary output folder which process writes it (host and pid), so that
    a later run can tell a folder left by a killed run from one still being written."""
    (tmp / OWNER_FILE).write_text(_owner() + "\n")


def _process_gone(owner: str) -> bool:
    """Whether the process ``"host pid"`` is gone: only decidable for this host; a pid that
    is alive (even reused by another program) counts as not gone."""
    import os
    import socket

    host, _, pid = owner.strip().rpartition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _clear_stale_partials(out: Path, keep: Path) -> None:
    """Remove the hidden ``.NAME.partial-*`` folders that killed simulate runs of the same
    ``--out`` left beside it. Only folders marked by simulate (:data:`OWNER_FILE`) whose
    process is gone are removed: another command's, or a running one's, are left alone."""
    import shutil

    parent = out.absolute().parent
    prefix = f".{out.name}.partial-"
    for folder in parent.iterdir():
        if not folder.name.startswith(prefix) or folder == keep or not folder.is_dir():
            continue
        try:
            owner = (folder / OWNER_FILE).read_text()
        except OSError:
            continue
        if _process_gone(owner):
            shutil.rmtree(folder, ignore_errors=True)


def _print_summary(truth: dict, stack_path: Path, wall_s: float) -> None:
    console = Console()
    params = truth["parameters"]
    console.print(f"simulated {params['film']['name']} at <N_abs> = {params['nabs']:g} "
                  f"(seed {params['seed']}) in {wall_s:.1f} s")
    console.print(f"  sigma_0 (fit of t = 0 image): {truth['sigma0_nm']:.1f} nm")
    band = truth["band_like"]
    if band:
        console.print(f"  band-like: D_max {band['D_max_cm2_s']:.0f} cm^2/s at "
                      f"{band['tau_fs']:.0f} fs, length {band['length_nm']:.0f} nm "
                      f"({band['n_dots']:.0f} dots)")
    else:
        console.print("  band-like: none")
    precision = truth["precision"]
    console.print(f"  precision: centre {precision['centre_per_run_nm']:.1f} nm per run, "
                  f"sigma {precision['sigma_averaged_nm']:.2f} nm averaged")
    msd, auger = truth["msd_nm2"][-1], truth["auger_apparent_msd_nm2"][-1]
    console.print(f"  at {truth['delay_fs'][-1]:.3g} fs: true MSD {msd:.0f} nm^2, "
                  f"Auger-depletion artefact {auger:.0f} nm^2")
    console.print(f"wrote {stack_path} and {stack_path.with_name('truth.json')}")
