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
from scipy.special import chdtrc

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


#: What the fluence-independence time is, stated in ``series.json``.
INDEPENDENCE_MEANING = (
    "the earliest delay from which the MSDs at every fluence grow alike within the data's "
    "resolution; fluence-dependent growth below that resolution may go on after it, so it is a "
    "lower bound on when that growth stops (earlier for noisier data and for an excess that "
    "approaches its plateau gradually)"
)


@dataclass
class FluenceSeries:
    """A fluence series of one film and what it shows."""

    members: list[SeriesMember]
    independence_time_fs: float | None
    independence_time_err_fs: float | None
    auger_excess: dict
    depletion: list[dict] = field(default_factory=list)
    #: how far t* moves with the test's threshold (p 0.01 to 0.32), half the change (fs): the
    #: independence time is where the remaining growth falls below what the data resolve, so it
    #: is earlier than where growth stops for an excess that approaches its plateau gradually
    independence_time_sys_fs: float | None = None

    def table(self) -> list[dict]:
        return [m.row() for m in self.members]

    def to_dict(self) -> dict:
        """The series as JSON-ready data (``series.json``, ``reproduce.json``)."""
        return {
            "kind": "fluence",
            "members": self.table(),
            "independence_time_fs": self.independence_time_fs,
            "independence_time_err_fs": self.independence_time_err_fs,
            "independence_time_sys_fs": self.independence_time_sys_fs,
            "independence_time_meaning": INDEPENDENCE_MEANING,
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
    """MSD curves on the delays common to all members, usable frames only (NaN elsewhere), and
    each frame's own MSD error 2 sigma dsigma (nm^2): without the sigma_0 term, which shifts a
    whole curve alike (it cancels in increments and is added once where it does not)."""
    delays = [np.asarray(m.result.frames["delay"].values, float) for m in members]
    common = delays[0]
    for d in delays[1:]:
        common = np.intersect1d(common, d)
    msd, own = [], []
    for m in members:
        f = m.result.frames.sel(delay=common)
        ok = np.asarray(f["status"].values).astype(str) == "ok"
        msd.append(np.where(ok, f["msd_nm2"].values, np.nan))
        own.append(np.where(ok, 2.0 * np.asarray(f["sigma_nm"].values, float)
                            * np.asarray(f["sigma_err_nm"].values, float), np.nan))
    return common, np.asarray(msd), np.asarray(own)


def parallel_curves_p(delay_fs: np.ndarray, msd_nm2: np.ndarray, var_nm4: np.ndarray) -> float:
    """p-value that the curves grow alike: no trend of MSD_i - MSD_0 with ln t for any i > 0.

    For each curve i > 0 the difference from curve 0 is regressed on ln t (weighted; the
    intercept absorbs an offset acquired earlier), and the slopes' z-scores are combined in a
    chi-square with one degree of freedom per curve. A slope is what an excess still being
    acquired looks like; an omnibus chi-square about a common curve spreads the same signal
    over every delay's degree of freedom and misses it (it passed 1.4 ps on a series whose
    excess grows to 20 ps).
    """
    u = np.log(delay_fs)
    chi2, dof = 0.0, 0
    for i in range(1, msd_nm2.shape[0]):
        d = msd_nm2[i] - msd_nm2[0]
        v = var_nm4[i] + var_nm4[0]
        ok = np.isfinite(d) & np.isfinite(v) & (v > 0)
        if ok.sum() < 3:
            continue
        w = 1.0 / v[ok]
        x = u[ok] - np.sum(w * u[ok]) / np.sum(w)
        sxx = np.sum(w * x * x)
        if sxx <= 0:
            continue
        slope = np.sum(w * x * d[ok]) / sxx
        chi2 += slope**2 * sxx
        dof += 1
    return float(chdtrc(dof, chi2)) if dof else float("nan")  # chi^2 survival function


def independence_time(
    delay_fs: np.ndarray, msd_nm2: np.ndarray, msd_err_nm2: np.ndarray,
    p_consistent: float = P_CONSISTENT,
) -> float | None:
    """Earliest delay t* after which the MSD grows the same way at every fluence.

    For each candidate t* (>= 1 ps) the curves from t* on, and over the decade after t*, are
    tested for differing only by an offset per fluence (:func:`parallel_curves_p`: no trend of
    the differences with ln t; the smaller p doubled, > 0.05); t* is the first that passes.
    An offset acquired before t* (the Auger-assisted excess) is allowed: after t* the carriers
    are cool and hop alike. The test from t* holds every later delay, so growth that
    differs later fails it too; requiring every later candidate to pass as well (as tamkit
    <= 0.2 did) made 5 % false alarms among the many late, short tests push t* late (5x the
    truth on average in benchmarks/calibration.py). Returns None when no candidate passes.
    """
    candidates = np.flatnonzero(delay_fs >= MIN_INDEPENDENCE_FS)
    for i in candidates:
        later = delay_fs > delay_fs[i]
        if later.sum() < MIN_LATER_POINTS or delay_fs[-1] / delay_fs[i] < MIN_LATER_SPAN:
            break
        # the trend test over everything after t* and over the decade after it (where an excess
        # still being acquired shows most: over the whole rest a late, short rise is diluted),
        # Bonferroni-combined
        p = 1.0
        for span in (np.inf, 10.0):
            block = (delay_fs >= delay_fs[i]) & (delay_fs <= span * delay_fs[i])
            p = min(p, 2.0 * parallel_curves_p(delay_fs[block], msd_nm2[:, block],
                                               msd_err_nm2[:, block] ** 2))
        if np.isfinite(p) and p > p_consistent:
            return float(delay_fs[i])
    return None


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


def auger_excess(delay, msd, own_err, members, t_end_fs) -> dict:
    """Mean MSD difference, highest minus lowest fluence, over the delays from 1 ps to
    ``t_end_fs`` (nm^2), with its standard error.

    The mean is over the window's delays, unweighted: the excess grows through the window, and
    weights (larger where the spot is small, early) would move the estimate towards the early
    frames by an amount that depends on the noise. Its error adds the frames' own errors and
    the two sigma_0 errors, which shift every frame of one curve alike and so do not average
    down (2 sigma_0 dsigma_0 per curve). ``own_err`` holds the frames' own errors
    (from :func:`_curves`).
    """
    window = (delay >= MIN_INDEPENDENCE_FS) & (delay <= t_end_fs)
    lo, hi = int(np.argmin([m.value for m in members])), int(np.argmax([m.value for m in members]))
    diff = msd[hi, window] - msd[lo, window]
    own = np.hypot(own_err[hi, window], own_err[lo, window])
    good = np.isfinite(diff) & np.isfinite(own) & (own > 0)
    if not good.any():
        return {"excess_msd_nm2": None, "excess_msd_err_nm2": None, "window_fs": None}
    shared = np.hypot(*(2.0 * members[i].result.sigma0_nm * members[i].result.sigma0_err_nm
                        for i in (hi, lo)))
    n = int(good.sum())
    return {
        "excess_msd_nm2": float(np.mean(diff[good])),
        "excess_msd_err_nm2": float(np.hypot(np.sqrt(np.sum(own[good] ** 2)) / n,
                                             shared if np.isfinite(shared) else 0.0)),
        "window_fs": [MIN_INDEPENDENCE_FS, float(t_end_fs)],
        "n_delays": n,
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
    check_distinct_values(nabs, "<N_abs>")
    order = np.argsort(np.asarray(nabs, float), kind="stable")
    members = [SeriesMember(float(nabs[i]), results[i], f"⟨N_abs⟩ = {nabs[i]:g}") for i in order]
    # increments from t* cancel the shared sigma_0 offset: they are tested with the frames' own
    # errors
    delay, msd, own = _curves(members)
    t_star, t_err = _independence_with_error(delay, msd, own, n_bootstrap, seed)
    strict, loose = (independence_time(delay, msd, own, p) for p in (0.01, 0.32))
    t_sys = (0.5 * abs(loose - strict) if t_star is not None and None not in (strict, loose)
             else None)
    excess = auger_excess(delay, msd, own, members, AUGER_WINDOW_END_FS)
    depletion = []
    for m, i in zip(members, order, strict=True):
        art = depletion_artefact(m.result.frames, m.result.sigma0_nm, stacks[i],
                                 carrier_sigma_nm)
        depletion.append({"nabs": m.value, **art})
    return FluenceSeries(members, t_star, t_err, excess, depletion, t_sys)


def check_distinct_values(values: Sequence[float], what: str) -> None:
    """A series compares measurements: with one value for all, every trend is 0 / 0."""
    if len(set(float(v) for v in values)) < 2:
        raise InputError(f"a series needs at least two different values of {what}; all "
                         f"{len(values)} measurements have {float(values[0]):g}")


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
    check_distinct_values(perovskite_vol_percent, "perovskite content")
    order = np.argsort(perovskite_vol_percent)
    members = [SeriesMember(float(perovskite_vol_percent[i]), results[i],
                            f"{perovskite_vol_percent[i]:g} vol%") for i in order]
    sig = [sigma_inh_meV[i] for i in order]
    lengths = [m.result.band_like.length_nm if m.result.band_like else -1.0 for m in members]
    volcano = members[int(np.argmax(lengths))].value if max(lengths) > 0 else None
    return CompositionSeries(members, sig, volcano)
