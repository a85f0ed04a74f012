"""The compiled piecewise-power-law kernels against the NumPy solver they replace."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tamkit.carrier_transport.batch_lsq import batched_least_squares
from tamkit.carrier_transport.regimes import _bounds, _pack, _starts
from tamkit.carrier_transport.regimes_kernel import PARALLEL_ROWS, fit_rows, sigma_sq_rows

T_FS = np.concatenate([[0.0], np.arange(10.0, 1000.0, 40.0), np.geomspace(1e3, 1e6, 40)])
ANCHOR_FS = 3000.0


def _curve(rng, k):
    breaks = np.sort(rng.uniform(np.log(50), np.log(3e5), k - 1))
    return _pack(2e4, rng.normal(8, 0.5), rng.uniform(0.1, 1.5, k), np.exp(breaks))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5))
def test_serial_and_parallel_evaluations_agree(seed, k):
    rng = np.random.default_rng(seed)
    rows = np.array([_curve(rng, k) for _ in range(PARALLEL_ROWS + 1)])
    many = sigma_sq_rows(rows, k, T_FS, ANCHOR_FS)  # parallel
    for b in (0, PARALLEL_ROWS):
        one = sigma_sq_rows(rows[b : b + 1], k, T_FS, ANCHOR_FS)  # serial
        np.testing.assert_allclose(one[0][0], many[0][b], rtol=1e-13)
        np.testing.assert_allclose(one[1][0], many[1][b], rtol=1e-13, atol=1e-300)
    assert np.all(many[0][:, 0] == rows[:, 0])  # t = 0: sigma_0^2, no spreading


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5))
def test_compiled_fits_equal_the_numpy_solver(seed, k):
    """Same algorithm, same steps: every replicate ends at the same cost (1e-8 relative)."""
    rng = np.random.default_rng(seed)
    truth = _curve(rng, k)
    curve = sigma_sq_rows(truth[None], k, T_FS, ANCHOR_FS)[0][0]
    err = 0.01 * curve + 30.0
    replicas = curve + err * rng.standard_normal((12, T_FS.size))
    lo, hi = _bounds(k, np.log(T_FS[T_FS > 0]), curve)
    starts = np.clip(np.asarray(list(_starts(k, T_FS, replicas[0], ANCHOR_FS))[:3]),
                     lo + 1e-9, hi - 1e-9)
    which = np.tile(np.arange(12), len(starts))
    p0 = np.repeat(starts, 12, axis=0)

    def fun(P, rows):
        s2, jac = sigma_sq_rows(P, k, T_FS, ANCHOR_FS)
        return (s2 - replicas[which[rows]]) / err, jac / err[:, None]

    ref_params, ref_cost = batched_least_squares(fun, p0, lo, hi)
    params, cost = fit_rows(p0, k, T_FS, ANCHOR_FS, replicas, which, err, lo, hi)
    np.testing.assert_allclose(cost, ref_cost, rtol=1e-8)
    assert np.all(params >= lo) and np.all(params <= hi)
    # the minimum is a minimum: no replicate ends above its own start
    start_cost = fit_rows(p0, k, T_FS, ANCHOR_FS, replicas, which, err, lo, hi, max_iter=0)[1]
    assert np.all(cost <= start_cost * (1 + 1e-12))
