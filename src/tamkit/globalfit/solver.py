"""Levenberg-Marquardt on the reduced (variable-projection) problem of a whole stack.

The parameters are the MSD model's ``theta`` (shared by every frame, through
s_t = sqrt(sigma_t^2(theta))) and the spot centres, in one of three modes:

- ``per-frame``: (x0_t, y0_t) fitted for every frame. Each frame's centre touches only that
  frame, so the normal equations are block-arrow shaped and the centres are eliminated by a
  Schur complement (as in bundle adjustment): the cost per iteration stays linear in frames;
- ``drift``: a linear drift law x0 + v_x u, y0 + v_y u in the frame's acquisition index u;
- ``fixed``: centres given (from the per-frame fits, say) and not fitted.

The cost is chi^2 = sum_t f_t / noise_t^2 with f_t the reduced cost of
:class:`~tamkit.globalfit.projection.SpotProjector`; its Gauss-Newton matrix is the Fisher
information of the nonlinear parameters with amplitudes and offsets marginalised, and its
inverse at the minimum is their covariance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamkit.globalfit.msd_models import MsdModel
from tamkit.globalfit.projection import ProjectedFrames, SpotProjector

CENTRE_MODES = ("per-frame", "drift", "fixed")


@dataclass
class Solution:
    """A converged (or stopped) global fit of one MSD model.

    Attributes
    ----------
    theta : ndarray
        MSD model parameters (first: sigma_0^2 in nm^2).
    cov_theta : ndarray
        Their covariance (Gauss-Newton, centres marginalised), shape (p, p).
    centre_x_nm, centre_y_nm : ndarray
        Spot centre of each frame (nm).
    chi2 : float
        sum_t f_t / noise_t^2 at the solution.
    n_centre_params : int
        Number of fitted centre parameters (for the information criterion).
    projection : ProjectedFrames
        Amplitudes, offsets and per-frame costs at the solution.
    n_iter : int
    converged : bool
    at_bound : ndarray of bool
    """

    theta: np.ndarray
    cov_theta: np.ndarray
    centre_x_nm: np.ndarray
    centre_y_nm: np.ndarray
    chi2: float
    n_centre_params: int
    projection: ProjectedFrames
    n_iter: int
    converged: bool
    #: parameters held at a bound (zero rows and columns in ``cov_theta``)
    at_bound: np.ndarray | None = None
    #: coefficients of the amplitude law ln|N(t)| = B(t) beta (None: amplitudes per frame)
    beta: np.ndarray | None = None


class _Problem:
    def __init__(self, projector: SpotProjector, delay_fs, frame_u, weights, model: MsdModel,
                 centre_mode: str, extent, basis=None, sign=1.0, sigma_ref_sq=1.0):
        self.p = projector
        self.t = np.asarray(delay_fs, float)
        self.u = np.asarray(frame_u, float)
        self.w = np.asarray(weights, float)
        self.model = model
        self.mode = centre_mode
        self.extent = extent  # (xmin, xmax, ymin, ymax) in nm
        self.n_msd = model.n_params
        self.basis = None if basis is None else np.asarray(basis, float)
        self.sign = float(sign)
        self.sigma_ref_sq = float(sigma_ref_sq)
        #: frame parameters driven by the global ones: s_t, and ln|A_t| under an amplitude law
        self.ng = 1 if self.basis is None else 2
        lo, hi = model.bounds()
        lo[0] = max(lo[0], 1e-6)
        if self.basis is not None:
            k = self.basis.shape[1]
            lo = np.concatenate([lo, np.full(k, -np.inf)])
            hi = np.concatenate([hi, np.full(k, np.inf)])
        self.lo, self.hi = lo, hi

    def centres(self, state):
        theta, c = state
        if self.mode == "drift":
            return c[0] + c[1] * self.u, c[2] + c[3] * self.u
        return c[:, 0], c[:, 1]

    def amplitude(self, theta, s):
        """A_t = sign N(t) sigma_ref^2 / s_t^2 with ln N = B beta: the spot integral is
        2 pi A_t s_t^2, so N(t) is the (smooth) population and the width sets the peak."""
        return self.sign * np.exp(self.basis @ theta[self.n_msd:]) * self.sigma_ref_sq / s**2

    def evaluate(self, state):
        theta, _ = state
        s2 = self.model.sigma_sq_nm2(self.t, theta[:self.n_msd])
        s = np.sqrt(np.clip(s2, 1e-6, None))
        cx, cy = self.centres(state)
        if self.basis is None:
            proj = self.p.project(s, cx, cy)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                proj = self.p.project_amplitude(self.amplitude(theta, s), s, cx, cy)
        return float(np.sum(self.w * proj.cost)), s, proj

    def normal_equations(self, state, s, proj):
        theta, _ = state
        ng, nm = self.ng, self.n_msd
        js = self.model.sigma_sq_jacobian(self.t, theta[:nm]) / (2.0 * s[:, None])  # ds/dtheta
        jg = np.zeros((self.t.size, ng, theta.size))
        jg[:, 0, :nm] = js
        if ng == 2:
            jg[:, 1, :nm] = -2.0 * js / s[:, None]
            jg[:, 1, nm:] = self.basis
        info = proj.information * self.w[:, None, None]
        grad = proj.gradient * self.w[:, None]
        h_tt = np.einsum("fai,fab,fbj->ij", jg, info[:, :ng, :ng], jg)
        g_t = np.einsum("fai,fa->i", jg, grad[:, :ng])
        h_tc = np.einsum("fai,fab->fib", jg, info[:, :ng, ng:])  # (F, p, 2)
        return jg, info, grad, h_tt, g_t, h_tc

    def held(self, theta, g_t):
        """Parameters on a bound that the descent direction would push through it: held there
        for this step (an active set), so that a clipped step cannot stall the iteration."""
        tol = 1e-9 * (1.0 + np.abs(theta))
        return ((theta <= self.lo + tol) & (g_t > 0)) | ((theta >= self.hi - tol) & (g_t < 0))

    def step(self, state, s, proj, lam):
        theta, c = state
        js, info, grad, h_tt0, g_t, h_tc0 = self.normal_equations(state, s, proj)
        hold = self.held(theta, g_t)
        h_tt, h_tc = h_tt0, h_tc0
        if hold.any():
            h_tt, g_t, h_tc = h_tt0.copy(), g_t.copy(), h_tc0.copy()
            h_tt[hold, :] = 0.0
            h_tt[:, hold] = 0.0
            h_tt[hold, hold] = 1.0
            g_t[hold] = 0.0
            h_tc[:, hold, :] = 0.0
        if self.mode == "fixed":
            h = h_tt + lam * np.diag(np.diag(h_tt)) + 1e-12 * np.eye(theta.size)
            return (self._clip(theta + _step_solve(h, -g_t)), c), h_tt0
        if self.mode == "drift":
            jc = np.zeros((self.t.size, 2, 4))
            jc[:, 0, 0], jc[:, 0, 1] = 1.0, self.u
            jc[:, 1, 2], jc[:, 1, 3] = 1.0, self.u
            ng = self.ng
            h_cc = np.einsum("fab,fai,fbj->ij", info[:, ng:, ng:], jc, jc)
            h_x = np.einsum("fpa,fai->pi", h_tc, jc)
            h_x0 = np.einsum("fpa,fai->pi", h_tc0, jc)
            g_c = np.einsum("fa,fai->i", grad[:, ng:], jc)
            h = np.block([[h_tt, h_x], [h_x.T, h_cc]])
            h0 = np.block([[h_tt0, h_x0], [h_x0.T, h_cc]])
            g = np.concatenate([g_t, g_c])
            hd = h + lam * np.diag(np.diag(h)) + 1e-12 * np.eye(g.size)
            delta = _step_solve(hd, -g)
            new_c = c + delta[theta.size:]
            return (self._clip(theta + delta[:theta.size]), new_c), _marginal(h0, theta.size)
        # per-frame centres: Schur complement of the 2x2 blocks
        h_cc = info[:, self.ng:, self.ng:]
        scale = np.trace(h_cc, axis1=1, axis2=2)[:, None, None] / 2
        floor = 1e-9 * np.max(scale) + 1e-300
        h_cc_d = h_cc + lam * h_cc * np.eye(2) + floor * np.eye(2)
        inv = np.linalg.inv(h_cc_d)
        g_c = grad[:, self.ng:]
        h_d = h_tt + lam * np.diag(np.diag(h_tt)) + 1e-12 * np.eye(theta.size)
        schur = h_d - np.einsum("fpa,fab,fqb->pq", h_tc, inv, h_tc)
        rhs = -g_t + np.einsum("fpa,fab,fb->p", h_tc, inv, g_c)
        d_theta = _step_solve(schur, rhs)
        d_c = -np.einsum("fab,fb->fa", inv, g_c + np.einsum("fpa,p->fa", h_tc, d_theta))
        inv0 = np.linalg.inv(h_cc + floor * np.eye(2))
        marginal = h_tt0 - np.einsum("fpa,fab,fqb->pq", h_tc0, inv0, h_tc0)
        return (self._clip(theta + d_theta), self._clip_centres(c + d_c)), marginal

    def _clip(self, theta):
        return np.clip(theta, self.lo, self.hi)

    def _clip_centres(self, c):
        x0, x1, y0, y1 = self.extent
        return np.column_stack([np.clip(c[:, 0], x0, x1), np.clip(c[:, 1], y0, y1)])


def _step_solve(h, g):
    """The step h x = g; least squares where h is exactly singular (a parameter the data do not
    inform, e.g. a break beyond the last delay: its column is then zero, or two collinear)."""
    try:
        return np.linalg.solve(h, g)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(h, g, rcond=None)[0]


def _marginal(h, p):
    """The Schur complement of the trailing block of ``h``: theta's information marginalised."""
    a, b, d = h[:p, :p], h[:p, p:], h[p:, p:]
    return a - b @ np.linalg.solve(d + 1e-12 * np.eye(d.shape[0]), b.T)


def solve(
    projector: SpotProjector,
    delay_fs: np.ndarray,
    frame_u: np.ndarray,
    weights: np.ndarray,
    model: MsdModel,
    theta0: np.ndarray,
    centre_x0_nm: np.ndarray,
    centre_y0_nm: np.ndarray,
    *,
    centre_mode: str = "per-frame",
    max_iter: int = 60,
    rtol: float = 1e-8,
    amplitude_basis: np.ndarray | None = None,
    beta0: np.ndarray | None = None,
    amplitude_sign: float = 1.0,
    sigma_ref_sq_nm2: float = 1.0,
) -> Solution:
    """Minimise chi^2 over ``theta`` (and the centres) by Levenberg-Marquardt.

    Parameters
    ----------
    projector : SpotProjector
        The masked stack (frames at t >= 0 only).
    delay_fs : ndarray, shape (F,)
        Delay of each frame (fs).
    frame_u : ndarray, shape (F,)
        Acquisition coordinate of each frame for the drift law (dimensionless, ~[-1, 1]).
    weights : ndarray, shape (F,)
        1 / noise_t^2 (per data unit squared).
    model : MsdModel
    theta0 : ndarray
        Starting parameters.
    centre_x0_nm, centre_y0_nm : ndarray, shape (F,)
        Starting (or, for ``fixed``, the) centres (nm).
    centre_mode : {"per-frame", "drift", "fixed"}
    max_iter : int
    rtol : float
        Stop when chi^2 falls by less than this fraction (and its absolute equivalent).
    amplitude_basis : ndarray, shape (F, K), optional
        An amplitude law instead of free per-frame amplitudes: ``A_t = sign N(t)
        sigma_ref^2 / s_t^2`` with ``ln N(t) = B(t) beta`` (the spot integral follows a smooth
        population; the width sets the peak). ``beta0`` starts its coefficients.
    amplitude_sign, sigma_ref_sq_nm2 : float
        Sign of the signal and the reference width^2 of the amplitude law.

    Returns
    -------
    Solution
    """
    if centre_mode not in CENTRE_MODES:
        raise ValueError(f"centre_mode must be one of {CENTRE_MODES}, got {centre_mode!r}")
    x, y = projector.x_nm, projector.y_nm
    extent = (x.min(), x.max(), y.min(), y.max())
    prob = _Problem(projector, delay_fs, frame_u, weights, model, centre_mode, extent,
                    amplitude_basis, amplitude_sign, sigma_ref_sq_nm2)
    theta0 = np.asarray(theta0, float)
    if amplitude_basis is not None:
        theta0 = np.concatenate([theta0, np.asarray(beta0, float)])
    cx0, cy0 = np.asarray(centre_x0_nm, float), np.asarray(centre_y0_nm, float)
    if centre_mode == "drift":
        a = np.column_stack([np.ones_like(prob.u), prob.u])
        c = np.concatenate([np.linalg.lstsq(a, cx0, rcond=None)[0][:2],
                            np.linalg.lstsq(a, cy0, rcond=None)[0][:2]])
        n_centre = 4
    else:
        c = np.column_stack([cx0, cy0])
        n_centre = 2 * cx0.size if centre_mode == "per-frame" else 0
    state = (prob._clip(np.asarray(theta0, float)), c)
    cost, s, proj = prob.evaluate(state)
    lam = 1e-3
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        improved = False
        for _ in range(12):
            trial, _info = prob.step(state, s, proj, lam)
            t_cost, t_s, t_proj = prob.evaluate(trial)
            if np.isfinite(t_cost) and t_cost <= cost:
                drop = cost - t_cost
                state, s, proj = trial, t_s, t_proj
                cost = t_cost
                lam = max(lam / 5, 1e-9)
                improved = True
                break
            lam *= 8
        if not improved or drop <= rtol * max(cost, 1.0):
            # a small drop may only mean a large damping: stop when a plain Gauss-Newton step
            # gains no more either (else continue from it, the damping reset)
            trial, _info = prob.step(state, s, proj, 1e-9)
            t_cost, t_s, t_proj = prob.evaluate(trial)
            if np.isfinite(t_cost) and cost - t_cost > rtol * max(cost, 1.0) and it < max_iter:
                state, s, proj, cost = trial, t_s, t_proj, t_cost
                lam = 1e-3
                continue
            converged = True
            break
    _, info = prob.step(state, s, proj, 0.0)
    theta = state[0]
    # a parameter on its bound is held there: the covariance is that of the free ones
    tol = 1e-5 * (1.0 + np.abs(theta))
    at_bound = (np.abs(theta - prob.lo) < tol) | (np.abs(theta - prob.hi) < tol)
    cov = covariance(info, ~at_bound)
    cx, cy = prob.centres(state)
    nm = prob.n_msd
    beta = None if amplitude_basis is None else theta[nm:].copy()
    return Solution(theta[:nm].copy(), cov[:nm, :nm], np.asarray(cx), np.asarray(cy),
                    float(cost), n_centre, proj, it, converged, at_bound[:nm], beta)


def covariance(info: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Inverse of the information of the ``free`` parameters (zero rows elsewhere).

    Inverted after scaling to unit diagonal, by eigen-decomposition: directions the data do not
    determine at all (eigenvalues below 1e-12 of the largest) are dropped rather than turned
    into NaN or 1e16 (their parameters' errors are then those of the determined directions).
    """
    p = info.shape[0]
    cov = np.zeros((p, p))
    diag = np.diag(info)
    if not np.all(np.isfinite(info[np.ix_(free, free)])):
        cov[np.ix_(free, free)] = np.nan
        return cov
    # a free parameter the data carry no information on (a break beyond the last delay, say)
    # is left out like one on a bound, instead of turning every error into NaN
    idx = np.flatnonzero(free & (diag > 0))
    if idx.size == 0:
        return cov
    h = info[np.ix_(idx, idx)]
    d = np.sqrt(np.diag(h))
    hs = h / d[:, None] / d[None, :]
    vals, vecs = np.linalg.eigh(0.5 * (hs + hs.T))
    keep = vals > 1e-12 * vals.max()
    inv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    cov[np.ix_(idx, idx)] = inv / d[:, None] / d[None, :]
    return cov
