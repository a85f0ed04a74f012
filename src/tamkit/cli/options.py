"""The command-line commands, one module each; shared option types live here.

The options that every analysing command takes (pixel size, pitch, temperature, --force,
--out, and --delays for several stacks) are declared once, with one check, so that their
names, help and validation never drift apart.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

import typer

from tamkit.core.errors import InputError

PixelSizeOption = Annotated[
    float | None, typer.Option("--pixel-size", help="Pixel size at the sample (nm).")
]
PitchOption = Annotated[
    float | None, typer.Option("--pitch", help="Dot-to-dot pitch (nm), for the number of dots.")
]
TemperatureOption = Annotated[
    float | None, typer.Option("--temperature", help="Temperature (K); default 300.")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing output.")]
SvgOption = Annotated[bool, typer.Option(
    "--svg", help="Also write each figure as SVG, with its text editable (a second draw).")]


def analysis_options(
    pixel_size: float | None, pitch: float | None, temperature: float | None
) -> dict[str, float | None]:
    """Check the shared analysis options and return them under the API's names."""
    from tamkit.core.stack import PIXEL_NM_RANGE  # here: it imports xarray, slow for --help

    for flag, value, (lo, hi), unit in (("pixel-size", pixel_size, PIXEL_NM_RANGE, "nm"),
                                        ("pitch", pitch, PITCH_NM_RANGE, "nm"),
                                        ("temperature", temperature, TEMPERATURE_K_RANGE, "K")):
        if value is not None and not value > 0:
            raise InputError(f"--{flag} must be a positive number, got {value}")
        if value is not None and not lo <= value <= hi:
            raise InputError(f"--{flag} {value:g} {unit} is outside the plausible "
                             f"{lo:g}-{hi:g} {unit}")
    return {"pixel_nm": pixel_size, "pitch_nm": pitch, "temperature_K": temperature}


#: plausible ranges of the dot pitch and lattice temperature (the pixel's: tamkit.core.stack)
PITCH_NM_RANGE = (1e-2, 1e6)
TEMPERATURE_K_RANGE = (1e-3, 1e4)


SIDECAR = "sidecar"
DELAYS_RULE = (
    "Delays (fs) of the stacks: a FILE (one column) for every stack, overriding the delays "
    "stored in the files, or the word 'sidecar': each stack's own delays file, found beside "
    "it by name, the first of <stem>.delays.csv, <stem>.delays.txt, <stem>_delays.csv, "
    "<stem>_delays.txt, delays.csv, delays.txt; a stack with none keeps the delays stored in "
    "its file."
)
StacksDelaysOption = Annotated[str | None, typer.Option("--delays", help=DELAYS_RULE)]


def stacks_delays(
    stacks: Sequence[os.PathLike | str], delays: str | None, *, read_sidecars: bool = True
) -> dict[str, Path | None]:
    """The delays file of each stack (by ``str(path)``) under the ``--delays`` rule.

    One delays FILE for all stacks is read now, so that a bad one is exit 2 before any work;
    so are the sidecars found, unless ``read_sidecars`` is false (a batch reads each with its
    stack, so that a bad one fails that stack only).
    """
    from tamkit.io import read_delays
    from tamkit.io.delays import sidecar_delays

    if delays is None:
        return {str(p): None for p in stacks}
    if delays.strip().lower() == SIDECAR and not Path(delays).is_file():
        found = {str(p): sidecar_delays(p) for p in stacks}
        if read_sidecars:
            for path in dict.fromkeys(f for f in found.values() if f is not None):
                read_delays(path)
        return found
    read_delays(delays)
    return {str(p): Path(delays) for p in stacks}


@contextlib.contextmanager
def output_folder(out: Path, force: bool, *, allow_existing: bool = False,
                  inputs: Sequence[os.PathLike | str] = ()) -> Iterator[Path]:
    """Check ``--out`` before any work and create its missing parents (removed again if the
    command fails before writing): an existing file is refused, and so is an existing
    non-empty folder without ``--force`` (or ``allow_existing``), and with ``--force`` a
    folder that holds the current folder or one of the ``inputs``."""
    from tamkit.core.outputs import check_output_path, output_parents

    check_output_path(out, force, allow_existing=allow_existing, inputs=inputs)
    with output_parents(out):
        yield out
