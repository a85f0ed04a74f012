"""Shared fixtures of the TA spectroscopy tests: synthetic maps and the real maps (if present)."""

from __future__ import annotations

import numpy as np
import pytest
from spectro_data import HIPPIUS, SKULTRAFAST, TRUE_LIFETIMES_FS, four_band_das, need

from tamkit.sim.ta_map import multi_exponential_map


@pytest.fixture(scope="session")
def hippius_map():
    from tamkit.spectro.loading import load_tamap

    return load_tamap(need(HIPPIUS))


@pytest.fixture(scope="session")
def skultrafast_map():
    from tamkit.spectro.loading import load_tamap

    # the file stores delays in ns with time zero near +2 ps (its README)
    return load_tamap(need(SKULTRAFAST), delay_unit="ns", delay_offset=0.002)


@pytest.fixture(scope="session")
def synthetic_map():
    """A 4-component map with IRF 100 fs, 250 fs of chirp, noise 0.5 % of the peak."""
    wl = np.arange(450.0, 1000.1, 2.0)
    delay = np.concatenate([np.arange(-1000.0, 2000.0, 20.0), np.geomspace(2000.0, 5e5, 100)])
    return multi_exponential_map(delay, wl, TRUE_LIFETIMES_FS, four_band_das(wl),
                                 irf_fwhm_fs=100.0, noise_std=0.005, seed=1)
