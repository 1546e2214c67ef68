"""Hostile ground commands, on both ends of the link: the ground station's script and its view
of the vehicle's telemetry (hil.ground), and the mission manager taking the commands
(flightsw.guidance). Whatever is sent, nothing raises, every command on the wire keeps its
contract, and what is refused is counted.
"""
import numpy as np
from hypothesis import given, settings, strategies as st

from flightsw.guidance.app import GuidanceApp
from flightsw.msg import GroundCommand, GuidanceEvent, GuidanceMode, decode, encode
from flightsw.msg.guidance import PHASES
from flightsw.runtime.app import NS_PER_S
from flightsw.runtime.runner import AppRunner
from hil.ground import GroundStation, parse_script

entries = st.tuples(
    st.sampled_from(["0", "10", "1e9", "-5", "nan", "inf", "1e400", "x", ""]) | st.floats().map(str),
    st.sampled_from(["go", "hold", "resume", "abort", "explode", "", "GO"]),
    st.none() | st.sampled_from(["0", "nan", "-inf", "1e9", "1e10", "-1e9", "y"])
    | st.floats().map(str),
).map(lambda e: ":".join(p for p in e if p is not None))


@settings(max_examples=200)
@given(st.lists(entries, max_size=4).map(",".join))
def test_a_ground_script_loads_only_commands_the_link_can_carry(script):
    try:
        commands = parse_script(script)
    except ValueError as exc:
        assert "ground script entry" in str(exc)
        return
    for k, (t_ns, opcode, argument) in enumerate(commands):
        frames = encode(GroundCommand(cmd_id=k, opcode=opcode, argument=argument), k, t_ns,
                        "ground")
        assert decode(frames)[1].opcode == opcode


modes = st.builds(
    GuidanceMode, phase=st.sampled_from(PHASES),
    time_in_phase_s=st.sampled_from([0.0, 1e300, 1e12, 5e-324]) | st.floats(0.0, 1e300),
    held=st.booleans(), cam_requested=st.booleans(),
    next_burn_t_ns=st.integers(0, 2**64 - 1), planned_dv_mps=st.floats(0.0, 1e300),
    used_dv_mps=st.floats(0.0, 1e300))


@settings(max_examples=100)
@given(st.lists(modes, min_size=1, max_size=8))
def test_the_ground_station_answers_any_telemetry_with_valid_commands_or_refuses_it(stream):
    station = GroundStation("ground", {"response_s": 30.0, "resume_after_safe_s": 30.0,
                                       "script": "5:hold,15:resume"})
    runner = AppRunner(station)
    refused = 0
    for k, mode in enumerate(stream):
        t_ns = (k + 1) * station.period_ns
        refused += mode.time_in_phase_s * NS_PER_S > t_ns + NS_PER_S
        for frames in runner.run_step(t_ns, [encode(mode, k, t_ns, "guidance")]):
            decode(frames)
        assert (runner.step_faults, runner.outputs_rejected) == (0, 0), runner.last_error
    assert station.rejected == refused


commands = st.builds(GroundCommand, cmd_id=st.integers(0, 5) | st.just(2**64 - 1),
                     opcode=st.sampled_from(["go", "hold", "resume", "abort"]),
                     argument=st.floats(-1e9, 1e9))


@settings(max_examples=60)
@given(st.lists(st.lists(commands, max_size=3), min_size=1, max_size=6))
def test_the_mission_manager_answers_each_command_once_and_counts_replays(steps):
    app = GuidanceApp("guidance", {"nav_settle_s": 0.0, "start_phase": "mid_approach"})
    runner = AppRunner(app)
    seen: dict[int, str] = {}
    replays = answered = 0
    seq = 0
    for k, batch in enumerate(steps, start=1):
        t_ns = k * NS_PER_S
        raw = []
        for cmd in batch:
            raw.append(encode(cmd, seq, t_ns, "ground"))
            seq += 1
        events = [m for _, m in (decode(f) for f in runner.run_step(t_ns, raw))
                  if isinstance(m, GuidanceEvent)]
        assert (runner.step_faults, runner.outputs_rejected) == (0, 0), runner.last_error
        for cmd in batch:            # the runtime delivers them in the order sent (seq)
            if cmd.cmd_id not in seen:
                seen[cmd.cmd_id] = cmd.opcode
                answered += 1
            elif seen[cmd.cmd_id] != cmd.opcode:
                replays += 1
        logged = [e.text for e in events if e.text.startswith("command ")]
        assert all(": accepted, " in t or ": refused, " in t for t in logged)
    assert app.rejected == replays
    assert len(app.commands_seen) == answered
    assert np.isfinite(app.used_dv)
