"""Tests of the compiled kinetic Monte Carlo kernel itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamkit.sim.kmc import _tree_select, _tree_update

# A small run with every event type (hops, Auger of pump-made and met carriers, flights, hot hops,
# cooling), printed as exact floats.
_TINY_RUN = """
import json, numpy as np
from tamkit.sim.hopping import simulate_hopping_physics
r = simulate_hopping_physics(nabs_local=0.3, delay_fs=np.geomspace(100.0, 3e4, 6), pitch_nm=3.0,
    sigma_site_meV=25.0, hop_rate_per_fs=2e-4, temperature_K=300.0, tau_xx_fs=2e3,
    hot_rate_factor=30.0, tau_cool_fs=500.0, n_sites_side=5, n_realisations=2, seed=9,
    encounter_auger_factor=0.5, hot_diffusivity_nm2_fs=0.5, hot_flight_fs=300.0)
print(json.dumps({"msd": [float(v).hex() for v in r.msd_nm2],
                  "energy": [float(v).hex() for v in r.mean_energy_meV],
                  "survival": [float(v).hex() for v in r.survival],
                  "counts": [r.n_hops, r.n_auger, r.n_cooling_steps]}))
"""


def _run_interpreted() -> dict:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", _TINY_RUN], env=env, capture_output=True,
                         text=True, check=True, timeout=300)
    return json.loads(out.stdout)


def test_compiled_kernel_equals_interpreted_python_bit_for_bit():
    # The same source run by the Python interpreter (NUMBA_DISABLE_JIT=1) is the plain-Python
    # reference of the benchmark; compiled and interpreted must agree exactly.
    namespace: dict = {}
    exec(compile(_TINY_RUN.replace("print(", "result = ("), "<tiny run>", "exec"), namespace)
    compiled, interpreted = json.loads(namespace["result"]), _run_interpreted()
    assert compiled == interpreted
    hops, augers, cooling = compiled["counts"]
    assert hops > 100 and augers > 10 and cooling > 10


def test_sum_tree_selects_each_leaf_in_proportion_to_its_rate():
    rates = np.array([0.5, 0.0, 2.0, 1.5, 0.0])
    n_leaves = 8
    tree = np.zeros(2 * n_leaves)
    for leaf, r in enumerate(rates):
        _tree_update(tree, n_leaves, leaf, r)
    assert tree[1] == rates.sum()
    edges = np.concatenate([[0.0], np.cumsum(rates)])
    for u in np.linspace(0.0, rates.sum(), 101)[:-1]:
        leaf, residual = _tree_select(tree, n_leaves, u)
        assert edges[leaf] <= u < edges[leaf + 1]
        assert residual == pytest.approx(u - edges[leaf], abs=1e-12)
    # rounding past the end never lands on an empty leaf
    assert rates[_tree_select(tree, n_leaves, rates.sum() * (1 + 1e-12))[0]] > 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.floats(0.0, 10.0) | st.just(0.0)),
                min_size=1, max_size=60))
def test_sum_tree_updates_equal_a_fresh_tree_bit_for_bit(updates):
    # The kernel carries the new partial sum in a register and skips leaves whose value is
    # unchanged; every node must still be exactly left + right of the current leaves (what a
    # rebuild from scratch gives), or the random stream would pick other events.
    n_leaves = 16
    tree = np.zeros(2 * n_leaves)
    leaves = np.zeros(n_leaves)
    for leaf, value in updates:
        _tree_update(tree, n_leaves, leaf, value)
        leaves[leaf] = value
    fresh = np.zeros(2 * n_leaves)
    fresh[n_leaves:] = leaves
    for pos in range(n_leaves - 1, 0, -1):
        fresh[pos] = fresh[2 * pos] + fresh[2 * pos + 1]
    assert tree.tobytes() == fresh.tobytes()
