"""tamkit.read_results: results.json and spectro.json read back as typed objects, and out again."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tamkit
from tamkit.carrier_transport.results import Anisotropy, BandLike, TransportParameters
from tamkit.core.errors import InputError
from tamkit.io.results import AnalysisResults, SpectroResults, write_results
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    stack, truth = spreading_gaussian_stack(tam_delays_fs(n_log=12, n_baseline=3),
                                            shape=(32, 32), seed=3)
    analysis = tamkit.analyze(stack, pitch_nm=3.0, n_bootstrap=30)
    out = tmp_path_factory.mktemp("rt") / "out"
    tamkit.report(analysis.result, out, input_info=analysis.input_info)
    return analysis, out


def test_results_json_reads_back_typed(analysed):
    analysis, out = analysed
    read = tamkit.read_results(out / "results.json")
    assert isinstance(read, AnalysisResults)
    assert isinstance(read.parameters, TransportParameters)
    assert isinstance(read.anisotropy, Anisotropy)
    assert read.sigma0_nm == pytest.approx(analysis.result.sigma0_nm, rel=1e-12)
    assert [r.name for r in read.regimes] == [r.name for r in analysis.result.regimes]
    if analysis.result.band_like is not None:
        assert isinstance(read.band_like, BandLike)
        assert read.band_like.D_max_cm2_s == pytest.approx(
            analysis.result.band_like.D_max_cm2_s, rel=1e-12)
    np.testing.assert_allclose(read.frames["sigma_nm"].values,
                               analysis.result.frames["sigma_nm"].values, rtol=1e-12)
    assert read.parameters.width_model == analysis.result.parameters.width_model
    assert read.sigma0_sys_nm == pytest.approx(analysis.result.sigma0_sys_nm, abs=1e-12)


def test_a_results_file_without_the_sigma0_systematic_reads_and_writes_without_it(analysed,
                                                                                  tmp_path):
    _, out = analysed
    doc = json.loads((out / "results.json").read_text())
    assert "sigma0_sys_nm" in doc
    del doc["sigma0_sys_nm"]  # as an earlier tamkit wrote it
    (tmp_path / "old.json").write_text(json.dumps(doc))
    read = tamkit.read_results(tmp_path / "old.json")
    assert read.sigma0_sys_nm is None and read.to_dict() == doc


def test_results_json_round_trips_byte_identical(analysed, tmp_path):
    _, out = analysed
    read = tamkit.read_results(out)  # the folder works too
    write_results(read, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == (out / "results.json").read_text()


def test_unknown_blocks_survive_the_round_trip(analysed, tmp_path):
    _, out = analysed
    doc = json.loads((out / "results.json").read_text())
    doc["future_block"] = {"a": 1}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    read = tamkit.read_results(tmp_path / "r.json")
    assert read.extra == {"future_block": {"a": 1}}
    assert read.to_dict() == doc


def test_spectro_json_round_trips(tmp_path):
    doc = {"schema": "tamkit.spectro/1", "tamkit_version": "0.2.0", "input": {"path": "m"},
           "parameters": {"convention": "paper"}, "lifetimes_ps": [1.5, None],
           "irf_fwhm_fs": 120.0, "irf_fwhm_err_fs": 3.0, "chirp": {"span_fs": 200.0},
           "fit": {"rss": 1.0}, "components": {"n_used": 2}, "svd": {}, "bleach": None,
           "injection": None, "notes": ["a note"], "new": 1}
    (tmp_path / "spectro.json").write_text(json.dumps(doc))
    read = tamkit.read_results(tmp_path)
    assert isinstance(read, SpectroResults)
    assert read.lifetimes_ps == [1.5, None] and read.sections["chirp"]["span_fs"] == 200.0
    assert json.dumps(read.to_dict()) == json.dumps(doc)


@pytest.mark.parametrize("content, message", [
    ("not json", "not a tamkit JSON result"),
    ('{"schema": "other/1"}', "is not one tamkit reads"),
    ('{"schema": "tamkit.results/1"}', "malformed"),
])
def test_bad_files_are_input_errors(tmp_path, content, message):
    (tmp_path / "x.json").write_text(content)
    with pytest.raises(InputError, match=message):
        tamkit.read_results(tmp_path / "x.json")


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        tamkit.read_results(tmp_path / "none.json")
    with pytest.raises(InputError, match="no results.json"):
        tamkit.read_results(tmp_path)
