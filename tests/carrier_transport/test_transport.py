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
    # 30 noise realisations: the sample SD of 30 unit-normal pulls lies within [0.75, 1.25] at
    # ~98 %, so the band [0.7, 1.4] (widened for the bootstrap's own noise) fails an error that
    # is doubled (pull SD 0.5) or halved (pull SD 2); per-frame pulls pool ~2,600 values
    msd_true = TRUTH.msd_nm2(DELAYS)
    pulls = {"D_max": [], "sigma0": [], "length": [], "D_frame": [], "length_frame": []}
    for seed in range(30):
        fits = fits_table(DELAYS, msd_true, sigma_err_nm=1.0, seed=500 + seed)
        r = transport(fits, pitch_nm=3.0, n_bootstrap=40, seed=seed)
        b = r.band_like
        pulls["D_max"].append((b.D_max_cm2_s - TRUTH.D_max_cm2_s) / b.D_max_err_cm2_s)
        pulls["sigma0"].append((r.sigma0_nm - 141.0) / r.sigma0_err_nm)
        pulls["length"].append((b.length_nm - TRUTH.length_nm) / b.length_err_nm)
        f = r.frames
        t = f["delay"].values
        ok = (f["status"].values.astype(str) == "ok") & (t > 50)
        D_true = 10.0 * msd_true / (2 * np.clip(t, 1e-9, None))  # 1 nm^2/fs = 10 cm^2/s
        pulls["D_frame"].append(((f["D_cm2_s"].values - D_true) / f["D_err_cm2_s"].values)[ok])
        bright = ok & (msd_true > 2000)  # where the length is resolved (MSD >> its error)
        pulls["length_frame"].append(
            ((f["length_nm"].values - np.sqrt(msd_true)) / f["length_err_nm"].values)[bright])
    for name in ("D_max", "sigma0", "length"):
        values = np.asarray(pulls[name])
        assert 0.7 < np.std(values) < 1.4, (name, np.std(values))
    # the headline numbers are unbiased within their error (mean of 30 pulls: SE 0.18); the
    # length runs ~0.5 errors low (the breakpoint's bootstrap is skewed), so it gets 0.8
    assert abs(np.mean(pulls["D_max"])) < 0.5 and abs(np.mean(pulls["sigma0"])) < 0.5
    assert abs(np.mean(pulls["length"])) < 0.8
    for name in ("D_frame", "length_frame"):
        values = np.concatenate(pulls[name])
        assert values.size > 1000
        assert 0.85 < np.std(values) < 1.15, (name, np.std(values))
        assert abs(np.mean(values)) < 0.25, (name, np.mean(values))


def test_mobility_follows_the_temperature():
    # Einstein: mu = e D / k_B T; the same transport at 77 K has 300/77 times the mobility
    fits = fits_table(DELAYS, TRUTH.msd_nm2(DELAYS), sigma_err_nm=1.0, seed=7)
    warm = transport(fits, n_bootstrap=20, seed=1).band_like
    cold = transport(fits, temperature_K=77.0, n_bootstrap=20, seed=1).band_like
    assert cold.D_max_cm2_s == pytest.approx(warm.D_max_cm2_s, rel=1e-12)
    assert cold.mobility_cm2_Vs == pytest.approx(warm.mobility_cm2_Vs * 300.0 / 77.0, rel=1e-9)
    assert cold.mobility_cm2_Vs == pytest.approx(
        einstein_mobility_cm2_Vs(cold.D_max_cm2_s, 77.0), rel=1e-12)
    assert cold.mobility_err_cm2_Vs == pytest.approx(
        warm.mobility_err_cm2_Vs * 300.0 / 77.0, rel=1e-9)


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
