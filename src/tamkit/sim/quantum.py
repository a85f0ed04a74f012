"""Quantum band-like engine: Haken-Strobl-Reineker (HSR) tight binding.

H = sum_n eps_n |n><n| + J sum_<nm> |n><m| on a 1D or 2D square lattice of pitch a, with static
Gaussian site energies eps_n (standard deviation sigma_inh) and pure dephasing at rate Gamma
(each site coherence rho_nm, n != m, decays at Gamma). The HSR master equation is

    d rho / dt = -i [H, rho] / hbar - Gamma (rho - diag(rho)).

Two solvers:

- :func:`sse_msd_nm2`, the engine: a stochastic Schroedinger equation. Each step h a trajectory
  gets independent Gaussian phase kicks phi_n ~ N(0, Gamma h) on every site; since
  E[exp(-i (phi_n - phi_m))] = exp(-Gamma h), the kick average is exactly the dephasing map, so
  the trajectory average is the HSR density matrix. The unitary part is split symmetrically
  (Strang) into exactly unitary two-site bond rotations and the diagonal, so the scheme is
  second order in h and costs O(N_sites) per step and trajectory.
- :func:`hsr_density_matrix_msd_nm2`, the reference: the master equation itself, propagated
  exactly (action of the matrix exponential of the sparse Liouvillian), for small lattices.
  It is the exact ensemble average of the SSE, so tests compare both to it.

References
----------
Haken & Strobl, Z. Phys. 262, 135 (1973); Reineker, in Exciton Dynamics in Molecular Crystals
and Aggregates (Springer, 1982); Moix, Khasin & Cao, New J. Phys. 15, 085010 (2013) (paper
ref. 39); Kappus & Wegner, Z. Phys. B 45, 15 (1981) (band-centre anomaly).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import expm_multiply

from tamkit.core.constants import HBAR_MEV_FS
from tamkit.core.errors import InputError


def coherent_chain_msd_nm2(delay_fs, coupling_meV: float, pitch_nm: float):
    """MSD (nm^2) of a carrier started on one site of an ordered chain, no dephasing.

    psi_n(t) = i^n J_n(2 J t / hbar) (Bessel), and sum_n n^2 J_n(x)^2 = x^2 / 2, so
    MSD = 2 J^2 a^2 t^2 / hbar^2 (800 a^2 at J t / hbar = 20).
    """
    t = np.asarray(delay_fs, dtype=float)
    return 2.0 * (coupling_meV * pitch_nm * t / HBAR_MEV_FS) ** 2


def hsr_ordered_msd_nm2(delay_fs, coupling_meV: float, pitch_nm: float, dephasing_per_fs: float):
    """Exact per-axis HSR MSD (nm^2) on an ordered hypercubic lattice, from one site.

    MSD = (4 J^2 a^2 / hbar^2 Gamma) [t - (1 - e^{-Gamma t}) / Gamma]; long-time diffusivity
    D = 2 J^2 a^2 / (hbar^2 Gamma). Gamma = 0 gives :func:`coherent_chain_msd_nm2`.

    References
    ----------
    Reineker (1982); Moix, Khasin & Cao, New J. Phys. 15, 085010 (2013).
    """
    t = np.clip(np.asarray(delay_fs, dtype=float), 0.0, None)
    if dephasing_per_fs < 0:
        raise InputError(f"dephasing rate must be >= 0, got {dephasing_per_fs}")
    if dephasing_per_fs == 0:
        return coherent_chain_msd_nm2(t, coupling_meV, pitch_nm)
    g = dephasing_per_fs
    # t - (1 - e^{-g t}) / g written stably for small g t
    bracket = t + np.expm1(-g * t) / g
    return 4.0 * (coupling_meV * pitch_nm / HBAR_MEV_FS) ** 2 / g * bracket


def _validate_shape(shape) -> tuple[int, ...]:
    shape = tuple(int(n) for n in np.atleast_1d(shape))
    if len(shape) not in (1, 2) or any(n < 3 for n in shape):
        raise InputError(f"lattice shape must be 1D or 2D with >= 3 sites per axis, got {shape}")
    if any(n % 2 == 0 for n in shape):
        raise InputError(f"lattice sizes must be odd (a centre site), got {shape}")
    return shape


def lattice_hamiltonian_meV(shape, coupling_meV: float, site_energy_meV=None) -> sp.csr_matrix:
    """Sparse tight-binding Hamiltonian (meV) of an open 1D or 2D lattice (C order)."""
    shape = _validate_shape(shape)
    n_sites = int(np.prod(shape))
    index = np.arange(n_sites).reshape(shape)
    rows, cols = [], []
    for axis in range(len(shape)):
        a = np.take(index, np.arange(shape[axis] - 1), axis=axis).ravel()
        b = np.take(index, np.arange(1, shape[axis]), axis=axis).ravel()
        rows += [a, b]
        cols += [b, a]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    h = sp.coo_matrix((np.full(rows.size, float(coupling_meV)), (rows, cols)), (n_sites, n_sites))
    diag = np.zeros(n_sites) if site_energy_meV is None else np.asarray(site_energy_meV).ravel()
    if diag.size != n_sites:
        raise InputError(f"site energies must have {n_sites} entries, got {diag.size}")
    return (h + sp.diags(diag)).tocsr()


def _axis_positions(shape):
    """Site coordinates (in pitches) along each axis, 0 at the centre site, C order."""
    grids = np.meshgrid(*[np.arange(n) - n // 2 for n in shape], indexing="ij")
    return [g.ravel().astype(float) for g in grids]


def hsr_liouvillian(shape, coupling_meV: float, dephasing_per_fs: float, site_energy_meV=None):
    """Sparse HSR generator L (1/fs) acting on row-major vec(rho): d vec(rho)/dt = L vec(rho).

    vec(H rho) = (H x I) vec(rho) and vec(rho H) = (I x H^T) vec(rho); dephasing multiplies
    every off-diagonal element by -Gamma.
    """
    h = lattice_hamiltonian_meV(shape, coupling_meV, site_energy_meV) / HBAR_MEV_FS
    n = h.shape[0]
    eye = sp.identity(n, format="csr")
    off_diagonal = np.ones(n * n)
    off_diagonal[np.arange(n) * (n + 1)] = 0.0
    commutator = sp.kron(h, eye, format="csr") - sp.kron(eye, h.T, format="csr")
    return (-1j * commutator - float(dephasing_per_fs) * sp.diags(off_diagonal)).tocsr()


def hsr_density_matrix_msd_nm2(
    shape,
    coupling_meV: float,
    pitch_nm: float,
    dephasing_per_fs: float,
    delay_fs,
    site_energy_meV=None,
) -> np.ndarray:
    """Per-axis MSD (nm^2) from the HSR master equation, started on the centre site.

    Propagates vec(rho) exactly, rho(t) = exp(L t) rho(0), by the truncated-Taylor action of
    the matrix exponential (scipy's ``expm_multiply``, Al-Mohy & Higham, SIAM J. Sci. Comput.
    33, 488 (2011), accurate to double precision), on an open lattice. For small lattices
    (the generator has N_sites^2 rows). Returns an array of shape (n_delay, ndim).
    """
    shape = _validate_shape(shape)
    t_out = np.asarray(delay_fs, dtype=float)
    if t_out.ndim != 1 or np.any(t_out < 0) or np.any(np.diff(t_out) < 0):
        raise InputError("delay_fs must be a non-decreasing 1D array of delays >= 0")
    if dephasing_per_fs < 0:
        raise InputError(f"dephasing rate must be >= 0, got {dephasing_per_fs}")
    liouvillian = hsr_liouvillian(shape, coupling_meV, dephasing_per_fs, site_energy_meV)
    n = int(np.prod(shape))
    rho = np.zeros(n * n, complex)
    centre = int(np.ravel_multi_index(tuple(s // 2 for s in shape), shape))
    rho[centre * (n + 1)] = 1.0
    diag_idx = np.arange(n) * (n + 1)
    populations = np.empty((t_out.size, n))
    now = 0.0
    for k, t_next in enumerate(t_out):
        if t_next > now:
            rho = expm_multiply(liouvillian * (t_next - now), rho)
            now = t_next
        populations[k] = rho[diag_idx].real
    positions = _axis_positions(shape)
    return np.stack([populations @ (x**2) for x in positions], axis=1) * pitch_nm**2


def _bond_rotation(psi, axis: int, parity: int, c: float, s: float) -> None:
    """Apply exp(-i theta (|n><n+1| + h.c.)) to all bonds (n, n+1) with n = parity mod 2."""
    length = psi.shape[axis]
    n_pairs = (length - parity) // 2
    if n_pairs == 0:
        return
    left = [slice(None)] * psi.ndim
    right = [slice(None)] * psi.ndim
    left[axis] = slice(parity, parity + 2 * n_pairs, 2)
    right[axis] = slice(parity + 1, parity + 1 + 2 * n_pairs, 2)
    a = psi[tuple(left)]
    b = psi[tuple(right)]
    a_new = c * a - 1j * s * b
    psi[tuple(right)] = c * b - 1j * s * a
    psi[tuple(left)] = a_new


def _hop_half(psi, theta_half: float, reverse: bool) -> None:
    """Half a step of all hopping bonds (each bond set exactly unitary), in a fixed order."""
    c, s = math.cos(theta_half), math.sin(theta_half)
    sets = [(axis, parity) for axis in range(1, psi.ndim) for parity in (0, 1)]
    for axis, parity in reversed(sets) if reverse else sets:
        _bond_rotation(psi, axis, parity, c, s)


def default_half_width(delay_max_fs: float, coupling_meV: float, dephasing_per_fs: float) -> int:
    """Lattice half-width (sites) that holds the spreading carrier with no edge population.

    The smaller of the ballistic front 2 J t / hbar and 8 rms widths of the ordered HSR
    spreading (disorder only slows it), plus 10 sites.
    """
    front = 2.0 * abs(coupling_meV) * delay_max_fs / HBAR_MEV_FS
    rms = math.sqrt(float(hsr_ordered_msd_nm2(delay_max_fs, coupling_meV, 1.0, dephasing_per_fs)))
    return int(math.ceil(min(front, 8.0 * rms))) + 10


def _per_axis_x2(psi, x2, ndim: int) -> np.ndarray:
    """<x^2> per trajectory (nm^2), averaged over the lattice axes."""
    density = np.abs(psi) ** 2
    per_axis = []
    for axis in range(1, ndim + 1):
        marginal = density.sum(axis=tuple(a for a in range(1, ndim + 1) if a != axis))
        per_axis.append(marginal @ x2)
    return np.mean(per_axis, axis=0)


def _sse_run(
    t_out, coupling_meV, pitch_nm, dephasing_per_fs, sigma_meV, ndim, half_width,
    n_trajectories, max_step_fs, rng, freeze_fs=None, site_energy_meV=None,
):
    """Per-trajectory <x^2> (nm^2), shape (n_delay, n_trajectories), by the SSE.

    ``freeze_fs`` (one time per trajectory) ends a trajectory's motion: from then on its
    <x^2> stays at the value it had (localisation hands the carrier over to hopping).
    """
    length = 2 * int(half_width) + 1
    shape = (n_trajectories,) + (length,) * ndim
    energy_scale = max(abs(coupling_meV), sigma_meV, HBAR_MEV_FS * dephasing_per_fs, 1e-12)
    h_max = max_step_fs if max_step_fs is not None else 0.05 * HBAR_MEV_FS / energy_scale
    if site_energy_meV is None:
        eps_over_hbar = rng.normal(0.0, sigma_meV, size=shape) / HBAR_MEV_FS
    else:
        landscape = np.asarray(site_energy_meV, dtype=float)
        if landscape.shape != shape[1:]:
            raise InputError(f"site energies must have shape {shape[1:]}, got {landscape.shape}")
        eps_over_hbar = np.broadcast_to(landscape / HBAR_MEV_FS, shape)
    psi = np.zeros(shape, complex)
    psi[(slice(None),) + (half_width,) * ndim] = 1.0
    x2 = (np.arange(length) - half_width).astype(float) ** 2 * pitch_nm**2
    frozen = np.full(n_trajectories, np.nan)
    out = np.zeros((t_out.size, n_trajectories))
    now = 0.0
    for k, t_next in enumerate(t_out):
        span = t_next - now
        n_steps = int(math.ceil(span / h_max)) if span > 0 else 0
        if n_steps:
            h = span / n_steps
            theta_half = coupling_meV * h / (2.0 * HBAR_MEV_FS)
            diag_phase = np.exp(-1j * eps_over_hbar * h)
            kick_sd = math.sqrt(dephasing_per_fs * h)
            for step in range(n_steps):
                _hop_half(psi, theta_half, reverse=False)
                psi *= diag_phase
                if kick_sd > 0:
                    psi *= np.exp(-1j * kick_sd * rng.standard_normal(shape))
                _hop_half(psi, theta_half, reverse=True)
                if freeze_fs is not None:
                    t_step = now + (step + 1) * h
                    newly = np.isnan(frozen) & (freeze_fs <= t_step)
                    if np.any(newly):
                        frozen[newly] = _per_axis_x2(psi[newly], x2, ndim)
        now = t_next
        current = _per_axis_x2(psi, x2, ndim)
        out[k] = np.where(np.isnan(frozen), current, frozen)
    return out


def _check_delays(delay_fs) -> np.ndarray:
    t_out = np.asarray(delay_fs, dtype=float)
    if t_out.ndim != 1 or t_out.size == 0 or np.any(t_out < 0) or np.any(np.diff(t_out) < 0):
        raise InputError("delay_fs must be a non-empty non-decreasing 1D array of delays >= 0")
    return t_out


def sse_msd_nm2(
    delay_fs,
    coupling_meV: float,
    pitch_nm: float,
    dephasing_per_fs: float,
    sigma_meV: float = 0.0,
    *,
    ndim: int = 1,
    half_width: int | None = None,
    n_trajectories: int = 256,
    max_step_fs: float | None = None,
    seed: int | None = 0,
    site_energy_meV=None,
):
    """Per-axis HSR MSD (nm^2) by the stochastic Schroedinger equation, from the centre site.

    Parameters
    ----------
    delay_fs : array_like
        Output delays (fs), non-decreasing, >= 0.
    coupling_meV, pitch_nm : float
        Nearest-neighbour coupling J (meV) and pitch a (nm).
    dephasing_per_fs : float
        Pure dephasing rate Gamma (1/fs).
    sigma_meV : float
        Standard deviation of the static Gaussian site energies (meV); each trajectory draws
        its own landscape, so the average is also over disorder.
    ndim : {1, 2}
        Chain or square lattice (open boundaries).
    half_width : int, optional
        Sites from the centre to the edge per axis; default :func:`default_half_width`.
    n_trajectories : int
        Trajectories (each with its own disorder and kicks).
    max_step_fs : float, optional
        Largest time step; default 0.05 hbar / max(J, sigma, hbar Gamma).
    seed : int or None
        Random seed (reproducible bit for bit).
    site_energy_meV : array_like, optional
        One fixed landscape (shape of the lattice) shared by all trajectories, instead of
        drawing one per trajectory from ``sigma_meV``; needs ``half_width``.

    Returns
    -------
    msd_nm2, msd_err_nm2 : ndarray
        Per-axis MSD averaged over the axes, and its standard error over trajectories.
    """
    t_out = _check_delays(delay_fs)
    if ndim not in (1, 2):
        raise InputError(f"ndim must be 1 or 2, got {ndim}")
    if n_trajectories < 2 or dephasing_per_fs < 0 or sigma_meV < 0:
        raise InputError("need n_trajectories >= 2, Gamma >= 0 and sigma >= 0")
    if half_width is None:
        half_width = default_half_width(float(t_out[-1]), coupling_meV, dephasing_per_fs)
    rng = np.random.default_rng(seed)
    x2 = _sse_run(t_out, coupling_meV, pitch_nm, dephasing_per_fs, sigma_meV, ndim,
                  half_width, n_trajectories, max_step_fs, rng, site_energy_meV=site_energy_meV)
    return x2.mean(axis=1), x2.std(axis=1, ddof=1) / math.sqrt(n_trajectories)


#: The quantum film engine propagates until this many mean persistence times tau_b; the
#: e^-6 = 0.25 % of trajectories still band-like then are frozen there (far below the
#: ~1/sqrt(n_trajectories) sampling error).
QUANTUM_STOP_PERSISTENCE_TIMES = 6.0


def simulate_quantum_film(
    film,
    nabs: float,
    delay_fs,
    *,
    n_trajectories: int = 256,
    seed: int | None = 0,
    ndim: int = 1,
    half_width: int | None = None,
    max_step_fs: float | None = None,
):
    """HSR band-like MSD of a :class:`tamkit.sim.film.Film` at local density ``nabs``.

    Maps the film onto HSR: J = film.coupling_meV, a = film.pitch_nm, static disorder
    sigma = film.sigma_inh_meV, dephasing Gamma = 1 / tau_c(<N_abs>) (so that the ordered-lattice
    diffusivity 2 J^2 a^2 / (hbar^2 Gamma) equals the semiclassical v^2 tau_c). As in the
    semiclassical engine, each trajectory ends its band-like motion at an exponential time of
    mean tau_b = kappa hbar / sigma_inh (the hand-over to hopping) and keeps its <x^2> from
    then on; the quantum engine replaces the Ornstein-Uhlenbeck velocity by coherent motion
    with dephasing and disorder. The chain (``ndim=1``) is the default: the ordered-lattice
    per-axis MSD is the same on any hypercubic lattice and the chain is far cheaper;
    ``ndim=2`` includes the weaker localisation of 2D disorder.

    Returns
    -------
    msd_nm2, msd_err_nm2 : ndarray
        Per-axis MSD and its standard error (nm^2). Delays <= 0 give 0.
    """
    t = np.asarray(delay_fs, dtype=float)
    msd = np.zeros_like(t)
    err = np.zeros_like(t)
    positive = t > 0
    if not np.any(positive):
        return msd, err
    if n_trajectories < 2:
        raise InputError(f"n_trajectories must be >= 2, got {n_trajectories}")
    if ndim not in (1, 2):
        raise InputError(f"ndim must be 1 or 2, got {ndim}")
    rng = np.random.default_rng(seed)
    tau_b = film.localisation_time_fs
    t_stop = QUANTUM_STOP_PERSISTENCE_TIMES * tau_b
    freeze = np.minimum(rng.exponential(tau_b, n_trajectories), t_stop)
    t_pos = t[positive]
    t_run = np.minimum(t_pos, t_stop)
    gamma = 1.0 / film.tau_c_fs(nabs)
    if half_width is None:
        half_width = default_half_width(float(t_run[-1]), film.coupling_meV, gamma)
    x2 = _sse_run(t_run, film.coupling_meV, film.pitch_nm, gamma, film.sigma_inh_meV, ndim,
                  half_width, n_trajectories, max_step_fs, rng, freeze_fs=freeze)
    msd[positive] = x2.mean(axis=1)
    err[positive] = x2.std(axis=1, ddof=1) / math.sqrt(n_trajectories)
    return msd, err


def anderson_localisation_length(
    sigma_over_J: float,
    energy_over_J: float = 0.0,
    *,
    n_sites: int = 20_000,
    n_chains: int = 500,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Localisation length (in pitches) of the 1D Anderson model by the transfer matrix.

    psi_{n+1} = ((E - eps_n) / J) psi_n - psi_{n-1} with eps_n ~ N(0, sigma); the Lyapunov
    exponent gamma = lim (1/N) ln |psi_N| is the mean of ln |r_n| for the ratios
    r_n = psi_{n+1} / psi_n (a stable recursion), and xi = 1 / gamma. Weak disorder gives
    xi = 8 (1 - E^2/4J^2) J^2 / sigma^2 away from the band centre (Thouless) and
    xi = 8.75 J^2 / sigma^2 at E = 0 (Kappus & Wegner anomaly, 105/96 x 8).

    Returns
    -------
    xi, xi_err : float
        Localisation length (pitches) and its standard error from the spread over chains.
    """
    if not sigma_over_J > 0 or n_sites < 100 or n_chains < 2:
        raise InputError("need sigma/J > 0, n_sites >= 100 and n_chains >= 2")
    rng = np.random.default_rng(seed)
    r = np.full(n_chains, 1.0)
    log_sum = np.zeros(n_chains)
    burn_in = min(1000, n_sites // 10)
    for n in range(n_sites + burn_in):
        eps = rng.normal(0.0, sigma_over_J, n_chains)
        r = (energy_over_J - eps) - 1.0 / r
        if n >= burn_in:
            log_sum += np.log(np.abs(r))
    gamma = log_sum / n_sites
    g_mean = gamma.mean()
    g_err = gamma.std(ddof=1) / math.sqrt(n_chains)
    return float(1.0 / g_mean), float(g_err / g_mean**2)
