"""Calibration of the reported errors, fast: bands that a doubled or halved error fails.

The full study is ``benchmarks/calibration.py`` (100+ realisations per family); these tests
keep its conclusions from regressing in a few seconds each.
"""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tamkit.carrier_transport.analysis import transport

DATA = Path(__file__).parent / "data" / "cqd_fits_seeds100-115.csv"
#: the simulator's band-like truth for these stacks (the header of the data file)
CQD_TRUTH = {"tau": 306.619, "D_max": 106.082, "length": 80.6555, "sigma0": 141.004}


def _cqd_fits():
    raw = np.genfromtxt(DATA, delimiter=",", comments="#", skip_header=1, dtype=None,
                        encoding="utf-8", names=True)
    out = {}
    for seed in np.unique(raw["seed"]):
        rows = raw[raw["seed"] == seed]
        out[int(seed)] = xr.Dataset(
            {"sigma_nm": ("delay", rows["sigma_nm"].astype(float)),
             "sigma_err_nm": ("delay", rows["sigma_err_nm"].astype(float)),
             "status": ("delay", rows["status"].astype(str))},
            coords={"delay": rows["delay_fs"].astype(float)})
    return out


@pytest.fixture(scope="module")
def cqd_results():
    return {seed: transport(fits, pitch_nm=3.0, max_regimes=4, n_bootstrap=30, seed=seed)
            for seed, fits in _cqd_fits().items()}


def test_band_like_errors_never_explode_on_resolved_stacks(cqd_results):
    # before: on seeds 101, 107 and 109 the bootstrap gave tau errors of 131-150 fs (4-6x the
    # typical 25 fs), because ~half the replicates put the D(t) maximum on the window's edge
    for name in ("tau_err_fs", "length_err_nm", "D_max_err_cm2_s"):
        errs = np.array([getattr(r.band_like, name) for r in cqd_results.values()])
        assert np.all(np.isfinite(errs)), name
        assert errs.max() < 2.5 * np.median(errs), (name, errs.max(), np.median(errs))


@pytest.mark.parametrize("name,field,err_field", [
    ("tau", "tau_fs", "tau_err_fs"),
    ("length", "length_nm", "length_err_nm"),
    ("D_max", "D_max_cm2_s", "D_max_err_cm2_s"),
])
def test_band_like_errors_match_the_scatter_over_stacks(cqd_results, name, field, err_field):
    # 16 stacks: the SD of 16 estimates is known to ~18 %, so a median error within 0.65-1.55
    # of the scatter fails an error doubled (~2) or halved (~0.5); the estimate is held to the
    # simulator's truth within its error (mean pull: SE 0.25)
    est = np.array([getattr(r.band_like, field) for r in cqd_results.values()])
    err = np.array([getattr(r.band_like, err_field) for r in cqd_results.values()])
    ratio = np.median(err) / np.std(est, ddof=1)
    assert 0.65 < ratio < 1.55, (name, ratio)
    pull = (est - CQD_TRUTH[name]) / err
    assert abs(np.mean(pull)) < 0.8, (name, np.mean(pull))
    assert 0.6 < np.std(pull, ddof=1) < 1.6, (name, np.std(pull, ddof=1))


def test_sigma0_error_matches_the_scatter_over_stacks(cqd_results):
    est = np.array([r.sigma0_nm for r in cqd_results.values()])
    err = np.array([r.sigma0_err_nm for r in cqd_results.values()])
    assert 0.65 < np.median(err) / np.std(est, ddof=1) < 1.55
    assert abs(np.mean((est - CQD_TRUTH["sigma0"]) / err)) < 0.8


def test_edge_replicates_are_counted_and_left_out(cqd_results):
    # seed 101: the stack on which the old bootstrap exploded holds edge replicates
    peak = cqd_results[101].early_fit
    assert peak is not None and peak.n_edge_replicates > 0
    tau_boot = peak.samples[:, 0]
    assert tau_boot.min() > 20.0 + 1e-6  # none sits on the first delay
