"""Link faults at the plant's interface: messages lost, delayed or corrupted between the hardware
emulators and the flight software (hil.plant.faults, ``link_*``), seen by real consumers.

The plant and the nav app run in the in-process scheduler on the bus, with two test-side apps:
``Probe``, a consumer of the plant's sensor data that keeps what reached its step, and
``Commander``, which sends the wheels a constant torque every step.
"""
import copy
import io
import tomllib
from importlib import resources

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.msg import (AppHealth, CameraFrame, GnssFix, GyroRate, MessageError,
                          StarTrackerAttitude, TruthState, WheelSpeeds, WheelTorqueCommand,
                          decode, lookup)
from flightsw.record import Recording
from flightsw.runtime.app import NS_PER_S, App
from flightsw.runtime.launcher import ProcessRun
from flightsw.runtime.scheduler import InProcessRun
from flightsw.runtime.topology import AppSpec
from hil.plant.faults import LINK_TOPICS, parse_fault

NS = NS_PER_S
HOP_NS = NS // 10  # plant and probe both at 10 Hz: a message is taken at the next step
NAV_TOPICS = {m.TOPIC for m in (GyroRate, GnssFix, StarTrackerAttitude)} | {
    "sensor.rangefinder", "target.cue"}


def plant_table(faults=()):
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    table = copy.deepcopy(doc["plant"])
    table["camera"].update({"rate_hz": 0.5, "n_rows": 64, "n_cols": 64, "fov_deg": 2.0})
    table["faults"] = list(faults)
    return table


class Probe(App):
    """Keeps (its step's t_ns, envelope, message) of every message delivered to it."""

    SUBSCRIBES = (GyroRate, GnssFix, StarTrackerAttitude, WheelSpeeds, CameraFrame, TruthState,
                  AppHealth)
    RATE_HZ = 10.0

    def reset(self):
        self.got = []

    def step(self, t_ns, inbox):
        self.got += [(t_ns, env, msg) for env, msg in inbox]
        return []

    def of(self, cls):
        return [(t, env, msg) for t, env, msg in self.got if type(msg) is cls]


class Commander(App):
    """0.01 N m on wheel 0 until 3 s, then none, commanded every step."""

    PUBLISHES = (WheelTorqueCommand,)
    RATE_HZ = 10.0

    def step(self, t_ns, inbox):
        return [WheelTorqueCommand(torque_Nm=np.array([0.01 if t_ns < 3 * NS else 0.0,
                                                       0.0, 0.0, 0.0]))]


FLIGHT = [AppSpec("detect", "flightsw.detect.app:DetectApp"),
          AppSpec("guidance", "flightsw.guidance.app:GuidanceApp",
                  {"epoch_utc": "2026-03-01T00:00:00Z", "start_phase": "close_approach"}),
          AppSpec("control", "flightsw.control.app:ControlApp")]


def run(faults, seconds, commander=False, flight=False, seed=7):
    """Plant, nav and probe; with the commander, or with the rest of the flight software."""
    specs = [AppSpec("plant", "hil.plant:Plant", {"config": plant_table(faults)}),
             AppSpec("nav", "flightsw.nav.app:NavApp", {"measurement_lag_s": 0.5}),
             AppSpec("probe", "test_interface_faults:Probe")]
    if commander:
        specs.append(AppSpec("commander", "test_interface_faults:Commander"))
    if flight:
        specs += FLIGHT
    sim = InProcessRun(specs, seed=seed)
    sim.plant_wire = []  # what the plant put on the bus, after its link
    deliver = sim.bus.deliver

    def deliver_and_keep():
        staged = deliver()
        sim.plant_wire += [f for f in staged if _source(f) == "plant"]
        return staged
    sim.bus.deliver = deliver_and_keep
    sim.run(int(seconds * NS))
    return sim


def _source(frames):
    try:
        return msgpack.unpackb(frames[1])[3]
    except Exception:
        return "plant"  # a damaged header: only the plant's link damages anything


def _rejected(runner):
    return sum(runner.decoder.rejected.values())


# -- loss ------------------------------------------------------------------------------------
def test_lost_gyro_messages_are_sequence_gaps_the_consumers_count_as_dropped():
    sim = run([{"t_s": 3.0, "kind": "link_loss", "topic": "sensor.gyro", "p": 0.3,
                "duration_s": 10.0}], 16.0)
    plant, probe = sim.runners["plant"].app, sim.runners["probe"].app
    lost = plant.links["out"].lost["sensor.gyro"]
    gyro = probe.of(GyroRate)
    seqs = np.array([env.seq for _, env, _ in gyro])
    sent = np.array([env.t_ns for _, env, _ in gyro])
    gaps = np.diff(seqs) - 1
    assert gaps.min() == 0 and gaps.sum() == lost
    # every gap lies inside the window (both ends of it: the messages around it)
    assert all(3 * NS <= sent[i] and sent[i + 1] < 13 * NS + HOP_NS for i in np.flatnonzero(gaps))
    assert 0.15 < lost / 100 < 0.45  # 100 samples sent in the window, each lost with p = 0.3
    # both consumers count exactly the lost ones, and decode everything else
    assert sim.runners["probe"].inputs_dropped == sim.runners["nav"].inputs_dropped == lost
    assert _rejected(sim.runners["nav"]) == 0
    # nothing else is touched
    assert len(probe.of(GnssFix)) == 16 and not set(plant.links["out"].lost) - {"sensor.gyro"}


def test_a_total_outage_of_all_outputs_leaves_a_hole_of_exactly_its_window_and_the_truth_intact():
    sim = run([{"t_s": 4.0, "kind": "link_loss", "duration_s": 3.0}], 10.0)
    probe, nominal = sim.runners["probe"].app, run([], 10.0).runners["probe"].app
    for cls in (GyroRate, WheelSpeeds, StarTrackerAttitude, GnssFix, CameraFrame):
        sent = {env.t_ns for _, env, _ in probe.of(cls)}
        assert sent == {env.t_ns for _, env, _ in nominal.of(cls)
                        if not 4 * NS <= env.t_ns < 7 * NS}
    assert len(probe.of(TruthState)) == 10  # the truth record is no interface: never lost
    assert sim.runners["nav"].inputs_dropped == sum(sim.runners["plant"].app.links["out"]
                                                    .lost[t] for t in NAV_TOPICS)


# -- delay -----------------------------------------------------------------------------------
def test_delayed_gyro_messages_arrive_late_in_order_and_nav_rejects_them_as_stale():
    delay_ns = 2 * NS
    sim = run([{"t_s": 5.0, "kind": "link_delay", "topic": "sensor.gyro", "delay_s": 2.0},
               {"t_s": 10.0, "kind": "link_clear", "topic": "sensor.gyro"}], 16.0)
    gyro = sim.runners["probe"].app.of(GyroRate)
    # the FIFO rule: held until the send time plus the delay in force, and never before a
    # message sent earlier; then one hop to the consumer
    due = 0
    expect = []
    for _, env, _ in gyro:
        due = max(env.t_ns + (delay_ns if 5 * NS <= env.t_ns < 10 * NS else 0), due)
        expect.append(due + HOP_NS)
    assert [t for t, _, _ in gyro] == expect
    assert [env.seq for _, env, _ in gyro] == list(range(len(gyro)))  # nothing lost, in order
    assert len(gyro) == 159 and sim.runners["probe"].inputs_dropped == 0  # sent at 0.1 .. 15.9 s
    assert sim.runners["plant"].app.links["out"].delayed["sensor.gyro"] == 50
    # nav keeps a 0.5 s horizon: two seconds late is too late for every one of the window
    nominal = run([], 16.0)
    assert nominal.runners["nav"].app.rejected == 0
    assert sim.runners["nav"].app.rejected >= 50


# -- corruption ------------------------------------------------------------------------------
def test_truncated_messages_are_rejected_and_counted_by_every_consumer_and_reported():
    sim = run([{"t_s": 2.0, "kind": "link_corrupt", "mode": "truncate", "p": 0.5,
                "duration_s": 4.0}], 10.0)
    corrupted = sim.runners["plant"].app.links["out"].corrupted
    nav, probe = sim.runners["nav"], sim.runners["probe"]
    assert corrupted["sensor.camera.frame"] > 0
    assert _rejected(nav) == sum(corrupted[t] for t in NAV_TOPICS) > 20
    assert _rejected(probe) == sum(corrupted[t] for t in
                                   {m.TOPIC for m in Probe.SUBSCRIBES} & set(LINK_TOPICS["out"]))
    assert set(nav.decoder.rejected) <= {"malformed"}
    assert set(probe.decoder.rejected) <= {"malformed", "bad_array"}
    assert nav.step_faults == probe.step_faults == 0
    # and the operator sees it: nav's last health report (t = 9 s, long after the window)
    # counts every one
    reports = [m for _, _, m in probe.app.of(AppHealth) if m.app == "nav"]
    assert sum(reports[-1].inputs_rejected) == _rejected(nav)


# -- the commands' direction -----------------------------------------------------------------
def wheel_momentum(sim):
    """Truth of wheel 0's momentum at each whole second."""
    return np.array([m.h_wheels_Nms[0] for _, _, m in sim.runners["probe"].app.of(TruthState)])


def test_lost_wheel_commands_never_reach_the_wheels_and_the_plant_counts_the_gap():
    # the commander stops the wheels at 3 s; the stop is lost until the window closes at 5 s
    nominal = run([], 8.0, commander=True)
    sim = run([{"t_s": 2.0, "kind": "link_loss", "direction": "in", "duration_s": 3.0}], 8.0,
              commander=True)
    plant = sim.runners["plant"]
    assert plant.app.links["in"].lost["act.wheels"] == 30 == plant.inputs_dropped
    h, h0 = wheel_momentum(sim), wheel_momentum(nominal)
    # the wheels kept the last torque they got (sent at 1.9 s) until the first command after
    # the window (5.0 s), instead of the stop (3.1 s): 1.9 s more of 0.01 N m
    assert np.allclose(h[:4], h0[:4]) and h0[4] == h0[-1]
    assert h[-1] - h0[-1] == pytest.approx(0.01 * 1.9, rel=1e-2)


def test_delayed_wheel_commands_are_executed_late_by_the_delay():
    nominal = run([], 8.0, commander=True)
    sim = run([{"t_s": 0.0, "kind": "link_delay", "direction": "in", "delay_s": 2.0}], 8.0,
              commander=True)
    h, h0 = wheel_momentum(sim), wheel_momentum(nominal)
    # spin-up from 2.1 s instead of 0.1 s, the stop at 5.1 s instead of 3.1 s
    assert np.all(h[:3] == 0.0) and h[-1] == h[6] > h[5]
    assert np.allclose(h[2:], h0[:-2], rtol=1e-6)  # the nominal run two seconds earlier
    assert sim.runners["plant"].inputs_dropped == 0


def test_corrupted_wheel_commands_are_rejected_by_the_plant_and_counted():
    sim = run([{"t_s": 2.0, "kind": "link_corrupt", "direction": "in", "mode": "truncate",
                "duration_s": 3.0}], 8.0, commander=True)
    plant = sim.runners["plant"]
    assert plant.app.links["in"].corrupted["act.wheels"] == 30 == _rejected(plant)
    assert plant.step_faults == 0


# -- any schedule ----------------------------------------------------------------------------
OUT_TOPICS = list(LINK_TOPICS["out"])


@st.composite
def link_faults(draw):
    """1-4 link faults of any kind, direction and topic: all over by 6 s, and what they held
    back delivered by 7.5 s."""
    faults = []
    for _ in range(draw(st.integers(1, 4))):
        direction = draw(st.sampled_from(["out", "out", "in"]))
        kind = draw(st.sampled_from(["link_loss", "link_delay", "link_corrupt", "link_corrupt"]))
        f = {"t_s": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])), "kind": kind,
             "direction": direction, "duration_s": draw(st.sampled_from([0.5, 1.5, 3.0]))}
        topic = draw(st.sampled_from([None] + list(LINK_TOPICS[direction])))
        if topic is not None:
            f["topic"] = topic
        if kind != "link_delay":
            f["p"] = draw(st.sampled_from([0.2, 0.6, 1.0]))
        else:
            f["delay_s"] = draw(st.sampled_from([0.15, 0.5, 1.5]))
        if kind == "link_corrupt":
            f["mode"] = draw(st.sampled_from(["truncate", "flip"]))
        faults.append(f)
    return faults


def rejected_by_decode(frames_list, topics):
    """How many of ``frames_list`` on ``topics`` the codec's own decode rejects."""
    n = 0
    for frames in frames_list:
        if bytes(frames[0])[:-1].decode() in topics:
            try:
                decode(frames)
            except MessageError:
                n += 1
    return n


@settings(max_examples=20, deadline=None)
@given(link_faults(), st.integers(0, 2**16))
def test_any_link_fault_schedule_never_raises_out_of_an_app_and_every_damaged_message_is_counted(
        faults, seed):
    sim = run(faults, 9.0, flight=True, seed=seed)  # the run itself raising fails the test
    plant = sim.runners["plant"]
    out, in_ = plant.app.links["out"], plant.app.links["in"]
    assert not out.held and not in_.held  # everything held back was delivered, and consumed
    for name, runner in sim.runners.items():
        assert runner.step_faults == 0, (name, runner.last_error)
    # what the plant sent damaged, every consumer rejected and counted, each of its own
    truncations_only = all(f.get("mode") != "flip" for f in faults)
    for name in ("nav", "probe", "detect", "guidance"):
        topics = {m.TOPIC for m in sim.runners[name].app.SUBSCRIBES} & set(OUT_TOPICS)
        damaged = rejected_by_decode(sim.plant_wire, topics)
        assert _rejected(sim.runners[name]) == damaged <= sum(out.corrupted[t] for t in topics)
        if truncations_only:
            assert damaged == sum(out.corrupted[t] for t in topics)
    if truncations_only:
        assert _rejected(plant) == sum(in_.corrupted.values())
    else:
        assert _rejected(plant) <= sum(in_.corrupted.values())


# -- both topologies --------------------------------------------------------------------------
TOPOLOGY_FAULTS = [
    {"t_s": 1.0, "kind": "link_loss", "topic": "sensor.gyro", "p": 0.3, "duration_s": 4.0},
    {"t_s": 0.0, "kind": "link_delay", "topic": "sensor.gnss", "delay_s": 1.5, "duration_s": 4.0},
    {"t_s": 2.0, "kind": "link_corrupt", "mode": "flip", "p": 0.3, "duration_s": 2.0},
    {"t_s": 1.0, "kind": "link_corrupt", "topic": "sensor.star_tracker", "p": 0.5,
     "duration_s": 5.0},
    {"t_s": 1.0, "kind": "link_loss", "direction": "in", "p": 0.5, "duration_s": 3.0},
    {"t_s": 2.0, "kind": "link_delay", "direction": "in", "delay_s": 0.5, "duration_s": 3.0},
    {"t_s": 3.0, "kind": "link_corrupt", "direction": "in", "mode": "flip", "p": 0.5,
     "duration_s": 3.0},
]


def recorded(run_dir):
    """The recorded streams but wall-clock telemetry, re-packed, and the damaged messages."""
    rec = Recording(run_dir)
    streams = [[msgpack.packb(m) for m in rec.messages(truth) if not lookup(m[0]).WALL_CLOCK]
               for truth in (False, True)]
    return streams, (run_dir / "damaged.msgpack").read_bytes()


def test_both_topologies_lose_delay_and_damage_the_same_messages_the_same_way(tmp_path):
    specs = [AppSpec("plant", "hil.plant:Plant", {"config": plant_table(TOPOLOGY_FAULTS)}),
             AppSpec("nav", "flightsw.nav.app:NavApp", {"measurement_lag_s": 0.5}),
             AppSpec("control", "flightsw.control.app:ControlApp"),
             AppSpec("health", "flightsw.health:HealthApp",
                     {"monitored": "plant,nav,control,health"})]
    inproc = InProcessRun(specs, seed=11, run_dir=tmp_path / "inproc")
    inproc.run(8 * NS)
    inproc.close()
    zmq = ProcessRun(specs, seed=11, run_dir=tmp_path / "zmq")
    try:
        zmq.run(8 * NS)
    finally:
        zmq.close()
    (bus_a, truth_a), damaged_a = recorded(tmp_path / "inproc")
    (bus_b, truth_b), damaged_b = recorded(tmp_path / "zmq")
    assert bus_a == bus_b and truth_a == truth_b and damaged_a == damaged_b
    # what could not be recorded in the bus stream is kept apart, bytes as they travelled
    rows = list(msgpack.Unpacker(io.BytesIO(damaged_a)))
    assert len(rows) == inproc.recorder.damaged > 0
    assert {r[0] for r in rows} <= set(LINK_TOPICS["out"])  # inputs are damaged at the plant
    # the faults were felt: the plant's link counters and nav's health reports say so
    links = inproc.runners["plant"].app.links
    assert all(links["out"].lost.values()) and links["out"].corrupted and links["in"].lost
    health = [m for m in Recording(tmp_path / "zmq").messages() if m[0] == "health.app"
              and m[2][0] == "nav"]
    assert sum(health[-1][2][4]) > 0 and health[-1][2][5] > 0  # inputs rejected, dropped


# -- the schedule's entries ------------------------------------------------------------------
def test_a_link_fault_entry_is_parsed_with_its_defaults():
    f = parse_fault({"t_s": 1.5, "kind": "link_corrupt", "topic": "sensor.gnss", "p": 0.25,
                     "duration_s": 2.0})
    assert (f.t_ns, f.direction, f.topic, f.p, f.mode, f.duration_ns) == (
        1_500_000_000, "out", "sensor.gnss", 0.25, "truncate", 2 * NS)
    f = parse_fault({"t_s": 0, "kind": "link_delay", "direction": "in", "delay_s": 0.3})
    assert (f.topic, f.delay_ns, f.duration_ns) == (None, 300_000_000, None)


@pytest.mark.parametrize("entry, match", [
    ({"kind": "link_loss", "p": 0.0}, "p must be"),
    ({"kind": "link_loss", "p": 1.5}, "p must be"),
    ({"kind": "link_loss", "topic": "truth.state"}, "topic"),            # truth is no interface
    ({"kind": "link_loss", "topic": "act.wheels"}, "topic"),             # an input, not an output
    ({"kind": "link_loss", "direction": "sideways"}, "direction"),
    ({"kind": "link_delay"}, "delay_s"),
    ({"kind": "link_delay", "delay_s": -1.0}, "delay_s"),
    ({"kind": "link_delay", "delay_s": 1.0, "p": 0.5}, "takes no"),
    ({"kind": "link_corrupt", "mode": "shred"}, "mode"),
    ({"kind": "link_corrupt", "duration_s": 0.0}, "duration_s"),
    ({"kind": "link_clear", "duration_s": 1.0}, "takes no"),
    ({"kind": "link_loss", "sensor": "gnss"}, "takes no"),
    ({"kind": "sensor_dropout", "sensor": "gnss", "topic": "sensor.gnss"}, "takes none"),
])
def test_a_bad_link_fault_entry_is_rejected_with_the_key_named(entry, match):
    with pytest.raises(ValueError, match=match):
        parse_fault({"t_s": 1.0, **entry})


def test_link_clear_without_a_topic_ends_every_fault_of_its_direction_and_with_one_only_its_own():
    sim = run([{"t_s": 1.0, "kind": "link_loss"},
               {"t_s": 1.0, "kind": "link_loss", "topic": "sensor.gyro"},
               {"t_s": 3.0, "kind": "link_clear", "topic": "sensor.gyro"},
               {"t_s": 5.0, "kind": "link_clear"}], 8.0)
    probe = sim.runners["probe"].app
    gyro = [env.t_ns for _, env, _ in probe.of(GyroRate)]
    wheels = [env.t_ns for _, env, _ in probe.of(WheelSpeeds)]
    # the all-topics loss still holds the gyro after its own is cleared
    assert not [t for t in gyro + wheels if NS <= t < 5 * NS]
    assert min(t for t in gyro if t >= NS) == min(t for t in wheels if t >= NS) == 5 * NS
