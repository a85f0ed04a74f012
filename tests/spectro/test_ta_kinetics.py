"""Band kinetics, noise estimate, SVD component count and model comparison."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.sim.ta_map import multi_exponential_map
from tamkit.spectro.kinetics import compare_components, fit_kinetics, noise_std, svd_analysis


@pytest.fixture(scope="module")
def three_component_map():
    wl = np.arange(500.0, 700.1, 2.0)
    delay = np.concatenate([np.arange(-1000.0, 1000.0, 25.0), np.geomspace(1000.0, 2e5, 50)])
    das = np.stack([np.exp(-0.5 * ((wl - c) / 25.0) ** 2) * a
                    for c, a in ((540, 1.0), (600, -0.8), (660, 0.6))])
    return multi_exponential_map(delay, wl, [500.0, 5000.0, 50000.0], das, irf_fwhm_fs=120,
                                 gvd_fs_um2=0.0, noise_std=0.003, seed=10)


def test_noise_estimates(three_component_map):
    tamap, _ = three_component_map
    # from the spectra before time zero, and from second differences along wavelength
    assert noise_std(tamap, before_fs=-400.0) == pytest.approx(0.003, rel=0.05)
    assert noise_std(tamap) == pytest.approx(0.003, rel=0.1)


def test_svd_counts_three_components(three_component_map):
    tamap, _ = three_component_map
    svd = svd_analysis(tamap, before_fs=-400.0)
    assert svd["n_significant"] == 3
    assert svd["singular_values"][3] < svd["noise_edge"] < svd["singular_values"][2]


def test_band_fit_recovers_lifetime(three_component_map):
    tamap, truth = three_component_map
    # around 600 nm only the 5 ps band contributes (the others are 2.4 widths away)
    fit = fit_kinetics(tamap, (596, 604), 1, offset=False, irf_fwhm_fs=120.0)
    assert fit.lifetimes_fs[0] == pytest.approx(5000.0, rel=0.03)


def test_compare_components_supports_three(three_component_map):
    tamap, _ = three_component_map
    rows, best, fits = compare_components(tamap, (2, 3, 4), chirp_order=0, n_starts=3)
    assert best == 3
    assert [r["n"] for r in rows] == [2, 3, 4]
    np.testing.assert_allclose(fits[3].lifetimes_fs, [500.0, 5000.0, 50000.0], rtol=0.03)
