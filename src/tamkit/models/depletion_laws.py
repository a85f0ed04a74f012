"""Auger depletion of a Gaussian spot: the depleted profile, its spot integral, its broadening.

Auger (and any density-dependent) recombination empties the centre of the pump spot faster than
its edges, so a Gaussian fit widens with no transport at all. Two laws, for a spot whose initial
profile is a peak-normalised Gaussian g(r) = exp(-r^2 / 2 sigma_0^2):

- *bimolecular* (a continuum, e.g. bulk or perovskite): dn/dt = -k n^2 gives
  n(r, t) = n0(r) / (1 + k n0(r) t), i.e. n / n_peak = g / (1 + c g) with c = k n_peak t; on a 2D
  Gaussian the spot integral falls as ln(1 + c) / c;
- *saturating* (quantised Auger in dots): only the multiply excited dots lose carriers, within
  ~tau_XX, and then the loss stops. At low <N_abs> the doubly excited dots follow n0(r)^2
  (Poisson), so losing the fraction f of the carriers leaves g - 2 f g^2 (on a 2D Gaussian,
  integral g^2 = integral g / 2), and the spot integral is 1 - f (1 - exp(-t / tau_A)).

Shared by the simulator (the analytic bimolecular case of its spot composition) and the analysis
(:mod:`tamkit.carrier_transport.depletion`, which fits these laws to the spot integral).
"""

from __future__ import annotations

import numpy as np

from tamkit.core.errors import InputError


def bimolecular_profile(g, k_npeak_t):
    """Depleted profile n / n_peak = g / (1 + c g) of a bimolecular loss dn/dt = -k n^2.

    Parameters
    ----------
    g : float or ndarray
        Initial profile n0 / n_peak (peak-normalised, 0 to 1).
    k_npeak_t : float or ndarray
        Dimensionless depletion c = k n_peak t (>= 0); broadcasts against ``g``.
    """
    return g / (1.0 + k_npeak_t * g)


def bimolecular_spot_fraction(k_npeak_t):
    """Fraction of a 2D Gaussian spot's carriers left by bimolecular loss: ln(1 + c) / c.

    The integral of g / (1 + c g) over the plane, relative to that of g (substitute u = g:
    d^2x = 2 pi sigma^2 du / u). Below c = 1e-8 the series 1 - c / 2 avoids 0 / 0.
    """
    x = np.asarray(k_npeak_t, dtype=float)
    return np.where(x > 1e-8, np.log1p(x) / np.where(x > 1e-8, x, 1.0), 1.0 - x / 2)


def saturating_profile(g, lost_fraction):
    """Depleted profile g - 2 f g^2 when doubly excited dots (profile g^2) lose the fraction f.

    Exact in the number of carriers lost on a 2D Gaussian (integral g^2 = integral g / 2); the
    n0^2 shape is the low-<N_abs> Poisson limit of the doubly excited dots.
    """
    return g - 2 * lost_fraction * g**2


def saturating_spot_fraction(delay_fs, lost_fraction, auger_time_fs):
    """Fraction of the spot's carriers left by saturating (quantised) Auger loss.

    1 - f (1 - exp(-t / tau_A)): the fraction f is lost with the Auger time tau_A (fs), then the
    loss stops.
    """
    return 1.0 - lost_fraction * (1.0 - np.exp(-delay_fs / auger_time_fs))


def auger_depletion_msd_nm2(sigma0_nm: float, k_npeak_t, ndim: int = 2) -> np.ndarray:
    """Apparent per-axis MSD of a Gaussian spot depleted by bimolecular Auger, no transport.

    With dn/dt = -k n^2, a Gaussian n0(r) becomes n0 / (1 + k n0 t): the centre decays faster
    than the edges and the profile flattens. Writing c = k n_peak t and u = exp(-r^2/2 sigma^2),
    n / n_peak = sum_m (-c)^m u^(m+1), and integral u^m d^d x scales as m^(-d/2), so

        variance / sigma^2 = Li_{d/2+1}(-c) / Li_{d/2}(-c)           (per axis, d dimensions)

    computed here by radial quadrature (valid for any c >= 0). At c = 1 this
    is eta(3/2)/eta(1/2) - 1 = 0.2649 for a 1D line profile (PHYSICS.md's 0.265 sigma_0^2,
    ~5300 nm^2 at 141 nm) and (pi^2/12)/ln 2 - 1 = 0.1866 for the 2D image's per-axis moment.

    Parameters
    ----------
    sigma0_nm : float
        Initial per-axis width of the spot (nm).
    k_npeak_t : float or array
        Dimensionless depletion k n_peak t (>= 0).
    ndim : {1, 2}
        1 for a line profile through the centre, 2 for the full image.

    Returns
    -------
    ndarray
        Apparent MSD (nm^2), 0 at c = 0.
    """
    c = np.atleast_1d(np.asarray(k_npeak_t, dtype=float))
    if np.any(c < 0):
        raise InputError("k n_peak t must be >= 0")
    # radial quadrature in rho = r / sigma: d^d x ~ rho^(d-1) d rho, per-axis x^2 = rho^2 / d
    rho = np.linspace(0.0, 12.0, 12001)
    u = np.exp(-0.5 * rho**2)
    cc = np.concatenate([[0.0], c])
    profile = bimolecular_profile(u[None, :], cc[:, None])
    jac = rho ** (ndim - 1)
    norm = np.trapezoid(profile * jac, rho, axis=-1)
    variance = np.trapezoid(profile * jac * rho**2 / ndim, rho, axis=-1) / norm
    # subtract the same quadrature at c = 0 so that no depletion gives exactly 0
    return sigma0_nm**2 * (variance[1:] - variance[0])
