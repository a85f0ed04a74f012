"""The band-like regime's test and metrics, on piecewise fits made from known curves."""

import numpy as np
import pytest

from tamkit.carrier_transport.band_like import band_metrics, bootstrap_rows, is_band_like
from tamkit.carrier_transport.regimes import fit_regimes
from tamkit.models.msd_laws import piecewise_power_law_msd_nm2
from tamkit.testing.artificial import tam_delays_fs


def _fit(alphas, breaks, seed=0, n_bootstrap=20):
    t = tam_delays_fs()
    t = t[t >= 0]
    msd = piecewise_power_law_msd_nm2(t, breaks, alphas, 6000.0)
    sigma = np.sqrt(141.0**2 + msd) + 0.2 * np.random.default_rng(seed).standard_normal(t.size)
    return fit_regimes(t, sigma**2, 2 * sigma * 0.2, max_regimes=len(alphas),
                       n_bootstrap=n_bootstrap, seed=seed)


def test_metrics_keep_length_squared_equal_to_two_D_tau():
    # at tau the piecewise MSD is exactly its anchor, and D(tau) = MSD / 2 tau by definition
    tau, msd, d = band_metrics(np.log(6000.0), np.array([1.2, 0.5]), np.array([300.0]),
                               (20.0, 1e6), 1.0)
    assert tau == 300.0
    assert msd == pytest.approx(6000.0)
    assert 2 * d * tau == pytest.approx(msd)


@pytest.mark.parametrize("alphas, expected", [((1.2, 0.5), True), ((0.6, 0.3), False),
                                              ((1.2, 1.6), False)])
def test_band_like_needs_a_fast_first_regime_that_slows(alphas, expected):
    fit = _fit(alphas, (300.0,))
    assert fit.n_regimes == 2
    assert bool(is_band_like(fit, 0.05)) is expected


def test_bootstrap_rows_unpack_every_replicate():
    fit = _fit((1.2, 0.5), (300.0,))
    rows = list(bootstrap_rows(fit))
    assert len(rows) == len(fit.bootstrap) > 0
    s0sq, log_m, alphas, breaks = rows[0]
    assert alphas.shape == (2,) and breaks.shape == (1,) and breaks[0] > 0
