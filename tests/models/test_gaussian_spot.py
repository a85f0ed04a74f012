"""Tests of the Gaussian spot model (tamkit.models.gaussian_spot): the Cramer-Rao bound."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.core.stack import pixel_axis_nm
from tamkit.models.gaussian_spot import cramer_rao_bound


def test_crb_analytic_centre_limit_and_round_spot():
    # well-sampled centred spot: F(x0) = pi A^2 / (2 noise^2 pixel^2), independent of sigma
    # (integrate (dm/dx0)^2 over the plane; x0 decouples from the other parameters by symmetry)
    x = pixel_axis_nm(64, 10.0)
    amp, noise, sigma = 5.0, 0.5, 60.0
    crb = cramer_rao_bound([amp, 0.0, 0.0, sigma, 0.0], x, x, noise)
    assert crb["x0_nm"] == pytest.approx(np.sqrt(2 / np.pi) * noise * 10.0 / amp, rel=1e-3)
    assert crb["y0_nm"] == pytest.approx(crb["x0_nm"], rel=1e-9)
    # a round spot has no orientation: infinite bound on theta, finite on the widths
    ell = cramer_rao_bound([amp, 0, 0, sigma, sigma, 0.3, 0], x, x, noise, "elliptical")
    assert np.isinf(ell["theta_rad"])
    assert np.isfinite(ell["sigma_x_nm"])
