"""Acquisition defaults of a TAM scan: the paper's pixel at the sample and the delay grids.

Both the simulator and the artificial data (:mod:`tamkit.testing.artificial`) take their default
camera pixel and delays from here, so that a synthetic scan looks like the
paper's (Liu et al. 2021, Methods: a 16 um EMCCD pixel at 288x magnification).
"""

from __future__ import annotations

import numpy as np

#: 16 um camera pixel / 288x magnification, the paper's set-up (nm at the sample).
PAPER_PIXEL_NM = 16_000.0 / 288.0


def log_delays_fs(
    t_min_fs: float = 10.0,
    t_max_fs: float = 1.0e6,
    n_signal: int = 60,
    n_baseline: int = 5,
    baseline_start_fs: float = -500.0,
) -> np.ndarray:
    """Log-spaced delays (fs) after time zero with a few baseline delays before it.

    Returns ``n_baseline`` evenly spaced negative delays from ``baseline_start_fs`` to just
    before zero, then 0, then ``n_signal - 1`` log-spaced delays from ``t_min_fs`` to
    ``t_max_fs``.
    """
    baseline = np.linspace(baseline_start_fs, baseline_start_fs / n_baseline, n_baseline)
    signal = np.concatenate([[0.0], np.geomspace(t_min_fs, t_max_fs, n_signal - 1)])
    return np.concatenate([baseline[:n_baseline] if n_baseline else [], signal])


def tam_delays_fs(
    step_fs: float = 20.0,
    linear_until_fs: float = 1000.0,
    t_max_fs: float = 1.0e6,
    n_log: int = 40,
    n_baseline: int = 5,
    baseline_start_fs: float = -500.0,
) -> np.ndarray:
    """Delays (fs) as a TAM scan takes them: a few baseline delays, linear steps through the
    first picosecond (where band-like transport happens), then log-spaced out to ``t_max_fs``."""
    baseline = np.linspace(baseline_start_fs, baseline_start_fs / n_baseline, n_baseline)
    linear = np.arange(0.0, linear_until_fs + step_fs / 2, step_fs)
    log = np.geomspace(linear_until_fs, t_max_fs, n_log + 1)[1:]
    return np.concatenate([baseline[:n_baseline] if n_baseline else [], linear, log])
