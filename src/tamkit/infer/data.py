"""The measurements an inference reads: stacks, ``results.json`` files or analysis folders.

Each becomes a :class:`Measured` record: the early per-frame MSD with its errors, sigma_0 with
its error (common to every frame: MSD = sigma_t^2 - sigma_0^2), and <N_abs> (from the stack's
attributes, the analysis' ``input`` block, or the caller).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tamkit.core.errors import InputError


@dataclass(frozen=True)
class Measured:
    """One measurement's early MSD.

    Attributes
    ----------
    source : str
        Path (or label) of the input.
    nabs : float
        Peak <N_abs> (photons absorbed per dot).
    delay_fs, msd_nm2, msd_err_nm2 : ndarray
        Frames with status ``ok`` inside the window (fs, nm^2, nm^2).
    sigma0_nm, sigma0_err_nm : float
        The analysis' sigma_0 and its error (nm).
    pitch_nm : float or None
        The dot pitch the analysis used, if any.
    all_delay_fs, all_msd_nm2, all_msd_err_nm2 : ndarray
        Every ``ok`` frame after t = 0 (for the posterior-predictive figures).
    """

    source: str
    nabs: float
    delay_fs: np.ndarray
    msd_nm2: np.ndarray
    msd_err_nm2: np.ndarray
    sigma0_nm: float
    sigma0_err_nm: float
    pitch_nm: float | None = None
    all_delay_fs: np.ndarray = field(default_factory=lambda: np.empty(0))
    all_msd_nm2: np.ndarray = field(default_factory=lambda: np.empty(0))
    all_msd_err_nm2: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def offset_sd_nm2(self) -> float:
        """SD of the MSD offset common to all frames, 2 sigma_0 sd(sigma_0) (nm^2)."""
        return 2.0 * self.sigma0_nm * self.sigma0_err_nm


def from_frames(source: str, nabs: float, frames, sigma0_nm: float, sigma0_err_nm: float,
                window_fs: float, pitch_nm: float | None = None) -> Measured:
    """A :class:`Measured` from a per-frame table (an ``xarray.Dataset`` over ``delay``)."""
    t = np.asarray(frames["delay"].values, dtype=float)
    msd = np.asarray(frames["msd_nm2"].values, dtype=float)
    err = np.asarray(frames["msd_err_nm2"].values, dtype=float)
    status = np.asarray(frames["status"].values).astype(str)
    ok = (status == "ok") & (t > 0) & np.isfinite(msd) & np.isfinite(err) & (err > 0)
    early = ok & (t <= window_fs)
    if early.sum() < 5:
        raise InputError(f"{source}: fewer than 5 usable frames before {window_fs:g} fs "
                         f"({int(early.sum())}); the band-like stage cannot be fitted")
    if not (math.isfinite(sigma0_nm) and math.isfinite(sigma0_err_nm)):
        raise InputError(f"{source}: the analysis has no sigma_0 with an error")
    return Measured(source, float(nabs), t[early], msd[early], err[early], float(sigma0_nm),
                    float(sigma0_err_nm), pitch_nm, t[ok], msd[ok], err[ok])


def _nabs(value, source: str) -> float:
    try:
        n = float(value)
    except (TypeError, ValueError):
        n = float("nan")
    if not (math.isfinite(n) and 0 < n <= 8):
        raise InputError(f"{source}: <N_abs> unknown or out of (0, 8] ({value!r}); "
                         "give it with --nabs")
    return n


def load_measured(path: str | os.PathLike, nabs: float | None = None,
                  window_fs: float = 1000.0) -> Measured:
    """Read one input: a stack file (analysed here), a ``results.json`` or a folder holding one.

    <N_abs> comes from ``nabs`` when given, else from the stack's ``nabs`` attribute or the
    analysis' ``input.nabs``.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"input {p} does not exist")
    if p.is_dir():
        if not (p / "results.json").is_file():
            raise InputError(f"folder {p} holds no results.json (not an analysis folder)")
        p = p / "results.json"
    if p.suffix.lower() == ".json":
        from tamkit.io.results import AnalysisResults, read_results

        try:
            res = read_results(p)
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"{p} is not a tamkit results.json ({exc})") from None
        if not isinstance(res, AnalysisResults):
            raise InputError(f"{p} is not a TAM analysis (results.json), got {res.schema}")
        n = _nabs(nabs if nabs is not None else res.input.get("nabs"), str(p))
        return from_frames(str(p), n, res.frames, res.sigma0_nm, res.sigma0_err_nm, window_fs,
                           res.parameters.pitch_nm)
    from tamkit.io import load
    from tamkit.workflows.analysis import analyze

    stack = load(p)
    n = _nabs(nabs if nabs is not None else stack.attrs.get("nabs"), str(p))
    # the per-frame analysis is all the inference reads (MSD table, sigma_0): the global fit
    # of the default method "both" would only add its own block, at twice the time
    result = analyze(p, stack=stack, n_bootstrap=100, method="per-frame").result
    return from_frames(str(p), n, result.frames, result.sigma0_nm, result.sigma0_err_nm,
                       window_fs, result.parameters.pitch_nm)


def _input_file(path: str | os.PathLike) -> Path:
    """The file an input stands for: its ``results.json`` for an analysis folder."""
    p = Path(path)
    return p / "results.json" if p.is_dir() else p


def check_distinct(paths: Sequence[str | os.PathLike]) -> None:
    """Raise :class:`InputError` if two inputs are the same measurement: the same file (after
    resolving links and analysis folders) or files of the same bytes (SHA-256). Each input
    counts as one fluence; a repeat would count its evidence twice."""
    from tamkit.io._common import sha256_of

    seen: dict[str, str] = {}
    for path in paths:
        f = _input_file(path)
        if not f.is_file():
            continue  # load_measured says what is wrong with it
        for key in (f"path:{f.resolve()}", f"sha256:{sha256_of(f)}"):
            if key in seen:
                how = "is" if key.startswith("path:") else "has the same content as"
                raise InputError(f"input {path} {how} {seen[key]}: each measurement may be "
                                 "given once (a repeat would count its evidence twice)")
            seen[key] = str(path)


def load_series(paths: Sequence[str | os.PathLike], nabs: Sequence[float] | None = None,
                window_fs: float = 1000.0) -> list[Measured]:
    """Read every input of a fluence series (see :func:`load_measured`)."""
    if not paths:
        raise InputError("give at least one stack, results.json or analysis folder")
    if nabs is not None and len(nabs) != len(paths):
        raise InputError(f"--nabs gives {len(nabs)} values for {len(paths)} inputs")
    check_distinct(paths)
    out = [load_measured(p, None if nabs is None else nabs[i], window_fs)
           for i, p in enumerate(paths)]
    return out
