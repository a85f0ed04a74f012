"""The widths' common error from a subtracted baseline, against what noise realisations do."""

import numpy as np
import pytest

from tamkit.gaussfit import fit_frames
from tamkit.gaussfit.common_noise import baseline_common_modes, width_sensitivity
from tamkit.preprocessing.differential import subtract_baseline
from tamkit.testing.artificial import BandLikeTruth, spreading_gaussian_stack


def _residuals_and_prediction(n_seeds):
    residuals, predicted = [], []
    for seed in range(n_seeds):
        raw, truth = spreading_gaussian_stack(seed=seed)
        stack = subtract_baseline(raw)
        fits = fit_frames(stack)
        delay = fits["delay"].values
        early = (delay >= 0) & (delay <= 600)
        true = np.sqrt(truth.sigma0_nm**2 + BandLikeTruth().msd_nm2(np.clip(delay, 1e-9, None)))
        err = fits["sigma_err_nm"].values[early]
        residuals.append((fits["sigma_nm"].values[early] - true[early]) / err)
        modes = baseline_common_modes(fits, stack["x"].values, stack["y"].values,
                                      stack.attrs["baseline_frames_subtracted"])[early]
        predicted.append(modes @ modes.T / np.outer(err, err))
    return np.asarray(residuals), np.mean(predicted, axis=0)


def test_predicted_correlation_of_widths_matches_noise_realisations():
    # 5 baseline frames: every later frame carries -1/5 of their summed noise, so the widths of
    # two frames correlate by cos(h_i, h_j) / 6, close to 1/6 for similar spots
    residuals, predicted = _residuals_and_prediction(100)
    off = ~np.eye(predicted.shape[0], dtype=bool)
    assert np.diag(predicted) == pytest.approx(1 / 6, rel=1e-9)
    assert predicted[off].mean() == pytest.approx(0.16, abs=0.01)
    # measured: the scatter of each realisation's mean residual over its n early frames has
    # variance (1 + (n - 1) rho) / n; with 100 realisations its relative error is ~14 %
    n = residuals.shape[1]
    rho = (np.var(residuals.mean(axis=1), ddof=1) * n - 1) / (n - 1)
    assert rho == pytest.approx(predicted[off].mean(), abs=0.05)
    assert rho > 0.08  # independent frames (rho = 0) are excluded


def test_width_sensitivity_is_the_linear_response_of_the_fit():
    x = np.linspace(-1000, 1000, 37)
    sens = width_sensitivity(x, x, 10.0, -5.0, 150.0)
    g = np.exp(-0.5 * ((x[None, :] - 10.0) ** 2 + (x[:, None] + 5.0) ** 2) / 150.0**2)
    # a change of the spot's own width is read back one to one; a constant offset not at all
    wider = np.exp(-0.5 * ((x[None, :] - 10.0) ** 2 + (x[:, None] + 5.0) ** 2) / 150.5**2)
    assert sens @ (wider - g).ravel() == pytest.approx(0.5, rel=0.01)
    assert sens @ np.ones(g.size) == pytest.approx(0.0, abs=1e-9)


def test_no_baseline_no_common_modes():
    raw, _ = spreading_gaussian_stack(seed=0)
    fits = fit_frames(raw)
    assert not np.any(baseline_common_modes(fits, raw["x"].values, raw["y"].values, 0))
