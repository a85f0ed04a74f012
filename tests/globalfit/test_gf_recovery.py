"""The global fit on artificial stacks with a known truth: recovery, calibrated errors, and a
pure-Gaussian (diffusive) control where it agrees with the per-frame route.

The paper-like band-like stack (D_max 102 cm^2/s at 300 fs, sigma_0 141 nm) is tested at a peak
SNR of 30, where the data determine the band-like regime; at SNR 12 and 6 the Cramer-Rao bound
of tau and D_max on this 48x48, 96-frame stack is above the issue's recovery target
(tests/globalfit/test_gf_bound.py; benchmarks/bench_globalfit.py prints the figures). At SNR 30
all 12 realisations are found band-like (piecewise 3 regimes, the truth's family, estimated by
AIC once BIC over frames has detected the regime); pull SDs ~1.2 (tau), ~1.2 (D_max).
"""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.carrier_transport.analysis import transport
from tamkit.gaussfit import fit_frames
from tamkit.globalfit import global_fit
from tamkit.globalfit.compare import disagreements
from tamkit.testing.artificial import BandLikeTruth, spreading_gaussian_stack

TRUTH = BandLikeTruth()
N_REAL = 12


@pytest.fixture(scope="module")
def band_like_fits():
    out = []
    for seed in range(N_REAL):
        stack, _ = spreading_gaussian_stack(peak_snr=30, seed=500 + seed)
        out.append(global_fit(stack, fit_frames(stack)))
    return out


def test_band_like_is_recovered_with_calibrated_errors(band_like_fits):
    # the band-like regime is detected in all 12 at this SNR (BIC over frames)
    found = [g for g in band_like_fits if g.band_like is not None]
    assert len(found) >= N_REAL - 3
    bands = [g.band_like for g in found]
    d = np.array([(b.D_max_cm2_s, b.D_max_err_cm2_s, b.tau_fs, b.tau_err_fs) for b in bands])
    recovered = (np.abs(d[:, 0] / TRUTH.D_max_cm2_s - 1) < 0.15) & (
        np.abs(d[:, 2] / TRUTH.tau_fs - 1) < 0.30)
    # errors of ~4 % (D_max) and ~7 % (tau) at this SNR: every band-like result inside
    assert recovered.sum() >= len(found) - 1
    s0 = np.array([(g.sigma0_nm, g.sigma0_err_nm) for g in band_like_fits])
    for pulls in ((d[:, 0] - TRUTH.D_max_cm2_s) / d[:, 1], (d[:, 2] - TRUTH.tau_fs) / d[:, 3],
                  (s0[:, 0] - 141.0) / s0[:, 1]):
        # the SD of 9-12 unit-normal pulls lies in ~0.55-1.45 with 95 % probability (chi^2
        # with 8-11 degrees of freedom); widened to 0.4-1.6 for 3-sigma safety: an error off by
        # a factor 2.5 either way still falls outside
        assert 0.4 < pulls.std(ddof=1) < 1.6
        assert abs(pulls.mean()) < 3 / np.sqrt(N_REAL) + 0.3


def test_fit_covers_every_frame_quickly(band_like_fits):
    g = band_like_fits[0]
    assert g.delay_fs.size == 91 and g.n_pixels == 48 * 48
    assert abs(g.chi2_red - 1) < 0.05
    assert g.run_time_s < 10  # ~1 s on an idle core; generous for a shared machine


def test_pure_diffusion_control_agrees_with_the_per_frame_route():
    # Gaussian spot, plain diffusion D = 2 cm^2/s (MSD = 2 D t): no band-like regime
    delay = spreading_gaussian_stack()[0]["delay"].values
    msd = 2 * 0.2 * np.clip(delay, 0, None)  # 2 cm^2/s = 0.2 nm^2/fs
    stack, _ = spreading_gaussian_stack(delay, msd, peak_snr=20, seed=3)
    fits = fit_frames(stack)
    g = global_fit(stack, fits)
    r = transport(fits, n_bootstrap=60)
    assert g.band_like is None
    assert abs(g.sigma0_nm - 141) < 3 * g.sigma0_err_nm
    late = g.msd_nm2(np.array([1e5]))[0]
    assert late == pytest.approx(2 * 0.2 * 1e5, rel=0.15)
    assert any(abs(reg.alpha - 1) < 3 * reg.alpha_err + 0.05 for reg in g.regimes)
    assert [w for w in disagreements(r, g) if "sigma_0" in w] == []
