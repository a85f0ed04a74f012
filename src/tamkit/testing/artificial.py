"""Artificial TAM data with a known truth: spreading Gaussian spots.

Like ``trackpy.artificial``, this module is shared by tests, docs, benchmarks and users. It
knows no physics beyond a prescribed MSD(t): for carriers that *move*, see :mod:`tamkit.sim`.

The per-axis convention holds throughout: each frame is a 2D Gaussian with per-axis variance
``sigma_t^2 = sigma_0^2 + MSD(t)``, and ``D(t) = MSD / 2t`` (1 nm^2/fs = 10 cm^2/s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import xarray as xr

from tamkit.core.acquisition import PAPER_PIXEL_NM, log_delays_fs, tam_delays_fs
from tamkit.core.constants import cm2_per_s_to_nm2_per_fs
from tamkit.core.stack import make_stack, pixel_axis_nm
from tamkit.models.msd_laws import piecewise_power_law_msd_nm2

#: The public surface; PAPER_PIXEL_NM, log_delays_fs and tam_delays_fs are re-exported from
#: :mod:`tamkit.core.acquisition`, where the scan defaults live.
__all__ = [
    "PAPER_PIXEL_NM",
    "BandLikeTruth",
    "Truth",
    "fits_table",
    "gaussian_frames",
    "log_delays_fs",
    "raw_acquisition",
    "spreading_gaussian_stack",
    "tam_delays_fs",
]


@dataclass
class BandLikeTruth:
    """A prescribed three-regime MSD like the paper's Fig. 3: band-like, then sub-diffusive."""

    D_max_cm2_s: float = 102.0
    tau_fs: float = 300.0
    alphas: tuple[float, float, float] = (1.1, 0.5, 0.3)
    second_break_fs: float = 1.0e5

    @property
    def msd_at_tau_nm2(self) -> float:
        """MSD at the end of the band-like regime: 2 D_max tau (nm^2)."""
        return 2.0 * cm2_per_s_to_nm2_per_fs(self.D_max_cm2_s) * self.tau_fs

    @property
    def length_nm(self) -> float:
        """Band-like transport length sqrt(MSD(tau)) (nm)."""
        return float(np.sqrt(self.msd_at_tau_nm2))

    def msd_nm2(self, delay_fs: np.ndarray) -> np.ndarray:
        """True per-axis MSD (nm^2) at ``delay_fs``."""
        return piecewise_power_law_msd_nm2(
            delay_fs, (self.tau_fs, self.second_break_fs), self.alphas, self.msd_at_tau_nm2
        )


@dataclass
class Truth:
    """What an artificial stack was made from."""

    delay_fs: np.ndarray
    msd_nm2: np.ndarray
    sigma0_nm: float
    sigma0_x_nm: float
    sigma0_y_nm: float
    amplitude: np.ndarray
    centre_x_nm: np.ndarray
    centre_y_nm: np.ndarray
    noise_std: float
    sign: int
    extras: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}


def gaussian_frames(
    amplitude: np.ndarray,
    centre_x_nm: np.ndarray,
    centre_y_nm: np.ndarray,
    sigma_x_nm: np.ndarray,
    sigma_y_nm: np.ndarray,
    x_nm: np.ndarray,
    y_nm: np.ndarray,
    offset: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Noise-free axis-aligned 2D Gaussians sampled at pixel centres, shape (n, ny, nx)."""
    amplitude, cx, cy, sx, sy = (
        np.asarray(v, dtype=float).reshape(-1, 1, 1)
        for v in (amplitude, centre_x_nm, centre_y_nm, sigma_x_nm, sigma_y_nm)
    )
    gx = np.exp(-0.5 * ((x_nm[None, None, :] - cx) / sx) ** 2)
    gy = np.exp(-0.5 * ((y_nm[None, :, None] - cy) / sy) ** 2)
    return amplitude * gy * gx + np.asarray(offset, dtype=float).reshape(-1, 1, 1)


def spreading_gaussian_stack(
    delay_fs: np.ndarray | None = None,
    msd_nm2: np.ndarray | None = None,
    *,
    sigma0_nm: float = 141.0,
    pixel_nm: float = PAPER_PIXEL_NM,
    shape: tuple[int, int] = (48, 48),
    peak_snr: float = 50.0,
    sign: int = -1,
    peak_dT_T: float = 1e-3,
    lifetime_fs: float = 2.0e5,
    ellipticity: float = 1.0,
    drift_nm_per_frame: tuple[float, float] = (0.0, 0.0),
    n_hot_pixels: int = 0,
    nan_patch: tuple[int, int, int] | None = None,
    offset: float = 0.0,
    seed: int | None = 0,
    attrs: dict | None = None,
) -> tuple[xr.DataArray, Truth]:
    """A dT/T stack of a Gaussian spot spreading with a prescribed MSD, with its truth.

    Parameters
    ----------
    delay_fs : ndarray, optional
        Delays (fs). Default :func:`tam_delays_fs` (baseline before 0, 20 fs steps to 1 ps,
        then log-spaced to 1 ns).
    msd_nm2 : ndarray, optional
        True per-axis MSD (nm^2) at each delay; ignored (set to 0) before time zero.
        Default: the paper-like :class:`BandLikeTruth`.
    sigma0_nm : float
        Initial per-axis width (nm), the geometric mean of the two axes when elliptical.
    pixel_nm : float
        Pixel size (nm); default 55.6 nm as in the paper.
    shape : (ny, nx)
        Frame size in pixels.
    peak_snr : float
        Peak |dT/T| at time zero divided by the per-pixel noise standard deviation.
    sign : {+1, -1}
        +1 for a bleach (positive dT/T), -1 for photoinduced absorption.
    peak_dT_T : float
        Magnitude of dT/T at the spot centre at time zero.
    lifetime_fs : float
        Population lifetime; the spot integral decays as exp(-t / lifetime).
    ellipticity : float
        sigma_x / sigma_y of the initial spot (1 for isotropic).
    drift_nm_per_frame : (dx, dy)
        Centre drift per frame (nm).
    n_hot_pixels : int
        Pixels set to 50x the peak signal in every frame (camera defects).
    nan_patch : (row, col, size), optional
        A square of NaN pixels (dead region) in every frame.
    offset : float
        Constant background added to every frame.
    seed : int
        Seed of the noise generator.

    Returns
    -------
    stack : xarray.DataArray
    truth : Truth
    """
    rng = np.random.default_rng(seed)
    if delay_fs is None:
        delay_fs = tam_delays_fs()
    delay_fs = np.asarray(delay_fs, dtype=float)
    if msd_nm2 is None:
        msd_nm2 = BandLikeTruth().msd_nm2(delay_fs)
    msd_nm2 = np.where(delay_fs > 0, np.asarray(msd_nm2, dtype=float), 0.0)
    ny, nx = shape
    x_nm, y_nm = pixel_axis_nm(nx, pixel_nm), pixel_axis_nm(ny, pixel_nm)

    root_e = np.sqrt(ellipticity)
    s0x, s0y = sigma0_nm * root_e, sigma0_nm / root_e
    sx, sy = np.sqrt(s0x**2 + msd_nm2), np.sqrt(s0y**2 + msd_nm2)
    # the spot integral decays with the population; the peak falls as the spot spreads
    population = np.exp(-np.clip(delay_fs, 0, None) / lifetime_fs)
    amplitude = sign * peak_dT_T * population * (s0x * s0y) / (sx * sy)
    amplitude = np.where(delay_fs >= 0, amplitude, 0.0)
    frame_index = np.arange(delay_fs.size)
    cx = drift_nm_per_frame[0] * frame_index
    cy = drift_nm_per_frame[1] * frame_index

    frames = gaussian_frames(amplitude, cx, cy, sx, sy, x_nm, y_nm, offset)
    noise_std = peak_dT_T / peak_snr
    frames = frames + rng.normal(0.0, noise_std, frames.shape)
    extras: dict = {}
    if n_hot_pixels:
        flat = rng.choice(ny * nx, size=n_hot_pixels, replace=False)
        rows, cols = np.unravel_index(flat, (ny, nx))
        frames[:, rows, cols] = 50.0 * peak_dT_T
        extras["hot_pixels"] = list(zip(rows.tolist(), cols.tolist(), strict=True))
    if nan_patch is not None:
        r, c, size = nan_patch
        frames[:, r : r + size, c : c + size] = np.nan
        extras["nan_patch"] = list(nan_patch)

    stack = make_stack(
        frames,
        delay_fs,
        pixel_nm,
        attrs={"provenance": "tamkit.testing.artificial.spreading_gaussian_stack", **(attrs or {})},
    )
    truth = Truth(
        delay_fs=delay_fs,
        msd_nm2=msd_nm2,
        sigma0_nm=float(np.sqrt((s0x**2 + s0y**2) / 2)),
        sigma0_x_nm=float(s0x),
        sigma0_y_nm=float(s0y),
        amplitude=amplitude,
        centre_x_nm=cx,
        centre_y_nm=cy,
        noise_std=float(noise_std),
        sign=int(sign),
        extras=extras,
    )
    return stack, truth


def raw_acquisition(
    stack: xr.DataArray,
    *,
    n_runs: int = 5,
    n_spots: int = 2,
    probe_counts: float = 2.0e4,
    outlier_runs: tuple[tuple[int, int], ...] = (),
    seed: int | None = 0,
) -> xr.DataArray:
    """Turn a dT/T stack into a raw chopped acquisition of camera counts.

    Each (spot, run) holds a pump-off frame ``T_off`` and a pump-on frame
    ``T_on = T_off (1 + dT/T)`` per delay, with Poisson shot noise on a Gaussian probe profile.
    ``outlier_runs`` lists (spot, run) pairs whose pump-on frames are corrupted (a 5x gain
    glitch), for testing robust averaging.

    Returns
    -------
    xarray.DataArray
        Counts with dims ``(spot, run, chopper, delay, y, x)``, chopper coords ``["on", "off"]``.
    """
    rng = np.random.default_rng(seed)
    dtt = np.nan_to_num(np.asarray(stack.values))
    x = stack["x"].values
    y = stack["y"].values
    probe_sigma_nm = 20.0 * max(abs(x).max(), abs(y).max())
    profile = probe_counts * np.exp(
        -0.5 * (x[None, :] ** 2 + y[:, None] ** 2) / probe_sigma_nm**2
    )
    shape = (n_spots, n_runs, 2) + dtt.shape
    counts = np.empty(shape)
    for spot in range(n_spots):
        for run in range(n_runs):
            off = profile[None] * np.ones_like(dtt)
            on = off * (1.0 + dtt)
            counts[spot, run, 0] = rng.poisson(on)
            counts[spot, run, 1] = rng.poisson(off)
    for spot, run in outlier_runs:
        counts[spot, run, 0] *= 5.0
    return xr.DataArray(
        counts,
        dims=("spot", "run", "chopper") + tuple(stack.dims),
        coords={"chopper": ["on", "off"], **{k: stack[k] for k in stack.dims}},
        name="counts",
        attrs={**stack.attrs, "quantity": "counts"},
    )


def fits_table(
    delay_fs: np.ndarray,
    msd_nm2: np.ndarray,
    *,
    sigma0_nm: float = 141.0,
    sigma_err_nm: float | np.ndarray = 1.0,
    seed: int | None = 0,
) -> xr.Dataset:
    """A per-frame fit table, as :func:`tamkit.fit_frames` returns it, from known widths.

    Widths are ``sqrt(sigma0^2 + MSD)`` plus Gaussian noise of ``sigma_err_nm``: this tests the
    transport analysis on its own, without images. Frames before time zero are ``baseline``.
    """
    rng = np.random.default_rng(seed)
    delay_fs = np.asarray(delay_fs, dtype=float)
    err = np.broadcast_to(np.asarray(sigma_err_nm, dtype=float), delay_fs.shape)
    sigma = np.sqrt(sigma0_nm**2 + np.where(delay_fs > 0, msd_nm2, 0.0))
    sigma = sigma + err * rng.standard_normal(delay_fs.size)
    baseline = delay_fs < 0
    return xr.Dataset(
        {
            "sigma_nm": ("delay", np.where(baseline, np.nan, sigma)),
            "sigma_err_nm": ("delay", np.where(baseline, np.nan, err)),
            "status": ("delay", np.where(baseline, "baseline", "ok")),
            "reason": ("delay", np.where(baseline, "before time zero", "")),
        },
        coords={"delay": ("delay", delay_fs, {"units": "fs"})},
        attrs={"model": "isotropic", "provenance": "tamkit.testing.artificial.fits_table"},
    )
