"""A synthetic TAM measurement of a film, with its truth beside it.

:func:`simulate_measurement` runs the carrier simulations at a few local densities across the
pump spot (band-like stage + hot-carrier/Auger/thermal hopping stage; per-axis MSDs of
independent stages add), composes the spot (:mod:`tamkit.sim.spot`), images it through the
microscope (:mod:`tamkit.sim.microscope`) and returns the raw chopped camera frames that
``tamkit analyze`` reads, plus a JSON-ready ``truth`` dict (keys in :func:`simulate_measurement`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from tamkit.core.acquisition import tam_delays_fs
from tamkit.core.errors import InputError
from tamkit.core.stack import make_stack
from tamkit.sim.bandlike import simulate_band_like
from tamkit.sim.film import Film
from tamkit.sim.hopping import DEFAULT_N_REALISATIONS, DEFAULT_N_SITES_SIDE, simulate_hopping
from tamkit.sim.microscope import (
    PROBE_NM,
    PUMP_NM,
    Microscope,
    apparent_images,
    chopped_acquisition,
    irf_nodes,
    spot_imager,
)
from tamkit.sim.spot import default_levels, spot_overlaps
from tamkit.sim.truth import build_truth

#: Largest <N_abs> accepted: a dot's 1S level holds 8 excitations (4 L valleys x 2 spins).
MAX_NABS = 8.0
#: Carriers wanted per hopping level: at low density more boxes are pooled than the hopping
#: default, up to MAX_HOP_REALISATIONS (Monte Carlo error of the survival ~1/sqrt(carriers)).
TARGET_HOP_CARRIERS = 3000
MAX_HOP_REALISATIONS = 256
#: Dense delays (fs) on which the band-like peak of D(t) is located for the truth.
BAND_GRID_FS = np.geomspace(1.0, 5000.0, 300)

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class Measurement:
    """A synthetic measurement.

    Attributes
    ----------
    raw : xarray.DataArray
        Camera counts, dims (spot, run, chopper, delay, y, x) as :mod:`tamkit.core.stack` describes.
    truth : dict
        Everything the measurement was made from and what it should yield (JSON-ready).
    dT_T : xarray.DataArray
        The noise-free dT/T stack (delay, y, x) behind ``raw``.
    """

    raw: xr.DataArray
    truth: dict
    dT_T: xr.DataArray


def check_nabs(nabs) -> float:
    """<N_abs> as a float in (0, 8]; :class:`InputError` otherwise."""
    try:
        value = float(nabs)
    except (TypeError, ValueError):
        raise InputError(f"<N_abs> must be a number, got {nabs!r}") from None
    if not np.isfinite(value) or value <= 0 or value > MAX_NABS:
        raise InputError(
            f"<N_abs> must be in (0, {MAX_NABS:g}] photons absorbed per dot, got {nabs!r}"
        )
    return value


def _seed_int(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def simulate_levels(
    film: Film,
    levels: np.ndarray,
    times_fs: np.ndarray,
    *,
    seed: int = 0,
    engine: str = "semiclassical",
    progress: Callable[[float], None] | None = None,
) -> dict[str, np.ndarray | list]:
    """Band-like + hopping simulations at each local density level, on ``times_fs``.

    Returns per-level arrays of shape (K, T): ``msd_nm2`` (band + hop, per axis), ``msd_err_nm2``,
    ``msd_band_nm2``, ``msd_hop_nm2``, ``survival``, ``mean_energy_meV``, plus ``events``
    (hops, Auger events, carriers per level). The semiclassical band-like stage uses its exact
    ensemble average: a real spot holds ~10^4-10^5 carriers, far more than a Monte Carlo sample,
    so its sampling noise would be an artefact of the simulation, not of the measurement.
    """
    children = np.random.SeedSequence(int(seed)).spawn(len(levels))
    out: dict[str, list] = {k: [] for k in ("msd_band_nm2", "msd_band_err_nm2", "msd_hop_nm2",
                                            "msd_hop_err_nm2", "survival", "mean_energy_meV",
                                            "events")}
    for i, (n_local, child) in enumerate(zip(levels, children, strict=True)):
        band_seq, hop_seq = child.spawn(2)
        band = simulate_band_like(film, float(n_local), times_fs, seed=_seed_int(band_seq),
                                  engine=engine, exact=engine == "semiclassical")
        expected = n_local * DEFAULT_N_SITES_SIDE**3
        n_real = int(np.clip(np.ceil(TARGET_HOP_CARRIERS / expected), DEFAULT_N_REALISATIONS,
                             MAX_HOP_REALISATIONS))
        hop = simulate_hopping(film, float(n_local), times_fs, seed=_seed_int(hop_seq),
                               n_realisations=n_real)
        if hop.n_carriers == 0 or not np.all(np.isfinite(hop.survival)):
            raise InputError(f"<N_abs> = {n_local:.3g} per dot is too low to simulate hopping")
        out["msd_band_nm2"].append(band.msd_nm2)
        out["msd_band_err_nm2"].append(band.msd_err_nm2)
        out["msd_hop_nm2"].append(np.nan_to_num(hop.msd_nm2))
        out["msd_hop_err_nm2"].append(np.nan_to_num(hop.msd_err_nm2))
        out["survival"].append(hop.survival)
        out["mean_energy_meV"].append(np.nan_to_num(hop.mean_energy_meV))
        out["events"].append({"nabs": float(n_local), "n_carriers": hop.n_carriers,
                              "n_hops": hop.n_hops, "n_auger": hop.n_auger,
                              "n_realisations": n_real})
        if progress is not None:
            progress((i + 1) / len(levels))
    arrays = {k: np.asarray(v, dtype=float) for k, v in out.items() if k != "events"}
    arrays["msd_nm2"] = arrays["msd_band_nm2"] + arrays["msd_hop_nm2"]
    arrays["msd_err_nm2"] = np.hypot(arrays["msd_band_err_nm2"], arrays["msd_hop_err_nm2"])
    arrays["events"] = out["events"]
    return arrays


def simulation_times_fs(delay_fs: np.ndarray, microscope: Microscope) -> np.ndarray:
    """Positive times the carriers are simulated at: the delays, the IRF nodes, the band grid."""
    nodes, weights = irf_nodes(delay_fs, microscope.irf_sigma_fs)
    times = np.concatenate([delay_fs, nodes[weights > 0], BAND_GRID_FS])
    return np.unique(times[times > 0])


def simulate_measurement(
    film: Film,
    nabs: float,
    *,
    delay_fs: np.ndarray | None = None,
    seed: int = 0,
    microscope: Microscope | None = None,
    n_runs: int = 10,
    n_spots: int = 5,
    n_levels: int = 4,
    engine: str = "semiclassical",
    progress: ProgressFn | None = None,
) -> Measurement:
    """Simulate a TAM measurement of ``film`` at peak <N_abs> = ``nabs``.

    Parameters
    ----------
    film : tamkit.sim.film.Film
        The film (:func:`tamkit.sim.film.load_film`).
    nabs : float
        <N_abs> at the centre of the pump spot (photons absorbed per dot), in (0, 8].
    delay_fs : ndarray, optional
        Pump-probe delays (fs), increasing. Default :func:`tamkit.core.acquisition.tam_delays_fs`:
        5 baseline delays from -500 fs, 20 fs steps to 1 ps (the band-like regime), then 40
        log-spaced delays to 1 ns.
    seed : int
        Seed of everything random (carriers, landscapes, camera noise): same seed, same bits.
    microscope : Microscope, optional
        The instrument; default :class:`Microscope` (the paper's).
    n_runs, n_spots : int
        Runs per spot and spots. Defaults 10 and 5: the paper averaged 50 runs on 5 spots;
        10 runs keep a default simulation to seconds and the file to ~27 MB, and the averaged
        frames already localise the spot to ~1.5 nm (pass ``n_runs=50`` for the paper's
        averaging).
    n_levels : int
        Local densities simulated across the spot (nabs, nabs/2, ... nabs/2^(n_levels-1)).
    engine : {"semiclassical", "quantum"}
        Band-like engine (:func:`tamkit.sim.bandlike.simulate_band_like`).
    progress : callable, optional
        ``progress(fraction, stage)`` with fraction in [0, 1].

    Returns
    -------
    Measurement
        ``raw`` counts, ``truth`` (see :func:`tamkit.sim.truth.build_truth`), noise-free ``dT_T``.
    """
    nabs = check_nabs(nabs)
    if not isinstance(film, Film):
        raise InputError(f"film must be a tamkit.sim.film.Film, got {type(film).__name__}")
    microscope = microscope or Microscope()
    if delay_fs is None:
        delay_fs = tam_delays_fs()
    delay_fs = np.asarray(delay_fs, dtype=float)
    if delay_fs.ndim != 1 or delay_fs.size < 2 or not np.all(np.isfinite(delay_fs)):
        raise InputError("delays must be a 1D array of at least 2 finite values (fs)")
    if np.any(np.diff(delay_fs) <= 0) or not np.any(delay_fs > 0):
        raise InputError("delays must be strictly increasing and include some after t = 0")
    if int(seed) < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed}")

    def report(start: float, span: float, stage: str) -> Callable[[float], None] | None:
        if progress is None:
            return None
        return lambda f: progress(start + span * f, stage)

    carrier_seq, camera_seq = np.random.SeedSequence(int(seed)).spawn(2)
    levels = default_levels(nabs, n_levels)
    times = simulation_times_fs(delay_fs, microscope)
    sims = simulate_levels(film, levels, times, seed=_seed_int(carrier_seq), engine=engine,
                           progress=report(0.0, 0.5, "carriers"))

    imager = spot_imager(microscope, nabs, levels)
    images = apparent_images(imager, microscope, delay_fs, times, sims["msd_nm2"],
                             sims["survival"], progress=report(0.5, 0.2, "images"))
    attrs = {
        "sample": film.name, "nabs": nabs, "temperature_K": film.temperature_K,
        "perovskite_fraction": film.perovskite_fraction, "pitch_nm": film.pitch_nm,
        "probe_nm": PROBE_NM, "pump_nm": PUMP_NM,
        "provenance": f"tamkit.sim.simulate_measurement(film={film.name!r}, nabs={nabs:g}, "
                      f"seed={int(seed)})",
    }
    dT_T = make_stack(microscope.dT_T_per_excitation * images, delay_fs, microscope.pixel_nm,
                      attrs=attrs)
    raw = chopped_acquisition(dT_T, microscope, n_runs=n_runs, n_spots=n_spots,
                              seed=camera_seq, progress=report(0.7, 0.25, "camera"))
    overlaps = spot_overlaps(nabs, microscope.pump_sigma_nm, levels)
    truth = build_truth(
        film=film, nabs=nabs, seed=int(seed), microscope=microscope, n_runs=int(n_runs),
        n_spots=int(n_spots), engine=engine, delay_fs=delay_fs, times_fs=times, sims=sims,
        overlaps=overlaps, imager=imager, dT_T=dT_T,
    )
    if progress is not None:
        progress(1.0, "done")
    return Measurement(raw=raw, truth=truth, dT_T=dT_T)
