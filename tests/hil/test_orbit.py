"""Truth orbit propagation, elements and RTN frame of hil.orbit against independent references.

The reference force model below is written from the equations (Vallado 2013, Ch. 8 and
Table 8-4) without calling hil.orbit, and integrated by scipy's DOP853 at rtol 1e-13.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from hil.constants import FLATTENING_EARTH, J2_EARTH, MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, R_EARTH_M
from hil.orbit import (
    Drag,
    Orbits,
    elements_to_rv,
    propagate,
    propagate_states,
    relative_rtn,
    rtn_dcm,
    rv_to_elements,
)
from hil.orbit.atmosphere import density_kg_m3, ellipsoidal_altitude_m

MU = MU_EARTH_M3_S2
DAY_S = 86400.0

# Vallado (2013) Table 8-4, transcribed independently of hil.orbit.atmosphere:
# base altitude (km), nominal density (kg/m^3), scale height (km).
REFERENCE_ATMOSPHERE = [
    (0, 1.225, 7.249), (25, 3.899e-2, 6.349), (30, 1.774e-2, 6.682), (40, 3.972e-3, 7.554),
    (50, 1.057e-3, 8.382), (60, 3.206e-4, 7.714), (70, 8.770e-5, 6.549), (80, 1.905e-5, 5.799),
    (90, 3.396e-6, 5.382), (100, 5.297e-7, 5.877), (110, 9.661e-8, 7.263),
    (120, 2.438e-8, 9.473), (130, 8.484e-9, 12.636), (140, 3.845e-9, 16.149),
    (150, 2.070e-9, 22.523), (180, 5.464e-10, 29.740), (200, 2.789e-10, 37.105),
    (250, 7.248e-11, 45.546), (300, 2.418e-11, 53.628), (350, 9.518e-12, 53.298),
    (400, 3.725e-12, 58.515), (450, 1.585e-12, 60.828), (500, 6.967e-13, 63.822),
    (600, 1.454e-13, 71.835), (700, 3.614e-14, 88.667), (800, 1.170e-14, 124.64),
    (900, 5.245e-15, 181.05), (1000, 3.019e-15, 268.00),
]


def reference_density(altitude_m):
    h_km = altitude_m / 1e3
    base, rho0, scale = next(row for row in reversed(REFERENCE_ATMOSPHERE) if h_km >= row[0])
    return rho0 * math.exp(-(h_km - base) / scale)


def reference_derivative(t, y, j2, inv_ballistic, thrust):
    """d/dt [r, v] under two-body + J2 + co-rotating drag + constant thrust."""
    x, yy, z = y[0], y[1], y[2]
    r = math.sqrt(x * x + yy * yy + z * z)
    a = -MU / r**3 * y[:3]
    s = 5.0 * z * z / (r * r)
    a += -1.5 * j2 * MU * R_EARTH_M**2 / r**5 * np.array([x * (1 - s), yy * (1 - s), z * (3 - s)])
    if inv_ballistic:
        v_rel = y[3:] + OMEGA_EARTH_RAD_S * np.array([yy, -x, 0.0])  # v - omega_E z x r
        altitude = r - R_EARTH_M * (1.0 - FLATTENING_EARTH * (z / r) ** 2)
        a += -0.5 * reference_density(altitude) * inv_ballistic * np.linalg.norm(v_rel) * v_rel
    return np.concatenate((y[3:], a + thrust))


def reference_propagate(r0, v0, dt_s, *, j2=J2_EARTH, inv_ballistic=0.0, thrust=(0, 0, 0),
                        max_step=np.inf):
    sol = solve_ivp(reference_derivative, (0.0, dt_s), np.concatenate((r0, v0)),
                    method="DOP853", rtol=1e-13, atol=1e-6, max_step=max_step,
                    args=(j2, inv_ballistic, np.asarray(thrust, dtype=float)))
    assert sol.success
    return sol.y[:3, -1], sol.y[3:, -1]


def state_from_apsides(perigee_alt_m, apogee_alt_m, inclination_deg, raan_deg=0.0,
                       argp_deg=0.0):
    """ECI state at perigee, built directly from the geometry (not via hil.orbit)."""
    rp, ra = R_EARTH_M + perigee_alt_m, R_EARTH_M + apogee_alt_m
    vp = math.sqrt(MU * (2.0 / rp - 2.0 / (rp + ra)))
    i, raan, argp = np.radians([inclination_deg, raan_deg, argp_deg])
    node = np.array([math.cos(raan), math.sin(raan), 0.0])
    normal = np.array([math.sin(raan) * math.sin(i), -math.cos(raan) * math.sin(i), math.cos(i)])
    in_plane = np.cross(normal, node)
    periapsis_dir = math.cos(argp) * node + math.sin(argp) * in_plane
    return rp * periapsis_dir, vp * np.cross(normal, periapsis_dir)


LEO_CIRCULAR_500 = state_from_apsides(500e3, 500e3, 51.6, raan_deg=30.0)
LEO_ECCENTRIC = state_from_apsides(350e3, 3000e3, 63.4, raan_deg=120.0, argp_deg=250.0)
LEO_POLAR_400 = state_from_apsides(400e3, 420e3, 97.4, raan_deg=-40.0, argp_deg=90.0)


def kepler_propagate(r0, v0, dt_s):
    """Two-body state after dt_s by Kepler's equation and Lagrange f, g (Curtis, Ch. 3)."""
    r0n, v0n = np.linalg.norm(r0), np.linalg.norm(v0)
    a = 1.0 / (2.0 / r0n - v0n**2 / MU)
    n = math.sqrt(MU / a**3)
    e_cos_e0 = 1.0 - r0n / a
    e_sin_e0 = (r0 @ v0) / math.sqrt(MU * a)
    e = math.hypot(e_cos_e0, e_sin_e0)
    ecc_anom0 = math.atan2(e_sin_e0, e_cos_e0)
    mean_anom = ecc_anom0 - e * math.sin(ecc_anom0) + n * dt_s
    ecc_anom = mean_anom
    for _ in range(50):
        ecc_anom -= (ecc_anom - e * math.sin(ecc_anom) - mean_anom) / (1.0 - e * math.cos(ecc_anom))
    d_e = ecc_anom - ecc_anom0
    f = 1.0 - a / r0n * (1.0 - math.cos(d_e))
    g = dt_s - (d_e - math.sin(d_e)) / n
    r = f * r0 + g * v0
    rn = np.linalg.norm(r)
    f_dot = -math.sqrt(MU * a) / (rn * r0n) * math.sin(d_e)
    g_dot = 1.0 - a / rn * (1.0 - math.cos(d_e))
    return r, f_dot * r0 + g_dot * v0


@pytest.mark.parametrize("state", [LEO_CIRCULAR_500, LEO_ECCENTRIC],
                         ids=["circular-500km-51.6deg", "eccentric-350x3000km-63.4deg"])
def test_j2_coast_matches_tight_reference_within_a_metre_after_a_day(state):
    r0, v0 = state
    r_ref, v_ref = reference_propagate(r0, v0, DAY_S)
    r, v = propagate(r0, v0, DAY_S)
    assert np.linalg.norm(r - r_ref) < 1.0
    assert np.linalg.norm(v - v_ref) < 1e-3


@pytest.mark.parametrize("state", [LEO_POLAR_400, LEO_ECCENTRIC],
                         ids=["polar-400x420km", "eccentric-crosses-density-bands"])
def test_drag_coast_matches_tight_reference_within_a_metre_after_a_day(state):
    r0, v0 = state
    drag = Drag(ballistic_coefficient_kg_m2=40.0)
    r_ref, v_ref = reference_propagate(r0, v0, DAY_S, inv_ballistic=1.0 / 40.0)
    r, v = propagate(r0, v0, DAY_S, drag=drag)
    r_no_drag, _ = propagate(r0, v0, DAY_S)
    assert np.linalg.norm(r_no_drag - r_ref) > 100.0, "drag must matter for this case"
    assert np.linalg.norm(r - r_ref) < 1.0
    assert np.linalg.norm(v - v_ref) < 1e-3


def test_constant_thrust_matches_reference_over_a_finite_burn():
    r0, v0 = LEO_CIRCULAR_500
    accel = 2e-3 * v0 / np.linalg.norm(v0)
    r_ref, v_ref = reference_propagate(r0, v0, 600.0, thrust=accel)
    r, v = propagate(r0, v0, 600.0, accel_N=accel)
    assert np.linalg.norm(r - r_ref) < 1e-3
    assert np.linalg.norm(v - v_ref) < 1e-6


def test_short_burn_adds_accel_times_duration_to_the_coast_velocity():
    r0, v0 = LEO_ECCENTRIC
    accel = np.array([3e-3, -1e-3, 2e-3])
    _, v_burn = propagate(r0, v0, 10.0, accel_N=accel)
    _, v_coast = propagate(r0, v0, 10.0)
    # the burn's 0.2 m displacement changes gravity by up to ~5e-7 m/s^2: ~3e-6 m/s in 10 s
    np.testing.assert_allclose(v_burn - v_coast, accel * 10.0, rtol=0.0, atol=1e-5)


@pytest.mark.parametrize("state", [LEO_CIRCULAR_500, LEO_ECCENTRIC],
                         ids=["circular", "eccentric"])
def test_two_body_coast_matches_analytic_kepler_solution(state):
    r0, v0 = state
    r_kep, v_kep = kepler_propagate(r0, v0, DAY_S)
    out = propagate_states(np.concatenate((r0, v0))[np.newaxis], DAY_S, j2=0.0)
    assert np.linalg.norm(out[0, :3] - r_kep) < 0.01
    assert np.linalg.norm(out[0, 3:] - v_kep) < 1e-5


def test_two_body_coast_conserves_energy_and_angular_momentum():
    r0, v0 = LEO_ECCENTRIC
    states = np.concatenate((r0, v0))[np.newaxis]
    energy0 = 0.5 * v0 @ v0 - MU / np.linalg.norm(r0)
    h0 = np.cross(r0, v0)
    for _ in range(24):
        states = propagate_states(states, 3600.0, j2=0.0)
        r, v = states[0, :3], states[0, 3:]
        assert abs((0.5 * v @ v - MU / np.linalg.norm(r)) / energy0 - 1.0) < 1e-12
        assert np.linalg.norm(np.cross(r, v) - h0) < 1e-11 * np.linalg.norm(h0)


def test_batch_step_equals_single_spacecraft_propagation_bit_for_bit():
    states = np.array([np.concatenate(LEO_CIRCULAR_500), np.concatenate(LEO_POLAR_400)])
    accel = np.array([[1e-4, -2e-4, 3e-4], [0.0, 0.0, 0.0]])
    drag = [None, Drag(60.0)]
    out = propagate_states(states, 7.5, accel_N=accel, drag=drag)
    r0, v0 = propagate(states[0, :3], states[0, 3:], 7.5, accel_N=accel[0])
    r1, v1 = propagate(states[1, :3], states[1, 3:], 7.5, drag=drag[1])
    np.testing.assert_array_equal(out, [np.concatenate((r0, v0)), np.concatenate((r1, v1))])


def test_stepping_in_substep_multiples_is_bit_identical_to_one_call():
    state = np.concatenate(LEO_ECCENTRIC)[np.newaxis]
    one_call = propagate_states(state, 600.0, drag=Drag(50.0), max_substep_s=30.0)
    stepped = state
    for _ in range(20):
        stepped = propagate_states(stepped, 30.0, drag=Drag(50.0), max_substep_s=30.0)
    np.testing.assert_array_equal(one_call, stepped)


def test_plant_stepping_at_one_hertz_stays_within_a_metre_of_reference_for_a_day():
    orbits = Orbits(np.array([np.concatenate(LEO_CIRCULAR_500), np.concatenate(LEO_ECCENTRIC)]))
    for _ in range(int(DAY_S)):
        orbits.step(1.0)
    for state, (r0, v0) in zip(orbits.states_N, [LEO_CIRCULAR_500, LEO_ECCENTRIC], strict=True):
        r_ref, v_ref = reference_propagate(r0, v0, DAY_S)
        assert np.linalg.norm(state[:3] - r_ref) < 1.0
        assert np.linalg.norm(state[3:] - v_ref) < 1e-3


def test_failed_step_leaves_the_orbits_unchanged():
    orbits = Orbits(np.array([np.concatenate(LEO_CIRCULAR_500), [6.5e6, 0, 0, 0, 0, 0]]))
    before = orbits.states_N
    with pytest.raises(ValueError, match="ends inside the Earth"):
        orbits.step(400.0)
    np.testing.assert_array_equal(orbits.states_N, before)
    with pytest.raises(ValueError, match="non-finite"):
        orbits.step(1.0, accel_N=[[0.0, 0.0, np.nan], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(orbits.states_N, before)


def test_orbits_states_are_returned_as_a_copy():
    orbits = Orbits(np.concatenate(LEO_CIRCULAR_500)[np.newaxis])
    orbits.states_N[0, 0] = 0.0
    assert orbits.states_N[0, 0] == LEO_CIRCULAR_500[0][0]


def test_backward_propagation_returns_to_the_initial_state():
    r0, v0 = LEO_ECCENTRIC
    r1, v1 = propagate(r0, v0, 6 * 3600.0)
    r_back, v_back = propagate(r1, v1, -6 * 3600.0)
    assert np.linalg.norm(r_back - r0) < 1e-3
    assert np.linalg.norm(v_back - v0) < 1e-6


def test_zero_step_returns_the_same_state_as_new_arrays():
    r0, v0 = LEO_CIRCULAR_500
    r, v = propagate(r0, v0, 0.0)
    np.testing.assert_array_equal(r, r0)
    np.testing.assert_array_equal(v, v0)
    assert r is not r0 and not np.shares_memory(r, r0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(r_N=[np.nan, 0, 7e6]), "non-finite"),
    (dict(r_N=[1e6, 0, 0]), "inside the Earth"),
    (dict(r_N=[7e6, 0]), "3-vector"),
    (dict(dt_s=np.inf), "dt_s"),
    (dict(accel_N=[0.0, np.nan, 0.0]), "non-finite"),
    (dict(r_N=[6.5e6, 0, 0], v_N=[0, 0, 0], dt_s=400.0), "ends inside the Earth"),
    (dict(drag=50.0), "drag must be"),
])
def test_bad_input_raises_value_error(kwargs, match):
    args = dict(r_N=[7e6, 0, 0], v_N=[0, 7.5e3, 0], dt_s=60.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        propagate(args.pop("r_N"), args.pop("v_N"), args.pop("dt_s"), **args)


@pytest.mark.parametrize("b", [0.0, -5.0, np.nan, np.inf])
def test_drag_rejects_non_positive_or_non_finite_ballistic_coefficient(b):
    with pytest.raises(ValueError, match="ballistic coefficient"):
        Drag(b)


def test_drag_from_mass_and_area_is_mass_over_cd_area():
    assert Drag.from_mass_area(100.0, 0.5, 2.2).ballistic_coefficient_kg_m2 == pytest.approx(
        100.0 / 1.1)


def test_density_table_bands_join_within_one_percent():
    """Each band's exponential reaches the next band's base density (catches typos)."""
    for (h0, rho0, scale), (h1, rho1, _) in itertools.pairwise(REFERENCE_ATMOSPHERE):
        below = density_kg_m3(h1 * 1e3 - 1e-6)
        assert below == pytest.approx(rho0 * math.exp(-(h1 - h0) / scale), rel=1e-9)
        assert density_kg_m3(h1 * 1e3) == pytest.approx(rho1, rel=1e-12)
        assert below == pytest.approx(rho1, rel=0.01)


@pytest.mark.parametrize("altitude_km", [0.0, 87.5, 120.0, 333.0, 500.0, 777.0, 1500.0])
def test_density_matches_vallado_exponential_model(altitude_km):
    assert density_kg_m3(altitude_km * 1e3) == pytest.approx(
        reference_density(altitude_km * 1e3), rel=1e-12)


def test_density_below_sea_level_continues_the_sea_level_band():
    assert density_kg_m3(-2000.0) == pytest.approx(1.225 * math.exp(2.0 / 7.249), rel=1e-12)


@given(lat=st.floats(-math.pi / 2, math.pi / 2), lon=st.floats(-math.pi, math.pi),
       height=st.floats(0.0, 3.0e6))
@settings(max_examples=200, deadline=None)
def test_ellipsoidal_altitude_is_within_30_m_of_geodetic_height(lat, lon, height):
    # geodetic (lat, lon, h) -> Earth-fixed Cartesian on the WGS-84 ellipsoid (Vallado 2013, Ch. 3)
    e2 = FLATTENING_EARTH * (2.0 - FLATTENING_EARTH)
    n = R_EARTH_M / math.sqrt(1.0 - e2 * math.sin(lat) ** 2)
    x = (n + height) * math.cos(lat) * math.cos(lon)
    y = (n + height) * math.cos(lat) * math.sin(lon)
    z = (n * (1.0 - e2) + height) * math.sin(lat)
    assert abs(ellipsoidal_altitude_m(x, y, z) - height) < 30.0


elliptic_elements = st.tuples(
    st.floats(R_EARTH_M + 200e3, 5e7),  # a
    st.floats(1e-4, 0.9),  # e
    st.floats(1e-3, math.pi - 1e-3),  # i
    st.floats(0.0, 2 * math.pi, exclude_max=True),  # raan
    st.floats(0.0, 2 * math.pi, exclude_max=True),  # argp
    st.floats(0.0, 2 * math.pi, exclude_max=True),  # nu
)


def angle_difference(a, b):
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


@given(elliptic_elements)
@settings(max_examples=300, deadline=None)
def test_elements_round_trip_through_cartesian(elements):
    a, e, i, raan, argp, nu = elements
    back = rv_to_elements(*elements_to_rv(a, e, i, raan, argp, nu))
    assert back.a_m == pytest.approx(a, rel=1e-10)
    assert back.e == pytest.approx(e, rel=1e-7, abs=1e-12)
    assert back.i_rad == pytest.approx(i, abs=1e-10)
    assert angle_difference(back.raan_rad, raan) < 1e-9
    assert angle_difference(back.argp_rad, argp) < 1e-9
    assert angle_difference(back.nu_rad, nu) < 1e-9


@given(elliptic_elements)
@settings(max_examples=200, deadline=None)
def test_elements_to_rv_satisfies_conic_equation_vis_viva_and_angular_momentum(elements):
    a, e, i, raan, argp, nu = elements
    r, v = elements_to_rv(a, e, i, raan, argp, nu)
    p = a * (1 - e * e)
    h = np.cross(r, v)
    assert np.linalg.norm(r) == pytest.approx(p / (1 + e * math.cos(nu)), rel=1e-12)
    assert v @ v == pytest.approx(MU * (2 / np.linalg.norm(r) - 1 / a), rel=1e-11)
    assert np.linalg.norm(h) == pytest.approx(math.sqrt(MU * p), rel=1e-12)
    assert h[2] / np.linalg.norm(h) == pytest.approx(math.cos(i), abs=1e-12)
    node = np.cross([0.0, 0.0, 1.0], h)
    assert angle_difference(math.atan2(node[1], node[0]), raan) < 1e-9


@given(st.tuples(*[st.floats(-1.0, 1.0)] * 3), st.tuples(*[st.floats(-1.0, 1.0)] * 3),
       st.floats(R_EARTH_M + 200e3, 4e7), st.floats(0.3, 1.3))
@settings(max_examples=300, deadline=None)
def test_cartesian_round_trip_through_elements_for_any_elliptic_state(r_dir, v_dir, radius,
                                                                     speed_ratio):
    r_dir, v_dir = np.array(r_dir), np.array(v_dir)
    if np.linalg.norm(r_dir) < 1e-3 or np.linalg.norm(np.cross(r_dir, v_dir)) < 1e-3:
        return
    r = radius * r_dir / np.linalg.norm(r_dir)
    v = speed_ratio * math.sqrt(MU / radius) * v_dir / np.linalg.norm(v_dir)
    r_back, v_back = elements_to_rv(*rv_to_elements(r, v))
    assert np.linalg.norm(r_back - r) < 1e-8 * radius
    assert np.linalg.norm(v_back - v) < 1e-8 * np.linalg.norm(v)


@pytest.mark.parametrize("inclination", [0.0, math.pi], ids=["prograde", "retrograde"])
def test_circular_equatorial_orbit_reports_true_longitude(inclination):
    radius, longitude = 7.0e6, 2.0
    r = radius * np.array([math.cos(longitude), math.sin(longitude), 0.0])
    direction = 1.0 if inclination == 0.0 else -1.0
    v = direction * math.sqrt(MU / radius) * np.array([-math.sin(longitude),
                                                        math.cos(longitude), 0.0])
    el = rv_to_elements(r, v)
    assert el.e < 1e-12 and el.raan_rad == 0.0 and el.argp_rad == 0.0
    assert el.i_rad == pytest.approx(inclination, abs=1e-12)
    expected_nu = longitude if inclination == 0.0 else -longitude
    assert angle_difference(el.nu_rad, expected_nu) < 1e-12
    r_back, v_back = elements_to_rv(*el)
    np.testing.assert_allclose(r_back, r, atol=1e-6)
    np.testing.assert_allclose(v_back, v, atol=1e-9)


@pytest.mark.parametrize("r, v, match", [
    ([7e6, 0, 0], [0, 12e3, 0], "not elliptic"),
    ([7e6, 0, 0], [7e3, 0, 0], "rectilinear"),
])
def test_rv_to_elements_rejects_non_elliptic_and_rectilinear_states(r, v, match):
    with pytest.raises(ValueError, match=match):
        rv_to_elements(r, v)


@pytest.mark.parametrize("e, a", [(1.0, 7e6), (-0.1, 7e6), (0.1, -7e6)])
def test_elements_to_rv_rejects_non_elliptic_elements(e, a):
    with pytest.raises(ValueError):
        elements_to_rv(a, e, 0.5, 0.0, 0.0, 0.0)


def test_rtn_dcm_is_right_handed_with_r_radial_and_n_along_angular_momentum():
    r, v = LEO_ECCENTRIC
    r, v = propagate(r, v, 1234.0)
    c = rtn_dcm(r, v)
    np.testing.assert_allclose(c @ c.T, np.eye(3), atol=1e-15)
    assert np.linalg.det(c) == pytest.approx(1.0)
    np.testing.assert_allclose(c @ r, [np.linalg.norm(r), 0, 0], atol=1e-8)
    h = np.cross(r, v)
    np.testing.assert_allclose(c @ h, [0, 0, np.linalg.norm(h)], rtol=1e-15, atol=1e-3)
    assert (c @ v)[1] > 0  # moving forward along T


def test_deputy_trailing_on_the_same_circular_orbit_is_fixed_in_rtn():
    radius, lag = 7.0e6, 1e-3
    speed = math.sqrt(MU / radius)
    r_c, v_c = np.array([radius, 0, 0]), np.array([0, speed, 0])
    r_d = radius * np.array([math.cos(lag), -math.sin(lag), 0])
    v_d = speed * np.array([math.sin(lag), math.cos(lag), 0])
    rho, rho_dot = relative_rtn(r_c, v_c, r_d, v_d)
    np.testing.assert_allclose(rho, [radius * (math.cos(lag) - 1), -radius * math.sin(lag), 0],
                               atol=1e-8)
    np.testing.assert_allclose(rho_dot, 0.0, atol=1e-10)


def test_relative_velocity_is_the_time_derivative_of_relative_position_under_j2():
    r_c0, v_c0 = LEO_POLAR_400
    r_d0, v_d0 = r_c0 + [300.0, -2000.0, 1500.0], v_c0 + [0.3, -0.2, 1.1]
    step = 0.5

    def rho_at(t):
        r_c, v_c = propagate(r_c0, v_c0, t)
        r_d, v_d = propagate(r_d0, v_d0, t)
        return relative_rtn(r_c, v_c, r_d, v_d)[0]

    finite_difference = (rho_at(step) - rho_at(-step)) / (2 * step)
    a_c = reference_derivative(0.0, np.concatenate((r_c0, v_c0)), J2_EARTH, 0.0, 0.0)[3:]
    _, with_accel = relative_rtn(r_c0, v_c0, r_d0, v_d0, a_c=a_c)
    _, keplerian_frame = relative_rtn(r_c0, v_c0, r_d0, v_d0)
    assert np.linalg.norm(with_accel - finite_difference) < 1e-6
    assert np.linalg.norm(keplerian_frame - finite_difference) > 1e-4
