"""`tamkit infer`: infer.json with the schema, figures and page; bad input exits 2 on one line."""

from __future__ import annotations

import json

import pytest

FREE = ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa")


def test_cli_writes_infer_json_with_the_schema(run_cli, results_series, chain_cache, tmp_path):
    out = tmp_path / "inf"
    code, stdout, err = run_cli(["infer", *results_series, "--out", out, "--steps", 300,
                                 "--cache", chain_cache])
    assert code == 0, err
    doc = json.loads((out / "infer.json").read_text())
    assert doc["schema"] == "tamkit.infer/1"
    assert set(doc["parameters"]) == set(FREE)
    for v in doc["parameters"].values():
        assert {"median", "mean", "ci68", "ci95", "determined"} <= set(v)
        assert v["ci95"][0] <= v["ci68"][0] <= v["median"] <= v["ci68"][1] <= v["ci95"][1]
        assert isinstance(v["determined"], bool)
    assert set(doc["correlations"]) == set(FREE)
    diagnostics = doc["diagnostics"]
    assert {"acceptance", "autocorrelation_time_steps", "n_effective"} <= set(diagnostics)
    assert isinstance(diagnostics["convergence"]["converged"], bool)
    assert len(diagnostics["convergence"]["sd_ratio"]) == len(FREE)
    assert [i["nabs"] for i in doc["inputs"]] == [0.045, 0.09, 0.18]
    assert "hop_rate0_per_fs" in doc["not_inferred"]
    for name in ("infer.html", "figures/corner.png", "figures/predictive.png"):
        assert (out / name).stat().st_size > 0
    assert "determined" in stdout
    assert "split-half check: " in (out / "infer.html").read_text()
    # the output is never overwritten without --force
    code, _, err = run_cli(["infer", *results_series, "--out", out, "--steps", 300])
    assert code == 2 and "already exists" in err


@pytest.mark.parametrize("case", ["missing", "free", "nabs-count", "nabs-range", "not-json",
                                  "steps", "steps-huge", "window-late"])
def test_cli_bad_input_exits_2_with_one_line(run_cli, results_series, tmp_path, case):
    out = tmp_path / "never"
    args = ["infer", *results_series, "--out", out]
    if case == "missing":
        args = ["infer", tmp_path / "nothing.nc", "--out", out]
    elif case == "free":
        args += ["--free", "coupling_meV,hop_rate0_per_fs"]
    elif case == "nabs-count":
        args += ["--nabs", "0.045,0.09"]
    elif case == "nabs-range":
        args += ["--nabs", "0.045,0.09,-1"]
    elif case == "not-json":
        bad = tmp_path / "results.json"
        bad.write_text("{not json")
        args = ["infer", bad, "--out", out]
    elif case == "steps":
        args += ["--steps", "10"]
    elif case == "steps-huge":  # had ended in a MemoryError traceback
        args += ["--steps", "1000000000"]
    elif case == "window-late":  # past the band-like stage: a narrow, wrong posterior (or a hang)
        args += ["--window", "1e6"]
    code, _, err = run_cli(args)
    assert code == 2
    assert err.startswith("tamkit: error:") and err.count("\n") == 1, err
    assert not out.exists()
