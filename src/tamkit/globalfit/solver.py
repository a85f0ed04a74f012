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


class _Problem:
    def __init__(self, projector: SpotProjector, delay_fs, frame_u, weights, model: MsdModel,
                 centre_mode: str, extent):
        self.p = projector
        self.t = np.asarray(delay_fs, float)
        self.u = np.asarray(frame_u, float)
        self.w = np.asarray(weights, float)
        self.model = model
        self.mode = centre_mode
        self.extent = extent  # (xmin, xmax, ymin, ymax) in nm
        self.lo, self.hi = model.bounds()
        self.lo[0] = max(self.lo[0], 1e-6)

    def centres(self, state):
        theta, c = state
        if self.mode == "drift":
            return c[0] + c[1] * self.u, c[2] + c[3] * self.u
        return c[:, 0], c[:, 1]

    def evaluate(self, state):
        theta, _ = state
        s2 = self.model.sigma_sq_nm2(self.t, theta)
        s = np.sqrt(np.clip(s2, 1e-6, None))
        cx, cy = self.centres(state)
        proj = self.p.project(s, cx, cy)
        return float(np.sum(self.w * proj.cost)), s, proj

    def normal_equations(self, state, s, proj):
        theta, _ = state
        js = self.model.sigma_sq_jacobian(self.t, theta) / (2.0 * s[:, None])  # ds/dtheta
        info = proj.information * self.w[:, None, None]
        grad = proj.gradient * self.w[:, None]
        h_tt = np.einsum("f,fi,fj->ij", info[:, 0, 0], js, js)
        g_t = js.T @ grad[:, 0]
        h_tc = js[:, :, None] * info[:, None, 0, 1:]  # (F, p, 2)
        return js, info, grad, h_tt, g_t, h_tc

    def step(self, state, s, proj, lam):
        theta, c = state
        js, info, grad, h_tt, g_t, h_tc = self.normal_equations(state, s, proj)
        if self.mode == "fixed":
            h = h_tt + lam * np.diag(np.diag(h_tt)) + 1e-12 * np.eye(theta.size)
            return (self._clip(theta + np.linalg.solve(h, -g_t)), c), h_tt
        if self.mode == "drift":
            jc = np.zeros((self.t.size, 2, 4))
            jc[:, 0, 0], jc[:, 0, 1] = 1.0, self.u
            jc[:, 1, 2], jc[:, 1, 3] = 1.0, self.u
            h_cc = np.einsum("fab,fai,fbj->ij", info[:, 1:, 1:], jc, jc)
            h_x = np.einsum("fpa,fai->pi", h_tc, jc)
            g_c = np.einsum("fa,fai->i", grad[:, 1:], jc)
            h = np.block([[h_tt, h_x], [h_x.T, h_cc]])
            g = np.concatenate([g_t, g_c])
            hd = h + lam * np.diag(np.diag(h)) + 1e-12 * np.eye(g.size)
            delta = np.linalg.solve(hd, -g)
            new_c = c + delta[theta.size:]
            return (self._clip(theta + delta[:theta.size]), new_c), _marginal(h, theta.size)
        # per-frame centres: Schur complement of the 2x2 blocks
        h_cc = info[:, 1:, 1:]
        scale = np.trace(h_cc, axis1=1, axis2=2)[:, None, None] / 2
        floor = 1e-9 * np.max(scale) + 1e-300
        h_cc_d = h_cc + lam * h_cc * np.eye(2) + floor * np.eye(2)
        inv = np.linalg.inv(h_cc_d)
        g_c = grad[:, 1:]
        h_d = h_tt + lam * np.diag(np.diag(h_tt)) + 1e-12 * np.eye(theta.size)
        schur = h_d - np.einsum("fpa,fab,fqb->pq", h_tc, inv, h_tc)
        rhs = -g_t + np.einsum("fpa,fab,fb->p", h_tc, inv, g_c)
        d_theta = np.linalg.solve(schur, rhs)
        d_c = -np.einsum("fab,fb->fa", inv, g_c + np.einsum("fpa,p->fa", h_tc, d_theta))
        inv0 = np.linalg.inv(h_cc + floor * np.eye(2))
        marginal = h_tt - np.einsum("fpa,fab,fqb->pq", h_tc, inv0, h_tc)
        return (self._clip(theta + d_theta), self._clip_centres(c + d_c)), marginal

    def _clip(self, theta):
        return np.clip(theta, self.lo, self.hi)

    def _clip_centres(self, c):
        x0, x1, y0, y1 = self.extent
        return np.column_stack([np.clip(c[:, 0], x0, x1), np.clip(c[:, 1], y0, y1)])


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

    Returns
    -------
    Solution
    """
    if centre_mode not in CENTRE_MODES:
        raise ValueError(f"centre_mode must be one of {CENTRE_MODES}, got {centre_mode!r}")
    x, y = projector.x_nm, projector.y_nm
    extent = (x.min(), x.max(), y.min(), y.max())
    prob = _Problem(projector, delay_fs, frame_u, weights, model, centre_mode, extent)
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
            converged = True
            break
    _, info = prob.step(state, s, proj, 0.0)
    theta = state[0]
    # a parameter on its bound is held there: the covariance is that of the free ones
    tol = 1e-5 * (1.0 + np.abs(theta))
    at_bound = (np.abs(theta - prob.lo) < tol) | (np.abs(theta - prob.hi) < tol)
    free = ~at_bound
    cov = np.zeros((theta.size, theta.size))
    try:
        cov[np.ix_(free, free)] = np.linalg.inv(info[np.ix_(free, free)])
    except np.linalg.LinAlgError:
        cov[:] = np.nan
    cx, cy = prob.centres(state)
    return Solution(theta, cov, np.asarray(cx), np.asarray(cy), float(cost), n_centre, proj,
                    it, converged, at_bound)
