"""The package's shape: layers and their import rule, the light public API, the flat root.

Layers, lowest first (docs/architecture.md): ``core``; ``models`` (forward physics shared by the
simulator and the analysis); the analysis packages beside the simulator, neither importing the
other; reporting, workflows, testing data, the paper and the CLI on top. Every import in the
source is checked, including those inside functions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tamkit"

CORE = {"core"}
MODELS = {"models"}
ANALYSIS = {"io", "preprocessing", "gaussfit", "moments", "carrier_transport", "globalfit",
            "series", "spectro"}
SIMULATOR = {"sim"}
TOP = {"reporting", "workflows", "testing", "paper", "cli", "infer", "napari"}
#: what each layer may import (besides itself and the standard library / third parties)
ALLOWED = {
    **{p: CORE for p in CORE},
    **{p: CORE | MODELS for p in MODELS},
    **{p: CORE | MODELS | ANALYSIS for p in ANALYSIS},
    **{p: CORE | MODELS | SIMULATOR for p in SIMULATOR},
    **{p: CORE | MODELS | ANALYSIS | SIMULATOR | TOP for p in TOP},
}


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = ["tamkit", *path.relative_to(package).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, package_root: Path = PACKAGE) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) of every tamkit import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path, package_root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name, []))
            continue
        else:
            continue
        found.append((node.lineno, module, names))
    return [f for f in found if f[1] == "tamkit" or f[1].startswith("tamkit.")]


def layer_violations(package: Path = PACKAGE) -> list[str]:
    """Every import that crosses the layer rule, as ``file:line: layer imports target``."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        parts = _module_name(path, package).split(".")
        if len(parts) < 2:  # tamkit/__init__.py: lazy names only (checked below)
            continue
        layer = parts[1]
        if layer not in ALLOWED:
            problems.append(f"{path}: package {layer!r} has no layer; add it to the rule")
            continue
        for line, module, names in _imports(path, package):
            target = module.split(".")
            if len(target) == 1:
                # the root holds only the version and lazy names: anything else hides a layer
                extra = [n for n in names if n != "__version__"]
                if extra:
                    problems.append(f"{path}:{line}: imports {extra} from the tamkit root")
                continue
            if target[1] != layer and target[1] not in ALLOWED[layer]:
                problems.append(f"{path}:{line}: {layer} imports {module}")
    return problems


def test_every_package_keeps_to_its_layer():
    assert layer_violations() == []


def test_the_rule_catches_an_analysis_module_importing_the_simulator(tmp_path):
    # a copy of the package with one forbidden import added: the check must see it
    import shutil

    copy = tmp_path / "tamkit"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "carrier_transport" / "msd.py"
    forbidden = "\nfrom tamkit.sim.scenario import simulate_measurement\n"
    target.write_text(target.read_text() + forbidden)
    sim = copy / "sim" / "__init__.py"
    sim.write_text(sim.read_text() + "\nfrom tamkit.gaussfit import fit_frames\n")
    problems = layer_violations(copy)
    assert any("carrier_transport imports tamkit.sim.scenario" in p for p in problems)
    assert any("sim imports tamkit.gaussfit" in p for p in problems)


def test_root_holds_at_most_five_modules():
    assert len(list(PACKAGE.glob("*.py"))) <= 5


def test_import_tamkit_is_light_and_changes_no_global_state():
    code = ("import sys, tamkit; print([m for m in ('dask', 'distributed', 'matplotlib', "
            "'numba', 'scipy', 'xarray') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve_and_no_function_shadows_a_module():
    import importlib
    import pkgutil

    import tamkit

    submodules = {m.name for m in pkgutil.iter_modules(tamkit.__path__)}
    for name in tamkit.__all__:
        assert getattr(tamkit, name) is not None
        assert name not in submodules, f"tamkit.{name} would be shadowed by a subpackage"
    for name in submodules:
        importlib.import_module(f"tamkit.{name}")
    # importing every subpackage leaves the flow's functions in place
    assert callable(tamkit.transport) and callable(tamkit.report) and callable(tamkit.preprocess)


def test_deprecated_aliases_warn():
    import tamkit

    with pytest.deprecated_call():
        assert callable(tamkit.analyze_stack)
    with pytest.deprecated_call():
        assert callable(tamkit.load_stack)
