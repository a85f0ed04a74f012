"""tamkit's napari reader and manifest: layer scale in fs and nm, units, delays in metadata."""

from __future__ import annotations

import json
import tomllib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import tifffile

import tamkit
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_declares_the_manifest_and_ships_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["napari.manifest"] == {
        "tamkit": "tamkit.napari:napari.yaml"}
    assert "napari/napari.yaml" in project["tool"]["setuptools"]["package-data"]["tamkit"]
    assert (files("tamkit.napari") / "napari.yaml").is_file()


def test_manifest_is_valid_and_its_commands_resolve(napari_module):
    import npe2

    manifest = npe2.PluginManifest.from_file(files("tamkit.napari") / "napari.yaml")
    assert manifest.name == "tamkit"
    for command in manifest.contributions.commands:
        module, attr = command.python_name.split(":")
        assert callable(getattr(__import__(module, fromlist=[attr]), attr))
    patterns = manifest.contributions.readers[0].filename_patterns
    assert {"*.tif", "*.nc", "*.h5", "*.npy", "*.npz"} <= set(patterns)


def _uniform_stack():
    return spreading_gaussian_stack(np.arange(-200.0, 600.0, 40.0), np.zeros(20),
                                    shape=(10, 12), pixel_nm=50.0)[0]


@pytest.mark.parametrize("suffix", [".nc", ".h5", ".npz", ".npy", ".tif"])
def test_reader_scale_is_the_delay_step_and_the_pixel_size(tmp_path, suffix, napari_module):
    from tamkit.napari._reader import napari_get_reader

    stack = _uniform_stack()
    path = tamkit.save_stack(stack, tmp_path / f"film{suffix}")
    reader = napari_get_reader(str(path))
    [(data, kwargs, kind)] = reader(str(path))
    assert kind == "image" and data.shape == (20, 10, 12)
    assert kwargs["scale"] == pytest.approx((40.0, 50.0, 50.0))
    assert kwargs["translate"] == pytest.approx((-200.0, -225.0, -275.0))
    assert kwargs["units"] == ("fs", "nm", "nm")
    np.testing.assert_allclose(kwargs["metadata"]["delay_fs"], stack["delay"].values)


def test_imagej_hyperstack_calibration_and_log_delays(tmp_path, napari_module):
    from tamkit.napari._reader import read_stack

    delays = tam_delays_fs()[:30]
    path = tmp_path / "ij.tif"
    frames = np.random.default_rng(0).normal(0, 1e-3, (delays.size, 8, 8)).astype(np.float32)
    tifffile.imwrite(path, frames, imagej=True, resolution=(1 / 0.0556, 1 / 0.0556),
                     metadata={"axes": "TYX", "unit": "micron",
                               "Properties": {"delay_fs": json.dumps(delays.tolist())}})
    [(_, kwargs, _)] = read_stack(str(path))
    assert kwargs["scale"] == pytest.approx((1.0, 55.6, 55.6), rel=1e-5)  # log delays: index
    assert kwargs["units"] == ("pixel", "nm", "nm") and kwargs["axis_labels"][0] == "frame"
    np.testing.assert_allclose(kwargs["metadata"]["delay_fs"], delays)


def test_reader_declines_what_it_cannot_place(tmp_path, napari_module):
    from tamkit.napari._reader import napari_get_reader

    assert napari_get_reader(str(tmp_path / "notes.txt")) is None
    assert napari_get_reader([str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) is None
    bare = tmp_path / "bare.npy"
    np.save(bare, np.zeros((3, 4, 4)))  # no delays anywhere: napari's own reader may take it
    assert napari_get_reader(str(bare))(str(bare)) is None


def test_viewer_opens_a_stack_through_the_plugin(tmp_path, viewer, tamkit_plugin):
    path = tamkit.save_stack(_uniform_stack(), tmp_path / "film.nc")
    [layer] = viewer.open(str(path), plugin="tamkit")
    assert tuple(layer.scale) == pytest.approx((40.0, 50.0, 50.0))
    assert [str(u) for u in layer.units] == ["femtosecond", "nanometer", "nanometer"]
    assert layer.metadata["tamkit"] and layer.metadata["pixel_nm"] == 50.0
