"""TIFF reading beyond tamkit's own files: ImageJ hyperstacks, resolution tags, axes rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from tamkit import io
from tamkit.core.errors import InputError

DELAYS = [-200.0, -100.0, 0.0, 100.0, 300.0, 1000.0]
RNG = np.random.default_rng(11)
FRAMES = RNG.normal(0.0, 1e-3, (len(DELAYS), 8, 9))


def _imagej(path, data, axes, info="", **kwargs):
    metadata = {"axes": axes, **({"Info": info} if info else {}), **kwargs.pop("metadata", {})}
    tifffile.imwrite(path, data.astype(np.float32), imagej=True, metadata=metadata, **kwargs)
    return path


def test_imagej_t_stack_with_info_metadata(tmp_path):
    info = "delay_fs = " + ",".join(str(d) for d in DELAYS) + "\npixel_nm = 55.6"
    path = _imagej(tmp_path / "ij.tif", FRAMES, "TYX", info)
    stack = io.load_stack(path)
    np.testing.assert_array_equal(stack["delay"].values, DELAYS)
    assert stack.attrs["pixel_nm"] == 55.6
    np.testing.assert_allclose(stack.values, FRAMES.astype(np.float32))


def test_imagej_z_is_the_delay_axis_when_there_is_no_t(tmp_path):
    path = _imagej(tmp_path / "z.tif", FRAMES, "ZYX")
    stack = io.load_stack(path, delays=np.array(DELAYS), pixel_nm=50.0)
    assert stack.sizes["delay"] == len(DELAYS)


def test_imagej_properties_and_micron_resolution(tmp_path):
    # ImageJ calibration: 0.0556 um per pixel -> 55.6 nm; delays in the Properties
    path = _imagej(
        tmp_path / "cal.tif", FRAMES, "TYX",
        resolution=(1 / 0.0556, 1 / 0.0556),
        metadata={"unit": "micron", "Properties": {"delay_fs": json.dumps(DELAYS)}},
    )
    stack = io.load_stack(path)
    assert stack.attrs["pixel_nm"] == pytest.approx(55.6, rel=1e-5)
    np.testing.assert_array_equal(stack["delay"].values, DELAYS)


def test_imagej_chopper_channels_become_raw(tmp_path):
    counts = RNG.poisson(1000, (len(DELAYS), 2, 8, 9))  # T, C(off, on), Y, X
    path = _imagej(tmp_path / "raw.tif", counts, "TCYX", "chopper = off,on\npixel_nm = 50")
    stack = io.load_stack(path, delays=np.array(DELAYS))
    assert stack.dims == ("chopper", "delay", "y", "x")
    np.testing.assert_array_equal(stack.sel(chopper="on").values, counts[:, 1])
    np.testing.assert_array_equal(stack.sel(chopper="off").values, counts[:, 0])
    dtt = io.load(path, delays=np.array(DELAYS))
    assert dtt.dims == ("delay", "y", "x")


def test_channel_axis_without_chopper_metadata_is_rejected(tmp_path):
    counts = RNG.poisson(1000, (len(DELAYS), 2, 8, 9))
    path = _imagej(tmp_path / "c.tif", counts, "TCYX")
    with pytest.raises(InputError, match=r"c\.tif.*channel axis C.*chopper"):
        io.load_stack(path, delays=np.array(DELAYS), pixel_nm=50.0)


def test_t_and_z_both_longer_than_one_are_ambiguous(tmp_path):
    data = RNG.normal(size=(3, 2, 8, 9))
    path = _imagej(tmp_path / "tz.tif", data, "TZYX")
    with pytest.raises(InputError, match="ambiguous"):
        io.load_stack(path, delays=np.arange(3.0), pixel_nm=50.0)


def test_chopper_labels_other_than_on_off_are_rejected(tmp_path):
    counts = RNG.poisson(1000, (len(DELAYS), 2, 8, 9))
    path = _imagej(tmp_path / "ab.tif", counts, "TCYX", "chopper = a,b\npixel_nm = 50")
    with pytest.raises(InputError, match="'on' and 'off'"):
        io.load_stack(path, delays=np.array(DELAYS))


def test_rgb_is_rejected(tmp_path):
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, RNG.integers(0, 255, (8, 9, 3), dtype=np.uint8), photometric="rgb")
    with pytest.raises(InputError, match="colour"):
        io.load_stack(path, delays=[0.0], pixel_nm=50.0)


def test_plain_multipage_with_json_description_and_cm_resolution(tmp_path):
    # another program's file: a JSON description and a resolution in pixels per cm
    path = tmp_path / "plain.tif"
    with tifffile.TiffWriter(path) as tw:
        for k, frame in enumerate(FRAMES):
            tw.write(
                frame, contiguous=False, metadata=None,
                description=json.dumps({"delay_fs": DELAYS}) if k == 0 else None,
                resolution=(1e7 / 80.0, 1e7 / 80.0), resolutionunit="CENTIMETER",
            )
    stack = io.load_stack(path)
    assert stack.attrs["pixel_nm"] == pytest.approx(80.0, rel=1e-6)
    np.testing.assert_array_equal(stack["delay"].values, DELAYS)
    np.testing.assert_array_equal(stack.values, FRAMES)


def test_document_dpi_is_not_a_pixel_size(tmp_path):
    # 72 dpi means 353 um per pixel: a screen default, not a microscope calibration
    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, FRAMES, resolution=(72, 72), resolutionunit="INCH", metadata=None)
    with pytest.raises(InputError, match="no pixel size"):
        io.load_stack(path, delays=np.array(DELAYS))
    assert io.load_stack(path, delays=np.array(DELAYS), pixel_nm=30.0).attrs["pixel_nm"] == 30.0


def test_integer_frames_without_chopper_are_read_as_float(tmp_path):
    path = tmp_path / "int.tif"
    tifffile.imwrite(path, RNG.integers(0, 4000, (6, 8, 9), dtype=np.uint16))
    stack = io.load_stack(path, delays=np.array(DELAYS), pixel_nm=50.0)
    assert stack.dtype == np.float64
