"""FrameReader: frames by index from in-memory and dask-backed stacks, each file chunk read once
when the blocks come in order."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from tamkit.core.frames import FrameReader


class CountingArray:
    """An array-like that counts the reads dask makes of it (one per chunk computed)."""

    def __init__(self, values: np.ndarray):
        self.values, self.shape, self.dtype, self.ndim = values, values.shape, values.dtype, 3
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return self.values[key]


def _values(n=23, dtype=np.float32):
    return np.random.default_rng(0).standard_normal((n, 4, 5)).astype(dtype)


def _stack(data) -> xr.DataArray:
    return xr.DataArray(data, dims=("delay", "y", "x"))


@pytest.mark.parametrize("idx", [[0, 1, 2], [5, 6, 7, 8, 9, 10], [22, 3, 7, 7], list(range(23)),
                                 []])
def test_frames_equal_the_stack_whatever_the_order_and_the_chunks(idx):
    values = _values()
    eager = FrameReader(_stack(values))
    lazy = FrameReader(_stack(da.from_array(values, chunks=(6, 4, 5))))
    assert lazy.stack.chunks is not None and eager.stack.chunks is None
    for reader in (eager, lazy):
        got = reader.read(idx)
        assert got.dtype == np.float64 and got.shape == (len(idx), 4, 5)
        np.testing.assert_array_equal(got, values[idx].astype(float))
        assert reader.read(idx, dtype=np.float32).dtype == np.float32


def test_the_frames_are_a_copy():
    values = _values(dtype=np.float64)
    got = FrameReader(_stack(values)).read([0, 1])
    got[:] = 0.0
    assert np.all(values[:2] != 0.0)


def test_blocks_in_order_read_each_file_chunk_once():
    source = CountingArray(_values())
    reader = FrameReader(_stack(da.from_array(source, chunks=(6, 4, 5))))
    source.reads = 0  # dask reads an empty slice for its meta
    for lo in range(0, 23, 2):  # blocks of 2 frames, 3 per chunk of 6
        reader.read(np.arange(lo, min(23, lo + 2)))
    assert source.reads == 4  # chunks of 6, 6, 6, 5


def test_consecutive_frames_of_an_in_memory_stack_may_be_a_view():
    values = _values(dtype=np.float64)
    reader = FrameReader(_stack(values))
    assert np.shares_memory(reader.read([2, 3, 4], copy=False), values)
    assert not np.shares_memory(reader.read([2, 3, 4]), values)
    assert not np.shares_memory(reader.read([2, 3, 4], dtype=np.float32, copy=False), values)
