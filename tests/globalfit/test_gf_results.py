"""The global_fit block of results.json reads back typed and writes back identical."""

from __future__ import annotations

import json

import pytest

from tamkit.carrier_transport.results import BandLike, Regime
from tamkit.core.errors import InputError
from tamkit.core.outputs import to_jsonable
from tamkit.globalfit import GlobalFitBlock, ModelScore
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs
from tamkit.workflows.analysis import analyze


def test_block_round_trips():
    block = GlobalFitBlock(
        141.0, 0.8, [Regime("band-like", 20.0, 300.0, 1.1, 0.1, float("nan"), 12.0)],
        BandLike(300.0, 20.0, 78.0, 2.0, 26.0, 102.0, 5.0, 3946.0, 190.0, 1.1, 0.1),
        model="band-like SBPL + 1 break", centre_mode="per-frame", chi2_red=1.0, n_frames=91,
        n_pixels=2304, run_time_s=1.0, models=[ModelScore("piecewise 1 regime", 185, 1.0, 2.0)])
    doc = json.loads(json.dumps(to_jsonable(block.to_dict())))
    again = GlobalFitBlock.from_dict(doc)
    assert isinstance(again.band_like, BandLike) and isinstance(again.regimes[0], Regime)
    assert json.dumps(to_jsonable(again.to_dict())) == json.dumps(doc)
    assert set(GlobalFitBlock.__dataclass_fields__) >= {"sigma0_nm", "sigma0_err_nm", "regimes",
                                                        "band_like"}


def test_unknown_method_is_an_input_error():
    stack, _ = spreading_gaussian_stack(tam_delays_fs(n_log=8, n_baseline=3), shape=(24, 24))
    with pytest.raises(InputError, match="method"):
        analyze(stack, method="neither")
