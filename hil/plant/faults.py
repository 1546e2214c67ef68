"""Fault injection: a schedule of faults set by the scenario, or by a test through the API.

Kinds:

=========================  =====================================================
``sensor_dropout``         ``sensor`` (gnss, gyro, star_tracker, rangefinder,
                           camera) stops delivering valid data
``sensor_freeze``          ``sensor`` repeats its last reading
``sensor_clear``           ``sensor`` recovers
``thruster_stuck_off``     thruster ``index`` (0-based) never fires
``thruster_stuck_on``      thruster ``index`` fires the whole window regardless
``thruster_degraded``      thruster ``index`` gives ``scale`` of its thrust
``thruster_clear``         thruster ``index`` repaired
``link_loss``              each message on the link is lost with probability ``p``
                           (default 1: all of them)
``link_delay``             each message is delivered ``delay_s`` late, order kept
``link_corrupt``           each message's encoded bytes are damaged with
                           probability ``p`` (default 1): ``mode = "truncate"``
                           (one frame cut short, the default) or ``"flip"`` (one
                           bit inverted)
``link_clear``             the link faults on ``topic`` (or, without one, all on
                           the ``direction``) end
=========================  =====================================================

A link fault acts on one ``direction`` of the plant's interface: ``"out"`` (the default), what
the plant publishes to the flight software (its sensor data and the cue; never the truth
record, which is no interface), or ``"in"``, the actuator commands it receives (a command lost
is one the hardware never got; a delayed one is executed late; a corrupted one reaches the
plant's decoder damaged). It applies to one ``topic`` of that direction, or to all of them
without one, and ends at ``link_clear`` or after ``duration_s``. Messages are lost, damaged
or held back as encoded wire frames (:class:`Link`), so a consumer sees a lost message as a
gap in the sequence numbers and a damaged one as bytes its own decoder must judge. The topic
frame is never damaged: it is the bus's address, and a message sent to the wrong address is
lost, which ``link_loss`` covers. A truncated message never decodes (msgpack framing or the
blob's length gives it away), so the consumer always rejects it; a flipped bit inside a value
can leave a message that still meets its contract (the wire carries no checksum), which the
consumer then cannot tell from a good one.

Every draw (lost or not, damaged or not, where) is a hash of the scenario seed, the fault
and the message's topic and envelope bytes: the same message meets the same fate in
both topologies whatever order the frames arrive in.
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter, deque
from dataclasses import dataclass

from flightsw.msg import (CameraFrame, GnssFix, GyroRate, LatchValveCommand, RangefinderRange,
                          StarTrackerAttitude, TargetCue, ThrusterCommand, WheelSpeeds,
                          WheelTorqueCommand)

SENSORS = ("gnss", "gyro", "star_tracker", "rangefinder", "camera")
KINDS = ("sensor_dropout", "sensor_freeze", "sensor_clear", "thruster_stuck_off",
         "thruster_stuck_on", "thruster_degraded", "thruster_clear",
         "link_loss", "link_delay", "link_corrupt", "link_clear")
# the topics of each direction of the plant's interface
LINK_TOPICS = {
    "out": tuple(m.TOPIC for m in (TargetCue, GnssFix, GyroRate, StarTrackerAttitude,
                                   RangefinderRange, WheelSpeeds, CameraFrame)),
    "in": tuple(m.TOPIC for m in (ThrusterCommand, WheelTorqueCommand, LatchValveCommand)),
}
CORRUPT_MODES = ("flip", "truncate")
_KEYS = {"t_s", "kind", "sensor", "index", "scale", "direction", "topic", "p", "delay_s",
         "duration_s", "mode"}
_LINK_KEYS = {"direction", "topic", "p", "delay_s", "duration_s", "mode"}


@dataclass(frozen=True)
class Fault:
    t_ns: int
    kind: str
    sensor: str | None = None
    index: int | None = None
    scale: float | None = None
    direction: str = "out"
    topic: str | None = None       # None: every topic of the direction
    p: float = 1.0                 # probability a message is hit (link_loss, link_corrupt)
    delay_ns: int = 0              # link_delay
    duration_ns: int | None = None  # None: until link_clear
    mode: str = "truncate"         # link_corrupt


def _is_number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def _parse_link(entry: dict, kind: str, where: str) -> dict:
    direction = entry.get("direction", "out")
    if direction not in LINK_TOPICS:
        raise ValueError(f"{where}: direction must be 'out' or 'in', got {direction!r}")
    topic = entry.get("topic")
    if topic is not None and topic not in LINK_TOPICS[direction]:
        raise ValueError(f"{where}: topic of direction {direction!r} must be one of "
                         f"{LINK_TOPICS[direction]}, got {topic!r}")
    allowed = {"direction", "topic"} | {
        "link_loss": {"p", "duration_s"}, "link_delay": {"delay_s", "duration_s"},
        "link_corrupt": {"p", "duration_s", "mode"}, "link_clear": set()}[kind]
    extra = (set(entry) & _LINK_KEYS) - allowed
    if extra:
        raise ValueError(f"{where}: {kind} takes no {sorted(extra)}")
    out = {"direction": direction, "topic": topic}
    p = entry.get("p", 1.0)
    if not (_is_number(p) and 0.0 < p <= 1.0):
        raise ValueError(f"{where}: p must be a probability in (0, 1], got {p!r}")
    out["p"] = float(p)
    if kind == "link_delay":
        delay = entry.get("delay_s")
        if not (_is_number(delay) and 0.0 < delay <= 3600.0):
            raise ValueError(f"{where}: link_delay needs delay_s in (0, 3600] s, got {delay!r}")
        out["delay_ns"] = int(round(delay * 1e9))
    if "duration_s" in entry:
        d = entry["duration_s"]
        if not (_is_number(d) and d > 0.0):
            raise ValueError(f"{where}: duration_s must be a positive number, got {d!r}")
        out["duration_ns"] = int(round(d * 1e9))
    mode = entry.get("mode", "truncate")
    if mode not in CORRUPT_MODES:
        raise ValueError(f"{where}: mode must be one of {CORRUPT_MODES}, got {mode!r}")
    out["mode"] = mode
    return out


def parse_fault(entry: dict, where: str = "plant.faults") -> Fault:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: each fault must be a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    t_s, kind = entry.get("t_s"), entry.get("kind")
    if isinstance(t_s, bool) or not isinstance(t_s, (int, float)) or not t_s >= 0:
        raise ValueError(f"{where}: t_s must be a non-negative number")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    sensor, index, scale = entry.get("sensor"), entry.get("index"), entry.get("scale")
    if kind.startswith("sensor_") and sensor not in SENSORS:
        raise ValueError(f"{where}: {kind} needs sensor, one of {SENSORS}")
    if kind.startswith("thruster_"):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 12:
            raise ValueError(f"{where}: {kind} needs index in 0..11")
        if kind == "thruster_degraded" and not (isinstance(scale, (int, float)) and 0 < scale < 1):
            raise ValueError(f"{where}: thruster_degraded needs scale in (0, 1)")
    if kind.startswith("link_"):
        if set(entry) & {"sensor", "index", "scale"}:
            raise ValueError(f"{where}: {kind} takes no sensor, index or scale")
        link = _parse_link(entry, kind, where)
    elif set(entry) & _LINK_KEYS:
        raise ValueError(f"{where}: {kind} takes none of {sorted(set(entry) & _LINK_KEYS)}")
    else:
        link = {}
    return Fault(int(round(t_s * 1e9)), kind, sensor, index,
                 None if scale is None else float(scale), **link)


def parse_faults(entries) -> tuple[Fault, ...]:
    if not isinstance(entries, list):
        raise ValueError("plant.faults must be an array of tables")
    return tuple(sorted((parse_fault(e, f"plant.faults[{i}]") for i, e in enumerate(entries)),
                        key=lambda f: f.t_ns))


# -- the link ---------------------------------------------------------------------------------
def _topic(frames) -> str:
    return bytes(memoryview(frames[0]))[:-1].decode("ascii", "replace")


class Link:
    """One direction of the plant's interface: the link faults active on it, applied to the
    encoded wire frames that cross it (see the module docstring)."""

    def __init__(self, direction: str, seed: int):
        self.topics = frozenset(LINK_TOPICS[direction])
        self._key = f"{seed}/{direction}/".encode()
        self.active: list[tuple[Fault, int | None]] = []  # (fault, end t_ns or None)
        self.held: dict[str, deque] = {}  # topic -> (due t_ns, frames), in order sent
        self.lost: Counter[str] = Counter()
        self.corrupted: Counter[str] = Counter()
        self.delayed: Counter[str] = Counter()

    def set(self, fault: Fault) -> None:
        """Start ``fault`` (a ``link_*`` kind of this direction) at its ``t_ns``."""
        if fault.kind == "link_clear":
            self.active = [(f, end) for f, end in self.active
                           if fault.topic is not None and f.topic != fault.topic]
            return
        end = None if fault.duration_ns is None else fault.t_ns + fault.duration_ns
        self.active.append((fault, end))

    def _draw(self, purpose: bytes, topic: str, header) -> tuple[float, int]:
        """A uniform in [0, 1) and a 64-bit integer, fixed by the message and the purpose."""
        h = hashlib.blake2b(self._key + purpose + topic.encode() + b"\0"
                            + bytes(memoryview(header)), digest_size=16).digest()
        return int.from_bytes(h[:8], "little") / 2.0**64, int.from_bytes(h[8:], "little")

    def _corrupt(self, fault: Fault, frames, draw: int) -> list:
        frames = list(frames)
        sizes = [memoryview(f).nbytes for f in frames[1:]]
        if fault.mode == "truncate":
            cut = [i for i, n in enumerate(sizes) if n > 0]
            i = cut[draw % len(cut)]
            frames[i + 1] = bytes(memoryview(frames[i + 1]).cast("B")[:(draw >> 32) % sizes[i]])
            return frames
        bit = draw % (8 * sum(sizes))
        for i, n in enumerate(sizes):
            if bit < 8 * n:
                damaged = bytearray(memoryview(frames[i + 1]).cast("B"))
                damaged[bit // 8] ^= 1 << (bit % 8)
                frames[i + 1] = bytes(damaged)
                return frames
            bit -= 8 * n
        raise AssertionError("bit index beyond the frames")

    def _fate(self, frames):
        """``frames`` after the active faults (None if lost), and the delay to hold them back
        by. Loss is decided first: a lost message is neither damaged nor held."""
        topic = _topic(frames)
        header = frames[1]
        hits = [f for f, _end in self.active if f.topic in (None, topic)]
        # each draw keyed by the fault too, so that two faults on one message draw apart
        for fault in hits:
            if fault.kind == "link_loss" and self._draw(repr(fault).encode(), topic,
                                                        header)[0] < fault.p:
                self.lost[topic] += 1
                return None, 0
        damaged = False
        for fault in hits:
            if fault.kind == "link_corrupt":
                u, where = self._draw(repr(fault).encode(), topic, header)
                if u < fault.p:
                    frames = self._corrupt(fault, frames, where)
                    damaged = True
        if damaged:
            self.corrupted[topic] += 1
        return frames, max((f.delay_ns for f in hits if f.kind == "link_delay"), default=0)

    def cross(self, t_ns: int, wire: list) -> list:
        """The frames that reach the other side at ``t_ns``: those held back and now due,
        then those of ``wire`` that are neither lost nor held back."""
        self.active = [(f, end) for f, end in self.active if end is None or end > t_ns]
        out = []
        for topic in sorted(self.held):
            q = self.held[topic]
            while q and q[0][0] <= t_ns:
                out.append(q.popleft()[1])
            if not q:
                del self.held[topic]
        if not self.active and not self.held:
            return out + wire if out else wire
        for frames in wire:
            topic = _topic(frames)
            if topic not in self.topics:
                out.append(frames)
                continue
            frames, delay_ns = self._fate(frames)
            if frames is None:
                continue
            q = self.held.get(topic)
            if delay_ns == 0 and q is None:
                out.append(frames)
                continue
            # behind whatever of its topic is still held, so that order is kept
            due = t_ns + delay_ns if q is None else max(t_ns + delay_ns, q[-1][0])
            self.held.setdefault(topic, deque()).append((due, frames))
            if delay_ns > 0:
                self.delayed[topic] += 1
        return out
