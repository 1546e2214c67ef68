"""The truth RCS of hil.thrusters against its documented geometry, error model and physics.

The nominal force/torque matrix is rebuilt here from the module's table (corner and thrust
direction of each nozzle), not from hil.thrusters.
"""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.constants import G0_M_S2
from hil.thrusters import N_THRUSTERS, ThrusterConfig, Thrusters, nominal_geometry

# The module docstring's table: cluster corner (x, y, z)/h and the thrust direction of its
# three nozzles, T01..T12 in order.
DOC_TABLE = [
    ((+1, +1, +1), ((-1, 0, 0), (0, -1, 0), (0, 0, -1))),
    ((-1, -1, +1), ((+1, 0, 0), (0, +1, 0), (0, 0, -1))),
    ((+1, -1, -1), ((-1, 0, 0), (0, +1, 0), (0, 0, +1))),
    ((-1, +1, -1), ((+1, 0, 0), (0, -1, 0), (0, 0, +1))),
]
H_M, OUTBOARD_M = 0.25, 0.02

ERROR_FREE = ThrusterConfig(cg_sigma_m=0.0, thrust_scale_sigma=0.0, misalignment_sigma_rad=0.0,
                            impulse_deficit_s=0.0, pulse_scatter_at_min=0.0)


def documented_B(cg_B_m):
    """(6, 12) force/torque per newton of thrust about cg_B_m, from DOC_TABLE."""
    columns = []
    for corner, thrusts in DOC_TABLE:
        for thrust in thrusts:
            d = np.array(thrust, dtype=float)
            r = H_M * np.array(corner, dtype=float) - OUTBOARD_M * d
            columns.append(np.concatenate([d, np.cross(r - cg_B_m, d)]))
    return np.array(columns).T


def rcs(config=ERROR_FREE, seed=0):
    return Thrusters(config, np.random.default_rng(seed))


def fire(thrusters, on_time_s, window_s=1.0, seed=1):
    return thrusters.fire(np.asarray(on_time_s, dtype=float), window_s,
                          np.random.default_rng(seed))


def single(index, on_time_s):
    on = np.zeros(N_THRUSTERS)
    on[index] = on_time_s
    return on


# -- nominal geometry ---------------------------------------------------------------------


def test_nominal_geometry_is_the_flight_softwares_reference_layout():
    from flightsw.control.thrusters import reference_layout

    flight = reference_layout()
    positions, directions = nominal_geometry()
    np.testing.assert_array_equal(positions, flight.positions_B_m)
    np.testing.assert_array_equal(directions, flight.directions_B)
    config = ThrusterConfig()
    np.testing.assert_array_equal(config.cg_nominal_B_m, flight.cg_B_m)
    np.testing.assert_array_equal(np.full(N_THRUSTERS, config.thrust_N), flight.thrust_max_N)
    assert config.min_on_time_s == flight.min_on_time_s
    assert config.on_time_quantum_s == flight.on_time_quantum_s


@settings(max_examples=40)
@given(ticks=st.lists(st.sampled_from([0] + list(range(10, 201))), min_size=12, max_size=12),
       window_s=st.sampled_from([0.2, 0.5, 1.0]))
def test_error_free_rcs_gives_the_documented_B_times_the_thrusts(ticks, window_s):
    on_time_s = np.minimum(np.array(ticks) * 1e-3, window_s)
    firing = fire(rcs(), on_time_s, window_s)
    u = ERROR_FREE.thrust_N * on_time_s / window_s
    expected = documented_B(np.array(ERROR_FREE.cg_nominal_B_m)) @ u
    np.testing.assert_allclose(firing.force_B_N, expected[:3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(firing.torque_B_Nm, expected[3:], rtol=0, atol=1e-12)
    np.testing.assert_allclose(firing.impulse_Ns, ERROR_FREE.thrust_N * on_time_s, atol=1e-15)


def test_torque_is_taken_about_the_truth_centre_of_mass():
    truth = rcs(dataclasses.replace(ERROR_FREE, cg_sigma_m=0.01), seed=5)
    assert np.linalg.norm(truth.cg_B_m - ERROR_FREE.cg_nominal_B_m) > 1e-3
    on_time_s = np.linspace(0.01, 0.12, N_THRUSTERS)
    firing = fire(truth, on_time_s)
    expected = documented_B(truth.cg_B_m) @ on_time_s
    np.testing.assert_allclose(firing.torque_B_Nm, expected[3:], atol=1e-12)


# -- build errors -------------------------------------------------------------------------


def test_build_errors_are_reproducible_per_seed():
    a, b, c = rcs(ThrusterConfig(), 7), rcs(ThrusterConfig(), 7), rcs(ThrusterConfig(), 8)
    for name in ("thrust_N", "directions_B", "cg_B_m"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    on_time_s = np.full(N_THRUSTERS, 0.013)
    for x, y in zip(fire(a, on_time_s, seed=3), fire(b, on_time_s, seed=3)):
        np.testing.assert_array_equal(x, y)


def test_build_errors_have_the_configured_statistics():
    config = ThrusterConfig()
    units = [rcs(config, seed) for seed in range(400)]
    nominal = nominal_geometry()[1]
    scale = np.concatenate([u.thrust_N for u in units]) / config.thrust_N - 1.0
    directions = np.concatenate([u.directions_B for u in units])
    cg_error = np.array([u.cg_B_m for u in units]) - config.cg_nominal_B_m

    # 4800 thrusters: the sample std of a normal is within ~1% (1-sigma) of the truth
    assert abs(scale.mean()) < 3 * config.thrust_scale_sigma / math.sqrt(scale.size)
    assert np.std(scale) == pytest.approx(config.thrust_scale_sigma, rel=0.04)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-14)
    # misalignment: two N(0, sigma^2) components normal to the nominal direction, so the
    # tilt off the nominal axis is Rayleigh with scale sigma
    tiled_nominal = np.tile(nominal, (len(units), 1))
    axis = np.argmax(np.abs(tiled_nominal), axis=1)
    normal = np.array([np.delete(d, k) for d, k in zip(directions, axis)])
    assert np.std(normal) == pytest.approx(config.misalignment_sigma_rad, rel=0.04)
    angle = np.arccos(np.clip(np.sum(directions * tiled_nominal, axis=1), -1.0, 1.0))
    assert angle.mean() == pytest.approx(math.sqrt(math.pi / 2) * config.misalignment_sigma_rad,
                                         rel=0.04)
    # 400 draws per axis: std within ~3.5% (1-sigma)
    np.testing.assert_allclose(np.std(cg_error, axis=0), config.cg_sigma_m, rtol=0.12)


# -- pulse model --------------------------------------------------------------------------


@pytest.mark.parametrize("on_time_s", [0.0001, 0.004, 0.009, 0.0094])
def test_on_times_below_the_minimum_give_no_impulse_and_use_no_propellant(on_time_s):
    thrusters = rcs()
    firing = fire(thrusters, np.full(N_THRUSTERS, on_time_s))
    assert not firing.impulse_Ns.any()
    assert not firing.force_B_N.any() and not firing.torque_B_Nm.any()
    assert firing.propellant_used_kg == 0.0
    assert thrusters.propellant_kg == ERROR_FREE.propellant_kg


@pytest.mark.parametrize("on_time_s, realised_s", [
    (0.0095, 0.010), (0.010, 0.010), (0.0234, 0.023), (0.0236, 0.024), (0.1, 0.1),
    (0.9996, 1.0), (1.0, 1.0),
])
def test_on_times_are_realised_in_whole_driver_ticks(on_time_s, realised_s):
    firing = fire(rcs(), single(4, on_time_s))
    assert firing.impulse_Ns[4] == pytest.approx(ERROR_FREE.thrust_N * realised_s, rel=1e-12)


def test_a_fresh_pulse_loses_the_opening_deficit_and_a_held_valve_does_not():
    config = dataclasses.replace(ERROR_FREE, impulse_deficit_s=0.002)
    thrusters = rcs(config)
    window_s = 0.5
    first = fire(thrusters, single(2, window_s), window_s)
    held = fire(thrusters, single(2, window_s), window_s)
    closing = fire(thrusters, single(2, 0.2), window_s)
    reopened = fire(thrusters, single(2, 0.2), window_s)
    assert first.impulse_Ns[2] == pytest.approx(window_s - 0.002, rel=1e-12)
    assert held.impulse_Ns[2] == pytest.approx(window_s, rel=1e-12)
    assert closing.impulse_Ns[2] == pytest.approx(0.2, rel=1e-12)
    assert reopened.impulse_Ns[2] == pytest.approx(0.2 - 0.002, rel=1e-12)


@pytest.mark.parametrize("multiple_of_min", [1, 4])
def test_pulse_to_pulse_scatter_shrinks_with_pulse_length(multiple_of_min):
    config = dataclasses.replace(ERROR_FREE, pulse_scatter_at_min=0.05)
    thrusters = rcs(config)
    rng = np.random.default_rng(11)
    t_on = multiple_of_min * config.min_on_time_s
    impulses = np.array([thrusters.fire(np.full(N_THRUSTERS, t_on), 1.0, rng).impulse_Ns
                         for _ in range(300)]).ravel()
    # 3600 pulses: the sample std is within ~1.2% (1-sigma)
    assert impulses.mean() == pytest.approx(t_on, rel=0.005)
    assert np.std(impulses) / t_on == pytest.approx(0.05 / multiple_of_min, rel=0.05)


# -- faults -------------------------------------------------------------------------------


def test_a_stuck_off_thruster_gives_nothing_whatever_the_command():
    thrusters = rcs()
    thrusters.set_fault(6, "stuck_off")
    firing = fire(thrusters, np.full(N_THRUSTERS, 0.5))
    assert firing.impulse_Ns[6] == 0.0
    np.testing.assert_allclose(np.delete(firing.impulse_Ns, 6), 0.5, rtol=1e-12)


def test_a_stuck_on_thruster_fires_the_whole_window_whatever_the_command():
    thrusters = rcs()
    thrusters.set_fault(0, "stuck_on")
    window_s = 0.25
    firing = fire(thrusters, np.zeros(N_THRUSTERS), window_s)
    assert firing.impulse_Ns[0] == pytest.approx(ERROR_FREE.thrust_N * window_s, rel=1e-12)
    assert not np.delete(firing.impulse_Ns, 0).any()
    expected = documented_B(np.array(ERROR_FREE.cg_nominal_B_m))[:, 0] * ERROR_FREE.thrust_N
    np.testing.assert_allclose(np.r_[firing.force_B_N, firing.torque_B_Nm], expected, atol=1e-12)
    assert firing.propellant_used_kg > 0.0


def test_a_degraded_thruster_delivers_its_scale_of_thrust_and_repair_restores_it():
    thrusters = rcs()
    thrusters.set_fault(9, "degraded", scale=0.6)
    assert fire(thrusters, single(9, 0.1)).impulse_Ns[9] == pytest.approx(0.06, rel=1e-12)
    thrusters.set_fault(9, None)
    assert fire(thrusters, single(9, 0.1)).impulse_Ns[9] == pytest.approx(0.1, rel=1e-12)
    assert thrusters.fault_kinds == [None] * N_THRUSTERS


@pytest.mark.parametrize("args, match", [
    ((12, "stuck_off"), "index"), ((-1, "stuck_on"), "index"), ((1.0, "stuck_on"), "index"),
    ((3, "leaking"), "kind"), ((3, "degraded"), "scale"), ((3, "degraded", 1.0), "scale"),
    ((3, "degraded", 0.0), "scale"), ((3, "stuck_on", 0.5), "scale"),
])
def test_bad_fault_requests_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        rcs().set_fault(*args)


# -- propellant ---------------------------------------------------------------------------


def test_propellant_used_is_the_impulse_over_the_exhaust_speed():
    thrusters = rcs(ThrusterConfig(), seed=3)
    rng = np.random.default_rng(4)
    total_impulse, total_used = 0.0, 0.0
    for _ in range(50):
        firing = thrusters.fire(rng.uniform(0.0, 0.2, N_THRUSTERS), 0.2, rng)
        assert firing.propellant_used_kg == pytest.approx(
            firing.impulse_Ns.sum() / (ThrusterConfig().isp_s * G0_M_S2), rel=1e-12)
        total_impulse += firing.impulse_Ns.sum()
        total_used += firing.propellant_used_kg
    assert ThrusterConfig().propellant_kg - thrusters.propellant_kg == pytest.approx(total_used)
    assert total_impulse > 0.0


def test_a_long_burn_obeys_the_rocket_equation():
    # T04 and T10 both thrust +x with cancelling moments about the geometric centre
    dry_kg, config = 2.0, dataclasses.replace(ERROR_FREE, propellant_kg=3.0)
    thrusters = rcs(config)
    on = np.zeros(N_THRUSTERS)
    on[[3, 9]] = 1.0
    v_mps, mass_kg = 0.0, dry_kg + config.propellant_kg
    for _ in range(2000):
        firing = fire(thrusters, on, 1.0)
        # mid-window mass: the velocity gain of a window is exact to (dm/m)^2 / 12
        v_mps += firing.force_B_N[0] / (mass_kg - firing.propellant_used_kg / 2)
        mass_kg -= firing.propellant_used_kg
    exhaust_speed = config.isp_s * G0_M_S2
    expected = exhaust_speed * math.log((dry_kg + config.propellant_kg) / mass_kg)
    assert v_mps == pytest.approx(expected, rel=1e-6)
    assert mass_kg < dry_kg + config.propellant_kg - 1.0


def test_the_tank_runs_dry_mid_window_and_then_gives_no_thrust():
    exhaust_speed = ERROR_FREE.isp_s * G0_M_S2
    thrusters = rcs(dataclasses.replace(ERROR_FREE, propellant_kg=0.5 / exhaust_speed))
    on = np.full(N_THRUSTERS, 0.1)
    last = fire(thrusters, on)  # demands 1.2 N s, the tank holds 0.5 N s
    assert last.impulse_Ns.sum() == pytest.approx(0.5, rel=1e-12)
    np.testing.assert_allclose(last.impulse_Ns, 0.5 / N_THRUSTERS, rtol=1e-12)
    assert thrusters.propellant_kg == 0.0
    thrusters.set_fault(5, "stuck_on")
    empty = fire(thrusters, on)
    assert not empty.impulse_Ns.any() and not empty.force_B_N.any()
    assert not empty.torque_B_Nm.any() and empty.propellant_used_kg == 0.0


# -- input validation ---------------------------------------------------------------------


@pytest.mark.parametrize("on_time_s, window_s, match", [
    (np.zeros(11), 1.0, "shape"), (np.zeros((12, 1)), 1.0, "shape"),
    (np.r_[np.nan, np.zeros(11)], 1.0, "finite"), (np.r_[-0.01, np.zeros(11)], 1.0, ">= 0"),
    (np.r_[1.5, np.zeros(11)], 1.0, "exceed"), (np.zeros(12), 0.0, "window"),
    (np.zeros(12), np.inf, "window"),
])
def test_bad_commands_are_refused(on_time_s, window_s, match):
    with pytest.raises(ValueError, match=match):
        rcs().fire(on_time_s, window_s, np.random.default_rng(0))


@pytest.mark.parametrize("field, value", [
    ("thrust_N", 0.0), ("isp_s", -1.0), ("propellant_kg", -0.1), ("cg_nominal_B_m", (0.0, 0.0)),
    ("on_time_quantum_s", 0.02), ("impulse_deficit_s", 0.01), ("thrust_scale_sigma", 0.5),
    ("misalignment_sigma_rad", -1e-3),
])
def test_bad_configurations_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        ThrusterConfig(**{field: value})
