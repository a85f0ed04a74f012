"""Film model: Moreels sizing, packing geometry, presets and user TOML films."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamkit.core.constants import HBAR_MEV_FS, nm2_per_fs_to_cm2_per_s, nm_to_ev
from tamkit.core.errors import InputError
from tamkit.sim.film import (
    FIT_PARAMETERS,
    PRESET_NAMES,
    dot_diameter_from_exciton_nm,
    film_from_mapping,
    film_preset,
    load_film,
    moreels_gap_eV,
    pitch_from_fraction_nm,
)


def test_moreels_sizing_gives_2p7_nm_for_the_solution_peak():
    # PHYSICS.md: 849 nm (1.461 eV) in solution -> d = 2.7 nm (two significant figures)
    assert dot_diameter_from_exciton_nm(peak_nm=849.0) == pytest.approx(2.7, abs=0.05)
    # the film peak (905 nm) with the 91 meV film red shift is the same dot
    from_film = dot_diameter_from_exciton_nm(peak_nm=905.0, film_red_shift_meV=91.0)
    assert from_film == pytest.approx(dot_diameter_from_exciton_nm(peak_eV=1.461), abs=0.01)


@settings(max_examples=25, deadline=None)
@given(st.floats(1.0, 15.0))
def test_moreels_inverse_round_trip(d_nm):
    assert dot_diameter_from_exciton_nm(moreels_gap_eV(d_nm)) == pytest.approx(d_nm, rel=1e-9)


def test_sizing_rejects_bad_input():
    with pytest.raises(InputError):
        dot_diameter_from_exciton_nm(1.4, peak_nm=900.0)
    with pytest.raises(InputError):
        dot_diameter_from_exciton_nm(0.3)  # below the bulk gap of PbS


@pytest.mark.parametrize(("x", "pitch"), [(0.0, 3.00), (0.4, 3.07), (0.6, 3.51), (0.9, 5.57)])
def test_pitch_values_from_physics_md(x, pitch):
    # PHYSICS.md prints two decimals: the tolerance is half the last digit
    assert pitch_from_fraction_nm(2.7, x) == pytest.approx(pitch, abs=0.005)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 0.98), st.floats(0.0, 0.98))
def test_pitch_constant_below_voids_and_monotone(x1, x2):
    lo, hi = sorted((x1, x2))
    assert pitch_from_fraction_nm(2.7, lo) <= pitch_from_fraction_nm(2.7, hi) + 1e-12
    if hi <= 0.36:
        assert pitch_from_fraction_nm(2.7, hi) == pytest.approx(3.0)


def test_pitch_rejects_bad_fraction():
    with pytest.raises(InputError):
        pitch_from_fraction_nm(2.7, 1.0)


def test_presets_exist_and_unknown_name_lists_them():
    assert PRESET_NAMES == ("cqd", "qdip40", "qdip60", "qdip90")
    with pytest.raises(InputError, match="cqd, qdip40, qdip60, qdip90"):
        film_preset("perovskite")


def test_cqd_preset_geometry_and_rates():
    film = film_preset("cqd")
    assert film.exciton_peak_nm == pytest.approx(905.0, abs=0.05)
    assert film.dot_diameter_nm == pytest.approx(2.7, abs=0.05)
    assert film.pitch_nm == pytest.approx(3.0, abs=0.02)
    # "80 nm = 26 dots" (paper l. 187) needs the ~3.0 nm pitch
    assert 80.0 / film.pitch_nm == pytest.approx(26.0, abs=1.0)
    assert film.hop_rate_per_fs == pytest.approx(film.hop_rate0_per_fs)
    # 8 ps hop time (Proppe 2018) on 6 neighbours; per-axis D = nu a^2 ~ 2e-3 cm^2/s
    assert film.hop_time_fs == pytest.approx(8000.0)
    d_cm2_s = nm2_per_fs_to_cm2_per_s(film.hop_rate_per_fs * film.pitch_nm**2)
    assert 1e-3 < d_cm2_s < 1e-2
    v2 = 2.0 * (film.coupling_meV * film.pitch_nm / HBAR_MEV_FS) ** 2
    assert film.band_like_velocity2_nm2_fs2 == pytest.approx(v2, rel=1e-12)


def test_composition_trends():
    films = [film_preset(name) for name in PRESET_NAMES]
    pitches = [f.pitch_nm for f in films]
    assert pitches == sorted(pitches)
    # sigma_inh falls as perovskite content rises (paper Fig. 2d)
    sigmas = [f.sigma_inh_meV for f in films]
    assert sigmas == sorted(sigmas, reverse=True)
    # the exciton peak blue-shifts as coupling falls, unnoticeably at 40 vol% (paper l. 218)
    peaks = [f.exciton_peak_nm for f in films]
    assert peaks == sorted(peaks, reverse=True)
    assert peaks[0] - peaks[1] < 10.0
    # couplings and hop rates fall with spacing as exp(-beta ds) and exp(-2 beta ds)
    cqd, q90 = films[0], films[-1]
    ds = q90.spacing_nm - cqd.spacing_nm
    assert q90.coupling_meV / cqd.coupling_meV == pytest.approx(math.exp(-cqd.beta_per_nm * ds))
    assert q90.hop_rate_per_fs / cqd.hop_rate_per_fs == pytest.approx(
        math.exp(-2 * cqd.beta_per_nm * ds)
    )
    # Ioffe-Regel: the band-like regime exists except at 90 vol% (paper l. 215)
    assert [f.has_band_like_regime(0.045) for f in films] == [True, True, True, False]


def test_fit_parameters_are_documented():
    for name, (value, why) in FIT_PARAMETERS.items():
        assert math.isfinite(value), name
        assert len(why) > 40, name


def test_load_film_preset_and_toml(tmp_path):
    assert load_film("qdip40") == film_preset("qdip40")
    path = tmp_path / "mine.toml"
    path.write_text('base = "cqd"\nsigma_inh_meV = 20.0\ntau_xx_fs = 2.0e4\n')
    film = load_film(path)
    assert film.name == "mine"
    assert film.sigma_inh_meV == 20.0 and film.tau_xx_fs == 2.0e4
    assert film.pitch_nm == film_preset("cqd").pitch_nm


def test_toml_composition_rederives_geometry(tmp_path):
    path = tmp_path / "x60.toml"
    path.write_text('name = "sixty"\nperovskite_fraction = 0.6\nsigma_inh_meV = 15.0\n')
    film = load_film(path)
    ref = film_preset("qdip60")
    assert film.name == "sixty"
    assert film.pitch_nm == pytest.approx(ref.pitch_nm)
    assert film.coupling_meV == pytest.approx(ref.coupling_meV)
    # an explicit pitch wins and keeps pitch = d + spacing
    explicit = film_from_mapping({"pitch_nm": 4.0})
    assert explicit.spacing_nm == pytest.approx(4.0 - explicit.dot_diameter_nm)


@pytest.mark.parametrize(
    "text",
    [
        "colour = 3\n",  # unknown key
        'base = "nope"\n',  # unknown base
        'base = [1, 2]\n',  # not a name (was an unhashable-type TypeError)
        'base = 3\n',
        'tau_xx_fs = "long"\n',  # not a number
        "sigma_inh_meV = -1.0\n",  # unphysical
        "perovskite_fraction = 1.5\n",
        "encounter_auger_factor = 2.0\n",  # a rate factor in [0, 1]
        "hot_flight_fs = -1.0\n",
        "perovskite_fraction = \"half\"\n",
        "name = 3\n",
        "this is not toml",
    ],
)
def test_bad_toml_raises_input_error(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError):
        load_film(path)


def test_missing_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="neither a film preset"):
        load_film(tmp_path / "absent.toml")


def test_film_energy_consistency():
    # the film peak of cqd is the solution gap minus the full 91 meV shift
    film = film_preset("cqd")
    shift_meV = (moreels_gap_eV(film.dot_diameter_nm) - nm_to_ev(film.exciton_peak_nm)) * 1e3
    assert shift_meV == pytest.approx(91.0, abs=1e-6)


def test_hot_diffusivity_is_the_unlocalised_band_like_D():
    # D_hot = v^2 tau_c0 = 2 (J a / hbar)^2 tau_c0: 27 nm^2/fs (270 cm^2/s) for cqd, and it
    # falls with spacing as J^2 a^2 (qdip90 has no band-like regime, and almost no flight)
    film = film_preset("cqd")
    expected = 2 * (film.coupling_meV * film.pitch_nm / HBAR_MEV_FS) ** 2 * film.tau_c0_fs
    assert film.hot_diffusivity_nm2_fs == pytest.approx(expected, rel=1e-12)
    assert nm2_per_fs_to_cm2_per_s(film.hot_diffusivity_nm2_fs) == pytest.approx(270, rel=0.02)
    assert film_preset("qdip90").hot_diffusivity_nm2_fs < 1e-2 * film.hot_diffusivity_nm2_fs
    assert film.hot_flight_fs > 0 and film.encounter_auger_factor == 0.0
