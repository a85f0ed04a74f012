"""Composing the pump spot: level weights, overlap integrals, Auger depletion (analytic cases)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import zeta

from tamkit.core.errors import InputError
from tamkit.sim.spot import (
    auger_depletion_msd_nm2,
    default_levels,
    depletion_variance_nm2,
    hat_weights,
    spot_average,
    spot_overlaps,
    spot_population,
)

SIGMA_NM = 133.0


def eta(s: float) -> float:
    """Dirichlet eta function, (1 - 2^(1-s)) zeta(s)."""
    return (1.0 - 2.0 ** (1.0 - s)) * zeta(s)


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-4, 2.0), st.floats(0.5, 3.0))
def test_hat_weights_sum_to_one_and_interpolate_linear_functions(n, slope):
    levels = np.array([0.01, 0.1, 0.3, 1.0])
    w = hat_weights(np.array([n]), levels)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    clamped = np.clip(n, levels[0], levels[-1])
    # linear interpolation reproduces any linear function of N exactly inside the range
    assert (w[:, 0] * slope * levels).sum() == pytest.approx(slope * clamped, rel=1e-12)


def test_default_levels_halve_down_from_nabs():
    np.testing.assert_allclose(default_levels(0.08, 4), [0.01, 0.02, 0.04, 0.08])


def test_overlaps_reproduce_the_gaussian_spot_moments():
    ov = spot_overlaps(0.1, SIGMA_NM, default_levels(0.1))
    # integral of N over the plane: 2 pi sigma^2 nabs; per-axis variance sigma^2 (quadrature 1e-5)
    assert ov.m0.sum() == pytest.approx(2 * np.pi * SIGMA_NM**2 * 0.1, rel=1e-5)
    assert ov.m2.sum() / ov.m0.sum() == pytest.approx(SIGMA_NM**2, rel=1e-5)


def test_uniform_quantities_average_to_themselves():
    ov = spot_overlaps(0.1, SIGMA_NM, default_levels(0.1))
    q = np.full((4, 3), 7.5)
    s = np.array([[0.2, 0.5, 1.0]] * 4)
    np.testing.assert_allclose(spot_average(ov, q, s), 7.5, rtol=1e-12)
    # uniform survival: no depletion artefact, population scales with it
    np.testing.assert_allclose(depletion_variance_nm2(ov, s), SIGMA_NM**2, rtol=1e-5)
    pop = spot_population(ov, s)
    np.testing.assert_allclose(pop / pop[-1], [0.2, 0.5, 1.0], rtol=1e-12)


def test_auger_depletion_analytic_values():
    # 1D line profile at k n t = 1: eta(3/2)/eta(1/2) - 1 = 0.2649 (PHYSICS.md: 0.265 sigma_0^2)
    one_d = auger_depletion_msd_nm2(1.0, 1.0, ndim=1)[0]
    assert one_d == pytest.approx(eta(1.5) / eta(0.5) - 1.0, rel=1e-6)
    assert one_d == pytest.approx(0.265, abs=5e-4)
    # 2D image, per axis: eta(2)/eta(1) - 1 = (pi^2/12)/ln 2 - 1 = 0.1866
    two_d = auger_depletion_msd_nm2(1.0, 1.0, ndim=2)[0]
    assert two_d == pytest.approx(np.pi**2 / 12 / np.log(2) - 1.0, rel=1e-6)
    # small c: n0 (1 - c u) -> variance ratio (1 - c/2^(d/2+1)) / (1 - c/2^(d/2)), slope c/4 (2D)
    assert auger_depletion_msd_nm2(1.0, 1e-4, ndim=2)[0] == pytest.approx(1e-4 / 4, rel=1e-3)
    assert auger_depletion_msd_nm2(141.0, 0.0)[0] == 0.0
    with pytest.raises(InputError):
        auger_depletion_msd_nm2(141.0, -1.0)


def test_composed_depletion_matches_the_bimolecular_analytic_case():
    """Survival S(N, t) = 1 / (1 + k N t) at 41 levels: the composed spot reproduces the
    analytic 2D value at k n_peak t = 1 (linear interpolation error ~ h^2/8 f'' ~ 2e-4)."""
    nabs = 0.1
    levels = np.linspace(nabs / 400, nabs, 41)
    ov = spot_overlaps(nabs, SIGMA_NM, levels)
    c = np.array([0.0, 0.3, 1.0, 3.0])  # k n_peak t
    survival = 1.0 / (1.0 + np.outer(levels / nabs, c))
    apparent = depletion_variance_nm2(ov, survival) - SIGMA_NM**2
    expected = auger_depletion_msd_nm2(SIGMA_NM, c, ndim=2)
    # atol: the radial quadrature of sigma^2 itself is good to ~1e-6 relative (0.02 nm^2)
    np.testing.assert_allclose(apparent, expected, rtol=5e-3, atol=0.05)
    assert apparent[2] == pytest.approx(0.1866 * SIGMA_NM**2, rel=5e-3)


def test_bad_levels_are_input_errors():
    with pytest.raises(InputError):
        spot_overlaps(0.1, SIGMA_NM, np.array([0.1, 0.05]))
    with pytest.raises(InputError):
        default_levels(0.1, 0)
