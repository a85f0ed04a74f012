"""Bleach-peak tracking, Delta E and sigma_inh in both conventions."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.core.constants import HC_EV_NM
from tamkit.core.errors import InputError
from tamkit.core.tamap import make_tamap
from tamkit.sim.ta_map import film_ta_map
from tamkit.spectro.bleach import (
    bleach_analysis,
    delta_e_from_sigma,
    sigma_from_delta_e,
    track_peak,
)
from tamkit.spectro.corrections import correct_chirp


def test_conventions_analytic():
    # sigma = 30 meV at 300 K: k_B T = 25.852 meV; paper -900/(2 kT) = -17.41 meV, Bassler -34.81
    assert delta_e_from_sigma(30.0, 300.0, "paper") == pytest.approx(-17.4068, rel=1e-4)
    assert delta_e_from_sigma(30.0, 300.0, "gaussian_dos") == pytest.approx(-34.8136, rel=1e-4)
    for conv in ("paper", "gaussian_dos"):
        assert sigma_from_delta_e(delta_e_from_sigma(12.0, 295.0, conv), 295.0, conv) == (
            pytest.approx(12.0))
    assert np.isnan(sigma_from_delta_e(3.0))  # a blue shift has no disorder interpretation
    with pytest.raises(InputError, match="convention"):
        delta_e_from_sigma(10.0, 300.0, "other")


def test_track_peak_sub_nm_on_gaussian_bands():
    wl = np.arange(850.0, 960.1, 2.0)  # 2 nm sampling
    centres_nm = np.linspace(900.0, 912.3, 20)
    energy = 1e3 * HC_EV_NM / wl
    e_c = 1e3 * HC_EV_NM / centres_nm
    values = np.exp(-0.5 * ((energy[None, :] - e_c[:, None]) / 45.0) ** 2)
    rng = np.random.default_rng(6)
    tamap = make_tamap(values + rng.normal(0, 0.005, values.shape), np.arange(20.0) * 100, wl)
    track = track_peak(tamap, (860, 950))
    assert track["ok"].all()
    # sub-nm: within 0.2 nm of the truth although the grid step is 2 nm
    np.testing.assert_allclose(track["peak_nm"].values, centres_nm, atol=0.2)
    # the reported errors match the scatter (within a factor 2)
    scatter = np.std(track["peak_meV"].values - e_c)
    assert 0.5 < scatter / np.median(track["peak_err_meV"].values) < 2.0


def test_negative_bleach_is_tracked_too():
    wl = np.arange(850.0, 960.1, 2.0)
    energy = 1e3 * HC_EV_NM / wl
    values = -np.exp(-0.5 * ((energy - 1e3 * HC_EV_NM / 905.0) / 45.0) ** 2)
    tamap = make_tamap(np.tile(values, (6, 1)), np.arange(6.0), wl)
    track = track_peak(tamap, (860, 950))
    np.testing.assert_allclose(track["peak_nm"].values, 905.0, atol=1e-3)
    assert np.all(track["amplitude"].values < 0)


@pytest.mark.parametrize("convention", ["paper", "gaussian_dos"])
@pytest.mark.parametrize("sigma_meV", [30.0, 15.0])
def test_film_map_shift_and_sigma(convention, sigma_meV):
    tamap, truth = film_ta_map(sigma_inh_meV=sigma_meV, convention=convention, seed=7)
    corrected = correct_chirp(tamap, truth.t0_fs)
    result, _ = bleach_analysis(corrected, (850, 980), 300.0, convention, start_fs=100.0)
    assert result["delta_E_meV"] == pytest.approx(truth.delta_E_meV, abs=1.0)  # within 1 meV
    assert result["sigma_inh_meV"] == pytest.approx(sigma_meV, rel=0.05)  # within 5 %
    assert result["tau_ps"] == pytest.approx(truth.shift_tau_fs / 1e3, rel=0.1)
    assert result["convention_name"] == convention
    assert "ΔE" in result["convention"]
    # both conventions are reported; they differ by sqrt(2)
    by = result["sigma_inh_meV_by_convention"]
    assert by["paper"]["value"] / by["gaussian_dos"]["value"] == pytest.approx(np.sqrt(2))


def test_too_narrow_band_is_refused():
    tamap, _ = film_ta_map(seed=8)
    with pytest.raises(InputError, match="at least 5"):
        track_peak(tamap, (900, 905))
