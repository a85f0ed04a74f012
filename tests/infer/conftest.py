"""Fixtures of the inference tests: a synthetic cqd fluence series as analysis results."""

from __future__ import annotations

import numpy as np
import pytest

FREE = ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa")
NABS = (0.045, 0.09, 0.18)


@pytest.fixture(scope="session")
def chain_cache(tmp_path_factory):
    """One emulator cache folder for the whole session (trained once, ~1 s)."""
    return tmp_path_factory.mktemp("infer-cache")


def series_delays() -> np.ndarray:
    """The paper's early delays: 20 fs steps to 1 ps, then a few later frames."""
    return np.r_[np.arange(20.0, 1001.0, 20.0), [1200.0, 1500.0, 2000.0]]


@pytest.fixture(scope="session")
def results_series(tmp_path_factory, chain_cache):
    """results.json files of a cqd series whose widths follow the forward model (mild noise)."""
    from tamkit.carrier_transport.analysis import transport
    from tamkit.infer.cache import chain_tables
    from tamkit.infer.forward import BandLikeForward
    from tamkit.io.results import results_record, write_results
    from tamkit.sim.film import film_preset
    from tamkit.testing.artificial import fits_table

    film = film_preset("cqd")
    t = np.r_[-200.0, -100.0, series_delays()]
    tables, _ = chain_tables(film, NABS, folder=chain_cache)
    fw = BandLikeForward(film, NABS, [t[t > 0]] * 3, FREE, chain=tables)
    models = fw.msd_nm2(np.array([[getattr(film, k) for k in FREE]]))
    root = tmp_path_factory.mktemp("series")
    paths = []
    for i, (n, m) in enumerate(zip(NABS, models, strict=True)):
        msd = np.zeros_like(t)
        msd[t > 0] = m[0]
        fits = fits_table(t, msd, sigma_err_nm=0.5, seed=i)
        result = transport(fits, pitch_nm=film.pitch_nm, n_bootstrap=4, max_regimes=2, seed=i)
        folder = root / f"an_{n:g}"
        folder.mkdir()
        write_results(results_record(result, {"nabs": n, "sample": "cqd"}),
                      folder / "results.json")
        paths.append(folder)
    return paths
