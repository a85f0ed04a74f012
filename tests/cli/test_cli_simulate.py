"""`tamkit simulate`: files written, readable by the analysis, never overwritten, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tamkit.cli import main
from tamkit.io import load, load_stack


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "cqd"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--film", "cqd", "--nabs", "0.045", "--runs", "2", "--spots", "1",
              "--seed", "7", "--out", str(out)])
    assert exc.value.code == 0
    return out


def test_simulate_writes_stack_and_truth(simulated):
    assert sorted(p.name for p in simulated.iterdir()) == ["stack.nc", "truth.json"]
    truth = json.loads((simulated / "truth.json").read_text())
    assert truth["schema"] == "tamkit.truth/1"
    assert truth["parameters"]["nabs"] == 0.045 and truth["parameters"]["seed"] == 7
    assert truth["parameters"]["n_runs"] == 2 and truth["band_like"]["D_max_cm2_s"] > 0
    raw = load_stack(simulated / "stack.nc")
    assert raw.dims == ("spot", "run", "chopper", "delay", "y", "x")
    # what `tamkit analyze` reads: dT/T with delays and pixel size from the file alone
    stack = load(simulated / "stack.nc")
    assert stack.dims == ("delay", "y", "x")
    np.testing.assert_allclose(stack["delay"].values, truth["delay_fs"])
    assert stack.attrs["pixel_nm"] == pytest.approx(16_000 / 288)
    centre = stack.sel(delay=300.0, method="nearest").values[14:18, 14:18]
    assert centre.mean() < 0  # the PIA band: negative dT/T


def test_simulate_refuses_to_overwrite_without_force(simulated, run_cli):
    before = (simulated / "truth.json").read_text()
    code, _, err = run_cli(["simulate", "--out", simulated])
    assert code == 2
    assert "already exists" in err and len(err.strip().splitlines()) == 1
    assert (simulated / "truth.json").read_text() == before


def test_simulate_tif_format_and_force(tmp_path, run_cli):
    out = tmp_path / "tif"
    out.mkdir()
    (out / "truth.json").write_text("{}")  # an earlier simulation's
    code, stdout, _ = run_cli(["simulate", "--film", "qdip90", "--nabs", "0.09", "--runs", "1",
                               "--spots", "1", "--format", "tif", "--out", out, "--force"])
    assert code == 0 and "band-like: none" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["stack.tif", "truth.json"]
    assert load(out / "stack.tif").attrs["pixel_nm"] == pytest.approx(16_000 / 288)


@pytest.mark.parametrize(
    "args",
    [
        ["--film", "nosuchfilm"],
        ["--nabs", "0"],
        ["--nabs", "-1"],
        ["--nabs", "9"],
        ["--nabs", "abc"],
        ["--format", "png"],
        ["--runs", "0"],
        ["--seed", "-3"],
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(args, tmp_path, run_cli):
    out = tmp_path / "never"
    code, _, err = run_cli(["simulate", *args, "--out", out])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("tamkit: error:")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no partial folder left either


def test_bad_toml_film_is_an_input_error(tmp_path, run_cli):
    bad = tmp_path / "bad.toml"
    bad.write_text("sigma_inh_meV = [unclosed\n")
    out = tmp_path / "never"
    code, _, err = run_cli(["simulate", "--film", bad, "--out", out])
    assert code == 2 and "bad.toml" in err
    assert not out.exists()
