"""Fixtures shared across the test tree."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tamkit.cli import main

# property tests draw the same examples on every run and machine (a deterministic suite: a
# failure found once is found again, and CI cannot fail on an example nobody has seen)
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")


@pytest.fixture
def run_cli(capsys):
    """Run the tamkit command line in-process; return (exit code, stdout, stderr)."""

    def run(args: list) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return run
