"""`tamkit spectro` end to end; bad input: exit 2, one line on stderr, nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from spectro_data import HIPPIUS, need

from tamkit.sim.ta_map import simulated_ta_map_for_film
from tamkit.spectro.loading import save_tamap


@pytest.fixture(scope="module")
def film_map(tmp_path_factory):
    tamap, truth = simulated_ta_map_for_film("qdip40", seed=11)
    path = tmp_path_factory.mktemp("film") / "qdip40.nc"
    save_tamap(tamap, path)
    return path, truth


def test_spectro_writes_contract(film_map, tmp_path, run_cli):
    path, truth = film_map
    out = tmp_path / "res"
    code, stdout, err = run_cli(["spectro", path, "--components", "3", "--bleach", "850:980",
                                 "--donor", "540:590", "--acceptor", "840:990",
                                 "--reference", "650:690", "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    assert data["schema"] == "tamkit.spectro/1"
    for entry in data["lifetimes_ps"]:
        assert set(entry) >= {"value", "err", "status"}
    assert len(data["lifetimes_ps"]) == 3
    # the 2 ps decay/rise (injection 2 ps sets the perovskite decay) is among the lifetimes
    values = [e["value"] for e in data["lifetimes_ps"] if e["value"] is not None]
    assert min(abs(v - truth.lifetimes_fs[0] / 1e3) for v in values) < 0.1 * 2.0
    assert data["irf_fwhm_fs"] > 0 and data["chirp"]["coefficients_fs"]
    bleach = data["bleach"]
    assert set(bleach) >= {"delta_E_meV", "tau_ps", "sigma_inh_meV", "convention"}
    assert bleach["convention"].startswith("paper")
    assert bleach["delta_E_meV"] == pytest.approx(truth.delta_E_meV, abs=1.0)
    assert bleach["sigma_inh_meV"] == pytest.approx(truth.sigma_inh_meV, rel=0.05)
    assert data["injection"]["donor_tau_ps"] == pytest.approx(2.0, rel=0.03)
    for fig in ("ta_map.png", "kinetics.png", "das.png", "peak_shift.png", "injection.png"):
        assert (out / "figures" / fig).stat().st_size > 1000
    assert "σ_inh" in (out / "spectro.html").read_text()
    assert (out / "das.csv").read_text().startswith("wavelength_nm")
    assert "IRF FWHM" in stdout
    ref = data["injection"]["reference"]
    assert "reference band 650-690 nm" in stdout  # the --reference result is printed
    assert ("no rise" in stdout) == (not ref["rises"])
    # an existing output is not overwritten without --force
    code, _, err = run_cli(["spectro", path, "--components", "1", "--out", out])
    assert code == 2 and "--force" in err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--bleach", "900"], "NM:NM"),
        (["--bleach", "900:900"], "different"),
        (["--temperature", "-3"], "temperature"),
        (["--convention", "other"], "convention"),
        (["--donor", "540:590"], "donor and an acceptor"),
        (["--components", "0"], "at least 1"),
        (["--artifact", "7"], "artifact"),
    ],
)
def test_bad_arguments_exit_2_and_leave_nothing(film_map, tmp_path, args, message, run_cli):
    path, _ = film_map
    out = tmp_path / "never"
    code, _, err = run_cli(["spectro", path, "--out", out, *args])
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]


def test_bad_files_exit_2(tmp_path, run_cli):
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a\nmap,at all\n")
    code, _, err = run_cli(["spectro", bad, "--out", tmp_path / "o"])
    assert code == 2 and "bad.csv" in err
    code, _, err = run_cli(["spectro", tmp_path / "missing.ascii"])
    assert code == 2 and "does not exist" in err


def test_hippius_map_end_to_end(tmp_path, run_cli):
    out = tmp_path / "hippius"
    code, _, err = run_cli(["spectro", need(HIPPIUS), "--components", "4", "--out", out])
    assert code == 0, err
    data = json.loads(Path(out / "spectro.json").read_text())
    statuses = [e["status"] for e in data["lifetimes_ps"]]
    assert statuses[0] == "below_irf" and data["lifetimes_ps"][0]["value"] is None
    # reported once: in its lifetime row (status and bound), not again as a note
    assert data["lifetimes_ps"][0]["upper_bound"] > 0
    assert not any("faster than the instrument response" in n for n in data["notes"])
    assert np.all([e["value"] > 0 for e in data["lifetimes_ps"][1:]])
    # the default background subtraction moves the fastest stable lifetime by ~12 % (1.85 ps
    # without, pyglotaran's choice): the page shows it beside the statistical error
    syst = data["lifetimes_ps"][1]["systematic"]
    assert syst is not None and "background" in syst["source"]
    assert 0.08 < syst["relative"] < 0.2
    assert "syst" in (out / "spectro.html").read_text()


def test_digits_written_do_not_change_the_component_choice(tmp_path, run_cli):
    # the KiMoPack Ru-dppz map (every 2nd delay, 8th wavelength) written with 6 and with 17
    # significant digits (difference 5e-8, noise 3.6e-3): before, the 6-digit map's
    # 2-component fit stopped short and ended the search at 1 component instead of 3
    from spectro_data import RU_ACN

    raw = np.genfromtxt(need(RU_ACN), delimiter="\t")
    wl, delay_ps, values = raw[0, 1:][::8], raw[1:, 0][::2], raw[1:, 1:][::2, ::8]
    chosen = []
    for digits in (6, 17):
        path = tmp_path / f"ru_{digits}.SIA"
        fmt = f"%.{digits}g"
        rows = ["Time [ps]\t" + "\t".join(fmt % x for x in wl)]
        rows += [fmt % t + "\t" + "\t".join(fmt % x for x in row)
                 for t, row in zip(delay_ps, values, strict=True)]
        path.write_text("\n".join(rows) + "\n")
        code, _, err = run_cli(["spectro", path, "--out", tmp_path / f"out{digits}"])
        assert code == 0, err
        result = json.loads((tmp_path / f"out{digits}" / "spectro.json").read_text())
        chosen.append((result["components"]["n_used"],
                       [e["value"] for e in result["lifetimes_ps"] if e["status"] == "ok"]))
    assert chosen[0][0] == chosen[1][0] == 3
    np.testing.assert_allclose(chosen[0][1], chosen[1][1], rtol=1e-3)


def test_reduced_chi2_is_noise_normalised_in_json_and_console(tmp_path, run_cli):
    """A 3-exponential map with white noise 1e-3 fitted by the true model: RSS / (σ² (N − p))
    is near 1 in spectro.json and on the console alike (the JSON once held RSS / (N − p),
    1e-6, under the same name)."""
    from tamkit.sim.ta_map import default_delays_fs, multi_exponential_map

    wl = np.arange(450.0, 750.1, 4.0)

    def band(centre, width):
        return np.exp(-0.5 * ((wl - centre) / width) ** 2)

    das = np.array([band(520, 20) - 0.5 * band(650, 30), band(600, 25), 0.5 * band(700, 20)])
    tamap, _ = multi_exponential_map(default_delays_fs(), wl, [300.0, 5000.0, 80000.0], das,
                                     noise_std=1e-3, seed=5)
    path = tmp_path / "three.nc"
    save_tamap(tamap, path)
    code, stdout, err = run_cli(["spectro", path, "--components", "3", "--no-systematics",
                                 "--out", tmp_path / "res"])
    assert code == 0, err
    fit = json.loads((tmp_path / "res" / "spectro.json").read_text())["fit"]
    # N ~ 1.5e4 residuals: chi2 scatters by sqrt(2/N) ~ 1 %; the SVD noise estimate by a few %
    assert fit["chi2_reduced"] == pytest.approx(1.0, abs=0.1)
    assert fit["rss_per_dof"] == pytest.approx(1e-6, rel=0.1)
    assert f"{fit['chi2_reduced']:.3g}" in " ".join(stdout.split())
