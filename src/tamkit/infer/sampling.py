"""Posterior sampling with emcee (affine-invariant ensemble; Foreman-Mackey et al., PASP 125,
306 (2013)), started around the maximum a posteriori point.

Parameters are sampled as ln(value): the priors are log-uniform (flat in ln), optionally times a
log-normal factor (a measured sigma_inh from a TA map).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from tamkit.infer.parameters import Prior


@dataclass(frozen=True)
class Chain:
    """Posterior samples and the sampler's diagnostics.

    Attributes
    ----------
    samples : ndarray (S, P)
        Posterior samples of the parameters (linear units), burn-in discarded, thinned.
    log_prob : ndarray (S,)
        Log posterior of each sample.
    map_values : ndarray (P,)
        Maximum a posteriori point (linear units).
    acceptance : float
        Mean acceptance fraction of the walkers.
    autocorr_steps : list of float
        Integrated autocorrelation time of each parameter (steps).
    n_effective : float
        Independent samples: walkers x kept steps / the longest autocorrelation time.
    n_walkers, n_steps, burn : int
    """

    samples: np.ndarray
    log_prob: np.ndarray
    map_values: np.ndarray
    acceptance: float
    autocorr_steps: list[float]
    n_effective: float
    n_walkers: int
    n_steps: int
    burn: int

    def convergence(self) -> dict:
        """The split-half check of :func:`split_half_convergence` on these samples."""
        return split_half_convergence(self.samples, self.n_effective)


#: a chain counts as unconverged when the two halves of its kept steps differ in the mean of a
#: ln(parameter) by more than SHIFT_SD posterior SDs and SHIFT_Z standard errors of that
#: difference, or in its SD by more than a factor SD_RATIO (the walkers start in a small ball
#: at the MAP point: an ensemble still spreading out, or drifting, shows up this way)
SHIFT_SD, SHIFT_Z, SD_RATIO = 0.2, 3.0, 1.5


def split_half_convergence(samples: np.ndarray, n_effective: float) -> dict:
    """Compare the first and second half of the kept samples (in step order), per parameter.

    Parameters
    ----------
    samples : ndarray (S, P)
        Kept samples in step order (emcee's flat chain), linear units (compared in ln).
    n_effective : float
        Independent samples of the whole chain: each half holds half of them, so the halves'
        mean difference has a standard error of sqrt(4 / n_effective) posterior SDs.

    Returns
    -------
    dict
        ``converged`` (bool), ``mean_shift_sd`` and ``sd_ratio`` (second half / first) per
        parameter, and the thresholds.
    """
    logs = np.log(samples)
    half = logs.shape[0] // 2
    first, second = logs[:half], logs[half:]
    sd = np.maximum(logs.std(axis=0), 1e-300)
    shift = (second.mean(axis=0) - first.mean(axis=0)) / sd
    ratio = second.std(axis=0) / np.maximum(first.std(axis=0), 1e-300)
    z = np.abs(shift) / np.sqrt(4.0 / max(n_effective, 1.0))
    drifting = (np.abs(shift) > SHIFT_SD) & (z > SHIFT_Z)
    spreading = (ratio > SD_RATIO) | (ratio < 1.0 / SD_RATIO)
    return {"converged": bool(not np.any(drifting | spreading)),
            "mean_shift_sd": [float(v) for v in shift], "sd_ratio": [float(v) for v in ratio],
            "thresholds": {"mean_shift_sd": SHIFT_SD, "mean_shift_z": SHIFT_Z,
                           "sd_ratio": SD_RATIO}}


class LogPosterior:
    """ln prior + ln likelihood over ln(parameters), vectorised over walkers."""

    def __init__(self, priors: Sequence[Prior], loglike: Callable[[np.ndarray], np.ndarray],
                 gaussian: dict[int, tuple[float, float]] | None = None) -> None:
        self.lo = np.array([p.log_bounds[0] for p in priors])
        self.hi = np.array([p.log_bounds[1] for p in priors])
        self.loglike = loglike
        #: index -> (mean of ln value, sd of ln value): extra log-normal prior factors
        self.gaussian = dict(gaussian or {})

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        out = np.full(x.shape[0], -np.inf)
        inside = np.all((x > self.lo) & (x < self.hi), axis=1)
        if inside.any():
            lp = self.loglike(np.exp(x[inside]))
            for i, (mu, sd) in self.gaussian.items():
                lp = lp - 0.5 * ((x[inside, i] - mu) / sd) ** 2
            out[inside] = np.where(np.isfinite(lp), lp, -np.inf)
        return out


def find_map(post: LogPosterior, rng: np.random.Generator, n_starts: int = 4) -> np.ndarray:
    """The maximum a posteriori point in ln space: L-BFGS-B from a few starts.

    The value and its forward-difference gradient come from one batched call of the
    (vectorised) posterior, P + 1 points at a time.
    """
    span = post.hi - post.lo
    inner_lo, inner_hi = post.lo + 1e-6 * span, post.hi - 1e-6 * span
    step = 1e-6 * np.maximum(span, 1.0)

    def value_and_grad(x):
        pts = np.vstack([x, x + np.diag(step)])
        lp = post(np.clip(pts, inner_lo, inner_hi))
        if not np.isfinite(lp[0]):
            return 1e300, np.zeros_like(x)
        grad = np.where(np.isfinite(lp[1:]), (lp[1:] - lp[0]) / step, 0.0)
        return -lp[0], -grad

    starts = [0.5 * (post.lo + post.hi)]
    starts += [rng.uniform(inner_lo, inner_hi) for _ in range(n_starts - 1)]
    best, best_val = starts[0], -np.inf
    for x0 in starts:
        res = minimize(value_and_grad, x0, jac=True, method="L-BFGS-B",
                       bounds=list(zip(inner_lo, inner_hi, strict=True)),
                       options={"maxiter": 500})
        val = post(res.x)[0]
        if val > best_val:
            best, best_val = res.x, val
    return np.asarray(best)


def sample(post: LogPosterior, *, n_walkers: int = 32, n_steps: int = 1500, burn: int = 500,
           thin: int = 5, seed: int = 0) -> Chain:
    """Run emcee from a small ball around the MAP point; see :class:`Chain`."""
    import emcee

    rng = np.random.default_rng(seed)
    x_map = find_map(post, rng)
    ndim = x_map.size
    n_walkers = max(n_walkers, 2 * ndim + 2)
    p0 = x_map + 1e-3 * rng.standard_normal((n_walkers, ndim))
    p0 = np.clip(p0, post.lo + 1e-9, post.hi - 1e-9)
    sampler = emcee.EnsembleSampler(n_walkers, ndim, post, vectorize=True)
    # emcee draws from its own RandomState: seed it, so that a run is reproducible
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(p0, n_steps, progress=False)
    tau = sampler.get_autocorr_time(discard=burn, tol=0)
    flat = sampler.get_chain(discard=burn, thin=thin, flat=True)
    logp = sampler.get_log_prob(discard=burn, thin=thin, flat=True)
    n_eff = n_walkers * (n_steps - burn) / float(np.max(tau))
    return Chain(np.exp(flat), logp, np.exp(x_map), float(np.mean(sampler.acceptance_fraction)),
                 [float(t) for t in tau], float(n_eff), n_walkers, n_steps, burn)
