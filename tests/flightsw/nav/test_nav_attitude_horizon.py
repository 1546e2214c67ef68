"""The attitude estimate is never held for a burn: the controller flies the burn on it."""
import math

import numpy as np
import pytest
from test_nav_app import Scenario, latest

from flightsw.msg import AttitudeEstimate, BurnCommand, OrbitEstimate
from nav_truth import NS


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
    # goes on one measurement lag behind the step
    assert t_orbit[30] == pytest.approx(20.0, abs=1e-6)
    assert [t_att[k] for k in (21, 25, 30, 34)] == [20.0, 24.0, 29.0, 33.0]
    assert latest(out, AttitudeEstimate).valid
