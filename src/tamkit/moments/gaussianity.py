"""Is the spot Gaussian? The Gaussian fits' MSD against the moments', and the excess kurtosis.

Per frame two standard scores: ``z_msd = (MSD_moment - MSD_fit) / sqrt(err_m^2 + err_f^2)`` (the
errors added as if independent: conservative, since both come from one frame) and
``z_ek = EK / err_EK``. A frame is flagged when either exceeds ``z_threshold`` in size.

Multiple testing: a stack of 150 frames holds 300 scores, so a single |z| > 3 is expected by
chance about once per stack. Spreading is called non-Gaussian only from the first run of
``n_consecutive`` consecutive flagged frames (chance rate for independent scores ~1e-7 per
frame at the defaults), and that frame's delay is ``first_non_gaussian_fs``. Per regime, the
mean excess kurtosis, the Stouffer score ``sum z / sqrt(n)`` of each test and the median
relative MSD difference are reported alongside (descriptive: the moment MSDs share their
sigma_0^2, so their scores are correlated and their Stouffer sum is not a calibrated test).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from tamkit.core.outputs import format_delay

RULE = ("non-Gaussian from the first run of {n} consecutive usable frames with |z| > {z:g} in "
        "either test (moment MSD vs Gaussian-fit MSD; excess kurtosis vs 0)")


@dataclass
class Gaussianity:
    """Outcome of :func:`check_gaussianity`; ``to_dict`` is the ``results.json`` block."""

    #: None where too few frames could be tested (then the check says nothing)
    gaussian: bool | None
    first_non_gaussian_fs: float | None
    note: str
    rule: str
    n_frames_tested: int
    regimes: list[dict] = field(default_factory=list)
    #: per-frame scores (z_msd, z_ek, flagged), one row per delay
    frames: xr.Dataset | None = None

    def to_dict(self) -> dict:
        return {"gaussian": self.gaussian, "first_non_gaussian_fs": self.first_non_gaussian_fs,
                "note": self.note, "rule": self.rule, "n_frames_tested": self.n_frames_tested,
                "regimes": self.regimes}

    @classmethod
    def from_dict(cls, block: dict | None) -> Gaussianity | None:
        """Read the ``results.json`` block back (the per-frame scores are not stored there)."""
        if block is None:
            return None
        return cls(block["gaussian"], block["first_non_gaussian_fs"], block["note"],
                   block["rule"], int(block["n_frames_tested"]), list(block.get("regimes", [])))


def check_gaussianity(
    moments: xr.Dataset,
    frames: xr.Dataset,
    regimes: list | None = None,
    *,
    z_threshold: float = 3.0,
    n_consecutive: int = 3,
) -> Gaussianity:
    """Check, per frame and per regime, that the spot spreads as a Gaussian.

    Parameters
    ----------
    moments : xarray.Dataset
        Output of :func:`tamkit.moments.frame_moments`.
    frames : xarray.Dataset
        The transport frames (``msd_nm2``, ``msd_err_nm2``, ``status``), as in
        :attr:`tamkit.TransportResult.frames`; same delays as ``moments``.
    regimes : list of Regime, optional
        Transport regimes (``name``, ``start_fs``, ``end_fs``) to summarise over; default one
        regime over all usable frames.
    z_threshold : float
        Size of a standard score that flags a frame.
    n_consecutive : int
        Consecutive flagged frames that make the spreading non-Gaussian.

    Returns
    -------
    Gaussianity
    """
    delay = np.asarray(moments["delay"].values, float)
    mm = np.asarray(moments["msd_moment_nm2"].values, float)
    me = np.asarray(moments["msd_moment_err_nm2"].values, float)
    ek = np.asarray(moments["excess_kurtosis"].values, float)
    eke = np.asarray(moments["excess_kurtosis_err"].values, float)
    mf = np.asarray(frames["msd_nm2"].values, float)
    mfe = np.asarray(frames["msd_err_nm2"].values, float)
    usable = (delay >= 0) & (np.asarray(moments["status"].values).astype(str) == "ok")
    usable &= np.asarray(frames["status"].values).astype(str) == "ok"
    usable &= np.isfinite(mm) & np.isfinite(me) & np.isfinite(ek) & (eke > 0)
    usable &= np.isfinite(mf) & np.isfinite(mfe)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_msd = np.where(usable, (mm - mf) / np.hypot(me, mfe), np.nan)
        z_ek = np.where(usable, ek / eke, np.nan)
    flag_msd = usable & (np.abs(z_msd) > z_threshold)
    flag_ek = usable & (np.abs(z_ek) > z_threshold)
    flagged = flag_msd | flag_ek
    idx = np.flatnonzero(usable)
    # a kurtosis pooled over p adjacent frames shares noise with its neighbours: its run must
    # be p - 1 frames longer to keep the chance rate of independent scores
    pool = int(moments.attrs.get("ek_pool_frames", 1) or 1)
    onsets = [_first_run(flag_msd[idx], n_consecutive),
              _first_run(flag_ek[idx], n_consecutive + max(pool - 1, 0))]
    onsets = [int(idx[i]) for i in onsets if i is not None]
    onset = min(onsets) if onsets else None
    scores = xr.Dataset(
        {"z_msd": ("delay", z_msd), "z_ek": ("delay", z_ek), "flagged": ("delay", flagged),
         "usable": ("delay", usable)},
        coords={"delay": moments["delay"]},
    )
    rule = RULE.format(n=n_consecutive, z=z_threshold)
    if pool > 1:
        rule += (f"; the excess kurtosis is pooled over {pool} adjacent frames, so its run is "
                 f"{n_consecutive + pool - 1} frames")
    summary = _regimes(delay, usable, z_msd, z_ek, ek, eke, mm, me, mf, regimes)
    if idx.size < n_consecutive:
        return Gaussianity(None, None, f"too few usable frames ({idx.size}) to test Gaussianity",
                           rule, int(idx.size), summary, scores)
    if onset is None:
        return Gaussianity(True, None, (
            f"Gaussian within errors: moment and Gaussian-fit MSD agree and the excess kurtosis "
            f"is consistent with 0 over {idx.size} frames"), rule, int(idx.size), summary, scores)
    return Gaussianity(False, float(delay[onset]),
                       _note(delay, onset, usable, ek, eke, mm, me, mf),
                       rule, int(idx.size), summary, scores)


def _first_run(flags: np.ndarray, n: int) -> int | None:
    """Index of the first of ``n`` consecutive True values, or None."""
    for i in range(max(0, flags.size - n + 1)):
        if flags[i : i + n].all():
            return i
    return None


def _note(delay, onset, usable, ek, eke, mm, me, mf) -> str:
    later = usable & (delay >= delay[onset])
    w = 1.0 / eke[later] ** 2
    ek_mean = float(np.sum(w * ek[later]) / np.sum(w))
    ek_err = float(1.0 / np.sqrt(np.sum(w)))
    kind = ("positive: a fast minority, hot and cold populations or traps"
            if ek_mean > 0 else "negative: a flat-topped profile, e.g. a depleted centre")
    parts = [f"non-Gaussian spreading from {format_delay(delay[onset])}: excess kurtosis "
             f"{ek_mean:.2f} ± {ek_err:.2f} ({kind})"]
    big = later & (mm > 3 * me)
    if big.any():
        rel = float(np.median(1.0 - mf[big] / mm[big]))
        verb = "understates" if rel > 0 else "overstates"
        parts.append(f"the Gaussian fit {verb} the MSD by {abs(rel) * 100:.0f} % "
                     "(median against the moment MSD from there on)")
    return "; ".join(parts)


def _regimes(delay, usable, z_msd, z_ek, ek, eke, mm, me, mf, regimes) -> list[dict]:
    if regimes:
        spans = [(r.name, r.start_fs, r.end_fs) for r in regimes]
    else:
        t = delay[usable]
        spans = [("all", float(t.min()), float(t.max()))] if t.size else []
    out = []
    for name, start, end in spans:
        sel = usable & (delay >= start) & (delay <= end)
        n = int(sel.sum())
        row = {"name": name, "start_fs": float(start), "end_fs": float(end), "n_frames": n}
        if n:
            w = 1.0 / eke[sel] ** 2
            big = sel & (mm > 3 * me)
            row.update(
                excess_kurtosis=float(np.sum(w * ek[sel]) / np.sum(w)),
                excess_kurtosis_err=float(1.0 / np.sqrt(np.sum(w))),
                stouffer_z_ek=float(np.sum(z_ek[sel]) / np.sqrt(n)),
                stouffer_z_msd=float(np.sum(z_msd[sel]) / np.sqrt(n)),
                msd_fit_over_moment=(float(np.median(mf[big] / mm[big])) if big.any()
                                     else None),
            )
        out.append(row)
    return out
