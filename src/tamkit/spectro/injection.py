"""Carrier injection: the decay of a donor band against the rise of an acceptor band.

If carriers move from the perovskite (donor, its bleach near 565 nm) into the dots (acceptor,
bleach near 905 nm), the donor bleach decays and the acceptor bleach rises with one time constant
(the paper's Fig. 2c). Each band is fitted on its own with IRF-convolved exponentials
(:func:`tamkit.spectro.kinetics.fit_kinetics`); the injection time constants are the donor's
decay and the acceptor's rise (a component whose amplitude has the opposite sign to the band's
signal), and they agree if they differ by less than ``z_max`` combined standard errors or by less
than ``rel_tol`` of their mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from tamkit.spectro.globalfit import GlobalFit
from tamkit.spectro.kinetics import fit_kinetics


def _components(fit: GlobalFit) -> list[dict[str, Any]]:
    amps = fit.das.values[: len(fit.lifetimes_fs), 0]
    return [
        {"tau_fs": float(t), "err_fs": float(e), "amplitude": float(a), "status": s}
        for t, e, a, s in zip(fit.lifetimes_fs, fit.lifetimes_err_fs, amps, fit.status,
                              strict=True)
    ]


def _band_sign(fit: GlobalFit) -> float:
    fitted = fit.fitted.values[:, 0]
    return 1.0 if np.nanmax(fitted) >= -np.nanmin(fitted) else -1.0


def rise_components(fit: GlobalFit, min_fraction: float = 0.1) -> list[dict[str, Any]]:
    """Determined components that rise: amplitude opposite in sign to the band's signal.

    Components whose amplitude is below ``min_fraction`` of the largest are ignored (noise).
    """
    comps = _components(fit)
    sign = _band_sign(fit)
    biggest = max((abs(c["amplitude"]) for c in comps), default=0.0)
    return [c for c in comps if c["status"] in ("ok", "beyond_window")
            and c["amplitude"] * sign < 0 and abs(c["amplitude"]) >= min_fraction * biggest]


def decay_components(fit: GlobalFit, min_fraction: float = 0.1) -> list[dict[str, Any]]:
    """Determined components that decay: amplitude of the same sign as the band's signal."""
    comps = _components(fit)
    sign = _band_sign(fit)
    biggest = max((abs(c["amplitude"]) for c in comps), default=0.0)
    return [c for c in comps if c["status"] in ("ok", "beyond_window")
            and c["amplitude"] * sign > 0 and abs(c["amplitude"]) >= min_fraction * biggest]


def injection_test(
    tamap: xr.DataArray,
    donor_nm: tuple[float, float],
    acceptor_nm: tuple[float, float],
    *,
    irf_fwhm_fs: float = 100.0,
    n_exp_donor: int = 1,
    n_exp_acceptor: int = 2,
    reference_nm: tuple[float, float] | None = None,
    z_max: float = 2.0,
    rel_tol: float = 0.05,
) -> dict[str, Any]:
    """Compare the donor band's decay with the acceptor band's rise.

    Parameters
    ----------
    tamap : DataArray (delay, wavelength)
        Chirp-corrected map.
    donor_nm, acceptor_nm : (float, float)
        Wavelength bands of the donor and acceptor bleaches (nm).
    irf_fwhm_fs : float
        IRF FWHM (fs), e.g. from the global fit (kept fixed).
    n_exp_donor, n_exp_acceptor : int
        Exponentials per band; the donor also gets a non-decaying offset, the acceptor not (its
        slow decay is one of its exponentials).
    reference_nm : (float, float), optional
        A band that should show no rise (e.g. the dots' PIA); reported under ``reference``.
    z_max : float
        Agreement threshold in combined standard errors (2: ~95 % for Gaussian errors).
    rel_tol : float
        The two also agree if they differ by less than this fraction: a band average of a
        bleach that shifts while it rises is not exactly exponential, which biases each fit at
        the percent level, beyond the statistical errors of a low-noise map.

    Returns
    -------
    dict
        ``donor_tau_ps``/``acceptor_tau_ps`` with errors (None where none was found), ``z``,
        ``agree``, the components of each fit and, with ``reference_nm``, whether it rises.
    """
    donor = fit_kinetics(tamap, donor_nm, n_exp_donor, offset=True, irf_fwhm_fs=irf_fwhm_fs)
    acceptor = fit_kinetics(tamap, acceptor_nm, n_exp_acceptor, offset=False,
                            irf_fwhm_fs=irf_fwhm_fs)
    decays = decay_components(donor)
    rises = rise_components(acceptor)
    d = min(decays, key=lambda c: c["tau_fs"]) if decays else None
    a = min(rises, key=lambda c: c["tau_fs"]) if rises else None
    out: dict[str, Any] = {
        "donor_band_nm": list(donor_nm), "acceptor_band_nm": list(acceptor_nm),
        "donor_tau_ps": d["tau_fs"] / 1e3 if d else None,
        "donor_tau_err_ps": d["err_fs"] / 1e3 if d else None,
        "acceptor_tau_ps": a["tau_fs"] / 1e3 if a else None,
        "acceptor_tau_err_ps": a["err_fs"] / 1e3 if a else None,
        "donor_components": decays, "acceptor_rise_components": rises,
        "z": None, "relative_difference": None, "agree": False, "z_max": z_max,
        "rel_tol": rel_tol,
    }
    if d and a:
        diff = abs(d["tau_fs"] - a["tau_fs"])
        z = diff / np.hypot(d["err_fs"], a["err_fs"])
        rel = diff / (0.5 * (d["tau_fs"] + a["tau_fs"]))
        out.update(z=float(z), relative_difference=float(rel),
                   agree=bool(z < z_max or rel < rel_tol))
    if reference_nm is not None:
        ref = fit_kinetics(tamap, reference_nm, n_exp_acceptor, offset=False,
                           irf_fwhm_fs=irf_fwhm_fs)
        ref_rises = rise_components(ref)
        out["reference"] = {"band_nm": list(reference_nm), "rises": bool(ref_rises),
                            "rise_components": ref_rises}
    out["fits"] = {"donor": donor, "acceptor": acceptor}
    return out
