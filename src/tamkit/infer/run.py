"""The one call: a fluence series in, the film's band-like parameters (posterior) out."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tamkit.core.errors import InputError
from tamkit.infer.data import Measured, load_series
from tamkit.infer.forward import DEFAULT_WINDOW_FS, MAX_WINDOW_FS, BandLikeForward
from tamkit.infer.likelihood import DISCREPANCY_POINT, DISCREPANCY_SCALE, SeriesLikelihood
from tamkit.infer.parameters import DEFAULT_FREE, NOT_INFERRED, PRIORS, check_free
from tamkit.infer.sampling import Chain, LogPosterior, sample
from tamkit.infer.summary import correlations, identifiability, summarise

INFER_SCHEMA = "tamkit.infer/1"


@dataclass
class InferenceResult:
    """The posterior of a film's parameters and everything needed to show and check it."""

    film_base: str
    free: tuple[str, ...]
    series: list[Measured]
    chain: Chain
    parameters: dict[str, dict]
    correlations: dict[str, dict[str, float]]
    statements: list[str]
    forward: BandLikeForward
    cache: dict
    timing_s: dict = field(default_factory=dict)
    ta: dict | None = None

    def to_dict(self) -> dict:
        """The ``infer.json`` document (schema ``tamkit.infer/1``)."""
        from tamkit import __version__

        fixed = {k: getattr(self.forward.film, k) for k in
                 ("coupling_meV", "tau_c0_fs", "scatter_per_nabs", "kappa", "sigma_inh_meV")
                 if k not in self.free}
        c = self.chain
        return {
            "schema": INFER_SCHEMA,
            "tamkit_version": __version__,
            "parameters": self.parameters,
            "correlations": self.correlations,
            "identifiability": self.statements,
            "fixed": fixed,
            "not_inferred": dict(NOT_INFERRED),
            "map": dict(zip(self.free, c.map_values.tolist(), strict=True)),
            "diagnostics": {
                "sampler": "emcee.EnsembleSampler (stretch move)",
                "acceptance": c.acceptance, "autocorrelation_time_steps":
                    dict(zip(self.free, c.autocorr_steps, strict=True)),
                "n_effective": c.n_effective, "n_walkers": c.n_walkers, "n_steps": c.n_steps,
                "burn": c.burn, "n_samples": int(c.samples.shape[0]),
                "convergence": c.convergence(),
                "chi2": self.chi2(), "timing_s": self.timing_s,
            },
            "model": {
                "forward": "band-like closed form (OU velocity + exponential localisation) plus "
                           "the surrogate of the stochastic stages' early MSD "
                           "(tamkit.infer.surrogate), spot-averaged over the simulator's "
                           "density levels, IRF-averaged, through the fit-chain emulator "
                           "(tamkit.infer.chain)",
                "window_fs": [0.0, float(max(m.delay_fs.max() for m in self.series))],
                "discrepancy": {"scale": DISCREPANCY_SCALE, "point": DISCREPANCY_POINT},
                "determined_rule": "posterior SD of ln(value) <= 0.7 x the prior's",
            },
            "cache": self.cache,
            "inputs": [{"source": m.source, "nabs": m.nabs, "n_frames_used": int(m.delay_fs.size),
                        "sigma0_nm": m.sigma0_nm, "sigma0_err_nm": m.sigma0_err_nm}
                       for m in self.series],
            "film_base": self.film_base,
            "ta": self.ta,
        }

    def chi2(self) -> list[float]:
        """chi^2 per point of the posterior-median model, per measurement, with the likelihood's
        full covariance (errors, common sigma_0 offset, discrepancy)."""
        med = np.array([self.parameters[n]["median"] for n in self.free])
        models = self.forward.msd_nm2(med[None])
        out = []
        for m, mod in zip(self.series, models, strict=True):
            whiten = SeriesLikelihood([m]).chol[0]
            z = whiten @ (m.msd_nm2 - mod[0])
            out.append(float(np.mean(z**2)))
        return out


def _ta_sigma(path: str | os.PathLike) -> dict:
    """sigma_inh (meV) and its error from a ``spectro.json`` (its bleach section)."""
    from tamkit.io.results import SpectroResults, read_results

    try:
        res = read_results(path)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"--ta {path}: not a readable spectro.json ({exc})") from None
    if not isinstance(res, SpectroResults):
        raise InputError(f"--ta {path}: expected a spectro.json (tamkit.spectro/1)")
    bleach = res.sections.get("bleach") or {}
    value, err = bleach.get("sigma_inh_meV"), bleach.get("sigma_inh_err_meV")
    if value is None or err is None or not (math.isfinite(value) and math.isfinite(err)):
        raise InputError(f"--ta {path}: the map gives no sigma_inh with an error")
    return {"source": str(path), "sigma_inh_meV": float(value),
            "sigma_inh_err_meV": float(err), "convention": bleach.get("convention")}


def unconverged_statement(check: dict, free: Sequence[str], n_steps: int) -> str:
    """The warning for a chain whose halves disagree (:func:`split_half_convergence`)."""
    worst = int(np.argmax(np.abs(np.log(check["sd_ratio"])) + np.abs(check["mean_shift_sd"])))
    return (f"The chain has not converged: its two halves differ for {free[worst]} (mean shift "
            f"{check['mean_shift_sd'][worst]:+.2f} posterior SD, spread ratio "
            f"{check['sd_ratio'][worst]:.2f}); the intervals and 'determined' flags are not to be "
            f"trusted. Run longer (--steps {4 * n_steps}).")


def check_window(window_fs: float) -> float:
    """The end of the fitted window (fs), after 100 fs and at most :data:`MAX_WINDOW_FS`;
    :class:`InputError` else."""
    if isinstance(window_fs, bool) or not isinstance(window_fs, int | float):
        raise InputError(f"the window must be a number of fs, got {window_fs!r}")
    if not (math.isfinite(window_fs) and window_fs > 100.0):
        raise InputError(f"the window must end after 100 fs (a finite number of fs), "
                         f"got {window_fs}")
    if window_fs > MAX_WINDOW_FS:
        # beyond it the Auger loss and the hopping stages, which the forward model leaves out,
        # bend the MSD: the posterior came out narrow and wrong (kappa 28 [26, 30] vs 17.5)
        raise InputError(f"the window ends at {window_fs:g} fs, past the band-like stage the "
                         f"forward model describes: at most {MAX_WINDOW_FS:g} fs")
    return float(window_fs)


#: walkers x steps of one run: 32 walkers x 100,000 steps of 5 parameters is ~130 MB of chain
MAX_WALKER_STEPS = 3_200_000


def check_sampler(n_walkers: int, n_steps: int, burn: int, seed: int) -> None:
    """Raise :class:`InputError` for sampler settings emcee cannot use (numpy would raise a
    bare ValueError for a negative seed only once the emulator is trained)."""
    for name, value in (("n_walkers", n_walkers), ("n_steps", n_steps), ("burn", burn),
                        ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InputError(f"{name} must be an integer, got {value!r}")
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if n_walkers < 1 or n_steps < 1 or not 0 <= burn < n_steps:
        raise InputError(f"need n_walkers >= 1, n_steps >= 1 and 0 <= burn < n_steps; got "
                         f"{n_walkers}, {n_steps} and {burn}")
    if n_walkers * n_steps > MAX_WALKER_STEPS:
        raise InputError(f"{n_walkers} walkers x {n_steps} steps is more than the "
                         f"{MAX_WALKER_STEPS:.0e} samples tamkit keeps in memory; a few "
                         "thousand steps converge (see infer.json diagnostics.convergence)")


def infer_film(
    inputs: Sequence[str | os.PathLike | Measured],
    *,
    film: str = "cqd",
    free: Sequence[str] = DEFAULT_FREE,
    nabs: Sequence[float] | None = None,
    ta: str | os.PathLike | None = None,
    window_fs: float = DEFAULT_WINDOW_FS,
    n_walkers: int = 32,
    n_steps: int = 3000,
    burn: int = 1000,
    seed: int = 0,
    cache: str | os.PathLike | None = None,
    scheduler: str | None = None,
    emulate_fit: bool = True,
    late_stage: bool = True,
) -> InferenceResult:
    """Posterior of the band-like parameters of a film from a fluence series.

    Parameters
    ----------
    inputs : sequence
        Stack files, ``results.json`` files, analysis folders, or :class:`Measured` records.
    film : str
        Base film (preset or TOML file): pitch and every parameter that is not free.
    free : sequence of str
        ``Film`` fields to infer (default coupling_meV, tau_c0_fs, scatter_per_nabs, kappa).
    nabs : sequence of float, optional
        <N_abs> of each input (else from the inputs).
    ta : path, optional
        A ``spectro.json``: its sigma_inh (with error) becomes a log-normal prior on
        sigma_inh_meV, which is then freed; this is what separates kappa from sigma_inh.
    window_fs : float
        End of the fitted window (fs).
    n_walkers, n_steps, burn, seed : int
        emcee settings (steps per walker, discarded steps, seed).
    cache, scheduler : optional
        Cache folder of the fit-chain emulator and the Dask scheduler that trains it.
    emulate_fit : bool
        Pass the model through the fit-chain emulator (default); False models the population
        mean MSD (for a closed-form-only check).
    late_stage : bool
        Add the stochastic stages' early MSD from the surrogate trained on the simulator
        (default); False: band-like closed form only.

    Returns
    -------
    InferenceResult
    """
    from tamkit.infer.cache import (
        chain_tables,
        check_cache_dir,
        check_scheduler,
        late_stage_tables,
    )
    from tamkit.sim.film import load_film

    t0 = time.perf_counter()
    free = list(check_free(free))
    # every argument is checked before the inputs are analysed and the emulator trained
    check_sampler(n_walkers, n_steps, burn, seed)
    check_window(window_fs)
    check_cache_dir(cache)
    scheduler = check_scheduler(scheduler)
    base = load_film(film)
    ta_info = None
    gaussian = {}
    if ta is not None:
        ta_info = _ta_sigma(ta)
        if "sigma_inh_meV" not in free:
            free.append("sigma_inh_meV")
    if all(isinstance(m, Measured) for m in inputs):
        series = list(inputs)
    else:
        series = load_series(inputs, nabs, window_fs)
    t_load = time.perf_counter()
    if emulate_fit:
        tables, record = chain_tables(base, [m.nabs for m in series], folder=cache,
                                      scheduler=scheduler)
    else:
        tables, record = None, {"trained": 0, "hits": 0, "note": "fit-chain emulator off"}
    late, late_record = None, {"trained": False, "note": "surrogate off"}
    if late_stage:
        from tamkit.infer.forward import N_LEVELS
        from tamkit.sim.spot import default_levels

        levels = [default_levels(m.nabs, N_LEVELS) for m in series]
        late, late_record = late_stage_tables(base, levels, window_fs, folder=cache,
                                              scheduler=scheduler)
    record = {**record, "late_stage": late_record}
    t_chain = time.perf_counter()
    forward = BandLikeForward(base, [m.nabs for m in series], [m.delay_fs for m in series],
                              free, chain=tables, late=late, late_window_fs=window_fs)
    like = SeriesLikelihood(series)
    priors = [PRIORS[n] for n in free]
    if ta_info is not None:
        i = free.index("sigma_inh_meV")
        s, e = ta_info["sigma_inh_meV"], ta_info["sigma_inh_err_meV"]
        gaussian[i] = (math.log(s), max(e / s, 1e-3))
    post = LogPosterior(priors, lambda theta: like(forward.msd_nm2(theta)), gaussian)
    chain = sample(post, n_walkers=n_walkers, n_steps=n_steps, burn=burn, seed=seed)
    t_sample = time.perf_counter()
    params = summarise(chain.samples, priors)
    corr = correlations(chain.samples, free)
    fixed = {k: getattr(base, k) for k in ("sigma_inh_meV",) if k not in free}
    statements = identifiability(params, corr, fixed)
    check = chain.convergence()
    if not check["converged"]:
        statements.insert(0, unconverged_statement(check, free, n_steps))
    timing = {"load_s": t_load - t0, "emulator_s": t_chain - t_load,
              "sampling_s": t_sample - t_chain, "total_s": t_sample - t0}
    return InferenceResult(base.name, tuple(free), series, chain, params, corr, statements,
                           forward, record, timing, ta_info)
