"""IRF-convolved exponentials: closed form vs numerical convolution, exact derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from tamkit.models.ta_kinetics import (
    artifact_basis_and_derivatives,
    chirp_design,
    exp_irf_basis,
    exp_irf_basis_and_derivatives,
    fwhm_from_sigma,
    sigma_from_fwhm,
)


def _numeric(tau: float, k: float, s: float) -> float:
    """(exp(-k t) H(t)) convolved with a normalised Gaussian, by quadrature."""
    g = lambda u: np.exp(-0.5 * (u / s) ** 2) / (np.sqrt(2 * np.pi) * s)  # noqa: E731
    lo = min(tau, 0.0) - 12 * s
    val, _ = quad(lambda u: g(u) * np.exp(-k * (tau - u)), lo, tau, limit=200,
                  points=[0.0] if lo < 0 < tau else None)
    return val


@pytest.mark.parametrize("k", [0.0, 1e-4, 1e-2, 0.2])
def test_basis_matches_quadrature(k):
    # covers all three branches of the kernel: x < -6, the erfc range and the asymptotic x >= 10
    s = 40.0
    delay = np.array([-300.0, -80.0, -10.0, 0.0, 15.0, 60.0, 250.0, 5000.0])
    got = exp_irf_basis(delay, np.zeros(1), np.array([k]), s)[0, :, 0]
    want = np.array([_numeric(t, k, s) for t in delay])
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-12)


def test_long_delay_limit_is_shifted_exponential():
    # for t >> s the convolution is exp(-k t + k^2 s^2 / 2) exactly (erfc -> 2)
    k, s = 1e-3, 50.0
    t = np.array([2000.0, 10000.0])
    got = exp_irf_basis(t, np.zeros(1), np.array([k]), s)[0, :, 0]
    np.testing.assert_allclose(got, np.exp(-k * t + 0.5 * (k * s) ** 2), rtol=1e-12)


def test_derivatives_match_finite_differences():
    delay = np.linspace(-200, 800, 41)
    t0, rates, s = np.array([30.0, -20.0]), np.array([0.0, 2e-3, 5e-2]), 45.0
    f, d_t0, d_logk, d_logs = exp_irf_basis_and_derivatives(delay, t0, rates, s)
    h = 1e-5
    up, dn = exp_irf_basis(delay, t0 + h, rates, s), exp_irf_basis(delay, t0 - h, rates, s)
    fd_t0 = (up - dn) / (2 * h)
    np.testing.assert_allclose(d_t0, fd_t0, atol=1e-7)
    up = exp_irf_basis(delay, t0, rates * np.exp(h), s)
    dn = exp_irf_basis(delay, t0, rates * np.exp(-h), s)
    np.testing.assert_allclose(d_logk, (up - dn) / (2 * h), atol=1e-7)
    up = exp_irf_basis(delay, t0, rates, s * np.exp(h))
    dn = exp_irf_basis(delay, t0, rates, s * np.exp(-h))
    np.testing.assert_allclose(d_logs, (up - dn) / (2 * h), atol=1e-7)


@pytest.mark.parametrize("order", [0, 1, 2])
def test_artifact_derivatives(order):
    delay = np.linspace(-200, 200, 81)
    t0, s, h = np.array([10.0]), 40.0, 1e-5
    f, d_t0, d_logs = artifact_basis_and_derivatives(delay, t0, s, order)
    fa = lambda t, ss: artifact_basis_and_derivatives(delay, t, ss, order)[0]  # noqa: E731
    np.testing.assert_allclose(d_t0, (fa(t0 + h, s) - fa(t0 - h, s)) / (2 * h), atol=1e-8)
    fd = (fa(t0, s * np.exp(h)) - fa(t0, s * np.exp(-h))) / (2 * h)
    np.testing.assert_allclose(d_logs, fd, atol=1e-7)
    np.testing.assert_allclose(f[0, :, 0], np.exp(-0.5 * ((delay - 10) / s) ** 2))


def test_fwhm_sigma_round_trip():
    assert fwhm_from_sigma(1.0) == pytest.approx(2.354820045)
    assert sigma_from_fwhm(fwhm_from_sigma(37.0)) == pytest.approx(37.0)


def test_chirp_design_is_normalised_frequency():
    wl = np.array([400.0, 500.0, 800.0])
    nu = 1e3 / wl
    x = chirp_design(wl, 2, 0.5 * (nu.max() + nu.min()), 0.5 * (nu.max() - nu.min()))
    np.testing.assert_allclose(x[:, 1], [1.0, (nu[1] - 1.8750) / 0.6250, -1.0])
    np.testing.assert_allclose(x[:, 2], x[:, 1] ** 2)


@settings(max_examples=60, deadline=None)
@given(
    tau=st.floats(-1e6, 1e7),
    log_k=st.floats(-16.0, 2.0),
    sigma=st.floats(1.0, 1e3),
)
def test_basis_is_finite_and_bounded(tau, log_k, sigma):
    # an IRF-smoothed decaying step lies in [0, 1] (an average of values in [0, 1]) and never
    # overflows, whatever the rate, width and delay
    k = float(np.exp(log_k))
    f, d_t0, d_logk, d_logs = exp_irf_basis_and_derivatives(
        np.array([tau]), np.zeros(1), np.array([k, 0.0]), sigma)
    assert np.all(np.isfinite(f)) and np.all(f >= 0) and np.all(f <= 1 + 1e-12)
    assert np.all(np.isfinite(d_t0)) and np.all(np.isfinite(d_logk)) and np.all(np.isfinite(d_logs))
    # the step (k = 0) is at least as large as the decaying component
    assert f[0, 0, 1] >= f[0, 0, 0] - 1e-12
