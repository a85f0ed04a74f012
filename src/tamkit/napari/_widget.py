"""The dock widget (npe2 ``widgets`` contribution): fit the open stack, show transport.

Pick an image layer (a TAM stack, best opened with tamkit's reader so that the delays travel in
its metadata), press *Fit stack*: :func:`tamkit.analyze` fits every frame and the transport, and
the widget adds

* a shapes layer ``<stack> fit (FWHM)``: one ellipse per frame whose fit is ``ok``, at the fitted
  centre, of semi-axes ``sqrt(2 ln 2) sigma`` (the half-maximum contour of the fitted Gaussian;
  the elliptical fit's axes and angle when the spot is elliptical),
* three panels: MSD(t) with the fitted model and regimes, D(t) = MSD/2t with the band-like tau
  and D_max, and the kymograph of the line cut along x through the fitted centre,

and marks the current frame's delay on the panels and in the viewer's text overlay as the delay
slider moves. The fit runs in the GUI thread (about a second for a 100-frame stack).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tamkit.napari._plots import draw_transport, mark_delay
from tamkit.napari.layers import (
    contour_ellipses,
    delay_axis,
    format_delay,
    line_cut,
    stack_from_layer,
)


class TransportWidget(QWidget):
    """Fit the selected stack (:func:`tamkit.analyze`); show contours, MSD, D(t), kymograph."""

    def __init__(self, napari_viewer, parent=None):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        super().__init__(parent)
        self.viewer = napari_viewer
        self.analysis = None
        self.cut = None
        self.stack = None
        self.contours = None
        self._layer = None
        self._axes: dict = {}
        self._marks: list = []

        self.layer_box = QComboBox()
        self.bootstrap = QSpinBox()
        self.bootstrap.setRange(0, 2000)
        self.bootstrap.setValue(100)
        self.bootstrap.setToolTip("bootstrap replicates for the uncertainties")
        self.anisotropy = QCheckBox("fit elliptical spots too")
        self.anisotropy.setChecked(True)
        self.button = QPushButton("Fit stack")
        self.button.clicked.connect(self._on_click)
        self.summary = QLabel("Open a TAM stack and press Fit stack.")
        self.summary.setWordWrap(True)
        self.figure = Figure(figsize=(4.4, 7.2), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(560)

        form = QFormLayout()
        form.addRow("stack", self.layer_box)
        form.addRow("bootstrap", self.bootstrap)
        form.addRow("", self.anisotropy)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.button)
        layout.addWidget(self.summary)
        layout.addWidget(self.canvas)

        self.viewer.layers.events.inserted.connect(self._refresh_layers)
        self.viewer.layers.events.removed.connect(self._refresh_layers)
        self.viewer.dims.events.current_step.connect(self._on_step)
        self._refresh_layers()

    # -- layers ---------------------------------------------------------------------------
    def _image_layers(self) -> list:
        from napari.layers import Image

        return [layer for layer in self.viewer.layers
                if isinstance(layer, Image) and layer.ndim == 3]

    def _refresh_layers(self, event=None) -> None:
        current = self.layer_box.currentText()
        self.layer_box.clear()
        names = [layer.name for layer in self._image_layers()]
        self.layer_box.addItems(names)
        if current in names:
            self.layer_box.setCurrentText(current)

    def selected_layer(self):
        """The image layer chosen in the box (the first 3D image layer by default)."""
        name = self.layer_box.currentText()
        layers = self._image_layers()
        return next((layer for layer in layers if layer.name == name),
                    layers[0] if layers else None)

    # -- fitting --------------------------------------------------------------------------
    def _on_click(self, checked=False) -> None:
        try:
            self.fit()
        except Exception as err:  # shown to the user, not raised into Qt's event loop
            self.summary.setText(f"Fit failed: {err}")

    def fit(self, layer=None):
        """Fit ``layer`` (default: the selected one); add the contours and draw the panels."""
        import tamkit

        layer = layer or self.selected_layer()
        if layer is None:
            raise ValueError("no 3D image layer to fit: open a TAM stack first")
        self.stack = stack_from_layer(layer.data, layer.scale, layer.translate, layer.metadata)
        self.analysis = tamkit.analyze(self.stack, anisotropy=self.anisotropy.isChecked(),
                                       n_bootstrap=self.bootstrap.value())
        self._layer = layer
        self._add_contours(layer)
        self.cut = line_cut(self.stack, self.analysis.result.frames)
        self._axes = draw_transport(self.figure, self.analysis, self.cut)
        self._marks = []
        self._on_step()
        self.summary.setText(self._summary_text(layer))
        return self.analysis

    def _add_contours(self, layer) -> None:
        result = self.analysis.result
        elliptical = result.parameters.width_model == "elliptical"
        axis = delay_axis(self.stack["delay"].values)
        shapes, features = contour_ellipses(result.frames, axis, elliptical=elliptical)
        name = f"{layer.name} fit (FWHM)"
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        pixel_nm = float(self.stack.attrs["pixel_nm"])
        self.contours = self.viewer.add_shapes(
            shapes, shape_type="ellipse", name=name, edge_color="#ffd700",
            face_color="transparent", edge_width=0.12 * pixel_nm, features=features,
            units=(axis.unit, "nm", "nm"), axis_labels=tuple(layer.axis_labels),
            metadata={"contour": "FWHM: semi-axes sqrt(2 ln 2) sigma of the fitted Gaussian",
                      "width_model": result.parameters.width_model},
        )
        self.viewer.layers.selection.active = layer

    def _summary_text(self, layer) -> str:
        r = self.analysis.result
        lines = [f"<b>{layer.name}</b>: σ₀ = {r.sigma0_nm:.1f} ± {r.sigma0_err_nm:.1f} nm, "
                 f"{int((r.frames['status'].values == 'ok').sum())} of {r.frames.sizes['delay']}"
                 " frames fitted"]
        for g in r.regimes:
            lines.append(f"{g.name}: α = {g.alpha:.2f} ± {g.alpha_err:.2g}, "
                         f"{format_delay(g.start_fs)} – {format_delay(g.end_fs)}")
        b = r.band_like
        if b is None:
            lines.append("no band-like regime")
        else:
            lines.append(f"band-like transport: D_max = {b.D_max_cm2_s:.3g} ± "
                         f"{b.D_max_err_cm2_s:.2g} cm²/s, τ = {format_delay(b.tau_fs)}, "
                         f"L = {b.length_nm:.0f} nm")
        lines += [f"⚠ {w}" for w in self.analysis.warnings]
        return "<br>".join(lines)

    # -- the current frame ----------------------------------------------------------------
    def current_delay_fs(self) -> float:
        """Delay (fs) of the frame the viewer shows, or NaN before a fit."""
        if self.stack is None:
            return float("nan")
        index = self._layer.world_to_data(self.viewer.dims.point)[0]
        n = self.stack.sizes["delay"]
        return float(self.stack["delay"].values[int(np.clip(round(index), 0, n - 1))])

    def text_overlay(self):
        """The viewer's text overlay (``viewer.canvas.overlays.text`` from napari 0.9 on)."""
        canvas = getattr(self.viewer, "canvas", None)
        if canvas is not None and "text" in getattr(canvas, "overlays", {}):
            return canvas.overlays["text"]
        return self.viewer.text_overlay

    def _on_step(self, event=None) -> None:
        if self.stack is None:
            return
        delay = self.current_delay_fs()
        overlay = self.text_overlay()
        overlay.visible, overlay.color, overlay.font_size = True, "white", 12
        overlay.position = "top_left"
        overlay.text = f"delay {format_delay(delay)}"
        if self._axes:
            self._marks = mark_delay(self._axes, delay, self._marks)
            self.canvas.draw_idle()
