"""Transport analysis on per-frame fit tables with a known truth (no images involved)."""

import numpy as np
import pytest

from tamkit.carrier_transport.analysis import transport
from tamkit.carrier_transport.regimes import piecewise_power_law_msd_nm2
from tamkit.core.constants import einstein_mobility_cm2_Vs
from tamkit.core.errors import InputError
from tamkit.testing.artificial import BandLikeTruth, fits_table, tam_delays_fs

DELAYS = tam_delays_fs()
TRUTH = BandLikeTruth()


@pytest.mark.parametrize("seed", range(4))
def test_band_like_truth_recovered(seed):
    # 1 nm per-frame width error: the CRB of a peak-SNR ~50 frame at 55.6 nm pixels
    fits = fits_table(DELAYS, TRUTH.msd_nm2(DELAYS), sigma_err_nm=1.0, seed=seed)
    r = transport(fits, pitch_nm=3.0, n_bootstrap=100, seed=seed)
    b = r.band_like
    assert b is not None
    assert r.sigma0_nm == pytest.approx(141.0, rel=0.02)
    assert b.D_max_cm2_s == pytest.approx(TRUTH.D_max_cm2_s, rel=0.10)
    assert b.tau_fs == pytest.approx(TRUTH.tau_fs, rel=0.25)
    assert b.length_nm == pytest.approx(TRUTH.length_nm, rel=0.10)
    assert b.n_dots == pytest.approx(b.length_nm / 3.0)
    assert b.mobility_cm2_Vs == pytest.approx(einstein_mobility_cm2_Vs(b.D_max_cm2_s, 300.0))
    # the band-like exponent is the least determined number: require it within 2.5 bootstrap
    # standard errors (at this noise its error is ~0.1); the later ones are tight
    assert abs(b.alpha - TRUTH.alphas[0]) < 2.5 * b.alpha_err
    assert [rg.name for rg in r.regimes][0] == "band-like"
    assert r.regimes[1].alpha == pytest.approx(0.5, abs=0.1)
    assert r.regimes[2].alpha == pytest.approx(0.3, abs=0.1)


def test_uncertainties_are_calibrated_over_realisations():
    pulls_d, pulls_s0 = [], []
    for seed in range(12):
        fits = fits_table(DELAYS, TRUTH.msd_nm2(DELAYS), sigma_err_nm=1.0, seed=100 + seed)
        r = transport(fits, n_bootstrap=60, seed=seed)
        pulls_d.append((r.band_like.D_max_cm2_s - TRUTH.D_max_cm2_s) / r.band_like.D_max_err_cm2_s)
        pulls_s0.append((r.sigma0_nm - 141.0) / r.sigma0_err_nm)
    # a calibrated error gives pulls of unit spread; with 12 draws the sample std lies in
    # roughly [0.6, 1.4] at 95 %, widened for the bootstrap's own noise
    assert 0.4 < np.std(pulls_d) < 1.8
    assert 0.4 < np.std(pulls_s0) < 1.8


def ballistic_start_msd_nm2(t: np.ndarray) -> np.ndarray:
    """Band-like motion with a ballistic start: a velocity correlated over tau_c = 100 fs
    (MSD = 2 D tau_c (t / tau_c - 1 + exp(-t / tau_c)), D = 10 nm^2/fs = 100 cm^2/s, ~t^2 early)
    localised within L^2 = 8000 nm^2, then sub-diffusive hopping."""
    t = np.clip(np.asarray(t, float), 0, None)
    free = 2 * 10.0 * 100.0 * (t / 100.0 - 1 + np.exp(-t / 100.0))
    return 8000.0 * (1 - np.exp(-free / 8000.0)) + 300.0 * (t / 1e3) ** 0.5


def test_sigma0_follows_a_ballistic_start():
    # a single power law from t = 0 turns the t^2 start into a low sigma_0 (0.6 nm low here;
    # -1.2 nm on the simulated cqd film); the band-like fit's free early exponent
    # follows it: sigma_0 within 0.3 nm (0.2 %) and 3 of its errors, on noise-free and on noisy
    # widths (0.5 nm per frame)
    from tamkit.carrier_transport.analysis import _sigma0

    exact = transport(fits_table(DELAYS, ballistic_start_msd_nm2(DELAYS), sigma_err_nm=1e-3,
                                 seed=0), n_bootstrap=20, seed=0)
    assert "smoothly broken" in exact.parameters.sigma0_method
    assert exact.sigma0_nm == pytest.approx(141.0, abs=0.3)
    assert _sigma0(exact.model)[0] < 141.0 - 0.5  # the piecewise intercept alone is low
    noisy = transport(fits_table(DELAYS, ballistic_start_msd_nm2(DELAYS), sigma_err_nm=0.5,
                                 seed=3), n_bootstrap=100, seed=3)
    assert abs(noisy.sigma0_nm - 141.0) < max(0.3, 3 * noisy.sigma0_err_nm)
    # the plotted curve sits on the data's MSD: the band-like fit early (ballistic start
    # included), the regime fit later
    assert exact.early_fit is not None
    for lo, hi in [(40.0, 1e3), (2e3, 5e5)]:
        t = DELAYS[(DELAYS >= lo) & (DELAYS <= hi)]
        assert exact.model_msd_nm2(t) == pytest.approx(ballistic_start_msd_nm2(t), rel=0.05, abs=25)


def test_no_band_like_when_sub_diffusive_from_start():
    # like the 90 vol% perovskite film: hopping only, MSD ~ t^0.45 then t^0.3
    msd = piecewise_power_law_msd_nm2(DELAYS, (1e5,), (0.45, 0.3), 3000.0)
    for seed in range(4):
        r = transport(fits_table(DELAYS, msd, sigma_err_nm=1.0, seed=seed), n_bootstrap=60)
        assert r.band_like is None
        assert r.regimes[0].name != "band-like"
        assert r.regimes[0].alpha < 1


def test_normal_diffusion_single_regime():
    d_nm2_fs = 0.002  # 0.02 cm^2/s
    msd = 2 * d_nm2_fs * np.clip(DELAYS, 0, None)
    r = transport(fits_table(DELAYS, msd, sigma_err_nm=0.5, seed=1), n_bootstrap=60)
    assert r.model.n_regimes == 1
    assert r.regimes[0].alpha == pytest.approx(1.0, abs=0.05)
    assert r.regimes[0].name in ("band-like", "diffusive")
    if r.band_like is not None:  # the rule: at least diffusive, never ends -> warned
        assert not r.band_like.ends_within_data
        assert any("does not end" in w for w in r.warnings)


def test_frames_carry_msd_and_diffusivity():
    fits = fits_table(DELAYS, TRUTH.msd_nm2(DELAYS), sigma_err_nm=1.0, seed=0)
    r = transport(fits, n_bootstrap=20)
    f = r.frames
    t = f["delay"].values
    late = t > 1e4
    expected = TRUTH.msd_nm2(t[late])
    got = f["msd_nm2"].values[late]
    err = f["msd_err_nm2"].values[late]
    assert np.all(np.abs(got - expected) < 5 * err)
    np.testing.assert_allclose(f["D_cm2_s"].values[late], got / (2 * t[late]) * 10)
    assert np.all(np.isnan(f["msd_nm2"].values[t < 0]))
    assert np.nanmedian(f["alpha_local"].values[t > 2e5]) == pytest.approx(0.3, abs=0.1)


def test_errors_for_unusable_input():
    fits = fits_table(DELAYS, TRUTH.msd_nm2(DELAYS), seed=0)
    fits["status"][:] = "failed"
    with pytest.raises(InputError, match="usable fit"):
        transport(fits)
    good = fits_table(DELAYS, TRUTH.msd_nm2(DELAYS), seed=0)
    with pytest.raises(InputError, match="temperature"):
        transport(good, temperature_K=-3)
    with pytest.raises(InputError, match="pitch"):
        transport(good, pitch_nm=0)
