"""Remake docs/images/napari-widget.png: the transport widget on an artificial stack.

Run headless: ``QT_QPA_PLATFORM=offscreen xvfb-run python docs/images/napari_widget_screenshot.py``.
"""

from importlib.resources import files
from pathlib import Path

import napari
import npe2
import numpy as np
from imageio import imwrite

import tamkit
from tamkit.napari._widget import TransportWidget
from tamkit.testing.artificial import spreading_gaussian_stack, tam_delays_fs

pm = npe2.PluginManager.instance()
pm.discover()
if "tamkit" not in {m.name for m in pm.iter_manifests()}:
    pm.register(npe2.PluginManifest.from_file(files("tamkit.napari") / "napari.yaml"))
stack, _ = spreading_gaussian_stack(tam_delays_fs(), shape=(48, 48), seed=3, peak_snr=80)
path = tamkit.save_stack(stack, Path("/tmp/film-demo.nc"))
viewer = napari.Viewer(show=False)
[layer] = viewer.open(str(path), plugin="tamkit")
widget = TransportWidget(viewer)
viewer.window.add_dock_widget(widget, name="Carrier transport", area="right")
viewer.window._qt_window.resize(1400, 950)
widget.bootstrap.setValue(50)
widget.fit()
ok = np.flatnonzero(widget.analysis.result.frames["status"].values == "ok")
viewer.dims.set_current_step(0, int(ok[22]))
viewer.reset_view()
imwrite(Path(__file__).with_name("napari-widget.png"),
        viewer.screenshot(canvas_only=False, flash=False))
viewer.close()
