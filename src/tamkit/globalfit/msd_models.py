"""The MSD models a global fit chooses among: sigma_t^2 = sigma_0^2 + MSD(t; theta).

Two families, both built from :mod:`tamkit.models.msd_laws`:

- ``band-like SBPL + k``: the smoothly broken power law of the band-like peak
  (:func:`~tamkit.models.msd_laws.sbpl_msd_nm2`, exponents a1 then a2 around t_b with
  smoothness s), followed by ``k`` sharp breaks b_1 < b_2 ... to later exponents
  (ln MSD gains (alpha_(j+1) - alpha_j) (ln t - ln b_j)_+ at each, as in the piecewise power law);
- ``piecewise k``: the continuous piecewise power law with ``k`` regimes
  (:func:`~tamkit.models.msd_laws.piecewise_power_law_msd_nm2`).

Each model is a parameter vector ``theta`` whose first entry is sigma_0^2 (nm^2), with bounds;
breaks are stored as ln b_1 and then log-gaps so that their order is a bound, not a constraint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamkit.globalfit.msd_batch import sigma_sq_rows
from tamkit.models.msd_laws import piecewise_power_law_msd_nm2, sbpl_msd_nm2

#: smoothness range of the band-like break (as in :mod:`tamkit.carrier_transport.bandpeak`):
#: 0.02 is a corner, 1.5 spreads the turn over ~1.5 decades
LOG_S_BOUNDS = (np.log(0.02), np.log(1.5))
#: later breaks at least a factor 1.5 apart in time (and after the band-like break)
MIN_LOG_GAP = np.log(1.5)
MAX_ALPHA = 3.0


@dataclass(frozen=True)
class MsdModel:
    """One MSD model: its family, number of later breaks or regimes, and the data's time range.

    Parameters
    ----------
    family : {"sbpl", "piecewise"}
        Band-like smoothly broken power law (then sharp breaks), or plain piecewise power law.
    k : int
        For ``sbpl``: the number of sharp breaks after the smooth one (0, 1, 2...). For
        ``piecewise``: the number of regimes (1, 2, 3...).
    t_range_fs : (float, float)
        First and last positive delay (fs) of the data: break bounds and the one-regime anchor.
    """

    family: str
    k: int
    t_range_fs: tuple[float, float]

    @property
    def name(self) -> str:
        if self.family == "sbpl":
            return "band-like SBPL" + (f" + {self.k} break{'s' * (self.k > 1)}" if self.k else "")
        return f"piecewise {self.k} regime{'s' * (self.k > 1)}"

    @property
    def n_params(self) -> int:
        if self.family == "sbpl":
            return 6 + 2 * self.k
        return 2 * self.k + 1

    @property
    def anchor_fs(self) -> float:
        """The one-regime piecewise law's anchor time: the geometric mean of the range (fs)."""
        return float(np.sqrt(self.t_range_fs[0] * self.t_range_fs[1]))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of ``theta``."""
        lt0, lt1 = np.log(self.t_range_fs)
        if self.family == "sbpl":
            lo = [0.0, -30.0, 0.0, -1.0, lt0, LOG_S_BOUNDS[0]]
            hi = [np.inf, 30.0, MAX_ALPHA, 2.0, lt1, LOG_S_BOUNDS[1]]
            for _ in range(self.k):
                lo += [-1.0, MIN_LOG_GAP]
                hi += [2.0, lt1 - lt0]
            return np.array(lo), np.array(hi)
        lo = [0.0, -30.0] + [0.0] * self.k
        hi = [np.inf, 30.0] + [MAX_ALPHA] * self.k
        if self.k > 1:
            lo += [lt0] + [MIN_LOG_GAP] * (self.k - 2)
            hi += [lt1] + [lt1 - lt0] * (self.k - 2)
        return np.array(lo), np.array(hi)

    def unpack(self, theta: np.ndarray) -> dict:
        """The named parameters of ``theta`` (breaks in fs)."""
        theta = np.asarray(theta, float)
        if self.family == "sbpl":
            later_alphas = theta[6::2]
            log_b = theta[4] + np.cumsum(theta[7::2])
            return {"sigma0_sq_nm2": theta[0], "log_m": theta[1], "a1": theta[2],
                    "a2": theta[3], "t_b_fs": float(np.exp(theta[4])),
                    "s": float(np.exp(theta[5])), "later_alphas": later_alphas,
                    "later_breaks_fs": np.exp(log_b)}
        alphas = theta[2:2 + self.k]
        breaks = np.exp(np.cumsum(theta[2 + self.k:])) if self.k > 1 else np.empty(0)
        return {"sigma0_sq_nm2": theta[0], "log_m": theta[1], "alphas": alphas,
                "breaks_fs": breaks}

    def msd_nm2(self, delay_fs: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """MSD(t; theta) (nm^2), zero for t <= 0."""
        t = np.asarray(delay_fs, float)
        p = self.unpack(theta)
        if self.family == "sbpl":
            msd = sbpl_msd_nm2(t, p["log_m"], p["a1"], p["a2"], np.log(p["t_b_fs"]),
                               np.log(p["s"]))
            if self.k:
                log_t = np.log(np.clip(t, 1e-300, None))
                alphas = np.concatenate([[p["a2"]], p["later_alphas"]])
                extra = sum((alphas[j + 1] - alphas[j])
                            * np.clip(log_t - np.log(p["later_breaks_fs"][j]), 0, None)
                            for j in range(self.k))
                msd = msd * np.exp(extra)
            return msd
        return piecewise_power_law_msd_nm2(t, p["breaks_fs"], p["alphas"],
                                           np.exp(p["log_m"]), self.anchor_fs)

    def sigma_sq_nm2(self, delay_fs: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """sigma_t^2 = sigma_0^2 + MSD(t; theta) (nm^2)."""
        return theta[0] + self.msd_nm2(delay_fs, theta)

    def sigma_sq_rows(self, delay_fs: np.ndarray,
                      theta_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sigma_t^2 (B, n_delays) in nm^2 and d sigma_t^2 / d theta (B, n_delays, n_params)
        of B parameter rows at once, closed-form (:mod:`tamkit.globalfit.msd_batch`)."""
        return sigma_sq_rows(self.family, self.k, self.anchor_fs, delay_fs, theta_rows)

    def sigma_sq_jacobian(self, delay_fs: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """d sigma_t^2 / d theta (nm^2 per unit of each parameter), shape
        (n_delays, n_params), closed-form."""
        t = np.atleast_1d(np.asarray(delay_fs, float))
        return self.sigma_sq_rows(t, np.asarray(theta, float)[None, :])[1][0]

    def sigma_sq_jacobian_fd(self, delay_fs: np.ndarray, theta: np.ndarray,
                             step: float = 1e-6) -> np.ndarray:
        """d sigma_t^2 / d theta, shape (n_delays, n_params), by central differences (the
        check of :meth:`sigma_sq_jacobian`)."""
        theta = np.asarray(theta, float)
        jac = np.empty((np.size(delay_fs), theta.size))
        jac[:, 0] = 1.0
        for i in range(1, theta.size):
            h = step * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] -= h
            jac[:, i] = (self.msd_nm2(delay_fs, up) - self.msd_nm2(delay_fs, down)) / (2 * h)
        return jac

    def start(self, sigma0_sq_nm2: float, msd_at: callable, t_b_fs: float,
              log_s: float = np.log(0.2), alphas: tuple[float, ...] | None = None,
              breaks_fs: tuple[float, ...] | None = None) -> np.ndarray:
        """A starting ``theta`` from rough numbers: sigma_0^2, an MSD interpolant ``msd_at(t)``
        (nm^2), the band-like (or first) break ``t_b_fs``, exponents and later breaks."""
        lo, hi = self.bounds()
        lt0, lt1 = np.log(self.t_range_fs)
        if self.family == "sbpl":
            a = list(alphas) if alphas is not None else [1.2, 0.5] + [0.4] * self.k
            br = list(breaks_fs) if breaks_fs is not None else list(
                np.exp(np.linspace(np.log(t_b_fs), lt1, self.k + 2)[1:-1]))
            theta = [sigma0_sq_nm2, np.log(max(msd_at(t_b_fs), 1e-3)), a[0], a[1],
                     np.log(t_b_fs), log_s]
            prev = np.log(t_b_fs)
            for j in range(self.k):
                theta += [a[2 + j], np.log(br[j]) - prev]
                prev = np.log(br[j])
        else:
            a = list(alphas) if alphas is not None else list(np.linspace(1.0, 0.4, self.k))
            if self.k == 1:
                theta = [sigma0_sq_nm2, np.log(max(msd_at(self.anchor_fs), 1e-3)), a[0]]
            else:
                # k - 1 breaks: t_b and k - 2 more, log-spaced up to the last delay
                br = list(breaks_fs) if breaks_fs is not None else [t_b_fs] + list(
                    np.exp(np.linspace(np.log(t_b_fs), lt1, self.k)[1:-1]))
                theta = [sigma0_sq_nm2, np.log(max(msd_at(br[0]), 1e-3)), *a,
                         np.log(br[0]), *np.diff(np.log(br))]
        return np.clip(np.asarray(theta, float), lo + 1e-6, np.where(np.isfinite(hi),
                                                                      hi - 1e-6, hi))


def candidate_models(t_range_fs: tuple[float, float], max_sbpl_breaks: int = 2,
                     max_piecewise: int = 3) -> list[MsdModel]:
    """The models compared by BIC: band-like SBPL + 0..``max_sbpl_breaks`` later breaks and
    piecewise power laws with 1..``max_piecewise`` regimes."""
    return ([MsdModel("sbpl", k, t_range_fs) for k in range(max_sbpl_breaks + 1)]
            + [MsdModel("piecewise", k, t_range_fs) for k in range(1, max_piecewise + 1)])
