"""The closed-form Jacobians of the MSD models (tamkit.globalfit.msd_batch) against central
differences, and the batch of parameter rows against one row at a time."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.globalfit.msd_models import candidate_models

T_RANGE = (10.0, 1e6)
DELAYS = np.concatenate([[-20.0, 0.0], np.geomspace(10.0, 1e6, 97)])


def _theta(model, rng):
    breaks = (300.0, 3000.0)[:max(model.k - 1, 0)] if model.family == "piecewise" else None
    theta = model.start(2.0e4, lambda t: 50.0, 300.0, breaks_fs=breaks)
    lo, hi = model.bounds()
    theta = theta + rng.normal(0.0, 0.1, theta.size)
    return np.clip(theta, lo + 1e-3, np.where(np.isfinite(hi), hi - 1e-3, hi))


@pytest.mark.parametrize("model", candidate_models(T_RANGE), ids=lambda m: m.name)
def test_closed_form_jacobian_matches_central_differences(model):
    rng = np.random.default_rng(3)
    for _ in range(4):
        theta = _theta(model, rng)
        jac = model.sigma_sq_jacobian(DELAYS, theta)
        fd = model.sigma_sq_jacobian_fd(DELAYS, theta)
        scale = np.max(np.abs(fd), axis=0) + 1e-12
        assert np.max(np.abs(jac - fd) / scale) < 1e-5
        assert np.all(jac[DELAYS <= 0, 1:] == 0)


@pytest.mark.parametrize("model", candidate_models(T_RANGE), ids=lambda m: m.name)
def test_rows_are_the_single_evaluations(model):
    rng = np.random.default_rng(4)
    rows = np.array([_theta(model, rng) for _ in range(3)])
    s2, jac = model.sigma_sq_rows(DELAYS, rows)
    for theta, s2_row, jac_row in zip(rows, s2, jac, strict=True):
        np.testing.assert_allclose(s2_row, model.sigma_sq_nm2(DELAYS, theta), rtol=1e-12)
        np.testing.assert_array_equal(jac_row, model.sigma_sq_jacobian(DELAYS, theta))


def test_a_delay_on_a_sharp_break_takes_the_mean_slope():
    model = candidate_models(T_RANGE)[-2]  # piecewise 2 regimes, break at 300 fs
    theta = np.array([2.0e4, 4.0, 1.5, 0.5, np.log(300.0)])
    t = np.array([300.0])
    jac = model.sigma_sq_jacobian(t, theta)
    np.testing.assert_allclose(jac, model.sigma_sq_jacobian_fd(t, theta), rtol=1e-5)
    # d sigma^2 / d ln b_1 = -M (alpha_1 + alpha_2) / 2 at t = b_1
    assert jac[0, 4] == pytest.approx(-np.exp(4.0) * (1.5 + 0.5) / 2, rel=1e-12)
