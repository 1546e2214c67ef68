"""The bearing consistency test: its verdict from the evidence in memory only, decaying to "no
information" when bearings stop, and the recovery of a diverged filter by a covariance reset."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2
from test_nav_app import Scenario, latest

from flightsw.msg import NavHealth, RelativeState
from flightsw.nav import NavApp
from flightsw.nav.consistency import BearingConsistency
from nav_truth import NS, rtn_basis

WINDOW, MEMORY_S, MAX_GATED = 5, 100.0, 3


def reference_verdict(history, now_s):
    """Failing, from scratch: the last WINDOW accepted bearings, those within MEMORY_S of now,
    full and their mean NIS above the chi2(2 WINDOW) / WINDOW 0.999 bound; or MAX_GATED gated
    bearings in memory since the last accepted one."""
    accepted = [(t, nis) for t, nis, ok in history if ok][-WINDOW:]
    in_memory = [nis for t, nis in accepted if t >= now_s - MEMORY_S]
    last_ok = max([t for t, _, ok in history if ok], default=-math.inf)
    run = [t for t, _, ok in history if not ok and t > last_ok and t >= now_s - MEMORY_S]
    bound = chi2.ppf(0.999, 2 * WINDOW) / WINDOW
    by_average = len(in_memory) == WINDOW and np.mean(in_memory) > bound
    return bool(by_average or len(run) >= MAX_GATED), (np.mean(in_memory) if in_memory else math.nan)


bearings = st.lists(st.tuples(st.floats(0.1, 80.0), st.floats(0.0, 40.0), st.booleans()),
                    min_size=1, max_size=40)


@settings(max_examples=100)
@given(bearings, st.floats(0.0, 300.0))
def test_the_verdict_is_that_of_the_evidence_in_memory_and_expires_with_it(gaps, later_s):
    c = BearingConsistency(WINDOW, memory_s=MEMORY_S, max_consecutive_gated=MAX_GATED)
    history, t_s = [], 0.0
    for gap_s, nis, accepted in gaps:
        t_s += gap_s
        # whole nanoseconds, as the app's times
        t_ns = int(round(t_s * NS))
        history.append((t_ns / NS, nis, accepted))
        c.record(t_ns, nis, accepted)
        failing, average = reference_verdict(history, t_ns / NS)
        assert c.failing == failing
        assert c.diverged == failing   # no recovery was begun
        assert math.isnan(average) and math.isnan(c.nis_average) or \
            math.isclose(c.nis_average, average, rel_tol=1e-12)
    now_ns = int(round((t_s + later_s) * NS))
    c.advance(now_ns)
    assert c.failing == reference_verdict(history, now_ns / NS)[0]
    c.advance(now_ns + int(MEMORY_S * NS) + 1)
    # nothing in memory: no information, not a verdict
    assert not c.diverged and math.isnan(c.nis_average)


def test_a_recovery_reports_diverged_until_a_full_window_of_new_bearings_is_judged():
    c = BearingConsistency(WINDOW, memory_s=MEMORY_S, max_consecutive_gated=MAX_GATED)
    for k in range(MAX_GATED):
        c.record(k * 10 * NS, 50.0, False)
    assert c.failing
    c.begin_recovery(20 * NS)
    assert c.diverged and not c.failing and c.resets == 1
    for k in range(WINDOW):
        assert c.diverged
        c.record((30 + 10 * k) * NS, 2.0, True)
    assert not c.diverged and c.nis_average == 2.0


def test_a_recovery_without_bearings_becomes_no_information():
    c = BearingConsistency(WINDOW, memory_s=MEMORY_S, max_consecutive_gated=MAX_GATED)
    c.begin_recovery(0)
    c.advance(int(MEMORY_S * NS))
    assert c.diverged
    c.advance(int(MEMORY_S * NS) + 1)
    assert not c.diverged


def diverging_scenario(seed, duration_s, reset_fraction=0.1):
    """The 5 km scenario (the rangefinder in reach); nav with a short consistency window, a
    100 s memory, and the divergence reset on (it is off by default: see the app's PARAMS)."""
    s = Scenario(seed=seed, duration_s=duration_s)
    s.app = NavApp("nav", {"measurement_lag_s": 1.0, "nis_window": WINDOW,
                           "max_consecutive_gated": MAX_GATED, "divergence_memory_s": MEMORY_S,
                           "divergence_reset_fraction": reset_fraction},
                   rate_hz=1.0)
    s.app.reset()
    return s


def knock_off(app):
    """Move the estimated target 300 m cross-track (tens of its sigmas), keeping its covariance:
    a filter that has truly diverged, confident and wrong."""
    N = rtn_basis(app.relative.x[:6])[2]
    app.relative.x[:3] += 300.0 * N


def test_a_diverged_filter_is_reset_and_reconverges_on_new_bearings():
    s = diverging_scenario(seed=11, duration_s=330)
    diverged = []
    for k in range(len(s.t)):
        if k == 100:
            knock_off(s.app)
        out = s.step(k, s.inbox(k))
        diverged.append(latest(out, NavHealth).diverged)
    # the gated run (a bearing every 10 s) trips the test within MAX_GATED bearings; the reset
    # lets the bearings in, and a full window of them later the filter is consistent again
    assert not any(diverged[:100])
    assert any(diverged[100:140])
    assert s.app.consistency.resets == 1
    assert not any(diverged[-60:])
    rel, health = latest(out, RelativeState), latest(out, NavHealth)
    k = int(rel.t_est_ns // NS)
    r_true = rtn_basis(s.X_T[k]) @ (s.X_C[k, :3] - s.X_T[k, :3])
    assert np.all(np.abs(rel.r_CT_rtn - r_true) < 4 * np.sqrt(np.diag(rel.P_rtn[:3, :3])))
    assert np.linalg.norm(rel.r_CT_rtn - r_true) < 20.0
    assert 0.0 < health.nis_bearing_avg < 6.0


def test_a_divergence_with_no_bearings_since_decays_to_no_information():
    """Bearings stop right after the test trips (the target in eclipse): MEMORY_S later the
    health no longer says diverged, and the average is NaN (nothing to average)."""
    s = diverging_scenario(seed=12, duration_s=300)
    seen = []
    for k in range(len(s.t)):
        if k == 100:
            knock_off(s.app)
        msgs = s.inbox(k)
        if k > 140:
            msgs = [m for m in msgs if type(m).__name__ != "TargetTrack"]
        health = latest(s.step(k, msgs), NavHealth)
        seen.append((health.diverged, health.nis_bearing_avg))
    assert seen[141][0]
    assert not seen[-1][0] and math.isnan(seen[-1][1])
