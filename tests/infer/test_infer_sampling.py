"""The split-half convergence check of the sampler: stationary chains pass, drifting or still
spreading ones fail, on seeded draws whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from tamkit.infer.sampling import split_half_convergence


def _lognormal(rng, n, shape=(2,)):
    return np.exp(rng.standard_normal((n, *shape)))


@pytest.mark.parametrize("seed", range(5))
def test_stationary_independent_samples_count_as_converged(seed):
    samples = _lognormal(np.random.default_rng(seed), 2000)
    check = split_half_convergence(samples, n_effective=2000)
    assert check["converged"]
    assert max(abs(v) for v in check["mean_shift_sd"]) < 0.2


def test_a_drifting_chain_is_flagged():
    rng = np.random.default_rng(1)
    logs = rng.standard_normal((2000, 2))
    logs[1000:, 1] += 0.8  # the second half sits 0.8 SD higher in one parameter
    check = split_half_convergence(np.exp(logs), n_effective=2000)
    assert not check["converged"]
    assert check["mean_shift_sd"][1] > 0.3 and abs(check["mean_shift_sd"][0]) < 0.2


def test_an_ensemble_still_spreading_out_is_flagged():
    rng = np.random.default_rng(2)
    logs = rng.standard_normal((2000, 2))
    logs[:1000, 0] *= 0.4  # walkers started in a small ball: the first half is narrow
    check = split_half_convergence(np.exp(logs), n_effective=2000)
    assert not check["converged"] and check["sd_ratio"][0] > 2


def test_a_small_shift_within_the_noise_of_few_effective_samples_passes():
    """A 0.25 SD shift is 1.25 standard errors with 100 effective samples: not flagged; the
    same shift with 4000 effective samples (5 standard errors) is."""
    rng = np.random.default_rng(3)
    logs = rng.standard_normal((4000, 1))
    logs -= logs.mean()
    logs[2000:] += 0.25 - logs[2000:].mean() + logs[:2000].mean()
    assert split_half_convergence(np.exp(logs), n_effective=100)["converged"]
    assert not split_half_convergence(np.exp(logs), n_effective=4000)["converged"]
