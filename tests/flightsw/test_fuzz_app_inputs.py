"""Hostile input at every flight app: whatever reaches it, the app keeps ticking and every
rejection is counted.

Each app (nav, detect, guidance with its mission manager, control, health) is hosted by the
runtime's AppRunner, as in flight, and fed through its decoder:

* any decodable message of the types it subscribes to, its fields at their extremes (bounds,
  zeros, stale and far-future times, non-unit quaternions, indefinite covariances, states
  inside the Earth): no step raises, every output keeps its contract, no step hangs;
* probes, one a step: garbage the decoder must reject (NaN in a field, a wrong shape, a wrong
  version, cut frames, an unknown or unsubscribed topic) or a decodable message the app must
  refuse on its content: each is counted exactly once, by the decoder (health.app
  inputs_rejected) or by the app (App.rejected, health.app inputs_refused), and the runtime's
  report says so.
"""
import time

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flightsw.control.app import ControlApp
from flightsw.detect.app import DetectApp
from flightsw.guidance.app import GuidanceApp
from flightsw.health import HealthApp
from flightsw.msg import (AppHealth, AttitudeEstimate, BurnCommand, GnssFix, GuidanceMode,
                          GyroRate, OrbitEstimate, PointingCommand, StarTrackerAttitude,
                          TargetCue, TargetTrack, ThrusterCommand, TimeTone, decode, encode)
from flightsw.msg.codec import topic_frame
from flightsw.nav import NavApp
from flightsw.runtime.app import NS_PER_S
from flightsw.runtime.runner import AppRunner

FAR_NS = 2**64 - 1                      # 584 years after the epoch
X_LEO = np.array([6878e3, 0.0, 0.0, 0.0, 7612.6, 0.0])
Q0 = np.array([1.0, 0.0, 0.0, 0.0])

APPS = {
    "nav": lambda: NavApp("nav", {"measurement_lag_s": 1.0}),
    "detect": lambda: DetectApp("detect", {"n_cols": 64, "n_rows": 64, "fov_deg": 2.5,
                                           "attitude_wait_s": 0.0, "search_samples": 200}),
    "guidance": lambda: GuidanceApp("guidance", {"nav_settle_s": 0.0, "start_phase": "search",
                                                 "search_samples": 200}),
    "control": lambda: ControlApp("control", {}),
    "health": lambda: HealthApp("health", {"monitored": "nav,control"}),
}


def runner_of(name):
    app = APPS[name]()
    return AppRunner(app, report_period_ns=app.period_ns)    # a health report every step


# -- decodable extremes ------------------------------------------------------------------------
def extreme_scalars(lo, hi):
    specials = [lo, hi] + [v for v in (0.0, 1e-300, 1.0, -1.0) if lo <= v <= hi]
    return st.sampled_from(specials) | st.floats(lo, hi)


def field_values(f):
    lo = -1e300 if f.lo is None else max(f.lo, -1e300)
    hi = 1e300 if f.hi is None else min(f.hi, 1e300)
    if f.kind == "f64":
        return extreme_scalars(lo, hi)
    if f.kind == "i64":
        top = int(min(f.hi, 2**64 - 1))
        return st.sampled_from([int(f.lo), top, 0, 1, min(top, NS_PER_S)]) | st.integers(
            int(f.lo), top)
    if f.kind == "bool":
        return st.booleans()
    if f.kind == "str":
        return st.sampled_from(f.choices) if f.choices else st.text(max_size=f.max_len)
    if f.kind == "vec":
        one = extreme_scalars(lo, hi)
        return (one.map(lambda v: np.full(f.shape, v))
                | st.lists(one, min_size=f.size, max_size=f.size).map(
                    lambda v: np.reshape(v, f.shape)))
    sides = st.sampled_from([0, 1, 63, 64, 65])
    return st.tuples(sides, sides, st.integers(0, 2**16 - 1)).map(
        lambda s: np.full(s[:2], s[2], dtype=np.uint16))


def messages_for(app_cls):
    types = sorted(app_cls.SUBSCRIBES, key=lambda c: c.TOPIC)
    return st.sampled_from(types).flatmap(
        lambda cls: st.fixed_dictionaries({f.name: field_values(f) for f in cls.FIELDS})
        .map(lambda values: cls(**values)))


def step_checked(runner, t_ns, raw):
    t0 = time.perf_counter()
    wire = runner.run_step(t_ns, raw)
    assert time.perf_counter() - t0 < 20.0, "a step took as long as a hang"
    assert runner.step_faults == 0, runner.last_error
    assert runner.outputs_rejected == 0, runner.last_error
    return [decode(frames) for frames in wire]


@pytest.mark.parametrize("name", sorted(APPS))
@settings(max_examples=25)
@given(data=st.data())
def test_an_app_fed_any_decodable_extremes_keeps_ticking_and_its_outputs_keep_contract(
        name, data):
    runner = runner_of(name)
    messages = messages_for(type(runner.app))
    seq = 0
    n_steps = data.draw(st.integers(1, 6), label="steps")
    for k in range(1, n_steps + 1):
        t_ns = k * runner.app.period_ns
        batch = data.draw(st.lists(messages, max_size=4), label=f"step {k}")
        raw = []
        for msg in batch:
            sent_ns = data.draw(st.integers(0, t_ns), label="envelope time")
            raw.append(encode(msg, seq, sent_ns, "fuzz"))
            seq += 1
        step_checked(runner, t_ns, raw)
    assert runner.steps == n_steps


# -- probes: each counted exactly once ---------------------------------------------------------
def cue(epoch_ns=0, x=X_LEO):
    return TargetCue(epoch_ns=epoch_ns, r_TN_N=x[:3], v_TN_N=x[3:], P_rv=np.eye(6), radius_m=1.0)


def attitude(t_ns, q=Q0):
    return AttitudeEstimate(t_est_ns=t_ns, q_BN=np.asarray(q, float), omega_BN_B=np.zeros(3),
                            P_att=np.eye(3) * 1e-10, valid=True)


def gnss(t_ns, x=X_LEO):
    return GnssFix(t_meas_ns=t_ns, r_BN_N=x[:3], v_BN_N=x[3:], sigma_r_m=3.0, sigma_v_mps=0.03,
                   n_sats=9, valid=True)


# Decodable messages each app must refuse whatever its state (a function of the step time).
REFUSED = {
    "nav": [
        lambda t: gnss(t, np.zeros(6)),
        lambda t: gnss(t, np.array([6878e3, 0.0, 0.0, 0.0, 2e4, 0.0])),
        lambda t: gnss(t + 10 * NS_PER_S),
        lambda t: StarTrackerAttitude(t_meas_ns=t, q_BN=np.zeros(4), sigma_cross_rad=1e-5,
                                      sigma_roll_rad=1e-4, valid=True),
        lambda t: TargetTrack(t_meas_ns=t, track_id=1, u_N=np.zeros(3), P_u=np.zeros((3, 3)),
                              x_px=0.0, y_px=0.0, flux_dn=1.0, snr=10.0, resolved=False,
                              apparent_radius_rad=0.0, frames_tracked=5, state="confirmed",
                              saturated=False),
        lambda t: cue(FAR_NS),
        lambda t: cue(0, np.array([1e3, 0.0, 0.0, 0.0, 7612.6, 0.0])),
    ],
    "detect": [
        lambda t: attitude(t, np.zeros(4)),
        lambda t: attitude(FAR_NS),
        lambda t: gnss(FAR_NS),
        lambda t: gnss(t, np.zeros(6)),
        lambda t: cue(FAR_NS),
        lambda t: cue(0, np.array([6878e3, 0.0, 0.0, 0.0, 2e4, 0.0])),
    ],
    "guidance": [
        lambda t: attitude(t, np.zeros(4)),
        lambda t: OrbitEstimate(t_est_ns=t, r_BN_N=np.zeros(3), v_BN_N=np.zeros(3),
                                P_rv=np.eye(6), valid=True),
        lambda t: OrbitEstimate(t_est_ns=FAR_NS, r_BN_N=X_LEO[:3], v_BN_N=X_LEO[3:],
                                P_rv=np.eye(6), valid=True),
        lambda t: cue(FAR_NS),
        lambda t: cue(0, np.array([6878e3, 0.0, 0.0, 0.0, 2e4, 0.0])),
    ],
    "control": [
        lambda t: PointingCommand(q_RN=np.zeros(4), omega_RN_R=np.zeros(3), mode="target"),
        lambda t: PointingCommand(q_RN=np.full(4, 0.9), omega_RN_R=np.zeros(3), mode="target"),
        lambda t: BurnCommand(burn_id=t, t_start_ns=t, dv_N=np.ones(3), duration_s=0.0),
        lambda t: attitude(t, np.zeros(4)),
        lambda t: attitude(FAR_NS),
    ],
    "health": [
        lambda t: attitude(t, np.zeros(4)),
        lambda t: attitude(FAR_NS),
        lambda t: GyroRate(t_meas_ns=FAR_NS, omega_BN_B=np.zeros(3), valid=True),
        lambda t: ThrusterCommand(t_start_ns=FAR_NS, on_time_s=np.zeros(12)),
        lambda t: gnss(FAR_NS),
    ],
}


def garbage(runner, kind, msg, t_ns, seq):
    """Frames of msg (a type the app subscribes to) that the decoder must reject."""
    frames = encode(msg, seq, t_ns, "fuzz")
    values = msgpack.unpackb(frames[2])
    fields = type(msg).FIELDS
    if kind == "nan":
        i = next(k for k, f in enumerate(fields) if f.kind in ("f64", "vec"))
        values[i] = float("nan") if fields[i].kind == "f64" else [float("nan")] * fields[i].size
        return [frames[0], frames[1], msgpack.packb(values), *frames[3:]]
    if kind == "shape":
        i = next((k for k, f in enumerate(fields) if f.kind == "vec"), None)
        if i is None:
            values.append(0)                                  # one value too many
        else:
            values[i] = values[i][:-1]
        return [frames[0], frames[1], msgpack.packb(values), *frames[3:]]
    if kind == "version":
        return [frames[0], msgpack.packb([type(msg).VERSION + 1, seq, t_ns, "fuzz"]),
                *frames[2:]]
    if kind == "cut":
        return [frames[0], frames[1], frames[2][: len(frames[2]) // 2], *frames[3:]]
    if kind == "unknown":
        return [topic_frame("no.such.topic"), *frames[1:]]
    # a valid message of a topic the app does not subscribe to
    return encode(TimeTone(tone=1, vehicle_time_ns=t_ns), seq, t_ns, "fuzz")


GARBAGE = ("nan", "shape", "version", "cut", "unknown", "unsubscribed")
NOMINAL = {       # a decodable, acceptable message of a subscribed type, to carry garbage
    "nav": lambda t: gnss(t), "detect": lambda t: gnss(t), "guidance": lambda t: cue(0),
    "control": lambda t: attitude(t), "health": lambda t: attitude(t),
}


@pytest.mark.parametrize("name", sorted(APPS))
@settings(max_examples=20)
@given(data=st.data())
def test_every_bad_input_to_an_app_is_counted_once_and_reported(name, data):
    runner = runner_of(name)
    app = runner.app
    n_steps = data.draw(st.integers(1, 8), label="steps")
    refused = decoded_bad = 0
    for k in range(1, n_steps + 1):
        t_ns = (k + 2) * app.period_ns + 3 * NS_PER_S       # far enough past t = 0 for stale
        if data.draw(st.booleans(), label="refused or garbage"):
            make = data.draw(st.sampled_from(REFUSED[name]), label="refused")
            raw = [encode(make(t_ns), k, t_ns, "fuzz")]
            refused += 1
        else:
            kind = data.draw(st.sampled_from(GARBAGE), label="garbage")
            raw = [garbage(runner, kind, NOMINAL[name](t_ns), t_ns, k)]
            decoded_bad += 1
        out = step_checked(runner, t_ns, raw)
        assert (app.rejected, runner.decoder.n_rejected) == (refused, decoded_bad)
        report = [m for _, m in out if isinstance(m, AppHealth)][-1]
        assert report.inputs_refused == refused
        assert sum(report.inputs_rejected) == decoded_bad
    assert runner.steps == n_steps


def test_the_mission_manager_is_told_by_no_hostile_stream_to_leave_its_phase_unasked():
    # probes only (no ground command, no FDIR response): guidance stays in its phase
    runner = runner_of("guidance")
    for k, make in enumerate(REFUSED["guidance"], start=1):
        t_ns = k * NS_PER_S
        out = step_checked(runner, t_ns, [encode(make(t_ns), k, t_ns, "fuzz")])
        mode = [m for _, m in out if isinstance(m, GuidanceMode)][-1]
        assert mode.phase == "search" and not mode.cam_requested
    assert runner.app.rejected == len(REFUSED["guidance"])
