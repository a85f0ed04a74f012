"""The numbers behind the napari layers (plain numpy: these run without napari)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tamkit.napari.layers import (
    HWHM_PER_SIGMA,
    contour_ellipses,
    delay_axis,
    format_delay,
    image_layer_kwargs,
    line_cut,
    stack_from_layer,
)
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs


def test_uniform_delays_become_the_scale_in_fs_and_log_delays_the_frame_index():
    uniform = delay_axis(np.arange(-200.0, 1000.0, 50.0))
    assert (uniform.scale, uniform.translate, uniform.uniform, uniform.unit) == (
        50.0, -200.0, True, "fs")
    log = delay_axis(tam_delays_fs())
    assert (log.scale, log.translate, log.uniform, log.unit) == (1.0, 0.0, False, "pixel")
    assert log.world(3) == 3.0 and uniform.world(2) == -100.0


def test_delays_are_written_in_the_unit_of_their_range():
    assert [format_delay(t) for t in (-500, 20, 1500, 2.5e5, 1e6)] == [
        "-500 fs", "20 fs", "1.5 ps", "250 ps", "1 ns"]


def test_image_kwargs_carry_scale_units_and_delays_and_rebuild_the_stack():
    stack, _ = spreading_gaussian_stack(np.arange(-100.0, 400.0, 20.0), np.zeros(25),
                                        shape=(12, 14), pixel_nm=50.0)
    kw = image_layer_kwargs(stack)
    assert kw["scale"] == (20.0, 50.0, 50.0)
    assert kw["translate"] == (-100.0, stack["y"].values[0], stack["x"].values[0])
    assert kw["units"] == ("fs", "nm", "nm") and kw["axis_labels"] == ("delay", "y", "x")
    lo, hi = kw["contrast_limits"]
    assert lo == -hi and hi > 0
    back = stack_from_layer(stack.values, kw["scale"], kw["translate"], kw["metadata"])
    xr.testing.assert_allclose(back, stack.drop_attrs(deep=False).assign_attrs(back.attrs))
    # a plain layer (no tamkit metadata): the delay axis and the x scale are read as fs and nm
    plain = stack_from_layer(stack.values, (20.0, 50.0, 50.0), (-100.0, 0.0, 0.0), {})
    np.testing.assert_array_equal(plain["delay"].values, stack["delay"].values)
    assert plain.attrs["pixel_nm"] == 50.0


def _fits(theta=0.0):
    delay = np.array([-100.0, 100.0, 200.0])
    return xr.Dataset(
        {"x0_nm": ("delay", [np.nan, 10.0, 20.0]), "y0_nm": ("delay", [np.nan, -5.0, 0.0]),
         "y0_err_nm": ("delay", [np.nan, 1.0, 1.0]),
         "sigma_nm": ("delay", [np.nan, 100.0, 120.0]),
         "sigma_x_nm": ("delay", [np.nan, 150.0, 150.0]),
         "sigma_y_nm": ("delay", [np.nan, 50.0, 50.0]),
         "theta_rad": ("delay", [np.nan, theta, theta]),
         "status": ("delay", ["baseline", "ok", "ok"])},
        coords={"delay": delay}, attrs={"signal_sign": 1},
    )


def test_contours_are_fwhm_ellipses_on_their_frames():
    shapes, features = contour_ellipses(_fits(), delay_axis(np.array([-100.0, 100.0, 200.0])))
    assert len(shapes) == 2  # the baseline frame has no contour
    first = shapes[0]
    assert first.shape == (4, 3) and np.all(first[:, 0] == 1.0)  # on frame 1 (index axis)
    np.testing.assert_allclose(first[:, 1:].mean(axis=0), [-5.0, 10.0])
    half_width = np.ptp(first[:, 2]) / 2
    assert half_width == pytest.approx(HWHM_PER_SIGMA * 100.0)
    np.testing.assert_allclose(features["fwhm_nm"], 2.355 * np.array([100.0, 120.0]), rtol=1e-3)


def test_elliptical_contours_turn_with_theta():
    shapes, _ = contour_ellipses(_fits(theta=np.pi / 2), delay_axis(np.array([0, 1, 2.0])),
                                 elliptical=True)
    corners = shapes[0][:, 1:] - shapes[0][:, 1:].mean(axis=0)
    # sigma_x (150 nm) along theta = 90 deg from the x axis: the long axis is along y
    assert np.ptp(corners[:, 0]) == pytest.approx(2 * HWHM_PER_SIGMA * 150.0)
    assert np.ptp(corners[:, 1]) == pytest.approx(2 * HWHM_PER_SIGMA * 50.0)


def test_line_cut_takes_the_row_through_the_weighted_centre():
    stack, _ = spreading_gaussian_stack(np.array([-100.0, 100.0, 200.0]), np.zeros(3),
                                        shape=(11, 9), pixel_nm=5.0, peak_snr=1e6, sign=1)
    cut = line_cut(stack, _fits())
    assert cut.y_nm in (-5.0, 0.0)  # the rows nearest the weighted mean centre, -2.5 nm
    assert cut.values.shape == (3, 9) and cut.normalised.shape == (3, 9)
    assert np.nanmax(cut.normalised[1:]) == pytest.approx(1.0)
