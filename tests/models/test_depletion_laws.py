"""Depletion laws of a Gaussian spot: bimolecular and saturating, against their analytic limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from tamkit.core.errors import InputError
from tamkit.models.depletion_laws import (
    auger_depletion_msd_nm2,
    bimolecular_profile,
    bimolecular_spot_fraction,
    saturating_profile,
    saturating_spot_fraction,
)


def _spot_integral(profile_of_g):
    """integral over the plane of profile(g(r)) / integral g, g = exp(-r^2 / 2) (sigma = 1)."""
    num, _ = quad(lambda r: 2 * math.pi * r * profile_of_g(math.exp(-0.5 * r * r)), 0, 40)
    return num / (2 * math.pi)


def test_bimolecular_profile_solves_dn_dt_minus_k_n2():
    g, k = np.linspace(0.0, 1.0, 11), 0.7
    t, h = 1.3, 1e-5
    n = bimolecular_profile(g, k * t)
    dndt = (bimolecular_profile(g, k * (t + h)) - bimolecular_profile(g, k * (t - h))) / (2 * h)
    np.testing.assert_allclose(dndt, -k * n**2, rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(bimolecular_profile(g, 0.0), g)


@pytest.mark.parametrize("c", [1e-3, 0.3, 1.0, 10.0, 1e3])
def test_bimolecular_spot_fraction_is_the_integral_of_the_profile(c):
    # ln(1 + c) / c for a 2D Gaussian
    assert bimolecular_spot_fraction(c) == pytest.approx(
        _spot_integral(lambda g: bimolecular_profile(g, c)), rel=1e-8)


def test_bimolecular_spot_fraction_limits():
    assert bimolecular_spot_fraction(0.0) == 1.0
    # first order: 1 - c/2, continuous across the series switch at 1e-8
    assert bimolecular_spot_fraction(1e-6) == pytest.approx(1 - 5e-7, rel=1e-12)
    below, above = bimolecular_spot_fraction([0.99e-8, 1.01e-8])
    assert below == pytest.approx(above, rel=1e-9)
    # large c: ln(c) / c
    assert bimolecular_spot_fraction(1e9) == pytest.approx(math.log(1e9) / 1e9, rel=1e-8)


@pytest.mark.parametrize("f", [0.0, 0.01, 0.2, 0.5])
def test_saturating_profile_loses_exactly_the_fraction(f):
    assert _spot_integral(lambda g: saturating_profile(g, f)) == pytest.approx(1 - f, rel=1e-10)
    # the profile stays non-negative up to f = 1/2 (the centre empties at f = 1/2)
    g = np.linspace(0, 1, 101)
    assert np.all(saturating_profile(g, f) >= -1e-15)


def test_saturating_spot_fraction_limits():
    assert saturating_spot_fraction(0.0, 0.1, 5000.0) == 1.0
    assert saturating_spot_fraction(1e9, 0.1, 5000.0) == pytest.approx(0.9)
    one_tau = 1 - 0.1 * (1 - 1 / math.e)
    assert saturating_spot_fraction(5000.0, 0.1, 5000.0) == pytest.approx(one_tau)


def test_auger_depletion_small_c_slopes():
    # n / n_peak = u - c u^2 to first order: the per-axis variance grows by sigma^2 c / 4 in 2D
    # and by sigma^2 c / (2 sqrt 2) along a line through the centre
    sigma, c = 141.0, 1e-4
    assert auger_depletion_msd_nm2(sigma, c, ndim=2)[0] == pytest.approx(sigma**2 * c / 4,
                                                                         rel=1e-3)
    assert auger_depletion_msd_nm2(sigma, c, ndim=1)[0] == pytest.approx(
        sigma**2 * c / (2 * math.sqrt(2)), rel=1e-3)
    assert auger_depletion_msd_nm2(sigma, 0.0)[0] == 0.0
    with pytest.raises(InputError):
        auger_depletion_msd_nm2(sigma, -1.0)
