"""The dock widget, headless: fit an artificial stack, check contours, panels and the marker."""

from __future__ import annotations

import numpy as np
import pytest

import tamkit
from tamkit.napari.layers import HWHM_PER_SIGMA
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs


@pytest.fixture
def opened(tmp_path, viewer, tamkit_plugin):
    # the paper-like three-regime MSD on the usual log-spaced delays, small frames
    stack, truth = spreading_gaussian_stack(tam_delays_fs(), shape=(32, 32), seed=3)
    path = tamkit.save_stack(stack, tmp_path / "film.nc")
    [layer] = viewer.open(str(path), plugin="tamkit")
    return viewer, layer, stack


def test_widget_fits_the_stack_and_draws_contours_msd_and_kymograph(opened):
    from tamkit.napari._widget import TransportWidget

    viewer, layer, stack = opened
    widget = TransportWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Carrier transport")
    assert widget.layer_box.currentText() == layer.name
    widget.bootstrap.setValue(10)
    analysis = widget.fit()

    frames = analysis.result.frames
    ok = np.flatnonzero(frames["status"].values == "ok")
    contours = viewer.layers[f"{layer.name} fit (FWHM)"]
    assert contours.nshapes == ok.size and set(contours.shape_type) == {"ellipse"}
    # first fitted frame: the ellipse sits on its frame, at the centre, FWHM across
    first = contours.data[0]
    i = ok[0]
    assert np.all(first[:, 0] == i)  # log delays: the frame index is the world coordinate
    np.testing.assert_allclose(first[:, 1:].mean(axis=0),
                               [frames["y0_nm"][i], frames["x0_nm"][i]], atol=1e-3)  # float32
    sigma = float(np.sqrt((frames["sigma_x_nm"][i] ** 2 + frames["sigma_y_nm"][i] ** 2) / 2)
                  if analysis.result.parameters.width_model == "elliptical"
                  else frames["sigma_nm"][i])
    assert contours.features["fwhm_nm"][0] == pytest.approx(2 * HWHM_PER_SIGMA * sigma)

    assert set(widget._axes) == {"msd", "D", "kymograph"}
    assert widget._axes["msd"].get_yscale() == "log"
    assert widget.cut.values.shape == (stack.sizes["delay"], stack.sizes["x"])
    assert "band-like" in widget.summary.text() and "cm²/s" in widget.summary.text()

    # moving the delay slider moves the marker and the overlay's delay
    viewer.dims.set_current_step(0, int(ok[10]))
    assert widget.current_delay_fs() == stack["delay"].values[ok[10]]
    assert widget.text_overlay().text.startswith("delay ")
    assert len(widget._marks) == 3

    shot = viewer.screenshot(canvas_only=False, flash=False)
    assert shot.ndim == 3 and shot.shape[0] > 200 and shot[..., :3].std() > 0


def test_widget_says_why_when_there_is_nothing_to_fit(viewer):
    from tamkit.napari._widget import TransportWidget

    widget = TransportWidget(viewer)
    widget.button.click()
    assert widget.summary.text().startswith("Fit failed: no 3D image layer")
