"""The attitude has its own horizon: the newest instant both attitude streams have reached,
never held for a burn (the controller flies the burn on it), never more than the lag behind."""
import math

import numpy as np
import pytest
from test_nav_app import Scenario, latest

from flightsw.msg import AttitudeEstimate, BurnCommand, GyroRate, OrbitEstimate, StarTrackerAttitude
from flightsw.nav import NavApp
from flightsw.nav.attitude import attitude_error, quat_multiply, rotation_quaternion
from flightsw.runtime.app import Inbox
from nav_truth import ARCSEC, NS


def test_the_attitude_keeps_its_horizon_while_the_orbit_waits_for_a_burn_report():
    s = Scenario(seed=6, duration_s=60)
    command = BurnCommand(burn_id=3, t_start_ns=20 * NS, dv_N=np.array([0.0, 0.1, 0.0]),
                          duration_s=5.0)
    t_orbit, t_att = [], []
    for k in range(len(s.t)):
        out = s.step(k, s.inbox(k) + ([command] if k == 10 else []))
        orbit, att = latest(out, OrbitEstimate), latest(out, AttitudeEstimate)
        t_orbit.append(orbit.t_est_ns / NS if orbit is not None else math.nan)
        t_att.append(att.t_est_ns / NS if att is not None else math.nan)
    # the orbit is held at the burn's start (never reported: until the timeout); the attitude
    # goes on at the step, the star tracker's newest sample (the gyro's run 0.8 s ahead)
    assert t_orbit[30] == pytest.approx(20.0, abs=1e-6)
    assert [t_att[k] for k in (21, 25, 30, 34)] == [21.0, 25.0, 30.0, 34.0]
    assert latest(out, AttitudeEstimate).valid


OMEGA_BN_B = np.array([0.0, 0.0, 2e-3])   # a slow slew, rad/s


def true_attitude(t_s):
    return rotation_quaternion(OMEGA_BN_B * t_s)


def mission_like_step(app, k, rng, streams=(GyroRate, StarTrackerAttitude)):
    """Nav at 0.5 Hz, measurement_lag_s 3 s; gyro and star tracker at 1 Hz, each sample
    delivered one plant tick (1 s) after its instant, as in the mission scenarios."""
    t_ns = 2 * k * NS
    msgs = []
    for t_meas in (t_ns - 2 * NS, t_ns - NS):
        if t_meas < 0:
            continue
        if GyroRate in streams:
            msgs.append(GyroRate(t_meas_ns=t_meas, valid=True,
                                 omega_BN_B=OMEGA_BN_B + 1e-6 * rng.standard_normal(3)))
        if StarTrackerAttitude in streams:
            q = quat_multiply(true_attitude(t_meas / NS),
                              rotation_quaternion(5 * ARCSEC * rng.standard_normal(3)))
            msgs.append(StarTrackerAttitude(t_meas_ns=t_meas, q_BN=q, sigma_cross_rad=5 * ARCSEC,
                                            sigma_roll_rad=40 * ARCSEC, valid=True))
    return t_ns, latest(app.step(t_ns, Inbox([(None, m) for m in msgs])), AttitudeEstimate)


def test_the_published_attitude_is_at_most_one_step_old_with_a_3_s_measurement_lag():
    rng = np.random.default_rng(7)
    app = NavApp("nav", {"measurement_lag_s": 3.0}, rate_hz=0.5)
    app.reset()
    ages_s, errors_rad = [], []
    for k in range(2, 60):
        t_ns, att = mission_like_step(app, k, rng)
        ages_s.append((t_ns - att.t_est_ns) / NS)
        errors_rad.append(np.linalg.norm(attitude_error(att.q_BN, true_attitude(att.t_est_ns / NS))))
    # the newest samples are one tick old: the estimate is 1 s old, not the lag's 3 s
    assert max(ages_s) == 1.0
    assert max(errors_rad[10:]) < 20 * ARCSEC
    assert app.rejected == 0


def test_a_silent_attitude_stream_lets_the_horizon_fall_back_to_the_lag():
    """With the star tracker gone, the gyro alone carries the attitude, lag_s behind the step
    (a silent stream may yet deliver, so it holds the horizon up to the lag)."""
    rng = np.random.default_rng(8)
    app = NavApp("nav", {"measurement_lag_s": 3.0}, rate_hz=0.5)
    app.reset()
    for k in range(2, 10):
        mission_like_step(app, k, rng)
    ages_s = [(t_ns - att.t_est_ns) / NS for t_ns, att in
              (mission_like_step(app, k, rng, streams=(GyroRate,)) for k in range(10, 20))]
    assert ages_s[-5:] == [3.0] * 5
    assert app.rejected == 0
