"""Photophysics: cross-section, <N_abs> from fluence, Poisson excitation across the spot."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.integrate import quad

from tamkit.core.errors import InputError
from tamkit.models.excitation import (
    absorption_cross_section_cm2,
    fluence_from_nabs,
    local_nabs,
    multiple_excitation_fraction,
    nabs_from_fluence,
    peak_fluence_J_cm2,
    photon_energy_J,
    poisson_excitation,
)
from tamkit.models.imaging import PAPER_PUMP_SIGMA_NM


@pytest.mark.parametrize(("nabs", "fraction"), [(0.045, 0.0223), (0.09, 0.0443), (0.18, 0.0873)])
def test_multiple_excitation_fractions_from_physics_md(nabs, fraction):
    # PHYSICS.md prints 3 significant figures: half a unit of the last digit
    assert multiple_excitation_fraction(nabs) == pytest.approx(fraction, abs=5e-5)


def test_multiple_excitation_small_n_limit():
    # P(n>=2)/P(n>=1) -> N/2 as N -> 0 (first order of the Poisson expansion)
    assert multiple_excitation_fraction(1e-6) == pytest.approx(5e-7, rel=1e-5)


@settings(max_examples=25, deadline=None)
@given(st.floats(1e-4, 3.0))
def test_poisson_excitation_matches_scipy(nabs):
    p = poisson_excitation(nabs, n_max=8)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(p[:-1], stats.poisson.pmf(np.arange(8), nabs), rtol=1e-10, atol=1e-300)
    assert p[-1] == pytest.approx(stats.poisson.sf(7, nabs), abs=1e-12)


def test_poisson_excitation_broadcasts_and_zero():
    p = poisson_excitation(np.array([[0.0, 0.1]]))
    assert p.shape == (1, 2, 9)
    assert p[0, 0, 0] == 1.0 and p[0, 0, 1:].sum() == 0.0
    with pytest.raises(InputError):
        poisson_excitation(-0.1)


def test_cross_section_moreels_400nm():
    # eps_400 = 19600 r^3 /(M cm) (Moreels 2009): d = 2.7 nm gives eps = 4.82e4 /(M cm);
    # sigma = 1000 ln(10) eps / N_A = 3.824e-21 cm^2 M cm * eps
    sigma = absorption_cross_section_cm2(2.7)
    assert sigma == pytest.approx(3.8235e-21 * 19600 * 1.35**3, rel=1e-3)
    # volume scaling in the high-energy regime
    assert absorption_cross_section_cm2(5.4) / sigma == pytest.approx(8.0)
    with pytest.raises(InputError, match="400 nm"):
        absorption_cross_section_cm2(2.7, 580.0)


def test_nabs_from_fluence_by_hand():
    # 1 uJ/cm^2 at 400 nm (3.0996 eV = 4.966e-19 J/photon) on sigma = 1e-15 cm^2: 2.0137e-3
    assert photon_energy_J(400.0) == pytest.approx(4.9660e-19, rel=1e-4)
    nabs = nabs_from_fluence(1e-6, 400.0, cross_section_cm2=1e-15)
    assert nabs == pytest.approx(1e-15 * 1e-6 / 4.9660e-19, rel=1e-4)


def test_pulse_energy_path_uses_gaussian_peak_fluence():
    # E / (2 pi sigma^2) with sigma = 141 nm = 1.41e-5 cm
    assert peak_fluence_J_cm2(1e-12, 141.0) == pytest.approx(1e-12 / (2 * math.pi * 1.41e-5**2))
    a = nabs_from_fluence(pulse_energy_J=1e-12, wavelength_nm=580.0, cross_section_cm2=2e-16)
    b = nabs_from_fluence(peak_fluence_J_cm2(1e-12), 580.0, cross_section_cm2=2e-16)
    assert a == pytest.approx(b)


@settings(max_examples=25, deadline=None)
@given(st.floats(1e-4, 5.0), st.floats(300.0, 1000.0), st.floats(1e-17, 1e-14))
def test_fluence_nabs_round_trip(nabs, wavelength_nm, sigma_cm2):
    fluence = fluence_from_nabs(nabs, wavelength_nm, sigma_cm2)
    assert nabs_from_fluence(fluence, wavelength_nm, sigma_cm2) == pytest.approx(nabs, rel=1e-12)


def test_nabs_needs_a_cross_section():
    with pytest.raises(InputError):
        nabs_from_fluence(1e-6, 580.0)
    with pytest.raises(InputError):
        nabs_from_fluence(1e-6, 400.0, pulse_energy_J=1e-12, d_nm=2.7)
    # at 400 nm the dot size alone is enough
    assert nabs_from_fluence(1e-6, 400.0, d_nm=2.7) > 0


def test_local_nabs_profile():
    # the default spot is the diffraction-limited pump, 0.21 x 580 nm / NA 1.1 = 110.7 nm
    assert PAPER_PUMP_SIGMA_NM == pytest.approx(0.21 * 580.0 / 1.1, rel=1e-12)
    sigma = PAPER_PUMP_SIGMA_NM
    assert local_nabs(0.0, 0.045) == pytest.approx(0.045)
    assert local_nabs(sigma, 0.045) == pytest.approx(0.045 * math.exp(-0.5))
    assert local_nabs(141.0, 0.045, 141.0) == pytest.approx(0.045 * math.exp(-0.5))
    # the spot integrates to <N_abs> 2 pi sigma_0^2 (per unit dot density)
    total, _ = quad(lambda r: 2 * math.pi * r * local_nabs(r, 1.0), 0, 3000)
    assert total == pytest.approx(2 * math.pi * sigma**2, rel=1e-8)


def test_default_spot_is_the_pump_for_fluence_too():
    # the pulse energy spreads over the pump spot, not over the 141 nm measured sigma_0
    sigma_cm = PAPER_PUMP_SIGMA_NM * 1e-7
    assert peak_fluence_J_cm2(1e-12) == pytest.approx(1e-12 / (2 * math.pi * sigma_cm**2))
