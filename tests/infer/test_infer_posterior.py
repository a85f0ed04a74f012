"""Self-consistency: noiseless data from the model give a posterior around the truth."""

from __future__ import annotations

import numpy as np

from tamkit.infer import Measured, infer_film
from tamkit.infer.cache import chain_tables
from tamkit.infer.forward import BandLikeForward
from tamkit.infer.summary import DETERMINED_FRACTION
from tamkit.sim.film import film_preset, with_changes

FREE = ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa")
NABS = (0.045, 0.09, 0.18)


def _noiseless_series(film, cache):
    t = np.arange(20.0, 1001.0, 20.0)
    tables, _ = chain_tables(film_preset("cqd"), NABS, folder=cache)
    fw = BandLikeForward(film, NABS, [t] * 3, FREE, chain=tables)
    models = fw.msd_nm2(np.array([[getattr(film, k) for k in FREE]]))
    # band-like model only (late_stage=False below); errors like a default measurement's:
    # ~300 nm^2 floor plus 3 % of the MSD
    return [Measured(f"noiseless {n:g}", n, t, m[0], 300.0 + 0.03 * m[0], 141.0, 0.5)
            for n, m in zip(NABS, models, strict=True)]


def test_noiseless_posterior_contains_the_truth(chain_cache):
    truth = with_changes(film_preset("cqd"), coupling_meV=60.0, tau_c0_fs=150.0,
                         scatter_per_nabs=0.05, kappa=25.0)
    series = _noiseless_series(truth, chain_cache)
    result = infer_film(series, film="cqd", n_steps=500, burn=200, seed=1, cache=chain_cache,
                         late_stage=False)
    for name in FREE:
        p = result.parameters[name]
        value = getattr(truth, name)
        assert p["ci95"][0] < value < p["ci95"][1], (name, value, p["ci95"])
        assert abs(p["median"] / value - 1) < 0.1, (name, p["median"], value)
        assert p["determined"] and p["posterior_to_prior_sd"] <= DETERMINED_FRACTION
    assert 0.2 < result.chain.acceptance < 0.8
    assert result.cache["hits"] == 3  # trained once per session, then read back


def test_kappa_and_sigma_inh_together_are_not_both_determined(chain_cache):
    film = film_preset("cqd")
    series = _noiseless_series(film, chain_cache)
    result = infer_film(series, film="cqd", free=("coupling_meV", "tau_c0_fs",
                                                  "scatter_per_nabs", "kappa", "sigma_inh_meV"),
                        n_steps=400, burn=150, seed=2, cache=chain_cache,
                        late_stage=False)
    # only lambda = sigma_inh / (kappa hbar) enters: the pair is degenerate
    assert result.correlations["kappa"]["sigma_inh_meV"] > 0.9
    assert not (result.parameters["kappa"]["determined"]
                and result.parameters["sigma_inh_meV"]["determined"])
    assert any("strongly correlated" in s and "sigma_inh_meV" in s for s in result.statements)


def test_a_ta_map_sigma_inh_separates_kappa(chain_cache, tmp_path):
    import json

    film = film_preset("cqd")
    spectro = tmp_path / "spectro.json"
    spectro.write_text(json.dumps({
        "schema": "tamkit.spectro/1", "tamkit_version": "0.2.0",
        "bleach": {"sigma_inh_meV": 30.0, "sigma_inh_err_meV": 1.5, "convention": "test"}}))
    result = infer_film(_noiseless_series(film, chain_cache), film="cqd", ta=spectro,
                        n_steps=400, burn=150, seed=4, cache=chain_cache, late_stage=False)
    assert "sigma_inh_meV" in result.free and result.ta["sigma_inh_meV"] == 30.0
    p = result.parameters["kappa"]
    assert p["determined"] and p["ci95"][0] < film.kappa < p["ci95"][1]
    # sigma_inh is then known to ~5 %, and kappa to about as well: the map is what fixes it
    assert result.parameters["sigma_inh_meV"]["posterior_to_prior_sd"] < 0.2
