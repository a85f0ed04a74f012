"""Artificial stacks shared by the gaussfit tests (a helper module, not a test file)."""

from __future__ import annotations

import numpy as np

from tamkit.core.stack import make_stack, pixel_axis_nm
from tamkit.testing.artificial import PAPER_PIXEL_NM, gaussian_frames

PIX = PAPER_PIXEL_NM


def constant_stack(
    n_signal: int,
    *,
    size: int = 24,
    sigma_nm: float = 141.0,
    amplitude: float | np.ndarray = 20.0,
    noise: float = 1.0,
    n_baseline: int = 8,
    centre_nm: tuple[float, float] = (10.0, -7.0),
    seed: int = 0,
):
    """Frames of one fixed spot (noise realisations of the same truth) after baseline frames."""
    rng = np.random.default_rng(seed)
    x = pixel_axis_nm(size, PIX)
    n = n_baseline + n_signal
    amp = np.r_[np.zeros(n_baseline), np.broadcast_to(amplitude, (n_signal,))]
    frames = gaussian_frames(
        amp,
        np.full(n, centre_nm[0]),
        np.full(n, centre_nm[1]),
        np.full(n, sigma_nm),
        np.full(n, sigma_nm),
        x,
        x,
    )
    frames = frames + rng.normal(0.0, noise, frames.shape)
    delay = np.r_[-100.0 * np.arange(n_baseline, 0, -1), 10.0 * np.arange(n_signal)]
    return make_stack(frames, delay, PIX)
