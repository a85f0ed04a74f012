"""Maps a physicist records must run cleanly: a step, NaN columns, one component, too many
components requested, a text matrix under any suffix; and the kernel and optimiser never crash."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tamkit.models.ta_kinetics import (
    artifact_basis_and_derivatives,
    exp_irf_basis,
    exp_irf_basis_and_derivatives,
)
from tamkit.sim.ta_map import multi_exponential_map
from tamkit.spectro.globalfit import global_fit
from tamkit.spectro.lm import levenberg_marquardt


def _map(lifetimes_fs, irf_fwhm_fs=100.0, step_fs=None, seed=5):
    wl = np.arange(500.0, 700.1, 5.0)
    if step_fs is None:
        delay = np.concatenate([np.arange(-2000.0, 3000.0, 40.0), np.geomspace(3000, 5e5, 50)])
    else:
        delay = np.arange(-5 * step_fs, 200 * step_fs, step_fs)
    centres = (560, 640, 600)
    das = np.stack([np.exp(-0.5 * ((wl - centres[k]) / 30) ** 2) * (-1) ** k
                    for k in range(len(lifetimes_fs))])
    tamap, _ = multi_exponential_map(delay, wl, lifetimes_fs, das, irf_fwhm_fs=irf_fwhm_fs,
                                     noise_std=0.003, seed=seed)
    return tamap


@pytest.mark.parametrize("sigma", [0.0, 1e-12, float("nan")])
def test_kernel_step_limit_without_division_by_zero(sigma):
    delay, t0 = np.array([-1.0, 0.0, 1.0, 2.0]), np.zeros(1)
    f = exp_irf_basis(delay, t0, np.array([1.0, 0.0]), sigma)[0]
    np.testing.assert_allclose(f[:, 0], [0, 0.5, np.exp(-1), np.exp(-2)], atol=1e-6)
    np.testing.assert_allclose(f[:, 1], [0, 0.5, 1, 1], atol=1e-6)
    for part in exp_irf_basis_and_derivatives(delay, t0, np.array([1.0]), sigma):
        assert np.all(np.isfinite(part))
    for part in artifact_basis_and_derivatives(delay, t0, sigma, 2):
        assert np.all(np.isfinite(part))


def test_optimiser_rejects_failing_and_non_finite_steps():
    def fun(x):
        if x[0] < 0.5:
            raise ZeroDivisionError("compiled code")
        if x[0] > 3.0:
            return np.array([np.nan])
        return np.array([x[0] - 2.0])

    sol = levenberg_marquardt(fun, lambda x: np.array([[1.0]]), [1.0], lam0=1e-6)
    assert sol.x[0] == pytest.approx(2.0, abs=1e-6)
    # a box: the minimum outside it ends on the bound
    sol = levenberg_marquardt(fun, lambda x: np.array([[1.0]]), [1.0], upper=[1.5])
    assert sol.x[0] == pytest.approx(1.5)
    bad = levenberg_marquardt(lambda x: np.array([np.inf]), lambda x: np.ones((1, 1)), [0.0])
    assert not bad.success


def test_step_map_fits_with_irf_at_its_floor():
    # one exponential of 20 ps recorded on a 1 ps grid with a 1 fs IRF: a step
    tamap = _map([20000.0], irf_fwhm_fs=1.0, step_fs=1000.0)
    fit = global_fit(tamap, 1, chirp_order=1)
    assert fit.success
    assert fit.lifetimes_fs[0] == pytest.approx(20000.0, rel=0.03)
    assert fit.irf_fwhm_fs < 300.0  # not resolved: an upper bound only


def test_step_map_cli(tmp_path, run_cli):
    tamap = _map([20000.0], irf_fwhm_fs=1.0, step_fs=1000.0)
    path = tmp_path / "step.csv"
    _write_csv(tamap, path)
    code, _, err = run_cli(["spectro", path, "--out", tmp_path / "o"])
    assert code == 0, err
    assert "Traceback" not in err


def _write_csv(tamap, path, sep=","):
    wl = tamap["wavelength"].values
    rows = [sep.join(["Time [ps]", *(f"{w:g}" for w in wl)])]
    for d, row in zip(tamap["delay"].values / 1e3, tamap.values, strict=True):
        rows.append(sep.join([f"{d:.6g}", *(f"{v:.6g}" for v in row)]))
    path.write_text("\n".join(rows) + "\n")


def test_nan_columns_and_pixels_masked_with_a_note(tmp_path, run_cli):
    tamap = _map([500.0, 20000.0])
    values = tamap.values.copy()
    values[:, 7] = np.nan  # a dead detector column
    values[40, 20] = np.nan  # one bad pixel
    # a KiMoPack-style .SIA: tab-separated, corner "Time [ps]"; read by content, not suffix
    path = tmp_path / "dead.SIA"
    _write_csv(tamap.copy(data=values), path, sep="\t")
    out = tmp_path / "o"
    code, _, err = run_cli(["spectro", path, "--components", "2", "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    assert any("dead wavelength" in n for n in data["notes"])
    assert any("isolated" in n for n in data["notes"])
    values = sorted(e["value"] for e in data["lifetimes_ps"] if e["value"] is not None)
    np.testing.assert_allclose(values, [0.5, 20.0], rtol=0.05)


def test_single_component_map_auto(tmp_path, run_cli):
    path = tmp_path / "one.csv"
    _write_csv(_map([5000.0]), path)
    out = tmp_path / "o"
    code, _, err = run_cli(["spectro", path, "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    ok = [e["value"] for e in data["lifetimes_ps"] if e["status"] == "ok"]
    assert ok and ok[0] == pytest.approx(5.0, rel=0.05)
    assert data["components"]["n_supported_by_fit"] == 1


def test_more_components_than_the_data_support(tmp_path, run_cli):
    path = tmp_path / "two.csv"
    _write_csv(_map([500.0, 20000.0]), path)
    out = tmp_path / "o"
    code, stdout, err = run_cli(["spectro", path, "--components", "6", "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    entries = data["lifetimes_ps"]
    assert len(entries) == 6
    # the extra components are reported with a status and a bound, never as plain numbers
    assert sum(e["status"] != "ok" for e in entries) >= 3
    for e in entries:
        assert (e["value"] is None) == (e["status"] != "ok")
        if e["status"] != "ok":
            assert any(k in e for k in ("upper_bound", "lower_bound", "range"))


def test_windows_and_exclusions(tmp_path, run_cli):
    path = tmp_path / "two.csv"
    _write_csv(_map([500.0, 20000.0]), path)
    out = tmp_path / "o"
    code, _, err = run_cli(["spectro", path, "--components", "2", "--wl-range", "520:690",
                            "--exclude", "595:605", "--exclude", "650:655",
                            "--delay-range", "-2:400", "--no-systematics", "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    das = (out / "das.csv").read_text().splitlines()[1:]
    wl = [float(r.split(",")[0]) for r in das]
    assert min(wl) >= 520 and max(wl) <= 690
    assert not [w for w in wl if 595 <= w <= 605 or 650 <= w <= 655]
    assert data["parameters"]["delay_window_fs"] == [-2000.0, 400000.0]
    note = next(n for n in data["notes"] if n.startswith("wavelengths excluded"))
    assert "595-605 nm (" in note and "650-655 nm (" in note and "outside" not in note
    for args, message in ((["--exclude", "500"], "NM:NM"), (["--delay-range", "1:1"], "delay"),
                          (["--wl-range", "100:200"], "no wavelength")):
        code, _, err = run_cli(["spectro", path, *args, "--out", tmp_path / "bad"])
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_zero_column_unsorted_delays_and_pure_noise_are_reported(tmp_path, run_cli):
    tamap = _map([500.0, 20000.0])
    values = tamap.values.copy()
    values[:, 11] = 0.0  # a dead channel written as zeros
    path = tmp_path / "shuffled.csv"
    order = np.random.default_rng(3).permutation(tamap.sizes["delay"])
    _write_csv(tamap.copy(data=values).isel(delay=order), path)
    out = tmp_path / "o"
    code, _, err = run_cli(["spectro", path, "--components", "2", "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    notes = " | ".join(data["notes"])
    assert "exactly 0 at every delay" in notes and "555 nm" in notes
    assert "not in increasing order" in notes
    assert "no signal above the noise" not in notes
    assert data["svd"]["structure_over_noise_edge"] > 10
    values = sorted(e["value"] for e in data["lifetimes_ps"] if e["value"] is not None)
    np.testing.assert_allclose(values, [0.5, 20.0], rtol=0.05)
    # the same grid holding white noise only: flagged, with the ratio in the JSON
    noise = tamap.copy(data=np.random.default_rng(4).normal(0, 1e-3, tamap.shape))
    path = tmp_path / "noise.csv"
    _write_csv(noise, path)
    out = tmp_path / "n"
    code, _, err = run_cli(["spectro", path, "--components", "1", "--out", out])
    assert code == 0, err
    data = json.loads((out / "spectro.json").read_text())
    assert any("no signal above the noise" in n for n in data["notes"])
    assert 0.9 < data["svd"]["structure_over_noise_edge"] < 1.1


def test_structure_ratio_of_white_noise_stays_below_the_threshold():
    # the threshold's margin: over 100 white-noise maps with a steady background the ratio
    # stays in ~0.94-1.03 (Marchenko-Pastur edge), well below NO_SIGNAL_EDGE_RATIO = 1.1,
    # while a decaying band of peak 1x the per-pixel noise already exceeds it
    from tamkit.core.tamap import make_tamap
    from tamkit.spectro.kinetics import NO_SIGNAL_EDGE_RATIO, structure_above_noise

    delay = np.concatenate([np.linspace(-2000, -200, 8), np.geomspace(50, 1e6, 80)])
    wl = np.linspace(450, 750, 150)
    ratios = []
    for seed in range(100):
        v = np.random.default_rng(seed).normal(0, 1.0, (delay.size, wl.size))
        ratios.append(structure_above_noise(make_tamap(v + 50 * np.sin(wl / 40), delay, wl)))
    assert max(ratios) < NO_SIGNAL_EDGE_RATIO - 0.04
    assert 0.95 < np.median(ratios) < 1.01
    band = np.exp(-((wl - 600) / 30) ** 2)[None] * np.exp(-np.clip(delay, 0, None) / 5e4)[:, None]
    v = np.random.default_rng(0).normal(0, 1.0, (delay.size, wl.size)) + band * (delay > 0)[:, None]
    assert structure_above_noise(make_tamap(v, delay, wl)) > NO_SIGNAL_EDGE_RATIO


def test_too_many_components_refused_with_the_reason(tmp_path, run_cli):
    path = tmp_path / "two.csv"
    _write_csv(_map([500.0, 20000.0]), path)
    code, _, err = run_cli(["spectro", path, "--components", "200", "--out", tmp_path / "o"])
    assert code == 2 and "at most 10" in err and "finite values" not in err
    assert not (tmp_path / "o").exists()


def test_exclusion_note_counts_what_each_band_removed():
    from tamkit.spectro.checks import exclusion_note

    wl_nm = np.arange(500.0, 701.0, 5.0)
    note = exclusion_note(wl_nm, [(595.0, 605.0), (1.5, 2.5)])  # the second one in eV
    assert note == ("wavelengths excluded: 595-605 nm (3 wavelengths), 1.5-2.5 nm "
                    "(0 wavelengths; outside the map's 500-700 nm)")
    overlapping = exclusion_note(wl_nm, [(595.0, 605.0), (600.0, 620.0)])
    assert overlapping.endswith("600-620 nm (5 wavelengths), 6 in all (the bands overlap)")


def test_delay_window_after_the_rise_is_refused_and_one_holding_it_runs():
    """A --delay-range that starts after time zero (1-10 ps) leaves no rise to place time zero,
    IRF and chirp: refused with the reason (it had put 20 ps of chirp on the map, or refused
    its own restart: 'IRF FWHM ... got 10366'). A window that holds the rise runs, with the IRF
    inside its bound (a tenth of the window)."""
    from tamkit.core.errors import InputError
    from tamkit.spectro.analysis import analyze_tamap

    tamap = _map([300.0, 5000.0, 80000.0])
    with pytest.raises(InputError, match="after the signal's rise"):
        analyze_tamap(tamap, None, delay_fs=(1000.0, 10000.0), systematics=False)
    analysis = analyze_tamap(tamap, None, delay_fs=(-1000.0, 10000.0), systematics=False)
    span_fs = np.ptp(analysis.tamap["delay"].values)
    assert analysis.fit.irf_sigma_fs <= span_fs / 10 * (1 + 1e-9)
    assert analysis.fit.irf_fwhm_fs == pytest.approx(100.0, rel=0.2)


def test_the_result_and_the_noise_do_not_depend_on_a_starting_irf_far_below_the_true_one():
    """Starting IRFs of 100, 10 and 1 fs on a 100 fs map: the same lifetimes, IRF and SVD
    noise. The spectra 'before time zero' (background, noise) end three rise widths before it,
    the rise measured on the map when the start is narrower (a 1 fs start had put the rising
    edge into the background and the noise, 8x too high, and the fit into a minimum with a
    spurious sub-IRF component)."""
    from tamkit.spectro.analysis import analyze_tamap

    tamap = _map([300.0, 5000.0, 80000.0], seed=8)
    runs = [analyze_tamap(tamap, None, irf_fwhm_fs=irf, systematics=False)
            for irf in (100.0, 10.0, 1.0)]
    for run in runs:
        assert list(run.fit.status) == ["ok"] * 3
        np.testing.assert_allclose(run.fit.lifetimes_fs, [300.0, 5000.0, 80000.0], rtol=0.05)
        assert run.fit.irf_fwhm_fs == pytest.approx(100.0, rel=0.05)
        # white noise 0.003: the pre-zero estimate is within a few % of it at any start
        assert run.svd["noise_std"] == pytest.approx(0.003, rel=0.1)
