"""Model-free moments on artificial stacks with a known truth (issue 11, items 1 and 5).

Targets measured here (peak SNR 200, 64x64 px of 55.6 nm, aperture 4 widths): on a pure Gaussian
the pull spread of the moment MSD and of the excess kurtosis is 0.8-1.2; on the 35 % hot-minority
mixture (6x faster, D0 = 10 cm^2/s) the moment MSD is within 10 % of the true mean MSD from 10 to
100 ps in >= 90 % of frames (worst frame ~12 %: the Gaussian truncation correction misses ~5 % of
the hot tail at 100 ps) and the excess kurtosis is positive by more than 3 errors from 10 ps on.
"""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.moments import frame_moments
from tamkit.moments.truncation import kurtosis_truncated, variance_factor
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs
from tamkit.testing.mixtures import hot_minority_stack, trap_limited_stack

SNR = 200.0
HOT = dict(D0_cm2_s=10.0, peak_snr=SNR)


def test_truncation_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 400_000)) * np.array([[2.0], [0.7]])
    k = 2.5
    inside = (x[0] / 2.0) ** 2 + (x[1] / 0.7) ** 2 < k * k
    assert np.var(x[0][inside]) / 4.0 == pytest.approx(variance_factor(k), rel=0.01)
    kurt = np.mean(x[1][inside] ** 4) / np.mean(x[1][inside] ** 2) ** 2
    assert kurt == pytest.approx(kurtosis_truncated(k), rel=0.01)
    assert kurtosis_truncated(30.0) == pytest.approx(3.0)


def test_noise_free_elliptical_drifting_gaussian_is_exact():
    delay = tam_delays_fs()[::3]
    msd = np.where(delay > 0, 40.0 * np.sqrt(np.clip(delay, 0, None)), 0.0)
    stack, truth = spreading_gaussian_stack(delay, msd, shape=(64, 64), peak_snr=1e9,
                                            ellipticity=1.4, drift_nm_per_frame=(3.0, -2.0),
                                            offset=2e-4)
    m = frame_moments(stack)
    ok = m["status"].values == "ok"
    assert ok.sum() == (delay >= 0).sum()
    var_true = truth.sigma0_nm**2 + truth.msd_nm2
    np.testing.assert_allclose(m["variance_nm2"].values[ok], var_true[ok], rtol=5e-3)
    np.testing.assert_allclose(m["excess_kurtosis"].values[ok], 0.0, atol=0.02)
    np.testing.assert_allclose(m["x0_nm"].values[ok], truth.centre_x_nm[ok], atol=0.5)
    major = truth.sigma0_x_nm**2 + truth.msd_nm2
    np.testing.assert_allclose(m["var_major_nm2"].values[ok], major[ok], rtol=5e-3)
    assert "pre-time-zero" in m.attrs["background"] and "Gaussian" in m.attrs["truncation"]


def test_errors_calibrated_by_pulls_on_a_pure_gaussian():
    msd_pull, ek_pull = [], []
    for seed in range(8):
        stack, truth = hot_minority_stack(hot_factor=1.0, seed=seed, **HOT)
        m = frame_moments(stack, seed=seed)
        ok = m["status"].values == "ok"
        msd_pull.append(((m["msd_moment_nm2"] - truth.msd_nm2) / m["msd_moment_err_nm2"])
                        .values[ok])
        ek_pull.append((m["excess_kurtosis"] / m["excess_kurtosis_err"]).values[ok])
    msd_pull, ek_pull = np.concatenate(msd_pull), np.concatenate(ek_pull)
    assert 0.8 < np.std(msd_pull) < 1.2
    assert 0.8 < np.std(ek_pull) < 1.2
    assert abs(np.mean(ek_pull)) < 0.3


def test_hot_minority_moment_msd_and_positive_kurtosis():
    within, worst = [], []
    for seed in range(3):
        stack, truth = hot_minority_stack(seed=seed, **HOT)
        m = frame_moments(stack, seed=seed)
        delay = stack["delay"].values
        window = (delay >= 1e4) & (delay <= 1e5)
        rel = np.abs(m["msd_moment_nm2"].values[window] / truth.msd_nm2[window] - 1)
        within.append(rel < 0.10)
        worst.append(rel.max())
        # from 10 ps to 500 ps; by 1 ns the spot fills the 3.6 um field and the aperture is cut
        z = (m["excess_kurtosis"] / m["excess_kurtosis_err"]).values[(delay >= 1e4)
                                                                     & (delay <= 5e5)]
        assert np.all(z > 3), (seed, z.min())
        # the variance (sigma_0^2 + MSD) itself within 10 % at every delay up to 100 ps
        early = (delay >= 0) & (delay <= 1e5)
        var_true = truth.sigma0_nm**2 + truth.msd_nm2
        assert np.all(np.abs(m["variance_nm2"].values / var_true - 1)[early] < 0.10)
    assert np.mean(np.concatenate(within)) >= 0.9
    assert max(worst) < 0.15


def test_trap_limited_profile_has_positive_kurtosis():
    stack, truth = trap_limited_stack(peak_snr=SNR, seed=4)
    m = frame_moments(stack)
    late = (stack["delay"].values >= 5e4) & (m["status"].values == "ok")
    assert np.all(truth.extras["excess_kurtosis"][late] > 0.1)
    assert np.median((m["excess_kurtosis"] / m["excess_kurtosis_err"]).values[late]) > 3


def test_static_background_hot_pixels_and_profiles_kept_as_data():
    stack, truth = spreading_gaussian_stack(tam_delays_fs()[::4], shape=(48, 48), peak_snr=100,
                                            offset=5e-4, n_hot_pixels=3, seed=2)
    m = frame_moments(stack)
    ok = m["status"].values == "ok"
    var_true = truth.sigma0_nm**2 + truth.msd_nm2
    pull = (m["variance_nm2"].values - var_true) / m["variance_err_nm2"].values
    assert np.all(np.abs(pull[ok]) < 4)
    assert m["radial_profile"].dims == ("delay", "r_nm")
    assert m["cut_x"].sizes["x"] == 48 and m["cut_y"].sizes["y"] == 48
    prof = m["radial_profile"].isel(delay=int(np.argmax(ok)))
    assert prof.values[0] > 10 * abs(prof.values[-1])


def test_resampling_in_chunks_of_frames_changes_nothing(monkeypatch):
    """Chunked resampling (the memory bound of long stacks) draws the same deviates."""
    import tamkit.moments.frames as frames

    stack, _ = spreading_gaussian_stack(tam_delays_fs(n_log=20), shape=(32, 32), seed=3)
    monkeypatch.setattr(frames, "RESAMPLE_CHUNK_FRAMES", 10**9)
    whole = frame_moments(stack)
    monkeypatch.setattr(frames, "RESAMPLE_CHUNK_FRAMES", 7)
    chunked = frame_moments(stack)
    for name in ("variance_nm2", "variance_err_nm2", "msd_moment_err_nm2", "excess_kurtosis_err"):
        np.testing.assert_array_equal(whole[name].values, chunked[name].values)
