"""Tests of the lattice, the site energies and the Poisson excitation of the dots."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamkit.core.errors import InputError
from tamkit.sim.landscape import (
    CUBIC_STEPS,
    DOT_CAPACITY,
    cubic_neighbours,
    gaussian_site_energies_meV,
    multiple_excitation_fraction,
    poisson_occupancy,
)


def test_multiple_excitation_fractions_match_physics_table():
    # PHYSICS.md stage 2 prints these to three significant figures
    np.testing.assert_allclose(
        multiple_excitation_fraction([0.045, 0.09, 0.18]), [0.0223, 0.0443, 0.0873], atol=5e-5
    )


@pytest.mark.parametrize("nabs", [0.045, 0.09, 0.18])
def test_sampled_multiple_excitation_fraction(nabs):
    # 2e6 dots: >= 88 000 excited ones; the sampled fraction is binomial with sd
    # sqrt(f (1 - f) / n_excited) (2.2 % relative at 0.045); tolerance 4 sd.
    occ = poisson_occupancy(np.random.default_rng(0), 2_000_000, nabs)
    excited = np.count_nonzero(occ)
    fraction = np.count_nonzero(occ >= 2) / excited
    expected = float(multiple_excitation_fraction(nabs))
    sd = np.sqrt(expected * (1 - expected) / excited)
    assert abs(fraction - expected) < 4 * sd
    assert occ.mean() == pytest.approx(nabs, rel=4 * np.sqrt(nabs / 2e6) / nabs)


def test_occupancy_clipped_at_dot_capacity():
    occ = poisson_occupancy(np.random.default_rng(1), 10_000, 12.0)
    assert occ.max() == DOT_CAPACITY
    with pytest.raises(InputError):
        poisson_occupancy(np.random.default_rng(1), 10, -1.0)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=3, max_value=9))
def test_neighbour_table_is_a_periodic_cubic_lattice(n_side):
    nbr = cubic_neighbours(n_side)
    coords = np.stack(np.unravel_index(np.arange(n_side**3), (n_side,) * 3), axis=1)
    for k, step in enumerate(CUBIC_STEPS):
        np.testing.assert_array_equal((coords[nbr[:, k]] - coords - step) % n_side, 0)
        # the opposite slot leads back
        back = k ^ 1
        np.testing.assert_array_equal(nbr[nbr[:, k], back], np.arange(n_side**3))


def test_site_energies_have_the_requested_width():
    # 1e5 draws: the sample standard deviation has a relative error 1/sqrt(2e5) = 0.22 %
    eps = gaussian_site_energies_meV(np.random.default_rng(3), 100_000, 25.0)
    assert eps.std() == pytest.approx(25.0, rel=0.01)
    assert abs(eps.mean()) < 4 * 25.0 / np.sqrt(1e5)
    np.testing.assert_array_equal(gaussian_site_energies_meV(np.random.default_rng(3), 5, 0.0), 0)
    with pytest.raises(InputError):
        cubic_neighbours(2)
