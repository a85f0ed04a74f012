"""Loading TA maps: every format round-trips; bad input raises InputError with a reason."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from spectro_data import HIPPIUS, need

from tamkit.core.errors import InputError
from tamkit.core.tamap import band_trace, make_tamap, validate_tamap
from tamkit.spectro.loading import load_tamap, save_tamap


@pytest.fixture
def small_map():
    rng = np.random.default_rng(0)
    delay_ps = np.array([-1.0, -0.5, 0.0, 0.1, 0.5, 1.0, 5.0, 20.0])
    wl = np.linspace(450.0, 700.0, 6)
    return make_tamap(rng.normal(size=(8, 6)), delay_ps * 1e3, wl)


def _matrix(tamap, delay_rows=True):
    d = tamap["delay"].values / 1e3
    wl = tamap["wavelength"].values
    if delay_rows:
        return np.block([[np.zeros((1, 1)), wl[None]], [d[:, None], tamap.values]])
    return np.block([[np.zeros((1, 1)), d[None]], [wl[:, None], tamap.values.T]])


@pytest.mark.parametrize("delay_rows", [True, False])
@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t"), (".txt", " ")])
def test_text_matrix_round_trip_both_orientations(tmp_path, small_map, delay_rows, suffix, sep):
    path = tmp_path / f"map{suffix}"
    np.savetxt(path, _matrix(small_map, delay_rows), delimiter=sep)
    got = load_tamap(path)
    xr.testing.assert_allclose(got.drop_attrs(), small_map.drop_attrs())


def test_npy_and_npz_round_trip(tmp_path, small_map):
    np.save(tmp_path / "m.npy", _matrix(small_map))
    xr.testing.assert_allclose(load_tamap(tmp_path / "m.npy").drop_attrs(),
                               small_map.drop_attrs())
    np.savez(tmp_path / "m.npz", data=small_map.values.T, t=small_map["delay"].values / 1e6,
             wl=small_map["wavelength"].values)  # transposed data, delays in ns
    got = load_tamap(tmp_path / "m.npz", delay_unit="ns")
    xr.testing.assert_allclose(got.drop_attrs(), small_map.drop_attrs())


def _row(values) -> str:
    return "\t".join(f"{v:.17g}" for v in values)


def test_glotaran_time_and_wavelength_explicit(tmp_path, small_map):
    d = small_map["delay"].values / 1e3
    wl = small_map["wavelength"].values
    lines = ["Header", "file", "Time explicit", f"intervalnr {d.size}",
             "\t" + "\t".join(map(str, d))]
    lines += [f"{w}\t" + _row(r) for w, r in zip(wl, small_map.values.T, strict=True)]
    (tmp_path / "t.ascii").write_text("\n".join(lines) + "\n")
    xr.testing.assert_allclose(load_tamap(tmp_path / "t.ascii").drop_attrs(),
                               small_map.drop_attrs())
    lines = ["Header", "file", "Wavelength explicit", f"intervalnr {wl.size}",
             "\t" + "\t".join(map(str, wl))]
    lines += [f"{t}\t" + _row(r) for t, r in zip(d, small_map.values, strict=True)]
    (tmp_path / "w.ascii").write_text("\n".join(lines) + "\n")
    xr.testing.assert_allclose(load_tamap(tmp_path / "w.ascii").drop_attrs(),
                               small_map.drop_attrs())


def test_netcdf_round_trip_keeps_attrs(tmp_path, small_map):
    small_map.attrs["temperature_K"] = 295.0
    save_tamap(small_map, tmp_path / "m.nc")
    got = load_tamap(tmp_path / "m.nc")
    xr.testing.assert_identical(got, small_map)


def test_decreasing_wavelengths_are_sorted():
    m = make_tamap(np.arange(10.0).reshape(5, 2), np.arange(5.0), [700.0, 500.0])
    assert list(m["wavelength"].values) == [500.0, 700.0]
    assert list(m.sel(wavelength=500.0).values) == [1.0, 3.0, 5.0, 7.0, 9.0]


@pytest.mark.parametrize(
    "content,message",
    [
        ("Header\nx\nTime explicit\nintervalnr 3\n1 2 3\n500 1 2\n", "disagree"),
        ("Header\nx\nTime explicit\n1 2 3\n", "intervalnr"),
        ("a,b\nc,d\n", "matrix"),
    ],
)
def test_bad_text_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_tamap(path)


def test_bad_inputs(tmp_path, small_map):
    with pytest.raises(InputError, match="does not exist"):
        load_tamap(tmp_path / "none.csv")
    (tmp_path / "x.xyz").write_text("1")
    with pytest.raises(InputError, match="2-D matrix"):
        load_tamap(tmp_path / "x.xyz")
    (tmp_path / "x.bin").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="neither text"):
        load_tamap(tmp_path / "x.bin")
    with pytest.raises(InputError, match="delay unit"):
        load_tamap(tmp_path / "x.xyz", delay_unit="hours")
    np.savez(tmp_path / "e.npz", foo=np.zeros(3))
    with pytest.raises(InputError, match="2-D data array"):
        load_tamap(tmp_path / "e.npz")
    # both axes look like wavelengths: the orientation cannot be guessed
    ambiguous = np.block([[np.zeros((1, 1)), np.array([[500.0, 600.0, 700.0]])],
                          [np.array([[400.0], [450.0], [480.0], [490.0], [495.0]]),
                           np.ones((5, 3))]])
    np.savetxt(tmp_path / "amb.csv", ambiguous, delimiter=",")
    with pytest.raises(InputError, match="orientation"):
        load_tamap(tmp_path / "amb.csv")
    assert load_tamap(tmp_path / "amb.csv", orientation="delay_rows").sizes["delay"] == 5
    with pytest.raises(InputError, match="duplicate delay"):
        make_tamap(np.zeros((5, 2)), [0, 1, 1, 2, 3], [500, 600])
    with pytest.raises(InputError, match="dims"):
        validate_tamap(small_map.T)
    with pytest.raises(InputError, match="outside"):
        band_trace(small_map, (900, 950))


def test_real_glotaran_file_loads():
    m = load_tamap(need(HIPPIUS))
    assert m.shape == (335, 346)
    # README: delays in ps from about -0.001 to 910; wavelengths 378-854 nm
    assert m["delay"].values[0] == pytest.approx(-0.95)
    assert m["delay"].values[-1] == pytest.approx(910e3, rel=0.01)
    assert 377 < m["wavelength"].values[0] < 379 and 853 < m["wavelength"].values[-1] < 855


def test_real_npz_loads(skultrafast_map):
    m = skultrafast_map
    assert m.shape == (409, 800)
    assert m["delay"].values[0] == pytest.approx(-3000.0)  # t = -1 ps stage, minus 2 ps offset
    assert 479 < m["wavelength"].values[0] < 480


def test_missing_real_data_skips_with_reason(tmp_path):
    # where ../shared/data is absent (a user's clone), the real-data tests skip, saying why
    with pytest.raises(pytest.skip.Exception, match="not available"):
        need(tmp_path / "absent.ascii")


@pytest.mark.parametrize("values, delays, message", [
    (0.0, 1.0, "zero at every delay"),
    (1e-300, 1.0, "rescale the data"),
    (1e300, 1.0, "rescale the data"),
    (1.0, 1e300, "beyond one second"),
])
def test_maps_without_usable_values_or_delays_are_refused(values, delays, message):
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match=message):
        make_tamap(values * (1.0 + rng.random((6, 4))), np.arange(-1.0, 5.0) * delays,
                   [500.0, 550.0, 600.0, 650.0])


@pytest.mark.parametrize(("first_row", "reason"), [
    ("600,598.74,598.74,597", "598.74 repeated"),
    ("600,590,610,580", "not monotonic"),
    ("-550,-450,-350,-250", "outside 100-30,000 nm"),
])
def test_unreadable_axes_say_why_and_orientation_overrides(tmp_path, first_row, reason, run_cli):
    delays = [-2, 0, 1, 2, 5, 10, 1000]
    rows = ["0," + first_row] + [f"{d}," + ",".join(f"{0.1 * (i + 1):g}" for i in range(4))
                                 for d in delays]
    path = tmp_path / "map.txt"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=f"first row: [^;]*{reason}.*--orientation"):
        load_tamap(path)
    # with the layout given, the wavelength axis' own check speaks
    code, _, err = run_cli(["spectro", path, "--orientation", "delay_rows",
                            "--out", tmp_path / "o"])
    assert code == 2 and "cannot tell" not in err
    assert ("duplicate wavelength" in err or "not in increasing order" in err
            or "must be positive" in err), err

@pytest.mark.parametrize(("label", "factor"), [("Time in fs", 1.0), ("Time [ps]", 1e3),
                                               ("Time (ns)", 1e6), ("delay/us", 1e9),
                                               ("", 1e3)])
def test_a_corner_label_gives_the_delay_unit(tmp_path, label, factor):
    # before: "Time in fs" was read as ps: lifetimes 1000x, IRF 100 ps (fuzzing, 2026-12-03)

    delay = np.array([-1.0, 0.0, 1.0, 2.0, 5.0, 10.0])
    wl = np.array([500.0, 510.0, 520.0])
    lines = [label + "\t" + "\t".join(f"{w:g}" for w in wl)]
    lines += [f"{d:g}\t" + "\t".join(f"{v:g}" for v in (i + 1.0) * np.ones(3))
              for i, d in enumerate(delay)]
    path = tmp_path / "map.txt"
    path.write_text("\n".join(lines) + "\n")
    np.testing.assert_allclose(load_tamap(path)["delay"].values, delay * factor)
    if label:
        unit = {1.0: "fs", 1e3: "ps", 1e6: "ns", 1e9: "us"}[factor]
        other = "fs" if unit != "fs" else "ps"
        with pytest.raises(InputError, match=f"corner label says the delays are in {unit}"):
            load_tamap(path, delay_unit=other)
        np.testing.assert_allclose(load_tamap(path, delay_unit=unit)["delay"].values,
                                   delay * factor)


def test_a_square_npz_map_needs_its_orientation(tmp_path):
    # before: a (wavelength, delay) square map was read as (delay, wavelength), silently: the
    # lifetimes came out 0.70 and 38 ps for 3 and 80 (fuzzing, 2026-12-03)
    rng = np.random.default_rng(0)
    delay, wl = np.linspace(-1.0, 10.0, 6), np.linspace(500.0, 600.0, 6)
    values = rng.normal(size=(6, 6))
    np.savez(tmp_path / "sq.npz", data=values.T, t=delay, wl=wl)
    with pytest.raises(InputError, match="the map is square"):
        load_tamap(tmp_path / "sq.npz")
    back = load_tamap(tmp_path / "sq.npz", orientation="wavelength_rows")
    np.testing.assert_array_equal(back.values, values)
    np.testing.assert_array_equal(load_tamap(tmp_path / "sq.npz", orientation="delay_rows").values,
                                  values.T)


def test_a_wavenumber_axis_is_converted_to_nm(tmp_path):
    # before: 'wn' (cm^-1, 2100-1500) was taken as nm
    wn = np.linspace(2100.0, 1500.0, 5)
    np.savez(tmp_path / "ir.npz", data=np.ones((6, 5)), t=np.arange(6.0), wn=wn)
    back = load_tamap(tmp_path / "ir.npz")
    np.testing.assert_allclose(np.sort(back["wavelength"].values), np.sort(1e7 / wn))


@pytest.mark.parametrize("layout", ["trailing_comma", "trailing_tab", "percent_comments"])
def test_spreadsheet_and_matlab_text_maps_are_read(tmp_path, layout):
    # before: "the delay or wavelength axis has missing values" (a separator ending every
    # line) and "line 3 holds 4 values, but line 2 holds 1" (a % comment line)
    delay, wl = np.array([-1.0, 0.0, 1.0, 2.0, 5.0, 10.0]), np.array([500.0, 510.0, 520.0])
    sep = "\t" if layout == "trailing_tab" else ","
    rows = [sep.join(["t"] + [f"{w:g}" for w in wl])]
    rows += [sep.join([f"{d:g}"] + [f"{i + 1.0:g}"] * 3) for i, d in enumerate(delay)]
    if layout == "percent_comments":
        rows = ["% exported by a MATLAB script", rows[0], "% pump 400 nm", *rows[1:]]
    else:
        rows = [r + sep for r in rows]
    path = tmp_path / "map.csv"
    path.write_text("\n".join(rows) + "\n")
    back = load_tamap(path)
    np.testing.assert_allclose(back["delay"].values, delay * 1e3)
    np.testing.assert_allclose(back["wavelength"].values, wl)
    np.testing.assert_allclose(back.values[:, 0], np.arange(1.0, 7.0))


def test_a_named_pipe_is_refused_not_waited_on(tmp_path):
    # before: spectro hung on a FIFO until killed (fuzzing, 2026-12-03)
    import os

    fifo = tmp_path / "map.txt"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_tamap(fifo)


def test_delay_offset_moves_time_zero_of_a_netcdf_map(small_map, tmp_path):
    """--delay-offset applies to NetCDF maps too (it was silently ignored there), in fs unless a
    delay unit is named, with a note; one far outside the delays is refused as for text."""
    path = save_tamap(small_map, tmp_path / "map.nc")
    delays = small_map["delay"].values
    np.testing.assert_allclose(load_tamap(path, delay_offset=100.0)["delay"].values,
                               delays - 100.0)
    moved = load_tamap(path, delay_unit="ps", delay_offset=0.5)
    np.testing.assert_allclose(moved["delay"].values, delays - 500.0)
    assert "0.5 ps" in moved.attrs["loading_note"]
    np.testing.assert_array_equal(moved.values, small_map.values)
    with pytest.raises(InputError, match="farther outside"):
        load_tamap(path, delay_offset=1e30)
