"""Delays files: one column in fs, tolerant of headers, comments and CSV punctuation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamkit.core.errors import InputError
from tamkit.io import read_delays, write_delays


@pytest.mark.parametrize(
    "text",
    [
        "delay_fs\n-100\n0\n50.5\n1e3\n",
        "# delays of scan 3\nDELAY_FS\n-100 # baseline\n0\n\n50.5\n1000\n",
        '"delay_fs",\n-100,\n0,\n50.5,\n1000,\n',
        "\ufeff-100\r\n0\r\n50.5\r\n1.0E+03\r\n",
        "  -100;\n\t0\n 50.5 \n1000",
    ],
)
def test_accepted_layouts(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    np.testing.assert_array_equal(read_delays(path), [-100.0, 0.0, 50.5, 1000.0])


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("delay_fs\n", "no delays"),
        ("# only a comment\n", "no delays"),
        ("delay_fs\n1\n2, 3\n", "line 3: 2 columns"),
        ("time\n1\n", "line 1: the header 'time' names no time unit"),
        ("position (mm)\n1\n", "line 1: the header names 'mm', not a time"),
        ("delay (fs) (ps)\n1\n", "several time units"),
        ("1 fs\n2 ps\n", "line 2: unit 'ps' after 'fs'"),
        ("delay (ps)\n1 fs\n", "the header's unit and the values' unit"),
        ("0x10\n1\n", "line 1: '0x10' is not a number"),
        ("1\ninf\n", "line 2: delay 'inf' is not a finite number"),
        ("1\n2\ndelay_fs\n", "line 3: 'delay_fs' is not a number"),
    ],
)
def test_rejected_layouts(tmp_path, text, pattern):
    path = tmp_path / "d.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=pattern):
        read_delays(path)


@pytest.mark.parametrize(
    ("text", "factor"),
    [
        ("delay (fs)\n-100\n0\n50.5\n1000\n", 1.0),
        ("Delay [ps]\n-100\n0\n50.5\n1000\n", 1e3),
        ("% pump-probe delays\ntime / ns\n-100\n0\n50.5\n1000\n", 1e6),
        ("// scan 2\nt_us\n-100\n0\n50.5\n1000\n", 1e9),
        ("Time (s)\n-100\n0\n50.5\n1000\n", 1e15),
        ("-100\tps\n0\tps\n50.5\tps\n1000\tps\n", 1e3),
        ("delay (ps)\n-100 ps\n0 ps\n50.5 ps\n1000 ps\n", 1e3),
    ],
)
def test_headers_and_value_units_give_the_unit(tmp_path, text, factor):
    # labelled columns as lab software and spreadsheets write them; the unit is read, never
    # assumed, so delays in ps are not taken for fs
    path = tmp_path / "d.txt"
    path.write_text(text, encoding="utf-8")
    np.testing.assert_allclose(read_delays(path), factor * np.array([-100.0, 0.0, 50.5, 1000.0]))


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / "d.txt"
    path.write_bytes(b"\xff\xfe\x00\x81\x92binary")
    with pytest.raises(InputError, match="not text"):
        read_delays(path)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1e7, 1e7, allow_nan=False), min_size=1, max_size=30))
def test_write_then_read_is_exact(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("d") / "delays.txt"
    write_delays(np.array(values), path)
    np.testing.assert_array_equal(read_delays(path), values)
