"""The paper's fluence and composition trends in the simulator's truth (no imaging, no analysis).

Truth curves are built exactly as :func:`tamkit.sim.scenario.simulate_measurement` builds them
(the same levels, seeds, times and spot average), without the camera: the population-weighted
true MSD over the pump spot at <N_abs> = 0.045, 0.09 and 0.18 of the ``cqd`` preset.
Measured reference numbers (seed 0): D_max 106.1 / 102.3 / 95.7 cm^2/s; mean MSD over 2-50 ps
16 970 / 18 230 / 20 920 nm^2; MSD at 100 ps 19 500 / 23 350 / 30 670 nm^2, increments from
100 ps to 1 ns 153 / 153 / 152 nm^2; depletion artefact (second moment) 39 / 69 / 135 nm^2 at
100 ps, unchanged at 1 ns.
"""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.sim.bandlike import simulate_band_like
from tamkit.sim.film import film_preset
from tamkit.sim.microscope import Microscope
from tamkit.sim.scenario import _seed_int, simulate_levels, simulation_times_fs
from tamkit.sim.spot import default_levels, depletion_variance_nm2, spot_average, spot_overlaps
from tamkit.sim.truth import band_like_truth
from tamkit.testing.artificial import tam_delays_fs

FLUENCES = (0.045, 0.09, 0.18)


@pytest.fixture(scope="module")
def truths():
    film = film_preset("cqd")
    microscope = Microscope()
    delay = tam_delays_fs()
    times = simulation_times_fs(delay, microscope)
    out = {}
    for nabs in FLUENCES:
        # the carrier seed simulate_measurement(seed=0) uses
        carrier_seq, _ = np.random.SeedSequence(0).spawn(2)
        levels = default_levels(nabs, 4)
        sims = simulate_levels(film, levels, times, seed=_seed_int(carrier_seq))
        overlaps = spot_overlaps(nabs, microscope.pump_sigma_nm, levels)
        msd = spot_average(overlaps, sims["msd_nm2"], sims["survival"])
        depletion = (depletion_variance_nm2(overlaps, sims["survival"])
                     - depletion_variance_nm2(overlaps, np.ones_like(sims["survival"])))
        out[nabs] = {"times": times, "msd": msd, "depletion": depletion,
                     "band": band_like_truth(film, nabs, times, msd)}
    return out


def _at(truth, t_fs):
    return float(np.interp(t_fs, truth["times"], truth["msd"]))


def test_band_like_D_max_calibration_and_fall_with_fluence(truths):
    # Paper Fig. 3b: D_max = 102 cm^2/s near 300 fs at 0.045 (issue 3: within 15 %), falling
    # as the fluence rises (carrier-carrier scattering). The Auger flights, which start with
    # the Auger events (tau_XX = 10 ps), must not lift the band-like peak.
    low = truths[0.045]["band"]
    assert low["D_max_cm2_s"] == pytest.approx(102.0, rel=0.15)
    assert 200.0 < low["tau_fs"] < 400.0
    d_max = [truths[n]["band"]["D_max_cm2_s"] for n in FLUENCES]
    assert d_max[0] > d_max[1] > d_max[2]
    assert d_max[2] < 0.95 * d_max[0]


def test_msd_rises_with_fluence_before_100_ps(truths):
    # Mean over the default scan's delays in 2-50 ps: +3 900 nm^2 from 0.045 to 0.18 measured,
    # against ~1 500 nm^2 required (several times the ~300-450 nm^2 per-frame precision of a
    # default measurement, so the analysis sees it). The Monte Carlo spread of the flights
    # (~1 % of carriers, each with a ~1e6 nm^2 spread) is ~500 nm^2 on the difference.
    delay = tam_delays_fs()
    window = delay[(delay >= 2e3) & (delay <= 5e4)]
    mean = {n: np.mean([_at(truths[n], t) for t in window]) for n in FLUENCES}
    assert mean[0.18] - mean[0.045] > 1500.0
    assert mean[0.045] < mean[0.09] < mean[0.18]
    # at 30 ps every fluence step raises the MSD
    at_30ps = [_at(truths[n], 3e4) for n in FLUENCES]
    assert at_30ps[0] < at_30ps[1] < at_30ps[2]


def test_msd_grows_the_same_way_at_every_fluence_after_100_ps(truths):
    # tamkit.series.trends.independence_time tests MSD(t) - MSD(t*) across fluences; thermal hopping
    # adds ~150 nm^2 from 100 ps to 1 ns at every fluence (no encounter Auger, flights over).
    # Tolerance 300 nm^2: the measured per-frame precision. The depletion artefact (second
    # moment of the surviving start positions) must not grow either, and is small at 100 ps
    # (paper: negligible up to 100 ps): 135 nm^2 at 0.18 against an Auger-assisted excess of
    # ~11 000 nm^2 there.
    delay = tam_delays_fs()
    late = delay[delay >= 1e5]
    increments = np.array([[_at(truths[n], t) - _at(truths[n], 1e5) for t in late]
                           for n in FLUENCES])
    assert np.all(np.abs(increments - increments[0]) < 300.0)
    assert np.all(increments[:, -1] > 50.0)  # the thermal growth is there
    for n in FLUENCES:
        dep = truths[n]["depletion"]
        times = truths[n]["times"]
        at_100ps = np.interp(1e5, times, dep)
        assert at_100ps < 300.0
        assert np.interp(1e6, times, dep) - at_100ps < 30.0


def test_band_like_length_volcano_peaks_at_40_percent_and_vanishes_at_90():
    # Paper Fig. 4: longest band-like length at 40 vol% (~90 nm), none at 90 vol%. Band-like
    # stage alone at <N_abs> = 0.045 (the hopping stage adds < 1 % of the MSD before 1 ps).
    times = np.geomspace(1.0, 5000.0, 300)
    lengths = {}
    for name in ("cqd", "qdip40", "qdip60", "qdip90"):
        film = film_preset(name)
        band = simulate_band_like(film, 0.045, times, exact=True)
        truth = band_like_truth(film, 0.045, times, band.msd_nm2)
        lengths[name] = None if truth is None else truth["length_nm"]
    assert lengths["qdip90"] is None
    assert max((v, k) for k, v in lengths.items() if v is not None)[1] == "qdip40"
