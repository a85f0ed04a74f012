"""Variable projection of amplitude and offset: cost, gradient and Gauss-Newton matrix against
brute force (a least-squares solve per frame, finite differences), with masked pixels."""

from __future__ import annotations

import numpy as np

from tamkit.globalfit.projection import SpotProjector

X = np.arange(20) * 55.6 - 500
Y = np.arange(18) * 55.6 - 450
S = np.array([140.0, 180, 220])
CX = np.array([10.0, -20, 5])
CY = np.array([0.0, 15, -30])


def _data():
    rng = np.random.default_rng(1)
    g = np.exp(-((X[None, None, :] - CX[:, None, None]) ** 2
                 + (Y[None, :, None] - CY[:, None, None]) ** 2) / 2 / S[:, None, None] ** 2)
    mask = np.ones((Y.size, X.size), bool)
    mask[3:6, 4:9] = False
    return 2 * g + 0.3 + 0.2 * rng.standard_normal(g.shape), mask


def _residual(data, mask, s, cx, cy, t):
    g = np.exp(-((X[None, :] - cx[t]) ** 2 + (Y[:, None] - cy[t]) ** 2) / 2 / s[t] ** 2)[mask]
    basis = np.c_[g, np.ones_like(g)]
    d = data[t][mask]
    return d - basis @ np.linalg.lstsq(basis, d, rcond=None)[0]


def test_cost_gradient_and_information_match_brute_force():
    data, mask = _data()
    got = SpotProjector(data, X, Y, mask).project(S, CX, CY)
    h = 1e-4
    for t in range(3):
        r = _residual(data, mask, S, CX, CY, t)
        np.testing.assert_allclose(got.cost[t], r @ r, rtol=1e-10)
        jac = []
        for q in range(3):
            up = [S.copy(), CX.copy(), CY.copy()]
            down = [S.copy(), CX.copy(), CY.copy()]
            up[q][t] += h
            down[q][t] -= h
            r_up, r_down = _residual(data, mask, *up, t), _residual(data, mask, *down, t)
            # half the gradient of the reduced cost (envelope theorem: exact)
            np.testing.assert_allclose(got.gradient[t, q], (r_up @ r_up - r_down @ r_down)
                                       / (4 * h), rtol=1e-5, atol=1e-9)
            jac.append((r_up - r_down) / (2 * h))
        jac = np.array(jac).T
        # Kaufman's matrix drops a term of the order of the residual: a few per cent here
        np.testing.assert_allclose(got.information[t], jac.T @ jac, rtol=0.05, atol=2e-5)


def _residual_fixed(data, mask, amp, s, cx, cy, t):
    g = np.exp(-((X[None, :] - cx[t]) ** 2 + (Y[:, None] - cy[t]) ** 2) / 2 / s[t] ** 2)[mask]
    d = data[t][mask] - amp[t] * g
    return d - d.mean()


def test_fixed_amplitude_projection_matches_brute_force():
    # amplitude given (an amplitude law), offset projected: cost, gradient in (s, ln A, x0, y0)
    data, mask = _data()
    amp = np.array([1.7, 2.2, 1.9])
    got = SpotProjector(data, X, Y, mask).project_amplitude(amp, S, CX, CY)
    h = 1e-5
    for t in range(3):
        r = _residual_fixed(data, mask, amp, S, CX, CY, t)
        np.testing.assert_allclose(got.cost[t], r @ r, rtol=1e-10)
        np.testing.assert_allclose(got.offset[t], (data[t][mask] - amp[t] * np.exp(
            -((X[None, :] - CX[t]) ** 2 + (Y[:, None] - CY[t]) ** 2) / 2 / S[t] ** 2)[mask]
        ).mean(), rtol=1e-10)
        jac = []
        for q in range(4):
            vals = [S.copy(), np.log(amp), CX.copy(), CY.copy()]
            up = [v.copy() for v in vals]
            down = [v.copy() for v in vals]
            up[q][t] += h
            down[q][t] -= h
            r_up = _residual_fixed(data, mask, np.exp(up[1]), up[0], up[2], up[3], t)
            r_dn = _residual_fixed(data, mask, np.exp(down[1]), down[0], down[2], down[3], t)
            np.testing.assert_allclose(got.gradient[t, q], (r_up @ r_up - r_dn @ r_dn)
                                       / (4 * h), rtol=1e-5, atol=1e-9)
            jac.append((r_up - r_dn) / (2 * h))
        jac = np.array(jac).T
        np.testing.assert_allclose(got.information[t], jac.T @ jac, rtol=0.05, atol=2e-5)


def test_float32_frames_project_as_their_float64_values():
    # a lazily read float32 file keeps float32 frames; the sums are accumulated in float64,
    # so the projection equals that of the same values held as float64
    data, mask = _data()
    data32 = data.astype(np.float32)
    p32 = SpotProjector(data32, X, Y, mask)
    p64 = SpotProjector(data32.astype(np.float64), X, Y, mask)
    assert p32.data.dtype == np.float32 and p64.data.dtype == np.float64
    for frames in (None, np.array([2, 0])):
        sub = slice(None) if frames is None else frames
        a = p32.project(S[sub], CX[sub], CY[sub], frames=frames)
        b = p64.project(S[sub], CX[sub], CY[sub], frames=frames)
        for name in ("cost", "gradient", "information", "amplitude", "offset"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12,
                                       atol=1e-15)
