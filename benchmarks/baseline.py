"""The named baseline of the speed benchmarks: the 2026-11-22 release, installed beside the code.

``python benchmarks/baseline.py`` (or :func:`baseline_python` from a benchmark) builds, once, a
virtual environment under ``.bench/`` with tamkit at commit ``BASELINE_COMMIT`` (from this
repository's own history, through ``git archive``; nothing is downloaded but its dependencies)
and returns its Python, so that one benchmark run can time the current code and the baseline on
the same machine, minutes apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path

#: The 2026-11-22 release (the last commit before the restructuring of issue 10).
BASELINE_COMMIT = "5e1925e"
ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / ".bench"


def baseline_python(commit: str = BASELINE_COMMIT) -> Path:
    """The Python of a venv with tamkit at ``commit`` installed (built on first use)."""
    env_dir = BENCH_DIR / f"baseline-{commit}"
    python = env_dir / "bin" / "python"
    if (env_dir / ".complete").exists():
        return python
    BENCH_DIR.mkdir(exist_ok=True)
    venv.create(env_dir, with_pip=True, clear=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "src.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive),
                        commit], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "src", filter="data")
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(Path(tmp) / "src")],
                       check=True)
    (env_dir / ".complete").write_text(commit + "\n")
    return python


def run_python(python: Path | str, code: str, *args: str, timeout_s: float = 1800) -> str:
    """Run ``code`` with ``python`` outside the repository (so ``src/`` is not on the path)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    out = subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True,
                         cwd=tempfile.gettempdir(), env=env, timeout=timeout_s)
    if out.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{out.stderr[-2000:]}")
    return out.stdout


if __name__ == "__main__":
    print(baseline_python(sys.argv[1] if len(sys.argv) > 1 else BASELINE_COMMIT))
