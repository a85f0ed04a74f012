"""Injection: perovskite bleach decay vs dot bleach rise on simulated films."""

from __future__ import annotations

import pytest

from tamkit.sim.ta_map import simulated_ta_map_for_film
from tamkit.spectro.corrections import correct_chirp
from tamkit.spectro.injection import injection_test


def _corrected(film, **kw):
    tamap, truth = simulated_ta_map_for_film(film, seed=9, **kw)
    return correct_chirp(tamap, truth.t0_fs), truth


def test_decay_and_rise_share_the_injection_time():
    tamap, truth = _corrected("qdip40", injection_tau_fs=3000.0)
    # a wide acceptor band keeps the red-shifting dot bleach inside it
    result = injection_test(tamap, (540, 590), (840, 990), irf_fwhm_fs=100.0,
                            reference_nm=(650, 690))
    assert result["donor_tau_ps"] == pytest.approx(3.0, rel=0.03)
    assert result["acceptor_tau_ps"] == pytest.approx(3.0, rel=0.03)
    assert result["z"] is not None and result["agree"]
    assert result["relative_difference"] < 0.05
    # the dots' PIA appears at once: no rise
    assert result["reference"]["rises"] is False


def test_pure_dot_film_shows_no_rise():
    tamap, _ = _corrected("cqd")  # no perovskite: nothing to inject
    result = injection_test(tamap, (540, 590), (840, 990), irf_fwhm_fs=100.0)
    assert result["acceptor_tau_ps"] is None
    assert result["agree"] is False
