"""Stage 1: band-like transport in the first few hundred femtoseconds.

The default engine is semiclassical: each carrier's velocity is an Ornstein-Uhlenbeck process
(per axis, <v_x(t) v_x(0)> = v^2 exp(-t / tau_c), v^2 = 2 J^2 a^2 / hbar^2), and the carrier
localises at an exponentially distributed time of rate lambda = 1 / tau_b, after which band-like
motion stops (what follows is hopping, simulated elsewhere). The per-axis MSD is exact:

    MSD(t) = 2 v^2 tau_c [ (1 - e^{-lambda t}) / lambda
                           - (1 - e^{-(lambda + 1/tau_c) t}) / (lambda + 1/tau_c) ]

Dependences (PHYSICS.md, paper l. 194-229): carrier-carrier scattering shortens the velocity
memory, 1/tau_c = 1/tau_c0 + b <N_abs>; disorder shortens the persistence,
lambda = sigma_inh / (kappa hbar). The quantum engine (Haken-Strobl-Reineker, :mod:`.quantum`)
sits behind the same :func:`simulate_band_like`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamkit.core.errors import InputError
from tamkit.sim.film import Film


@dataclass(frozen=True)
class BandLikeParameters:
    """Semiclassical band-like parameters at one local density.

    Attributes
    ----------
    v2_nm2_fs2 : float
        Per-axis mean-square velocity (nm^2/fs^2); 0 when the film has no band-like regime.
    tau_c_fs : float
        Velocity correlation time (fs).
    tau_b_fs : float
        Mean band-like persistence before localisation, 1 / lambda (fs).
    band_like : bool
        False when the Ioffe-Regel criterion fails (mean free path below one pitch): the
        carriers then start localised and v^2 is set to 0.
    """

    v2_nm2_fs2: float
    tau_c_fs: float
    tau_b_fs: float
    band_like: bool = True

    @property
    def D_plateau_nm2_fs(self) -> float:
        """Diffusivity the OU motion would reach without localisation, v^2 tau_c (nm^2/fs)."""
        return self.v2_nm2_fs2 * self.tau_c_fs

    @property
    def msd_final_nm2(self) -> float:
        """Band-like MSD once every carrier has localised (nm^2).

        The t -> infinity limit of the formula, 2 v^2 tau_c [1/lambda - 1/(lambda + 1/tau_c)].
        """
        lam, gam = 1.0 / self.tau_b_fs, 1.0 / self.tau_c_fs
        return 2.0 * self.v2_nm2_fs2 * self.tau_c_fs * (1.0 / lam - 1.0 / (lam + gam))


@dataclass(frozen=True)
class BandLikeResult:
    """Per-axis band-like MSD of an ensemble.

    Attributes
    ----------
    delay_fs, msd_nm2, msd_err_nm2 : ndarray
        Delays (fs), per-axis MSD (nm^2) and its standard error (nm^2; 0 for the exact curve).
    localised_fraction : ndarray
        Fraction of carriers localised by each delay.
    parameters : BandLikeParameters
        What the run used.
    engine : str
        ``semiclassical`` or ``quantum``.
    """

    delay_fs: np.ndarray
    msd_nm2: np.ndarray
    msd_err_nm2: np.ndarray
    localised_fraction: np.ndarray
    parameters: BandLikeParameters
    engine: str = "semiclassical"


def semiclassical_msd_nm2(delay_fs, v2_nm2_fs2: float, tau_c_fs: float, tau_b_fs: float):
    """Exact per-axis MSD (nm^2) of OU velocity motion with exponential localisation.

    Parameters
    ----------
    delay_fs : array_like
        Delays (fs); the MSD is 0 for delay <= 0.
    v2_nm2_fs2 : float
        Per-axis mean-square velocity <v_x^2> (nm^2/fs^2).
    tau_c_fs : float
        Velocity correlation time (fs).
    tau_b_fs : float
        Mean persistence before localisation (fs); ``np.inf`` for no localisation.

    Returns
    -------
    ndarray
        MSD(t) = 2 v^2 tau_c [(1 - e^{-l t}) / l - (1 - e^{-(l + g) t}) / (l + g)],
        l = 1 / tau_b, g = 1 / tau_c; for l = 0 the first term is t (Ornstein-Uhlenbeck /
        Langevin MSD, e.g. Uhlenbeck & Ornstein, Phys. Rev. 36, 823 (1930)).

    Notes
    -----
    A carrier that localises at time T has displacement integral_0^min(t, T) v dt'. With
    P(T > t') = e^{-l t'}, MSD = 2 int_0^t dt1 int_0^t1 dt2 v^2 e^{-g (t1 - t2)} e^{-l t1},
    which integrates to the formula above.
    """
    t = np.asarray(delay_fs, dtype=float)
    if v2_nm2_fs2 < 0 or tau_c_fs <= 0 or tau_b_fs <= 0:
        raise InputError(
            f"need v^2 >= 0, tau_c > 0, tau_b > 0; got {v2_nm2_fs2}, {tau_c_fs}, {tau_b_fs}"
        )
    tp = np.clip(t, 0.0, None)
    lam = 0.0 if np.isinf(tau_b_fs) else 1.0 / tau_b_fs
    gam = 1.0 / tau_c_fs
    first = -np.expm1(-lam * tp) / lam if lam > 0 else tp
    second = -np.expm1(-(lam + gam) * tp) / (lam + gam)
    return 2.0 * v2_nm2_fs2 * tau_c_fs * (first - second)


def band_like_parameters(film: Film, nabs: float) -> BandLikeParameters:
    """Semiclassical parameters of ``film`` at local excitation density <N_abs> = ``nabs``.

    v^2 = 2 J^2 a^2 / hbar^2; 1/tau_c = 1/tau_c0 + b <N_abs> (carrier-carrier scattering,
    paper l. 194); tau_b = kappa hbar / sigma_inh (disorder ends the band-like regime, paper
    Fig. 4d). Below the Ioffe-Regel limit (mean free path v tau_c < pitch) there is no
    band-like motion and v^2 = 0.
    """
    if not np.isfinite(nabs) or nabs < 0:
        raise InputError(f"<N_abs> must be a finite number >= 0, got {nabs}")
    tau_c = film.tau_c_fs(nabs)
    band_like = film.has_band_like_regime(nabs)
    v2 = film.band_like_velocity2_nm2_fs2 if band_like else 0.0
    return BandLikeParameters(v2, tau_c, film.localisation_time_fs, band_like)


def _ou_localisation_monte_carlo(
    delay_fs: np.ndarray, params: BandLikeParameters, n_carriers: int, rng: np.random.Generator
):
    """Per-axis displacements of OU carriers that localise at exponential times.

    The OU velocity is advanced exactly between output delays (its transition is Gaussian), and
    the position increment is drawn jointly with it from the exact bivariate Gaussian of
    (v(t + h), x(t + h) - x(t)) given v(t) (Gillespie, Phys. Rev. E 54, 2084 (1996)), so no
    time-step error enters. A carrier that localises inside an interval moves only up to its
    localisation time.
    """
    v2, tau_c = params.v2_nm2_fs2, params.tau_c_fs
    sigma_v = np.sqrt(v2)
    n_axes = 2
    v = rng.normal(0.0, sigma_v, size=(n_axes, n_carriers))
    x = np.zeros((n_axes, n_carriers))
    t_loc = rng.exponential(params.tau_b_fs, size=n_carriers)
    now = 0.0
    out = np.empty((len(delay_fs), n_axes, n_carriers))
    for k, t_out in enumerate(delay_fs):
        t_end = max(float(t_out), now)
        # each carrier moves until min(t_end, its localisation time)
        h = np.clip(np.minimum(t_end, t_loc) - now, 0.0, None)
        if np.any(h > 0):
            v, dx = _ou_exact_step(v, h, sigma_v, tau_c, rng)
            x += dx
        now = t_end
        out[k] = x
    return out, t_loc


def _ou_exact_step(v, h, sigma_v, tau_c, rng):
    """Exact joint update of OU velocity and displacement over times h (array, fs)."""
    g = 1.0 / tau_c
    e = np.exp(-g * h)
    # moments of (v', dx) given v, for dv = -g v dt + sqrt(2 g) sigma_v dW
    mean_v = v * e
    mean_x = v * (1.0 - e) / g
    var_v = sigma_v**2 * (1.0 - e**2)
    var_x = sigma_v**2 / g**2 * (2.0 * g * h - 3.0 + 4.0 * e - e**2)
    cov_xv = sigma_v**2 / g * (1.0 - e) ** 2
    var_v = np.clip(var_v, 0.0, None)
    var_x = np.clip(var_x, 0.0, None)
    z1 = rng.standard_normal(v.shape)
    z2 = rng.standard_normal(v.shape)
    sd_v = np.sqrt(var_v)
    safe = sd_v > 0
    coef = np.where(safe, cov_xv / np.where(safe, sd_v, 1.0), 0.0)
    cond_var_x = np.clip(var_x - coef**2, 0.0, None)
    v_new = mean_v + sd_v * z1
    dx = mean_x + coef * z1 + np.sqrt(cond_var_x) * z2
    return np.where(h > 0, v_new, v), np.where(h > 0, dx, 0.0)


def simulate_band_like(
    film: Film,
    nabs: float,
    delay_fs,
    *,
    n_carriers: int | None = None,
    seed: int | None = 0,
    engine: str = "semiclassical",
    exact: bool = False,
    quantum_options: dict | None = None,
) -> BandLikeResult:
    """Band-like per-axis MSD of ``film`` at local density ``nabs``.

    Parameters
    ----------
    film : Film
        The film.
    nabs : float
        Local <N_abs> (photons absorbed per dot), which sets carrier-carrier scattering.
    delay_fs : array_like
        Output delays (fs), non-decreasing.
    n_carriers : int, optional
        Carriers (semiclassical, default 4000) or trajectories (quantum, default 256).
    seed : int or None
        Seed of the random generator (runs are reproducible bit for bit).
    engine : {"semiclassical", "quantum"}
        Semiclassical OU + localisation (default), or the Haken-Strobl-Reineker stochastic
        Schroedinger equation of :mod:`tamkit.sim.quantum`.
    exact : bool
        Semiclassical only: return the exact ensemble average (no sampling noise).
    quantum_options : dict, optional
        Extra keyword arguments for :func:`tamkit.sim.quantum.simulate_quantum_film`.

    Returns
    -------
    BandLikeResult
        MSD per axis (nm^2), its standard error, and the localised fraction.
    """
    t = np.asarray(delay_fs, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise InputError("delay_fs must be a non-empty 1D array of finite delays")
    if np.any(np.diff(t) < 0):
        raise InputError("delay_fs must be non-decreasing")
    if n_carriers is None:
        n_carriers = 256 if engine == "quantum" else 4000
    if n_carriers < 2:
        raise InputError(f"n_carriers must be >= 2, got {n_carriers}")
    params = band_like_parameters(film, nabs)
    localised = np.where(t > 0, -np.expm1(-np.clip(t, 0, None) / params.tau_b_fs), 0.0)
    if engine == "quantum":
        if not params.band_like:
            zeros = np.zeros_like(t)
            return BandLikeResult(t, zeros, zeros.copy(), np.ones_like(t), params, "quantum")
        from tamkit.sim.quantum import simulate_quantum_film

        msd, err = simulate_quantum_film(
            film, nabs, t, n_trajectories=n_carriers, seed=seed, **(quantum_options or {})
        )
        return BandLikeResult(t, msd, err, localised, params, "quantum")
    if engine != "semiclassical":
        raise InputError(f"engine must be 'semiclassical' or 'quantum', got {engine!r}")
    if exact or params.v2_nm2_fs2 == 0.0:
        msd = semiclassical_msd_nm2(t, params.v2_nm2_fs2, params.tau_c_fs, params.tau_b_fs)
        return BandLikeResult(t, msd, np.zeros_like(msd), localised, params)
    rng = np.random.default_rng(seed)
    disp, t_loc = _ou_localisation_monte_carlo(t, params, n_carriers, rng)
    sq = disp**2  # (delay, axis, carrier)
    # per-axis MSD: the two axes of one carrier share its localisation time, so average them
    # per carrier first and take the error over carriers (the independent samples)
    samples = sq.mean(axis=1)
    msd = samples.mean(axis=1)
    err = samples.std(axis=1, ddof=1) / np.sqrt(samples.shape[1])
    localised_mc = (t_loc[None, :] <= t[:, None]).mean(axis=1)
    return BandLikeResult(t, msd, err, localised_mc, params)
