"""Anisotropic transport of an elliptical, drifting spot: per-axis band-like metrics and drift."""

from dataclasses import asdict

import numpy as np
import pytest
import xarray as xr

from tamkit.carrier_transport.analysis import ISOTROPIC_CONVENTION, centre_drift, transport
from tamkit.carrier_transport.results import Anisotropy, BandLike
from tamkit.testing.artificial import BandLikeTruth, tam_delays_fs

DELAYS = tam_delays_fs()
TRUTH = BandLikeTruth()
SHARES = (0.7, 0.3)  # per-axis MSD = share x the paper-like truth
DRIFT = (2.0, 1.0)  # nm per frame


def elliptical_fits(seed, ellipticity=1.3, err_nm=1.0, centre_err_nm=0.5):
    """Elliptical per-frame fits of a drifting spot spreading anisotropically (no images)."""
    rng = np.random.default_rng(seed)
    msd = np.where(DELAYS > 0, TRUTH.msd_nm2(DELAYS), 0.0)
    s0x, s0y = 141.0 * np.sqrt(ellipticity), 141.0 / np.sqrt(ellipticity)
    sx = np.sqrt(s0x**2 + SHARES[0] * msd) + err_nm * rng.standard_normal(DELAYS.size)
    sy = np.sqrt(s0y**2 + SHARES[1] * msd) + err_nm * rng.standard_normal(DELAYS.size)
    i = np.arange(DELAYS.size)
    x0 = DRIFT[0] * i + centre_err_nm * rng.standard_normal(i.size)
    y0 = DRIFT[1] * i + centre_err_nm * rng.standard_normal(i.size)
    base = DELAYS < 0
    eq = np.sqrt((sx**2 + sy**2) / 2)
    eq_err = err_nm * np.hypot(sx, sy) / (2 * eq)  # = err_nm / sqrt(2)
    full = np.full(DELAYS.size, err_nm)
    data = {
        "sigma_nm": eq, "sigma_err_nm": eq_err, "sigma_x_nm": sx, "sigma_x_err_nm": full,
        "sigma_y_nm": sy, "sigma_y_err_nm": full, "theta_rad": np.zeros(i.size),
        "x0_nm": x0, "x0_err_nm": np.full(i.size, centre_err_nm), "y0_nm": y0,
        "y0_err_nm": np.full(i.size, centre_err_nm),
    }
    ds = xr.Dataset({k: ("delay", np.where(base, np.nan, v)) for k, v in data.items()},
                    coords={"delay": DELAYS})
    ds["status"] = ("delay", np.where(base, "baseline", "ok"))
    return ds


@pytest.fixture(scope="module")
def result():
    # widths to 0.5 nm: both axes' band-like regimes resolved (at 1 nm the slow axis' is marginal)
    return transport(elliptical_fits(3, err_nm=0.5), pitch_nm=3.0, max_regimes=4, n_bootstrap=40,
                     seed=3)


def test_per_axis_band_like_metrics(result):
    an = result.anisotropy
    assert an.available and not an.spot_isotropic and not an.transport_isotropic
    assert an.isotropic_convention == ISOTROPIC_CONVENTION
    for band, share in ((an.band_like_x, SHARES[0]), (an.band_like_y, SHARES[1])):
        assert isinstance(band, BandLike)
        d_true = share * TRUTH.D_max_cm2_s
        l_true = np.sqrt(share) * TRUTH.length_nm
        assert abs(band.D_max_cm2_s - d_true) < 3 * band.D_max_err_cm2_s, (band, d_true)
        assert abs(band.length_nm - l_true) < 3 * band.length_err_nm, (band, l_true)
        # errors that mean something: a few percent, not tens
        assert band.D_max_err_cm2_s < 0.12 * d_true
    assert an.band_like_x.D_max_cm2_s > 1.5 * an.band_like_y.D_max_cm2_s


def test_isotropic_equivalent_is_the_mean_of_the_two_axes(result):
    # the stated convention: MSD_eq = (MSD_x + MSD_y) / 2, so D_eq = mean share x D
    b = result.band_like
    share = np.mean(SHARES)
    assert abs(b.D_max_cm2_s - share * TRUTH.D_max_cm2_s) < 3 * b.D_max_err_cm2_s
    assert abs(b.length_nm - np.sqrt(share) * TRUTH.length_nm) < 3 * b.length_err_nm
    an = result.anisotropy
    mean_axes = 0.5 * (an.band_like_x.D_max_cm2_s + an.band_like_y.D_max_cm2_s)
    assert b.D_max_cm2_s == pytest.approx(mean_axes, rel=0.1)


def test_drift_is_tracked_with_a_calibrated_error(result):
    an = result.anisotropy
    for axis, true in zip("xy", DRIFT, strict=True):
        rate = getattr(an, f"drift_{axis}_nm_per_frame")
        err = getattr(an, f"drift_{axis}_err_nm_per_frame")
        # 0.5 nm centre errors over ~90 frames: the slope error is ~0.002 nm per frame
        assert 0.001 < err < 0.004
        assert abs(rate - true) < 3.5 * err


def test_drift_error_pulls():
    pulls = []
    for seed in range(40):
        fits = elliptical_fits(seed)
        usable = fits["status"].values.astype(str) == "ok"
        d = centre_drift(fits, usable)
        pulls.append((d["drift_x_nm_per_frame"] - DRIFT[0]) / d["drift_x_err_nm_per_frame"])
    # 40 pulls: SD within 0.75-1.3 fails a doubled (0.5) or halved (2) error
    assert 0.75 < np.std(pulls, ddof=1) < 1.3
    assert abs(np.mean(pulls)) < 0.5


def test_anisotropy_block_round_trips(result):
    block = asdict(result.anisotropy)
    back = Anisotropy.from_dict(block)
    assert isinstance(back.band_like_x, BandLike)
    assert back == result.anisotropy


def test_round_spot_needs_no_per_axis_fits():
    fits = elliptical_fits(1, ellipticity=1.0)
    # isotropic transport too: the same MSD on both axes
    fits["sigma_y_nm"] = fits["sigma_x_nm"]
    fits["sigma_nm"] = fits["sigma_x_nm"]
    an = transport(fits, max_regimes=3, n_bootstrap=10).anisotropy
    assert an.spot_isotropic and an.transport_isotropic
    assert an.band_like_x is None and an.isotropic_convention is None
    assert an.drift_x_nm_per_frame == pytest.approx(DRIFT[0], abs=0.02)
