"""Synthetic TA maps: the generators produce their documented truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erfcx

from tamkit.core.constants import HC_EV_NM
from tamkit.core.errors import InputError
from tamkit.sim.ta_map import (
    chirp_t0_fs,
    film_ta_map,
    multi_exponential_map,
    simulated_ta_map_for_film,
)


def test_chirp_is_cauchy_dispersion():
    # t0 = gvd (1/lambda_um^2 - 1/ref_um^2): 85 fs um^2 gives 85 * (4 - 1) = 255 fs from 1000
    # to 500 nm; red light first
    t0 = chirp_t0_fs(np.array([500.0, 700.0, 1000.0]), 10.0, 85.0, 700.0)
    assert t0[1] == pytest.approx(10.0)
    assert t0[0] - t0[2] == pytest.approx(255.0)


def test_multi_exponential_late_times_are_exact():
    wl = np.array([500.0, 600.0])
    delay = np.array([-2000.0, -1000.0, 0.0, 5000.0, 20000.0])
    das = np.array([[1.0, 2.0], [0.5, -1.0]])
    tamap, truth = multi_exponential_map(delay, wl, [1000.0, np.inf], das, irf_fwhm_fs=50,
                                         gvd_fs_um2=0.0)
    # far after the IRF: DAS . exp(-t/tau) shifted by exp(k^2 s^2 / 2) ~ 1 + 5e-4 for tau = 1 ps
    s = 50 / (2 * np.sqrt(2 * np.log(2)))  # IRF standard deviation (fs)
    late = das[0] * np.exp(-20000.0 / 1000.0 + 0.5 * (s / 1000.0) ** 2) + das[1]
    np.testing.assert_allclose(tamap.sel(delay=20000.0).values, late, rtol=1e-9)
    np.testing.assert_allclose(tamap.sel(delay=-2000.0).values, 0.0, atol=1e-12)
    # at time zero: half the step, and 0.5 erfcx(k s / sqrt 2) of the exponential
    at_zero = 0.5 * erfcx(s / 1000.0 / np.sqrt(2)) * das[0] + 0.5 * das[1]
    np.testing.assert_allclose(tamap.sel(delay=0.0).values, at_zero, rtol=1e-9)
    assert truth.lifetimes_fs == [1000.0, np.inf]


def test_noise_has_the_requested_std():
    wl = np.linspace(500, 600, 50)
    tamap, _ = multi_exponential_map(np.linspace(-1e3, 1e3, 200), wl, [100.0],
                                     np.zeros((1, 50)), noise_std=0.01, seed=1)
    assert float(tamap.std()) == pytest.approx(0.01, rel=0.02)  # 10^4 samples: 0.7 % error


def test_film_bands_and_injection():
    # without the PIA, whose far tail would otherwise add a constant at 566 nm
    tamap, truth = film_ta_map(gvd_fs_um2=0.0, noise_std=0.0, irf_fwhm_fs=50.0,
                               injection_tau_fs=2000.0, perovskite_lifetime_fs=1e12,
                               pia_amplitude=0.0)
    pero = tamap.sel(wavelength=566.0, method="nearest")
    # perovskite bleach decays with the injection time: ratio over 2 ps is e^-1
    late, early = pero.sel(delay=6000.0, method="nearest"), pero.sel(delay=4000.0, method="nearest")
    ratio = float(late / early)
    dt = float(late["delay"] - early["delay"])
    assert ratio == pytest.approx(np.exp(-dt / 2000.0), rel=1e-3)
    # the PIA band is negative at once; the dot bleach still rises after 1 ps
    with_pia, _ = film_ta_map(noise_std=0.0)
    assert float(with_pia.sel(wavelength=670.0, delay=200.0, method="nearest")) < 0
    cqd = tamap.sel(wavelength=905.0, method="nearest")
    assert float(cqd.sel(delay=8000.0, method="nearest")) > float(cqd.sel(delay=1000.0,
                                                                        method="nearest"))


def test_film_red_shift_follows_convention():
    # paper: Delta E = -sigma^2 / (2 kT); gaussian_dos: twice that
    _, paper = film_ta_map(sigma_inh_meV=30.0, convention="paper")
    _, bassler = film_ta_map(sigma_inh_meV=30.0, convention="gaussian_dos")
    assert paper.delta_E_meV == pytest.approx(-17.4068, rel=1e-4)
    assert bassler.delta_E_meV == pytest.approx(2 * paper.delta_E_meV)
    # at late times the dot bleach peaks at E0 + Delta E (the argmax on a fine grid)
    wl = np.arange(880.0, 940.0, 0.05)
    tamap, truth = film_ta_map(wavelength_nm=wl, delay_fs=np.array([-500.0, 0.0, 1e4, 1e5, 2e5]),
                               noise_std=0.0, gvd_fs_um2=0.0, perovskite_share=0.0)
    peak_nm = float(tamap.isel(delay=-1).idxmax("wavelength"))
    peak_meV = 1e3 * HC_EV_NM / peak_nm
    assert peak_meV == pytest.approx(1e3 * HC_EV_NM / 905.0 + truth.delta_E_meV, abs=0.1)
    with pytest.raises(InputError):
        film_ta_map(convention="x")
    with pytest.raises(InputError):
        film_ta_map(perovskite_share=2.0)


def test_film_presets_feed_the_simulator():
    from tamkit.sim.film import film_preset

    for name in ("cqd", "qdip40", "qdip90"):
        film = film_preset(name)
        _, truth = simulated_ta_map_for_film(name)
        assert truth.sigma_inh_meV == film.sigma_inh_meV
        assert truth.extras["perovskite_share"] == film.perovskite_fraction
        assert truth.temperature_K == film.temperature_K
    # less disorder in films with more perovskite: a smaller red-shift
    assert abs(simulated_ta_map_for_film("qdip90")[1].delta_E_meV) < abs(
        simulated_ta_map_for_film("cqd")[1].delta_E_meV)
