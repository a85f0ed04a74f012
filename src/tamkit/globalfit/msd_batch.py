"""Closed-form values and Jacobians of the global fit's MSD models, for many parameter rows.

The laws are those of :class:`tamkit.globalfit.msd_models.MsdModel` (same parameter vectors):
ln MSD is a sum of terms linear in the exponents, a softplus (the smooth band-like turn) and
ramps ``(ln t - ln b)_+`` (the sharp breaks), so d ln MSD / d theta is closed-form and
d sigma_t^2 / d theta = MSD d ln MSD / d theta (and 1 for sigma_0^2). One call evaluates B
parameter rows at once (starts of the width-level fits, or one row for the pixel-level solver):
no finite differences, no Python loop over rows.
"""

from __future__ import annotations

import numpy as np

#: |ln t - ln b| below which a delay sits on a sharp break: the derivative in ln b there is the
#: mean of its two one-sided values (as central differences give it; the Cramer-Rao bound puts
#: breaks on delays)
TIE = 1e-9


def _break_step(over: np.ndarray) -> np.ndarray:
    """d (ln t - ln b)_+ / d ln t: 1 after the break, 0 before, 1/2 on it."""
    return np.where(over > TIE, 1.0, np.where(over < -TIE, 0.0, 0.5))


def _log_t(delay_fs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(delay_fs, float), 1e-300, None))


def sbpl_log_msd(log_t: np.ndarray, theta: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """ln MSD (B, n) of the band-like SBPL + ``k`` sharp breaks and its gradient (B, n, p).

    Parameters
    ----------
    log_t : ndarray, shape (n,)
        ln of the delays (fs).
    theta : ndarray, shape (B, 6 + 2k)
        Parameter rows (sigma_0^2 nm^2, ln M, a1, a2, ln t_b, ln s, then per later break its
        exponent and log-gap); column 0 of the gradient (sigma_0^2) is left zero.
    k : int
        Number of sharp breaks after the smooth one.

    Returns
    -------
    log_msd : ndarray, shape (B, n)
    grad : ndarray, shape (B, n, 6 + 2k)
        d ln MSD / d theta.
    """
    col = [theta[:, i:i + 1] for i in range(theta.shape[1])]
    log_m, a1, a2, log_tb, log_s = col[1:6]
    x = log_t[None, :] - log_tb                       # ln(t / t_b)
    s = np.exp(log_s)
    soft = np.logaddexp(0.0, x / s) - np.log(2.0)
    turn = 0.5 * (1.0 + np.tanh(0.5 * x / s))         # logistic(x / s) = d soft / d(x / s)
    log_msd = log_m + a1 * x + (a2 - a1) * s * soft
    grad = np.zeros(log_msd.shape + (theta.shape[1],))
    grad[:, :, 1] = 1.0
    grad[:, :, 2] = x - s * soft
    grad[:, :, 3] = s * soft
    grad[:, :, 4] = -(a1 + (a2 - a1) * turn)
    grad[:, :, 5] = (a2 - a1) * (s * soft - x * turn)
    if k:
        alphas = np.concatenate([a2] + [col[6 + 2 * j] for j in range(k)], axis=1)  # (B, k+1)
        log_b = log_tb + np.cumsum(theta[:, 7::2], axis=1)                          # (B, k)
        for j in range(k):
            gain = (alphas[:, j + 1] - alphas[:, j])[:, None]
            over = log_t[None, :] - log_b[:, j:j + 1]
            ramp = np.clip(over, 0.0, None)
            log_msd = log_msd + gain * ramp
            step = _break_step(over)
            # exponents: alpha_j loses the ramp, alpha_(j+1) gains it (alpha_0 is a2)
            grad[:, :, 3 if j == 0 else 6 + 2 * (j - 1)] -= ramp
            grad[:, :, 6 + 2 * j] += ramp
            # ln b_j = ln t_b + sum of the gaps up to j
            d_break = -gain * step
            grad[:, :, 4] += d_break
            for i in range(j + 1):
                grad[:, :, 7 + 2 * i] += d_break
    return log_msd, grad


def piecewise_log_msd(log_t: np.ndarray, theta: np.ndarray, k: int,
                      anchor_fs: float) -> tuple[np.ndarray, np.ndarray]:
    """ln MSD (B, n) of the continuous piecewise power law of ``k`` regimes and its gradient.

    Parameters
    ----------
    log_t : ndarray, shape (n,)
        ln of the delays (fs).
    theta : ndarray, shape (B, 2k + 1)
        Parameter rows (sigma_0^2 nm^2, ln M, k exponents, ln b_1, log-gaps of later breaks);
        column 0 of the gradient is left zero.
    k : int
        Number of regimes.
    anchor_fs : float
        Anchor time (fs) of M when there is no break (k = 1).

    Returns
    -------
    log_msd : ndarray, shape (B, n)
    grad : ndarray, shape (B, n, 2k + 1)
        d ln MSD / d theta.
    """
    alphas = theta[:, 2:2 + k]
    log_b = np.cumsum(theta[:, 2 + k:], axis=1)       # (B, k - 1)
    ref = log_b[:, :1] if k > 1 else np.full((theta.shape[0], 1), np.log(anchor_fs))
    lead = log_t[None, :] - ref
    log_msd = theta[:, 1:2] + alphas[:, :1] * lead
    grad = np.zeros(log_msd.shape + (theta.shape[1],))
    grad[:, :, 1] = 1.0
    grad[:, :, 2] = lead
    if k > 1:
        grad[:, :, 2 + k] -= alphas[:, :1]            # ref = ln b_1
    for m in range(1, k):
        gain = (alphas[:, m] - alphas[:, m - 1])[:, None]
        over = log_t[None, :] - log_b[:, m - 1:m]
        ramp = np.clip(over, 0.0, None)
        log_msd = log_msd + gain * ramp
        grad[:, :, 2 + m - 1] -= ramp
        grad[:, :, 2 + m] += ramp
        d_break = -gain * _break_step(over)
        for i in range(m):                            # ln b_m = sum of the first m entries
            grad[:, :, 2 + k + i] += d_break
    return log_msd, grad


def sigma_sq_rows(family: str, k: int, anchor_fs: float, delay_fs: np.ndarray,
                  theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigma_t^2 = sigma_0^2 + MSD(t; theta) (nm^2) and d sigma_t^2 / d theta of parameter rows.

    Parameters
    ----------
    family : {"sbpl", "piecewise"}
    k : int
        The model's ``k`` (:class:`~tamkit.globalfit.msd_models.MsdModel`).
    anchor_fs : float
        The one-regime piecewise law's anchor time (fs).
    delay_fs : ndarray, shape (n,)
        Delays (fs); the MSD and its derivatives are zero at t <= 0.
    theta : ndarray, shape (B, p)
        Parameter rows.

    Returns
    -------
    sigma_sq : ndarray, shape (B, n)
        nm^2.
    jac : ndarray, shape (B, n, p)
        nm^2 per unit of each parameter.
    """
    t = np.asarray(delay_fs, float)
    theta = np.atleast_2d(np.asarray(theta, float))
    log_t = _log_t(t)
    if family == "sbpl":
        log_msd, grad = sbpl_log_msd(log_t, theta, k)
    else:
        log_msd, grad = piecewise_log_msd(log_t, theta, k, anchor_fs)
    with np.errstate(over="ignore"):
        msd = np.where(t[None, :] > 0, np.exp(log_msd), 0.0)
    jac = grad * msd[:, :, None]
    jac[:, :, 0] = 1.0
    return theta[:, :1] + msd, jac
