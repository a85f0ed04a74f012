"""The napari tests: headless (Qt offscreen), skipped when napari or Qt is missing.

``pip install ".[test,napari]"`` brings napari, PyQt5 and pytest-xvfb (an Xvfb display, when the
``xvfb`` package is installed, gives the offscreen platform its OpenGL context). Without the
extra these tests skip with the reason; with ``TAMKIT_REQUIRE_EXTRAS=1`` (as ``.ci/run`` sets)
a missing piece fails instead, so that CI cannot pass by skipping them.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _unavailable(reason: str):
    if os.environ.get("TAMKIT_REQUIRE_EXTRAS"):
        pytest.fail(f"TAMKIT_REQUIRE_EXTRAS is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def napari_module():
    """napari itself (not this test folder, which a bare ``import napari`` could find)."""
    try:
        import napari
        import napari.viewer  # noqa: F401  (a real napari has it; tests/napari does not)
        from qtpy import QtWidgets  # noqa: F401
    except Exception as err:  # ImportError, or qtpy's error for a missing Qt binding
        _unavailable(f"napari with a Qt binding is not importable ({err!r}): "
                     'pip install "tamkit[napari]"')
    return napari


def _x_display_answers(timeout_s: float = 20.0) -> bool:
    """Whether the X server on ``$DISPLAY`` accepts a connection, waiting up to ``timeout_s``.

    Qt's offscreen platform opens the display once, at its first OpenGL context, and keeps a
    failed connection for the rest of the process: a viewer made before pytest-xvfb's server
    answers could never draw. So the first viewer waits for the server.
    """
    import ctypes
    import ctypes.util
    import time

    name = ctypes.util.find_library("X11")
    if not os.environ.get("DISPLAY") or name is None:
        return False
    xlib = ctypes.CDLL(name)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    deadline = time.monotonic() + timeout_s
    while True:
        display = xlib.XOpenDisplay(None)
        if display:
            xlib.XCloseDisplay(display)
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@pytest.fixture(scope="session")
def x_display():
    """``$DISPLAY`` and whether it answers (checked once per test process)."""
    return os.environ.get("DISPLAY"), _x_display_answers()


#: viewers tried before the OpenGL context is declared missing, and the pause between them (s)
VIEWER_ATTEMPTS = 3
VIEWER_RETRY_PAUSE_S = 1.0


def _drawing_viewer(napari_module):
    """A hidden viewer that has drawn a probe layer, or the error of the last attempt.

    Under load (a clean-clone CI run beside other jobs) a viewer's canvas has twice found no
    current OpenGL context (vispy's GL_EXTENSIONS query gave None) while the X server
    answered: a new viewer, after Qt has processed its pending events, is tried again.
    """
    import time

    import numpy as np
    from qtpy import QtWidgets

    error = None
    for attempt in range(VIEWER_ATTEMPTS):
        viewer = napari_module.Viewer(show=False)
        try:
            viewer.add_image(np.zeros((2, 4, 4)), name="probe")
            viewer.layers.clear()
            return viewer, None
        except Exception as err:
            error = err
            try:  # napari's own close can fail on the layer it could not draw
                viewer.close()
            except Exception:
                pass
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.processEvents()
        if attempt + 1 < VIEWER_ATTEMPTS:
            time.sleep(VIEWER_RETRY_PAUSE_S)
    return None, error


@pytest.fixture
def viewer(napari_module, x_display):
    """A hidden napari viewer that can draw (an OpenGL context), closed after the test."""
    viewer, err = _drawing_viewer(napari_module)
    if viewer is None:
        display, answers = x_display
        _unavailable(f"napari cannot draw here, no OpenGL context after {VIEWER_ATTEMPTS} "
                     f"viewers ({err!r}; DISPLAY={display}, X server answering: {answers}, "
                     f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}): install Xvfb "
                     "(apt-get install xvfb) for pytest-xvfb, or run with a display")
    yield viewer
    viewer.close()


@pytest.fixture
def tamkit_plugin(napari_module):
    """tamkit's manifest in npe2: by its entry point when installed, else from the file."""
    from importlib.resources import files

    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    registered_here = "tamkit" not in {m.name for m in pm.iter_manifests()}
    if registered_here:
        pm.register(npe2.PluginManifest.from_file(files("tamkit.napari") / "napari.yaml"))
    yield pm
    if registered_here:
        pm.unregister("tamkit")
