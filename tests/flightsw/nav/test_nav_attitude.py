"""Attitude MEKF against a simulated constant-rate truth with a Farrenkopf gyro and star tracker."""
import math

import numpy as np
import pytest
from nav_truth import ARCSEC, NS
from scipy.spatial.transform import Rotation
from scipy.stats import chi2

from flightsw.nav.attitude import AttitudeFilter, attitude_error, quat_multiply, rotation_quaternion

SIGMA_V = 0.15 * math.radians(1.0) / 60.0
SIGMA_U = 0.3 * math.radians(1.0) / 3600.0 / math.sqrt(1800.0)
BIAS0 = 5.0 * math.radians(1.0) / 3600.0
CROSS, ROLL = 5 * ARCSEC, 40 * ARCSEC


def scalar_first(rot):
    """q_BN (scalar first, Euler parameters) of the scipy rotation whose matrix is C_BN."""
    x, y, z, w = Rotation.from_matrix(rot.as_matrix().T).as_quat()
    return np.array([w, x, y, z])


def simulate(seed, duration_s=600.0):
    """NEES rows (6 dof: attitude error and bias error) once a second, and the filter."""
    rng = np.random.default_rng(seed)
    axis = np.array([1.0, 2.0, 3.0]) / math.sqrt(14.0)
    omega = math.radians(0.5) * axis
    rot0 = Rotation.from_rotvec(rng.standard_normal(3))
    # truth: C_BN(t) = exp(-[omega x] t) C_BN(0), i.e. B turns at omega about its own axis
    truth = lambda t: Rotation.from_rotvec(omega * t).inv() * rot0  # noqa: E731
    bias = BIAS0 * rng.standard_normal(3)
    mekf = AttitudeFilter(SIGMA_V, SIGMA_U, BIAS0)
    dt = 0.2
    rows = []
    for k in range(int(duration_s / dt) + 1):
        t = k * dt
        t_ns = int(round(t * NS))
        bias_next = bias + SIGMA_U * math.sqrt(dt) * rng.standard_normal(3)
        noise = math.sqrt(SIGMA_V ** 2 / dt + SIGMA_U ** 2 * dt / 12) * rng.standard_normal(3)
        mekf.gyro(t_ns, omega + 0.5 * (bias + bias_next) + noise)
        bias = bias_next
        if k % 5 == 0:
            q_true = scalar_first(truth(t))
            noise = np.array([CROSS, CROSS, ROLL]) * rng.standard_normal(3)
            mekf.star_tracker(t_ns, quat_multiply(q_true, rotation_quaternion(noise)), CROSS, ROLL)
            e = np.concatenate((attitude_error(mekf.q, q_true), bias - mekf.bias))
            rows.append((t, float(e @ np.linalg.solve(mekf.P, e)), np.linalg.norm(e[:3]),
                         np.linalg.norm(e[3:])))
    return np.array(rows), mekf, bias


def test_truth_quaternion_convention_is_the_projects():
    rot = Rotation.from_rotvec([0.0, 0.0, 0.3])
    q = scalar_first(rot)
    C = rot.as_matrix()
    v_N = np.array([1.0, 0.0, 0.0])
    q_v = quat_multiply(quat_multiply(q, np.array([0.0, *C @ v_N])), q * [1, -1, -1, -1])
    assert np.allclose(q_v[1:], v_N, atol=1e-12)


@pytest.fixture(scope="module")
def runs():
    return [simulate(seed) for seed in range(3)]


def test_mekf_attitude_error_settles_below_the_star_tracker_noise(runs):
    """The error norm is dominated by the roll about the tracker boresight (40 arcsec raw)."""
    for rows, _, _ in runs:
        settled = rows[:, 0] >= 200.0
        assert np.sqrt(np.mean(rows[settled, 2] ** 2)) < 25 * ARCSEC


def test_mekf_estimates_the_gyro_bias(runs):
    for rows, mekf, bias in runs:
        error = np.linalg.norm(mekf.bias - bias)
        assert error < 3 * math.sqrt(np.trace(mekf.P[3:, 3:]))
        assert error < 0.5 * BIAS0


def test_mekf_nees_is_inside_its_95_percent_bounds_90_percent_of_the_time(runs):
    nees = np.mean([rows[:, 1] for rows, _, _ in runs], axis=0)
    lo, hi = chi2.ppf([0.025, 0.975], 6 * len(runs)) / len(runs)
    assert ((nees >= lo) & (nees <= hi)).mean() >= 0.9


def test_a_star_tracker_outlier_is_gated():
    mekf = AttitudeFilter(SIGMA_V, SIGMA_U, BIAS0)
    mekf.gyro(0, np.zeros(3))
    mekf.star_tracker(0, [1.0, 0, 0, 0], CROSS, ROLL)
    result = mekf.star_tracker(NS, rotation_quaternion([0.01, 0.0, 0.0]), CROSS, ROLL)
    assert not result.accepted
    assert np.allclose(mekf.q, [1.0, 0, 0, 0])


def test_an_estimate_pushed_off_is_reacquired_from_the_tracker_not_left_to_drift():
    # converged at identity; the body then really is 0.5 deg off (the estimate was pushed off:
    # e.g. a bad gyro stretch): the first solutions are refused as outliers, the run of them
    # restarts the attitude on the tracker, and it converges again
    mekf = AttitudeFilter(SIGMA_V, SIGMA_U, BIAS0)
    rng = np.random.default_rng(8)
    for k in range(60):
        mekf.gyro(k * NS, np.zeros(3))
        mekf.star_tracker(k * NS, [1.0, 0, 0, 0], CROSS, ROLL)
    q_true = rotation_quaternion([math.radians(0.5), 0.0, 0.0])
    accepted = []
    for k in range(60, 80):
        mekf.gyro(k * NS, np.zeros(3))
        noise = np.array([CROSS, CROSS, ROLL]) * rng.standard_normal(3)
        accepted.append(mekf.star_tracker(k * NS, quat_multiply(q_true, rotation_quaternion(noise)),
                                          CROSS, ROLL).accepted)
    assert accepted[:5] == [False] * 5 and all(accepted[5:])
    assert mekf.reacquisitions == 1
    assert np.linalg.norm(attitude_error(mekf.q, q_true)) < 3 * CROSS + ROLL


def test_a_1_hz_gyro_through_an_angular_acceleration_keeps_the_estimate_on_the_tracker():
    # a slew starting from rest at 1 mrad/s^2 about a fixed body axis, gyro and tracker at 1 Hz
    # and noise-free: the trapezoid propagation stays within arcseconds (holding the previous
    # sample alone errs by alpha dt^2 / 2 = 100 arcsec a second here, and the tracker is gated)
    axis = np.array([1.0, -2.0, 2.0]) / 3.0
    alpha = 1e-3
    rot0 = Rotation.from_rotvec([0.3, -0.2, 0.1])
    truth = lambda t: Rotation.from_rotvec(axis * 0.5 * alpha * t * t).inv() * rot0  # noqa: E731
    mekf = AttitudeFilter(SIGMA_V, SIGMA_U, BIAS0)
    worst, refused = 0.0, 0
    for k in range(31):
        t_ns = k * NS
        mekf.gyro(t_ns, axis * alpha * k)
        q_true = scalar_first(truth(float(k)))
        refused += not mekf.star_tracker(t_ns, q_true, CROSS, ROLL).accepted
        worst = max(worst, np.linalg.norm(attitude_error(mekf.q, q_true)))
    assert refused == 0 and worst < 10 * ARCSEC
