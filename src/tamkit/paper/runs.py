"""The measurements of the reproduction: simulate, image, analyse; TA maps; the geometry curve.

Every tamkit number comes from analysing simulated raw camera frames (or simulated TA maps) with
tamkit's own analysis; the simulator's truth is carried beside, labelled ``truth``, and is never
used to compute a tamkit value.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from tamkit.carrier_transport.analysis import TransportResult
from tamkit.core.constants import ev_to_nm, nm_to_ev
from tamkit.sim.film import (
    CONTACT_SPACING_NM,
    RCP_FRACTION,
    build_film,
    film_preset,
    moreels_gap_eV,
)
from tamkit.testing.artificial import tam_delays_fs

#: The paper's fluence series of the pure CQD film (<N_abs>, photons absorbed per dot; Fig. 3).
FLUENCES_NABS = (0.045, 0.09, 0.18)
#: The composition series at the lowest fluence (Fig. 4): preset -> perovskite vol%.
COMPOSITION_FILMS = {"cqd": 0.0, "qdip40": 40.0, "qdip60": 60.0, "qdip90": 90.0}
COMPOSITION_NABS = 0.045
#: Bleach band half-width around the film's exciton peak for the red-shift analysis (nm).
BLEACH_HALF_WIDTH_NM = 70.0
#: Perovskite bleach band (nm) searched for the perovskite GSB peak (paper: 565 nm).
PEROVSKITE_BAND_NM = (520.0, 610.0)
#: Global-fit components of a film map: the injection (perovskite -> dots) and the dots' decay,
#: the two kinetic processes of the paper's Fig. 2c; the automatic choice tries up to six and
#: costs ~30 s per map without changing the bleach tracking it feeds.
TAMAP_COMPONENTS = 2


@dataclass(frozen=True)
class Settings:
    """How much data the reproduction takes (the default run, or ``--quick``)."""

    quick: bool
    n_runs: int
    n_spots: int
    n_bootstrap: int
    delay_fs: np.ndarray = field(repr=False)
    workers: int = 2
    #: Largest number of MSD regimes the transport fit may use; None: the pipeline's default.
    max_regimes: int | None = None
    #: Independent landscape groups of the equilibrium-mobility simulation (~0.6 s each).
    equilibrium_groups: int = 8

    @classmethod
    def make(cls, quick: bool, workers: int | None = None,
             max_regimes: int | None = None) -> Settings:
        """Default: the paper's 50 runs on 5 spots, 200 bootstrap replicates, the TAM delays.

        Quick: 25 runs on 5 spots, 30 replicates, 18 log delays after 1 ps, 3 landscape groups
        for the equilibrium mobility (a test run).
        """
        if workers is None:
            workers = max(1, min(2, os.cpu_count() or 1))
        if quick:
            delays = tam_delays_fs(n_log=18, n_baseline=4)
            return cls(True, 25, 5, 30, delays, workers, max_regimes, equilibrium_groups=3)
        return cls(False, 50, 5, 200, tam_delays_fs(), workers, max_regimes)


@dataclass(frozen=True)
class MeasurementSpec:
    """One simulated measurement: a film preset at a peak <N_abs>, with its seed."""

    film: str
    nabs: float
    seed: int

    @property
    def key(self) -> str:
        return f"{self.film}@{self.nabs:g}"


@dataclass
class MeasurementResult:
    """A simulated measurement analysed by tamkit, with the simulator's truth beside it."""

    spec: MeasurementSpec
    perovskite_vol_percent: float
    pitch_nm: float
    result: TransportResult
    truth: dict
    wall_s: float
    precision: dict = field(default_factory=dict)
    #: the analysed dT/T stack (its pixel sums give the depletion estimate a model-free integral)
    stack: xr.DataArray | None = None


def measurement_specs(seed: int) -> list[MeasurementSpec]:
    """The paper's measurements: cqd at three fluences, qdip40/60/90 at the lowest."""
    pairs = [("cqd", n) for n in FLUENCES_NABS]
    pairs += [(name, COMPOSITION_NABS) for name in COMPOSITION_FILMS if name != "cqd"]
    seeds = np.random.SeedSequence(int(seed)).generate_state(len(pairs), dtype=np.uint32)
    return [MeasurementSpec(f, float(n), int(s)) for (f, n), s in zip(pairs, seeds, strict=True)]


def _truth_summary(truth: dict) -> dict:
    """The truth fields the reproduction shows beside its own values (labelled truth)."""
    keys = ("sigma0_nm", "carrier_sigma0_nm", "band_like", "delay_fs", "msd_nm2",
            "auger_apparent_msd_nm2", "auger_apparent_fit_msd_nm2", "survival", "precision")
    return {k: truth.get(k) for k in keys}


#: Single runs fitted for the localisation precision, and the window (fs) of bright frames used.
PRECISION_RUNS = 50
#: Frames where the spot is still the pump spot (sigma within ~3 % of sigma_0 at D ~ 100 cm^2/s),
#: as for the simulator's Cramer-Rao figure: later the spot widens and dims, and the centre
#: precision worsens with it (by ~25 % averaged over the first 200 fs).
PRECISION_WINDOW_FS = (0.0, 100.0)


def single_run_precision(raw, n_runs: int = PRECISION_RUNS) -> dict:
    """Localisation precision of one run: scatter of the fitted spot centre within single runs.

    Each run of the first spot is made into its own dT/T stack (differential imaging, baseline)
    and fitted frame by frame; the spot does not move, so the spread of the fitted centres over
    the first 100 fs, before the spot has widened (both axes), is the per-run precision. Mean and
    standard error over ``n_runs`` runs (nm).
    """
    from tamkit.gaussfit import fit_frames
    from tamkit.preprocessing.differential import differential, subtract_baseline

    lo, hi = PRECISION_WINDOW_FS
    values = []
    for run in range(min(n_runs, raw.sizes.get("run", 1))):
        one = raw.isel(spot=0, run=run) if "spot" in raw.dims else raw.isel(run=run)
        fits = fit_frames(subtract_baseline(differential(one)))
        t = fits["delay"].values
        ok = (np.asarray(fits["status"].values).astype(str) == "ok") & (t > lo) & (t <= hi)
        if ok.sum() < 3:
            continue
        x0, y0 = fits["x0_nm"].values[ok], fits["y0_nm"].values[ok]
        values.append(float(np.std(np.r_[x0 - x0.mean(), y0 - y0.mean()], ddof=2)))
    if not values:
        return {"per_run_nm": None, "per_run_err_nm": None, "n_runs": 0}
    err = float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
    return {"per_run_nm": float(np.mean(values)), "per_run_err_nm": err, "n_runs": len(values)}


def run_measurement(spec: MeasurementSpec, settings: Settings) -> MeasurementResult:
    """Simulate ``spec``'s raw frames, preprocess them and analyse the stack (one process)."""
    import time

    from tamkit.preprocessing.differential import preprocess
    from tamkit.sim.scenario import simulate_measurement
    from tamkit.workflows.analysis import analyze

    start = time.perf_counter()
    film = film_preset(spec.film)
    measurement = simulate_measurement(film, spec.nabs, delay_fs=settings.delay_fs,
                                       seed=spec.seed, n_runs=settings.n_runs,
                                       n_spots=settings.n_spots)
    stack = preprocess(measurement.raw)
    # the pitch is a property of the sample (its geometry), as a user would give it
    options = {} if settings.max_regimes is None else {"max_regimes": settings.max_regimes}
    # the paper's route is per-frame Gaussian fits; the global fit is not part of its table
    result = analyze(stack, pitch_nm=film.pitch_nm, temperature_K=film.temperature_K,
                     n_bootstrap=settings.n_bootstrap, seed=spec.seed, method="per-frame",
                     **options).result
    precision = single_run_precision(measurement.raw)
    return MeasurementResult(spec, 100.0 * film.perovskite_fraction, film.pitch_nm, result,
                             _truth_summary(measurement.truth), time.perf_counter() - start,
                             precision, stack)


def run_tamap(film_name: str, seed: int) -> dict:
    """Simulate the film's TA map and measure its bleach red-shift, sigma_inh and band peaks.

    The bleach band is centred on the film's exciton peak (known to a user from the steady-state
    absorption); everything measured comes from :func:`tamkit.spectro.analyze_tamap`.
    """
    from tamkit.sim.ta_map import simulated_ta_map_for_film
    from tamkit.spectro import analyze_tamap, track_peak

    film = film_preset(film_name)
    tamap, truth = simulated_ta_map_for_film(film, seed=int(seed))
    peak = film.exciton_peak_nm
    band = (peak - BLEACH_HALF_WIDTH_NM, peak + BLEACH_HALF_WIDTH_NM)
    analysis = analyze_tamap(tamap, TAMAP_COMPONENTS, bleach_nm=band,
                             temperature_K=film.temperature_K)
    track = analysis.track
    out = {
        "film": film_name,
        "perovskite_vol_percent": 100.0 * film.perovskite_fraction,
        "bleach": analysis.bleach,
        "track_delay_fs": track["delay"].values,
        "track_peak_meV": np.where(track["ok"].values, track["peak_meV"].values, np.nan),
        "track_peak_err_meV": np.where(track["ok"].values, track["peak_err_meV"].values, np.nan),
        "notes": analysis.notes,
        "truth": {"sigma_inh_meV": truth.sigma_inh_meV, "delta_E_meV": truth.delta_E_meV,
                  "shift_tau_fs": truth.shift_tau_fs, "convention": truth.convention},
        "perovskite_peak_nm": None,
    }
    if film.perovskite_fraction > 0:
        pero = track_peak(analysis.corrected, PEROVSKITE_BAND_NM)
        early = pero["ok"].values & (pero["delay"].values > 100.0) & (pero["delay"].values < 1e3)
        if early.any():
            out["perovskite_peak_nm"] = float(np.median(pero["peak_nm"].values[early]))
    return out


def geometry_curve(vol_percent: np.ndarray | None = None) -> dict:
    """Spacing, pitch and exciton peak vs perovskite vol% from the film geometry model (Fig. 2a).

    A model curve (:func:`tamkit.sim.film.build_film`), not a measurement: the paper gives the
    figure's values only as a plot.
    """
    if vol_percent is None:
        vol_percent = np.linspace(0.0, 92.0, 93)
    vol_percent = np.asarray(vol_percent, dtype=float)
    films = [build_film("geometry", x / 100.0, film_preset("cqd").sigma_inh_meV)
             for x in vol_percent]
    cqd = film_preset("cqd")
    solution_eV = moreels_gap_eV(cqd.dot_diameter_nm)
    return {
        "vol_percent": vol_percent,
        "spacing_nm": np.array([f.spacing_nm for f in films]),
        "pitch_nm": np.array([f.pitch_nm for f in films]),
        "exciton_peak_nm": np.array([f.exciton_peak_nm for f in films]),
        "coupling_meV": np.array([f.coupling_meV for f in films]),
        "dot_diameter_nm": cqd.dot_diameter_nm,
        "solution_peak_nm": ev_to_nm(solution_eV),
        "red_shift_meV": 1e3 * (solution_eV - nm_to_ev(cqd.exciton_peak_nm)),
        "contact_spacing_nm": CONTACT_SPACING_NM,
        "rcp_fraction": RCP_FRACTION,
        "onset_vol_percent": 100.0 * (1.0 - RCP_FRACTION),
        "presets": {100.0 * f.perovskite_fraction: {"name": f.name, "spacing_nm": f.spacing_nm,
                                                    "pitch_nm": f.pitch_nm,
                                                    "exciton_peak_nm": f.exciton_peak_nm}
                    for f in (film_preset(n) for n in COMPOSITION_FILMS)},
    }


Progress = Callable[[str], None]


def run_equilibrium(n_groups: int, seed: int):
    """The cqd film's equilibrium (thermal-hopping) transport, :func:`equilibrium_transport`."""
    from tamkit.sim.equilibrium import equilibrium_transport

    return equilibrium_transport(film_preset("cqd"), n_groups=n_groups, seed=seed)


def run_all(
    specs: Sequence[MeasurementSpec],
    tamap_films: Sequence[str],
    settings: Settings,
    seed: int,
    progress: Progress | None = None,
):
    """Run every measurement, TA map and the equilibrium-mobility simulation, in parallel
    processes when ``settings.workers > 1``.

    ``progress(label)`` is called once per finished job. Returns the measurements keyed by spec
    key, the maps by film name and the :class:`~tamkit.sim.equilibrium.EquilibriumTransport`;
    the order of completion does not change them (every job has its own seed, and the
    equilibrium simulation's result does not depend on its thread count).
    """
    map_seeds = np.random.SeedSequence([int(seed), 1]).generate_state(len(tamap_films))
    measurements: dict[str, MeasurementResult] = {}
    maps: dict[str, dict] = {}
    jobs = [(run_measurement, (spec, settings), ("m", spec.key)) for spec in specs]
    # submitted after the long measurements, before the short maps: it fills the pool's tail
    jobs.append((run_equilibrium, (settings.equilibrium_groups, int(seed)), ("e", None)))
    jobs += [(run_tamap, (name, int(s)), ("t", name))
             for name, s in zip(tamap_films, map_seeds, strict=True)]
    equilibrium = None

    def collect(kind, key, value):
        nonlocal equilibrium
        if kind == "m":
            measurements[key] = value
        elif kind == "t":
            maps[key] = value
        else:
            equilibrium = value
        if progress:
            progress({"m": key, "t": f"TA map {key}", "e": "equilibrium"}[kind])

    if settings.workers <= 1:
        for fn, args, (kind, key) in jobs:
            collect(kind, key, fn(*args))
        return measurements, maps, equilibrium
    # spawn, not fork: forking a process whose numba/OpenMP threads are running can kill the child
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=settings.workers, mp_context=context) as pool:
        futures = {pool.submit(fn, *args): tag for fn, args, tag in jobs}
        for future in as_completed(futures):
            collect(*futures[future], future.result())
    return measurements, maps, equilibrium
