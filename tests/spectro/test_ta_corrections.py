"""Corrections: chirp estimate and correction, background, scan averaging."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.sim.ta_map import multi_exponential_map
from tamkit.spectro.corrections import (
    average_scans,
    correct_chirp,
    estimate_chirp,
    subtract_background,
)


@pytest.fixture(scope="module")
def step_map():
    """Long-lived steps (a flat DAS) behind a 100 fs IRF and 300 fs of chirp, little noise."""
    wl = np.arange(450.0, 800.1, 5.0)
    delay = np.arange(-1500.0, 3000.0, 10.0)
    return multi_exponential_map(delay, wl, [np.inf], np.ones((1, wl.size)), irf_fwhm_fs=100,
                                 gvd_fs_um2=120.0, noise_std=0.002, seed=4)


def test_estimate_chirp_within_a_delay_step(step_map):
    tamap, truth = step_map
    est = estimate_chirp(tamap)
    # a step through a symmetric IRF crosses half height at t0 exactly; the polynomial through
    # 71 wavelengths sampled every 10 fs with 0.2 % noise is good to a few fs
    assert np.max(np.abs(est(tamap["wavelength"].values) - truth.t0_fs)) < 5.0


def test_correct_chirp_puts_time_zero_at_zero(step_map):
    tamap, truth = step_map
    corrected = correct_chirp(tamap, truth.t0_fs)
    at_zero = corrected.sel(delay=0.0, method="nearest").values
    np.testing.assert_allclose(at_zero, 0.5, atol=0.03)  # half of the step at t = 0
    # delays that would need data outside the measured range are dropped
    assert corrected["delay"].values[0] >= tamap["delay"].values[0] - truth.t0_fs.min()
    with pytest.raises(InputError):
        correct_chirp(tamap, np.zeros(3))


def test_subtract_background_per_wavelength():
    delay = np.arange(-500.0, 1000.0, 100.0)
    values = np.tile([1.0, 2.0], (delay.size, 1)) + (delay[:, None] > 0)
    tamap = xr.DataArray(values, dims=("delay", "wavelength"),
                         coords={"delay": delay, "wavelength": [500.0, 600.0]})
    out = subtract_background(tamap, before_fs=np.array([0.0, -1000.0]))
    # the first wavelength has 5 spectra before 0 fs; the second none: left unchanged
    np.testing.assert_allclose(out.values[:, 0], (delay > 0).astype(float))
    np.testing.assert_allclose(out.values[:, 1], values[:, 1])
    assert out.attrs["background_wavelengths"] == 1
    with pytest.raises(InputError, match="background"):
        subtract_background(tamap, before_fs=-1000.0)


def test_average_scans_rejects_outliers():
    rng = np.random.default_rng(5)
    truth = np.outer(np.linspace(0, 1, 6), np.ones(4))
    coords = {"delay": np.arange(6.0), "wavelength": 500.0 + np.arange(4)}
    scans = [xr.DataArray(truth + rng.normal(0, 0.01, truth.shape), dims=("delay", "wavelength"),
                          coords=coords) for _ in range(5)]
    scans[2][3, 1] = 50.0  # a probe flicker in one scan
    mean = average_scans(scans)
    assert mean.attrs["n_scans"] == 5
    np.testing.assert_allclose(mean.values, truth, atol=0.02)
    plain = average_scans(scans, reject_mad=None)
    assert plain.values[3, 1] > 5
    with pytest.raises(InputError):
        average_scans([])
    with pytest.raises(InputError, match="same delay"):
        average_scans([scans[0], scans[1].assign_coords(delay=np.arange(6.0) + 0.5)])
