"""The frame viewer's data: the same from an in-memory stack and from a dask-backed one."""

from __future__ import annotations

import json

import numpy as np

from tamkit.gaussfit import fit_frames
from tamkit.reporting.viewer import viewer_data
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs


def test_viewer_data_same_for_lazy_and_in_memory_stacks():
    stack, _ = spreading_gaussian_stack(tam_delays_fs(n_log=6), shape=(24, 24), seed=2)
    fits = fit_frames(stack)
    eager = viewer_data(stack, fits)
    lazy = viewer_data(stack.chunk({"delay": 4}), fits)
    assert json.dumps(eager) == json.dumps(lazy)
    assert len(eager["frames"]) == stack.sizes["delay"]
    ok = [f for f in eager["frames"] if f["status"] == "ok"]
    assert ok and all(np.isfinite(f["fit"]["sigma_nm"]) for f in ok)
