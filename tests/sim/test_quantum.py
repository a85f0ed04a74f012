"""Quantum band-like engine: HSR master equation, its SSE unravelling, Anderson localisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.linalg import expm_multiply

from tamkit.core.constants import HBAR_MEV_FS
from tamkit.core.errors import InputError
from tamkit.sim.film import film_preset, with_changes
from tamkit.sim.quantum import (
    QUANTUM_STOP_PERSISTENCE_TIMES,
    anderson_localisation_length,
    coherent_chain_msd_nm2,
    hsr_density_matrix_msd_nm2,
    hsr_ordered_msd_nm2,
    lattice_hamiltonian_meV,
    simulate_quantum_film,
    sse_msd_nm2,
)

J_MEV = 50.0
A_NM = 1.0  # lengths in pitches
UNIT_FS = HBAR_MEV_FS / J_MEV  # hbar / J


def test_lattice_hamiltonian_structure():
    h = lattice_hamiltonian_meV((5, 7), 2.0, site_energy_meV=np.arange(35.0))
    dense = h.toarray()
    assert np.array_equal(dense, dense.T)
    # open square lattice: 2 * (4*7 + 5*6) directed bonds
    assert np.count_nonzero(dense - np.diag(np.diag(dense))) == 2 * (4 * 7 + 5 * 6)
    assert np.array_equal(np.diag(dense), np.arange(35.0))
    with pytest.raises(InputError):
        lattice_hamiltonian_meV((4,), 1.0)
    with pytest.raises(InputError):
        lattice_hamiltonian_meV((5, 5, 5), 1.0)


def test_coherent_chain_exact_propagation():
    # psi(t) = exp(-i H t / hbar) psi(0) by Krylov (independent of the SSE): MSD = 800 a^2 at
    # J t / hbar = 20. 121 sites: the front is at 40 sites and Bessel tails beyond 60 are
    # below 1e-12, so the finite chain is exact to ~1e-10.
    n = 121
    h = lattice_hamiltonian_meV((n,), J_MEV) / HBAR_MEV_FS
    psi0 = np.zeros(n, complex)
    psi0[n // 2] = 1.0
    psi = expm_multiply(-1j * h * 20.0 * UNIT_FS, psi0)
    x = np.arange(n) - n // 2
    msd = float(np.sum(x**2 * np.abs(psi) ** 2))
    assert msd == pytest.approx(800.0, rel=1e-8)
    assert coherent_chain_msd_nm2(20.0 * UNIT_FS, J_MEV, A_NM) == pytest.approx(800.0)


def test_sse_coherent_chain_second_order():
    # no dephasing, no disorder: the SSE is deterministic; its Strang splitting error falls
    # 4x per halving of the step (second order) and is 2e-4 at the default step
    t = np.array([20.0 * UNIT_FS])
    errors = []
    for step in (0.1, 0.05):
        msd, _ = sse_msd_nm2(t, J_MEV, A_NM, 0.0, n_trajectories=2, max_step_fs=step * UNIT_FS)
        errors.append(abs(msd[0] / 800.0 - 1.0))
    assert errors[1] < 1e-3
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.1)


def test_hsr_density_matrix_1d_exact():
    # the master equation (exact trajectory average of the SSE) against the closed form;
    # 81 sites hold the spreading to < 1e-15 up to J t / hbar = 10 (61 sites: 6e-11)
    gamma = 0.5 / UNIT_FS
    t = np.array([0.0, 0.5, 2.0, 5.0, 10.0]) * UNIT_FS
    msd = hsr_density_matrix_msd_nm2((81,), J_MEV, A_NM, gamma, t)[:, 0]
    ref = hsr_ordered_msd_nm2(t, J_MEV, A_NM, gamma)
    assert msd[0] == 0.0
    assert np.all(np.abs(msd[1:] / ref[1:] - 1) < 1e-6)


def test_hsr_density_matrix_2d_per_axis():
    # same per axis on the square lattice, through the ballistic-diffusive crossover
    # (Gamma t = 0.5 ... 2.5); 21 x 21 sites hold the spread to ~1e-7 there (the edge error
    # is 2e-6 at Gamma t = 3 and 9e-9 on 25 x 25)
    gamma = 1.0 / UNIT_FS
    t = np.array([0.5, 1.5, 2.5]) * UNIT_FS
    msd = hsr_density_matrix_msd_nm2((21, 21), J_MEV, A_NM, gamma, t)
    ref = hsr_ordered_msd_nm2(t, J_MEV, A_NM, gamma)
    assert np.all(np.abs(msd / ref[:, None] - 1) < 1e-6)


@pytest.mark.parametrize("ndim", [1, 2])
def test_sse_matches_hsr_within_sampling_error(ndim):
    gamma = 1.0 / UNIT_FS
    t = np.array([1.0, 2.5, 4.0]) * UNIT_FS
    msd, err = sse_msd_nm2(t, J_MEV, A_NM, gamma, ndim=ndim, n_trajectories=120, seed=7)
    ref = hsr_ordered_msd_nm2(t, J_MEV, A_NM, gamma)
    # Strang bias ~1e-4 is far below the sampling error (~2-4 %); 4 SE bounds it
    assert np.all(np.abs(msd - ref) < 4.0 * err), (msd, ref, err)
    assert np.all(err < 0.1 * ref)


def test_sse_matches_density_matrix_in_a_disordered_landscape():
    # one fixed Gaussian landscape (sigma = J): the SSE average over kicks must reproduce the
    # master equation for that landscape, within the sampling error
    rng = np.random.default_rng(11)
    eps = rng.normal(0.0, J_MEV, size=41)
    gamma = 0.5 / UNIT_FS
    t = np.array([1.0, 4.0, 8.0]) * UNIT_FS
    exact = hsr_density_matrix_msd_nm2((41,), J_MEV, A_NM, gamma, t, site_energy_meV=eps)[:, 0]
    msd, err = sse_msd_nm2(t, J_MEV, A_NM, gamma, half_width=20, n_trajectories=200, seed=5,
                           site_energy_meV=eps)
    assert np.all(np.abs(msd - exact) < 4.0 * err), (msd, exact, err)


def test_static_disorder_slows_spreading():
    gamma = 0.2 / UNIT_FS
    t = np.array([30.0]) * UNIT_FS
    clean, e0 = sse_msd_nm2(t, J_MEV, A_NM, gamma, 0.0, n_trajectories=64, seed=2)
    dirty, e1 = sse_msd_nm2(t, J_MEV, A_NM, gamma, 2.0 * J_MEV, n_trajectories=64, seed=2)
    # sigma = 2 J localises to xi ~ 2 sites in 1D; dephasing-assisted hopping is slower than
    # the clean 2 J^2 / (hbar^2 Gamma) diffusion by far more than the sampling error
    assert dirty[0] + 4 * e1[0] < 0.5 * (clean[0] - 4 * e0[0])


def test_anderson_weak_disorder_coefficients():
    # second-order perturbation theory, exact as sigma -> 0: xi sigma^2 / J^2 = 105/12 = 8.75
    # at E = 0 (Kappus-Wegner) and 8 (1 - E^2 / 4 J^2) elsewhere (Thouless). sigma = 0.3 J:
    # corrections O(sigma^2) < 1 %; sampling error 0.3 %
    xi, err = anderson_localisation_length(0.3, 0.0, seed=1)
    assert xi * 0.09 == pytest.approx(8.75, rel=0.015)
    assert err * 0.09 < 0.05
    xi_e, _ = anderson_localisation_length(0.3, 0.5, seed=1)
    assert xi_e * 0.09 == pytest.approx(8.0 * (1 - 0.25 / 4), rel=0.015)


def test_anderson_length_at_sigma_equal_J():
    # PHYSICS.md: ~8.75 a for Gaussian sigma = J at E = 0; at sigma = J the higher orders
    # lengthen it by ~5 % (transfer matrix gives 9.19 +- 0.01), so 6 %
    xi, err = anderson_localisation_length(1.0, 0.0, seed=0)
    assert xi == pytest.approx(8.75, rel=0.06)
    assert err < 0.05


def test_bad_input():
    with pytest.raises(InputError):
        sse_msd_nm2([10.0, 5.0], J_MEV, A_NM, 0.1)
    with pytest.raises(InputError):
        sse_msd_nm2([1.0], J_MEV, A_NM, 0.1, ndim=3)
    with pytest.raises(InputError):
        hsr_ordered_msd_nm2(1.0, J_MEV, A_NM, -1.0)
    with pytest.raises(InputError):
        anderson_localisation_length(0.0)


def test_quantum_film_hands_over_at_localisation():
    # kappa = 1 makes tau_b = hbar / sigma_inh = 22 fs: every trajectory stops by 6 tau_b, so
    # the MSD is frozen from then on, and localisation can only lower the MSD
    film = with_changes(film_preset("cqd"), kappa=1.0)
    t_stop = QUANTUM_STOP_PERSISTENCE_TIMES * film.localisation_time_fs
    t = np.array([-5.0, 20.0, 60.0, t_stop, 2 * t_stop, 10 * t_stop])
    msd, err = simulate_quantum_film(film, 0.045, t, n_trajectories=48, seed=4)
    assert msd[0] == 0.0 and err[0] == 0.0
    assert msd[3] == msd[4] == msd[5]
    gamma = 1 / film.tau_c_fs(0.045)
    free, free_err = sse_msd_nm2(t[1:3], film.coupling_meV, film.pitch_nm, gamma,
                                 film.sigma_inh_meV, n_trajectories=48, seed=4)
    assert np.all(msd[1:3] < free + 4 * np.hypot(err[1:3], free_err))
