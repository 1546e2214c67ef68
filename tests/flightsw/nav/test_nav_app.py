"""The nav app end to end on messages: time order, estimates, health counters, bad input."""
import math

import numpy as np
import pytest
from nav_truth import ARCSEC, NS, elements_to_state, noisy_bearing, rtn_basis, trajectory

from flightsw.msg import (AttitudeEstimate, BurnCommand, BurnReport, GnssFix, GyroRate,
                          NavHealth, OrbitEstimate, RangefinderRange, RelativeState,
                          StarTrackerAttitude, TargetCue, TargetTrack)
from flightsw.nav import NavApp
from flightsw.runtime.app import Inbox

A = 6878e3
SIGMA_U = 3 * ARCSEC


def track(t_ns, u, state="confirmed"):
    P_u = SIGMA_U ** 2 * (np.eye(3) - np.outer(u, u))
    return TargetTrack(t_meas_ns=t_ns, track_id=1, u_N=u, P_u=P_u,
                       x_px=0.0, y_px=0.0, flux_dn=100.0, snr=20.0, resolved=False,
                       apparent_radius_rad=0.0, frames_tracked=10, state=state, saturated=False)


def gnss(t_ns, x, valid=True):
    return GnssFix(t_meas_ns=t_ns, r_BN_N=x[:3], v_BN_N=x[3:], sigma_r_m=3.0, sigma_v_mps=0.03,
                   n_sats=9, valid=valid)


class Scenario:
    """Chaser 5 km behind the target; the app steps at 1 Hz on 1 Hz GNSS, 5 Hz gyro, 1 Hz star
    tracker, a bearing and a rangefinder return every 10 s."""

    def __init__(self, seed=0, duration_s=300, burns=()):
        self.rng = np.random.default_rng(seed)
        self.t = np.arange(0.0, duration_s + 1.0, 1.0)
        x_T = elements_to_state(A, 0.001, math.radians(51.6), 0.5, 0.0, 0.3)
        x_C = elements_to_state(A - 50.0, 0.001, math.radians(51.6), 0.5, 0.0, 0.3 - 5e3 / A)
        self.P_cue = np.diag([100.0 ** 2] * 3 + [0.1 ** 2] * 3)
        self.cue_x = x_T.copy()
        x_T = x_T + np.sqrt(np.diag(self.P_cue)) * self.rng.standard_normal(6)
        self.X_T = trajectory(x_T, self.t)
        self.X_C = trajectory(x_C, self.t, burns=burns)
        self.app = NavApp("nav", {"measurement_lag_s": 1.0}, rate_hz=1.0)
        self.app.reset()

    def inbox(self, k):
        t_ns = int(self.t[k] * NS)
        x_C = self.X_C[k]
        msgs = [gnss(t_ns, x_C + np.r_[3.0 * self.rng.standard_normal(3),
                                       0.03 * self.rng.standard_normal(3)])]
        for j in range(5):
            msgs.append(GyroRate(t_meas_ns=t_ns + j * NS // 5,
                                 omega_BN_B=1e-6 * self.rng.standard_normal(3),
                                 valid=True))
        msgs.append(StarTrackerAttitude(t_meas_ns=t_ns, q_BN=np.array([1.0, 0, 0, 0]),
                                        sigma_cross_rad=5 * ARCSEC, sigma_roll_rad=40 * ARCSEC,
                                        valid=True))
        if k == 0:
            msgs.append(TargetCue(epoch_ns=0, r_TN_N=self.cue_x[:3], v_TN_N=self.cue_x[3:],
                                  P_rv=self.P_cue, radius_m=1.0))
        if k % 10 == 5:
            msgs.append(track(t_ns, noisy_bearing(self.X_T[k, :3], x_C[:3], SIGMA_U, self.rng)))
            d = np.linalg.norm(self.X_T[k, :3] - x_C[:3])
            range_m = d - 1.0 + 0.6 * self.rng.standard_normal()
            msgs.append(RangefinderRange(t_meas_ns=t_ns, range_m=range_m,
                                         sigma_m=0.6, valid=True))
        return msgs

    def step(self, k, msgs):
        return self.app.step(int(self.t[k] * NS), Inbox([(None, m) for m in msgs]))


def latest(out, cls):
    found = [m for m in out if type(m) is cls]
    return found[-1] if found else None


def test_nav_app_estimates_the_relative_state_in_target_rtn():
    s = Scenario(seed=1, duration_s=200)
    for k in range(len(s.t)):
        out = s.step(k, s.inbox(k))
    rel = latest(out, RelativeState)
    health = latest(out, NavHealth)
    assert latest(out, AttitudeEstimate).valid and latest(out, OrbitEstimate).valid
    k = int(rel.t_est_ns // NS)
    assert rel.t_est_ns == int(s.t[k] * NS)
    x_T, x_C = s.X_T[k], s.X_C[k]
    r_true = rtn_basis(x_T) @ (x_C[:3] - x_T[:3])
    sigma = np.sqrt(np.diag(rel.P_rtn[:3, :3]))
    assert np.all(np.abs(rel.r_CT_rtn - r_true) < 4 * sigma)
    assert abs(rel.range_m - np.linalg.norm(r_true)) < 0.01 * np.linalg.norm(r_true)
    assert rel.roe[1] == pytest.approx(-5e3 / A, rel=0.05)
    assert health.bearings_used == 20 and health.bearings_gated == 0
    assert health.measurements_rejected == 0 and not health.diverged
    assert 0.0 < health.nis_bearing_avg < 6.0


def test_nan_stale_and_out_of_order_measurements_are_rejected_and_counted():
    s = Scenario(seed=2, duration_s=120)
    planted = 0
    for k in range(len(s.t)):
        msgs = s.inbox(k)
        t_ns = int(s.t[k] * NS)
        if k == 40:
            msgs.append(gnss(t_ns, np.full(6, np.nan)))
            planted += 1
        if k == 50:
            msgs.append(track(t_ns - 5 * NS, np.array([1.0, 0.0, 0.0])))  # older than the horizon
            planted += 1
        if k == 60:
            msgs.append(gnss(t_ns + 10 * NS, s.X_C[k]))  # from the future
            planted += 1
        if k == 70:
            msgs.append(gnss(t_ns, s.X_C[k], valid=False))  # no fix: skipped, not counted
            msgs.append(track(t_ns, np.array([0.0, 0.0, 1.0]), state="tentative"))
        out = s.step(k, msgs)
    health = latest(out, NavHealth)
    assert health.measurements_rejected == planted
    assert health.bearings_used == 12 and not health.diverged


def test_an_outlier_bearing_is_gated_and_counted():
    s = Scenario(seed=3, duration_s=100)
    for k in range(len(s.t)):
        msgs = s.inbox(k)
        if k == 65:
            u = s.X_T[k, :3] - s.X_C[k, :3]
            u = u / np.linalg.norm(u) + np.array([0.0, 0.0, 0.01])
            msgs.append(track(int(s.t[k] * NS), u / np.linalg.norm(u)))
        out = s.step(k, msgs)
    health = latest(out, NavHealth)
    assert health.bearings_gated == 1 and health.bearings_used == 10


def burn_report(s, t_burn_s, burn_id=1):
    """What control reports of an impulsive burn the truth flew at t_burn_s (a 2 s burn)."""
    k = int(t_burn_s)
    dv_N = s.X_C[k, 3:] - trajectory(s.X_C[k - 1], [0.0, 1.0])[1, 3:]
    return BurnReport(burn_id=burn_id, t_start_ns=(k - 1) * NS, t_end_ns=(k + 1) * NS,
                      dv_N=dv_N, sigma_dv_mps=0.03 * np.linalg.norm(dv_N) + 2e-4)


@pytest.mark.parametrize("case", ["unreported", "reported within the lag", "reported late",
                                  "commanded, reported late", "reported after detection"])
def test_reported_burns_are_applied_and_unreported_ones_are_detected(case):
    """A 0.3 m/s radial burn at 100 s. Reported 1 s after it (within the 1 s lag: buffered),
    4 s after with the command seen (the horizon waits for the report), or 2 s after without
    (the filters passed it: carried through the transition), the GNSS fixes after it fit and
    the estimate stays consistent. Unreported, the fixes reveal a manoeuvre (twice: the orbit
    and relative filters); a report after that is not applied a second time."""
    s = Scenario(seed=4, duration_s=200, burns=[(100.0, [0.3, 0.0, 0.0])])
    report = burn_report(s, 100.0)
    delay = {"unreported": None, "reported within the lag": 1, "reported late": 2,
             "commanded, reported late": 4, "reported after detection": 8}[case]
    command = BurnCommand(burn_id=1, t_start_ns=99 * NS, dv_N=report.dv_N, duration_s=2.0)
    for k in range(len(s.t)):
        msgs = s.inbox(k)
        if case.startswith("commanded") and k == 95:
            msgs.append(command)
        if delay is not None and k == 100 + delay:
            msgs += [report, report]    # a repeat is ignored
        out = s.step(k, msgs)
    app = s.app
    detected = app.orbit.fuser.manoeuvres_detected + app.relative.fuser.manoeuvres_detected
    assert detected == (2 if case in ("unreported", "reported after detection") else 0)
    rel = latest(out, RelativeState)
    k = int(rel.t_est_ns // NS)
    assert k == 199
    x_T, x_C = s.X_T[k], s.X_C[k]
    e_v = app.orbit.x[3:] - x_C[3:]
    assert e_v @ np.linalg.solve(app.orbit.P[3:, 3:], e_v) < 16.0
    r_true = rtn_basis(x_T) @ (x_C[:3] - x_T[:3])
    assert np.all(np.abs(rel.r_CT_rtn - r_true) < 4 * np.sqrt(np.diag(rel.P_rtn[:3, :3])))
    assert latest(out, NavHealth).measurements_rejected == 0


def test_the_horizon_waits_for_a_commanded_burn_until_its_report_or_the_timeout():
    s = Scenario(seed=5, duration_s=60)
    command = BurnCommand(burn_id=3, t_start_ns=20 * NS, dv_N=np.array([0.0, 0.1, 0.0]),
                          duration_s=5.0)
    t_est = []
    for k in range(len(s.t)):
        msgs = s.inbox(k) + ([command] if k == 10 else [])
        orbit = latest(s.step(k, msgs), OrbitEstimate)
        t_est.append(orbit.t_est_ns / NS if orbit is not None else math.nan)
    # held just before the start, from 20 s until 20 + 5 + 10 s (never reported: cancelled)
    assert t_est[25] == pytest.approx(20.0, abs=1e-6) and t_est[34] == pytest.approx(20.0, abs=1e-6)
    assert t_est[35] == 34.0 and t_est[60] == 59.0


def test_a_malformed_star_tracker_boresight_parameter_is_refused():
    app = NavApp("nav", {"star_tracker_boresight_B": "0,0"})
    with pytest.raises(ValueError, match="star_tracker_boresight_B"):
        app.reset()
