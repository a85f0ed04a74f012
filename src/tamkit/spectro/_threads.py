"""One BLAS thread for the TA analysis.

The analysis' linear algebra is small (SVDs and QRs of a few-hundred-square map, P x P solves):
OpenBLAS threads add no speed there, and on a shared machine they spin, which multiplied the CPU
time of an SVD by about 9. :func:`single_blas_thread` sets every loaded OpenBLAS (NumPy's and
SciPy's wheels each bring one) to one thread for a block and restores the previous counts; it is
a no-op where the libraries cannot be found (not Linux, another BLAS), which changes only speed.
"""

from __future__ import annotations

import contextlib
import ctypes

_NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
          ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
          ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
          ("openblas_get_num_threads", "openblas_set_num_threads"))


def _controls() -> list[tuple]:
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh
                     if "openblas" in line.lower() and ".so" in line.split()[-1]}
    except OSError:
        return []
    out = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _NAMES:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype = ctypes.c_int
                out.append((get, set_))
                break
    return out


@contextlib.contextmanager
def single_blas_thread():
    """Run the block with one OpenBLAS thread (see the module docstring)."""
    controls = _controls()
    saved = []
    for get, set_ in controls:
        try:
            saved.append((set_, int(get())))
            set_(ctypes.c_int(1))
        except (OSError, ValueError):  # pragma: no cover - exotic builds
            continue
    try:
        yield
    finally:
        for set_, n in saved:
            set_(ctypes.c_int(n))
