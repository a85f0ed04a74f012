"""Imaging helpers: diffraction-limited sigma, the pixel's a^2/12, blur in quadrature."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf

from tamkit.models.imaging import (
    FWHM_PER_SIGMA,
    PAPER_NA,
    PAPER_PUMP_SIGMA_NM,
    PROBE_NM,
    PUMP_NM,
    blur_variance_nm2,
    diffraction_limited_sigma_nm,
    imaged_sigma_nm,
    pixel_integrated_variance_nm2,
)


def test_diffraction_limit_gives_the_papers_pump_and_probe():
    # 0.21 lambda / NA (Zhang et al. 2007): 110.7 nm pump (Methods: 111 nm, 263 nm FWHM) and
    # 131.7 nm probe (the text's 133 nm diffraction limit)
    assert diffraction_limited_sigma_nm(PUMP_NM, PAPER_NA) == pytest.approx(110.727, abs=1e-3)
    assert PAPER_PUMP_SIGMA_NM == diffraction_limited_sigma_nm(PUMP_NM, PAPER_NA)
    assert FWHM_PER_SIGMA * PAPER_PUMP_SIGMA_NM == pytest.approx(260.75, abs=0.01)
    assert diffraction_limited_sigma_nm(PROBE_NM, PAPER_NA) == pytest.approx(131.73, abs=0.01)
    assert FWHM_PER_SIGMA == pytest.approx(2.35482, abs=1e-5)


@pytest.mark.parametrize("pixel_nm", [1.0, 55.6, 200.0])
def test_a_uniform_pixel_has_variance_a2_over_12(pixel_nm):
    # the box of one pixel, side a: a uniform density on [-a/2, a/2]
    var, _ = quad(lambda x: x**2 / pixel_nm, -pixel_nm / 2, pixel_nm / 2)
    assert pixel_integrated_variance_nm2(pixel_nm) == pytest.approx(var, rel=1e-12)
    assert pixel_integrated_variance_nm2(pixel_nm) == pytest.approx(pixel_nm**2 / 12)


def test_pixel_integration_adds_a2_over_12_to_a_gaussian():
    # a Gaussian of sigma s averaged over a box of side a: the second moment is s^2 + a^2/12
    s, a = 110.0, 55.6

    def boxed(x):
        w = math.sqrt(2) * s
        return 0.5 * (erf((x + a / 2) / w) - erf((x - a / 2) / w)) / a

    norm, _ = quad(boxed, -20 * s, 20 * s)
    second, _ = quad(lambda x: x**2 * boxed(x), -20 * s, 20 * s)
    assert norm == pytest.approx(1.0, rel=1e-10)
    assert second == pytest.approx(s**2 + pixel_integrated_variance_nm2(a), rel=1e-9)


def test_blur_in_quadrature_round_trip_and_the_microscope_default():
    a = 16_000.0 / 288.0
    blur2 = blur_variance_nm2(141.0, PAPER_PUMP_SIGMA_NM, a)
    # the paper's measured sigma_0 = 141 nm from the 110.7 nm pump: an 86 nm detection blur
    assert math.sqrt(blur2) == pytest.approx(86.0, abs=0.5)
    assert imaged_sigma_nm(PAPER_PUMP_SIGMA_NM, math.sqrt(blur2), a) == pytest.approx(141.0,
                                                                                    rel=1e-12)
    # no blur: the imaged spot is the carrier spot and the pixel only
    assert blur_variance_nm2(imaged_sigma_nm(100.0, 0.0, a), 100.0, a) == pytest.approx(
        0.0, abs=1e-9)
    # narrower than carrier + pixel: no such blur (negative variance)
    assert blur_variance_nm2(100.0, 100.0, a) < 0


def test_variances_add_for_a_gaussian_blur():
    # convolving two sampled Gaussians gives a Gaussian of summed variance
    x = np.linspace(-2000.0, 2000.0, 4001)
    g1 = np.exp(-0.5 * (x / 110.0) ** 2)
    g2 = np.exp(-0.5 * (x / 86.0) ** 2)
    conv = np.convolve(g1, g2, mode="same")
    var = np.sum(x**2 * conv) / np.sum(conv)
    assert math.sqrt(var) == pytest.approx(imaged_sigma_nm(110.0, 86.0, 0.0), rel=1e-6)
