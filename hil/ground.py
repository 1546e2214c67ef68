"""The ground station: the operators on the other end of the command link, as an app of the bench.

The operators watch the mission manager's telemetry (GuidanceMode) and answer it, with a
response time, as a test plan or a mission rule says:

* gates: each time the vehicle enters a phase whose exit needs the ground's GO (the hold-point
  gates of the mid and close approach), one GO, response_s after the entry — the operators
  checking the hold before authorising the next leg;
* safe: after resume_after_safe_s in safe (0: never), a RESUME — the operators having found the
  cause and cleared the vehicle to go on;
* a script: commands at fixed sim times, "t_s:opcode[:argument]" comma-separated (for tests
  and fault campaigns: a HOLD at 3600 s, a RESUME at 5400 s, an ABORT...).

Every command carries the next cmd_id (the mission manager executes each id once). The link
itself is ideal (no latency, no loss): its faults belong to the interface faults of the plant.
"""
from __future__ import annotations

from flightsw.msg import GroundCommand, GuidanceMode
from flightsw.msg.codec import MAX_T_NS
from flightsw.runtime.app import NS_PER_S, App, Param

OPCODES = ("go", "hold", "resume", "abort")
ARGUMENT = next(f for f in GroundCommand.FIELDS if f.name == "argument")


def parse_script(text: str) -> list[tuple[int, str, float]]:
    """[(t_ns, opcode, argument)] of a "t_s:opcode[:argument],..." script, in time order."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        parts = item.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"ground script entry {item!r} is not t_s:opcode[:argument]")
        try:
            t_s = float(parts[0])
            argument = float(parts[2]) if len(parts) == 3 else 0.0
        except ValueError:
            raise ValueError(f"ground script entry {item!r}: time and argument must be "
                             "numbers") from None
        if not (0.0 <= t_s < MAX_T_NS / NS_PER_S - 1.0) or parts[1] not in OPCODES:
            raise ValueError(f"ground script entry {item!r}: t_s within the sim clock's range, "
                             f"opcode one of {OPCODES}")
        if not ARGUMENT.lo <= argument <= ARGUMENT.hi:
            raise ValueError(f"ground script entry {item!r}: argument outside "
                             f"[{ARGUMENT.lo:g}, {ARGUMENT.hi:g}]")
        out.append((int(round(t_s * NS_PER_S)), parts[1], argument))
    return sorted(out, key=lambda c: c[0])


def mode_time_in_phase_ok(env, mode: GuidanceMode) -> bool:
    """Whether the phase was entered at or after t = 0 by the report's own time (telemetry
    saying otherwise is refused and counted: it would have the operators answer a gate at
    once, or overflow the entry time)."""
    return mode.time_in_phase_s * NS_PER_S <= env.t_ns + NS_PER_S


class GroundStation(App):
    """Answers the vehicle's gates and safe mode, and sends scripted commands."""

    SUBSCRIBES = (GuidanceMode,)
    PUBLISHES = (GroundCommand,)
    RATE_HZ = 0.1
    PARAMS = {
        "gated_phases": Param("mid_approach,close_approach", "",
                              "phases whose exit waits for a GO (comma-separated)"),
        "go_at_gates": Param(True, "", "answer each gated phase with one GO"),
        "response_s": Param(600.0, "s", "operators' time from an entry to its GO", lo=0.0,
                            hi=86400.0),
        "resume_after_safe_s": Param(0.0, "s", "time in safe before a RESUME (0: never)", lo=0.0,
                                     hi=864000.0),
        "script": Param("", "", "commands at sim times: 't_s:opcode[:argument],...'"),
    }

    def reset(self) -> None:
        self.gated = {s.strip() for s in self.p.gated_phases.split(",") if s.strip()}
        self.script = parse_script(self.p.script)
        self.cmd_id = 0
        self.phase = ""
        self.entered_ns = 0
        self.answered = False          # the present phase entry has had its GO or RESUME

    def step(self, t_ns: int, inbox) -> list:
        got = inbox.latest(GuidanceMode)
        if got is not None and not mode_time_in_phase_ok(*got):
            self.rejected += 1
        elif got is not None:
            env, mode = got
            entered_ns = env.t_ns - int(mode.time_in_phase_s * NS_PER_S)
            if mode.phase != self.phase or entered_ns > self.entered_ns + NS_PER_S:
                self.phase, self.entered_ns, self.answered = mode.phase, entered_ns, False
        out = []
        while self.script and self.script[0][0] <= t_ns:
            _, opcode, argument = self.script.pop(0)
            out.append(self._command(opcode, argument))
        if not self.answered and self.phase:
            waited = t_ns - self.entered_ns
            if self.p.go_at_gates and self.phase in self.gated and \
                    waited >= self.p.response_s * NS_PER_S:
                out.append(self._command("go"))
                self.answered = True
            elif self.phase == "safe" and self.p.resume_after_safe_s > 0.0 and \
                    waited >= self.p.resume_after_safe_s * NS_PER_S:
                out.append(self._command("resume"))
                self.answered = True
        return out

    def _command(self, opcode: str, argument: float = 0.0) -> GroundCommand:
        self.cmd_id += 1
        return GroundCommand(cmd_id=self.cmd_id, opcode=opcode, argument=float(argument))
