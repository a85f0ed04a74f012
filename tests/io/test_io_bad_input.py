"""Bad input: each case is one InputError, one line, naming the file and the problem."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tamkit import io
from tamkit.core.errors import InputError
from tamkit.testing import artificial

DELAYS = np.array([-100.0, 0.0, 50.0, 200.0, 1000.0])


def _frames(n=5, ny=8, nx=8):
    return np.random.default_rng(0).normal(0.0, 1e-3, (n, ny, nx))


def _saved(tmp_path, suffix, frames=None):
    frames = _frames() if frames is None else frames
    stack = artificial.spreading_gaussian_stack(DELAYS, shape=(8, 8), seed=1)[0]
    stack = stack.copy(data=frames)
    return io.save_stack(stack, tmp_path / f"s{suffix}")


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _npy(tmp_path, array, name="a.npy"):
    np.save(tmp_path / name, array)
    return tmp_path / name


def _delays_file(tmp_path, text):
    (tmp_path / "d.txt").write_text(text)
    return tmp_path / "d.txt"


# each case: (id, builder(tmp_path) -> (path, kwargs), pattern the message must match)
CASES = [
    ("missing", lambda t: (t / "nope.tif", {}), "no such file"),
    ("directory", lambda t: (t, {}), "is a directory"),
    ("empty tif", lambda t: ((t / "e.tif").touch() or t / "e.tif", {}), "empty"),
    ("empty npy", lambda t: ((t / "e.npy").touch() or t / "e.npy", {}), "empty"),
    ("truncated tif", lambda t: (_truncate(_saved(t, ".tif"), 0.3), {}), "corrupt, truncated"),
    ("truncated nc", lambda t: (_truncate(_saved(t, ".nc"), 0.5), {}), "corrupt, truncated"),
    ("truncated npy", lambda t: (_truncate(_npy(t, _frames()), 0.5), {"delays": DELAYS,
                                                                       "pixel_nm": 50.0}),
     "corrupt, truncated"),
    ("garbage npz", lambda t: ((t / "g.npz").write_bytes(b"PK\x03\x04garbage" * 10) and
                               t / "g.npz", {}), "corrupt, truncated"),
    ("text as tif", lambda t: ((t / "x.tif").write_text("hello") and t / "x.tif", {}),
     "corrupt, truncated"),
    ("1D", lambda t: (_npy(t, np.arange(5.0)), {"delays": DELAYS, "pixel_nm": 50.0}), "1D"),
    ("4D", lambda t: (_npy(t, np.zeros((2, 5, 8, 8))), {"delays": DELAYS, "pixel_nm": 50.0}),
     "4D"),
    ("too small", lambda t: (_npy(t, _frames(5, 4, 4)), {"delays": DELAYS, "pixel_nm": 50.0}),
     "too small"),
    ("delay count", lambda t: (_npy(t, _frames()), {"delays": DELAYS[:4], "pixel_nm": 50.0}),
     "4 delays given for 5 frames"),
    ("delays on the last axis", lambda t: (_npy(t, np.moveaxis(_frames(5, 9, 9), 0, -1)),
                                           {"delays": DELAYS, "pixel_nm": 50.0}),
     "5 delays given for 9 frames.*move the delay axis first"),
    ("unsorted", lambda t: (_npy(t, _frames()), {"delays": DELAYS[[0, 2, 1, 3, 4]],
                                                  "pixel_nm": 50.0}), "not sorted"),
    ("duplicate", lambda t: (_npy(t, _frames()), {"delays": np.array([-100.0, 0, 0, 5, 9]),
                                                   "pixel_nm": 50.0}), "duplicate delay"),
    ("NaN delays file", lambda t: (_npy(t, _frames()), {
        "delays": _delays_file(t, "delay_fs\n-100\n0\nnan\n200\n1000\n"), "pixel_nm": 50.0}),
     "line 4.*not a finite number"),
    ("NaN delays array", lambda t: (_npy(t, _frames()), {
        "delays": np.array([-100.0, 0, np.nan, 200, 1000]), "pixel_nm": 50.0}), "NaN"),
    ("non-numeric delays", lambda t: (_npy(t, _frames()), {
        "delays": _delays_file(t, "delay_fs\n-100\nzero\n"), "pixel_nm": 50.0}),
     "'zero' is not a number"),
    ("all-NaN frame", lambda t: (_npy(t, np.where(np.arange(5)[:, None, None] == 2, np.nan,
                                                  _frames())), {"delays": DELAYS,
                                                                "pixel_nm": 50.0}),
     "frame at delay 50 fs has no finite pixel"),
    ("no pixel size", lambda t: (_npy(t, _frames()), {"delays": DELAYS}), "no pixel size"),
    ("negative pixel", lambda t: (_npy(t, _frames()), {"delays": DELAYS, "pixel_nm": -5.0}),
     "positive"),
    ("zero pixel", lambda t: (_npy(t, _frames()), {"delays": DELAYS, "pixel_nm": 0.0}),
     "positive"),
    ("no delays for npy", lambda t: (_npy(t, _frames()), {"pixel_nm": 50.0}), "no delays"),
    ("unknown suffix", lambda t: ((t / "s.png").write_bytes(b"x") and t / "s.png", {}),
     "unknown file type '.png'"),
    ("chopper not on/off", lambda t: (_npz_raw(t, ["pump", "probe"]), {}), "'on' and 'off'"),
    ("chopper of 3", lambda t: (_npz_raw(t, ["on", "off", "dark"]), {}), "'on' and 'off'"),
    ("only baseline", lambda t: (_npy(t, _frames()), {"delays": DELAYS - 2000.0,
                                                       "pixel_nm": 50.0}), "no frame at delay"),
    ("pixel in metres", lambda t: (_npy(t, _frames()), {"delays": DELAYS, "pixel_nm": 5e-8}),
     "is the unit nm"),
    ("delays beyond a second", lambda t: (_npy(t, _frames()), {"delays": DELAYS * 1e300,
                                                                "pixel_nm": 50.0}),
     "beyond one second"),
    ("values of 1e-300", lambda t: (_npy(t, _frames() * 1e-300 + 1e-301),
                                    {"delays": DELAYS, "pixel_nm": 50.0}), "rescale the data"),
    ("values of 1e300", lambda t: (_npy(t, _frames() * 1e300 + 1e300),
                                   {"delays": DELAYS, "pixel_nm": 50.0}), "rescale the data"),
]


def _npz_raw(tmp_path, labels):
    counts = np.full((1, 1, len(labels), 5, 8, 8), 100.0)
    path = tmp_path / "raw.npz"
    np.savez(path, counts=counts, delay_fs=DELAYS, pixel_nm=50.0, chopper=np.array(labels))
    return path


@pytest.mark.parametrize(("builder", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(tmp_path, builder, pattern):
    path, kwargs = builder(tmp_path)
    with pytest.raises(InputError, match=pattern) as info:
        io.load_stack(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    # the message names the file at fault: the stack, or the delays file
    named = [str(path)] + [str(v) for v in kwargs.values() if hasattr(v, "suffix")]
    assert any(name in message for name in named)
    # the same error reaches load(), the one-call API
    with pytest.raises(InputError, match=pattern):
        io.load(path, **kwargs)


def test_sif_without_reader_names_supported_formats(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sif_parser", None)  # import fails as if not installed
    path = tmp_path / "scan.sif"
    path.write_bytes(b"Andor Technology Multi-Channel File\n")
    with pytest.raises(InputError, match=r"scan\.sif.*sif_parser.*TIFF"):
        io.load_stack(path, delays=DELAYS, pixel_nm=50.0)


def test_sif_read_through_sif_parser(tmp_path, monkeypatch):
    class FakeSifParser:  # sif_parser.np_open returns (frames, info)
        @staticmethod
        def np_open(path):
            return _frames(), {"ExposureTime": 0.1}

    monkeypatch.setitem(sys.modules, "sif_parser", FakeSifParser)
    path = tmp_path / "scan.sif"
    path.write_bytes(b"x")
    stack = io.load_stack(path, delays=DELAYS, pixel_nm=50.0)
    np.testing.assert_array_equal(stack.values, _frames())


def test_save_rejects_unknown_suffix_and_invalid_stacks(tmp_path):
    stack = artificial.spreading_gaussian_stack(DELAYS, shape=(8, 8), seed=1)[0]
    with pytest.raises(InputError, match="unknown file type"):
        io.save_stack(stack, tmp_path / "s.csv")
    with pytest.raises(InputError, match="stack dims"):
        io.save_stack(stack.transpose("x", "y", "delay"), tmp_path / "s.nc")
