"""Inference on a simulated cqd fluence series: simulator -> microscope -> analysis -> posterior.

A cheaper acquisition than the paper's (10 runs x 5 spots, delays to 3 ps) keeps it under a
minute; the default series (50 runs, delays to 1 ns) is the closing note's check.
"""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.core.acquisition import tam_delays_fs
from tamkit.infer import infer_film
from tamkit.infer.data import from_frames
from tamkit.preprocessing.differential import preprocess
from tamkit.sim.film import film_preset
from tamkit.sim.scenario import simulate_measurement
from tamkit.workflows.analysis import analyze

FREE = ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa")


@pytest.mark.slow
def test_simulated_cqd_series_recovers_the_band_like_parameters(chain_cache):
    film = film_preset("cqd")
    delays = tam_delays_fs(t_max_fs=3000.0, n_log=6)
    series = []
    for i, nabs in enumerate((0.045, 0.09, 0.18)):
        m = simulate_measurement(film, nabs, delay_fs=delays, seed=40 + i)
        result = analyze(preprocess(m.raw), pitch_nm=film.pitch_nm, n_bootstrap=100,
                         max_regimes=2, seed=i).result
        series.append(from_frames(f"sim {nabs:g}", nabs, result.frames, result.sigma0_nm,
                                  result.sigma0_err_nm, 1000.0))
    res = infer_film(series, film="cqd", n_steps=600, burn=200, seed=3, cache=chain_cache)
    determined = [k for k in FREE if res.parameters[k]["determined"]]
    assert len(determined) >= 4
    for k in FREE:
        p, truth = res.parameters[k], getattr(film, k)
        assert p["ci95"][0] < truth < p["ci95"][1], (k, truth, p["ci95"])
        assert abs(p["median"] / truth - 1) < 0.2, (k, p["median"], truth)
    assert np.all(np.array(res.chi2()) < 2.0)
