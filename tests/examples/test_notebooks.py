"""The notebooks in examples/ run from top to bottom in a kernel of this environment.

Skipped (with the reason) when nbclient or ipykernel is missing; with
``TAMKIT_REQUIRE_EXTRAS=1`` (as ``.ci/run`` sets) that fails instead.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def _client_or_skip():
    try:
        import ipykernel  # noqa: F401
        import nbclient
        import nbformat
    except ImportError as err:
        if os.environ.get("TAMKIT_REQUIRE_EXTRAS"):
            pytest.fail(f"TAMKIT_REQUIRE_EXTRAS is set but {err!r}")
        pytest.skip(f'notebook tools missing ({err!r}): pip install "tamkit[notebooks]"')
    return nbclient, nbformat


def test_there_are_three_notebooks_with_a_title_and_a_figure():
    assert [p.name for p in NOTEBOOKS] == [
        "01_stack_to_regimes.ipynb", "02_fluence_series.ipynb", "03_ta_map.ipynb"]
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        assert cells[0]["cell_type"] == "markdown" and cells[0]["source"][0].startswith("# ")
        assert any("plt.show()" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.fixture
def this_python_kernel(tmp_path, monkeypatch):
    """A kernel spec running this interpreter, found first (whatever kernels the user has)."""
    spec = tmp_path / "jupyter" / "kernels" / "tamkit-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "tamkit test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "tamkit-test"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_errors(path, tmp_path, this_python_kernel):
    nbclient, nbformat = _client_or_skip()
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=180, kernel_name=this_python_kernel, allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},  # run where nothing can be left behind
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    elapsed = time.perf_counter() - start
    images = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"
    print(f"{path.name}: {elapsed:.1f} s")
