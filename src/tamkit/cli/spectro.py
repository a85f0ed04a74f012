"""Analyse a transient-absorption map (delay x wavelength).

Global fit with IRF and chirp, decay-associated spectra, SVD, bleach-peak shift and sigma_inh,
and an injection test.

MAP is a CSV/TSV matrix (any suffix, e.g. KiMoPack .SIA), Glotaran ASCII, .npz/.npy or NetCDF
file, recognised by its content. NaN pixels and dead detector columns are masked (with a note).
Windows: --wl-range NM:NM and --delay-range PS:PS keep only that part of the map; --exclude NM:NM
(repeatable) removes a band, e.g. pump scatter. Lifetimes the data do not determine (faster than
the IRF, beyond the delay window, a degenerate pair, relative error above 50 %) are reported with
their status and bound; lifetimes that move by more than their statistical error when the
background subtraction or the chirp order (+-1) is changed carry that systematic beside it.

Writes DIR/spectro.json, DIR/das.csv, DIR/figures/*.png and DIR/spectro.html.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from tamkit.cli.options import SvgOption, analysis_options, output_folder
from tamkit.core.errors import InputError


def parse_band(text: str | None, name: str) -> tuple[float, float] | None:
    """Parse ``"NM:NM"`` into an increasing pair of wavelengths (nm); None passes through."""
    if text is None:
        return None
    parts = text.split(":")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"{name} must be two wavelengths in nm as NM:NM, got {text!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise InputError(f"{name} must be two finite wavelengths in nm, got {text!r}")
    if not (lo > 0 and hi > 0) or lo == hi:
        raise InputError(f"{name} must be two different positive wavelengths (nm), got {text!r}")
    return (min(lo, hi), max(lo, hi))


def parse_delay_range(text: str | None) -> tuple[float, float] | None:
    """Parse ``"PS:PS"`` into an increasing pair of delays in fs; None passes through."""
    if text is None:
        return None
    try:
        lo, hi = (float(p) for p in text.split(":"))
    except ValueError:
        raise InputError(f"--delay-range must be two delays in ps as PS:PS, got {text!r}") from None
    if lo == hi or not (np.isfinite(lo) and np.isfinite(hi)):
        raise InputError(f"--delay-range must be two different delays (ps), got {text!r}")
    return (min(lo, hi) * 1e3, max(lo, hi) * 1e3)


def command(
    map_file: Annotated[Path, typer.Argument(metavar="MAP", help="TA map file.")],
    components: Annotated[
        int | None, typer.Option("--components", help="Exponential components (default: chosen "
                                 "by fit statistics).")
    ] = None,
    bleach: Annotated[
        str | None, typer.Option("--bleach", help="Bleach band NM:NM for the peak shift.")
    ] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Temperature (K) for sigma_inh.")
    ] = 300.0,
    convention: Annotated[
        str, typer.Option("--convention", help="sigma_inh convention: paper (Delta E = "
                          "-sigma^2/2kT) or gaussian_dos (-sigma^2/kT).")
    ] = "paper",
    donor: Annotated[
        str | None, typer.Option("--donor", help="Injection donor band NM:NM (decays).")
    ] = None,
    acceptor: Annotated[
        str | None, typer.Option("--acceptor", help="Injection acceptor band NM:NM (rises).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Band NM:NM that should not rise.")
    ] = None,
    delay_unit: Annotated[
        str | None, typer.Option("--delay-unit", help=(
            "Delay unit in text/NumPy files: fs, ps, ns, us (default: the unit a text matrix's "
            "corner label names, e.g. 'Time in fs', else ps)."))
    ] = None,
    delay_offset: Annotated[
        float, typer.Option("--delay-offset", help=(
            "Subtracted from the delays, in the delay unit (fs for a NetCDF map unless "
            "--delay-unit names another)."))
    ] = 0.0,
    orientation: Annotated[
        str, typer.Option("--orientation", help="Text/NumPy matrix layout: auto, delay_rows "
                          "(delays down the first column, wavelengths along the first row) or "
                          "wavelength_rows.")
    ] = "auto",
    chirp_order: Annotated[
        int, typer.Option("--chirp-order", help="Degree of the chirp polynomial.")
    ] = 3,
    artifact: Annotated[
        int | None, typer.Option("--artifact", help="Model a coherent artifact: IRF Gaussian and "
                                 "derivatives up to this order (0-2).")
    ] = None,
    irf: Annotated[
        float, typer.Option("--irf", help="Starting IRF FWHM (fs).")
    ] = 100.0,
    wl_range: Annotated[
        str | None, typer.Option("--wl-range", help="Analyse only wavelengths NM:NM.")
    ] = None,
    delay_range: Annotated[
        str | None, typer.Option("--delay-range", help="Analyse only delays PS:PS (ps, after "
                                 "--delay-offset; negative allowed).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Remove the wavelength band NM:NM "
                                       "(e.g. pump scatter); repeatable.")
    ] = None,
    background: Annotated[
        bool, typer.Option("--background/--no-background", help="Subtract the mean spectrum "
                           "before time zero (default) or not.")
    ] = True,
    systematics: Annotated[
        bool, typer.Option("--systematics/--no-systematics", help="Refit with the other "
                           "background choice and chirp order +-1; report the shifts.")
    ] = True,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: MAP_spectro).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    svg: SvgOption = False,
) -> None:
    from tamkit.core.tamap import delay_factor_fs
    from tamkit.reporting.spectro_report import spectro_report, summary_rows
    from tamkit.spectro._threads import single_blas_thread
    from tamkit.spectro.analysis import analyze_tamap
    from tamkit.spectro.bleach import CONVENTIONS
    from tamkit.spectro.checks import check_injection_bands
    from tamkit.spectro.loading import load_tamap

    if convention not in CONVENTIONS:
        raise InputError(f"--convention must be one of {', '.join(CONVENTIONS)}, got {convention}")
    # the plausible range that `tamkit analyze` enforces, from the same check
    analysis_options(None, None, temperature)
    if not (np.isfinite(irf) and irf > 0):
        raise InputError(f"--irf must be a positive, finite FWHM in fs, got {irf}")
    if delay_unit is not None:
        delay_factor_fs(delay_unit)  # an unknown (or empty) unit, before any output is made
    if not np.isfinite(delay_offset):
        raise InputError(f"--delay-offset must be a finite number, got {delay_offset}")
    if artifact is not None and artifact not in (0, 1, 2):
        raise InputError(f"--artifact must be 0, 1 or 2, got {artifact}")
    if not 0 <= chirp_order <= 6:
        raise InputError(f"--chirp-order must be between 0 and 6, got {chirp_order}")
    bands = {name: parse_band(text, f"--{name}") for name, text in
             (("bleach", bleach), ("donor", donor), ("acceptor", acceptor),
              ("reference", reference))}
    window_nm = parse_band(wl_range, "--wl-range")
    window_fs = parse_delay_range(delay_range)
    excluded = [parse_band(text, "--exclude") for text in (exclude or [])]
    if bands["donor"] is not None and bands["acceptor"] is not None:
        check_injection_bands(bands["donor"], bands["acceptor"])
    if out is None:
        out = map_file.with_name(map_file.stem + "_spectro")
    console = Console(stderr=True)
    # one BLAS thread: the linear algebra is small, and threads spin on a shared machine
    with output_folder(out, force, inputs=[map_file]), \
            console.status(f"analysing {map_file.name}"), single_blas_thread():
        tamap = load_tamap(map_file, delay_unit=delay_unit, delay_offset=delay_offset,
                           orientation=orientation)
        analysis = analyze_tamap(
            tamap, components, bleach_nm=bands["bleach"], temperature_K=temperature,
            convention=convention, donor_nm=bands["donor"], acceptor_nm=bands["acceptor"],
            reference_nm=bands["reference"], chirp_order=chirp_order, irf_fwhm_fs=irf,
            artifact_order=artifact, background=background, wavelength_nm=window_nm,
            delay_fs=window_fs, exclude_nm=excluded, systematics=systematics,
        )
        from tamkit.io._common import sha256_of

        info = {"path": str(map_file), "sha256": sha256_of(map_file),
                "delay_unit": delay_unit, "delay_offset": delay_offset,
                "n_delays": int(tamap.sizes["delay"]),
                "n_wavelengths": int(tamap.sizes["wavelength"]),
                "delay_range_fs": [float(tamap["delay"].min()), float(tamap["delay"].max())],
                "wavelength_range_nm": [float(tamap["wavelength"].min()),
                                        float(tamap["wavelength"].max())]}
        data = spectro_report(analysis, out, input_info=info, force=force, vector=svg)
    term = Console()
    for label, text in summary_rows(data):
        term.print(f"{label:>36}: {text}")
    for note in data["notes"]:
        console.print(f"[yellow]note:[/] {note}")
    term.print(f"results in {out}/")
