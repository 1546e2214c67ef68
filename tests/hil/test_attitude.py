"""Chaser attitude truth (rigid body + reaction wheels) and the project's quaternion helpers.

References: conservation laws of the torque-free system, closed-form solutions (axisymmetric
free precession, spin-up about a principal axis, momentum exchange with one wheel), and scipy's
Rotation (which stores quaternions scalar-last and applies rotations actively, so its matrix is
the transpose of our C_BN).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from hil.attitude import (
    ReactionWheels,
    RigidBody,
    dcm_to_quat,
    quat_conj,
    quat_mult,
    quat_normalize,
    quat_to_dcm,
)

INERTIA = np.array([[12.0, 0.3, -0.2], [0.3, 9.0, 0.1], [-0.2, 0.1, 7.0]])

unit_quaternions = st.tuples(*[st.floats(-1.0, 1.0)] * 4).filter(
    lambda q: np.linalg.norm(q) > 1e-3).map(lambda q: np.array(q) / np.linalg.norm(q))


def scipy_rotation(q):
    """scipy Rotation of our scalar-first q_BN (scipy is scalar-last)."""
    return Rotation.from_quat([q[1], q[2], q[3], q[0]])


def rotation_angle_between(q_a, q_b):
    """Angle (rad) of the rotation taking attitude q_a to q_b."""
    dq = quat_mult(quat_conj(q_a), q_b)
    return 2.0 * math.atan2(np.linalg.norm(dq[1:]), abs(dq[0]))


# -- quaternion helpers ---------------------------------------------------------------------

@given(unit_quaternions)
@settings(max_examples=200)
def test_quat_to_dcm_is_the_transpose_of_scipys_active_rotation_matrix(q):
    np.testing.assert_allclose(quat_to_dcm(q), scipy_rotation(q).as_matrix().T, atol=1e-14)


@given(unit_quaternions)
@settings(max_examples=200)
def test_dcm_to_quat_matches_scipy_up_to_sign_and_returns_non_negative_scalar(q):
    got = dcm_to_quat(quat_to_dcm(q))
    x, y, z, w = Rotation.from_matrix(quat_to_dcm(q).T).as_quat()
    expected = np.array([w, x, y, z])
    assert got[0] >= 0.0
    assert min(np.linalg.norm(got - expected), np.linalg.norm(got + expected)) < 1e-12
    assert min(np.linalg.norm(got - q), np.linalg.norm(got + q)) < 1e-12


@pytest.mark.parametrize("axis", [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [1, -2, 0.5]])
def test_dcm_to_quat_handles_half_turns_where_the_scalar_part_vanishes(axis):
    e = np.array(axis, dtype=float) / np.linalg.norm(axis)
    q = np.concatenate(([0.0], e))
    got = dcm_to_quat(quat_to_dcm(q))
    assert min(np.linalg.norm(got - q), np.linalg.norm(got + q)) < 1e-14


@given(unit_quaternions, unit_quaternions)
@settings(max_examples=200)
def test_quat_mult_composes_successive_rotations(q_BN, q_CB):
    q_CN = quat_mult(q_BN, q_CB)
    np.testing.assert_allclose(quat_to_dcm(q_CN), quat_to_dcm(q_CB) @ quat_to_dcm(q_BN),
                               atol=1e-14)
    # Hamilton product == scipy composition "apply q_CB's active rotation, then q_BN's"
    x, y, z, w = (scipy_rotation(q_BN) * scipy_rotation(q_CB)).as_quat(canonical=False)
    np.testing.assert_allclose(q_CN, [w, x, y, z], atol=1e-14)


@given(unit_quaternions)
@settings(max_examples=100)
def test_conjugate_is_the_inverse_rotation(q):
    np.testing.assert_allclose(quat_mult(q, quat_conj(q)), [1.0, 0.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(quat_to_dcm(quat_conj(q)), quat_to_dcm(q).T, atol=1e-15)


def test_frame_rotated_about_z_sees_the_inertial_x_axis_at_minus_the_angle():
    angle = 0.7
    q_BN = np.array([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)])
    np.testing.assert_allclose(quat_to_dcm(q_BN) @ [1.0, 0.0, 0.0],
                               [math.cos(angle), -math.sin(angle), 0.0], atol=1e-15)


def test_helpers_broadcast_over_leading_axes():
    rng = np.random.default_rng(7)
    q = quat_normalize(rng.normal(size=(5, 2, 4)))
    c = quat_to_dcm(q)
    assert c.shape == (5, 2, 3, 3)
    back = dcm_to_quat(c)
    np.testing.assert_allclose(back, q * np.sign(q[..., :1]), atol=1e-12)
    np.testing.assert_allclose(quat_mult(q, quat_conj(q))[..., 0], 1.0, atol=1e-15)


any_quaternions = st.tuples(*[st.floats(-1e3, 1e3)] * 4).map(np.array)


@given(any_quaternions, any_quaternions)
@settings(max_examples=300)
def test_single_quaternions_take_a_scalar_path_equal_to_the_array_path_bit_for_bit(p, q):
    batch = np.stack((p, q))
    np.testing.assert_array_equal(quat_mult(p, q), quat_mult(batch, batch[::-1])[0])
    np.testing.assert_array_equal(quat_to_dcm(p), quat_to_dcm(batch)[0])
    np.testing.assert_array_equal(quat_conj(p), quat_conj(batch)[0])
    if np.linalg.norm(p) > 0.0:
        np.testing.assert_array_equal(quat_normalize(p), quat_normalize(batch[:1])[0])


@pytest.mark.parametrize("q", [[0, 0, 0, 0], [np.nan, 1, 0, 0], [[1, 0, 0, 0], [0, 0, 0, 0]],
                               [[1, 0, 0, 0], [np.inf, 0, 0, 0]]])
def test_quat_normalize_rejects_zero_and_non_finite(q):
    with pytest.raises(ValueError):
        quat_normalize(q)


# -- rigid body -----------------------------------------------------------------------------

def pyramid_wheels(**kwargs):
    params = dict(spin_inertia_kgm2=0.01, max_torque_Nm=0.05, max_momentum_Nms=0.5)
    params.update(kwargs)
    return ReactionWheels.pyramid(**params)


@pytest.mark.parametrize("wheel_speeds", [None, [40.0, -25.0, 10.0, 30.0]],
                         ids=["no-wheels", "spinning-wheels"])
def test_torque_free_body_conserves_inertial_momentum_and_energy(wheel_speeds):
    wheels = None if wheel_speeds is None else pyramid_wheels()
    body = RigidBody(INERTIA, wheels=wheels, q_BN=[0.3, -0.5, 0.7, 0.2],
                     omega_BN_B=[0.08, -0.05, 0.11], wheel_speed_rad_s=wheel_speeds,
                     max_substep_angle_rad=0.005)
    h0, e0 = body.angular_momentum_N(), body.kinetic_energy_J()
    for _ in range(1200):
        body.step(0.5)
    np.testing.assert_allclose(body.angular_momentum_N(), h0, rtol=0,
                               atol=1e-11 * np.linalg.norm(h0))
    assert body.kinetic_energy_J() == pytest.approx(e0, rel=1e-11)
    assert np.linalg.norm(body.q_BN) == pytest.approx(1.0, abs=1e-15)


def test_axisymmetric_body_precesses_at_the_closed_form_rate():
    transverse, axial = 10.0, 4.0
    w1, w2, w3 = 0.02, -0.01, 0.3
    body = RigidBody(np.diag([transverse, transverse, axial]), omega_BN_B=[w1, w2, w3])
    t = 200.0
    for _ in range(200):
        body.step(1.0)
    # Euler's equations: (w1 + i w2)(t) = (w1 + i w2)(0) exp(i lam t), lam = (J3 - J) w3 / J
    lam = (axial - transverse) * w3 / transverse
    expected = (w1 + 1j * w2) * np.exp(1j * lam * t)
    np.testing.assert_allclose(body.omega_BN_B, [expected.real, expected.imag, w3], atol=1e-10)


def test_constant_torque_about_a_principal_axis_spins_up_from_rest_in_closed_form():
    inertia = np.diag([12.0, 9.0, 7.0])
    torque = 0.02
    body = RigidBody(inertia)
    for _ in range(100):
        body.step(0.5, ext_torque_B_Nm=[0.0, torque, 0.0])
    t = 50.0
    angle = 0.5 * torque / 9.0 * t * t
    np.testing.assert_allclose(body.omega_BN_B, [0.0, torque / 9.0 * t, 0.0], atol=1e-14)
    expected_q = [math.cos(angle / 2), 0.0, math.sin(angle / 2), 0.0]
    assert rotation_angle_between(body.q_BN, expected_q) < 1e-9


def test_wheel_torque_turns_the_body_the_opposite_way_and_keeps_total_momentum():
    inertia = np.diag([12.0, 9.0, 7.0])
    spin_inertia, torque = 0.02, 0.01
    wheel = ReactionWheels([[1.0, 0.0, 0.0]], spin_inertia, max_torque_Nm=0.1,
                           max_momentum_Nms=5.0)
    body = RigidBody(inertia, wheels=wheel)
    for _ in range(60):
        body.step(1.0, wheel_torque_cmd_Nm=[torque])
    t = 60.0
    # the rotor's inertial momentum grows by u t; the body, of inertia J - J_s about the
    # wheel's axis, takes the opposite: omega = -u t / (J_x - J_s)
    np.testing.assert_allclose(body.omega_BN_B, [-torque * t / (12.0 - spin_inertia), 0, 0],
                               rtol=1e-12, atol=1e-15)
    body_momentum_B = inertia @ body.omega_BN_B
    wheel_momentum_B = body.wheel_momentum_Nms[0] * np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(body_momentum_B, -wheel_momentum_B, atol=1e-14)
    np.testing.assert_allclose(body.angular_momentum_N(), 0.0, atol=1e-14)


def test_wheel_and_external_torques_together_change_momentum_only_by_the_external_impulse():
    body = RigidBody(INERTIA, wheels=pyramid_wheels(), omega_BN_B=[0.01, 0.02, -0.01],
                     wheel_speed_rad_s=[10.0, 20.0, -5.0, 0.0])
    rng = np.random.default_rng(3)
    h_N = body.angular_momentum_N()
    for _ in range(300):
        torque_B = rng.normal(scale=1e-3, size=3)
        torque_N = body.C_BN.T @ torque_B
        body.step(0.2, wheel_torque_cmd_Nm=rng.normal(scale=0.02, size=4),
                  ext_torque_B_Nm=torque_B)
        # over a short step the impulse is the torque in N at mid-step; take the average
        h_N += 0.5 * (torque_N + body.C_BN.T @ torque_B) * 0.2
    np.testing.assert_allclose(body.angular_momentum_N(), h_N, atol=1e-7)


def test_wheel_commands_beyond_the_torque_limit_are_clipped():
    body = RigidBody(INERTIA, wheels=pyramid_wheels(max_torque_Nm=0.05))
    body.step(1.0, wheel_torque_cmd_Nm=[0.2, -0.2, 0.03, -1.0])
    np.testing.assert_array_equal(body.wheel_torque_applied_Nm, [0.05, -0.05, 0.03, -0.05])


def test_wheels_hold_their_momentum_capacity_and_stop_accepting_torque():
    wheels = pyramid_wheels(max_torque_Nm=0.05, max_momentum_Nms=0.5)
    body = RigidBody(INERTIA, wheels=wheels)
    command = np.array([0.05, 0.05, -0.05, 0.05])
    # the limit holds to the body's coupling with the other wheels, ~J_s/J of a step's impulse
    capacity_tolerance = 0.01 / 7.0 * 4 * 0.05 * 0.5
    for _ in range(40):
        body.step(0.5, wheel_torque_cmd_Nm=command)
        assert (np.abs(body.wheel_torque_applied_Nm) <= 0.05).all()
        assert (np.abs(body.wheel_momentum_Nms) <= 0.5 + capacity_tolerance).all()
    np.testing.assert_allclose(np.abs(body.wheel_momentum_Nms), 0.5, atol=capacity_tolerance)
    omega = body.omega_BN_B
    body.step(1.0, wheel_torque_cmd_Nm=command)
    np.testing.assert_allclose(body.wheel_torque_applied_Nm, 0.0, atol=1e-4 * 0.05)
    np.testing.assert_allclose(body.omega_BN_B, omega, atol=1e-6 * np.linalg.norm(omega))


def test_wheel_above_its_limit_is_braked_back_within_one_step():
    wheels = pyramid_wheels(max_torque_Nm=0.05, max_momentum_Nms=0.5)
    body = RigidBody(INERTIA, wheels=wheels, wheel_speed_rad_s=[51.0, 0.0, 0.0, -50.5])
    body.step(1.0)
    np.testing.assert_allclose(body.wheel_momentum_Nms[[0, 3]], [0.5, -0.5], rtol=1e-4)
    assert body.wheel_torque_applied_Nm[0] < 0.0 < body.wheel_torque_applied_Nm[3]


@pytest.mark.parametrize("omega, wheel_speeds", [
    ([1e-3, -2e-3, 1.1e-3], [30.0, -20.0, 15.0, 5.0]),
    ([1e-3, -2e-3, 1.1e-3], [150.0, 150.0, 150.0, 150.0]),
    ([0.05, -0.08, 0.06], [0.0, 0.0, 0.0, 0.0]),
    ([0.2, -0.1, 0.3], [30.0, -20.0, 15.0, 5.0]),
], ids=["pointing-with-biased-wheels", "pointing-with-5-Nms-in-the-wheels",
        "tumbling-0.11-rad-s", "tumbling-0.37-rad-s-with-wheels"])
def test_default_substeps_keep_attitude_within_a_microradian_over_an_hour(omega, wheel_speeds):
    wheels = pyramid_wheels(max_momentum_Nms=2.0)

    def attitude_after_an_hour(**kwargs):
        body = RigidBody(INERTIA, wheels=wheels, omega_BN_B=omega,
                         wheel_speed_rad_s=wheel_speeds, **kwargs)
        for _ in range(3600):
            body.step(1.0)
        return body.q_BN

    reference = attitude_after_an_hour(max_substep_s=0.01)
    assert rotation_angle_between(attitude_after_an_hour(), reference) < 1e-6


def test_state_setters_and_readouts_agree():
    wheels = pyramid_wheels()
    body = RigidBody(INERTIA, wheels=wheels, q_BN=[2.0, 0.0, 0.0, 0.0],
                     omega_BN_B=[0.1, 0.0, -0.1], wheel_speed_rad_s=[1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(body.q_BN, [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(body.wheel_speed_rad_s, [1.0, 2.0, 3.0, 4.0], rtol=1e-14)
    np.testing.assert_allclose(body.wheel_momentum_Nms, 0.01 * np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(body.angular_momentum_B(),
                               INERTIA @ body.omega_BN_B
                               + wheels.spin_axes_B.T @ body.wheel_momentum_Nms, rtol=1e-14)
    np.testing.assert_allclose(body.C_BN, np.eye(3))


def test_pyramid_wheels_give_equal_authority_about_every_axis():
    axes = ReactionWheels.pyramid().spin_axes_B
    np.testing.assert_allclose(axes.T @ axes, 4.0 / 3.0 * np.eye(3), atol=1e-15)


@pytest.mark.parametrize("kwargs, match", [
    (dict(dt_s=-1.0), "dt_s"),
    (dict(dt_s=np.nan), "dt_s"),
    (dict(wheel_torque_cmd_Nm=[0.0, np.inf, 0.0, 0.0]), "non-finite"),
    (dict(ext_torque_B_Nm=[np.nan, 0.0, 0.0]), "non-finite"),
    (dict(wheel_torque_cmd_Nm=[0.0, 0.0, 0.0]), "shape"),
    (dict(ext_torque_B_Nm=[0.0, 0.0]), "shape"),
])
def test_bad_step_input_raises_and_leaves_the_state_unchanged(kwargs, match):
    body = RigidBody(INERTIA, wheels=pyramid_wheels(), omega_BN_B=[0.01, 0.0, 0.0])
    q, w = body.q_BN, body.omega_BN_B
    args = dict(dt_s=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        body.step(**args)
    np.testing.assert_array_equal(body.q_BN, q)
    np.testing.assert_array_equal(body.omega_BN_B, w)


@pytest.mark.parametrize("inertia, wheels, match", [
    (np.diag([1.0, 1.0, -1.0]), None, "positive definite"),
    ([[1.0, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], None, "symmetric"),
    (np.diag([1.0, 1.0, 1.0]), "heavy-wheel", "positive definite"),
])
def test_bad_configuration_is_rejected(inertia, wheels, match):
    if wheels == "heavy-wheel":
        wheels = ReactionWheels([[0, 0, 1]], 2.0, 0.1, 1.0)
    with pytest.raises(ValueError, match=match):
        RigidBody(inertia, wheels=wheels)


@pytest.mark.parametrize("kwargs", [
    dict(spin_axes_B=[[0.0, 0.0, 0.0]]),
    dict(spin_inertia_kgm2=-0.01),
    dict(max_torque_Nm=0.0),
    dict(max_momentum_Nms=np.nan),
])
def test_reaction_wheels_reject_degenerate_parameters(kwargs):
    params = dict(spin_axes_B=[[0.0, 0.0, 2.0]], spin_inertia_kgm2=0.01, max_torque_Nm=0.1,
                  max_momentum_Nms=1.0)
    params.update(kwargs)
    with pytest.raises(ValueError):
        ReactionWheels(**params)
