"""Mission manager: the phase table, time-outs, safety falls and ground overrides."""
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from flightsw.guidance.mission import PHASES, MissionManager, Observations, Phase

H = 3600.0


def test_nominal_mission_walks_the_phases_with_ground_go_at_the_gates():
    m = MissionManager()
    t = 0.0
    assert m.update(t, Observations(attitude_valid=True)) is Phase.SEARCH
    assert m.update(t + 1, Observations(attitude_valid=True, track_confirmed=True, nav_valid=True)) is Phase.FAR_APPROACH
    assert m.update(t + 2, Observations(nav_valid=True, range_m=2.0e6)) is Phase.FAR_APPROACH
    assert m.update(t + 3, Observations(nav_valid=True, range_m=21e3)) is Phase.MID_APPROACH
    # the 1 km gate waits for ground
    assert m.update(t + 4, Observations(nav_valid=True, range_m=1000.0)) is Phase.MID_APPROACH
    assert m.command(t + 5, "go")[0]
    assert m.update(t + 6, Observations(nav_valid=True, range_m=1000.0)) is Phase.CLOSE_APPROACH
    # GO is consumed: the next gate needs another
    assert m.update(t + 7, Observations(nav_valid=True, range_m=300.0)) is Phase.CLOSE_APPROACH
    m.command(t + 8, "go")
    assert m.update(t + 9, Observations(nav_valid=True, range_m=300.0)) is Phase.INSPECT
    assert m.update(t + 10, Observations(nav_valid=True, range_m=150.0, coverage=0.97)) is Phase.DEPART
    assert m.update(t + 11, Observations(nav_valid=True, range_m=6000.0)) is Phase.SAFE
    assert [row[2] for row in m.log] == ["search", "far_approach", "mid_approach", "close_approach",
                                         "inspect", "depart", "safe"]


def test_a_phase_that_times_out_falls_to_safe():
    m = MissionManager()
    m.update(0.0, Observations(attitude_valid=True))
    assert m.update(PHASES[Phase.SEARCH].timeout_s + 1.0, Observations()) is Phase.SAFE
    assert m.log[-1][3] == "search timed out"


def test_hold_suspends_transitions_and_time_outs_until_resume():
    m = MissionManager()
    assert m.command(0.0, "hold")[0]
    assert m.update(10 * H, Observations(attitude_valid=True)) is Phase.COMMISSION
    assert m.command(10 * H, "resume")[0]
    assert m.update(10 * H + 1, Observations(attitude_valid=True)) is Phase.SEARCH


def test_navigation_divergence_in_proximity_requests_a_cam_and_safe_hold():
    m = MissionManager(phase=Phase.CLOSE_APPROACH)
    assert m.update(1.0, Observations(nav_valid=True, nav_diverged=True, range_m=800.0)) is Phase.SAFE
    assert m.cam_requested
    # far from the target a divergence is not a collision risk
    far = MissionManager(phase=Phase.FAR_APPROACH)
    assert far.update(1.0, Observations(nav_diverged=True, range_m=1e6)) is Phase.FAR_APPROACH


def test_abort_goes_safe_with_a_cam_and_resume_returns_to_the_phase():
    m = MissionManager(phase=Phase.INSPECT)
    ok, _ = m.command(5.0, "abort")
    assert ok and m.phase is Phase.SAFE and m.cam_requested
    ok, response = m.command(6.0, "resume")
    assert ok and m.phase is Phase.INSPECT and "inspect" in response
    assert m.time_in_phase_s(6.0) == 0.0


def test_unknown_and_inapplicable_commands_are_refused_with_a_reason():
    m = MissionManager()
    assert m.command(0.0, "launch") == (False, "unknown opcode 'launch'")
    assert m.command(0.0, "resume")[0] is False
    m.command(0.0, "abort")
    assert m.command(0.0, "go")[0] is False


LEGAL = {(p, r.next) for p, r in PHASES.items() if r.next} | {(p, Phase.SAFE) for p in Phase}


class MissionUnderAnyCommands(RuleBasedStateMachine):
    """Any interleaving of observations and ground commands keeps the machine legal."""

    def __init__(self):
        super().__init__()
        self.m = MissionManager()
        self.t = 0.0

    @rule(dt=st.floats(0.0, 20 * H), att=st.booleans(), track=st.booleans(), nav=st.booleans(),
          div=st.booleans(), rng=st.floats(10.0, 3e6), cov=st.floats(0.0, 1.0), cam=st.booleans())
    def observe(self, dt, att, track, nav, div, rng, cov, cam):
        self.t += dt
        before = self.m.phase
        after = self.m.update(self.t, Observations(att, track, nav, div, rng, cov, cam))
        assert before == after or (before, after) in LEGAL

    @rule(op=st.sampled_from(["go", "hold", "resume", "abort", "bogus"]))
    def command(self, op):
        before = self.m.phase
        ok, response = self.m.command(self.t, op)
        assert isinstance(response, str) and response
        if op == "abort":
            assert self.m.phase is Phase.SAFE and self.m.cam_requested
        elif before is not self.m.phase:
            assert op == "resume" and before is Phase.SAFE and ok

    @invariant()
    def legal_state(self):
        assert self.m.phase in Phase
        assert not (self.m.held and self.m.phase is Phase.SAFE)
        assert self.m.time_in_phase_s(self.t) >= 0.0


TestMissionUnderAnyCommands = MissionUnderAnyCommands.TestCase
TestMissionUnderAnyCommands.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
