"""MSD laws: the piecewise power law and the smoothly broken power law."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.models.msd_laws import piecewise_power_law_msd_nm2, sbpl_msd_nm2


def _slope(f, t):
    return (np.log(f(t * 1.001)) - np.log(f(t / 1.001))) / (2 * np.log(1.001))


def test_piecewise_power_law_exponents_continuity_and_anchor():
    breaks, alphas, m = (300.0, 1e5), (1.1, 0.5, 0.3), 6120.0

    def law(t):
        return piecewise_power_law_msd_nm2(t, breaks, alphas, m)

    assert law(300.0) == pytest.approx(m, rel=1e-12)
    for t, alpha in [(30.0, 1.1), (3000.0, 0.5), (1e6, 0.3)]:
        assert _slope(law, t) == pytest.approx(alpha, rel=1e-9)
    for b in breaks:  # continuous at each break
        assert law(b * (1 + 1e-12)) == pytest.approx(law(b * (1 - 1e-12)), rel=1e-9)
    np.testing.assert_array_equal(law(np.array([-10.0, 0.0])), [0.0, 0.0])
    # one regime: a single power law through the anchor
    single = piecewise_power_law_msd_nm2(np.array([50.0, 100.0]), (), (1.0,), 20.0, anchor_fs=50.0)
    np.testing.assert_allclose(single, [20.0, 40.0])
    with pytest.raises(ValueError):
        piecewise_power_law_msd_nm2([1.0], (1.0,), (1.0,), 1.0)


def test_sbpl_limits():
    log_m, a1, a2, log_tb = np.log(5000.0), 1.8, 0.4, np.log(300.0)

    def law(t, log_s=np.log(0.3)):
        return sbpl_msd_nm2(t, log_m, a1, a2, log_tb, log_s)

    # exponents a1 well before and a2 well after the break, M at the break
    assert _slope(law, 300.0 * 1e-5) == pytest.approx(a1, abs=1e-6)
    assert _slope(law, 300.0 * 1e5) == pytest.approx(a2, abs=1e-6)
    assert law(300.0) == pytest.approx(5000.0, rel=1e-12)
    # s -> 0 is the sharp corner of the piecewise law
    t = np.geomspace(10.0, 1e4, 50)
    sharp = piecewise_power_law_msd_nm2(t, (300.0,), (a1, a2), 5000.0)
    np.testing.assert_allclose(law(t, np.log(1e-3)), sharp, rtol=1e-3)
    np.testing.assert_array_equal(law(np.array([-1.0, 0.0])), [0.0, 0.0])


def test_a_negative_first_exponent_is_zero_before_time_zero_without_overflow():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        msd = piecewise_power_law_msd_nm2(np.array([-5.0, 0.0, 10.0, 100.0]), (50.0,),
                                          (-1.0, 0.5), 100.0)
    assert np.array_equal(msd[:2], [0.0, 0.0])
    assert msd[2] == pytest.approx(500.0)
