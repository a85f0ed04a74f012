"""Series of measurements: one film at several fluences, or films of several compositions.

The paper's findings are trends (Figs. 3 and 4): band-like D and length fall as <N_abs> rises;
before ~100 ps the MSD rises with fluence (Auger-assisted hopping) and after it the MSD grows
the same way at every fluence (thermal hopping); the band-like length peaks at 40 vol%
perovskite and vanishes at 90 vol%; 1/tau_band-like follows the energetic disorder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy.stats import chi2 as chi2_dist

from tamkit.carrier_transport.analysis import TransportResult
from tamkit.carrier_transport.depletion import depletion_artefact
from tamkit.core.errors import InputError

#: Delays before this are band-like territory and never a candidate for fluence independence.
MIN_INDEPENDENCE_FS = 1000.0
#: The Auger-assisted excess is averaged from 1 ps to here (the paper: "< 100 ps").
AUGER_WINDOW_END_FS = 1.0e5
#: Consistency threshold of the chi-square test of fluence independence.
P_CONSISTENT = 0.05
#: A candidate t* needs this many later delays, spanning this factor in time, to be testable.
MIN_LATER_POINTS = 5
MIN_LATER_SPAN = 3.0


@dataclass
class SeriesMember:
    """One measurement of a series: its label value (<N_abs> or vol%) and its analysis."""

    value: float
    result: TransportResult
    label: str = ""

    def row(self) -> dict:
        b = self.result.band_like
        return {
            "label": self.label,
            "value": self.value,
            "sigma0_nm": self.result.sigma0_nm,
            "sigma0_err_nm": self.result.sigma0_err_nm,
            "band_like": b is not None,
            "D_max_cm2_s": b.D_max_cm2_s if b else None,
            "D_max_err_cm2_s": b.D_max_err_cm2_s if b else None,
            "length_nm": b.length_nm if b else None,
            "length_err_nm": b.length_err_nm if b else None,
            "n_dots": b.n_dots if b else None,
            "tau_fs": b.tau_fs if b else None,
            "tau_err_fs": b.tau_err_fs if b else None,
            "inv_tau_per_ps": 1e3 / b.tau_fs if b else None,
            "inv_tau_err_per_ps": 1e3 * b.tau_err_fs / b.tau_fs**2 if b else None,
            "mobility_cm2_Vs": b.mobility_cm2_Vs if b else None,
        }


@dataclass
class FluenceSeries:
    """A fluence series of one film and what it shows."""

    members: list[SeriesMember]
    independence_time_fs: float | None
    independence_time_err_fs: float | None
    auger_excess: dict
    depletion: list[dict] = field(default_factory=list)

    def table(self) -> list[dict]:
        return [m.row() for m in self.members]

    def to_dict(self) -> dict:
        """The series as JSON-ready data (``series.json``, ``reproduce.json``)."""
        return {
            "kind": "fluence",
            "members": self.table(),
            "independence_time_fs": self.independence_time_fs,
            "independence_time_err_fs": self.independence_time_err_fs,
            "auger_excess": self.auger_excess,
            "depletion": self.depletion,
        }


@dataclass
class CompositionSeries:
    """Films of different perovskite content at one fluence."""

    members: list[SeriesMember]
    sigma_inh_meV: list[float | None]
    volcano_maximum: float | None

    def table(self) -> list[dict]:
        rows = []
        for m, s in zip(self.members, self.sigma_inh_meV, strict=True):
            rows.append({**m.row(), "perovskite_vol_percent": m.value, "sigma_inh_meV": s})
        return rows

    def to_dict(self) -> dict:
        """The series as JSON-ready data (``series.json``, ``reproduce.json``)."""
        return {"kind": "composition", "members": self.table(),
                "volcano_maximum_vol_percent": self.volcano_maximum}


def _curves(members: Sequence[SeriesMember]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MSD curves on the delays common to all members, usable frames only (NaN elsewhere)."""
    delays = [np.asarray(m.result.frames["delay"].values, float) for m in members]
    common = delays[0]
    for d in delays[1:]:
        common = np.intersect1d(common, d)
    msd, err = [], []
    for m in members:
        f = m.result.frames.sel(delay=common)
        ok = np.asarray(f["status"].values).astype(str) == "ok"
        msd.append(np.where(ok, f["msd_nm2"].values, np.nan))
        err.append(np.where(ok, f["msd_err_nm2"].values, np.nan))
    return common, np.asarray(msd), np.asarray(err)


def _consistency_p(increments: np.ndarray, variances: np.ndarray) -> float:
    """p-value that several curves of increments agree (chi-square about their weighted mean)."""
    good = np.all(np.isfinite(increments) & np.isfinite(variances) & (variances > 0), axis=0)
    if good.sum() < 2:
        return float("nan")
    inc, var = increments[:, good], variances[:, good]
    w = 1 / var
    mean = np.sum(w * inc, axis=0) / np.sum(w, axis=0)
    chi2 = float(np.sum((inc - mean) ** 2 / var))
    dof = (inc.shape[0] - 1) * inc.shape[1]
    return float(chi2_dist.sf(chi2, dof))


def independence_time(
    delay_fs: np.ndarray, msd_nm2: np.ndarray, msd_err_nm2: np.ndarray
) -> float | None:
    """Earliest delay t* after which the MSD grows the same way at every fluence.

    For each candidate t* (>= 1 ps) the increments MSD_i(t) - MSD_i(t*), t > t*, are tested for
    agreement across fluences (chi-square, p > 0.05), and t* must pass for every later
    candidate too. An offset acquired before t* (the Auger-assisted excess) is allowed: after
    t* the carriers are cool and hop alike. Returns None when no such time exists.
    """
    candidates = np.flatnonzero(delay_fs >= MIN_INDEPENDENCE_FS)
    passes = []
    for i in candidates:
        later = delay_fs > delay_fs[i]
        if later.sum() < MIN_LATER_POINTS or delay_fs[-1] / delay_fs[i] < MIN_LATER_SPAN:
            break
        inc = msd_nm2[:, later] - msd_nm2[:, [i]]
        var = msd_err_nm2[:, later] ** 2 + msd_err_nm2[:, [i]] ** 2
        p = _consistency_p(inc, var)
        passes.append((delay_fs[i], np.isfinite(p) and p > P_CONSISTENT))
    if not passes:
        return None
    ok = np.array([p for _, p in passes])
    # last failing candidate: independence starts at the next one
    failing = np.flatnonzero(~ok)
    start = 0 if failing.size == 0 else failing[-1] + 1
    if start >= len(passes):
        return None
    return float(passes[start][0])


def _independence_with_error(delay, msd, err, n_boot: int, seed: int):
    t_star = independence_time(delay, msd, err)
    if t_star is None:
        return None, None
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        t = independence_time(delay, msd + err * rng.standard_normal(msd.shape), err)
        if t is not None:
            boots.append(np.log(t))
    if len(boots) < 2:
        return t_star, None
    # the spread in log time, mapped back to fs around the estimate
    return t_star, float(t_star * np.std(boots, ddof=1))


def auger_excess(delay, msd, err, members, t_end_fs) -> dict:
    """Weighted mean MSD difference, highest minus lowest fluence, from 1 ps to ``t_end_fs``."""
    window = (delay >= MIN_INDEPENDENCE_FS) & (delay <= t_end_fs)
    lo, hi = int(np.argmin([m.value for m in members])), int(np.argmax([m.value for m in members]))
    diff = msd[hi, window] - msd[lo, window]
    var = err[hi, window] ** 2 + err[lo, window] ** 2
    good = np.isfinite(diff) & np.isfinite(var) & (var > 0)
    if not good.any():
        return {"excess_msd_nm2": None, "excess_msd_err_nm2": None, "window_fs": None}
    w = 1 / var[good]
    mean = float(np.sum(w * diff[good]) / np.sum(w))
    return {
        "excess_msd_nm2": mean,
        "excess_msd_err_nm2": float(1 / np.sqrt(np.sum(w))),
        "window_fs": [MIN_INDEPENDENCE_FS, float(t_end_fs)],
        "high_nabs": members[hi].value,
        "low_nabs": members[lo].value,
    }


def fluence_series(
    results: Sequence[TransportResult],
    nabs: Sequence[float],
    *,
    n_bootstrap: int = 100,
    seed: int = 0,
    stacks: Sequence[xr.DataArray | None] | None = None,
    carrier_sigma_nm: float | None = None,
) -> FluenceSeries:
    """Analyse one film's transport at several fluences <N_abs>.

    Parameters
    ----------
    results : sequence of TransportResult
        One analysis per fluence (their frames must share delays, as one scan would).
    nabs : sequence of float
        <N_abs> of each measurement (photons absorbed per dot).
    n_bootstrap, seed : int
        Bootstrap replicates and seed of the independence-time error.
    stacks : sequence of xarray.DataArray, optional
        The analysed dT/T stacks, in the order of ``results``: the depletion estimate then uses
        their model-free spot integrals (:func:`tamkit.carrier_transport.depletion.spot_integral`).
    carrier_sigma_nm : float, optional
        The pump spot's sigma (nm), when known: the depletion estimate then separates it from
        the detection blur in sigma_0
        (:func:`tamkit.carrier_transport.depletion.depletion_artefact`).

    Returns
    -------
    FluenceSeries
        Members sorted by <N_abs>, the fluence-independence time with a bootstrap error, the
        Auger-assisted excess MSD (highest minus lowest fluence, 1 ps to that time) and the
        estimated Auger-depletion artefact of each measurement.
    """
    stacks = list(stacks) if stacks is not None else [None] * len(results)
    if len(stacks) != len(results):
        raise InputError(f"{len(stacks)} stacks for {len(results)} analyses: give one per result")
    order = np.argsort(np.asarray(nabs, float), kind="stable")
    members = [SeriesMember(float(nabs[i]), results[i], f"<N_abs> = {nabs[i]:g}") for i in order]
    delay, msd, err = _curves(members)
    t_star, t_err = _independence_with_error(delay, msd, err, n_bootstrap, seed)
    excess = auger_excess(delay, msd, err, members, AUGER_WINDOW_END_FS)
    depletion = []
    for m, i in zip(members, order, strict=True):
        art = depletion_artefact(m.result.frames, m.result.sigma0_nm, stacks[i],
                                 carrier_sigma_nm)
        depletion.append({"nabs": m.value, **art})
    return FluenceSeries(members, t_star, t_err, excess, depletion)


def composition_series(
    results: Sequence[TransportResult],
    perovskite_vol_percent: Sequence[float],
    sigma_inh_meV: Sequence[float | None] | None = None,
) -> CompositionSeries:
    """Compare films of different perovskite content (the paper's Fig. 4).

    The volcano maximum is the composition with the longest band-like length (None when no
    film shows a band-like regime).
    """
    if sigma_inh_meV is None:
        sigma_inh_meV = [None] * len(results)
    order = np.argsort(perovskite_vol_percent)
    members = [SeriesMember(float(perovskite_vol_percent[i]), results[i],
                            f"{perovskite_vol_percent[i]:g} vol%") for i in order]
    sig = [sigma_inh_meV[i] for i in order]
    lengths = [m.result.band_like.length_nm if m.result.band_like else -1.0 for m in members]
    volcano = members[int(np.argmax(lengths))].value if max(lengths) > 0 else None
    return CompositionSeries(members, sig, volcano)
