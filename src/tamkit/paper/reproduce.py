"""The paper reproduced end to end: simulate -> image -> analyse, figures and table.

:func:`reproduce` simulates the paper's measurements (the pure CQD film at <N_abs> = 0.045, 0.09
and 0.18; the 40, 60 and 90 vol% perovskite films at 0.045), preprocesses the raw camera frames
and analyses each stack with tamkit's pipeline, runs the fluence and composition series, simulates
and analyses the four films' TA maps (bleach red-shift -> sigma_inh), computes the geometry curve
of Fig. 2a, and writes the figures, ``reproduce.json`` (schema ``tamkit.paper.reproduce/1``) and
``reproduce.html``.

tamkit's values never come from the simulator's truth; truth is carried beside them, labelled.
Reference: Liu et al., "Nonequilibrium transport in colloidal quantum dot solids" (2021).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tamkit.core.errors import InputError
from tamkit.core.outputs import atomic_output_dir, to_jsonable, write_json
from tamkit.paper.figures import write_figures
from tamkit.paper.page import write_page
from tamkit.paper.runs import (
    COMPOSITION_FILMS,
    COMPOSITION_NABS,
    FLUENCES_NABS,
    Settings,
    geometry_curve,
    measurement_specs,
    run_all,
)
from tamkit.paper.table import build_table, composition_trends, fluence_trends
from tamkit.series.trends import (
    CompositionSeries,
    FluenceSeries,
    composition_series,
    fluence_series,
)
from tamkit.sim.equilibrium import EquilibriumTransport
from tamkit.sim.microscope import Microscope

SCHEMA = "tamkit.paper.reproduce/1"
DEFAULT_OUT = "tamkit-reproduce"

#: progress(done, total, label): called as jobs finish (label names the stage).
ProgressFn = Callable[[int, int, str], None]


@dataclass
class Reproduction:
    """What :func:`reproduce` produced: the table, the trends, the series and where it wrote."""

    table: list[dict]
    trends: list[dict]
    fluence: FluenceSeries
    composition: CompositionSeries
    sigma_inh: dict[float, tuple]
    maps: dict[str, dict]
    geometry: dict
    measurements: dict
    settings: Settings
    wall_s: float
    equilibrium: EquilibriumTransport
    out_dir: Path | None = None
    figures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The ``reproduce.json`` content."""
        from tamkit import __version__

        fl = self.fluence
        return {
            "schema": SCHEMA,
            "tamkit_version": __version__,
            "paper": "Liu et al. 2021, nonequilibrium transport in CQD solids",
            "settings": {"quick": self.settings.quick, "n_runs": self.settings.n_runs,
                         "n_spots": self.settings.n_spots,
                         "n_bootstrap": self.settings.n_bootstrap,
                         "n_delays": int(self.settings.delay_fs.size),
                         "workers": self.settings.workers,
                         "max_regimes": self.settings.max_regimes},
            "wall_time_s": self.wall_s,
            "table": self.table,
            "trends": self.trends,
            "fluence_series": fl.to_dict(),
            "composition_series": self.composition.to_dict(),
            "bleach": {name: {"perovskite_vol_percent": m["perovskite_vol_percent"],
                              "measured": m["bleach"], "perovskite_peak_nm":
                              m["perovskite_peak_nm"], "notes": m["notes"], "truth": m["truth"]}
                       for name, m in self.maps.items()},
            "geometry_model": {k: v for k, v in self.geometry.items() if k != "presets"},
            "equilibrium_transport": self.equilibrium.summary(),
            "measurements": {key: {"film": m.spec.film, "nabs": m.spec.nabs, "seed": m.spec.seed,
                                   "wall_s": m.wall_s, "summary": m.result.summary(),
                                   "warnings": m.result.warnings,
                                   "single_run_precision": m.precision,
                                   "truth": {k: m.truth.get(k) for k in
                                             ("sigma0_nm", "band_like", "precision")}}
                             for key, m in self.measurements.items()},
            "figures": self.figures,
        }


def _sigma_inh_by_vol(maps: dict[str, dict]) -> dict[float, tuple]:
    out = {}
    for m in maps.values():
        b = m["bleach"] or {}
        out[m["perovskite_vol_percent"]] = (b.get("sigma_inh_meV"), b.get("sigma_inh_err_meV"))
    return out


def reproduce(
    out_dir: str | Path | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    progress: ProgressFn | None = None,
    force: bool = False,
    workers: int | None = None,
    max_regimes: int | None = None,
) -> Reproduction:
    """Reproduce the paper's Figs. 2a, 2d, 3a-c, 4a-d and its table through the whole loop.

    Parameters
    ----------
    out_dir : str or Path, optional
        Folder for the figures and ``reproduce.json`` (written atomically; refused if it exists
        and ``force`` is false). None: compute only.
    quick : bool
        Fewer runs, spots, delays and bootstrap replicates (a test run, ~1 min on 2 cores).
    seed : int
        Seed of every simulation (each measurement gets its own child seed).
    progress : callable, optional
        ``progress(done, total, label)`` as simulations and analyses finish.
    force : bool
        Replace an existing ``out_dir``.
    workers : int, optional
        Parallel processes (default: up to 2).
    max_regimes : int, optional
        Largest number of power-law regimes of the transport fit (BIC picks 1..max_regimes);
        default: the pipeline's (:func:`tamkit.carrier_transport.analysis.transport`).

    Returns
    -------
    Reproduction
    """
    start = time.perf_counter()
    if max_regimes is not None and not 1 <= int(max_regimes) <= 6:
        raise InputError(f"max_regimes must be between 1 and 6, got {max_regimes}")
    settings = Settings.make(quick, workers, max_regimes)
    specs = measurement_specs(seed)
    tamap_films = list(COMPOSITION_FILMS)
    total = len(specs) + len(tamap_films) + 3
    done = [0]

    def tick(label: str) -> None:
        done[0] += 1
        if progress:
            progress(done[0], total, label)

    target = (atomic_output_dir(out_dir, force=force) if out_dir is not None
              else contextlib.nullcontext(None))
    with target as tmp:
        measurements, maps, equilibrium = run_all(specs, tamap_films, settings, seed,
                                                  progress=tick)
        geometry = geometry_curve()
        fluence_keys = [f"cqd@{n:g}" for n in FLUENCES_NABS]
        fluence = fluence_series([measurements[k].result for k in fluence_keys],
                                 list(FLUENCES_NABS), n_bootstrap=settings.n_bootstrap // 2,
                                 seed=seed, stacks=[measurements[k].stack for k in fluence_keys],
                                 carrier_sigma_nm=Microscope().pump_sigma_nm)
        comp_keys = [f"{name}@{COMPOSITION_NABS:g}" for name in COMPOSITION_FILMS]
        sigma_inh = _sigma_inh_by_vol(maps)
        vols = [COMPOSITION_FILMS[k.split("@")[0]] for k in comp_keys]
        comp = composition_series([measurements[k].result for k in comp_keys], vols,
                                  [sigma_inh.get(v, (None, None))[0] for v in vols])
        tick("series")
        table = build_table(measurements, maps, geometry, settings, equilibrium)
        trends = fluence_trends(fluence) + composition_trends(comp, sigma_inh)
        rep = Reproduction(table, trends, fluence, comp, sigma_inh, maps, geometry, measurements,
                           settings, 0.0, equilibrium)
        if tmp is not None:
            rep.figures = write_figures(tmp, geometry=geometry, maps=maps, fluence=fluence,
                                        comp=comp, sigma_inh=sigma_inh,
                                        low_truth=measurements["cqd@0.045"].truth,
                                        fluence_truths=[measurements[f"cqd@{m.value:g}"].truth
                                                        for m in fluence.members])
        tick("figures")
        rep.wall_s = time.perf_counter() - start
        if tmp is not None:
            doc = rep.to_dict()
            write_json(tmp / "reproduce.json", doc)
            write_page(to_jsonable(doc), tmp)
    if out_dir is not None:
        rep.out_dir = Path(out_dir)
    return rep
