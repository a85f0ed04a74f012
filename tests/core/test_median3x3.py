"""The compiled 3x3 median against scipy.ndimage.median_filter, value for value."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from tamkit.core.median3x3 import median3x3_frames, median3x3_nearest


@settings(max_examples=25, deadline=None)
@given(
    ny=st.integers(1, 9),
    nx=st.integers(1, 9),
    levels=st.integers(2, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_median3x3_equals_scipy_median_filter(ny, nx, levels, seed):
    """Exact equality, edges and ties included: a median selects one of the values."""
    # few distinct levels: many ties, where an incorrect selection network would show
    img = np.random.default_rng(seed).integers(0, levels, size=(ny, nx)).astype(float)
    out = np.empty_like(img)
    median3x3_nearest(img, out)
    np.testing.assert_array_equal(out, ndimage.median_filter(img, size=3, mode="nearest"))


def test_frames_equal_scipy_median_filter_per_frame():
    # as the global fit's pixel mask uses it: every frame filtered on its own (size (1, 3, 3))
    frames = np.random.default_rng(2).normal(size=(7, 11, 6))
    frames[3] = np.round(frames[3])  # ties
    out = np.empty_like(frames)
    median3x3_frames(frames, out)
    np.testing.assert_array_equal(
        out, ndimage.median_filter(frames, size=(1, 3, 3), mode="nearest"))
