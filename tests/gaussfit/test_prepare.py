"""Tests of the preparation of the gaussfit frames (tamkit.gaussfit._prepare, _outliers): pixel
masks, hot pixels and transient spikes, noise estimation, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from gaussfit_stacks import PIX, constant_stack

from tamkit.core.errors import InputError
from tamkit.core.stack import make_stack
from tamkit.gaussfit import fit_frames
from tamkit.testing.artificial import spreading_gaussian_stack


def test_drift_hot_pixels_and_nan_patch():
    stack, truth = spreading_gaussian_stack(
        peak_snr=50,
        drift_nm_per_frame=(3.0, -2.0),
        n_hot_pixels=3,
        nan_patch=(4, 30, 4),
        seed=3,
    )
    fits = fit_frames(stack)
    hot = {tuple(p) for p in truth.extras["hot_pixels"]}
    in_patch = {(r, c) for r in range(4, 8) for c in range(30, 34)}
    n_masked = len(hot | in_patch)
    assert fits.attrs["n_masked_pixels"] == n_masked
    ok = fits["status"].values == "ok"
    assert ok.sum() >= 50
    assert np.all(fits["n_pixels"].values[ok] == 48 * 48 - n_masked)
    for axis, true in (("x0", truth.centre_x_nm), ("y0", truth.centre_y_nm)):
        z = (fits[f"{axis}_nm"].values - true)[ok] / fits[f"{axis}_err_nm"].values[ok]
        assert np.all(np.abs(z) < 5)  # calibrated errors: 5 sigma is a 1e-6 event per frame
    true_sigma = np.sqrt(truth.sigma0_nm**2 + truth.msd_nm2)
    z = (fits["sigma_nm"].values - true_sigma)[ok] / fits["sigma_err_nm"].values[ok]
    assert np.all(np.abs(z) < 5)
    assert abs(np.mean(z)) < 0.5  # no bias: the mean of ~55 unit normals is within 0.4


def test_transient_spike_masked_in_its_frame_only():
    stack = constant_stack(6, size=32, amplitude=30.0, seed=4)
    values = stack.values.copy()
    values[10, 3, 28] = 80.0  # a cosmic ray in one frame
    spiked = make_stack(values, stack["delay"].values, PIX)
    fits = fit_frames(spiked)
    n_pix = fits["n_pixels"].values
    assert n_pix[10] == 32 * 32 - 1
    assert np.all(np.delete(n_pix[8:], 2) == 32 * 32)
    clean = fit_frames(stack)
    assert fits["sigma_nm"].values[10] == pytest.approx(clean["sigma_nm"].values[10], rel=0.02)


def test_no_baseline_uses_residual_noise():
    stack = constant_stack(30, size=32, amplitude=25.0, noise=2.0, n_baseline=0, seed=6)
    fits = fit_frames(stack)
    assert fits.attrs["noise_source"] == "residual"
    # 30 frames of ~1000 residuals each: the pooled estimate is good to well under 2 %
    assert fits.attrs["noise_std"] == pytest.approx(2.0, rel=0.03)
    assert np.all(fits["status"].values == "ok")
    given = fit_frames(stack, noise_std=2.0)
    assert given.attrs["noise_source"] == "given"
    # the fit does not depend on the noise level (unit weights); only its stopping point moves
    np.testing.assert_allclose(given["sigma_nm"], fits["sigma_nm"], rtol=1e-4)


def test_user_mask_and_bad_arguments():
    stack = constant_stack(4, size=24, seed=1)
    mask = np.zeros((24, 24), bool)
    mask[0, :] = True
    fits = fit_frames(stack, mask=mask)
    assert fits.attrs["n_masked_pixels"] == 24
    assert np.all(fits["n_pixels"].values[8:] == 24 * 23)
    with pytest.raises(InputError):
        fit_frames(stack, model="gaussian")
    with pytest.raises(InputError):
        fit_frames(stack, mask=np.zeros((3, 3), bool))
    with pytest.raises(InputError):
        fit_frames(stack, noise_std=-1.0)
    with pytest.raises(InputError):
        fit_frames(stack.rename(x="u"))


# --- compiled building blocks against the library code they replace --------------------------


def test_outlier_maps_equal_the_scipy_formulation():
    """Same outliers as median_filter + numpy medians, with NaN/inf pixels and a flat frame."""
    from scipy import ndimage

    from tamkit.gaussfit._outliers import outlier_maps
    from tamkit.gaussfit._prepare import HOT_Z, MAD_TO_STD

    rng = np.random.default_rng(3)
    frames = rng.normal(size=(6, 40, 33))
    frames[:, 5, 7] += 40.0  # a hot pixel
    frames[1, 2, 3], frames[2, 0, 0] = np.nan, np.inf
    frames[3] = 1.0  # no spread: no outliers
    # half the pixels bright, many of them infinite: np.nanmedian (infinities counted) fills
    # NaN/inf with a bright value, a median of the finite pixels would fill a dark one
    frames[4, 20:] += 100.0
    frames[4, 20:][rng.random((20, 33)) < 0.3] = np.inf
    frames[4, 2, 3] = np.nan  # filled bright among dark neighbours: an outlier
    filled = np.where(np.isfinite(frames), frames, np.nanmedian(frames, axis=(1, 2), keepdims=True))
    high = filled - ndimage.median_filter(filled, size=(1, 3, 3), mode="nearest")
    scale = MAD_TO_STD * np.median(np.abs(high), axis=(1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.abs(high) / np.where(scale > 0, scale, np.inf) > HOT_Z
    got = outlier_maps(frames, HOT_Z, MAD_TO_STD)
    np.testing.assert_array_equal(got, expected)
    assert got[:, 5, 7].sum() == 5 and not got[3].any() and got[4, 2, 3]
