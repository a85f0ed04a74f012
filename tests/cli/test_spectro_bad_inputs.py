"""`tamkit spectro` on bad input (the robustness fuzz cases): exit 2, one line on stderr, no
traceback and nothing written; maps that are merely small or laid out unusually still run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tamkit.core.errors import InputError
from tamkit.sim.ta_map import multi_exponential_map

WL_NM = np.arange(500.0, 700.1, 10.0)
DELAY_FS = np.concatenate([np.arange(-2000.0, 3000.0, 100.0), np.geomspace(3000, 2e5, 20)])


def _map(wl_nm=WL_NM):
    tamap, _ = multi_exponential_map(DELAY_FS, wl_nm, [800.0, 20000.0], _das(wl_nm),
                                     irf_fwhm_fs=100.0, noise_std=0.003, seed=2)
    return tamap


def _das(wl_nm=WL_NM):
    return np.stack([np.exp(-0.5 * ((wl_nm - 560) / 30) ** 2),
                     -np.exp(-0.5 * ((wl_nm - 640) / 30) ** 2)])


def _write(values, path, wl_nm=WL_NM, sep="\t", decimal=".", fmt="{:.6g}", delay_ps=None):
    """A KiMoPack-style matrix: delays (ps) down the first column, wavelengths along row 0."""
    def cell(v):
        return fmt.format(v).replace(".", decimal)

    rows = [sep.join(["Time in ps", *(cell(w) for w in wl_nm)])]
    rows += [sep.join([cell(d), *(cell(v) for v in row)])
             for d, row in zip(DELAY_FS / 1e3 if delay_ps is None else delay_ps, values,
                               strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def map_file(tmp_path_factory):
    return _write(_map().values, tmp_path_factory.mktemp("map") / "map.SIA")


def _one_line_exit_2(code: int, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("tamkit: error: "), err
    assert "Traceback" not in err and "Warning" not in err
    return lines[0]


def _refused(run_cli, tmp_path, args) -> str:
    out = tmp_path / "never"
    code, _, err = run_cli(["spectro", *args, "--out", out])
    line = _one_line_exit_2(code, err)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]
    return line


def test_constant_map_is_refused_as_holding_no_kinetics(tmp_path, run_cli):
    # T1: 1e-3 everywhere gave NaN in the chirp estimate and a scipy traceback
    path = _write(np.full((DELAY_FS.size, WL_NM.size), 1e-3), tmp_path / "const.SIA")
    assert "no kinetics" in _refused(run_cli, tmp_path, [path, "--no-systematics"])


def test_map_zero_but_at_one_pixel_is_refused(tmp_path, run_cli):
    # one live pixel was fitted exactly (RSS 1e-30) and reported as a decay
    values = np.zeros((DELAY_FS.size, WL_NM.size))
    values[DELAY_FS.size // 2, 3] = 1e-3
    path = _write(values, tmp_path / "onepix.SIA")
    assert "exactly 0 at all but 1 of its" in _refused(run_cli, tmp_path,
                                                       [path, "--no-systematics"])


def test_chirp_correction_leaving_too_few_delays_falls_back(tmp_path, run_cli):
    # five delays of a fuzzing map (-1, 0, 1, 2, 90 ps): the global fit ran, but its chirp
    # correction kept 3 delays and the SVD step refused the map with "needs at least 5
    # delays, got 3", counting delays nobody gave
    delay_fs = np.concatenate([np.arange(-1000.0, 2000.0, 50.0), np.geomspace(2000, 5e5, 30)])
    wl_nm = np.linspace(500, 700, 60)
    das = np.stack([np.exp(-(wl_nm - 560) ** 2 / (2 * 15**2)),
                    -0.6 * np.exp(-(wl_nm - 640) ** 2 / (2 * 20**2))]) * 1e-3
    tamap, _ = multi_exponential_map(delay_fs, wl_nm, [3000.0, 80000.0], das, noise_std=1e-5,
                                     seed=1)
    rows = [0, 20, 40, 60, 80]
    path = _write(tamap.values[rows], tmp_path / "five.SIA", wl_nm=wl_nm,
                  delay_ps=delay_fs[rows] / 1e3)
    out = tmp_path / "o"
    code, _, err = run_cli(["spectro", path, "--no-systematics", "--out", out])
    assert code == 0, err
    notes = json.loads((out / "spectro.json").read_text())["notes"]
    assert any("the chirp correction leaves 3 of 5 delays" in n for n in notes), notes


def test_one_wavelength_window_fits_with_chirp_order_0(map_file, tmp_path, run_cli):
    # T2: one wavelength in --wl-range made the chirp estimate's SVD fail (NaN weights)
    out = tmp_path / "o"
    code, _, err = run_cli(["spectro", map_file, "--wl-range", "555:565", "--components", "1",
                            "--no-systematics", "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    assert data["parameters"]["chirp_order"] == 0
    assert any("chirp polynomial is of order 0" in n for n in data["notes"])


def test_one_wavelength_chirp_estimate_is_finite():
    from tamkit.spectro.corrections import estimate_chirp

    est = estimate_chirp(_map().isel(wavelength=[6]), order=3)
    assert np.all(np.isfinite(est.coeffs_fs))


def test_linear_algebra_failure_is_an_input_error(monkeypatch):
    from tamkit.core.errors import InputError
    from tamkit.spectro import analysis

    def fail(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(analysis, "estimate_chirp", fail)
    with pytest.raises(InputError, match="SVD did not converge.*too small or degenerate"):
        analysis.analyze_tamap(_map(), 1, systematics=False)


def test_delay_window_with_too_few_delays_says_how_many(tmp_path, run_cli):
    # T3: a zero-size reduction in the multistart once the chirp correction had cut the delays
    # of a short window (here 0-1 ps, 11 delays, against ~0.9 ps of chirp)
    das = np.exp(-0.5 * ((WL_NM - 600) / 40) ** 2)[None]
    tamap, _ = multi_exponential_map(DELAY_FS, WL_NM, [5000.0], das, gvd_fs_um2=3000.0,
                                     noise_std=0.003, seed=2)
    path = _write(tamap.values, tmp_path / "chirped.SIA")
    line = _refused(run_cli, tmp_path, [path, "--delay-range", "0:1", "--no-systematics"])
    assert "of the 11 delays are measured at every wavelength" in line
    assert "need at least 3" in line


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "0", "-5", "1e9"])
def test_irf_must_be_positive_finite_and_below_the_delay_span(map_file, tmp_path, run_cli,
                                                              value):
    # T4: --irf inf overflowed the multistart's random draws
    assert "--irf" in _refused(run_cli, tmp_path, [map_file, "--irf", value])


def test_complex_map_is_refused(tmp_path, run_cli):
    # W5: the imaginary part had been dropped silently
    tamap = _map()
    path = tmp_path / "complex.npz"
    np.savez(path, wl=WL_NM, t=DELAY_FS / 1e3, data=tamap.values.astype(complex))
    assert "complex" in _refused(run_cli, tmp_path, [path])


@pytest.mark.parametrize("value", ["1e-300", "inf", "nan", "1e5"])
def test_temperature_checked_like_analyze(map_file, tmp_path, run_cli, value):
    # W7: 1e-300 K gave sigma_inh 2e-150 meV; inf was accepted
    assert "--temperature" in _refused(run_cli, tmp_path,
                                       [map_file, "--bleach", "540:600", "--temperature", value])


@pytest.mark.parametrize("acceptor", ["540:590", "580:620", "560:570"])
def test_overlapping_donor_and_acceptor_refused(map_file, tmp_path, run_cli, acceptor):
    # W8: identical bands gave the verdict "differ (z = n/a)"
    line = _refused(run_cli, tmp_path, [map_file, "--donor", "540:590", "--acceptor", acceptor])
    assert "overlap" in line


def test_components_beyond_the_wavelengths_refused_and_auto_capped(tmp_path, run_cli):
    # W9: a map of 2 wavelengths had been given 4 "determined" components
    wl = np.array([560.0, 640.0])
    path = _write(_map(wl).values, tmp_path / "two.SIA", wl_nm=wl)
    line = _refused(run_cli, tmp_path, [path, "--components", "3"])
    assert "exceeds the 2 wavelength" in line
    from tamkit.spectro.analysis import analyze_tamap

    analysis = analyze_tamap(_map(wl), systematics=False)
    assert len(analysis.fit.lifetimes_fs) <= 2
    assert max(row["n"] for row in analysis.comparison) <= 2


@pytest.mark.filterwarnings("error::UserWarning")
def test_empty_file_gives_one_line_without_a_warning(tmp_path, run_cli):
    # U2: genfromtxt's UserWarning printed two lines before the error
    path = tmp_path / "empty.SIA"
    path.write_text("")
    assert "empty" in _refused(run_cli, tmp_path, [path])


@pytest.mark.parametrize("value", ["inf", "1e400", "nan"])
def test_delay_offset_must_be_finite(map_file, tmp_path, run_cli, value):
    # U3: RuntimeWarnings before "delays contain NaN"
    assert "--delay-offset" in _refused(run_cli, tmp_path, [map_file, "--delay-offset", value])


@pytest.mark.parametrize("sep,decimal", [(";", "."), (" ", "."), (";", ","), ("\t", ","),
                                         (" ", ","), (",", ".")])
def test_separators_and_decimal_commas_recognised(tmp_path, sep, decimal):
    # U7: semicolons, spaces and decimal commas gave "Line #2 (got 1 columns instead of 3)"
    from tamkit.spectro.loading import load_tamap

    tamap = _map()
    got = load_tamap(_write(tamap.values, tmp_path / "m.txt", sep=sep, decimal=decimal,
                            fmt="{:.17g}"))
    np.testing.assert_array_equal(got.values, tamap.values)
    np.testing.assert_allclose(got["delay"].values, DELAY_FS)
    np.testing.assert_array_equal(got["wavelength"].values, WL_NM)


def test_ragged_text_file_says_which_line(tmp_path, run_cli):
    path = tmp_path / "ragged.csv"
    path.write_text("Time;500;600;700\n-1;0.1;0.2;0.3\n0;0.1;0.2\n1;0.1;0.2;0.3\n")
    line = _refused(run_cli, tmp_path, [path])
    assert "line 3 holds 3 value(s)" in line and "line 2 holds 4" in line


@pytest.mark.parametrize("args,message", [
    (["--delay-unit", ""], "delay unit"),
    (["--exclude", "1e400:500"], "finite"),
    (["--bleach", "900:1000"], "--bleach band 900-1000 nm holds 0"),
    (["--bleach", "555:565"], "needs at least 5"),
    (["--donor", "900:950", "--acceptor", "540:590"], "--donor band"),
])
def test_cosmetic_option_checks_before_any_fit(map_file, tmp_path, run_cli, args, message):
    # --delay-unit "" had been read as ps, 1e400 shown as "500-inf nm", and a band outside the
    # map refused only after the fits (31 s)
    assert message in _refused(run_cli, tmp_path, [map_file, *args])


@pytest.mark.parametrize("value", ["1e300", "-1e6"])
def test_delay_offset_far_outside_the_delays_is_refused(map_file, tmp_path, run_cli, value):
    # 1e300 collapsed every delay into one and was reported as a "duplicate delay"
    message = _refused(run_cli, tmp_path, [map_file, "--delay-offset", value])
    assert "puts time zero farther outside the recorded delays" in message


def test_delay_offset_inside_the_delays_is_applied():
    from tamkit.spectro.loading import _check_offset

    delays_ps = np.array([-1.0, 0.0, 1.0, 10.0])
    for offset in (0.3, -1.0, 10.0, -11.0, 21.0):  # inside, at the ends, one span outside
        _check_offset(delays_ps, offset, "ps")
    with pytest.raises(InputError, match="farther outside"):
        _check_offset(delays_ps, 21.5, "ps")


def test_delays_in_ns_read_as_the_default_ps_get_the_unit_hint(tmp_path, run_cli):
    """Delays in ns in an .npz (skultrafast's layout) read as the default ps: a 0.2 ps "span"
    runs with a note pointing to --delay-unit, a 51 fs one (shorter than the IRF) is refused
    with it; the same delays under a 'Time in ps' label (the file names its unit) get none."""
    values = _map().values
    delay_ns = DELAY_FS / 1e6
    np.savez(tmp_path / "ns.npz", t=delay_ns, wl=WL_NM, data=values)
    code, out, err = run_cli(["spectro", tmp_path / "ns.npz", "--out", tmp_path / "o"])
    assert code == 0 and "--delay-unit" in " ".join(err.split()), err
    np.savez(tmp_path / "short.npz", t=delay_ns / 4, wl=WL_NM, data=values)
    code, _, err = run_cli(["spectro", tmp_path / "short.npz", "--out", tmp_path / "o1"])
    assert code == 2 and err.count("\n") == 1 and "--delay-unit" in err, err
    labelled = _write(values, tmp_path / "ps.txt", delay_ps=delay_ns)
    code, _, err = run_cli(["spectro", labelled, "--out", tmp_path / "o2"])
    assert "--delay-unit" not in " ".join(err.split()), err
    assert not (tmp_path / "o1").exists()
