"""Fault properties of the whole vehicle against the plant, drawn by hypothesis.

The vehicle is the close-range scenario (detect, nav, guidance in close approach, control and
health with FDIR, the chaser ~1.6 km from the target on a passively safe relative orbit) with a
ground station on the command link, flown in the in-process scheduler and recorded. Faults go
in through the plant's fault injection (``Plant.inject``), ground commands through the ground
station (a command at the present sim time in its script: it sends it at its next step, as the
operators' console would), and the vehicle is watched on the bus and, for the range, in truth.

What must hold, after every step of any sequence of faults and commands (``Watch.check``):

1. the keep-out sphere is never entered: the truth range stays above guidance's keep-out
   radius at every tick;
2. no app crashes: every app's step_faults and outputs_rejected stay 0, and the run reaches
   the time it was asked to;
3. a fault the vehicle cannot fly through (UNRECOVERABLE: the gyro frozen or dropped out, a
   second thruster stuck on, a ground ABORT) puts the mission manager in ``safe`` within
   T_SAFE_S of the fault, and in safe no burn is commanded but the collision-avoidance
   manoeuvre (and the zero delta-v command that cancels a plan burn);
4. nothing is lost or made up: the recording holds exactly what the bus published, and every
   fault FDIR declares is one the test injected (``Ledger.explains``).
"""
from __future__ import annotations

import shutil
import tempfile
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)

from flightsw.bus.inproc import topic_of
from flightsw.msg import (BurnCommand, CameraFrame, FdirEvent, FdirStatus, GnssFix, GuidanceEvent,
                          GuidanceMode, GyroRate, RangefinderRange, StarTrackerAttitude,
                          WheelSpeeds, decode)
from flightsw.record import Recording
from flightsw.runtime.scheduler import InProcessRun
from hil import scenario
from hil.plant.faults import LINK_TOPICS, SENSORS, parse_fault

NS = 1_000_000_000
# Measured from the fault (or from the command handed to the ground station) to the mission
# manager in safe, close-range seeds 7-9, faults at 10-60 s: gyro frozen 1 s, gyro dropped out
# 3 s (FDIR's 2 s dropout time, then guidance's next step), a second thruster stuck on 2 s, a
# ground ABORT 2 s (the station's and guidance's 1 Hz steps), two valves stuck at once 2 s
# (both found together by the monitor's two-thruster round, 1.8 s after the onset). The
# bound keeps a margin of three over the worst of the cases the machine draws.
T_SAFE_S = 10.0
# a valve stuck open is isolated (latched) within ~2 s; the machine spaces them by this
ISOLATION_S = 10.0
# FDIR's safe or abort to the manager's safe: guidance's next 1 Hz step, and a bus hop
FDIR_TO_SAFE_S = 2.0
SENSOR_TOPIC = {"gnss": GnssFix.TOPIC, "gyro": GyroRate.TOPIC,
                "star_tracker": StarTrackerAttitude.TOPIC,
                "rangefinder": RangefinderRange.TOPIC, "camera": CameraFrame.TOPIC}
# what the thruster monitor reads besides the commands: the gyro and the wheel tachometers
THRUSTER_EVIDENCE = (GyroRate.TOPIC, WheelSpeeds.TOPIC)
WATCHED = {m.TOPIC for m in (GuidanceMode, BurnCommand, GuidanceEvent, FdirEvent, FdirStatus)}


def close_range(seed: int) -> scenario.Scenario:
    """close-range with a ground station that sends only what it is told (no GO at gates)."""
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    doc["run"]["seed"] = seed
    doc["apps"].append({"name": "ground", "cls": "hil.ground:GroundStation", "rate_hz": 1.0,
                        "params": {"go_at_gates": False}})
    return scenario.parse(doc, f"close-range with a ground station, seed {seed}")


# -- what was injected -------------------------------------------------------------------------
class Ledger:
    """The faults injected, each with the span it was in force, and which FDIR declarations
    they explain: a declaration needs a cause in force at it or ended at most RECENT_S before
    (the monitors' windows and delays: a thruster's 4 s fit window and confirmation, a link's
    held messages)."""

    RECENT_S = 10.0

    def __init__(self):
        self.spans: list[list] = []   # [cause, start s, end s or None]; causes below

    def add(self, t_s: float, entry: dict) -> None:
        kind = entry["kind"]
        if kind.startswith("sensor_") or kind.startswith("thruster_"):
            unit = ("sensor", entry["sensor"]) if kind.startswith("sensor_") \
                else ("thruster", entry["index"])
            # a unit has one fault at a time: a new one (or a clear) ends the last
            self._end(lambda cause: cause[1:3] == unit, t_s)
            if not kind.endswith("_clear"):
                self.spans.append([(kind, *unit), t_s, None])
        else:
            link = (entry.get("direction", "out"), entry.get("topic"))
            self.spans.append([("link", *link), t_s, t_s + entry["duration_s"]])

    def _end(self, which, t_s: float) -> None:
        for span in self.spans:
            if which(span[0]) and span[2] is None:
                span[2] = t_s

    def _in_force(self, t_s: float, which) -> bool:
        return any(which(cause) and start <= t_s and (end is None or t_s <= end + self.RECENT_S)
                   for cause, start, end in self.spans)

    def _link(self, direction: str, topics):
        return lambda c: c[0] == "link" and c[1] == direction and c[2] in (None, *topics)

    def explains(self, t_s: float, fault: str, subject: str) -> bool:
        """Whether an FDIR declaration (FdirEvent fault and subject, at t_s) has a cause."""
        if fault == "sensor_freeze":
            return self._in_force(t_s, lambda c: c == ("sensor_freeze", "sensor", subject))
        if fault == "sensor_dropout":
            # a unit frozen while it was out keeps re-sending its invalid reading
            return self._in_force(t_s, lambda c: c[1:] == ("sensor", subject)) or \
                self._in_force(t_s, self._link("out", [SENSOR_TOPIC[subject]]))
        if fault in ("sensor_recovered", "nav_reconverged"):
            return True                  # the end of a declaration, checked when declared
        if fault == "nav_diverged":
            # a navigation gone wrong may stay diverged long after what upset it
            return any(start <= t_s for _, start, _ in self.spans)
        if fault.startswith("thruster_"):
            index = int(subject.split()[1])
            # stuck off and degraded both deliver less than commanded: either verdict fits both
            kinds = {"thruster_stuck_on"} if fault == "thruster_stuck_on" else \
                {"thruster_stuck_off", "thruster_degraded"}
            return self._in_force(t_s, lambda c: c[0] in kinds and c[1:] == ("thruster", index)) \
                or self._in_force(t_s, self._link("in", ["act.thrusters", "act.latch_valves"])) \
                or self._in_force(t_s, self._link("out", THRUSTER_EVIDENCE))
        return False                     # app_stale, app_restarted: no app was faulted


# -- the vehicle and what is watched -------------------------------------------------------
class Vehicle:
    """One close-range flight, recorded in ``run_dir``; every tick watched (``Watch``)."""

    def __init__(self, run_dir: Path, seed: int):
        sc = close_range(seed)
        self.run = InProcessRun(sc.apps, sc.seed, run_dir, sc.blobs_every)
        self.run_dir = Path(run_dir)
        self.plant = self.run.runners["plant"].app
        self.station = self.run.runners["ground"].app
        self.keepout_m = self.run.runners["guidance"].app.p.keepout_m
        self.ledger = Ledger()
        self.watch = Watch(self)
        deliver = self.run.bus.deliver

        def delivered():
            frames = deliver()
            self.watch.tick_published(frames)
            return frames

        self.run.bus.deliver = delivered

    @property
    def t_s(self) -> float:
        return self.run.t_ns / NS

    def fly(self, seconds: float) -> None:
        t_end = self.run.t_ns + int(round(seconds * NS))
        self.run.run(t_end, on_tick=self.watch.tick)
        assert self.run.t_ns == t_end, "the run stopped short"
        self.watch.reached()

    def inject(self, entry: dict) -> None:
        """A fault, now (the entry as a scenario's [[plant.faults]] table, without t_s)."""
        self.plant.inject(parse_fault({"t_s": self.t_s, **entry}))
        self.ledger.add(self.t_s, entry)
        self.watch.injected(entry)

    def command(self, opcode: str) -> None:
        """The operators send ``opcode``: the station's script gets it at the present time."""
        self.station.script.append((self.run.t_ns, opcode, 0.0))
        self.watch.commanded(opcode)

    def close(self) -> None:
        self.run.close()


class Watch:
    """The invariants, kept tick by tick (see the module docstring)."""

    def __init__(self, vehicle: Vehicle):
        self.v = vehicle
        self.min_range_m = np.inf
        self.published: Counter[str] = Counter()
        self.safe_ticks: list[float] = []          # ticks at which the manager was in safe
        self.cams: list[float] = []                # collision-avoidance manoeuvres commanded
        self.deadlines: dict[str, tuple[float, float]] = {}  # obligation -> (since, due by)
        self.events: list[tuple[float, FdirEvent]] = []
        self.unexplained: list[tuple[float, str, str]] = []
        self.stray_burns: list[tuple[float, str]] = []
        self.fdir_response = "none"
        self.stuck_on: dict[int, float] = {}       # thrusters stuck on now -> since
        self.gyro_fault_since: float | None = None
        self.time_to_safe: dict[str, float] = {}

    # -- feeds --
    def tick(self, t_ns: int) -> None:
        st_N = self.v.plant.orbits.states_N
        self.min_range_m = min(self.min_range_m, float(np.linalg.norm(st_N[1, :3] - st_N[0, :3])))

    def tick_published(self, frames: list) -> None:
        """One tick's publications (the bus closing the tick): counted, and the guidance and
        FDIR outputs judged."""
        burns, cam_noted, mode, t_s = [], False, None, 0.0
        for f in frames:
            topic = topic_of(f)
            self.published[topic] += 1
            if topic not in WATCHED:
                continue
            env, m = decode(f)
            t_s = env.t_ns / NS
            if isinstance(m, GuidanceMode):
                mode = m
            elif isinstance(m, BurnCommand):
                burns.append(m)
            elif isinstance(m, GuidanceEvent):
                cam_noted |= m.text.startswith("collision-avoidance manoeuvre")
            elif isinstance(m, FdirEvent):
                self.events.append((t_s, m))
                if not self.v.ledger.explains(t_s, m.fault, m.subject):
                    self.unexplained.append((t_s, m.fault, m.subject))
            elif isinstance(m, FdirStatus):
                if m.response in ("safe", "abort") and self.fdir_response not in ("safe", "abort"):
                    self._owe(f"FDIR {m.response}", t_s, FDIR_TO_SAFE_S)
                self.fdir_response = m.response
        if mode is None:
            return
        moving = [b for b in burns if np.any(b.dv_N != 0.0)]
        if moving and cam_noted:
            self.cams.append(t_s)
        if mode.phase == "safe":
            self.safe_ticks.append(t_s)
            self._discharge(t_s)
        if moving and not cam_noted and (mode.phase == "safe" or mode.held):
            self.stray_burns.append((t_s, f"burn {moving[0].burn_id} in {mode.phase}"
                                          f"{', held' if mode.held else ''}"))

    def _owe(self, what: str, since_s: float, within_s: float) -> None:
        """Safe is owed within ``within_s`` of ``since_s`` (met already if the manager has
        been in safe since)."""
        why = f"{what} at {since_s:.1f} s"
        if why in self.deadlines or why in self.time_to_safe:
            return
        self.deadlines[why] = (since_s, since_s + within_s)
        later = [t for t in self.safe_ticks if t >= since_s]
        if later:
            self._discharge(later[0])

    def _discharge(self, t_s: float) -> None:
        for why, (since, _) in list(self.deadlines.items()):
            if t_s >= since:
                self.time_to_safe[why] = t_s - since
                del self.deadlines[why]

    def injected(self, entry: dict) -> None:
        t_s = self.v.t_s
        kind = entry["kind"]
        if entry.get("sensor") == "gyro":
            if kind in ("sensor_freeze", "sensor_dropout"):
                if self.gyro_fault_since is None:
                    self.gyro_fault_since = t_s
            else:
                self.gyro_fault_since = None
                self.deadlines = {k: d for k, d in self.deadlines.items()
                                  if not k.startswith("gyro")}
        if kind.startswith("thruster_"):
            i = entry["index"]
            if kind == "thruster_stuck_on":
                self.stuck_on.setdefault(i, t_s)
            else:
                self.stuck_on.pop(i, None)

    def commanded(self, opcode: str) -> None:
        t_s = self.v.t_s
        if opcode == "abort":
            self._owe("ground abort", t_s, T_SAFE_S)
        elif opcode == "resume":
            # sent in the same station step, it is executed right after the ABORT: the
            # operators took it back before the vehicle could answer
            self.deadlines = {k: d for k, d in self.deadlines.items()
                              if not (k.startswith("ground abort") and d[0] == t_s)}

    def reached(self) -> None:
        """After a flight: a fault in force since it began is owed its safe."""
        if self.gyro_fault_since is not None:
            self._owe("gyro", self.gyro_fault_since, T_SAFE_S)
        if len(self.stuck_on) >= 2:
            self._owe("two thrusters stuck on", sorted(self.stuck_on.values())[1], T_SAFE_S)

    # -- the invariants --
    def check(self) -> None:
        v = self.v
        assert self.min_range_m > v.keepout_m, f"keep-out entered: {self.min_range_m:.1f} m"
        for name, r in v.run.runners.items():
            assert (r.step_faults, r.outputs_rejected) == (0, 0), (name, r.last_error)
        overdue = {why: due for why, (_, due) in self.deadlines.items() if due <= v.t_s}
        assert not overdue, f"not in safe by {overdue} (now {v.t_s:.1f} s)"
        assert not self.stray_burns, self.stray_burns
        assert not self.unexplained, (self.unexplained, v.ledger.spans)

    def check_recording(self) -> None:
        """After close: the run folder holds every message the bus published, no more."""
        v = self.v
        damaged = self._damaged()
        assert v.run.recorder.counts + damaged == self.published
        assert Counter(Recording(v.run_dir).topics()) + damaged == self.published

    def _damaged(self) -> Counter:
        path = self.v.run_dir / "damaged.msgpack"
        if not path.exists():
            return Counter()
        with open(path, "rb") as f:
            return Counter(row[0] for row in msgpack.Unpacker(f, raw=False))


# -- what is drawn -----------------------------------------------------------------------------
sensor_entries = st.fixed_dictionaries({
    "kind": st.sampled_from(["sensor_dropout", "sensor_freeze", "sensor_clear"]),
    "sensor": st.sampled_from(SENSORS)})
thruster_entries_but_stuck_on = st.one_of(
    st.fixed_dictionaries({"kind": st.sampled_from(["thruster_stuck_off", "thruster_clear"]),
                           "index": st.integers(0, 11)}),
    st.fixed_dictionaries({"kind": st.just("thruster_degraded"), "index": st.integers(0, 11),
                           "scale": st.sampled_from([0.2, 0.5, 0.8])}))
stuck_on_entries = st.fixed_dictionaries({"kind": st.just("thruster_stuck_on"),
                                          "index": st.integers(0, 11)})
thruster_entries = st.one_of(thruster_entries_but_stuck_on, stuck_on_entries)


@st.composite
def link_entries(draw):
    direction = draw(st.sampled_from(["out", "in"]))
    entry = {"kind": draw(st.sampled_from(["link_loss", "link_delay", "link_corrupt"])),
             "direction": direction,
             "duration_s": draw(st.sampled_from([1.0, 5.0, 20.0]))}
    topic = draw(st.sampled_from((None,) + LINK_TOPICS[direction]))
    if topic is not None:
        entry["topic"] = topic
    if entry["kind"] == "link_delay":
        entry["delay_s"] = draw(st.sampled_from([0.3, 2.0, 6.0]))
    else:
        entry["p"] = draw(st.sampled_from([0.5, 1.0]))
    if entry["kind"] == "link_corrupt":
        entry["mode"] = draw(st.sampled_from(["flip", "truncate"]))
    return entry


any_fault = st.one_of(sensor_entries, thruster_entries, link_entries())


# -- single faults ----------------------------------------------------------------------------
def flown(seed: int, script, until_s: float, tmp: Path) -> Vehicle:
    """A vehicle flown through ``script`` [(t_s, fault entry or ground opcode)] to until_s,
    closed, with every invariant checked."""
    v = Vehicle(tmp, seed)
    for t_s, what in sorted(script, key=lambda s: s[0]):
        v.fly(t_s - v.t_s)
        v.inject(what) if isinstance(what, dict) else v.command(what)
    v.fly(until_s - v.t_s)
    v.watch.check()
    v.close()
    v.watch.check_recording()
    return v


@settings(max_examples=10, deadline=None)
@given(fault=any_fault, t_fault_s=st.integers(5, 40), seed=st.sampled_from([8, 9]))
def test_any_single_fault_at_any_time_is_flown_clear_of_the_keep_out_blaming_only_its_cause(
        fault, t_fault_s, seed):
    with tempfile.TemporaryDirectory() as tmp:
        flown(seed, [(t_fault_s, fault)], t_fault_s + 20.0, Path(tmp))


UNRECOVERABLE = {
    "gyro frozen": [(0.0, {"kind": "sensor_freeze", "sensor": "gyro"})],
    "gyro dropped out": [(0.0, {"kind": "sensor_dropout", "sensor": "gyro"})],
    "a second thruster stuck on": [(-6.0, {"kind": "thruster_stuck_on", "index": 2}),
                                   (0.0, {"kind": "thruster_stuck_on", "index": 7})],
    "ground abort": [(0.0, "abort")],
}


@settings(max_examples=8, deadline=None)
@given(case=st.sampled_from(sorted(UNRECOVERABLE)), t_fault_s=st.integers(10, 60),
       seed=st.sampled_from([8, 9]))
def test_an_unrecoverable_fault_is_answered_by_safe_within_the_bound_and_no_burn_but_the_cam(
        case, t_fault_s, seed):
    script = [(t_fault_s + dt, what) for dt, what in UNRECOVERABLE[case]]
    with tempfile.TemporaryDirectory() as tmp:
        v = flown(seed, script, t_fault_s + T_SAFE_S + 5.0, Path(tmp))
    assert v.watch.safe_ticks and v.watch.safe_ticks[0] <= t_fault_s + T_SAFE_S
    assert v.watch.safe_ticks[-1] == v.t_s                  # and it stays there
    # a ground ABORT and a second failed thruster (FDIR asks abort: away from the target on
    # what is left of the RCS) fly a collision-avoidance manoeuvre; the others hold passively
    assert len(v.watch.cams) == (case in ("ground abort", "a second thruster stuck on"))


# -- known weaknesses of FDIR, kept strict -----------------------------------------------------
@pytest.mark.parametrize("t_abort_s", [15.0, 22.0, 31.0])
def test_no_healthy_thruster_is_blamed_during_the_collision_avoidance_manoeuvre(tmp_path,
                                                                               t_abort_s):
    """Seed 7's thrusters: with their build errors taken for white noise, thruster 7 was
    declared degraded ~2 s into the burn at 3 of 5 abort times; modelled as a ramp along each
    thruster's own commanded impulse, none is."""
    v = flown(7, [(t_abort_s, "abort")], t_abort_s + 30.0, tmp_path)
    assert v.watch.cams


def test_two_thrusters_stuck_on_at_once_are_both_isolated_and_nothing_else(tmp_path):
    # their summed torque fits some third thruster better than either alone: the monitor's
    # two-thruster round finds the pair (flown checks nothing else is blamed)
    both = [(15.0, {"kind": "thruster_stuck_on", "index": 2}),
            (15.0, {"kind": "thruster_stuck_on", "index": 7})]
    v = flown(8, both, 35.0, tmp_path)
    declared = {m.subject: t for t, m in v.watch.events if m.fault == "thruster_stuck_on"}
    assert set(declared) == {"thruster 2", "thruster 7"}
    assert max(declared.values()) - 15.0 <= ISOLATION_S
    assert v.watch.safe_ticks and v.watch.safe_ticks[0] - 15.0 <= T_SAFE_S


# -- the state machine ------------------------------------------------------------------------
class FaultsAndCommands(RuleBasedStateMachine):
    """Sequences of faults, ground commands and flight, on one vehicle per example."""

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="fault-props-"))
        self.vehicle: Vehicle | None = None

    @initialize(seed=st.sampled_from([8, 9]), first=any_fault)
    def boot(self, seed, first):
        # every unit heard from before the first fault (a unit silent from boot is the
        # commissioning's to find, and close-range starts past it)
        self.vehicle = Vehicle(self.dir, seed)
        self.vehicle.fly(5.0)
        self.vehicle.inject(first)

    @rule(entry=sensor_entries)
    def sensor_fault(self, entry):
        self.vehicle.inject(entry)

    @rule(entry=thruster_entries_but_stuck_on)
    def thruster_fault(self, entry):
        self.vehicle.inject(entry)

    # two valves sticking open within one isolation of each other are the known weakness of
    # test_two_thrusters_stuck_on_at_once_...: the machine lets FDIR isolate one first
    @precondition(lambda self: self.vehicle is not None and all(
        self.vehicle.t_s - since >= ISOLATION_S for since in self.vehicle.watch.stuck_on.values()))
    @rule(entry=stuck_on_entries)
    def thruster_sticks_on(self, entry):
        self.vehicle.inject(entry)

    @rule(entry=link_entries())
    def link_fault(self, entry):
        self.vehicle.inject(entry)

    @rule(opcode=st.sampled_from(["go", "hold", "resume", "abort"]))
    def ground(self, opcode):
        self.vehicle.command(opcode)

    @rule(seconds=st.integers(1, 4))
    def fly_briefly(self, seconds):
        self.vehicle.fly(float(seconds))

    @rule(seconds=st.integers(5, 40))
    def fly(self, seconds):
        self.vehicle.fly(float(seconds))

    @invariant()
    def holds(self):
        if self.vehicle is not None:
            self.vehicle.watch.check()

    def teardown(self):
        try:
            if self.vehicle is not None:
                # what is owed comes due
                self.vehicle.fly(T_SAFE_S)
                self.vehicle.watch.check()
                self.vehicle.close()
                self.vehicle.watch.check_recording()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


FaultsAndCommands.TestCase.settings = settings(max_examples=25, stateful_step_count=10,
                                               deadline=None)
test_any_sequence_of_faults_and_ground_commands_keeps_the_invariants = FaultsAndCommands.TestCase
