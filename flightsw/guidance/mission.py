"""The mission manager: the phases of the mission as an explicit state machine.

States, what makes each advance, and how long each may last (PHASES); any state can fall to
`safe`. The manager decides on what it is told (Observations: the navigation's and guidance's
view of the world at time t), never on truth.

    phase           advances to      when                                         time-out
    commission      search           attitude estimate valid                      1 h
    search          far_approach     confirmed target track and nav valid         8 h
    far_approach    mid_approach     range < 25 km (arrived at the 20 km hold)    36 h
    mid_approach    close_approach   range < 1.2 km                and ground GO  24 h
    close_approach  inspect          range < 400 m                 and ground GO  12 h
    inspect         depart           coverage goal reached                        14 h
    depart          safe             range > 5 km (the end: passive hold)         12 h
    safe            —                only a ground RESUME leaves it

FDIR (the health app's FdirStatus.response) weighs in too: `hold` holds the mission as a
ground HOLD does for as long as it is asked (the phase's time-out restarts after it), `safe`
sends the vehicle to safe, `abort` to safe with a collision-avoidance manoeuvre, from any
phase.

A time-out sends the vehicle to `safe`. Proximity phases (mid, close, inspect) also fall to
`safe` when the navigation diverges or a collision-avoidance manoeuvre is needed; entering
`safe` from them asks guidance for that manoeuvre (`cam_requested`) before the passive hold.

Ground overrides (propose message GroundCommand: opcode, argument): GO authorises the next
hold-point gate (it is consumed by the next transition that needs it); HOLD freezes the
mission in its phase (no transitions but to safe, time-outs suspended); RESUME lifts a HOLD,
or leaves `safe` for the phase it fell from (its time-out restarted); ABORT sends the vehicle
to `safe` with a collision-avoidance manoeuvre. Every command gets a response (accepted or
the reason it was refused), as an F Prime command does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Phase(str, Enum):
    COMMISSION = "commission"
    SEARCH = "search"
    FAR_APPROACH = "far_approach"
    MID_APPROACH = "mid_approach"
    CLOSE_APPROACH = "close_approach"
    INSPECT = "inspect"
    DEPART = "depart"
    SAFE = "safe"


class Opcode(str, Enum):
    GO = "go"
    HOLD = "hold"
    RESUME = "resume"
    ABORT = "abort"


@dataclass(frozen=True)
class Observations:
    """What the manager is told each step."""

    attitude_valid: bool = False
    track_confirmed: bool = False
    nav_valid: bool = False
    nav_diverged: bool = False
    range_m: float = float("inf")
    coverage: float = 0.0
    cam_needed: bool = False
    fdir_response: str = "none"      # FDIR's: none, hold, safe, abort


@dataclass(frozen=True)
class PhaseRule:
    """One row of the table: the next phase, the condition, whether ground GO is needed, the
    time-out (s), and whether a nav divergence or a CAM need forces `safe`."""

    next: Phase | None
    condition: str
    needs_go: bool
    timeout_s: float
    proximity: bool


PHASES = {
    Phase.COMMISSION: PhaseRule(Phase.SEARCH, "attitude_valid", False, 3600.0, False),
    Phase.SEARCH: PhaseRule(Phase.FAR_APPROACH, "target_acquired", False, 8 * 3600.0, False),
    Phase.FAR_APPROACH: PhaseRule(Phase.MID_APPROACH, "within_25_km", False, 36 * 3600.0, False),
    Phase.MID_APPROACH: PhaseRule(Phase.CLOSE_APPROACH, "within_1200_m", True, 24 * 3600.0, True),
    Phase.CLOSE_APPROACH: PhaseRule(Phase.INSPECT, "within_400_m", True, 12 * 3600.0, True),
    Phase.INSPECT: PhaseRule(Phase.DEPART, "coverage_reached", False, 14 * 3600.0, True),
    Phase.DEPART: PhaseRule(Phase.SAFE, "beyond_5_km", False, 12 * 3600.0, False),
    Phase.SAFE: PhaseRule(None, "never", False, float("inf"), False),
}

COVERAGE_GOAL = 0.95

CONDITIONS = {
    "attitude_valid": lambda o: o.attitude_valid,
    "target_acquired": lambda o: o.track_confirmed and o.nav_valid,
    "within_25_km": lambda o: o.nav_valid and o.range_m < 25e3,
    "within_1200_m": lambda o: o.nav_valid and o.range_m < 1200.0,
    "within_400_m": lambda o: o.nav_valid and o.range_m < 400.0,
    "coverage_reached": lambda o: o.coverage >= COVERAGE_GOAL,
    "beyond_5_km": lambda o: o.nav_valid and o.range_m > 5e3,
    "never": lambda o: False,
}


@dataclass
class MissionManager:
    """The state machine of the module docstring. t in seconds of mission time."""

    phase: Phase = Phase.COMMISSION
    entered_s: float = 0.0
    held: bool = False
    go: bool = False
    fell_from: Phase | None = None
    cam_requested: bool = False
    fdir_hold: bool = False
    log: list = field(default_factory=list)

    @property
    def holding(self) -> bool:
        """On hold, by the ground's HOLD or FDIR's: no transition, no burn."""
        return self.held or self.fdir_hold

    def time_in_phase_s(self, t_s: float) -> float:
        return t_s - self.entered_s

    def _enter(self, phase: Phase, t_s: float, why: str) -> None:
        if phase is Phase.SAFE and self.phase is not Phase.SAFE:
            self.fell_from = self.phase
        self.log.append((t_s, self.phase.value, phase.value, why))
        self.phase, self.entered_s = phase, t_s

    def to_safe(self, t_s: float, why: str, cam: bool) -> None:
        if self.phase is not Phase.SAFE:
            self._enter(Phase.SAFE, t_s, why)
        self.cam_requested = self.cam_requested or cam
        self.held = False

    def update(self, t_s: float, obs: Observations) -> Phase:
        """Advance the machine on this step's observations; returns the phase."""
        rule = PHASES[self.phase]
        if rule.proximity and (obs.nav_diverged or obs.cam_needed):
            self.to_safe(t_s, "navigation diverged" if obs.nav_diverged else "keep-out threatened", True)
            return self.phase
        if obs.fdir_response in ("safe", "abort") and self.phase is not Phase.SAFE:
            self.to_safe(t_s, f"FDIR {obs.fdir_response}", obs.fdir_response == "abort")
            return self.phase
        was_on_fdir_hold, self.fdir_hold = self.fdir_hold, obs.fdir_response == "hold"
        if was_on_fdir_hold and not self.fdir_hold and not self.held:
            self.entered_s = t_s        # the phase's time-out restarts, as after a ground hold
        if self.phase is Phase.SAFE or self.holding:
            return self.phase
        if self.time_in_phase_s(t_s) > rule.timeout_s:
            self.to_safe(t_s, f"{self.phase.value} timed out", rule.proximity)
            return self.phase
        if CONDITIONS[rule.condition](obs) and (self.go or not rule.needs_go):
            if rule.needs_go:
                self.go = False
            self._enter(rule.next, t_s, rule.condition)
        return self.phase

    def command(self, t_s: float, opcode: str) -> tuple[bool, str]:
        """A ground command; returns (accepted, response)."""
        try:
            op = Opcode(opcode)
        except ValueError:
            return False, f"unknown opcode {opcode!r}"
        if op is Opcode.ABORT:
            self.to_safe(t_s, "ground abort", cam=True)
            return True, "aborted: collision-avoidance manoeuvre and passive hold"
        if op is Opcode.HOLD:
            if self.phase is Phase.SAFE:
                return False, "already in safe"
            self.held = True
            return True, f"holding in {self.phase.value}"
        if op is Opcode.GO:
            if self.phase is Phase.SAFE or self.held:
                return False, "GO refused while in safe or on hold"
            self.go = True
            return True, "next gate authorised"
        if self.held:
            self.held = False
            self.entered_s = t_s
            return True, f"resumed {self.phase.value}"
        if self.phase is Phase.SAFE and self.fell_from is not None:
            self._enter(self.fell_from, t_s, "ground resume")
            self.cam_requested = False
            return True, f"resumed {self.phase.value}"
        return False, "nothing to resume"
