"""The on-disk cache of the fit-chain emulator (:mod:`tamkit.infer.chain`), trained on Dask.

An entry is keyed by the film base, the simulator version (tamkit's version and a hash of the
simulator sources the emulator runs: microscope, spot, truth fit) and the training design (the
MSD grid, levels, <N_abs>, microscope): change any and the table is recomputed. The folder is
``$TAMKIT_CACHE_DIR/infer`` or ``~/.cache/tamkit/infer``. Missing entries are computed as one
Dask task per <N_abs> (threads by default, or any ``distributed`` scheduler address).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tamkit.core.errors import InputError
from tamkit.sim.film import Film
from tamkit.sim.microscope import Microscope

#: Simulator sources the emulator depends on (relative to the tamkit package).
SIMULATOR_SOURCES = ("sim/microscope.py", "sim/spot.py", "sim/truth.py", "sim/hopping.py",
                     "sim/kmc.py", "sim/landscape.py", "models/excitation.py", "infer/chain.py",
                     "infer/surrogate.py")


#: Named Dask schedulers the emulator training runs on (else a ``distributed`` address).
LOCAL_SCHEDULERS = ("threads", "sync", "processes")


def _default_cache_dir() -> Path:
    root = os.environ.get("TAMKIT_CACHE_DIR")
    return Path(root) / "infer" if root else Path.home() / ".cache" / "tamkit" / "infer"


def check_cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache folder, checked without creating it: :class:`InputError` if it, or the
    nearest of its parents that exists, is not a folder (checked before any training)."""
    p = _default_cache_dir() if path is None else Path(path)
    if not str(path if path is not None else p).strip():
        raise InputError("the cache folder's name is empty")
    for folder in (p, *p.absolute().parents):
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                what = "is" if folder == p else f"lies in {folder}, which is"
                raise InputError(f"cache folder {p} {what} a file, not a folder; "
                                 "give a folder with --cache")
            break
    return p


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache folder (created); :class:`InputError` if it cannot be."""
    p = check_cache_dir(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the cache folder {p}: {exc.strerror or exc}") from None
    return p


def check_scheduler(scheduler: str | None) -> str | None:
    """``scheduler`` if it is None, one of :data:`LOCAL_SCHEDULERS` or an address
    ``proto://host:port``; :class:`InputError` otherwise."""
    if scheduler is None or scheduler in LOCAL_SCHEDULERS:
        return scheduler
    _, sep, rest = str(scheduler).strip().partition("://")
    host, colon, port = rest.rpartition(":")
    if not (sep and colon and host and port.isdigit()):
        raise InputError(f"--scheduler must be {', '.join(LOCAL_SCHEDULERS)} or a scheduler "
                         f"address such as tcp://host:8786, got {scheduler!r}")
    return str(scheduler).strip()


def simulator_version() -> str:
    """tamkit's version plus a short hash of the simulator sources the emulator runs."""
    import tamkit

    root = Path(tamkit.__file__).parent
    h = hashlib.sha256()
    for rel in SIMULATOR_SOURCES:
        f = root / rel
        h.update(f.read_bytes() if f.exists() else rel.encode())
    return f"{tamkit.__version__}+{h.hexdigest()[:12]}"


def entry_key(film: Film, nabs: float, microscope: Microscope, design: dict) -> str:
    """The cache key (sha256 hex) of one table."""
    doc = {"film": film.to_dict(), "simulator": simulator_version(), "nabs": float(nabs),
           "microscope": microscope.to_dict(), "design": design}
    text = json.dumps(doc, sort_keys=True, default=lambda v: np.asarray(v).tolist())
    return hashlib.sha256(text.encode()).hexdigest()


def chain_tables(film: Film, nabs: Sequence[float], microscope: Microscope | None = None, *,
                 folder: str | os.PathLike | None = None, scheduler: str | None = None,
                 ) -> tuple[list[np.ndarray], dict]:
    """The fit-chain tables of each <N_abs>, from the cache or trained on Dask.

    Returns the tables and a record ``{"folder", "keys", "hits", "trained", "train_s"}``.
    """
    import time

    from tamkit.infer.chain import MSD_GRID_NM2, RHO_GRID, SURVIVAL_STEP, fit_table
    from tamkit.infer.forward import N_LEVELS

    microscope = microscope or Microscope()
    design = {"msd_grid_nm2": MSD_GRID_NM2, "rho_grid": RHO_GRID, "n_levels": N_LEVELS,
              "survival_step": SURVIVAL_STEP, "method": "reference-spot finite differences"}
    folder = cache_dir(folder)
    keys = [entry_key(film, n, microscope, design) for n in nabs]
    tables: list[np.ndarray | None] = []
    for k in keys:
        f = folder / f"chain-{k[:24]}.npy"
        tables.append(np.load(f) if f.exists() else None)
    missing = [i for i, t in enumerate(tables) if t is None]
    start = time.perf_counter()
    if missing:
        import dask

        tasks = [dask.delayed(fit_table)(float(nabs[i]), N_LEVELS, microscope)
                 for i in missing]
        if scheduler and scheduler not in ("threads", "sync", "processes"):
            from distributed import Client

            with Client(scheduler) as client:
                computed = client.compute(tasks, sync=True)
        else:
            computed = dask.compute(*tasks, scheduler=scheduler or "threads")
        for i, table in zip(missing, computed, strict=True):
            tables[i] = np.asarray(table)
            tmp = folder / f".chain-{keys[i][:24]}.{os.getpid()}.npy"
            np.save(tmp, tables[i])
            os.replace(tmp, folder / f"chain-{keys[i][:24]}.npy")
    record = {"folder": str(folder), "simulator": simulator_version(), "keys": keys,
              "hits": len(nabs) - len(missing), "trained": len(missing),
              "train_s": time.perf_counter() - start if missing else 0.0}
    return [np.asarray(t) for t in tables], record


def late_stage_tables(film: Film, levels_per_measurement: Sequence[np.ndarray],
                      window_fs: float, *, folder: str | os.PathLike | None = None,
                      scheduler: str | None = None, seed: int = 0,
                      ) -> tuple[list[np.ndarray], dict]:
    """Surrogate coefficients (:mod:`tamkit.infer.surrogate`) per measurement, cached.

    The unique local densities of all measurements are trained together (one Dask task each).
    """
    import time

    from tamkit.infer.surrogate import N_TIMES, REALISATIONS, TARGET_CARRIERS, train_late_stage

    folder = cache_dir(folder)
    design = {"window_fs": float(window_fs), "n_times": N_TIMES, "seed": int(seed),
              "target_carriers": TARGET_CARRIERS, "realisations": list(REALISATIONS),
              "columns": "h, q, survival"}
    levels = sorted({round(float(v), 12) for lv in levels_per_measurement for v in lv})
    doc = {"film": film.to_dict(), "simulator": simulator_version(), "levels": levels,
           "design": design, "kind": "late-stage"}
    key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    path = folder / f"late-{key[:24]}.npy"
    start = time.perf_counter()
    trained = not path.exists()
    if trained:
        coef = train_late_stage(film, levels, window_fs, seed=seed, scheduler=scheduler)
        tmp = folder / f".late-{key[:24]}.{os.getpid()}.npy"
        np.save(tmp, coef)
        os.replace(tmp, path)
    else:
        coef = np.load(path)
    index = {v: i for i, v in enumerate(levels)}
    tables = [coef[[index[round(float(v), 12)] for v in lv]] for lv in levels_per_measurement]
    record = {"key": key, "trained": bool(trained), "n_levels": len(levels),
              "train_s": time.perf_counter() - start if trained else 0.0}
    return tables, record
