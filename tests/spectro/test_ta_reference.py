"""Real TA maps against the values pyglotaran 0.7.5 recorded (../shared/data/README.md).

pyglotaran need not be installed: its lifetimes, IRF and RSS are the README's. Tolerances: 2 %
where the two models agree (Hippius, skultrafast; pyglotaran's chirp is a polynomial in
wavelength, tamkit's in frequency, and its IRF a multi-Gaussian); wider, and stated, where the
reference itself is not converged (c2o) or the map has several near-equal minima (Ru-dppz).
RSS "on the same input": tamkit's best minimum must be at least as low as the one it reaches
when started from the reference's own lifetimes.
"""

from __future__ import annotations

import numpy as np
import pytest
from spectro_data import C2O, RU_ACN, need

from tamkit.spectro.corrections import select_window
from tamkit.spectro.globalfit import global_fit
from tamkit.spectro.loading import load_tamap


def ok_lifetimes_ps(fit):
    return [e["value"] for e in fit.lifetimes_ps() if e["status"] == "ok"]


def test_hippius_four_components_match_pyglotaran(hippius_map):
    # pyglotaran: no background subtraction, one component below the IRF
    fit = global_fit(hippius_map, 4)
    assert fit.success and fit.status == ["below_irf", "ok", "ok", "ok"]
    assert fit.lifetimes_ps()[0]["value"] is None
    np.testing.assert_allclose(ok_lifetimes_ps(fit), [1.847, 21.52, 50.81], rtol=0.02)
    assert fit.irf_fwhm_fs == pytest.approx(140, rel=0.1)


def test_c2o_four_components_against_pyglotaran():
    tamap = load_tamap(need(C2O))
    fit = global_fit(tamap, 4)
    assert fit.success and fit.status == ["below_irf", "ok", "ok", "ok"]
    # pyglotaran stopped at 900 evaluations, not converged: 0.982, 13.96, 49.61 ps. The slower
    # two agree within 2 %; the fastest within 12 % (tamkit: 0.88 ps)...
    fast, mid, slow = ok_lifetimes_ps(fit)
    assert mid == pytest.approx(13.96, rel=0.02) and slow == pytest.approx(49.61, rel=0.02)
    assert fast == pytest.approx(0.982, rel=0.12)
    assert fit.irf_fwhm_fs == pytest.approx(141, rel=0.1)
    # ...and tamkit's minimum is at least as good as the one reached from pyglotaran's values
    ref = global_fit(tamap, 4, lifetimes_fs=[20, 982, 13960, 49610], irf_fwhm_fs=141,
                     n_starts=0)
    assert fit.rss <= ref.rss * (1 + 1e-3)


def test_ru_dppz_acn_three_components_scatter_excluded():
    tamap = select_window(load_tamap(need(RU_ACN)), exclude_nm=[(378, 407)])
    fit = global_fit(tamap, 3)
    assert fit.success
    # pyglotaran: 0.0425, 3.138, ~1.2e5 ps. The slowest is beyond the 1.8 ns window, reported
    # with a lower bound only; the middle one within 15 % (tamkit 3.49 ps; the same model
    # started from pyglotaran's values gives 3.53 ps, and pyglotaran's own 4-component fit
    # 3.51-3.54 ps: the chirp parametrisation, not the search, sets the difference)
    assert fit.status[1:] == ["ok", "beyond_window"]
    entry = fit.lifetimes_ps()[2]
    assert entry["value"] is None and entry["lower_bound"] == pytest.approx(3 * 1810, rel=0.01)
    assert fit.lifetimes_ps()[1]["value"] == pytest.approx(3.138, rel=0.15)
    ref = global_fit(tamap, 3, lifetimes_fs=[42.5, 3138, 1.2e8], irf_fwhm_fs=83, n_starts=0)
    assert fit.rss <= ref.rss * (1 + 5e-3)


def test_skultrafast_three_components_match_pyglotaran(skultrafast_map):
    fit = global_fit(skultrafast_map, 3)
    assert fit.success and fit.status == ["below_irf", "ok", "beyond_window"]
    assert ok_lifetimes_ps(fit)[0] == pytest.approx(2.279, rel=0.02)
    assert fit.irf_fwhm_fs == pytest.approx(296, rel=0.05)


def test_skultrafast_four_components_rss_no_worse_than_pyglotaran(skultrafast_map):
    fit = global_fit(skultrafast_map, 4)
    # the README's RSS is on the map in mOD (data / 3): pyglotaran 2.50e5; tamkit used to stop
    # at 2.88e5 in a local minimum
    assert fit.rss / 9.0 <= 2.50e5
    # never a plain number for the components the data do not fix
    for entry, st in zip(fit.lifetimes_ps(), fit.status, strict=True):
        assert (entry["value"] is None) == (st != "ok")


def test_hippius_auto_components_chooses_among_converged(hippius_map):
    from tamkit.spectro.kinetics import compare_components, is_determined

    rows, n, fits = compare_components(hippius_map, (2, 3, 4, 5, 6))
    assert fits[n].success and is_determined(fits[n])
    assert n >= 4
    for row in rows:
        if row["n"] == n:
            assert row["converged"] and row["all_determined"]
