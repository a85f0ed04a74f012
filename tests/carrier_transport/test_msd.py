import numpy as np
import pytest

from tamkit.carrier_transport.msd import (
    diffusivity_cm2_s,
    local_exponent,
    msd_from_sigma,
    transport_length_nm,
)


def test_msd_error_propagation_matches_monte_carlo():
    rng = np.random.default_rng(1)
    sigma, dsigma, s0, ds0 = 160.0, 2.0, 141.0, 1.0
    draws = (sigma + dsigma * rng.standard_normal(200_000)) ** 2 - (
        s0 + ds0 * rng.standard_normal(200_000)
    ) ** 2
    msd, err = msd_from_sigma(np.array([sigma]), np.array([dsigma]), s0, ds0)
    assert msd[0] == pytest.approx(sigma**2 - s0**2)
    # linear propagation is exact to O(dsigma/sigma) ~ 1 %; MC error on a std with 2e5 draws ~0.2 %
    assert err[0] == pytest.approx(draws.std(), rel=0.02)


def test_diffusivity_units_and_paper_check():
    # 1 nm^2/fs = 10 cm^2/s; the paper's 102 cm^2/s over 300 fs gives MSD = 6120 nm^2 (78 nm)
    d, _ = diffusivity_cm2_s(np.array([6120.0]), np.array([0.0]), np.array([300.0]))
    assert d[0] == pytest.approx(102.0)
    length, _ = transport_length_nm(np.array([6120.0]), np.array([10.0]))
    assert length[0] == pytest.approx(78.23, abs=0.01)
    d0, _ = diffusivity_cm2_s(np.array([0.0]), np.array([1.0]), np.array([0.0]))
    assert np.isnan(d0[0])


@pytest.mark.parametrize("alpha", [0.3, 1.0, 1.7])
def test_local_exponent_exact_power_law(alpha):
    t = np.geomspace(10, 1e5, 30)
    msd = 50.0 * t**alpha
    a = local_exponent(t, msd, 0.01 * msd)
    assert np.allclose(a, alpha, atol=1e-9)


def test_local_exponent_ignores_insignificant_msd():
    t = np.geomspace(10, 1e4, 20)
    msd = np.full(t.size, 5.0)
    a = local_exponent(t, msd, np.full(t.size, 10.0))
    assert np.all(np.isnan(a))
