"""`tamkit simulate`: film files with values that are meaningless or intractable are refused at
once (exit 2, one line naming the field the user set), and killed runs' partial folders are
cleared by the next run of the same --out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tamkit.cli.simulate import OWNER_FILE


def _film(tmp_path, text: str):
    path = tmp_path / "film.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "field"), [
    ("hop_rate0_per_fs = 1e30\n", "hop_rate0_per_fs"),  # would run for ever
    ("coupling_meV = 1e308\n", "coupling_meV"),
    ("pitch_nm = -3.0\n", "pitch_nm"),
    ("tau_c0_fs = 1e-300\n", "tau_c0_fs"),
    ("temperature_K = 1e9\n", "temperature_K"),
    ("sigma_inh_meV = 1e6\n", "sigma_inh_meV"),
    ("hot_rate_factor = 1e4\nhop_rate0_per_fs = 0.01\n", "hot_rate_factor"),
    ("pitch_nm = 2.0\n", "pitch_nm"),  # smaller than the dots: a derived spacing < 0
    ("coupling0_meV = 1.0\ncoupling_meV = 100.0\n", "coupling_meV"),  # derived peak < 0
])
def test_film_file_out_of_range_is_refused_naming_the_field(run_cli, tmp_path, text, field):
    out = tmp_path / "never"
    code, _, err = run_cli(["simulate", "--out", out, "--runs", 1, "--spots", 1,
                            "--film", _film(tmp_path, text)])
    assert code == 2, err
    assert err.startswith("tamkit: error:") and err.count("\n") == 1, err
    assert field in err and "Traceback" not in err
    assert not out.exists()


def test_range_message_gives_value_and_range(run_cli, tmp_path):
    code, _, err = run_cli(["simulate", "--out", tmp_path / "o", "--film",
                            _film(tmp_path, "hop_rate0_per_fs = 1e30\n")])
    assert code == 2
    assert "hop_rate0_per_fs = 1e+30" in err and "(0, 10]" in err


def test_presets_and_plain_films_stay_valid(tmp_path):
    from tamkit.sim.film import PRESET_NAMES, film_preset, load_film
    from tamkit.sim.film.presets import FIELD_RANGES, check_film_fields

    for name in PRESET_NAMES:
        film = film_preset(name)
        check_film_fields({k: v for k, v in film.to_dict().items() if k in FIELD_RANGES})
    film = load_film(_film(tmp_path, "sigma_inh_meV = 20.0\nhop_rate0_per_fs = 1e-3\n"))
    assert film.sigma_inh_meV == 20.0


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_next_run_clears_partial_folders_of_killed_runs(run_cli, tmp_path):
    out = tmp_path / "sim"
    host = socket.gethostname()
    stale = tmp_path / ".sim.partial-dead1"
    alive = tmp_path / ".sim.partial-live1"
    unmarked = tmp_path / ".sim.partial-other"
    other = tmp_path / ".simx.partial-dead2"
    for folder, owner in ((stale, f"{host} {_dead_pid()}"), (alive, f"{host} {os.getpid()}"),
                          (unmarked, None), (other, f"{host} {_dead_pid()}")):
        folder.mkdir()
        (folder / "stack.nc").write_bytes(b"half")
        if owner is not None:
            (folder / OWNER_FILE).write_text(owner + "\n")
    code, _, err = run_cli(["simulate", "--out", out, "--runs", 1, "--spots", 1])
    assert code == 0, err
    assert not stale.exists()  # its process is gone
    assert alive.exists() and unmarked.exists() and other.exists()
    assert sorted(p.name for p in out.iterdir()) == ["stack.nc", "truth.json"]
