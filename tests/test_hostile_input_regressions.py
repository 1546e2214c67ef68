"""Regressions of the hostile-input fuzzing (issue 8, item 3): each bug it found, as the
requirement it broke. Bad input gets a clear error and loses nothing: it is refused, counted,
reported, and the app keeps running.
"""
import copy
import tomllib
from importlib import resources

import msgpack
import numpy as np
import pytest

from flightsw.control.app import ControlApp
from flightsw.detect.app import DetectApp
from flightsw.detect.propagate import propagate
from flightsw.guidance.app import GuidanceApp
from flightsw.health import HealthApp
from flightsw.msg import (AppHealth, AttitudeEstimate, BurnCommand, CameraFrame, DetectHealth,
                          Envelope, FdirEvent, GnssFix, GroundCommand, GuidanceEvent,
                          GuidanceMode, GyroRate, HealthStatus,
                          MessageError, OrbitEstimate, PointingCommand, StarTrackerAttitude,
                          TargetCue, ThrusterCommand, TimeTone, WheelSpeeds,
                          WheelTorqueCommand, decode, encode)
from flightsw.nav import NavApp
from flightsw.runtime.app import NS_PER_S, App, Inbox
from flightsw.runtime.runner import AppRunner
from hil.ground import GroundStation, parse_script
from hil.plant import Plant


def first(out, cls):
    return next(m for m in out if type(m) is cls)


def decoded(wire):
    return [decode(frames)[1] for frames in wire]


# -- the codec ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype_str", ["f8 (3,)", "01", "M8[q]", "(2)u2", "a" * 300])
def test_a_malformed_array_dtype_string_is_a_bad_array_not_a_numpy_error(dtype_str):
    frame = CameraFrame(frame_id=1, t_exposure_start_ns=0, exposure_s=0.1, gain_e_per_dn=1.0,
                        image=np.zeros((2, 2), "<u2"))
    frames = encode(frame, 0, 0, "camera")
    values = msgpack.unpackb(frames[2])
    values[-1][0] = dtype_str
    with pytest.raises(MessageError) as exc:
        decode([frames[0], frames[1], msgpack.packb(values), frames[3]])
    assert exc.value.reason == "bad_array"


@pytest.mark.parametrize("envelope", [(0, 2**63, "src"), (0, 2**64, "src"), (-1, 0, "src"),
                                      (0, 0, ""), (0, 0, "s" * 33)])
def test_an_envelope_decode_would_refuse_is_refused_at_encode(envelope):
    # it was put on the wire (or raised msgpack's OverflowError past 2**64) for every
    # receiver to reject as malformed
    with pytest.raises(MessageError) as exc:
        encode(TimeTone(tone=1, vehicle_time_ns=0), *envelope)
    assert exc.value.reason == "malformed"


# -- u64 counters saturate ---------------------------------------------------------------------
class Listener(App):
    SUBSCRIBES = (TimeTone,)

    def step(self, t_ns, inbox):
        return []


def test_runtime_counters_past_2_64_saturate_and_the_health_report_still_goes_out():
    runner = AppRunner(Listener("listener"))
    # a hostile publisher's sequence numbers jump by 2**63 again and again: each jump is a gap
    tone = TimeTone(tone=0, vehicle_time_ns=0)
    for k, seq in enumerate([0, 2**63 - 1] * 3):
        runner.run_step(k * NS_PER_S, [encode(tone, seq, k * NS_PER_S, "clock")])
    assert runner.inputs_dropped > 2**64
    report = first(decoded(runner.run_step(10 * NS_PER_S, [])), AppHealth)
    assert report.inputs_dropped == 2**64 - 1
    assert runner.outputs_rejected == 0


def app_health(app, **counts):
    values = dict(app=app, boot=0, steps=0, inputs_accepted=0, inputs_rejected=np.zeros(6),
                  inputs_refused=0, inputs_dropped=0, outputs_rejected=0, outputs_dropped=0,
                  step_faults=0, last_error="")
    values.update(counts)
    return AppHealth(**values)


def test_the_health_summary_of_counters_that_sum_past_2_64_saturates():
    app = HealthApp("health", {"fdir": False})
    app.reset()
    big = 2**64 - 1
    msgs = [app_health(a, inputs_dropped=big, step_faults=big, inputs_refused=big, boot=0)
            for a in ("nav", "detect")]
    inbox = Inbox([(encode_env(m, k), m) for k, m in enumerate(msgs)])
    status = first(app.step(NS_PER_S, inbox), HealthStatus)
    assert (status.inputs_dropped, status.step_faults, status.inputs_rejected) == (big,) * 3
    encode(status, 0, NS_PER_S, "health")


def encode_env(msg, seq, t_ns=NS_PER_S):
    frames = encode(msg, seq, t_ns, "test")
    return decode(frames)[0]


def inbox_of(t_ns, *msgs):
    return Inbox([(Envelope(m.TOPIC, m.VERSION, k, t_ns, "test"), m) for k, m in enumerate(msgs)])


# -- control -----------------------------------------------------------------------------------
Q0 = np.array([1.0, 0.0, 0.0, 0.0])


def control_app():
    app = ControlApp("control", {})
    app.reset()
    return app


def attitude(t_ns, q=Q0):
    return AttitudeEstimate(t_est_ns=t_ns, q_BN=np.asarray(q, float), omega_BN_B=np.zeros(3),
                            P_att=np.eye(3) * 1e-10, valid=True)


@pytest.mark.parametrize("q_RN", [np.zeros(4), np.array([0.5, 0.0, 0.0, 0.0]),
                                  np.array([1.0, 1.0, 0.0, 0.0])])
def test_control_refuses_and_counts_a_pointing_command_of_a_non_unit_quaternion(q_RN):
    app = control_app()
    bad = PointingCommand(q_RN=q_RN, omega_RN_R=np.zeros(3), mode="target")
    out = app.step(0, inbox_of(0, attitude(0), bad))
    assert app.rejected == 1 and app.q_RN is not None and np.allclose(app.q_RN, Q0)
    torque = first(out, WheelTorqueCommand).torque_Nm     # the step went on: wheels commanded
    assert np.isfinite(torque).all()


@pytest.mark.parametrize("duration_s", [0.0])
def test_control_refuses_and_counts_a_burn_of_no_duration(duration_s):
    app = control_app()
    bad = BurnCommand(burn_id=1, t_start_ns=0, dv_N=np.array([0.1, 0.0, 0.0]),
                      duration_s=duration_s)
    out = app.step(0, inbox_of(0, attitude(0), bad))
    assert app.rejected == 1 and app.burn is None
    assert not [m for m in out if isinstance(m, ThrusterCommand)]


@pytest.mark.parametrize("q_BN", [np.zeros(4), np.array([0.3, 0.3, 0.0, 0.0])])
def test_control_refuses_an_attitude_estimate_of_a_non_unit_quaternion(q_BN):
    app = control_app()
    app.step(0, inbox_of(0, attitude(0)))
    out = app.step(NS_PER_S // 5, inbox_of(NS_PER_S // 5, attitude(NS_PER_S // 5, q_BN)))
    assert app.rejected == 1
    for m in out:
        encode(m, 0, 0, "control")       # nothing NaN comes out of it


def test_control_refuses_an_attitude_estimate_from_the_future():
    app = control_app()
    app.step(0, inbox_of(0, attitude(2**63)))
    assert app.rejected == 1 and app.attitude is None


# -- detect ------------------------------------------------------------------------------------
DETECT = {"n_cols": 64, "n_rows": 64, "fov_deg": 2.5, "attitude_wait_s": 0.0,
          "search_samples": 200}
X_LEO = np.array([6878e3, 0.0, 0.0, 0.0, 7612.6, 0.0])


def cue(epoch_ns=0, x=X_LEO, P=np.eye(6)):
    return TargetCue(epoch_ns=epoch_ns, r_TN_N=x[:3], v_TN_N=x[3:], P_rv=P, radius_m=1.0)


def detect_app():
    app = DetectApp("detect", DETECT)
    app.reset()
    return app


@pytest.mark.parametrize("bad", [
    cue(epoch_ns=2**64 - 1),                                       # 584 years ahead: it hung
    cue(x=np.array([6878e3, 0.0, 0.0, 0.0, 2e4, 0.0])),           # escaping
    cue(x=np.array([1e3, 0.0, 0.0, 0.0, 7612.6, 0.0])),           # inside the Earth
    cue(P=-np.eye(6)),
], ids=["far_future", "hyperbolic", "inside_earth", "negative_covariance"])
def test_detect_refuses_and_counts_a_cue_it_could_not_search(bad):
    app = detect_app()
    out = app.step(NS_PER_S, inbox_of(NS_PER_S, bad))
    assert app.cue is None and app.rejected == 1
    assert "TargetCue refused" in first(out, DetectHealth).last_rejection
    app.step(2 * NS_PER_S, inbox_of(2 * NS_PER_S, cue()))
    assert app.cue is not None and app.rejected == 1


def gnss(t_ns, x=X_LEO):
    return GnssFix(t_meas_ns=t_ns, r_BN_N=x[:3], v_BN_N=x[3:], sigma_r_m=3.0, sigma_v_mps=0.03,
                   n_sats=9, valid=True)


@pytest.mark.parametrize("bad", [
    gnss(2**64 - 1), gnss(NS_PER_S, np.zeros(6)), attitude(NS_PER_S, np.zeros(4)),
    attitude(2**63), AttitudeEstimate(t_est_ns=0, q_BN=Q0, omega_BN_B=np.zeros(3),
                                      P_att=-np.eye(3), valid=True),
], ids=["fix_from_the_future", "fix_inside_earth", "zero_quaternion", "estimate_from_the_future",
        "negative_covariance"])
def test_detect_refuses_and_counts_a_fix_or_estimate_it_could_not_use(bad):
    app = detect_app()
    app.step(NS_PER_S, inbox_of(NS_PER_S, bad))
    assert app.rejected == 1 and app.chaser is None and not app.attitudes


# -- guidance ----------------------------------------------------------------------------------
def guidance_app():
    app = GuidanceApp("guidance", {"nav_settle_s": 0.0, "start_phase": "search",
                                   "search_samples": 200})
    app.reset()
    return app


def orbit_estimate(t_ns, x=X_LEO):
    return OrbitEstimate(t_est_ns=t_ns, r_BN_N=x[:3], v_BN_N=x[3:], P_rv=np.eye(6), valid=True)


@pytest.mark.parametrize("bad", [
    cue(epoch_ns=2**64 - 1),                                       # the search propagated it
    cue(x=np.array([6878e3, 0.0, 0.0, 0.0, 2e4, 0.0])),
    cue(x=np.array([6878e3, 0.0, 0.0, 7612.6, 0.0, 0.0])),         # falls straight down
], ids=["far_future", "hyperbolic", "radial"])
def test_guidance_refuses_and_counts_a_cue_it_could_not_search(bad):
    app = guidance_app()
    out = app.step(NS_PER_S, inbox_of(NS_PER_S, orbit_estimate(NS_PER_S), bad))
    assert app.cue is None and app.rejected == 1
    assert any("TargetCue refused" in m.text for m in out if isinstance(m, GuidanceEvent))
    app.step(2 * NS_PER_S, inbox_of(2 * NS_PER_S, orbit_estimate(2 * NS_PER_S), cue()))
    assert app.cue is not None and app.rejected == 1


@pytest.mark.parametrize("x", [np.zeros(6), np.array([6878e3, 0.0, 0.0, 0.0, 0.0, 0.0])],
                         ids=["at_the_centre", "no_velocity"])
def test_guidance_refuses_an_orbit_estimate_that_is_no_orbit(x):
    app = guidance_app()
    out = app.step(NS_PER_S, inbox_of(NS_PER_S, orbit_estimate(NS_PER_S, x), cue()))
    assert app.orbit is None and app.rejected == 1
    for m in out:
        encode(m, 0, NS_PER_S, "guidance")     # its pointing stays finite


# -- nav ---------------------------------------------------------------------------------------
def nav_app():
    app = NavApp("nav", {"measurement_lag_s": 1.0}, rate_hz=1.0)
    app.reset()
    return app


def nav_step(app, t_s, *msgs):
    t_ns = int(t_s * NS_PER_S)
    return app.step(t_ns, inbox_of(t_ns, *msgs))


def test_nav_refuses_a_cue_from_centuries_ahead_instead_of_propagating_to_it():
    app = nav_app()
    nav_step(app, 0.0, gnss(0), cue(epoch_ns=2**64 - 1))
    nav_step(app, 2.0, gnss(2 * NS_PER_S))     # it hung here, propagating 584 years back
    assert app.cue is None and app.relative is None and app.rejected == 1
    nav_step(app, 3.0, gnss(3 * NS_PER_S), cue(epoch_ns=3 * NS_PER_S))
    nav_step(app, 5.0, gnss(5 * NS_PER_S))
    assert app.relative is not None            # a good cue after it is taken


@pytest.mark.parametrize("bad", [
    cue(x=np.array([6878e3, 0.0, 0.0, 0.0, 2e4, 0.0])),
    cue(x=np.array([1e3, 0.0, 0.0, 0.0, 7612.6, 0.0])),
    cue(P=np.diag([1.0, 1.0, 1.0, 1.0, 1.0, -1.0])),
    cue(P=np.zeros((6, 6))),
], ids=["hyperbolic", "inside_earth", "indefinite_covariance", "zero_covariance"])
def test_nav_refuses_and_counts_a_cue_that_is_no_orbit_or_has_no_covariance(bad):
    app = nav_app()
    nav_step(app, 0.0, gnss(0), bad)
    nav_step(app, 2.0, gnss(2 * NS_PER_S))
    assert app.cue is None and app.relative is None and app.rejected == 1


def star_tracker(t_ns, q):
    return StarTrackerAttitude(t_meas_ns=t_ns, q_BN=np.asarray(q, float), sigma_cross_rad=1e-5,
                               sigma_roll_rad=1e-4, valid=True)


@pytest.mark.parametrize("bad", [
    gnss(NS_PER_S, np.zeros(6)),
    gnss(NS_PER_S, np.array([6878e3, 0.0, 0.0, 0.0, 2e4, 0.0])),
    star_tracker(NS_PER_S, np.zeros(4)),
], ids=["fix_inside_earth", "fix_escaping", "zero_quaternion"])
def test_nav_refuses_and_counts_a_measurement_that_is_impossible(bad):
    app = nav_app()
    nav_step(app, 1.0, bad)
    nav_step(app, 3.0)
    assert app.rejected == 1 and app.orbit is None and not app.attitude.initialised


def test_a_wild_fix_delivered_twice_is_no_manoeuvre():
    app = nav_app()
    for k in range(5):
        nav_step(app, k, gnss(k * NS_PER_S, propagated(k)))
    wild = gnss(5 * NS_PER_S, propagated(5) + np.r_[1e5, 0.0, 0.0, 0.0, 0.0, 0.0])
    nav_step(app, 5.0, gnss(5 * NS_PER_S, propagated(5)), wild, wild)
    for k in range(6, 10):
        nav_step(app, k, gnss(k * NS_PER_S, propagated(k)))
    assert app.orbit.fuser.manoeuvres_detected == 0 and app.t_manoeuvre_detected_ns == -1


def propagated(t_s):
    return propagate(X_LEO, t_s)


# -- health ------------------------------------------------------------------------------------
def gyro(t_ns):
    return GyroRate(t_meas_ns=t_ns, omega_BN_B=np.full(3, 1e-4 * (1 + t_ns % 7)), valid=True)


def test_health_refuses_samples_from_the_future_which_blinded_its_monitors():
    app = HealthApp("health", {"gyro_dropout_s": 2.0})
    app.reset()
    wheels = WheelSpeeds(t_meas_ns=0, momentum_Nms=np.zeros(4), valid=True)
    app.step(0, inbox_of(0, attitude(0), wheels, gyro(0)))
    app.step(NS_PER_S // 5, inbox_of(NS_PER_S // 5, gyro(NS_PER_S // 5)))
    far = 2**63
    app.step(2 * NS_PER_S // 5, inbox_of(2 * NS_PER_S // 5, attitude(far), gyro(far)))
    assert app.rejected == 2
    assert app.thrusters.t_int_ns <= NS_PER_S       # the thruster model was not carried to it
    # the gyro then falls silent: its dropout is found (the future stamp hid it)
    out = []
    for k in range(3, 20):
        out += app.step(k * NS_PER_S // 5, inbox_of(k * NS_PER_S // 5))
    assert any(isinstance(m, FdirEvent) and m.fault == "sensor_dropout" and m.subject == "gyro"
               for m in out)


def test_health_refuses_an_attitude_estimate_of_a_zero_quaternion():
    app = HealthApp("health", {})
    app.reset()
    app.step(0, inbox_of(0, attitude(0, np.zeros(4))))
    assert app.rejected == 1 and app.thrusters.attitude is None


# -- the plant ---------------------------------------------------------------------------------
def plant():
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    table = copy.deepcopy(doc["plant"])
    table["camera"].update({"rate_hz": 0.2, "n_rows": 64, "n_cols": 64, "fov_deg": 2.0})
    app = Plant("plant", {"config": table}, seed=1)
    app.reset()
    return app


def test_the_plant_refuses_a_thruster_window_that_opens_after_it_arrives():
    # it fired at once, and kept every valve open for as long as the wait (here: centuries)
    app, coast = plant(), plant()
    late = ThrusterCommand(t_start_ns=2**63, on_time_s=np.full(12, 0.05))
    app.step(0, Inbox([(None, late)]))
    coast.step(0, Inbox([]))
    for k in range(1, 20):
        app.step(k * app.period_ns, Inbox([]))
        coast.step(k * coast.period_ns, Inbox([]))
    assert app.rejected == 1
    assert app.thrusters.propellant_kg == coast.thrusters.propellant_kg


# -- ground commands ---------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["10:go:nan", "10:hold:inf", "10:go:1e12", "inf:abort",
                                    "9223372037:go"])
def test_a_ground_script_of_a_command_the_link_cannot_carry_is_refused_at_load(script):
    # it was taken, and each such command broke its contract at encode (lost on the way)
    with pytest.raises(ValueError, match="ground script entry"):
        parse_script(script)


def guidance_mode(t_ns, time_in_phase_s, phase="mid_approach"):
    msg = GuidanceMode(phase=phase, time_in_phase_s=time_in_phase_s, held=False,
                       cam_requested=False, next_burn_t_ns=0, planned_dv_mps=0.0,
                       used_dv_mps=0.0)
    return Inbox([(Envelope(msg.TOPIC, msg.VERSION, 0, t_ns, "guidance"), msg)])


@pytest.mark.parametrize("time_in_phase_s", [1e300, 1e12])
def test_the_ground_station_refuses_telemetry_of_a_phase_entered_before_the_epoch(
        time_in_phase_s):
    # 1e300 s overflowed the entry time; 1e12 s had the operators GO at once
    station = GroundStation("ground", {"response_s": 600.0})
    station.reset()
    out = station.step(10 * NS_PER_S, guidance_mode(10 * NS_PER_S, time_in_phase_s))
    assert station.rejected == 1 and out == []
    out = station.step(700 * NS_PER_S, guidance_mode(700 * NS_PER_S, 690.0))
    assert [m.opcode for m in out] == ["go"]


def test_guidance_refuses_and_counts_a_used_command_id_carrying_another_opcode():
    app = guidance_app()
    hold = GroundCommand(cmd_id=1, opcode="hold", argument=0.0)
    app.step(NS_PER_S, inbox_of(NS_PER_S, hold))
    app.step(2 * NS_PER_S, inbox_of(2 * NS_PER_S, hold))          # a retransmission: ignored
    assert app.rejected == 0 and app.mission.held
    replay = GroundCommand(cmd_id=1, opcode="resume", argument=0.0)
    out = app.step(3 * NS_PER_S, inbox_of(3 * NS_PER_S, replay))
    assert app.rejected == 1 and app.mission.held
    assert any("refused, id 1 was hold" in m.text for m in out if isinstance(m, GuidanceEvent))


def test_a_frozen_receiver_repeating_its_last_fix_is_no_manoeuvre():
    """close-range campaign seed 61: the GNSS froze, its one fix re-sent at every instant (1 s
    stale is 7.5 km off); two such gated fixes declared a manoeuvre and pulled nav 15 km away.
    Each gated fix must agree with the last carried on the dynamics; frozen ones never do."""
    app = nav_app()
    for k in range(5):
        nav_step(app, k, gnss(k * NS_PER_S, propagated(k)))
    frozen = propagated(4)
    for k in range(5, 15):
        nav_step(app, k, gnss(k * NS_PER_S, frozen))
    assert app.orbit.fuser.manoeuvres_detected == 0 and app.t_manoeuvre_detected_ns == -1
    assert np.linalg.norm(app.orbit.x[:3] - propagated(app.orbit.t_ns / NS_PER_S)[:3]) < 100.0
    # and the receiver recovered, its fixes are fused again
    for k in range(15, 20):
        nav_step(app, k, gnss(k * NS_PER_S, propagated(k)))
    assert app.orbit.fuser.consecutive_gated == 0
