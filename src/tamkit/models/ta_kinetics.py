"""Kinetic basis functions: exponentials convolved with a Gaussian instrument response.

A component with rate k (1/fs) started at time zero t0 and seen through a Gaussian instrument
response of standard deviation s (fs) is

    f(tau) = 1/2 exp(k^2 s^2 / 2 - k tau) erfc((k s^2 - tau) / (sqrt(2) s)),   tau = t - t0,

the standard result for a step-exponential convolved with a normalised Gaussian (e.g. van
Stokkum, Larsen & van Grondelle, Biochim. Biophys. Acta 1657, 82 (2004), eq. 6). k = 0 gives
the IRF-broadened step (a long-lived offset). With g(tau) = exp(-tau^2 / 2 s^2) / (sqrt(2 pi) s),
the derivatives used by the variable-projection Jacobian are exact:

    df/dtau = g - k f,   df/dk = (k s^2 - tau) f - s^2 g,   df/ds = k^2 s f - g (k s + tau / s).

The kernels are compiled with numba (serial: the problem is small, and threads only add
overhead when the machine is shared); they never overflow
(for large erfc arguments the scaled complementary error function is used asymptotically) and
never divide by zero: an IRF width below :data:`SIGMA_MIN_FS` (or not a number) is taken as
:data:`SIGMA_MIN_FS`, which is the step-function limit s -> 0 to working precision
(f = exp(-k tau) for tau > 0, 1/2 at tau = 0, 0 before). Compiled code raises
``ZeroDivisionError`` on a float division by zero instead of returning inf, so the guard must be
inside the kernel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_INV_SQRTPI = 1.0 / math.sqrt(math.pi)
#: Above this erfc argument the asymptotic erfcx series is exact to ~1e-12 relative.
_X_ASYMPTOTIC = 10.0
#: Smallest IRF standard deviation (fs) the kernels use: the step-function limit.
SIGMA_MIN_FS = 1e-6


@numba.njit(cache=True, inline="always")
def _safe_sigma(s: float) -> float:
    # "not s > min" also catches NaN
    return s if s > SIGMA_MIN_FS else SIGMA_MIN_FS


@numba.njit(cache=True, inline="always")
def _conv_exp(tau: float, k: float, s: float) -> float:
    s = _safe_sigma(s)
    x = (k * s * s - tau) / (_SQRT2 * s)
    if x < -6.0:
        # erfc(x) = 2 - erfc(-x) = 2 to 2e-17: the plain exponential, shifted by k^2 s^2 / 2
        return math.exp(k * (0.5 * k * s * s - tau))
    if x < _X_ASYMPTOTIC:
        # exponent k^2 s^2/2 - k tau == x^2 - tau^2/(2 s^2) <= 100 here: no overflow
        return 0.5 * math.exp(x * x - tau * tau / (2.0 * s * s)) * math.erfc(x)
    # erfcx(x) ~ 1/(x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6)) for x >= 10
    ix2 = 1.0 / (x * x)
    erfcx = _INV_SQRTPI / x * (1.0 - 0.5 * ix2 + 0.75 * ix2 * ix2 - 1.875 * ix2 * ix2 * ix2)
    return 0.5 * math.exp(-tau * tau / (2.0 * s * s)) * erfcx


@numba.njit(cache=True)
def exp_irf_basis(delay_fs, t0_fs, rates_per_fs, sigma_fs):  # pragma: no cover - compiled
    """Basis ``C[w, t, j]`` of IRF-convolved exponentials (see module docstring).

    Parameters
    ----------
    delay_fs : ndarray, shape (n_t,)
        Delays (fs).
    t0_fs : ndarray, shape (n_w,)
        Time zero per wavelength (fs): the chirp.
    rates_per_fs : ndarray, shape (m,)
        Decay rates (1/fs); 0 gives an IRF-broadened step.
    sigma_fs : float
        IRF standard deviation (fs); FWHM = 2 sqrt(2 ln 2) sigma.
    """
    n_w, n_t, m = t0_fs.shape[0], delay_fs.shape[0], rates_per_fs.shape[0]
    out = np.empty((n_w, n_t, m))
    for w in range(n_w):
        for t in range(n_t):
            tau = delay_fs[t] - t0_fs[w]
            for j in range(m):
                out[w, t, j] = _conv_exp(tau, rates_per_fs[j], sigma_fs)
    return out


@numba.njit(cache=True)
def exp_irf_basis_and_derivatives(delay_fs, t0_fs, rates_per_fs, sigma_fs):  # pragma: no cover
    """Basis and its derivatives w.r.t. time zero, log-rate and log-sigma, each (n_w, n_t, m)."""
    n_w, n_t, m = t0_fs.shape[0], delay_fs.shape[0], rates_per_fs.shape[0]
    f = np.empty((n_w, n_t, m))
    d_t0 = np.empty((n_w, n_t, m))
    d_logk = np.empty((n_w, n_t, m))
    d_logs = np.empty((n_w, n_t, m))
    s = _safe_sigma(sigma_fs)
    for w in range(n_w):
        for t in range(n_t):
            tau = delay_fs[t] - t0_fs[w]
            u2 = tau * tau / (2.0 * s * s)
            # beyond 40 standard deviations the Gaussian underflows to 0 anyway
            g = math.exp(-u2) / (_SQRT2PI * s) if u2 < 800.0 else 0.0
            for j in range(m):
                k = rates_per_fs[j]
                v = _conv_exp(tau, k, s)
                f[w, t, j] = v
                d_t0[w, t, j] = -(g - k * v)
                d_logk[w, t, j] = k * ((k * s * s - tau) * v - s * s * g)
                d_logs[w, t, j] = s * (k * k * s * v - g * (k * s + tau / s))
    return f, d_t0, d_logk, d_logs


@numba.njit(cache=True)
def artifact_basis_and_derivatives(delay_fs, t0_fs, sigma_fs, order):  # pragma: no cover
    """Coherent-artifact basis: the IRF Gaussian and its first ``order`` time derivatives.

    Returns the basis and its derivatives w.r.t. time zero and log-sigma, each of shape
    (n_w, n_t, order + 1). The Gaussian is normalised to unit peak and the n-th derivative is
    taken in u = tau / s, so all columns have comparable size. ``order`` is 0, 1 or 2.
    """
    n_w, n_t = t0_fs.shape[0], delay_fs.shape[0]
    m = order + 1
    f = np.empty((n_w, n_t, m))
    d_t0 = np.empty((n_w, n_t, m))
    d_logs = np.empty((n_w, n_t, m))
    s = _safe_sigma(sigma_fs)
    for w in range(n_w):
        for t in range(n_t):
            u = (delay_fs[t] - t0_fs[w]) / s
            gg = math.exp(-0.5 * u * u)
            # h_n(u) = s^n d^n/dtau^n exp(-u^2/2): h0 = G, h1 = -u G, h2 = (u^2 - 1) G
            h = (gg, -u * gg, (u * u - 1.0) * gg, (3.0 * u - u * u * u) * gg)
            for n in range(m):
                f[w, t, n] = h[n]
                # d/dt0 = -(1/s) d/du ; s^n scaling does not depend on t0
                d_t0[w, t, n] = -h[n + 1] / s
                # h_n depends on s only through u = tau/s: d/dlogs = -u h_{n+1}
                d_logs[w, t, n] = -u * h[n + 1]
    return f, d_t0, d_logs


def fwhm_from_sigma(sigma_fs):
    """Gaussian FWHM from its standard deviation: FWHM = 2 sqrt(2 ln 2) sigma."""
    return 2.0 * math.sqrt(2.0 * math.log(2.0)) * np.asarray(sigma_fs)


def sigma_from_fwhm(fwhm_fs):
    """Gaussian standard deviation from its FWHM."""
    return np.asarray(fwhm_fs) / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def chirp_normalisation(wavelength_nm) -> tuple[float, float]:
    """Centre and half range of the probe frequency nu = 1000 / lambda_nm (1/um) of a grid."""
    nu = 1e3 / np.asarray(wavelength_nm, dtype=float)
    return float(0.5 * (nu.max() + nu.min())), float(max(0.5 * (nu.max() - nu.min()), 1e-6))


def chirp_design(wavelength_nm, order: int, nu_center_um: float, nu_half_um: float) -> np.ndarray:
    """Powers of the normalised probe frequency x = (nu - centre) / half_range, (n_w, order+1).

    Time zero vs wavelength is t0 = sum_i c_i x^i (fs) with nu = 1000 / lambda_nm in 1/um: a
    Taylor series of the group delay in frequency (group-delay dispersion, third-order
    dispersion...), which is how dispersion is expanded physically; normalising x to [-1, 1]
    keeps the coefficients of similar size and conditions the optimiser.
    """
    x = (1e3 / np.asarray(wavelength_nm, dtype=float) - nu_center_um) / nu_half_um
    return np.vander(x, order + 1, increasing=True)
