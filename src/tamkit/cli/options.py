"""The command-line commands, one module each; shared option types live here.

The options that every analysing command takes (pixel size, pitch, temperature, --force) are
declared once, with one check, so that their names, help and validation never drift apart.
"""

from __future__ import annotations

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


def analysis_options(
    pixel_size: float | None, pitch: float | None, temperature: float | None
) -> dict[str, float | None]:
    """Check the shared analysis options and return them under the API's names."""
    for flag, value in (("pixel-size", pixel_size), ("pitch", pitch),
                        ("temperature", temperature)):
        if value is not None and not value > 0:
            raise InputError(f"--{flag} must be a positive number, got {value}")
    return {"pixel_nm": pixel_size, "pitch_nm": pitch, "temperature_K": temperature}
