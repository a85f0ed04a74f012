"""The Fisher bound with a per-pixel noise map: white-noise consistency and the photon limit."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.core.stack import pixel_axis_nm
from tamkit.models.gaussian_spot import cramer_rao_bound, isotropic_model

PARAMS = [4.0, 3.0, -2.0, 90.0, 0.1]


def test_a_uniform_noise_map_is_white_noise():
    x = pixel_axis_nm(40, 20.0)
    white = cramer_rao_bound(PARAMS, x, x, 0.3)
    mapped = cramer_rao_bound(PARAMS, x, x, np.full((40, 40), 0.3))
    for key in white:
        assert mapped[key] == pytest.approx(white[key], rel=1e-10)
    # twice the noise everywhere: twice every bound
    doubled = cramer_rao_bound(PARAMS, x, x, np.full((40, 40), 0.6))
    assert doubled["x0_nm"] == pytest.approx(2 * white["x0_nm"], rel=1e-10)


def test_noise_map_respects_the_mask():
    x = pixel_axis_nm(32, 25.0)
    mask = np.zeros((32, 32), bool)
    mask[:, :4] = True
    noise = np.full((32, 32), 0.2)
    noise[:, :4] = np.inf  # excluded pixels may hold anything
    assert cramer_rao_bound(PARAMS, x, x, noise, mask=mask)["sigma_nm"] == pytest.approx(
        cramer_rao_bound(PARAMS, x, x, 0.2, mask=mask)["sigma_nm"], rel=1e-10)


@pytest.mark.parametrize("n_photons", [1e3, 1e5])
def test_photon_limited_centre_bound_is_sigma_over_sqrt_n(n_photons):
    # Poisson noise (variance = mean counts) on a finely sampled spot with no background:
    # var(x0) = sigma^2 / N (Thompson, Larson & Webb, Biophys. J. 82, 2775 (2002); Ober, Ram &
    # Ward, Biophys. J. 86, 1185 (2004)), whatever the other free parameters (x0 decouples)
    sigma, pixel = 100.0, 10.0
    x = pixel_axis_nm(160, pixel)
    amp = n_photons * pixel**2 / (2 * np.pi * sigma**2)  # counts in the centre pixel
    background = 1e-9 * amp
    xx, yy = np.meshgrid(x, x)
    counts = isotropic_model(xx, yy, amp, 0.0, 0.0, sigma, background)
    crb = cramer_rao_bound([amp, 0.0, 0.0, sigma, background], x, x, np.sqrt(counts))
    assert crb["x0_nm"] == pytest.approx(sigma / np.sqrt(n_photons), rel=1e-3)
    assert crb["y0_nm"] == pytest.approx(crb["x0_nm"], rel=1e-9)
