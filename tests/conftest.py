"""Fixtures shared across the test tree."""

from __future__ import annotations

import pytest

from tamkit.cli import main


@pytest.fixture
def run_cli(capsys):
    """Run the tamkit command line in-process; return (exit code, stdout, stderr)."""

    def run(args: list) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return run
