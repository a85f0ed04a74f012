"""Variable projection of the per-frame linear parameters of a Gaussian spot model.

Every frame t of a stack is modelled as

    dT/T(x, y, t) = A_t exp(-[(x - x0_t)^2 + (y - y0_t)^2] / 2 s_t^2) + c_t

For fixed nonlinear parameters q_t = (s_t, x0_t, y0_t) the amplitude A_t and offset c_t are a
two-parameter linear least-squares problem with a closed-form solution. Eliminating them
(Golub & Pereyra, SIAM J. Numer. Anal. 10, 413 (1973)) leaves, per frame, the reduced cost

    f_t(q_t) = min_(A, c) sum_pixels m (D - A G - c)^2,

its gradient (exact, by the envelope theorem) and its Gauss-Newton matrix in the form of
Kaufman (BIT 15, 49 (1975)): J^T P_perp J with J = A dG/dq and P_perp the projector orthogonal to
the span of {G, 1}. That matrix is the Schur complement of the linear parameters in the full
Gauss-Newton matrix, so its inverse is the covariance of q_t with A_t and c_t marginalised.

Because the spot is separable, every pixel sum is a bilinear form ``a(y)^T M b(x)`` of 1D
factors with the mask ``m`` or the masked data: the work per call is a few batched
matrix-vector products over all pixels of all frames, with no per-pixel Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamkit.globalfit._data_sums import data_bilinear, power_sums, storage_dtype

#: 1D factors per axis: 0: g, 1: g u with u = d^2 / s^3, 2: g v with v = d / s^2 (d = x - x0)
_N_FACTORS = 3
#: the derivative of G with respect to (s, x0, y0) as sums of separable terms (y factor, x factor)
_DERIVATIVE_TERMS = (((0, 1), (1, 0)), ((0, 2),), ((2, 0),))
_PAIRS = [(a, b) for a in range(_N_FACTORS) for b in range(a, _N_FACTORS)]
_PAIR_INDEX = {**{p: i for i, p in enumerate(_PAIRS)}, **{(b, a): i for i, (a, b) in
                                                         enumerate(_PAIRS)}}


@dataclass
class ProjectedFrames:
    """The reduced problem of every frame at one set of nonlinear parameters.

    Attributes
    ----------
    cost : ndarray, shape (n_frames,)
        Reduced cost f_t (sum of squared residuals, data units squared).
    gradient : ndarray, shape (n_frames, 3)
        Half the gradient of f_t with respect to (s_t (nm), x0_t (nm), y0_t (nm)):
        ``J^T r`` in Gauss-Newton terms, sign chosen so that a step ``-I^-1 g`` descends.
    information : ndarray, shape (n_frames, 3, 3)
        Kaufman's Gauss-Newton matrix ``J^T P_perp J`` of (s_t, x0_t, y0_t) (per nm^2).
    amplitude, offset : ndarray, shape (n_frames,)
        The projected linear parameters A_t and c_t (data units).
    """

    cost: np.ndarray
    gradient: np.ndarray
    information: np.ndarray
    amplitude: np.ndarray
    offset: np.ndarray


class SpotProjector:
    """Precomputed data sums of a masked stack for repeated projections.

    Parameters
    ----------
    frames : ndarray, shape (n_frames, ny, nx)
        dT/T; pixels outside the mask may hold anything (they are zeroed).
    x_nm, y_nm : ndarray, shapes (nx,), (ny,)
        Pixel-centre coordinates (nm).
    mask : ndarray of bool, shape (ny, nx)
        True for pixels that enter the fit.
    """

    def __init__(self, frames: np.ndarray, x_nm: np.ndarray, y_nm: np.ndarray,
                 mask: np.ndarray, *, copy: bool = True):
        self.x_nm = np.asarray(x_nm, float)
        self.y_nm = np.asarray(y_nm, float)
        mask = np.asarray(mask, bool)
        self.weight = mask.astype(float)
        self.holes = np.nonzero(~mask)
        # masked in place: a copy, unless the caller hands its frames over (copy=False; a
        # second stack-sized array was the global fit's memory peak). float32 frames stay
        # float32 (the sums are accumulated in float64), anything else becomes float64.
        dtype = storage_dtype(np.asarray(frames).dtype)
        data = np.array(frames, dtype=dtype) if copy else np.asarray(frames, dtype=dtype)
        np.nan_to_num(data, copy=False)
        data[:, ~mask] = 0.0
        self.data = data  # masked data (n_frames, ny, nx)
        self.n_pixels = float(self.weight.sum())
        self.sum_d, self.sum_dd = power_sums(data).T

    @property
    def n_frames(self) -> int:
        return self.data.shape[0]

    def _factors(self, coord: np.ndarray, centre: np.ndarray, s: np.ndarray) -> np.ndarray:
        d = coord[None, :] - centre[:, None]
        s = s[:, None]
        g = np.exp(-0.5 * (d / s) ** 2)
        return np.stack([g, g * d * d / s**3, g * d / s**2], axis=1)  # (F, 3, n)

    @staticmethod
    def _masked_sums(fy, fx, hy, hx):
        full = fy.sum(axis=2)[:, :, None] * fx.sum(axis=2)[:, None, :]
        if hy.size:
            full -= np.einsum("fah,fbh->fab", fy[:, :, hy], fx[:, :, hx])
        return full

    def project(self, s_nm: np.ndarray, x0_nm: np.ndarray, y0_nm: np.ndarray,
                frames: np.ndarray | None = None) -> ProjectedFrames:
        """Reduced cost, gradient and Gauss-Newton matrix of each frame.

        Parameters
        ----------
        s_nm, x0_nm, y0_nm : ndarray, shape (n,)
            Width and centre (nm) of each frame (of the ``frames`` subset when given).
        frames : ndarray of int, optional
            Indices of the frames to project (default all).

        Returns
        -------
        ProjectedFrames
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # trial steps of the optimiser may reach absurd widths: their costs come out
            # non-finite and are rejected there
            return self._project(s_nm, x0_nm, y0_nm, frames)

    def _sums(self, s_nm, x0_nm, y0_nm, frames) -> dict:
        """The pixel sums of model, derivatives and data that every projection is made of."""
        idx = np.arange(self.n_frames) if frames is None else np.arange(self.n_frames)[frames]
        fx = self._factors(self.x_nm, np.asarray(x0_nm, float), np.asarray(s_nm, float))
        fy = self._factors(self.y_nm, np.asarray(y0_nm, float), np.asarray(s_nm, float))
        # bilinear forms with the mask: sum_y sum_x m a(y) b(x) = (sum a)(sum b) minus the sum
        # over the masked-out pixels (few), for singles a b and pair products a a' b b'
        hy, hx = self.holes
        single = self._masked_sums(fy, fx, hy, hx)                  # (F, 3, 3) = <Ya Xb>
        px = np.stack([fx[:, a] * fx[:, b] for a, b in _PAIRS], axis=1)  # (F, 6, nx)
        py = np.stack([fy[:, a] * fy[:, b] for a, b in _PAIRS], axis=1)
        pair = self._masked_sums(py, px, hy, hx)                    # (F, 6, 6) = <YY' XX'>
        # bilinear forms with the (masked) data: one pass over every pixel of every frame
        data_single = data_bilinear(self.data, idx, fy, fx)       # (F, 3, 3) = <D Ya Xb>

        def gg(ya, xa, yb, xb):  # <(Ya Xa)(Yb Xb)>
            return pair[:, _PAIR_INDEX[(ya, yb)], _PAIR_INDEX[(xa, xb)]]

        s2 = gg(0, 0, 0, 0)
        s1 = single[:, 0, 0]
        n = self.n_pixels
        dg = data_single[:, 0, 0]
        sd, sdd = self.sum_d[idx], self.sum_dd[idx]
        nq = len(_DERIVATIVE_TERMS)
        g_dq = np.zeros((idx.size, nq))   # <G, dG_q>
        one_dq = np.zeros((idx.size, nq))  # <1, dG_q>
        d_dq = np.zeros((idx.size, nq))   # <D, dG_q>
        dq_dq = np.zeros((idx.size, nq, nq))
        for q, terms in enumerate(_DERIVATIVE_TERMS):
            for ya, xa in terms:
                g_dq[:, q] += gg(0, 0, ya, xa)
                one_dq[:, q] += single[:, ya, xa]
                d_dq[:, q] += data_single[:, ya, xa]
            for r, other in enumerate(_DERIVATIVE_TERMS[q:], start=q):
                total = sum(gg(ya, xa, yb, xb) for ya, xa in terms for yb, xb in other)
                dq_dq[:, q, r] = dq_dq[:, r, q] = total
        return {"s2": s2, "s1": s1, "n": n, "dg": dg, "sd": sd, "sdd": sdd, "g_dq": g_dq,
                "one_dq": one_dq, "d_dq": d_dq, "dq_dq": dq_dq}

    def _project(self, s_nm, x0_nm, y0_nm, frames) -> ProjectedFrames:
        q = self._sums(s_nm, x0_nm, y0_nm, frames)
        s2, s1, n, dg, sd, sdd = (q[k] for k in ("s2", "s1", "n", "dg", "sd", "sdd"))
        g_dq, one_dq, d_dq, dq_dq = q["g_dq"], q["one_dq"], q["d_dq"], q["dq_dq"]
        det = s2 * n - s1 * s1
        det = np.where(det > 0, det, np.finfo(float).tiny)
        amp = (n * dg - s1 * sd) / det
        off = (s2 * sd - s1 * dg) / det
        cost = np.clip(sdd - amp * dg - off * sd, 0.0, None)

        # residual against each derivative and Kaufman's projected Gram matrix
        r_dq = d_dq - amp[:, None] * g_dq - off[:, None] * one_dq
        gradient = -amp[:, None] * r_dq
        # b_q^T M^-1 b_r with M = [[s2, s1], [s1, n]], b_q = (<G,dG_q>, <1,dG_q>)
        proj = (n * g_dq[:, :, None] * g_dq[:, None, :]
                - s1[:, None, None] * (g_dq[:, :, None] * one_dq[:, None, :]
                                       + one_dq[:, :, None] * g_dq[:, None, :])
                + s2[:, None, None] * one_dq[:, :, None] * one_dq[:, None, :]) / det[:, None, None]
        information = amp[:, None, None] ** 2 * (dq_dq - proj)
        return ProjectedFrames(cost, gradient, information, amp, off)

    def project_amplitude(self, amplitude: np.ndarray, s_nm: np.ndarray, x0_nm: np.ndarray,
                          y0_nm: np.ndarray) -> ProjectedFrames:
        """Reduced cost with the amplitude of every frame given (an amplitude law) and only the
        offset projected out.

        ``gradient`` (n, 4) and ``information`` (n, 4, 4) are then with respect to
        (s_t, ln|A_t|, x0_t, y0_t): Kaufman's matrix ``J^T P_1 J`` with ``P_1`` the projector
        orthogonal to the constant, ``J`` the columns ``A dG/ds, A G, A dG/dx0, A dG/dy0``.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            q = self._sums(s_nm, x0_nm, y0_nm, None)
            a = np.asarray(amplitude, float)
            s2, s1, n, dg, sd, sdd = (q[k] for k in ("s2", "s1", "n", "dg", "sd", "sdd"))
            g_dq, one_dq, d_dq, dq_dq = q["g_dq"], q["one_dq"], q["d_dq"], q["dq_dq"]
            off = (sd - a * s1) / n
            cost = np.clip(sdd - 2 * a * dg + a * a * s2 - (sd - a * s1) ** 2 / n, 0.0, None)
            r_dq = d_dq - a[:, None] * g_dq - off[:, None] * one_dq   # <r, dG_q>
            r_g = dg - a * s2 - off * s1                               # <r, G>
            m = idx_size = a.size
            grad = np.empty((idx_size, 4))
            grad[:, 0] = -a * r_dq[:, 0]
            grad[:, 1] = -a * r_g
            grad[:, 2:] = -a[:, None] * r_dq[:, 1:]
            # columns in the order (s, lnA, x0, y0): Gram of the derivatives and of G, projected
            gram = np.empty((m, 4, 4))
            order = (0, None, 1, 2)  # derivative index of each column (None: G itself)
            for i, qi in enumerate(order):
                for j, qj in enumerate(order):
                    if qi is None and qj is None:
                        v = s2 - s1 * s1 / n
                    elif qi is None:
                        v = g_dq[:, qj] - s1 * one_dq[:, qj] / n
                    elif qj is None:
                        v = g_dq[:, qi] - s1 * one_dq[:, qi] / n
                    else:
                        v = dq_dq[:, qi, qj] - one_dq[:, qi] * one_dq[:, qj] / n
                    gram[:, i, j] = v
            information = (a * a)[:, None, None] * gram
        return ProjectedFrames(cost, grad, information, a, off)
