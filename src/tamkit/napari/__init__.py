"""tamkit in napari: a reader for TAM stacks and a dock widget that fits carrier transport.

Installed with ``pip install "tamkit[napari]"`` and declared to napari through the
``napari.manifest`` entry point (``napari.yaml`` beside this file, npe2):

* **Reader** (:mod:`tamkit.napari._reader`): ``.tif``/``.tiff`` (incl. ImageJ hyperstacks),
  ``.nc``/``.nc4``/``.h5``/``.hdf5``, ``.npy``/``.npz`` and ``.sif`` through :func:`tamkit.load`.
  The image layer's scale is (delay step in fs where the delays are uniform, else 1 with the
  delays in ``layer.metadata["delay_fs"]``; pixel size in nm, nm), with units and axis labels.
* **Widget** (:mod:`tamkit.napari._widget`): fits the selected stack with :func:`tamkit.analyze`
  and shows the fitted contours (FWHM ellipses) as a shapes layer, the MSD and D(t), and a
  kymograph of the line cut through the spot centre.

The layer data are made by :mod:`tamkit.napari.layers` (plain numpy, no Qt), so the numbers
napari shows can be checked without a display. Importing this package imports neither napari
nor Qt.
"""

from __future__ import annotations

__all__: list[str] = []
