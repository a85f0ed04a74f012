"""Equilibrium hopping transport: the long-time diffusivity of dilute thermal carriers."""

from __future__ import annotations

import dataclasses

import pytest

from tamkit.core.constants import K_B_MEV_PER_K, einstein_mobility_cm2_Vs, nm2_per_fs_to_cm2_per_s
from tamkit.core.errors import InputError
from tamkit.sim.equilibrium import equilibrium_transport
from tamkit.sim.film import film_preset


def test_free_walk_gives_nu_a2():
    # no disorder: every hop has rate nu to each of 6 neighbours, so the per-axis MSD is
    # 2 nu a^2 t and D = nu a^2 exactly; ~1000 carriers x 1250 hops estimate it to ~2 %
    film = dataclasses.replace(film_preset("cqd"), sigma_site_meV=0.0)
    eq = equilibrium_transport(film, t_max_fs=1e7, n_groups=4, seed=1)
    expected = nm2_per_fs_to_cm2_per_s(film.hop_rate_per_fs * film.pitch_nm**2)
    assert eq.D_cm2_s == pytest.approx(expected, rel=max(0.05, 4 * eq.D_err_cm2_s / expected))
    assert eq.mobility_cm2_Vs == pytest.approx(einstein_mobility_cm2_Vs(eq.D_cm2_s, 300.0))
    assert eq.settled and eq.equilibrium_energy_meV == 0.0


def test_disordered_film_settles_and_is_slower():
    # sigma_site = 25 meV ~ k_B T: the carriers settle at -sigma^2 / k_B T (Bassler) well
    # before 100 ns and the equilibrium diffusivity lies below the disorder-free nu a^2; the
    # slopes of the last two decades agree (diffusive, not still sub-diffusive)
    film = film_preset("cqd")
    eq = equilibrium_transport(film, n_groups=4, seed=2)
    kT = K_B_MEV_PER_K * film.temperature_K
    assert eq.equilibrium_energy_meV == pytest.approx(-(25.0**2) / kT)
    assert eq.settled
    assert abs(eq.mean_energy_meV - eq.equilibrium_energy_meV) < 0.1 * kT
    free = nm2_per_fs_to_cm2_per_s(film.hop_rate_per_fs * film.pitch_nm**2)
    assert 0.2 * free < eq.D_cm2_s < 0.8 * free
    assert eq.D_previous_decade_cm2_s == pytest.approx(eq.D_cm2_s, rel=0.1)
    # the paper's literature range for such films' equilibrium mobility
    assert 1e-3 < eq.mobility_cm2_Vs < 1e-1
    assert eq.mobility_err_cm2_Vs < 0.1 * eq.mobility_cm2_Vs


def test_reproducible_with_seed():
    film = film_preset("cqd")
    a = equilibrium_transport(film, t_max_fs=1e6, n_groups=2, seed=5)
    b = equilibrium_transport(film, t_max_fs=1e6, n_groups=2, seed=5)
    assert a.D_cm2_s == b.D_cm2_s and a.summary() == b.summary()


@pytest.mark.parametrize("kwargs", [{"t_max_fs": 10.0}, {"t_max_fs": float("inf")},
                                    {"n_groups": 1}])
def test_bad_settings_are_input_errors(kwargs):
    with pytest.raises(InputError):
        equilibrium_transport(film_preset("cqd"), **kwargs)
