"""Disorder: bleach red-shift and sigma_inh, in both named conventions."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.core.constants import thermal_energy_meV
from tamkit.core.errors import InputError
from tamkit.models.disorder import (
    CONVENTION_TEXT,
    CONVENTIONS,
    DEFAULT_CONVENTION,
    convention_factor,
    delta_e_from_sigma,
    sigma_from_delta_e,
)


def test_paper_convention_is_half_the_gaussian_dos_shift():
    kt = thermal_energy_meV(300.0)
    assert delta_e_from_sigma(30.0, 300.0) == pytest.approx(-900.0 / (2 * kt))
    assert delta_e_from_sigma(30.0, 300.0, "gaussian_dos") == pytest.approx(-900.0 / kt)
    assert DEFAULT_CONVENTION == "paper"
    assert set(CONVENTION_TEXT) == set(CONVENTIONS)


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_round_trip_and_blue_shift(convention):
    sigma = np.array([5.0, 18.25, 30.0])
    de = delta_e_from_sigma(sigma, 295.0, convention)
    assert np.all(de < 0)
    np.testing.assert_allclose(sigma_from_delta_e(de, 295.0, convention), sigma, rtol=1e-12)
    assert np.isnan(sigma_from_delta_e(1.0, 295.0, convention))


def test_unknown_convention_is_an_input_error():
    with pytest.raises(InputError, match="convention"):
        convention_factor("bassler")
    with pytest.raises(InputError):
        delta_e_from_sigma(30.0, convention="x")
