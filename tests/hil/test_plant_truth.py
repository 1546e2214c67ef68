"""The plant's fused truth step (hil.plant.truth) against the separate Orbits and RigidBody steps.

Reference: the three calls the fused kernel replaces, on a twin of the same state: thrust turned
into ECI with quat_to_dcm and numpy, Orbits.step, RigidBody.step.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.attitude import ReactionWheels, RigidBody
from hil.attitude.quaternion import quat_to_dcm
from hil.constants import R_EARTH_M
from hil.orbit import Drag, Orbits, elements_to_rv
from hil.plant.truth import PlantTruth

INERTIA = np.array([[12.0, 0.3, -0.2], [0.3, 9.0, 0.1], [-0.2, 0.1, 7.0]])
CHASER = np.concatenate(elements_to_rv(R_EARTH_M + 500e3, 1e-3, math.radians(97.4), 0.3, 0.2,
                                       1.0))
TARGET = np.concatenate(elements_to_rv(R_EARTH_M + 500e3, 0.0, math.radians(97.4), 0.3, 0.0,
                                       1.2))


def twins(q_BN=(0.9, -0.2, 0.3, 0.1), omega_BN_B=(0.01, -0.02, 0.015), drag=True):
    """Two identical (orbits, body) pairs: one for the fused step, one for the reference."""
    def build():
        orbits = Orbits(np.array([CHASER, TARGET]),
                        drag=[Drag(60.0), Drag(90.0)] if drag else None)
        body = RigidBody(INERTIA, wheels=ReactionWheels.pyramid(max_momentum_Nms=0.5),
                         q_BN=q_BN, omega_BN_B=omega_BN_B,
                         wheel_speed_rad_s=[30.0, -20.0, 15.0, 5.0])
        return orbits, body
    return build(), build()


def separate_step(orbits, body, dt_s, force_B_N, mass_kg, torque_B_Nm, wheel_cmd_Nm):
    """The plant's step before the fused kernel: three calls from Python."""
    accel_N = np.zeros((2, 3))
    accel_N[0] = quat_to_dcm(body.q_BN).T @ (np.asarray(force_B_N) / mass_kg)
    orbits.step(dt_s, accel_N)
    body.step(dt_s, wheel_cmd_Nm, torque_B_Nm)


def snapshot(orbits, body):
    return (orbits.states_N, body.q_BN, body.omega_BN_B, body.wheel_momentum_Nms,
            body.wheel_torque_applied_Nm)


def step_inputs(generator, thrust):
    force = generator.normal(0.0, 2.0, 3) if thrust else np.zeros(3)
    return (force, 100.0 - generator.uniform(0.0, 5.0), generator.normal(0.0, 0.01, 3),
            generator.normal(0.0, 0.02, 4))


# dt 0.1 and 1 s: the plant's ticks (one RK4 step); 5 s: several RK8 substeps of the orbits
@pytest.mark.parametrize("dt_s", [0.1, 1.0, 5.0])
@pytest.mark.parametrize("drag", [True, False])
def test_without_thrust_the_fused_step_equals_the_separate_steps_bit_for_bit(dt_s, drag):
    (orbits, body), (ref_orbits, ref_body) = twins(drag=drag)
    truth = PlantTruth(orbits, body)
    generator = np.random.default_rng(4)
    for _ in range(50):
        inputs = step_inputs(generator, thrust=False)
        truth.step(dt_s, *inputs)
        separate_step(ref_orbits, ref_body, dt_s, *inputs)
    for got, expected in zip(snapshot(orbits, body), snapshot(ref_orbits, ref_body), strict=True):
        np.testing.assert_array_equal(got, expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dt_s=st.sampled_from([0.1, 0.5, 1.0, 4.0]))
def test_with_thrust_the_fused_step_matches_the_separate_steps_to_rounding(seed, dt_s):
    generator = np.random.default_rng(seed)
    q_BN = generator.standard_normal(4)
    (orbits, body), (ref_orbits, ref_body) = twins(q_BN=q_BN / np.linalg.norm(q_BN))
    truth = PlantTruth(orbits, body)
    for _ in range(20):
        inputs = step_inputs(generator, thrust=True)
        q_before = body.q_BN
        truth.step(dt_s, *inputs)
        # the thrust acceleration, to a few ulp: C_BN^T f / m at the attitude of the step's start
        expected_accel = quat_to_dcm(q_before).T @ (inputs[0] / inputs[1])
        np.testing.assert_allclose(truth.thrust_accel_N[0], expected_accel, rtol=0.0,
                                   atol=1e-15 * np.linalg.norm(expected_accel))
        np.testing.assert_array_equal(truth.thrust_accel_N[1], 0.0)
        separate_step(ref_orbits, ref_body, dt_s, *inputs)
    states, ref_states = orbits.states_N, ref_orbits.states_N
    # 20 steps of rounding differences in the thrust: far below a micrometre and a nm/s
    np.testing.assert_allclose(states[:, :3], ref_states[:, :3], rtol=0.0, atol=1e-9)
    np.testing.assert_allclose(states[:, 3:], ref_states[:, 3:], rtol=0.0, atol=1e-12)
    # the attitude sees no thrust force: bit for bit
    for got, expected in zip(snapshot(orbits, body)[1:], snapshot(ref_orbits, ref_body)[1:],
                             strict=True):
        np.testing.assert_array_equal(got, expected)


def test_thrust_along_body_x_pushes_along_the_inertial_axis_body_x_points_to():
    # B is N turned +90 deg about z: body +x points along inertial +y
    q_BN = (math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4))
    (orbits, body), (coast_orbits, coast_body) = twins(q_BN=q_BN, omega_BN_B=(0.0, 0.0, 0.0))
    truth, coast = PlantTruth(orbits, body), PlantTruth(coast_orbits, coast_body)
    for _ in range(10):
        truth.step(0.1, [2.0, 0.0, 0.0], 100.0)
        coast.step(0.1, [0.0, 0.0, 0.0], 100.0)
    dv_N = orbits.states_N[0, 3:] - coast_orbits.states_N[0, 3:]
    # 2 N on 100 kg for 1 s; gravity differs over the 1 cm displacement by ~1e-8 m/s
    np.testing.assert_allclose(dv_N, [0.0, 0.02, 0.0], atol=1e-7)
    np.testing.assert_array_equal(orbits.states_N[1], coast_orbits.states_N[1])


def test_lists_integers_and_strided_arrays_step_as_contiguous_float64_vectors_do():
    (orbits, body), (ref_orbits, ref_body) = twins()
    truth, reference = PlantTruth(orbits, body), PlantTruth(ref_orbits, ref_body)
    strided_torque = np.array([[1e-3, 9.0], [-2e-3, 9.0], [5e-4, 9.0]])[:, 0]
    truth.step(1, [1, 0, 2], 100, strided_torque, [0.01, 0, -0.01, 0])
    reference.step(1.0, np.array([1.0, 0.0, 2.0]), 100.0, strided_torque.copy(),
                   np.array([0.01, 0.0, -0.01, 0.0]))
    for got, expected in zip(snapshot(orbits, body), snapshot(ref_orbits, ref_body), strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kwargs, match", [
    (dict(dt_s=-0.1), "dt_s"),
    (dict(dt_s=math.nan), "dt_s"),
    (dict(mass_kg=0.0), "mass_kg"),
    (dict(mass_kg=math.inf), "mass_kg"),
    (dict(force_B_N=[0.0, math.nan, 0.0]), "force_B_N"),
    (dict(torque_B_Nm=[0.0, 0.0, math.inf]), "non-finite"),
    (dict(wheel_torque_cmd_Nm=[0.0, math.nan, 0.0, 0.0]), "non-finite"),
    (dict(force_B_N=[1.0, 0.0]), "shape"),
    (dict(force_B_N=np.zeros(4)), "shape"),
    (dict(torque_B_Nm=np.zeros((3, 1))), "shape"),
    (dict(wheel_torque_cmd_Nm=np.zeros(3)), "shape"),
    (dict(wheel_torque_cmd_Nm=[0.0] * 5), "shape"),
])
def test_bad_input_raises_and_changes_nothing(kwargs, match):
    (orbits, body), _ = twins()
    truth = PlantTruth(orbits, body)
    before = snapshot(orbits, body)
    args = dict(dt_s=0.1, force_B_N=[1.0, 0.0, 0.0], mass_kg=100.0, torque_B_Nm=np.zeros(3),
                wheel_torque_cmd_Nm=np.full(4, 0.01))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        truth.step(**args)
    for got, expected in zip(snapshot(orbits, body), before, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_a_spacecraft_ending_inside_the_earth_raises_and_changes_nothing():
    falling = np.array([R_EARTH_M * (1.0 - 1.0 / 298.257223563) + 5.0, 0.0, 0.0, -8e3, 0.0, 0.0])
    orbits = Orbits(np.array([CHASER, falling]))
    body = RigidBody(INERTIA, omega_BN_B=(0.01, 0.0, 0.0))
    truth = PlantTruth(orbits, body)
    before = orbits.states_N, body.q_BN
    with pytest.raises(ValueError, match="ends inside the Earth"):
        truth.step(1.0, np.zeros(3), 100.0)
    np.testing.assert_array_equal(orbits.states_N, before[0])
    np.testing.assert_array_equal(body.q_BN, before[1])
