"""Solver steps where the normal equations are exactly singular."""

import numpy as np

from tamkit.globalfit.solver import _step_solve


def test_a_singular_system_takes_the_least_squares_step():
    # the second parameter is not informed at all (a zero column): the step leaves it alone
    h = np.array([[4.0, 0.0], [0.0, 0.0]])
    step = _step_solve(h, np.array([2.0, 0.0]))
    np.testing.assert_allclose(step, [0.5, 0.0])
    # a regular system is solved exactly
    h = np.array([[4.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(h @ _step_solve(h, np.array([1.0, 2.0])), [1.0, 2.0])
