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
=========================  =====================================================
"""
from __future__ import annotations

from dataclasses import dataclass

SENSORS = ("gnss", "gyro", "star_tracker", "rangefinder", "camera")
KINDS = ("sensor_dropout", "sensor_freeze", "sensor_clear", "thruster_stuck_off",
         "thruster_stuck_on", "thruster_degraded", "thruster_clear")


@dataclass(frozen=True)
class Fault:
    t_ns: int
    kind: str
    sensor: str | None = None
    index: int | None = None
    scale: float | None = None


def parse_fault(entry: dict, where: str = "plant.faults") -> Fault:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: each fault must be a table")
    unknown = set(entry) - {"t_s", "kind", "sensor", "index", "scale"}
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
    return Fault(int(round(t_s * 1e9)), kind, sensor, index,
                 None if scale is None else float(scale))


def parse_faults(entries) -> tuple[Fault, ...]:
    if not isinstance(entries, list):
        raise ValueError("plant.faults must be an array of tables")
    return tuple(sorted((parse_fault(e, f"plant.faults[{i}]") for i, e in enumerate(entries)),
                        key=lambda f: f.t_ns))
