"""The variable-projection problem of a global TA fit: projected residual and its Jacobian.

For nonlinear parameters theta (rates through a logistic map onto [k_min, k_max], log IRF
width and chirp coefficients, both boxed by :meth:`VarProProblem.bounds`) the basis C(theta)
of IRF-convolved exponentials is built at every wavelength, the amplitudes are the linear
least-squares solution a = (C^T C)^-1 C^T y, and the residual is r = y - C a = P_perp y
(Golub & Pereyra, SIAM J. Numer. Anal. 10, 413 (1973)).
Masked points (NaN pixels) carry zero weight: their rows of C, of its derivatives and of y are
zero, so each wavelength's amplitudes are the least-squares solution over its valid delays.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from tamkit.models.ta_kinetics import (
    artifact_basis_and_derivatives,
    exp_irf_basis,
    exp_irf_basis_and_derivatives,
)
from tamkit.spectro._varpro_kernel import varpro_normal

_NO_ARRAY = np.zeros((0, 0))

#: Smallest IRF standard deviation (fs) a fit may reach: far below any TA delay grid's step,
#: so a map recorded as a step is fitted in the step limit rather than driving the width to 0.
SIGMA_FLOOR_FS = 0.5


class VarProProblem:
    """Projected residual and Golub-Pereyra Jacobian of one data set (W wavelengths x T delays).

    ``residual(theta)`` and ``jacobian(theta)`` share a one-entry cache, so an optimiser asking
    for both at one point pays for one basis evaluation.
    """

    def __init__(self, delay_fs, design, y_wt, n_exp, offset, artifact_order, fit_chirp,
                 fixed_chirp, fit_sigma, fixed_sigma, mask=None, chirp_bound_fs=None):
        self.delay = np.ascontiguousarray(delay_fs, dtype=float)
        self.design = design  # (W, order+1)
        self.mask = None if mask is None or np.all(mask) else np.asarray(mask, dtype=float)
        self.y = y_wt if self.mask is None else np.where(self.mask > 0, y_wt, 0.0)  # (W, T)
        self.n_exp = n_exp
        self.offset = offset
        self.artifact_order = artifact_order
        self.fit_chirp = fit_chirp
        self.fixed_chirp = fixed_chirp
        self.fit_sigma = fit_sigma
        self.fixed_sigma = fixed_sigma
        # rates live in [k_min, k_max] through a logistic map of the parameter: lifetimes below
        # sigma/20 are the IRF itself, above 100x the delay span a constant; both undetermined
        span = float(self.delay[-1] - self.delay[0])
        self.log_k_max = float(np.log(20.0 / fixed_sigma))
        self.log_k_min = float(np.log(0.01 / span))
        # the IRF width: at least SIGMA_FLOOR_FS (a step on any measured delay grid), at most a
        # tenth of the delay span (a wider "IRF" is a rise time, which the rates describe)
        self.log_sigma_min = float(np.log(SIGMA_FLOOR_FS))
        self.log_sigma_max = float(np.log(max(span / 10.0, fixed_sigma)))
        # time zero stays within the measured delays; each chirp coefficient within
        # chirp_bound_fs of its start (default: the delay span)
        self.chirp_start = np.asarray(fixed_chirp, dtype=float)
        self.chirp_bound = float(span if chirp_bound_fs is None else chirp_bound_fs)
        self._key: bytes | None = None
        self.parts = (None, None, None)
        self.n_evaluations = 0
        self._normal_key: bytes | None = None
        self._normal = None
        self._mask_arr = _NO_ARRAY if self.mask is None else np.ascontiguousarray(self.mask)
        self._y = np.ascontiguousarray(self.y, dtype=float)
        self._design = np.ascontiguousarray(self.design, dtype=float)
        self._art = -1 if artifact_order is None else int(artifact_order)
        self._fit_sigma, self._fit_chirp = bool(fit_sigma), bool(fit_chirp)
        self.n_lin = n_exp + int(offset) + (0 if artifact_order is None else artifact_order + 1)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Box of the parameter vector (rates are bounded by their logistic map already)."""
        lo, hi = [-np.inf] * self.n_exp, [np.inf] * self.n_exp
        if self.fit_sigma:
            lo.append(self.log_sigma_min)
            hi.append(self.log_sigma_max)
        if self.fit_chirp:
            lo.extend(self.chirp_start - self.chirp_bound)
            hi.extend(self.chirp_start + self.chirp_bound)
        return np.array(lo), np.array(hi)

    def _cap_slope(self, theta_k):
        """d log k / d theta of the logistic map."""
        p = expit(np.asarray(theta_k))
        return (self.log_k_max - self.log_k_min) * p * (1.0 - p)

    def theta_from_lifetimes(self, taus_fs) -> list[float]:
        """Parameters of the rates for given lifetimes (clipped into the allowed range)."""
        frac = (-np.log(np.asarray(taus_fs, float)) - self.log_k_min) / (
            self.log_k_max - self.log_k_min)
        return list(logit(np.clip(frac, 1e-4, 1 - 1e-4)))

    def unpack(self, theta):
        n = self.n_exp
        rates = np.exp(self.log_k_min + (self.log_k_max - self.log_k_min) * expit(theta[:n]))
        i = n
        if self.fit_sigma:
            sigma = float(np.exp(theta[i]))
            i += 1
        else:
            sigma = self.fixed_sigma
        coeffs = theta[i:] if self.fit_chirp else self.fixed_chirp
        return rates, sigma, np.asarray(coeffs, dtype=float)

    def _basis(self, theta, derivatives: bool):
        rates, sigma, coeffs = self.unpack(theta)
        t0 = self.design @ coeffs
        all_rates = np.append(rates, 0.0) if self.offset else rates
        if derivatives:
            f, d_t0, d_logk, d_logs = exp_irf_basis_and_derivatives(
                self.delay, t0, all_rates, sigma
            )
        else:
            f = exp_irf_basis(self.delay, t0, all_rates, sigma)
            d_t0 = d_logk = d_logs = None
        if self.artifact_order is not None:
            fa, da_t0, da_logs = artifact_basis_and_derivatives(
                self.delay, t0, sigma, self.artifact_order
            )
            f = np.concatenate([f, fa], axis=2)
            if derivatives:
                d_t0 = np.concatenate([d_t0, da_t0], axis=2)
                d_logs = np.concatenate([d_logs, da_logs], axis=2)
        if self.mask is not None:
            m = self.mask[..., None]
            f = f * m
            if derivatives:
                d_t0, d_logk, d_logs = d_t0 * m, d_logk * m, d_logs * m
        return f, (d_t0, d_logk, d_logs)

    def _kernel(self, theta, want_jac: bool, keep_resid: bool):
        theta = np.asarray(theta, dtype=float)
        n = self.n_exp
        # unpack() and _cap_slope() in one: the logistic map of the rates once
        p = expit(theta[:n])
        span = self.log_k_max - self.log_k_min
        rates = np.exp(self.log_k_min + span * p)
        if self.offset:
            rates = np.append(rates, 0.0)
        slope = span * p * (1.0 - p)
        i = n
        if self.fit_sigma:
            sigma = float(np.exp(theta[i]))
            i += 1
        else:
            sigma = float(self.fixed_sigma)
        coeffs = theta[i:] if self.fit_chirp else np.asarray(self.fixed_chirp, dtype=float)
        t0 = self._design @ coeffs
        amp = np.empty((self._y.shape[0], self.n_lin))
        resid = np.empty_like(self._y) if keep_resid else _NO_ARRAY
        # compiled: NumPy's error state does not apply (non-finite values propagate)
        cost, jtj, jtr = varpro_normal(
            self.delay, t0, rates, n, sigma, self._art, self._y, self._mask_arr, self._design,
            slope, self._fit_sigma, self._fit_chirp, want_jac, amp, resid)
        return float(cost), jtj, jtr, amp, resid

    def normal(self, theta):
        """(cost, J^T J, J^T r) at theta from the compiled kernel (one pass, no stored basis
        or Jacobian): the same Golub-Pereyra Jacobian as :meth:`jacobian`. Cached (one entry).
        """
        key = np.asarray(theta, dtype=float).tobytes()
        if key != self._normal_key:
            self.n_evaluations += 1
            cost, jtj, jtr, amp, _ = self._kernel(theta, True, False)
            self._normal = (cost, jtj, jtr)
            self._normal_key = key
        return self._normal

    def finish(self, theta):
        """Amplitudes ``amp`` (W, M) and residual ``resid`` (W, T) at theta, for the results."""
        cost, jtj, jtr, amp, resid = self._kernel(theta, True, True)
        self.amp, self.resid = amp, resid
        return cost, jtj, jtr

    def evaluate(self, theta, derivatives: bool = False):
        key = np.asarray(theta).tobytes()
        if key == self._key and (self.parts[0] is not None or not derivatives):
            return
        self.n_evaluations += int(key != self._key)
        f, parts = self._basis(theta, derivatives)
        ft = f.transpose(0, 2, 1)
        gram = ft @ f
        # a tiny ridge keeps the solve finite when two rates coincide during the search
        ridge = 1e-12 * np.trace(gram, axis1=1, axis2=2)[:, None, None] + 1e-300
        gram = gram + ridge * np.eye(gram.shape[1])
        amp = np.linalg.solve(gram, ft @ self.y[..., None])[..., 0]
        self.f, self.gram, self.amp = f, gram, amp
        self.resid = self.y - (f @ amp[..., None])[..., 0]
        self.parts = parts
        self._key = key

    def residual(self, theta):
        # a trial step of the optimiser may overflow (e.g. a huge IRF width); it then returns a
        # non-finite cost, which the optimiser rejects
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self.evaluate(theta)
        return self.resid.ravel()

    def jacobian(self, theta):
        """Golub-Pereyra Jacobian of the projected residual r = P_perp(theta) y:

        dr/dp = -[P_perp (dC/dp) a + C (C^T C)^-1 (dC/dp)^T r]; Kaufman's approximation drops the
        second term, which slows convergence when the residuals are not small (real maps).
        """
        self.evaluate(theta, derivatives=True)
        d_t0, d_logk, d_logs = self.parts
        amp, resid = self.amp, self.resid
        n_w, n_lin = amp.shape
        slope = self._cap_slope(np.asarray(theta)[: self.n_exp])
        cols = [d_logk[:, :, j] * (amp[:, j, None] * slope[j]) for j in range(self.n_exp)]
        backs = []  # (dC/dp)^T r per wavelength, shape (W, M) per parameter
        for j in range(self.n_exp):
            b = np.zeros((n_w, n_lin))
            b[:, j] = np.einsum("wt,wt->w", d_logk[:, :, j], resid) * slope[j]
            backs.append(b)
        if self.fit_sigma:
            cols.append((d_logs @ amp[..., None])[..., 0])
            backs.append((d_logs.transpose(0, 2, 1) @ resid[..., None])[..., 0])
        if self.fit_chirp:
            dt = (d_t0 @ amp[..., None])[..., 0]
            bt = (d_t0.transpose(0, 2, 1) @ resid[..., None])[..., 0]
            for i in range(self.design.shape[1]):
                cols.append(dt * self.design[:, i, None])
                backs.append(bt * self.design[:, i, None])
        v = np.stack(cols, axis=2)  # (W, T, P)
        rhs = self.f.transpose(0, 2, 1) @ v - np.stack(backs, axis=2)
        coef = np.linalg.solve(self.gram, rhs)
        # -[v - C G^-1 C^T v + C G^-1 B] = -[v - C G^-1 (C^T v - B)]
        jac = v - self.f @ coef
        return -jac.reshape(-1, jac.shape[2])
