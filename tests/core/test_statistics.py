"""Error inflation for residuals correlated between neighbouring points (AR(1))."""

import numpy as np
import pytest

from tamkit.core.statistics import residual_correlation_inflation


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6])
def test_inflation_matches_ar1_variance_of_a_mean(rho):
    # AR(1) residuals: the variance of their mean is (1 + rho) / (1 - rho) times the white
    # value for long sequences; the inflation estimates its square root from the data
    rng = np.random.default_rng(1)
    n = 4000
    e = rng.standard_normal(n)
    r = np.empty(n)
    r[0] = e[0]
    for i in range(1, n):
        r[i] = rho * r[i - 1] + np.sqrt(1 - rho**2) * e[i]
    expected = np.sqrt((1 + rho) / (1 - rho))
    assert residual_correlation_inflation(r) == pytest.approx(expected, rel=0.05)


def test_inflation_is_never_below_one_nor_unbounded():
    alternating = np.tile([1.0, -1.0], 50)  # rho = -1: no deflation
    assert residual_correlation_inflation(alternating) == 1.0
    assert residual_correlation_inflation(np.linspace(0, 1, 50)) <= np.sqrt(19.0) + 1e-12
    assert residual_correlation_inflation(np.array([1.0, 2.0])) == 1.0
