"""The global fit's hot-pixel mask, computed in slabs of rows, equals the whole-frame one."""

import numpy as np
import pytest
from scipy.ndimage import median_filter

from tamkit.globalfit.fit import HOT_PIXEL_Z, _mask


def _whole_frame_mask(frames, mask, noise):
    good = np.all(np.isfinite(frames), axis=0)
    if mask is not None:
        good &= ~mask
    filled = np.where(good[None], frames, 0.0)
    dev = np.abs(filled - median_filter(filled, size=(1, 3, 3), mode="nearest"))
    return good & (np.median(dev, axis=0) / noise < HOT_PIXEL_Z)


@pytest.mark.parametrize("shape", [(700, 130, 120), (50, 40, 37), (3, 5, 4)])
def test_slabs_equal_the_whole_frame(shape):
    rng = np.random.default_rng(0)
    frames = rng.standard_normal(shape)
    frames[:, 3, 2] += 50.0  # hot pixels, one on the edge
    frames[:, 0, 0] += 30.0
    frames[shape[0] // 2, 2, 1] = np.nan
    given = np.zeros(shape[1:], bool)
    given[1, 1] = True
    for mask in (None, given):
        expected = _whole_frame_mask(frames, mask, 1.0)
        got = _mask(frames, mask, 1.0)
        np.testing.assert_array_equal(got, expected)
        assert not got[3, 2] and not got[0, 0] and not got[2, 1]
