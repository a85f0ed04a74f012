"""Series analyses on artificial stacks with a known fluence and composition dependence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tamkit.cli import main
from tamkit.io import save_stack
from tamkit.series.trends import composition_series, fluence_series, independence_time
from tamkit.testing.artificial import BandLikeTruth, spreading_gaussian_stack, tam_delays_fs
from tamkit.workflows.analysis import analyze

DELAYS = tam_delays_fs()
NABS = (0.045, 0.09, 0.18)
TAU_AUGER_FS = 2.0e4  # Auger-assisted excess builds up over ~20 ps


def fluence_truth(nabs: float) -> np.ndarray:
    """Band-like D falls with fluence and its MSD saturates after ~3 ps; an Auger-assisted
    excess grows with fluence over ~20 ps, then saturates; thermal hopping is the same for all."""
    t = np.clip(DELAYS, 0, None)
    band = BandLikeTruth(D_max_cm2_s=102.0 - 100.0 * (nabs - 0.045), alphas=(1.1, 0.3, 0.0),
                         second_break_fs=3e3).msd_nm2(DELAYS)
    excess = 6000.0 * (nabs - 0.045) / 0.135 * (1 - np.exp(-t / TAU_AUGER_FS))
    hopping = 2 * 1e-3 * t
    return band + excess + hopping


@pytest.fixture(scope="module")
def fluence_results():
    out = []
    for i, nabs in enumerate(NABS):
        stack, _ = spreading_gaussian_stack(DELAYS, fluence_truth(nabs), seed=20 + i,
                                            peak_snr=60, lifetime_fs=1e7)
        out.append(analyze(stack, n_bootstrap=60, anisotropy=False).result)
    return out


def test_fluence_series_trends(fluence_results):
    series = fluence_series(fluence_results, NABS, n_bootstrap=30)
    table = series.table()
    d = [row["D_max_cm2_s"] for row in table]
    assert d[0] > d[-1]  # 102 -> 88.5 cm^2/s in the truth, errors ~4
    ex = series.auger_excess
    # truth at 0.18 vs 0.045 over 1-100 ps: 6000 nm^2 of excess x (1 - exp(-t/20 ps)), on
    # average ~2,600 on the log-spaced delays, minus the band-like deficit (13 % of ~12,000)
    assert ex["excess_msd_nm2"] > 3 * ex["excess_msd_err_nm2"]
    assert 500 < ex["excess_msd_nm2"] < 3000
    # the excess saturates after a few Auger times: increments agree from ~50 ps on
    assert series.independence_time_fs is not None
    assert 1.5e4 < series.independence_time_fs < 3e5
    assert series.independence_time_err_fs is not None
    assert len(series.depletion) == 3


def test_independence_time_exact_cases():
    t = np.geomspace(1e3, 1e6, 40)
    base = 100 * t**0.3
    err = np.full((2, t.size), 30.0)
    same = np.vstack([base, base + 500.0])  # a constant offset only: independent from the start
    assert independence_time(t, same, err) == pytest.approx(t[0])
    growing = np.vstack([base, base + 0.5 * t**0.5])  # keeps diverging: never independent
    assert independence_time(t, growing, err) is None


def test_fluence_series_needs_one_stack_per_result(fluence_results):
    from tamkit.core.errors import InputError

    with pytest.raises(InputError):
        fluence_series(fluence_results, list(NABS), stacks=[None])


def test_composition_series_volcano(fluence_results):
    # reuse the three analyses as three "films": the longest band-like length wins
    series = composition_series(fluence_results, [0.0, 40.0, 60.0], [30.0, 18.0, 15.0])
    lengths = [row["length_nm"] for row in series.table()]
    assert series.volcano_maximum == [0.0, 40.0, 60.0][int(np.argmax(lengths))]
    assert series.table()[1]["sigma_inh_meV"] == 18.0


def test_series_cli(tmp_path, capsys):
    paths = []
    for i, nabs in enumerate((0.045, 0.18)):
        stack, _ = spreading_gaussian_stack(DELAYS, fluence_truth(nabs), seed=40 + i,
                                            peak_snr=60, lifetime_fs=1e7, shape=(32, 32),
                                            attrs={"nabs": nabs})
        p = tmp_path / f"film_{i}.nc"
        save_stack(stack, p)
        paths.append(str(p))
    out = tmp_path / "series"
    with pytest.raises(SystemExit) as exc:
        main(["series", *paths, "--out", str(out), "--pump-sigma", "120"])
    assert exc.value.code == 0
    summary = json.loads((out / "series.json").read_text())
    assert [row["value"] for row in summary["members"]] == [0.045, 0.18]
    # these stacks conserve their spot integral: no depletion is found, with a finite bound
    for dep in summary["depletion"]:
        assert dep["model"] == "none"
        assert all(v == 0 for v in dep["apparent_msd_nm2"])
        assert all(v is not None and v >= 0 for v in dep["apparent_msd_err_nm2"])
    assert "Auger-depletion artefact" in capsys.readouterr().out
    assert (out / "figures" / "msd_overlay.png").exists()
    assert (out / "film_0" / "results.json").exists()
    with pytest.raises(SystemExit) as exc:
        main(["series", paths[0], "--out", str(tmp_path / "other")])
    assert exc.value.code == 2
    assert "at least two" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["series", *paths, "--out", str(tmp_path / "other"), "--pump-sigma", "120",
              "--by", "composition", "--values", "0,40"])
    assert exc.value.code == 2
    assert "--pump-sigma" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["series", *paths, "--out", str(tmp_path / "other"), "--pump-sigma", "-5"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--pump-sigma" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "other").exists()


def test_series_of_stacks_sharing_a_file_name(tmp_path, capsys):
    """Two simulated films (tamkit simulate writes DIR/stack.nc each): one folder per stack,
    named after its folder; the same file given twice is refused; contents given as
    fractions are flagged."""
    paths = []
    for i, nabs in enumerate((0.045, 0.18)):
        stack, _ = spreading_gaussian_stack(DELAYS, fluence_truth(nabs), seed=50 + i,
                                            peak_snr=60, lifetime_fs=1e7, shape=(32, 32),
                                            attrs={"nabs": nabs})
        folder = tmp_path / f"film_{i}"
        folder.mkdir()
        save_stack(stack, folder / "stack.nc")
        paths.append(str(folder / "stack.nc"))
    out = tmp_path / "series"
    with pytest.raises(SystemExit) as exc:
        main(["series", *paths, "--out", str(out), "--by", "composition",
              "--values", "0.1,0.9"])
    assert exc.value.code == 0
    assert "give them in vol% (10, 90)" in capsys.readouterr().err
    assert "vol%" in json.loads((out / "series.json").read_text())["warnings"][0]
    for i in range(2):
        recorded = json.loads((out / f"film_{i}_stack" / "results.json").read_text())
        assert recorded["input"]["path"].endswith(f"film_{i}/stack.nc")
    assert "film_1_stack/report.html" in (out / "index.html").read_text()
    with pytest.raises(SystemExit) as exc:
        main(["series", paths[0], paths[0], "--out", str(tmp_path / "twice")])
    assert exc.value.code == 2 and not (tmp_path / "twice").exists()
