"""Where the per-frame route and the global fit disagree: warnings, beyond their errors.

Both estimate the same sigma_0 and band-like metrics from the same data, so their errors are
positively correlated and the standard error of their difference is at most the combined
sqrt(e1^2 + e2^2): a difference beyond ``Z_DISAGREE`` combined errors is a real disagreement
(a model the data do not follow, or one route in a wrong minimum), not noise.
"""

from __future__ import annotations

import numpy as np

#: differences beyond this many combined standard errors are reported
Z_DISAGREE = 2.0

_COMPARED = (("sigma0", "sigma_0", "nm"), ("D_max", "D_max", "cm^2/s"),
             ("tau", "tau", "fs"), ("length", "band-like length", "nm"))


def _pairs(per_frame, global_fit):
    yield "sigma0", per_frame.sigma0_nm, per_frame.sigma0_err_nm, global_fit.sigma0_nm, \
        global_fit.sigma0_err_nm
    a, b = per_frame.band_like, global_fit.band_like
    if a is None or b is None:
        return
    yield "D_max", a.D_max_cm2_s, a.D_max_err_cm2_s, b.D_max_cm2_s, b.D_max_err_cm2_s
    yield "tau", a.tau_fs, a.tau_err_fs, b.tau_fs, b.tau_err_fs
    yield "length", a.length_nm, a.length_err_nm, b.length_nm, b.length_err_nm


def disagreements(per_frame, global_fit, z: float = Z_DISAGREE) -> list[str]:
    """Warnings where the per-frame result and the global fit differ beyond ``z`` combined
    standard errors, or where only one of them finds a band-like regime.

    Parameters
    ----------
    per_frame : TransportResult
        The per-frame route's result (``sigma0_nm``, ``band_like``...).
    global_fit : GlobalFit
        The global fit of the same stack.
    z : float
        Threshold in combined standard errors.

    Returns
    -------
    list of str
    """
    out = []
    labels = {key: (label, unit) for key, label, unit in _COMPARED}
    for key, v1, e1, v2, e2 in _pairs(per_frame, global_fit):
        combined = float(np.hypot(np.nan_to_num(e1), np.nan_to_num(e2)))
        if not (np.isfinite(v1) and np.isfinite(v2)) or combined <= 0:
            continue
        if abs(v1 - v2) > z * combined:
            label, unit = labels[key]
            out.append(f"per-frame and global fits disagree on {label}: {v1:.4g} ± {e1:.2g} "
                       f"vs {v2:.4g} ± {e2:.2g} {unit} ({abs(v1 - v2) / combined:.1f} "
                       "combined errors)")
    has_1, has_2 = per_frame.band_like is not None, global_fit.band_like is not None
    if has_1 != has_2:
        which = "per-frame" if has_1 else "global"
        other = "global" if has_1 else "per-frame"
        out.append(f"the {which} fit reports a band-like regime and the {other} fit does not "
                   f"(global model: {global_fit.model.name})")
    return out
