"""Number formatting of the reports: errors and the turn-shape systematic."""

import math

import pytest

from tamkit.carrier_transport.results import BandLike
from tamkit.reporting.analysis_report import _pm_sys
from tamkit.reporting.style import format_pm, shape_sys_text, with_shape_sys


def test_format_pm_rounds_to_two_significant_digits_of_the_error():
    assert format_pm(277.34, 23.1, "fs") == "277 ± 23 fs"
    assert format_pm(1.2345, 0.0123) == "1.234 ± 0.012"
    assert format_pm(5.0, None, "nm") == "5 nm (error not determined)"


@pytest.mark.parametrize("sys", [None, 0.0, math.nan])
def test_no_shape_systematic_leaves_the_text_alone(sys):
    assert shape_sys_text(sys, "fs") == ""
    assert with_shape_sys("277 ± 23 fs", sys, "fs") == "277 ± 23 fs"


def test_a_shape_systematic_is_written_beside_the_statistical_error():
    assert with_shape_sys("277 ± 23 fs", 41.3, "fs") == "277 ± 23 fs (stat) ± 41 fs (turn shape)"
    assert shape_sys_text(0.0123, "nm") == "± 0.012 nm (turn shape)"


def test_html_headline_of_a_band_like_block_shows_the_systematic():
    b = BandLike(277.0, 23.0, 76.0, 3.1, None, 100.0, 3.0, 3.9e3, 120.0, 1.1, 0.1,
                 tau_sys_fs=41.0, length_sys_nm=0.0)
    block = b.__dict__
    assert _pm_sys(block, "tau_fs", "tau_err_fs", "tau_sys_fs", "fs").endswith(
        "(stat) ± 41 fs (turn shape)")
    assert "turn shape" not in _pm_sys(block, "length_nm", "length_err_nm", "length_sys_nm",
                                       "nm")
