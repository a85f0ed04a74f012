"""`tamkit infer` refuses bad arguments before any work: exit 2, one line, nothing written."""

from __future__ import annotations

import pytest

pytest.importorskip("emcee")
pytest.importorskip("corner")


@pytest.fixture
def inputs(tmp_path):
    """Two distinct input files; every case below is refused before they are read."""
    paths = []
    for i in range(2):
        path = tmp_path / f"f{i}" / "results.json"
        path.parent.mkdir()
        path.write_text(f'{{"not": "read", "i": {i}}}\n')
        paths.append(path)
    return paths


def _refused(run_cli, args, out):
    code, _, err = run_cli(["infer", *args, "--out", out, "--steps", 200])
    assert code == 2, err
    assert err.startswith("tamkit: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not out.exists()
    return err


def test_cache_that_is_a_file_is_refused(run_cli, inputs, tmp_path):
    cache = tmp_path / "existing_file.txt"
    cache.write_text("x")
    err = _refused(run_cli, [*inputs, "--cache", cache], tmp_path / "o6")
    assert "cache folder" in err and "is a file" in err
    err = _refused(run_cli, [*inputs, "--cache", cache / "sub"], tmp_path / "o6")
    assert "is a file" in err
    assert cache.read_text() == "x"


@pytest.mark.parametrize("seed", ["-1", "-100"])
def test_negative_seed_is_refused(run_cli, inputs, tmp_path, seed):
    err = _refused(run_cli, [*inputs, "--seed", seed], tmp_path / "o7")
    assert "--seed must be a non-negative integer" in err


def test_the_same_input_twice_is_refused(run_cli, inputs, tmp_path):
    # same file, by the same name and through its analysis folder
    err = _refused(run_cli, [inputs[0], inputs[0]], tmp_path / "o")
    assert "given once" in err
    err = _refused(run_cli, [inputs[0].parent, inputs[0]], tmp_path / "o")
    assert "given once" in err


def test_a_copy_of_an_input_is_refused(run_cli, inputs, tmp_path):
    copy = tmp_path / "copy" / "results.json"
    copy.parent.mkdir()
    copy.write_bytes(inputs[0].read_bytes())
    err = _refused(run_cli, [inputs[0], inputs[1], copy.parent], tmp_path / "o")
    assert "same content" in err


@pytest.mark.parametrize("scheduler", ["foo", "local", "tcp://host", "host:8786"])
def test_bad_scheduler_is_refused(run_cli, inputs, tmp_path, scheduler):
    err = _refused(run_cli, [*inputs, "--scheduler", scheduler], tmp_path / "o")
    assert "--scheduler must be" in err


def test_repeated_free_parameter_is_refused(run_cli, inputs, tmp_path):
    err = _refused(run_cli, [*inputs, "--free", "coupling_meV,coupling_meV"], tmp_path / "o")
    assert "coupling_meV more than once" in err


@pytest.mark.parametrize("window", ["inf", "nan", "-inf", "50"])
def test_window_must_be_finite_and_after_100_fs(run_cli, inputs, tmp_path, window):
    err = _refused(run_cli, [*inputs, "--window", window], tmp_path / "o")
    assert "window" in err


def test_infer_film_checks_its_arguments_before_reading_inputs(tmp_path):
    from tamkit.core.errors import InputError
    from tamkit.infer import infer_film

    absent = [tmp_path / "a.json", tmp_path / "b.json"]
    for kwargs in ({"seed": -1}, {"window_fs": float("inf")}, {"scheduler": "foo"},
                   {"burn": 300, "n_steps": 200}):
        with pytest.raises(InputError) as exc:
            infer_film(absent, **kwargs)
        assert "does not exist" not in str(exc.value)
