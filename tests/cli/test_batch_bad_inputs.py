"""`tamkit batch`: an output folder that cannot be written is refused before any analysis
(exit 2, one line), and numpy's RuntimeWarnings of a failing stack stay off the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from tamkit.io import save_stack
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs

DELAY_FS = tam_delays_fs(step_fs=50.0, n_log=8, n_baseline=3)


@pytest.fixture
def stack(tmp_path) -> Path:
    data, _ = spreading_gaussian_stack(DELAY_FS, shape=(24, 24), sigma0_nm=141.0,
                                       peak_snr=200.0, seed=0)
    return save_stack(data, tmp_path / "s0.nc")


@pytest.fixture
def unwritable(tmp_path):
    """A folder nothing can be created in, even by root (immutable), or by its owner."""
    folder = tmp_path / "imm"
    folder.mkdir()
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(
                ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("cannot make an immutable folder here")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)


@pytest.mark.parametrize("sub", ["b", "x/b"])
def test_unwritable_out_is_refused_before_any_analysis(run_cli, stack, unwritable, sub,
                                                       monkeypatch):
    import tamkit.workflows.batch_run as batch_run

    def never(*args, **kwargs):
        raise AssertionError("analysis started")

    monkeypatch.setattr(batch_run, "analyze_many", never)
    code, _, err = run_cli(["batch", stack, "--out", unwritable / sub, "--scheduler", "threads"])
    assert code == 2, err
    assert err.startswith("tamkit: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err and "PermissionError" not in err
    assert list(unwritable.iterdir()) == []


def test_resume_in_an_unwritable_out_is_refused(run_cli, stack, tmp_path, unwritable,
                                                monkeypatch):
    """--resume in an existing folder that became read-only: refused up front too."""
    import tamkit.workflows.batch_run as batch_run

    monkeypatch.setattr(batch_run, "analyze_many", lambda *a, **k: pytest.fail("analysed"))
    code, _, err = run_cli(["batch", stack, "--out", unwritable, "--resume",
                            "--scheduler", "threads"])
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_worker_keeps_runtime_warnings_of_a_constant_stack_quiet(tmp_path, monkeypatch):
    """On a Dask worker (where the command line's warning filter does not reach) a constant
    stack fails with its reason and no RuntimeWarning."""
    import tamkit.workflows.batch as batch

    data, _ = spreading_gaussian_stack(DELAY_FS, shape=(24, 24), sigma0_nm=141.0,
                                       peak_snr=200.0, seed=0)
    data = data.copy(data=np.ones_like(data.values))
    path = save_stack(data, tmp_path / "const.nc")
    monkeypatch.setattr(batch, "_on_dask_worker", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = batch.analyze_one(path, n_bootstrap=20)
    assert row.status == "failed" and row.reason
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
