"""Paths of the real TA data and synthetic-map helpers shared by the spectro tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

#: Real measurements live outside the repository (never copied in); tests skip without them.
DATA_TA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ta"
HIPPIUS = DATA_TA / "hippius2007_perylene_bisimide.ascii"
SKULTRAFAST = DATA_TA / "skultrafast_visible_chirped.npz"
C2O = DATA_TA / "pyglotaran_c2o_tol.ascii"
RU_ACN = DATA_TA / "kimopack_Ru-dppz_400nm_ACN.SIA"


def need(path: Path) -> Path:
    """Skip the calling test, with the reason, when a real data file is absent."""
    if not path.exists():
        pytest.skip(f"real TA data {path.name} not available (../shared/data/ta absent)")
    return path


def four_band_das(wl: np.ndarray) -> np.ndarray:
    """Four Gaussian decay-associated spectra of mixed sign across the probe range."""
    centres = ((550, 1.0), (650, -0.7), (800, 0.8), (900, 0.5))
    return np.stack([a * np.exp(-0.5 * ((wl - c) / 40.0) ** 2) for c, a in centres])


TRUE_LIFETIMES_FS = (300.0, 3000.0, 40000.0, 400000.0)


