"""The truth of a synthetic measurement: what the carriers did and what the images should show.

Three layers, so that a user can tell transport from artefact:

* the carriers' true per-axis MSD(t), population-weighted over the spot (every carrier still
  present at t, wherever it started; this is what the spot's second moment grows by);
* the apparent MSD that Auger depletion of the spot centre causes on its own (survival S(x0, t)
  but no transport), as a second moment and as a Gaussian fit sees it;
* the MSD that a perfect Gaussian fit of the noise-free frames would report (IRF, detection
  blur, pixels, depletion and non-Gaussian shape included): the ideal the analysis can reach.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from tamkit import __version__
from tamkit.core.constants import einstein_mobility_cm2_Vs, nm2_per_fs_to_cm2_per_s
from tamkit.models.gaussian_spot import cramer_rao_bound, isotropic_jacobian, isotropic_model
from tamkit.sim.bandlike import band_like_parameters
from tamkit.sim.film import Film
from tamkit.sim.microscope import Microscope, SpotImager, dT_T_noise_variance
from tamkit.sim.spot import (
    SpotOverlaps,
    depletion_variance_nm2,
    spot_average,
    spot_population,
)

TRUTH_SCHEMA = "tamkit.truth/1"
#: Longest delay (fs) searched for the band-like maximum of D(t).
BAND_SEARCH_MAX_FS = 5000.0


def _at(times_fs: np.ndarray, values: np.ndarray, delay_fs: np.ndarray, before: float):
    """Per-level values (K, T) at ``delay_fs``; ``before`` where delay <= 0 (no carriers yet)."""
    t = np.clip(delay_fs, times_fs[0], None)
    out = np.stack([np.interp(t, times_fs, v) for v in values])
    out[:, delay_fs <= 0] = before
    return out


#: Columns of :func:`tamkit.models.gaussian_spot.isotropic_jacobian` for a centred spot's fit:
#: amplitude, sigma and offset (the centre is held at the frame centre).
_CENTRED = [0, 3, 4]


def fit_isotropic_sigma_nm(frames: np.ndarray, axis_nm: np.ndarray) -> np.ndarray:
    """Least-squares sigma (nm) of a centred isotropic Gaussian + offset, per frame (n, ny, nx).

    The model (:func:`tamkit.models.gaussian_spot.isotropic_model`, centre at the frame
    centre) is evaluated at pixel centres, as a per-frame Gaussian fit of camera frames is.
    Frames with no signal give NaN.
    """
    x, y = np.meshgrid(axis_nm, axis_nm)
    out = np.full(len(frames), np.nan)
    for i, frame in enumerate(frames):
        peak = frame.flat[np.argmax(np.abs(frame))]
        if peak == 0 or not np.isfinite(peak):
            continue
        scaled = (frame / peak).ravel()

        def resid(p, data=scaled):
            return isotropic_model(x, y, p[0], 0.0, 0.0, p[1], p[2]).ravel() - data

        def jac(p):
            full = isotropic_jacobian(x.ravel(), y.ravel(), p[0], 0.0, 0.0, p[1], p[2])
            return full[:, _CENTRED]

        fit = least_squares(resid, x0=[1.0, 150.0, 0.0], jac=jac, x_scale=[1.0, 100.0, 0.01])
        out[i] = abs(fit.x[1])
    return out


def localisation_precision(
    frame: np.ndarray, axis_nm: np.ndarray, sigma_nm: float, microscope: Microscope,
    n_average: int,
) -> dict:
    """Cramer-Rao bounds (nm) for the centre and sigma of one frame, per run and averaged.

    The Fisher bound of an isotropic Gaussian + offset (amplitude, x0, y0, sigma, offset;
    :func:`tamkit.models.gaussian_spot.cramer_rao_bound`) with the camera's per-pixel noise of
    dT/T (:func:`tamkit.sim.microscope.dT_T_noise_variance`); averaging n runs divides the
    variance by n.
    """
    noise_var = dT_T_noise_variance(frame, microscope)
    amp = frame.flat[np.argmax(np.abs(frame))]
    crb = cramer_rao_bound([amp, 0.0, 0.0, sigma_nm, 0.0], axis_nm, axis_nm, np.sqrt(noise_var))
    centre, sigma = crb["x0_nm"], crb["sigma_nm"]
    scale = 1.0 / np.sqrt(n_average)
    return {
        "centre_per_run_nm": centre, "sigma_per_run_nm": sigma,
        "centre_averaged_nm": float(centre * scale), "sigma_averaged_nm": float(sigma * scale),
        "msd_averaged_nm2": float(2 * sigma_nm * sigma * scale),
        "peak_snr_per_run": float(abs(amp) / np.sqrt(noise_var.flat[np.argmax(np.abs(frame))])),
    }


def band_like_truth(
    film: Film, nabs: float, times_fs: np.ndarray, msd_nm2: np.ndarray
) -> dict | None:
    """Band-like metrics of the spot-averaged MSD: where D = MSD / 2t peaks, or None.

    None when the film has no band-like regime (Ioffe-Regel, :func:`band_like_parameters`) or
    D(t) has no maximum inside (0, 5 ps].
    """
    if not band_like_parameters(film, nabs).band_like:
        return None
    keep = (times_fs > 0) & (times_fs <= BAND_SEARCH_MAX_FS)
    t, msd = times_fs[keep], msd_nm2[keep]
    d = msd / (2.0 * t)
    i = int(np.argmax(d))
    if i == 0 or i == t.size - 1:
        return None
    d_max = float(nm2_per_fs_to_cm2_per_s(d[i]))
    length = float(np.sqrt(msd[i]))
    return {
        "tau_fs": float(t[i]), "D_max_cm2_s": d_max, "length_nm": length,
        "n_dots": length / film.pitch_nm,
        "mobility_cm2_Vs": float(einstein_mobility_cm2_Vs(d_max, film.temperature_K)),
    }


def build_truth(
    *,
    film: Film,
    nabs: float,
    seed: int,
    microscope: Microscope,
    n_runs: int,
    n_spots: int,
    engine: str,
    delay_fs: np.ndarray,
    times_fs: np.ndarray,
    sims: dict,
    overlaps: SpotOverlaps,
    imager: SpotImager,
    dT_T: xr.DataArray,
) -> dict:
    """The ``truth`` dict of :func:`tamkit.sim.scenario.simulate_measurement` (JSON-ready).

    Keys: ``schema``, ``tamkit_version``, ``parameters`` (film, microscope, nabs, seed, runs,
    spots, engine, levels), ``sigma0_nm`` (what a fit of the t = 0 image measures),
    ``carrier_sigma0_nm``, ``delay_fs``, ``msd_nm2`` / ``msd_err_nm2`` / ``msd_band_nm2`` /
    ``msd_hop_nm2`` (true per-axis MSD, spot-averaged), ``D_cm2_s`` (MSD / 2t, null for t <= 0),
    ``survival``, ``mean_energy_meV``, ``auger_apparent_msd_nm2`` (depletion alone, second moment),
    ``auger_apparent_fit_msd_nm2`` (depletion alone, Gaussian fit), ``noise_free_fit``
    (sigma and MSD of fits to the noise-free frames), ``band_like`` (or null), ``precision``
    (Cramer-Rao bounds), ``levels`` (per-level curves and event counts).
    """
    pos = delay_fs > 0
    per_level = {
        key: _at(times_fs, sims[key], delay_fs, before)
        for key, before in [("msd_nm2", 0.0), ("msd_err_nm2", 0.0), ("msd_band_nm2", 0.0),
                            ("msd_hop_nm2", 0.0), ("survival", 1.0),
                            ("mean_energy_meV", np.nan)]
    }
    surv = per_level["survival"]
    averaged = {key: spot_average(overlaps, per_level[key], surv)
                for key in ("msd_nm2", "msd_err_nm2", "msd_band_nm2", "msd_hop_nm2",
                            "mean_energy_meV")}
    msd = averaged["msd_nm2"]
    d_cm2_s = np.full(delay_fs.shape, np.nan)
    d_cm2_s[pos] = nm2_per_fs_to_cm2_per_s(msd[pos] / (2.0 * delay_fs[pos]))
    population0 = spot_population(overlaps, np.ones((len(overlaps.levels), 1)))[0]
    survival = spot_population(overlaps, surv) / population0
    # relative to the same quadrature at S = 1, so that no loss gives exactly no broadening
    no_loss = depletion_variance_nm2(overlaps, np.ones((len(overlaps.levels), 1)))[0]
    depletion = depletion_variance_nm2(overlaps, surv) - no_loss

    # what Gaussian fits see: depletion alone (no IRF) and the full noise-free frames
    axis = microscope.axis_nm()
    k = len(overlaps.levels)
    sigma_fit0 = fit_isotropic_sigma_nm(imager.render(np.zeros(k), np.ones(k))[None], axis)[0]
    depleted = np.stack([imager.render(np.zeros(k), surv[:, i]) for i in range(delay_fs.size)])
    auger_fit = fit_isotropic_sigma_nm(depleted, axis) ** 2 - sigma_fit0**2
    auger_fit[~pos] = 0.0
    frames = np.asarray(dT_T.values)
    sigma_frames = fit_isotropic_sigma_nm(frames, axis)
    sigma_frames[delay_fs < 0] = np.nan

    grid_surv = sims["survival"]
    grid_msd = spot_average(overlaps, sims["msd_nm2"], grid_surv)
    # precision on the first frame the IRF has fully switched on (>= 3 sigma after t = 0)
    first = int(np.argmax(delay_fs >= 3.0 * microscope.irf_sigma_fs))
    precision = localisation_precision(frames[first], axis, sigma_frames[first], microscope,
                                       n_runs * n_spots)
    precision["delay_fs"] = float(delay_fs[first])

    levels_out = []
    for i, events in enumerate(sims["events"]):
        levels_out.append({**events, "msd_nm2": per_level["msd_nm2"][i],
                           "survival": surv[i], "mean_energy_meV": per_level["mean_energy_meV"][i]})
    return {
        "schema": TRUTH_SCHEMA,
        "tamkit_version": __version__,
        "parameters": {
            "film": film.to_dict(), "microscope": microscope.to_dict(), "nabs": nabs,
            "seed": seed, "n_runs": n_runs, "n_spots": n_spots, "engine": engine,
            "levels_nabs": overlaps.levels, "pixel_nm": microscope.pixel_nm,
            "pitch_nm": film.pitch_nm, "temperature_K": film.temperature_K,
        },
        "sigma0_nm": float(sigma_fit0),
        "carrier_sigma0_nm": microscope.pump_sigma_nm,
        "delay_fs": delay_fs,
        "msd_nm2": msd,
        "msd_err_nm2": averaged["msd_err_nm2"],
        "msd_band_nm2": averaged["msd_band_nm2"],
        "msd_hop_nm2": averaged["msd_hop_nm2"],
        "D_cm2_s": d_cm2_s,
        "survival": survival,
        "mean_energy_meV": averaged["mean_energy_meV"],
        "auger_apparent_msd_nm2": depletion,
        "auger_apparent_fit_msd_nm2": auger_fit,
        "noise_free_fit": {"sigma_nm": sigma_frames,
                           "msd_nm2": sigma_frames**2 - sigma_fit0**2},
        "band_like": band_like_truth(film, nabs, times_fs, grid_msd),
        "precision": precision,
        "levels": levels_out,
    }
