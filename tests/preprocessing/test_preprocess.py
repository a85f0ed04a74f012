"""Preprocessing: differential imaging, robust run averaging, baseline, time zero."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tamkit.core.errors import InputError
from tamkit.core.stack import make_stack, pixel_axis_nm
from tamkit.preprocessing.differential import (
    average_runs,
    differential,
    estimate_time_zero,
    preprocess,
    subtract_baseline,
)
from tamkit.testing import artificial

PROBE_COUNTS = 2.0e4


@pytest.fixture(scope="module")
def truth_stack() -> xr.DataArray:
    stack, _ = artificial.spreading_gaussian_stack(
        artificial.log_delays_fs(n_signal=30, n_baseline=5), shape=(32, 32), seed=5
    )
    return stack


def _shot_noise_z(averaged: xr.DataArray, truth: xr.DataArray, n_runs: int) -> np.ndarray:
    """Residuals of averaged dT/T from the truth in units of their predicted shot noise.

    raw_acquisition draws T_on ~ Poisson(P (1 + d)) and T_off ~ Poisson(P) with P the probe
    counts (its profile is flat to 0.1 % here). To first order in 1/P, (T_on - T_off)/T_off has
    mean d + (1 + d)/P (E[1/T_off] = (1 + 1/P)/P) and variance (1 + d)(2 + d)/P; a mean of n
    runs divides the variance by n.
    """
    d = truth.values
    x, y = truth["x"].values, truth["y"].values
    sigma_probe = 20.0 * max(abs(x).max(), abs(y).max())
    probe = PROBE_COUNTS * np.exp(-0.5 * (x[None, :] ** 2 + y[:, None] ** 2) / sigma_probe**2)
    mean = d + (1 + d) / probe
    sd = np.sqrt((1 + d) * (2 + d) / probe / n_runs)
    return ((averaged.values - mean) / sd).ravel()


def test_differential_formula_and_nonpositive_reference_masked():
    on = np.array([[110.0, 90.0], [50.0, 7.0]])
    off = np.array([[100.0, 100.0], [0.0, -3.0]])
    raw = xr.DataArray(np.stack([on, off]), dims=("chopper", "y", "x"),
                       coords={"chopper": ["on", "off"]})
    dtt = differential(raw)
    np.testing.assert_array_equal(dtt.values[0], [0.1, -0.1])
    assert np.isnan(dtt.values[1]).all()  # T_off = 0 and < 0: no reference, NaN not inf
    assert dtt.attrs["masked_off_pixels"] == 2
    # the chopper order in the file does not matter
    swapped = raw.isel(chopper=[1, 0])
    xr.testing.assert_identical(differential(swapped), dtt)


def test_differential_needs_on_and_off():
    raw = xr.DataArray(np.ones((2, 5, 5)), dims=("chopper", "y", "x"),
                       coords={"chopper": ["a", "b"]})
    with pytest.raises(InputError, match="'on' and 'off'"):
        differential(raw)


def test_clean_runs_are_all_kept_and_match_truth_within_shot_noise(truth_stack):
    n_spots, n_runs = 2, 5
    for seed in range(4):
        raw = artificial.raw_acquisition(truth_stack, n_runs=n_runs, n_spots=n_spots, seed=seed)
        averaged = average_runs(differential(raw))
        assert averaged.attrs["rejected_runs"] == []
        assert averaged.attrs["n_runs_averaged"] == n_spots * n_runs
    z = _shot_noise_z(averaged, truth_stack, n_spots * n_runs)
    # 30k pixels: the sample mean of z has standard error 0.006 and its std 0.004; the
    # neglected O(1/P^2, d/P) terms are ~1e-4 relative, so 0.03 and 0.02 leave >4 SE margin
    assert abs(z.mean()) < 0.03
    assert abs(z.std() - 1.0) < 0.02


def test_gain_glitch_runs_are_rejected_and_good_runs_kept(truth_stack):
    glitches = ((0, 2), (1, 4))
    raw = artificial.raw_acquisition(truth_stack, n_runs=5, n_spots=2, outlier_runs=glitches,
                                     seed=7)
    averaged = average_runs(differential(raw))
    assert averaged.attrs["rejected_runs"] == [{"spot": 0, "run": 2}, {"spot": 1, "run": 4}]
    assert averaged.attrs["n_runs_averaged"] == 8
    z = _shot_noise_z(averaged, truth_stack, 8)
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.02
    # without rejection the 5x glitch would dominate: dT/T ~ (5 - 1) / 10 runs = 0.4
    plain = differential(raw).mean(("spot", "run"))
    assert float(np.abs(plain - truth_stack).mean()) > 0.3


def test_subtle_one_percent_gain_glitch_is_caught(truth_stack):
    raw = artificial.raw_acquisition(truth_stack, n_runs=6, n_spots=1, seed=8)
    # a 1 % gain step shifts that run's dT/T by 0.01, as large as its per-pixel shot noise
    raw[0, 3, 0] = raw[0, 3, 0] * 1.01
    averaged = average_runs(differential(raw))
    assert averaged.attrs["rejected_runs"] == [{"spot": 0, "run": 3}]


def test_average_without_run_dims_is_identity(truth_stack):
    assert average_runs(truth_stack) is truth_stack


def test_subtract_baseline_removes_pre_time_zero_mean():
    delay = np.array([-300.0, -200.0, -100.0, 0.0, 100.0])
    background = np.random.default_rng(1).normal(size=(6, 7))
    frames = np.stack([background + k for k in (0.5, -0.5, 0.0, 3.0, 2.0)])
    stack = make_stack(frames, delay, 50.0)
    out = subtract_baseline(stack)
    # baseline mean is background + 0: the signal frames keep only their added constant
    np.testing.assert_allclose(out.sel(delay=0.0).values, 3.0, atol=1e-12)
    np.testing.assert_allclose(out.sel(delay=100.0).values, 2.0, atol=1e-12)
    assert out.attrs["baseline_frames_subtracted"] == 3
    later = stack.sel(delay=stack["delay"] >= 0)
    xr.testing.assert_identical(subtract_baseline(later), later)  # no baseline: unchanged


def test_preprocess_raw_gives_validated_dtt(truth_stack):
    raw = artificial.raw_acquisition(truth_stack, n_runs=3, n_spots=1, seed=2)
    out = preprocess(raw)
    assert out.dims == ("delay", "y", "x")
    assert out.attrs["quantity"] == "dT/T"
    # the 1/P bias of the ratio is the same at every delay, so the baseline removes it: the
    # residual mean is shot noise only. Per pixel and frame sd = sqrt(2 / (P n)); the mean over
    # N pixel-frames has SE sd sqrt(1/N + 1/(n_baseline n_pix)) (the baseline mean is shared)
    residual = (out - subtract_baseline(truth_stack)).values
    n_pix = residual[0].size
    se = np.sqrt(2 / (PROBE_COUNTS * 3)) * np.sqrt(1 / residual.size + 1 / (5 * n_pix))
    assert abs(residual.mean()) < 4 * se
    # subtracting the mean of 5 baseline frames scales the noise variance by 1 - 1/5 in them
    # and 1 + 1/5 after time zero; 3e4 pixel-frames know each std to < 1 %
    sd = np.sqrt(2 / (PROBE_COUNTS * 3))
    assert residual[:5].std() / sd == pytest.approx(np.sqrt(0.8), rel=0.03)
    assert residual[5:].std() / sd == pytest.approx(np.sqrt(1.2), rel=0.03)
    # a dT/T stack goes through baseline subtraction only
    xr.testing.assert_identical(preprocess(truth_stack), subtract_baseline(truth_stack))


def test_preprocess_rejects_a_reference_that_is_all_dark(truth_stack):
    raw = artificial.raw_acquisition(truth_stack, n_runs=2, n_spots=1, seed=2)
    raw.loc[{"chopper": "off", "delay": 10.0}] = 0.0  # probe blocked in one frame
    with pytest.raises(InputError, match="pump-off counts at delay 10 fs are all zero or negative"):
        preprocess(raw)


def _irf_stack(t0_fs, irf_fs, seed, snr=20.0):
    """A fixed spot whose amplitude rises as an erf step (Gaussian IRF) at t0_fs."""
    from scipy.special import erf

    delay = np.arange(-600.0, 1500.0, 20.0)
    pixel, shape = 55.6, (32, 32)
    x, y = pixel_axis_nm(shape[1], pixel), pixel_axis_nm(shape[0], pixel)
    amplitude = -1e-3 * 0.5 * (1 + erf((delay - t0_fs) / (np.sqrt(2) * irf_fs)))
    frames = artificial.gaussian_frames(amplitude, 0 * delay, 0 * delay, 150.0 + 0 * delay,
                                        150.0 + 0 * delay, x, y)
    frames += np.random.default_rng(seed).normal(0, 1e-3 / snr, frames.shape)
    return make_stack(frames, delay, pixel)


def test_time_zero_with_gaussian_irf_and_calibrated_error():
    pulls, errors = [], []
    for seed in range(30):
        t0, err = estimate_time_zero(_irf_stack(137.0, 60.0, seed))
        pulls.append((t0 - 137.0) / err)
        errors.append(err)
    pulls = np.array(pulls)
    # 30 realisations: the std of pulls is known to ~13 %, so [0.7, 1.4] tests calibration
    assert 0.7 < pulls.std() < 1.4
    assert abs(pulls.mean()) < 3 / np.sqrt(30) * 1.4
    assert np.median(errors) < 10.0  # a 60 fs IRF on 20 fs steps locates t0 to a few fs


def test_time_zero_on_shifted_log_delays():
    stack, _ = artificial.spreading_gaussian_stack(seed=3)
    shifted = stack.assign_coords(delay=stack["delay"] + 250.0)
    t0, err = estimate_time_zero(shifted)
    # instant rise between the frames at -100 + 250 and 0 + 250 fs: t0 is in that gap and
    # the error says so (at least half the gap)
    assert 150.0 <= t0 <= 250.0
    assert err >= 50.0
    assert abs(t0 - 200.0) <= err


def test_time_zero_without_signal_is_an_input_error():
    noise = np.random.default_rng(0).normal(0, 1e-4, (40, 16, 16))
    stack = make_stack(noise, np.arange(-200.0, 600.0, 20.0), 50.0)
    with pytest.raises(InputError, match="time zero"):
        estimate_time_zero(stack)


def test_three_runs_no_false_rejection_but_glitch_caught(truth_stack):
    # with three runs the MAD of three distances is tiny by chance; the relative floor of
    # the scale must keep every good run and still catch a 1 % gain step
    for seed in range(8):
        raw = artificial.raw_acquisition(truth_stack, n_runs=3, n_spots=1, seed=300 + seed)
        assert average_runs(differential(raw)).attrs["rejected_runs"] == []
        raw[0, 1, 0] = raw[0, 1, 0] * 1.01
        assert average_runs(differential(raw)).attrs["rejected_runs"] == [{"spot": 0, "run": 1}]


def test_differential_masks_nan_and_inf_references_and_counts_only_finite_ones():
    on = np.array([[110.0, 90.0, 5.0, np.nan]])
    off = np.array([[100.0, np.inf, np.nan, 100.0]])
    raw = xr.DataArray(np.stack([on, off]), dims=("chopper", "y", "x"),
                       coords={"chopper": ["on", "off"]})
    dtt = differential(raw)
    np.testing.assert_array_equal(dtt.values, [[0.1, np.nan, np.nan, np.nan]])
    # an infinite reference is masked and counted; a NaN one was missing already
    assert dtt.attrs["masked_off_pixels"] == 1


def test_run_distances_median_equals_nanmedian_with_nan_pixels():
    from tamkit.preprocessing.differential import _nan_median_first_axis, run_distances

    rng = np.random.default_rng(4)
    values = rng.standard_normal((7, 5, 6))
    values[:3, 1, 2] = np.nan  # a pixel NaN in some runs
    values[:, 4, 5] = np.nan   # and one NaN in all
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmedian(values, axis=0)
    np.testing.assert_array_equal(_nan_median_first_axis(values), expected)
    sq = (values - expected[None]) ** 2
    reference = np.sqrt(np.nanmean(sq.reshape(7, -1), axis=1))
    np.testing.assert_array_equal(run_distances(values), reference)
