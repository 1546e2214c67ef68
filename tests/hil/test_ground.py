"""The ground station answers gates and safe mode after its response time, and plays scripts."""
import pytest

from flightsw.msg import Envelope, GroundCommand, GuidanceMode
from flightsw.runtime.app import Inbox
from hil.ground import GroundStation, parse_script

NS = 1_000_000_000


def mode(t_s, phase, entered_s):
    env = Envelope(GuidanceMode.TOPIC, GuidanceMode.VERSION, 0, int(t_s * NS), "guidance")
    return env, GuidanceMode(phase=phase, time_in_phase_s=float(t_s - entered_s), held=False,
                             cam_requested=False, next_burn_t_ns=0, planned_dv_mps=0.0,
                             used_dv_mps=0.0)


def fly(station, timeline, t_end_s, dt_s=10.0):
    """timeline: [(t_s, phase)] the phases entered; returns [(t_s, opcode, cmd_id)]."""
    station.reset()
    sent = []
    t = 0.0
    while t <= t_end_s:
        entered = max((e for e in timeline if e[0] <= t), key=lambda e: e[0])
        for m in station.step(int(t * NS), Inbox([mode(t, entered[1], entered[0])])):
            assert isinstance(m, GroundCommand)
            sent.append((t, m.opcode, m.cmd_id))
        t += dt_s
    return sent


def test_one_go_per_gated_phase_entry_after_the_response_time():
    station = GroundStation("ground", {"response_s": 600.0})
    sent = fly(station, [(0, "far_approach"), (1000, "mid_approach"), (5000, "close_approach"),
                         (9000, "inspect")], 12000)
    assert sent == [(1600.0, "go", 1), (5600.0, "go", 2)]


def test_safe_is_resumed_only_when_asked_and_a_new_entry_is_answered_again():
    timeline = [(0, "mid_approach"), (100, "safe"), (4000, "mid_approach")]
    assert [s[1] for s in fly(GroundStation("g", {"response_s": 50.0}), timeline, 5000)] == ["go", "go"]
    sent = fly(GroundStation("g", {"response_s": 50.0, "resume_after_safe_s": 1800.0}), timeline, 5000)
    assert [(s[0], s[1]) for s in sent] == [(50.0, "go"), (1900.0, "resume"), (4050.0, "go")]


def test_a_script_is_sent_in_time_order_with_fresh_command_ids():
    station = GroundStation("g", {"go_at_gates": False, "script": "300:resume, 100:hold,500:abort:2"})
    sent = fly(station, [(0, "close_approach")], 1000)
    assert sent == [(100.0, "hold", 1), (300.0, "resume", 2), (500.0, "abort", 3)]


@pytest.mark.parametrize("bad", ["100", "x:go", "-5:go", "10:fly", "10:go:y", "1:go:2:3"])
def test_a_malformed_script_is_refused_at_configuration(bad):
    with pytest.raises(ValueError, match="ground script"):
        parse_script(bad)
