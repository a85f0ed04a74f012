"""Composing the pump spot from simulations at a few local densities.

The pump spot (sigma ~ 111-141 nm) is far larger than any transport length before 1 ns, so the
carriers at each point of the spot behave like those of an infinite film at the local density
<N>(x0). tamkit therefore simulates a few density *levels* N_k and composes the carrier profile

    n(x, t) = integral n0(x0) S(x0, t) G(x - x0; MSD(<N(x0)>, t)) dx0            (PHYSICS.md)

with linear interpolation in N between the levels. Interpolation uses "hat" weights w_k(N)
(sum_k w_k = 1): the survival is S(x0, t) = sum_l w_l(N) S_l(t), and the propagator is the mixture
sum_k w_k(N) G(.; MSD_k(t)), whose per-axis variance is exactly the linearly interpolated MSD.
Every spot average below is built from the radial overlap integrals

    M_kl = integral N(r) w_k(N(r)) w_l(N(r)) 2 pi r dr     (and the same with r^2 / 2),

so the rendered images (:mod:`tamkit.sim.microscope`) and the truth use one and the same model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamkit.core.errors import InputError
from tamkit.models.depletion_laws import auger_depletion_msd_nm2  # noqa: F401  (re-exported)
from tamkit.models.excitation import local_nabs


def default_levels(nabs: float, n_levels: int = 4) -> np.ndarray:
    """Local densities to simulate: nabs, nabs/2, nabs/4, ... (ascending, photons per dot).

    Halving steps put a level where the pump intensity has fallen to 1/2, 1/4, 1/8 of the peak;
    with 4 levels, only the 12.5 % of carriers beyond r = 2.04 sigma see a density below the
    lowest level, where Auger is weakest and the lowest level's behaviour is used (clamped).
    """
    if n_levels < 1:
        raise InputError(f"need at least one density level, got {n_levels}")
    return nabs * 0.5 ** np.arange(n_levels - 1, -1, -1, dtype=float)


def hat_weights(n_local: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Linear-interpolation weights w_k(N), shape ``(K,) + n_local.shape``; they sum to 1.

    ``levels`` must be strictly increasing. N outside [levels[0], levels[-1]] is clamped (the
    nearest level gets weight 1).
    """
    levels = np.asarray(levels, dtype=float)
    n = np.clip(np.asarray(n_local, dtype=float), levels[0], levels[-1])
    eye = np.eye(levels.size)
    # np.interp of the k-th unit vector is exactly the k-th hat function
    return np.stack([np.interp(n, levels, eye[k]) for k in range(levels.size)])


@dataclass(frozen=True)
class SpotOverlaps:
    """Radial overlap integrals of a Gaussian spot with the level weights.

    Attributes
    ----------
    levels : ndarray (K,)
        Simulated local densities (photons per dot), ascending.
    m0 : ndarray (K, K)
        M_kl = integral N w_k w_l 2 pi r dr (photons per dot x nm^2).
    m2 : ndarray (K, K)
        Same with the per-axis second moment x^2 = r^2 / 2 inside (x nm^2).
    """

    levels: np.ndarray
    m0: np.ndarray
    m2: np.ndarray


def spot_overlaps(
    nabs: float, sigma_nm: float, levels: np.ndarray, n_radial: int = 4000
) -> SpotOverlaps:
    """Overlap integrals of the spot N(r) = nabs exp(-r^2/2 sigma^2) with the hat weights.

    Trapezoidal quadrature on r in [0, 9 sigma] with ``n_radial`` points: the integrands are
    smooth except for kinks at the level radii, so the error is O((9 sigma / n_radial)^2)
    relative, below 1e-5 for the default.
    """
    levels = np.asarray(levels, dtype=float)
    if np.any(np.diff(levels) <= 0) or levels[0] <= 0:
        raise InputError("density levels must be positive and strictly increasing")
    r = np.linspace(0.0, 9.0 * sigma_nm, n_radial)
    n_local = local_nabs(r, nabs, sigma_nm)
    w = hat_weights(n_local, levels)
    ring = 2.0 * np.pi * r * n_local
    m0 = np.trapezoid(w[:, None] * w[None, :] * ring, r, axis=-1)
    m2 = np.trapezoid(w[:, None] * w[None, :] * ring * 0.5 * r**2, r, axis=-1)
    return SpotOverlaps(levels=levels, m0=m0, m2=m2)


def spot_population(overlaps: SpotOverlaps, survival: np.ndarray) -> np.ndarray:
    """Carriers left in the spot, integral n0 S dx0 (photons per dot x nm^2), per time.

    ``survival`` has shape (K, T): S_l(t) at each level.
    """
    return overlaps.m0.sum(axis=0) @ np.asarray(survival, dtype=float)


def spot_average(
    overlaps: SpotOverlaps, quantity: np.ndarray, survival: np.ndarray
) -> np.ndarray:
    """Population-weighted spot average of a per-level quantity Q_k(t), shape (T,).

    <Q>(t) = sum_kl Q_k(t) S_l(t) M_kl / sum_kl S_l(t) M_kl: the average over every carrier still
    present at t, wherever it started. With Q = MSD this is the true per-axis MSD that the
    spot's second moment grows by (transport only, no depletion artefact).
    """
    q = np.asarray(quantity, dtype=float)
    s = np.asarray(survival, dtype=float)
    num = np.einsum("kt,lt,kl->t", q, s, overlaps.m0)
    return num / spot_population(overlaps, s)


def depletion_variance_nm2(overlaps: SpotOverlaps, survival: np.ndarray) -> np.ndarray:
    """Per-axis variance (nm^2) of the surviving carriers' *start* positions, shape (T,).

    integral (x0^2) n0 S dx0 / integral n0 S dx0: the spot's variance if nothing moved. Minus
    its value at S = 1 (sigma^2) it is the apparent MSD caused by depletion alone.
    """
    s = np.asarray(survival, dtype=float)
    return (overlaps.m2.sum(axis=0) @ s) / spot_population(overlaps, s)
