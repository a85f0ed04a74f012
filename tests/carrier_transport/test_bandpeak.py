"""The band-like peak fit: its search over local minima and the bootstrap across them."""

import numpy as np
import pytest

import tamkit.carrier_transport.bandpeak as bp
from tamkit.core.statistics import bootstrap_error
from tamkit.models.msd_laws import piecewise_power_law_msd_nm2
from tamkit.testing.artificial import tam_delays_fs


def _flat_topped(seed):
    """D(t) rises until 150 fs, then stays nearly flat until 600 fs: a peak weakly placed."""
    t = tam_delays_fs()
    t = t[(t >= 0) & (t <= 700)]
    msd = piecewise_power_law_msd_nm2(t, (150.0, 600.0), (2.5, 0.97, 0.3), 2500.0)
    sigma = np.sqrt(141.0**2 + msd) + np.random.default_rng(seed).standard_normal(t.size)
    return t, sigma**2, 2 * sigma


START = dict(sigma0_sq_nm2=141.0**2, msd_break_nm2=2500.0, alphas=(2.5, 0.97), break_fs=150.0)


def _bounds(t):
    lo = np.array([0.0, -30.0, 0.0, -1.0, np.log(t[t > 0][0]), bp.LOG_S_BOUNDS[0]])
    hi = np.array([np.inf, 30.0, 3.0, 2.0, np.log(t[-1]), bp.LOG_S_BOUNDS[1]])
    return lo, hi


@pytest.mark.parametrize("seed", range(6))
def test_minima_are_distinct_sorted_and_no_worse_than_the_corner_starts(seed):
    t, s2, err = _flat_topped(seed)
    lo, hi = _bounds(t)
    minima, cost = bp._local_minima(t, s2, err, lo, hi, **START)
    assert np.all(np.diff(cost) >= 0)
    assert 2 * (cost[-1] - cost[0]) <= bp.BASIN_MAX_DCHI2
    taus = [bp._peak(m, t[t > 0][0], t[-1])[0] for m in minima]
    for i in range(len(taus)):
        for j in range(i):
            assert max(taus[i] / taus[j], taus[j] / taus[i]) > bp.BASIN_MIN_TAU_RATIO
    # the three smoothness starts at the piecewise corner, as the fit began before the grid
    corner = min(
        bp._fit(t, s2, err, np.array([141.0**2, np.log(2500.0), 2.5, 0.97, np.log(150.0),
                                      np.log(smooth)]), lo, hi).cost
        for smooth in bp.START_SMOOTHNESS)
    assert cost[0] <= corner + 1e-6


def test_bootstrap_refits_from_every_competing_minimum(monkeypatch):
    # seed 1 has minima with the peak at 158, 212 and 245 fs within 2 in chi^2: replicates
    # refitted from all of them spread wider than those refitted from the best alone
    t, s2, err = _flat_topped(1)
    kw = dict(START, window_end_fs=700.0, n_bootstrap=200, seed=1)
    several = bp.band_peak(t, s2, err, **kw)
    monkeypatch.setattr(bp, "MAX_BASINS", 1)
    one = bp.band_peak(t, s2, err, **kw)
    assert several.tau_fs == pytest.approx(one.tau_fs)
    assert np.std(several.samples[:, 0]) > 1.1 * np.std(one.samples[:, 0])


@pytest.mark.parametrize("a1, a2, log_s", [(1.1, 0.5, np.log(0.005)), (1.6, 0.3, np.log(0.4)),
                                           (2.0, 0.9, np.log(1.2))])
def test_peak_is_the_exact_maximum_of_D(a1, a2, log_s):
    # the closed form against a dense grid of D(t) = MSD / 2t
    p = np.array([0.0, np.log(5000.0), a1, a2, np.log(300.0), log_s])
    tau, d, msd, interior = bp._peak(p, 1.0, 1.0e6)
    grid = np.geomspace(1.0, 1.0e6, 400_001)
    d_grid = bp.sbpl_msd_nm2(grid, *p[1:]) / (2 * grid)
    assert interior
    assert tau == pytest.approx(grid[np.argmax(d_grid)], rel=1e-4)
    assert d == pytest.approx(d_grid.max(), rel=1e-8) and d >= d_grid.max()
    assert msd == pytest.approx(2 * tau * d)


def test_peak_without_a_rise_sits_on_an_edge():
    falling = np.array([0.0, np.log(5000.0), 0.9, 0.5, np.log(300.0), np.log(0.1)])
    rising = np.array([0.0, np.log(5000.0), 1.5, 1.2, np.log(300.0), np.log(0.1)])
    assert bp._peak(falling, 20.0, 1e5)[0] == 20.0 and not bp._peak(falling, 20.0, 1e5)[3]
    assert bp._peak(rising, 20.0, 1e5)[0] == 1e5 and not bp._peak(rising, 20.0, 1e5)[3]


def _turn(smooth, seed, noise_nm=0.3):
    """sigma_t^2 of an SBPL MSD turning at 300 fs with smoothness ``smooth``, with noise."""
    t = tam_delays_fs()
    t = t[(t >= 0) & (t <= 2.0e4)]
    msd = bp.sbpl_msd_nm2(t, np.log(6000.0), 1.1, 0.5, np.log(300.0), np.log(smooth))
    sigma = np.sqrt(141.0**2 + msd)
    sigma = sigma + noise_nm * np.random.default_rng(seed).standard_normal(t.size)
    return t, sigma**2, 2 * sigma * noise_nm


TURN = dict(sigma0_sq_nm2=141.0**2, msd_break_nm2=6000.0, alphas=(1.1, 0.5), break_fs=300.0,
            window_end_fs=2.0e4, n_bootstrap=40)


def test_shape_systematic_vanishes_where_the_data_exclude_the_corner():
    # a turn spread over a decade, measured well: the corner is far off in chi^2
    t, s2, err = _turn(0.6, seed=3, noise_nm=0.05)
    peak = bp.band_peak(t, s2, err, **TURN)
    assert peak.corner_dchi2 > bp.CORNER_MAX_DCHI2
    assert peak.shape_sys == (0.0, 0.0, 0.0)
    # the smooth truth's peak, L(x/s) = 1/6 at x = s ln(1/5), within 3 bootstrap errors
    err = bootstrap_error(peak.samples[:, 0])
    assert abs(peak.tau_fs - 300.0 * np.exp(0.6 * np.log(0.2))) < 3 * err


def test_shape_systematic_is_the_corner_alternative_where_the_data_allow_it():
    # a nearly sharp turn in noisy data: the corner fits as well, and its peak is later
    t, s2, err = _turn(0.05, seed=0, noise_nm=0.3)
    peak = bp.band_peak(t, s2, err, **TURN)
    assert peak.corner_dchi2 <= bp.CORNER_MAX_DCHI2
    lo, hi = _bounds(t)
    corner, _ = bp._local_minima(t, s2, err, lo[:5], hi[:5], 141.0**2, 6000.0, (1.1, 0.5),
                                 300.0, corner=True)
    tau_c = bp._corner_end(bp._full(corner[:1], True)[0], t[t > 0][0], t[-1])[0]
    assert peak.shape_sys[0] == pytest.approx(abs(tau_c - peak.tau_fs), rel=1e-6)
    assert peak.shape_sys[0] > 0
