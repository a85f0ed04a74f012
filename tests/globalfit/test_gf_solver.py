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


def test_default_starts_have_the_model_s_number_of_parameters():
    from tamkit.globalfit.msd_models import candidate_models

    for model in candidate_models((20.0, 1e6)):
        theta = model.start(141.0**2, lambda t: 1000.0, 300.0)
        assert theta.size == model.n_params, (model.family, model.k)
