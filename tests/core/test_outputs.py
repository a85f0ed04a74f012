"""Safe output writing: atomic folders, no overwrite without force, strict JSON."""

from __future__ import annotations

import json
import tempfile

import numpy as np
import pytest

from tamkit.core.errors import InputError
from tamkit.core.outputs import (
    OUTPUT_MARKERS,
    atomic_output_dir,
    format_value,
    to_jsonable,
    write_json,
)


def test_folder_appears_only_on_success(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("analysis failed half way")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no partial folder left behind
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("done")
    assert (out / "a.txt").read_text() == "done"


def test_existing_results_kept_without_force_and_replaced_with_it(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "results.json").write_text("old")
    with pytest.raises(InputError, match="--force"):
        with atomic_output_dir(out):
            pass
    assert (out / "results.json").read_text() == "old"
    with atomic_output_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_force_never_replaces_a_folder_that_is_no_tamkit_output(tmp_path):
    # before: --force deleted any folder, a thesis among it (fuzzing, 2026-12-03)
    out = tmp_path / "docs"
    (out / "sub").mkdir(parents=True)
    (out / "thesis.docx").write_text("x")
    with pytest.raises(InputError, match="replaces only a tamkit output folder"):
        with atomic_output_dir(out, force=True):
            pass
    assert sorted(p.name for p in out.iterdir()) == ["sub", "thesis.docx"]
    # an empty folder, or one holding any command's result, is replaced
    for marker in (None, *OUTPUT_MARKERS):
        target = tmp_path / f"out_{marker}"
        target.mkdir()
        if marker:
            (target / marker).write_text("old")
        with atomic_output_dir(target, force=True) as tmp:
            (tmp / "new.txt").write_text("new")
        assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_output_path_that_is_a_file_or_unwritable(tmp_path, monkeypatch):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        with atomic_output_dir(f):
            pass
    with pytest.raises(InputError, match="does not exist"):
        with atomic_output_dir(tmp_path / "missing" / "out"):
            pass

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(InputError, match="cannot write"):
        with atomic_output_dir(tmp_path / "out"):
            pass


def test_strict_json(tmp_path):
    data = {"a": np.float64(np.nan), "b": np.arange(3), "c": (np.int64(2), np.inf), "d": True}
    assert to_jsonable(data) == {"a": None, "b": [0, 1, 2], "c": [2, None], "d": True}
    write_json(tmp_path / "x.json", data)
    assert json.loads((tmp_path / "x.json").read_text())["a"] is None


def test_format_value():
    assert format_value(102.345, 3.456, "cm^2/s") == "102 ± 3.5 cm^2/s"
    assert format_value(float("nan")) == "n/a"
    assert format_value(None) == "n/a"


def test_outputs_get_the_permissions_of_plain_files_and_folders(tmp_path):
    import os

    from tamkit.core.outputs import replace_file

    mask = os.umask(0o022)
    try:
        with atomic_output_dir(tmp_path / "out") as tmp:
            (tmp / "a.txt").write_text("x")
        with replace_file(tmp_path / "summary.csv") as tmp:
            tmp.write_text("y")
    finally:
        os.umask(mask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "summary.csv").stat().st_mode & 0o777 == 0o644


def test_run_folder_names_are_stems_unless_stems_repeat(tmp_path):
    from tamkit.core.outputs import is_run_folder_name, run_folder_names

    plain = [tmp_path / "film_0.nc", tmp_path / "film_1.tif"]
    assert list(run_folder_names(plain).values()) == ["film_0", "film_1"]
    # tamkit simulate writes DIR/stack.nc: two simulated films, two folders
    sims = [tmp_path / "low" / "stack.nc", tmp_path / "high" / "stack.nc", tmp_path / "c.nc"]
    assert list(run_folder_names(sims).values()) == ["low_stack", "high_stack", "c"]
    # the same stem side by side: told apart by the suffix, not by climbing to the root
    assert list(run_folder_names([tmp_path / "a.nc", tmp_path / "a.tif"]).values()) == [
        "a_nc", "a_tif"]
    deep = [tmp_path / "x" / "run" / "stack.nc", tmp_path / "y" / "run" / "stack.nc"]
    assert list(run_folder_names(deep).values()) == ["x_run_stack", "y_run_stack"]
    for paths in (plain, sims, deep):
        names = run_folder_names(paths)
        assert len(set(names.values())) == len(paths)
        assert all(is_run_folder_name(names[str(p)], p) for p in paths)
    assert not is_run_folder_name("high_stack", sims[0])
