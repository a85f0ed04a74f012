"""Artificial TAM stacks whose spot is *not* Gaussian, with the truth of their moments.

Each frame is a sum of isotropic Gaussians of one centre (a scale mixture), so that the per-axis
variance and the excess kurtosis of the profile are known in closed form: for weights ``w_i`` and
per-axis variances ``v_i``, ``<x^2> = sum w_i v_i`` and ``<x^4> = 3 sum w_i v_i^2``, so
``EK = 3 (sum w_i v_i^2 / (sum w_i v_i)^2 - 1)`` >= 0 (PHYSICS.md, "Model-free moments").

- :func:`hot_minority_stack`: a fraction of the carriers spreads ``hot_factor`` times faster
  than the rest (hot and cold populations).
- :func:`trap_limited_stack`: carriers diffuse until they fall into a trap (exponential waiting
  time), after which they stay put.

The truth's ``msd_nm2`` is the true mean per-axis MSD, ``sum w_i v_i - sigma_0^2``; its
``extras`` hold the true excess kurtosis per frame and the components.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from tamkit.core.constants import cm2_per_s_to_nm2_per_fs
from tamkit.core.stack import make_stack, pixel_axis_nm
from tamkit.testing.artificial import PAPER_PIXEL_NM, Truth, log_delays_fs


def mixture_moments(weights: np.ndarray, variances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis variance and excess kurtosis of scale mixtures of isotropic Gaussians.

    ``weights`` and ``variances`` have shape (n_delay, n_components); weights sum to 1 per row.
    """
    w, v = np.asarray(weights, float), np.asarray(variances, float)
    m2 = np.sum(w * v, axis=-1)
    return m2, 3.0 * (np.sum(w * v * v, axis=-1) / m2**2 - 1.0)


def gaussian_mixture_stack(
    delay_fs: np.ndarray,
    weights: np.ndarray,
    variances_nm2: np.ndarray,
    *,
    pixel_nm: float = PAPER_PIXEL_NM,
    shape: tuple[int, int] = (64, 64),
    peak_snr: float = 50.0,
    sign: int = -1,
    peak_dT_T: float = 1e-3,
    lifetime_fs: float = 1.0e7,
    seed: int | None = 0,
    attrs: dict | None = None,
    provenance: str = "tamkit.testing.mixtures.gaussian_mixture_stack",
) -> tuple[xr.DataArray, Truth]:
    """A stack of concentric isotropic Gaussian mixtures, one row of components per delay.

    Each component ``i`` holds the fraction ``weights[t, i]`` of the carriers (the spot integral
    decays as exp(-t / lifetime)); frames before time zero hold no signal. Noise is white with
    standard deviation ``peak_dT_T / peak_snr``; the signal peaks at ``peak_dT_T`` at time zero.
    """
    rng = np.random.default_rng(seed)
    delay_fs = np.asarray(delay_fs, float)
    w = np.asarray(weights, float)
    v = np.asarray(variances_nm2, float)
    ny, nx = shape
    x_nm, y_nm = pixel_axis_nm(nx, pixel_nm), pixel_axis_nm(ny, pixel_nm)
    r2 = x_nm[None, :] ** 2 + y_nm[:, None] ** 2
    population = np.where(delay_fs >= 0, np.exp(-np.clip(delay_fs, 0, None) / lifetime_fs), 0.0)
    first = int(np.argmax(delay_fs >= 0))
    # the density at the centre at time zero sets the scale: peak_dT_T there
    norm = peak_dT_T / np.sum(w[first] / v[first])
    frames = np.zeros((delay_fs.size, ny, nx))
    for i in range(w.shape[1]):
        amp = sign * norm * population * w[:, i] / v[:, i]
        frames += amp[:, None, None] * np.exp(-0.5 * r2[None] / v[:, i, None, None])
    noise_std = peak_dT_T / peak_snr
    frames += rng.normal(0.0, noise_std, frames.shape)
    m2, ek = mixture_moments(w, v)
    sigma0_sq = float(m2[first])
    msd = np.where(delay_fs >= 0, m2 - sigma0_sq, 0.0)
    stack = make_stack(frames, delay_fs, pixel_nm, attrs={"provenance": provenance,
                                                          **(attrs or {})})
    s0 = float(np.sqrt(sigma0_sq))
    truth = Truth(
        delay_fs=delay_fs, msd_nm2=msd, sigma0_nm=s0, sigma0_x_nm=s0, sigma0_y_nm=s0,
        amplitude=sign * norm * population * np.sum(w / v, axis=1),
        centre_x_nm=np.zeros(delay_fs.size), centre_y_nm=np.zeros(delay_fs.size),
        noise_std=float(noise_std), sign=int(sign),
        extras={"excess_kurtosis": np.where(delay_fs >= 0, ek, 0.0),
                "weights": w, "variances_nm2": v},
    )
    return stack, truth


def subdiffusive_msd_nm2(delay_fs: np.ndarray, D0_cm2_s: float = 3.3,
                         break_fs: float = 1000.0) -> np.ndarray:
    """Per-axis MSD diffusive (2 D0 t) before ``break_fs`` and ~ t^0.5 after:
    ``2 D0 t / sqrt(1 + t / break_fs)``, zero before time zero."""
    t = np.clip(np.asarray(delay_fs, float), 0, None)
    return 2.0 * cm2_per_s_to_nm2_per_fs(D0_cm2_s) * t / np.sqrt(1.0 + t / break_fs)


def hot_minority_stack(
    delay_fs: np.ndarray | None = None,
    *,
    hot_fraction: float = 0.35,
    hot_factor: float = 6.0,
    D0_cm2_s: float = 3.3,
    break_fs: float = 1000.0,
    sigma0_nm: float = 141.0,
    **kwargs,
) -> tuple[xr.DataArray, Truth]:
    """Hot and cold carriers: ``hot_fraction`` of them spread ``hot_factor`` times faster.

    The cold MSD is :func:`subdiffusive_msd_nm2` (D0 = 3.3 cm^2/s, turning sub-diffusive after
    1 ps: 2000 nm^2 at 10 ps, 6600 at 100 ps); the hot MSD is ``hot_factor`` times it. Default
    delays: 5 baseline frames, 0, and 59 log-spaced from 100 fs to 1 ns. Other keyword arguments
    go to :func:`gaussian_mixture_stack`.
    """
    if delay_fs is None:
        delay_fs = log_delays_fs(t_min_fs=100.0, t_max_fs=1.0e6, n_signal=60, n_baseline=5)
    delay_fs = np.asarray(delay_fs, float)
    cold = subdiffusive_msd_nm2(delay_fs, D0_cm2_s, break_fs)
    v = sigma0_nm**2 + np.stack([cold, hot_factor * cold], axis=1)
    w = np.broadcast_to([1.0 - hot_fraction, hot_fraction], v.shape)
    stack, truth = gaussian_mixture_stack(
        delay_fs, w, v, provenance="tamkit.testing.mixtures.hot_minority_stack", **kwargs)
    truth.extras.update(hot_fraction=hot_fraction, hot_factor=hot_factor)
    return stack, truth


def trap_limited_stack(
    delay_fs: np.ndarray | None = None,
    *,
    D_cm2_s: float = 5.0,
    trap_time_fs: float = 2.0e4,
    sigma0_nm: float = 141.0,
    n_components: int = 48,
    **kwargs,
) -> tuple[xr.DataArray, Truth]:
    """Carriers diffuse with ``D_cm2_s`` until trapped after an exponential time (mean
    ``trap_time_fs``), then stop: a continuous scale mixture, discretised in trapping time.

    Mean per-axis MSD ``2 D tau (1 - exp(-t / tau))``: it saturates, and the profile is the
    superposition of narrow (early-trapped) and wide (late-trapped or free) parts, so EK > 0.
    Other keyword arguments go to :func:`gaussian_mixture_stack`.
    """
    if delay_fs is None:
        delay_fs = log_delays_fs(t_min_fs=100.0, t_max_fs=1.0e6, n_signal=60, n_baseline=5)
    delay_fs = np.asarray(delay_fs, float)
    t = np.clip(delay_fs, 0, None)[:, None]
    d = cm2_per_s_to_nm2_per_fs(D_cm2_s)
    # trapping-time quantiles (midpoints of equal-probability bins) and the still-free share
    q = (np.arange(n_components) + 0.5) / n_components
    t_trap = -trap_time_fs * np.log1p(-q)[None, :]
    free = np.exp(-t / trap_time_fs)
    trapped_before = t_trap < t
    # the bins trapped before t keep their trapping-time variance; the rest share the free one
    w = np.where(trapped_before, 1.0 / n_components, 0.0)
    v = sigma0_nm**2 + 2.0 * d * np.minimum(t_trap, t)
    # re-weight: the exact trapped share is 1 - free; the free carriers are at 2 D t
    trapped_share = w.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(trapped_share > 0, w * (1.0 - free) / trapped_share, 0.0)
    w = np.concatenate([w, free], axis=1)
    v = np.concatenate([v, sigma0_nm**2 + 2.0 * d * t], axis=1)
    stack, truth = gaussian_mixture_stack(
        delay_fs, w, v, provenance="tamkit.testing.mixtures.trap_limited_stack", **kwargs)
    truth.extras.update(D_cm2_s=D_cm2_s, trap_time_fs=trap_time_fs)
    return stack, truth
