"""Auger depletion of the spot centre (tamkit.carrier_transport.depletion): the spot integral,
the depletion kinetics and rate, and the apparent broadening they imply."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.carrier_transport.depletion import (
    depletion_artefact,
    depletion_broadening_nm2,
    fit_depletion_kinetics,
    fit_depletion_rate,
    saturating_broadening_nm2,
    spot_integral,
)
from tamkit.core.errors import InputError
from tamkit.gaussfit import fit_frames
from tamkit.testing.artificial import spreading_gaussian_stack


def test_depletion_rate_recovered():
    # a spot whose centre empties by bimolecular decay: kappa = k n_peak = 1/(50 ps)
    kappa = 1 / 5e4
    delays = np.concatenate([[-300.0, -200.0, -100.0], np.geomspace(100, 1e6, 40)])
    apparent = np.concatenate([[0, 0, 0], depletion_broadening_nm2(delays[3:], kappa, 141.0,
                                                                   55.6)])
    x = kappa * np.clip(delays, 0, None)
    stack, _ = spreading_gaussian_stack(delays, apparent, peak_snr=200, lifetime_fs=1e9, seed=4)
    # replace the amplitude law by the depleted one: integral falls as ln(1 + x) / x
    factor = np.where(x > 0, np.log1p(x) / np.where(x > 0, x, 1), 1.0)
    stack = stack * factor[:, None, None]
    fits = fit_frames(stack)
    rate = fit_depletion_rate(fits)
    assert rate["kappa_per_fs"] == pytest.approx(kappa, rel=0.2)


def _saturating_stack(lost: float, tau_a_fs: float, seed: int = 4):
    """A spot that loses ``lost`` of its carriers within ~tau_a (quantised Auger), widening only
    by the depletion of its centre (profile g - 2 f g^2), at SNR 300."""
    delays = np.concatenate([[-300.0, -200.0, -100.0], np.geomspace(100, 1e6, 50)])
    f_t = lost * (1 - np.exp(-np.clip(delays, 0, None) / tau_a_fs))
    apparent = np.concatenate([[0, 0, 0], saturating_broadening_nm2(f_t[3:], 141.0, 55.6)])
    stack, _ = spreading_gaussian_stack(delays, apparent, peak_snr=300, lifetime_fs=1e12,
                                        seed=seed)
    # the stack conserves the spot integral; depletion removes the fraction f(t) of it
    return stack * (1 - f_t)[:, None, None], delays, apparent


def test_saturating_depletion_recovered():
    # 6 % of the carriers lost within ~10 ps: the saturating law wins the BIC over the
    # bimolecular one and no depletion, recovers f and tau_A, and images the artefact it implies
    stack, delays, apparent = _saturating_stack(0.06, 1e4)
    fits = fit_frames(stack)
    kin = fit_depletion_kinetics(fits)
    assert kin["model"] == "saturating"
    assert kin["lost_fraction"] == pytest.approx(0.06, abs=max(0.01, 3 * kin["lost_fraction_err"]))
    assert kin["auger_time_fs"] == pytest.approx(1e4, rel=0.5)
    art = depletion_artefact(fits, 141.0)
    late = delays > 1e5
    assert art["apparent_msd_nm2"][late] == pytest.approx(apparent[late], rel=0.25)
    assert np.all(art["apparent_msd_err_nm2"][late] > 0)
    assert np.all(art["apparent_msd_nm2"][delays <= 0] == 0)


def test_no_depletion_gives_zero_with_an_error():
    # a plain exponential decay: no depletion law is preferred, the artefact is 0 and its error
    # is the broadening of a one-standard-error lost fraction (finite, small at SNR 300)
    stack, delays, _ = _saturating_stack(0.0, 1e4, seed=5)
    fits = fit_frames(stack)
    art = depletion_artefact(fits, 141.0)
    assert art["model"] == "none"
    assert np.all(art["apparent_msd_nm2"] == 0)
    late_err = art["apparent_msd_err_nm2"][delays > 1e5]
    assert np.all(np.isfinite(late_err)) and late_err.max() < 300.0


def test_saturating_broadening_matches_bimolecular_to_first_order():
    # to first order both depleted profiles are g - x g^2: saturating with f = x / 2 equals
    # bimolecular with kappa t = x; second-order terms differ by O(x)
    x = 0.01
    bi = depletion_broadening_nm2(np.array([1.0]), x, 141.0, 20.0, n_pixels=151)[0]
    sat = saturating_broadening_nm2(np.array([x / 2]), 141.0, 20.0, n_pixels=151)[0]
    assert sat == pytest.approx(bi, rel=0.03)
    # and it grows with the lost fraction
    more = saturating_broadening_nm2(np.array([0.01, 0.02, 0.04]), 141.0, 55.6)
    assert np.all(np.diff(more) > 0)


def test_pixel_sum_integral_is_model_free():
    # a spot that is not one Gaussian (two local densities spreading differently, 60/40 by
    # weight): the pixel sum, with a NaN patch filled from the fit and the tail beyond the frame
    # from the fit, gives the true integral; |A| 2 pi sigma^2 of the one-Gaussian fit does not
    from tamkit.core.stack import make_stack, pixel_axis_nm
    from tamkit.testing.artificial import gaussian_frames

    pix, n = 55.6, 40
    axis = pixel_axis_nm(n, pix)
    delays = np.array([-300.0, -200.0, -100.0, 100.0, 1e3, 1e4, 1e5])
    widths = (np.array([100, 100, 100, 120, 130, 150, 170.0]),
              np.array([100, 100, 100, 150, 190, 260, 300.0]))
    frames = sum(w * gaussian_frames(np.full(7, -1e-3), np.zeros(7), np.zeros(7), s, s,
                                     axis, axis) / (2 * np.pi * s[:, None, None] ** 2)
                 for w, s in zip((0.6, 0.4), widths, strict=True))
    frames[:3] = 0.0
    rng = np.random.default_rng(2)
    frames = frames + 2e-11 * rng.standard_normal(frames.shape)  # peak SNR ~300
    frames[:, 26:29, 12:15] = np.nan  # dead pixels on the wing (~300 nm out)
    stack = make_stack(frames, delays, pix)
    fits = fit_frames(stack)
    t, model_free, err = spot_integral(fits, stack)
    _, gaussian, _ = spot_integral(fits)
    truth = 1e-3  # the components carry 0.6 and 0.4 x 1e-3 (dT/T nm^2)
    # its errors are calibrated (pulls over 30 noise seeds: mean within 0.3, spread 0.9-1.3)
    assert np.all(np.abs(model_free - truth) < 4 * err)
    assert np.all(err < 5e-3 * truth)
    assert np.max(np.abs(gaussian / truth - 1)) > 0.01


def _offset_spot_stack(baseline: str, spike: bool = False):
    """A Gaussian spot on a constant offset (2e-5 dT/T); baseline frames 'ok', 'nan' or none."""
    delays = np.concatenate([[-300.0, -200.0, -100.0], np.geomspace(100, 1e6, 20)])
    stack, _ = spreading_gaussian_stack(delays, np.zeros(delays.size), peak_snr=100,
                                        lifetime_fs=1e12, offset=2e-5, seed=6)
    if baseline == "nan":
        stack[:3] = np.nan
    elif baseline == "none":
        stack = stack.isel(delay=slice(3, None))
    if spike:
        stack[10, 3, 3] = 50 * float(abs(stack[10]).max())
    return stack


def test_spot_integral_without_a_usable_baseline_is_the_fitted_gaussian():
    # no baseline (or only NaN before time zero): the background must come from the fit, and
    # then the pixel sum is the fitted Gaussian's sum (least squares with an offset); the
    # kinetics still fit (no spurious depletion from an offset)
    for baseline in ("nan", "none"):
        stack = _offset_spot_stack(baseline)
        fits = fit_frames(stack)
        t, got, err = spot_integral(fits, stack)
        _, gaussian, gaussian_err = spot_integral(fits)
        assert np.array_equal(got, gaussian) and np.array_equal(err, gaussian_err)
        assert fit_depletion_kinetics(fits, stack)["model"] == "none"


def test_spot_integral_ignores_a_spike():
    # one cosmic-ray spike (50x the peak, far from the spot) in one frame: the fit masks it and
    # so does the pixel sum, which stays within 3 of its errors of the constant integral
    stack = _offset_spot_stack("ok", spike=True)
    fits = fit_frames(stack)
    t, got, err = spot_integral(fits, stack)
    median = np.median(got)
    assert np.all(np.abs(got - median) < 3 * err + 1e-3 * median)


def test_depletion_through_the_detection_blur():
    # with the carrier spot known (110.7 nm of a 141 nm sigma_0), the depleted carriers are
    # blurred before imaging: the image is g(sigma_0) minus the lost n0^2 part, a Gaussian of
    # variance sigma_c^2 / 2 + blur^2 carrying the fraction f. An independent curve_fit of that
    # two-Gaussian image (offset included, as in fit_frames) gives the same broadening; it is
    # smaller than the upper bound that takes sigma_0 for the carrier spot
    from scipy.optimize import curve_fit

    pix, n, s0, sc, f = 10.0, 151, 141.0, 110.7, 0.02
    blur2 = s0**2 - sc**2 - pix**2 / 12
    got = saturating_broadening_nm2(np.array([f]), s0, pix, n, carrier_sigma_nm=sc)[0]
    x = (np.arange(n) - (n - 1) / 2) * pix
    xx, yy = np.meshgrid(x, x)
    r2 = xx**2 + yy**2
    s1 = s0**2 - pix**2 / 12  # the pixel's a^2 / 12 is left to the fit's sampling
    s2 = sc**2 / 2 + blur2
    image = sc**2 / s1 * np.exp(-r2 / (2 * s1)) - f * sc**2 / s2 * np.exp(-r2 / (2 * s2))

    def model(xy, a, s, c):
        return a * np.exp(-(xy[0] ** 2 + xy[1] ** 2) / (2 * s**2)) + c

    fitted = [curve_fit(model, (xx.ravel(), yy.ravel()), im.ravel(), p0=(1, 141, 0))[0][1]
              for im in (sc**2 / s1 * np.exp(-r2 / (2 * s1)), image)]
    assert got == pytest.approx(fitted[1] ** 2 - fitted[0] ** 2, rel=0.03)
    bound = saturating_broadening_nm2(np.array([f]), s0, pix, n)[0]
    assert 0 < got < bound
    # no blur at all: the fine-grid imaging agrees with the direct one
    no_blur = np.sqrt(s0**2 - 55.6**2 / 12)
    fine = saturating_broadening_nm2(np.array([f]), s0, 55.6, carrier_sigma_nm=no_blur)[0]
    direct = saturating_broadening_nm2(np.array([f]), s0, 55.6)[0]
    assert fine == pytest.approx(direct, rel=0.05)
    with pytest.raises(InputError):
        saturating_broadening_nm2(np.array([f]), s0, pix, carrier_sigma_nm=150.0)


def test_depletion_broadening_small_x_limit():
    # first order in x = kappa t: the Gaussian fit of g - x g^2 widens linearly in x; compare with
    # an independent scipy curve_fit of the same profile on a fine grid
    from scipy.optimize import curve_fit

    x_nm = np.linspace(-1500, 1500, 301)
    xx, yy = np.meshgrid(x_nm, x_nm)
    g = np.exp(-(xx**2 + yy**2) / (2 * 141.0**2))
    prof = g / (1 + 0.01 * g)

    def model(xy, a, s):
        return a * np.exp(-(xy[0] ** 2 + xy[1] ** 2) / (2 * s**2))

    (_, s), _ = curve_fit(model, (xx.ravel(), yy.ravel()), prof.ravel(), p0=(1, 141))
    expected = s**2 - 141.0**2
    got = depletion_broadening_nm2(np.array([1.0]), 0.01, 141.0, 10.0, n_pixels=301)[0]
    assert got == pytest.approx(expected, rel=0.02)
