"""Profile-likelihood errors of the regime fit: the pivot packing, the interval, the errors."""

import numpy as np
import pytest

from tamkit.carrier_transport import regime_profile as rp
from tamkit.carrier_transport import regimes as rg
from tamkit.carrier_transport.regimes_kernel import _row_model, fit_rows, sigma_sq_rows


def _model(p, k, t, pivot):
    log_t = np.log(t)
    s2, jac = np.empty(t.size), np.empty((p.size, t.size))
    _row_model(p, k, log_t, t > 0, float(np.log(300.0)), s2, jac, pivot)
    return s2, jac.T


P4 = rg._pack(2.0e4, np.log(3000.0), np.array([1.2, 0.5, 0.3, 0.1]),
              np.array([300.0, 5.0e3, 1.0e5]))
T = np.geomspace(20.0, 1.0e6, 60)


@pytest.mark.parametrize("pivot", [0, 1, 2])
def test_pivot_packing_is_the_same_curve_and_its_jacobian_is_exact(pivot):
    q = rp._to_pivot(P4[None, :], 4, pivot)[0]
    s2, jac = _model(q, 4, T, pivot)
    assert np.allclose(s2, sigma_sq_rows(P4[None, :], 4, T, 300.0)[0][0], rtol=1e-12)
    for a in range(q.size):
        h = 1e-6 * max(1.0, abs(q[a]))
        up, dn = q.copy(), q.copy()
        up[a] += h
        dn[a] -= h
        numeric = (_model(up, 4, T, pivot)[0] - _model(dn, 4, T, pivot)[0]) / (2 * h)
        assert np.allclose(jac[:, a], numeric, rtol=1e-5, atol=1e-6 * np.abs(s2).max()), a


def test_pivot_bounds_put_the_absolute_break_in_its_slot():
    lo, hi = rg._bounds(4, np.log(T), None)
    plo, phi = rp._pivot_bounds(lo, hi, 4, 2)
    assert (plo[8], phi[8]) == (lo[6], hi[6])  # e_2 takes e_0's absolute bounds
    assert (plo[6], phi[6]) == (lo[7], hi[7])  # slot 6 now holds a gap
    assert np.array_equal(rp._pivot_bounds(lo, hi, 4, 0)[0], lo)


def test_held_parameter_stays_at_its_start():
    lo, hi = rg._bounds(4, np.log(T), None)
    s2 = sigma_sq_rows(P4[None, :], 4, T, 300.0)[0][0]
    start = P4.copy()
    start[3] = 0.6  # alpha_2 held away from the truth
    params, _ = fit_rows(start[None, :], 4, T, 300.0, s2, np.zeros(1, int), np.ones(T.size),
                         lo, hi, hold=3)
    assert params[0, 3] == 0.6
    assert not np.allclose(params[0], start)  # the others moved


@pytest.mark.parametrize("sigma", [0.01, 0.3])
def test_half_width_of_a_parabola_is_exact(sigma):
    grid = np.linspace(-1.0, 1.0, 41) ** 3
    a, b = rp._half_width(grid, ((grid - 0.01) / sigma) ** 2, 20)
    assert (a, b) == pytest.approx((0.01 - sigma, 0.01 + sigma), abs=1e-9)


def test_half_width_without_a_crossing_is_the_grid_edge():
    grid = np.linspace(-1.0, 1.0, 11)
    assert rp._half_width(grid, np.zeros(11), 5) == (-1.0, 1.0)
    assert rp._half_width(grid, np.where(grid > 0.5, np.nan, 0.0), 5) == pytest.approx((-1.0, 0.4))


def _two_regimes(noise, seed):
    t = np.geomspace(20.0, 2.0e5, 50)
    p = rg._pack(2.0e4, np.log(4000.0), np.array([1.1, 0.5]), np.array([1000.0]))
    s2 = sigma_sq_rows(p[None, :], 2, t, 300.0)[0][0]
    err = np.full(t.size, noise)
    return t, s2 + err * np.random.default_rng(seed).standard_normal(t.size), err


def test_profile_errors_match_the_fisher_errors_of_well_measured_data():
    t, s2, err = _two_regimes(noise=2.0, seed=0)
    fit = rg.fit_regimes(t, s2, err, max_regimes=2, n_bootstrap=40, seed=0)
    assert fit.n_regimes == 2
    p = fit.packed()
    jac = sigma_sq_rows(p[None, :], 2, t, fit.anchor_fs)[1][0] / err[:, None]
    sd = np.sqrt(np.diag(np.linalg.inv(jac.T @ jac)))
    scale = np.sqrt(max(1.0, fit.chi2_red))
    assert fit.profile_alpha_err == pytest.approx(sd[2:4] * scale, rel=0.05)
    break_sd_fs = fit.breaks_fs[0] * sd[4] * scale
    assert fit.profile_break_err_fs[0] == pytest.approx(break_sd_fs, rel=0.05)
