"""The microscope: pixel integration, detection blur, instrument response, EMCCD, chopping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from scipy.special import erf
from scipy.stats import norm

from tamkit.core.errors import InputError
from tamkit.core.stack import make_stack
from tamkit.sim.microscope import (
    PAPER_NA,
    PROBE_NM,
    Microscope,
    apparent_images,
    chopped_acquisition,
    diffraction_limited_sigma_nm,
    emccd_electrons,
    irf_nodes,
    pixel_integrated_variance_nm2,
    spot_imager,
)

A_NM = 16_000.0 / 288.0


def moments(img: np.ndarray, axis_nm: np.ndarray) -> tuple[float, float]:
    """Per-axis second moments (x, y) of an image about the origin, at pixel centres."""
    x, y = np.meshgrid(axis_nm, axis_nm)
    return float((img * x**2).sum() / img.sum()), float((img * y**2).sum() / img.sum())


def no_blur(sigma_nm: float = 141.0, **kw) -> Microscope:
    """A microscope whose detection blur is zero: only the pixel adds to the pump's width."""
    return Microscope(pump_sigma_nm=sigma_nm,
                      apparent_sigma0_nm=math.sqrt(sigma_nm**2 + A_NM**2 / 12), **kw)


def test_paper_instrument_defaults():
    m = Microscope()
    assert m.pixel_nm == pytest.approx(55.556, abs=1e-3)
    assert m.irf_sigma_fs == pytest.approx(13.0 / 2.3548, rel=1e-4)
    # the diffraction limit 0.21 lambda / NA at NA 1.1 gives both of the paper's pump sizes
    # (Methods: 111 nm, FWHM 263 nm at 580 nm) and its 133 nm "diffraction limit" at 690 nm
    assert m.pump_sigma_nm == pytest.approx(111.0, rel=0.01)
    assert 2.3548 * m.pump_sigma_nm == pytest.approx(263.0, rel=0.01)
    assert diffraction_limited_sigma_nm(PROBE_NM, PAPER_NA) == pytest.approx(133.0, rel=0.01)
    # blur closes the gap between the pump and the measured 141 nm sigma_0
    assert m.pump_sigma_nm**2 + m.detection_sigma_nm**2 + A_NM**2 / 12 == pytest.approx(141.0**2)
    assert m.detection_sigma_nm == pytest.approx(85.81, abs=0.01)
    assert no_blur().detection_sigma_nm == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(InputError):
        Microscope(apparent_sigma0_nm=100.0)  # below the pump alone
    with pytest.raises(InputError):
        Microscope(quantum_efficiency=1.5)


def test_pixel_integration_is_exact_and_adds_a2_over_12():
    m = no_blur()
    imager = spot_imager(m, 0.1, np.array([0.1]))
    img = imager.render(np.zeros(1), np.ones(1))
    x = m.axis_nm()
    # the pixel average of nabs exp(-r^2/2s^2), separable: erf differences per axis
    s = 141.0 * math.sqrt(2)
    per_axis = (erf((x + A_NM / 2) / s) - erf((x - A_NM / 2) / s)) * 141.0 * math.sqrt(
        math.pi / 2) / A_NM
    np.testing.assert_allclose(img, 0.1 * np.outer(per_axis, per_axis), rtol=1e-6, atol=1e-12)
    # second moment at pixel centres = sigma^2 + a^2 / 12 (257.2 nm^2), both axes
    mx, my = moments(img, x)
    assert pixel_integrated_variance_nm2(A_NM) == pytest.approx(257.2, abs=0.1)
    assert mx == pytest.approx(141.0**2 + A_NM**2 / 12, rel=1e-7)
    assert my == pytest.approx(mx, rel=1e-10)


def test_default_image_has_the_measured_sigma0_and_transport_adds_msd():
    m = Microscope()
    levels = np.array([0.02, 0.05])
    imager = spot_imager(m, 0.05, levels)
    x = m.axis_nm()
    base = moments(imager.render(np.zeros(2), np.ones(2)), x)[0]
    assert base == pytest.approx(141.0**2, rel=1e-6)
    # a uniform MSD (same at every level) adds exactly its value to the variance
    moved = moments(imager.render(np.full(2, 4000.0), np.ones(2)), x)[0]
    assert moved - base == pytest.approx(4000.0, rel=1e-5)
    # a uniform survival scales the image and leaves its shape alone
    half = imager.render(np.zeros(2), np.full(2, 0.5))
    np.testing.assert_allclose(half, 0.5 * imager.render(np.zeros(2), np.ones(2)), rtol=1e-10)


def test_irf_weights_follow_the_cumulative_response():
    sigma = Microscope().irf_sigma_fs
    delays = np.array([-100.0, -10.0, 0.0, 5.0, 12.0, 40.0, 1000.0])
    times, weights = irf_nodes(delays, sigma)
    # a step onset at t = 0 is seen through the IRF as the Gaussian CDF (Gauss-Legendre ~1e-8)
    np.testing.assert_allclose(weights.sum(axis=1), norm.cdf(delays / sigma), atol=5e-8)
    assert np.all(times[weights > 0] >= 0)


def test_irf_averaging_of_a_ballistic_spread():
    """MSD = c t^2: the IRF-averaged image at delay t has variance sigma_0^2 + c (t^2 + s^2)
    when the response lies wholly after t = 0; at t = 0 the signal is half the full one."""
    m = no_blur(n_pixels=48)  # +-9 sigma_0: the frame does not truncate the moments
    imager = spot_imager(m, 0.05, np.array([0.05]))
    c = 0.5  # nm^2 / fs^2
    sim_t = np.linspace(1e-3, 300.0, 30001)  # dense: linear interpolation error ~ c dt^2 / 4
    delays = np.array([0.0, 60.0, 120.0, 2000.0])
    images = apparent_images(imager, m, delays, sim_t, c * sim_t[None] ** 2, np.ones((1, 30001)))
    x = m.axis_nm()
    s0 = 141.0**2 + A_NM**2 / 12
    full = imager.render(np.zeros(1), np.ones(1)).sum()
    assert images[0].sum() / full == pytest.approx(0.5, abs=1e-3)
    for i in (1, 2):
        expected = s0 + c * (delays[i] ** 2 + m.irf_sigma_fs**2)
        assert moments(images[i], x)[0] == pytest.approx(expected, rel=1e-5)
    # beyond the cutoff the IRF is ignored: value at t (error (s/t)^2 ~ 1e-5 relative)
    assert moments(images[3], x)[0] == pytest.approx(s0 + c * 300.0**2, rel=1e-5)


def test_emccd_noise_variance_is_twice_shot_noise_times_gain_squared_plus_read():
    m = Microscope(exposures_per_frame=1, em_gain=10.0, read_noise_e=50.0,
                   quantum_efficiency=0.9)
    rng = np.random.default_rng(1)
    photons = np.full(400_000, 1000.0)
    out = emccd_electrons(photons, m, rng)
    pe = 0.9 * 1000.0
    expected_var = 2 * pe * 10.0**2 + 50.0**2  # 182,500 e^2
    assert out.mean() == pytest.approx(10.0 * pe, rel=1e-3)  # SE 0.008 %
    # SE of a sample variance ~ sqrt(2/n) = 0.22 % for near-Gaussian data: 1.5 % is > 6 SE
    assert out.var() == pytest.approx(expected_var, rel=0.015)
    # and not the plain Poisson value (excess noise factor sqrt 2 present)
    assert out.var() > 1.8 * pe * 10.0**2
    # exposures add read noise variance linearly, shot noise through the photon total
    m20 = Microscope(exposures_per_frame=20, em_gain=10.0, read_noise_e=50.0)
    out20 = emccd_electrons(np.full(400_000, 20_000.0), m20, rng)
    assert out20.var() == pytest.approx(2 * 0.9 * 20_000 * 100 + 20 * 2500, rel=0.015)


def _flat_stack(value: float, n_delay: int = 3, n: int = 16) -> xr.DataArray:
    return make_stack(np.full((n_delay, n, n), value), np.arange(n_delay) * 100.0 - 100.0, A_NM)


def test_chopping_gives_dT_T_back_within_noise():
    m = Microscope(n_pixels=16)
    dtt = _flat_stack(-2e-3)
    raw = chopped_acquisition(dtt, m, n_runs=4, n_spots=3, seed=5)
    assert raw.dims == ("spot", "run", "chopper", "delay", "y", "x")
    assert list(raw["chopper"].values) == ["on", "off"]
    on = raw.sel(chopper="on").values.astype(float)
    off = raw.sel(chopper="off").values.astype(float)
    measured = (on - off) / off
    # per-pixel noise of one run: sqrt(2 x 2 gain^2 QE P) / (gain QE P) = 2 / sqrt(QE P)
    per_run = 2.0 / math.sqrt(0.9 * m.probe_photons_per_pixel * m.exposures_per_frame)
    assert measured.std() == pytest.approx(per_run, rel=0.05)  # 9216 samples: SE of sd 0.7 %
    se_mean = per_run / math.sqrt(measured.size)
    assert measured.mean() == pytest.approx(-2e-3, abs=5 * se_mean)


def test_chopped_acquisition_is_deterministic_per_seed():
    m = Microscope(n_pixels=16)
    dtt = _flat_stack(-1e-3)
    a = chopped_acquisition(dtt, m, n_runs=2, n_spots=2, seed=3)
    b = chopped_acquisition(dtt, m, n_runs=2, n_spots=2, seed=3)
    c = chopped_acquisition(dtt, m, n_runs=2, n_spots=2, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.attrs["pixel_nm"] == pytest.approx(A_NM)
    with pytest.raises(InputError):
        chopped_acquisition(dtt, m, n_runs=0, n_spots=1)
