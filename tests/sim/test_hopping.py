"""Tests of the hopping / Auger / hot-carrier kinetic Monte Carlo: PHYSICS.md's analytic cases.

Every tolerance is set from the Monte Carlo error of the walker count used (stated beside it) so
that the tests are fast, deterministic (fixed seeds) and still able to fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from tamkit.core.constants import K_B_MEV_PER_K
from tamkit.core.errors import InputError
from tamkit.sim.hopping import HoppingResult, simulate_hopping, simulate_hopping_physics
from tamkit.sim.kmc import run_kmc
from tamkit.sim.landscape import (
    CUBIC_STEPS,
    DOT_CAPACITY,
    cubic_neighbours,
    gaussian_site_energies_meV,
    poisson_occupancy,
    thermal_rates_per_fs,
)

KT_300K_MEV = K_B_MEV_PER_K * 300.0
NU = 1e-3  # per-neighbour rate (1/fs) of the model-level tests; only nu t matters there


def _walkers(sigma_over_kT, nu_t, *, n_side=20, n_realisations=8, nabs=0.05, seed=0, **kw):
    """Independent thermal walkers (no Auger, no hot carriers) on Gaussian landscapes."""
    return simulate_hopping_physics(
        nabs_local=nabs, delay_fs=np.asarray(nu_t) / NU, pitch_nm=1.0,
        sigma_site_meV=sigma_over_kT * KT_300K_MEV, hop_rate_per_fs=NU, temperature_K=300.0,
        tau_xx_fs=np.inf, hot_rate_factor=0.0, tau_cool_fs=1.0, auger=False, hot_carriers=False,
        n_sites_side=n_side, n_realisations=n_realisations, seed=seed, **kw,
    )


def _alpha(nu_t, msd):
    return np.polyfit(np.log(nu_t), np.log(msd), 1)[0]


def test_free_lattice_walk_diffusivity():
    # ~16 000 walkers (nabs 0.25 on 40^3 dots, Auger off, capacity never reached): the per-axis
    # MSD, averaged over three axes, has a relative standard error sqrt(2/3/16000) = 0.65 %, so
    # the 2 % of PHYSICS.md is a 3-sigma bound. A lattice walk gives MSD = 2 nu a^2 t exactly.
    nu_t = np.array([2.0, 5.0, 20.0])
    r = _walkers(0.0, nu_t, n_side=40, n_realisations=1, nabs=0.25, seed=3)
    assert r.n_carriers > 15_000
    d_per_axis = r.msd_nm2 / (2 * nu_t / NU)  # nm^2/fs with a = 1 nm
    np.testing.assert_allclose(d_per_axis, NU * 1.0**2, rtol=0.02)
    # (few hops make the displacement distribution non-Gaussian: the error is largest early)
    assert np.all(r.msd_err_nm2 / r.msd_nm2 < 0.0075)
    np.testing.assert_array_equal(r.survival, 1.0)


def test_gaussian_disorder_sigma_equal_kT():
    # 3 100 walkers on 8 landscapes of 20^3 dots. Six seeds give alpha = 0.927 +- 0.003 and
    # <eps>(nu t = 10) = -0.987 +- 0.012 sigma; the tolerances are PHYSICS.md's rounding (~0.92,
    # -1.00) plus 3 standard deviations.
    nu_t = np.geomspace(1.0, 50.0, 10)
    r = _walkers(1.0, np.append(nu_t, 10.0))
    assert _alpha(nu_t, r.msd_nm2[:-1]) == pytest.approx(0.92, abs=0.02)
    assert r.mean_energy_meV[-1] / KT_300K_MEV == pytest.approx(-1.00, abs=0.045)
    # downhill relaxation: the mean energy falls monotonically over the first decade
    assert np.all(np.diff(r.mean_energy_meV[:5]) < 0)


def test_gaussian_disorder_sigma_twice_kT():
    # Same walkers at sigma / kT = 2; six seeds give alpha(1-100) = 0.712 +- 0.005 against
    # PHYSICS.md's 0.72; tolerance 0.03 (rounding + 3 sd).
    nu_t = np.geomspace(1.0, 100.0, 10)
    r = _walkers(2.0, nu_t)
    assert _alpha(nu_t, r.msd_nm2) == pytest.approx(0.72, abs=0.03)


def test_relaxation_reaches_boltzmann_mean_of_finite_landscape():
    # sigma / kT = 2: the equilibrium mean energy of a finite landscape is its own Boltzmann
    # average, -1.99 +- 0.11 sigma for 8000 sites (-sigma^2/kT = -2 sigma for an infinite one,
    # Bassler 1993). By nu t = 1e3 the walkers are within 0.1 sigma of it (measured 0.03-0.09;
    # the slowest part of the approach is the deep tail), averaged over 4 landscapes.
    kT, sigma, n_side = KT_300K_MEV, 2.0 * KT_300K_MEV, 20
    nbr = cubic_neighbours(n_side)
    dyn, boltz = [], []
    for child in np.random.SeedSequence(11).spawn(4):
        rng = np.random.default_rng(child)
        eps = gaussian_site_energies_meV(rng, nbr.shape[0], sigma)
        rates = thermal_rates_per_fs(eps, nbr, NU, kT)
        occ0 = poisson_occupancy(rng, nbr.shape[0], 0.05)
        obs, _, _ = run_kmc(nbr, CUBIC_STEPS, eps, rates, occ0, np.array([1e3 / NU]),
                            DOT_CAPACITY, 0.0, kT, 0.0, 1, 1.0, 0.0, False, False, rng,
                            1.0, 0.0, 1.0, 1)
        dyn.append(obs[0, 3] / obs[0, 0])
        w = np.exp(-(eps - eps.min()) / kT)
        boltz.append(np.sum(eps * w) / np.sum(w))
    assert np.mean(dyn) / sigma == pytest.approx(np.mean(boltz) / sigma, abs=0.1)
    assert np.mean(boltz) / sigma == pytest.approx(-1.99, abs=0.15)


@pytest.mark.parametrize("model", ["miller-abrahams", "marcus"])
def test_detailed_balance_long_run_occupancy_is_boltzmann(model):
    # 16 walkers on one 4^3 landscape (sigma = kT) for nu t = 2e4: ~1e6 hops, every site visited
    # >~ 2000 times, so time fractions carry a few % relative error; the total-variation distance
    # to Boltzmann must be < 0.02 (uniform occupancy would be ~0.3 away).
    kT = KT_300K_MEV
    rng = np.random.default_rng(7)
    nbr = cubic_neighbours(4)
    eps = gaussian_site_energies_meV(rng, nbr.shape[0], kT)
    rates = thermal_rates_per_fs(eps, nbr, NU, kT, model=model, reorganisation_meV=60.0)
    occ0 = np.zeros(nbr.shape[0], dtype=np.int64)
    occ0[:16] = 1
    _, counts, residence = run_kmc(nbr, CUBIC_STEPS, eps, rates, occ0, np.array([2e4 / NU]),
                                   DOT_CAPACITY, 0.0, kT, 0.0, 1, 1.0, 0.0, False, False, rng,
                                   1.0, 0.0, 1.0, 1)
    occupancy = residence / residence.sum()
    boltzmann = np.exp(-(eps - eps.min()) / kT)
    boltzmann /= boltzmann.sum()
    assert counts[0] > 5e5
    assert 0.5 * np.abs(occupancy - boltzmann).sum() < 0.02
    assert 0.5 * np.abs(np.full_like(boltzmann, 1 / boltzmann.size) - boltzmann).sum() > 0.15


def test_thermal_rates_obey_detailed_balance():
    rng = np.random.default_rng(1)
    nbr = cubic_neighbours(5)
    eps = rng.normal(0, 40.0, nbr.shape[0])
    for model in ("miller-abrahams", "marcus"):
        k = thermal_rates_per_fs(eps, nbr, 2.0, 25.0, model=model, reorganisation_meV=80.0)
        # k_ij / k_ji = exp(-(eps_j - eps_i) / kT); slot 0 (+x) and slot 1 (-x) are reverses
        k_back = k[nbr[:, 0], 1]
        np.testing.assert_allclose(k[:, 0] / k_back, np.exp(-(eps[nbr[:, 0]] - eps) / 25.0),
                                   rtol=1e-10)
    flat = thermal_rates_per_fs(np.zeros(nbr.shape[0]), nbr, 2.0, 25.0)
    np.testing.assert_array_equal(flat, 2.0)


def test_auger_biexciton_decay_without_hopping():
    # 10 000 doubly excited dots, no hopping: n = 2 -> 1 at 2^2 * 1 / (4 tau_XX) = 1 / tau_XX,
    # so survival = (1 + exp(-t / tau_XX)) / 2. Standard error <= 0.25 %, tolerance 1 %.
    tau_xx = 10_000.0
    nbr = cubic_neighbours(22)
    n_sites = nbr.shape[0]
    occ0 = np.zeros(n_sites, dtype=np.int64)
    occ0[:10_000] = 2
    t = np.array([0.0, 2e3, 5e3, 1e4, 2e4, 5e4])
    eps = np.zeros(n_sites)
    obs, counts, _ = run_kmc(nbr, CUBIC_STEPS, eps, np.zeros((n_sites, 6)), occ0, t,
                             DOT_CAPACITY, 0.0, 25.0, 1370.0, 4, 4e-3, 1 / (4 * tau_xx),
                             True, True, np.random.default_rng(2), 1.0, 0.0, 1.0, 1)
    survival = obs[:, 0] / occ0.sum()
    np.testing.assert_allclose(survival, (1 + np.exp(-t / tau_xx)) / 2, atol=0.01)
    assert counts[0] == 0
    # every Auger event heated its survivor, and the survivors cooled in n_cool_steps steps
    assert counts[2] <= 4 * counts[1]
    assert obs[1, 4] > 0


def test_auger_master_equation_poisson_start():
    # Poisson start (<N> = 1) with no hopping: each dot follows the master equation
    # dP_n/dt = R_{n+1} P_{n+1} - R_n P_n, R_n = n^2 (n - 1) / (4 tau_XX), solved exactly by
    # expm. 27 000 dots: the mean per dot has a standard error ~0.4 %; tolerance 1.5 %.
    tau_xx = 10_000.0
    t = np.array([1e3, 5e3, 2e4, 1e5])
    r = simulate_hopping_physics(
        nabs_local=1.0, delay_fs=t, pitch_nm=3.0, sigma_site_meV=25.0, hop_rate_per_fs=0.0,
        temperature_K=300.0, tau_xx_fs=tau_xx, hot_rate_factor=30.0, tau_cool_fs=1000.0,
        n_sites_side=30, n_realisations=1, seed=4,
    )
    n = np.arange(DOT_CAPACITY + 1)
    rate = n**2 * (n - 1) / (4 * tau_xx)
    generator = np.diag(-rate) + np.diag(rate[1:], 1)
    p0 = np.exp(-1.0) / np.array([np.prod(np.arange(1, k + 1)) for k in n], dtype=float)
    p0[-1] += 1 - p0.sum()  # clipping at the dot's capacity
    mean_t = np.array([n @ expm(generator * tk) @ p0 for tk in t])
    np.testing.assert_allclose(r.survival, mean_t / (n @ p0), rtol=0.015)
    assert r.n_hops == 0


def test_full_dot_blocks_hops():
    # 8 carriers on every dot (<N> = 50 clipped at the capacity) and no Auger: nothing can move.
    r = simulate_hopping_physics(
        nabs_local=50.0, delay_fs=np.array([1e4]), pitch_nm=3.0, sigma_site_meV=0.0,
        hop_rate_per_fs=1e-3, temperature_K=300.0, tau_xx_fs=1e4, hot_rate_factor=30.0,
        tau_cool_fs=1e3, auger=False, n_sites_side=4, n_realisations=1,
    )
    assert r.n_carriers == DOT_CAPACITY * 64
    assert r.n_hops == 0 and r.msd_nm2[0] == 0.0


def test_reproducible_bit_for_bit_and_seed_dependent():
    kw = dict(nabs_local=0.18, delay_fs=np.geomspace(1e3, 1e5, 5), pitch_nm=3.0,
              sigma_site_meV=25.0, hop_rate_per_fs=2e-5, temperature_K=300.0, tau_xx_fs=1e4,
              hot_rate_factor=30.0, tau_cool_fs=1e3, n_sites_side=12, n_realisations=2)
    a = simulate_hopping_physics(seed=5, n_workers=1, **kw)
    b = simulate_hopping_physics(seed=5, n_workers=2, **kw)
    c = simulate_hopping_physics(seed=6, **kw)
    for name in ("msd_nm2", "msd_err_nm2", "survival", "mean_energy_meV", "hot_fraction"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.n_hops, a.n_auger) == (b.n_hops, b.n_auger)
    assert not np.array_equal(a.msd_nm2, c.msd_nm2)


def test_delays_any_order_and_before_time_zero():
    kw = dict(nabs_local=0.1, pitch_nm=3.0, sigma_site_meV=25.0, hop_rate_per_fs=2e-5,
              temperature_K=300.0, tau_xx_fs=1e4, hot_rate_factor=30.0, tau_cool_fs=1e3,
              n_sites_side=10, n_realisations=1, seed=2)
    ordered = simulate_hopping_physics(delay_fs=np.array([-50.0, 0.0, 1e3, 1e4]), **kw)
    shuffled = simulate_hopping_physics(delay_fs=np.array([1e4, 0.0, 1e3, -50.0]), **kw)
    np.testing.assert_array_equal(shuffled.msd_nm2, ordered.msd_nm2[[3, 1, 2, 0]])
    assert ordered.msd_nm2[0] == 0.0 and ordered.survival[0] == 1.0


@pytest.mark.parametrize(
    "change",
    [{"nabs_local": -0.1}, {"delay_fs": np.array([np.nan])}, {"pitch_nm": 0.0},
     {"rate_model": "nope"}, {"n_realisations": 0}, {"temperature_K": -1.0}],
)
def test_bad_input_raises_input_error(change):
    kw = dict(nabs_local=0.1, delay_fs=np.array([1e3]), pitch_nm=3.0, sigma_site_meV=25.0,
              hop_rate_per_fs=2e-5, temperature_K=300.0, tau_xx_fs=1e4, hot_rate_factor=30.0,
              tau_cool_fs=1e3, n_sites_side=6, n_realisations=1)
    kw.update(change)
    with pytest.raises(InputError):
        simulate_hopping_physics(**kw)


def test_fluence_dependence_comes_from_auger_heated_carriers():
    # Default cqd film and box (32 landscapes of 20^3 dots: 11 500 and 45 700 carriers at
    # <N> = 0.045 and 0.18). Before 100 ps the MSD rises with fluence: Auger survivors fly
    # band-like (D_hot = 27 nm^2/fs for ~15 ps), far more of them at 0.18; > 5 standard errors.
    # Flights end by ~100 ps and carriers that meet later do not Auger (encounter factor 0), so
    # the increments after 100 ps agree within 3.5 combined standard errors. With the survivors
    # kept cold the two fluences agree at every delay: the rise is the hot carriers alone.
    from tamkit.sim.film import film_preset

    film = film_preset("cqd")
    delay = np.array([1e4, 2e4, 5e4, 1e5, 3e5, 1e6])
    low, high = (simulate_hopping(film, n, delay, seed=1) for n in (0.045, 0.18))
    err = np.hypot(low.msd_err_nm2, high.msd_err_nm2)
    assert np.all((high.msd_nm2 - low.msd_nm2)[:4] > 5 * err[:4])
    late_low, late_high = low.msd_nm2[3:] - low.msd_nm2[3], high.msd_nm2[3:] - high.msd_nm2[3]
    late_err = np.hypot(low.msd_err_nm2[3:], high.msd_err_nm2[3:])
    assert np.all(np.abs(late_high - late_low) < 3.5 * late_err)
    assert high.n_auger > 3 * low.n_auger
    assert high.survival[3] == pytest.approx(high.survival[-1], abs=1e-3)
    cold_low, cold_high = (simulate_hopping(film, n, delay, seed=1, hot_carriers=False)
                           for n in (0.045, 0.18))
    cold_err = np.hypot(cold_low.msd_err_nm2, cold_high.msd_err_nm2)
    assert np.all(np.abs(cold_high.msd_nm2 - cold_low.msd_nm2) < 3.5 * cold_err)
    assert isinstance(low, HoppingResult)
    assert low.params["film"] == "cqd" and low.params["nabs_local"] == 0.045


def test_flight_of_auger_survivors_spreads_by_2_D_tau():
    # 4000 doubly excited dots of a 22^3 box, no thermal hopping, Auger in 100 fs, flights of
    # mean 1 ps with D_hot = 0.1 pitch^2/fs (0.9 nm^2/fs at a = 3 nm), no encounter Auger:
    # every pair leaves one survivor that flew a Gaussian of per-axis variance
    # 2 D_hot t_flight, so by 20 ps (Erlang-8 tail ~1e-20) the survivors' per-axis MSD is
    # 2 D_hot <t_flight> = 200 pitch^2, plus 1/12 from rounding to the lattice. Relative
    # standard error ~1.5 % (chi-square and Erlang spread over 4000 survivors); tolerance 5 %.
    # At 500 fs, inside the flights, the in-flight expectation 2 D_hot (t - t_Auger) is
    # recorded: the MSD lies between 0 and 2 D_hot t.
    nbr = cubic_neighbours(22)
    n_sites = nbr.shape[0]
    occ0 = np.zeros(n_sites, dtype=np.int64)
    occ0[::2][:4000] = 2
    d_hot, tau_f = 0.1, 1000.0
    t = np.array([500.0, 2e4])
    obs, counts, _ = run_kmc(nbr, CUBIC_STEPS, np.zeros(n_sites), np.zeros((n_sites, 6)), occ0,
                             t, DOT_CAPACITY, 0.0, 25.0, 1370.0, 1, 1.0, 1 / (4 * 100.0), True,
                             True, np.random.default_rng(5), 0.0, d_hot, 1 / tau_f, 8)
    msd = obs[:, 1] / obs[:, 0]
    # a few pairs are joined by a lander before their Auger: an encounter, which then waits
    assert counts[1] > 3980 and obs[1, 0] == 8000 - counts[1]
    assert msd[1] == pytest.approx(2 * d_hot * tau_f + 1 / 12, rel=0.05)
    assert 0 < msd[0] < 2 * d_hot * t[0]


def test_encounters_do_not_auger_with_factor_zero():
    # Two carriers excited on different dots of a 3^3 box hop fast (every site is within
    # 1.5 hops): they meet many times by 1e4 / nu. With the encounter factor 1 they Auger
    # (tau_XX = 10 / nu); with 0 they never do, while a pump-made pair still does.
    nbr = cubic_neighbours(3)
    n_sites = nbr.shape[0]
    eps = np.zeros(n_sites)
    rates = np.full((n_sites, 6), NU)
    occ0 = np.zeros(n_sites, dtype=np.int64)
    occ0[[0, 13]] = 1
    t = np.array([1e4 / NU])
    for factor, expected in [(1.0, 1), (0.0, 0)]:
        _, counts, _ = run_kmc(nbr, CUBIC_STEPS, eps, rates, occ0, t, DOT_CAPACITY, 0.0, 25.0,
                               0.0, 1, 1.0, 1 / (4 * 10 / NU), True, False,
                               np.random.default_rng(3), factor, 0.0, 1.0, 1)
        assert counts[1] == expected
    pair = np.zeros(n_sites, dtype=np.int64)
    pair[0] = 2
    _, counts, _ = run_kmc(nbr, CUBIC_STEPS, eps, np.zeros((n_sites, 6)), pair, t, DOT_CAPACITY,
                           0.0, 25.0, 0.0, 1, 1.0, 1 / (4 * 10 / NU), True, False,
                           np.random.default_rng(3), 0.0, 0.0, 1.0, 1)
    assert counts[1] == 1
