"""FDIR: the sensor monitors on synthetic streams; the thruster monitor against the plant (its
rigid body, RCS with faults, gyro and tachometers are the independent reference); the whole
vehicle answering a stuck-on thruster and a frozen gyro in close-range."""
import tomllib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.health.fdir import SensorMonitor
from flightsw.record import Recording
from flightsw.runtime.scheduler import InProcessRun
from hil import scenario
from hil.cli import run_scenario

NS = 1_000_000_000


# -- sensors ------------------------------------------------------------------------------------
def feed(mon, samples, period_s=1.0):
    """samples: (valid, reading bytes) at 1 per period; returns the findings with their time."""
    found = []
    for k, (valid, reading) in enumerate(samples):
        t = int(k * period_s * NS)
        mon.sample(t, valid, reading)
        found += [(k, f.fault) for f in mon.poll(t)]
    return found


def noisy(gen, n):
    return [(True, gen.standard_normal(3).tobytes()) for _ in range(n)]


def test_a_frozen_reading_is_declared_at_the_freeze_count_and_cleared_when_it_changes():
    gen = np.random.default_rng(1)
    live = noisy(gen, 10)
    stuck = [live[-1]] * 7                     # the 10th reading, repeated 7 more times
    mon = SensorMonitor("gyro", 5.0, 5, recover_count=3)
    found = feed(mon, live + stuck + noisy(gen, 5))
    # 5 identical in a row: the 10th and four repeats, at k = 13
    assert found == [(13, "sensor_freeze"), (19, "sensor_recovered")]


def test_dropout_counts_from_the_last_valid_sample_and_recovers_at_the_next():
    gen = np.random.default_rng(2)
    invalid = [(False, b"")] * 8
    mon = SensorMonitor("gnss", 5.0, 5)
    found = feed(mon, noisy(gen, 3) + invalid + noisy(gen, 2))
    # last valid at k = 2; more than 5 s without one at k = 8; valid again at k = 11
    assert found == [(8, "sensor_dropout"), (11, "sensor_recovered")]


def test_a_unit_never_heard_from_is_not_judged_and_silence_only_ignores_invalid_returns():
    mon = SensorMonitor("gyro", 1.0, 5)
    assert all(mon.poll(k * NS) == [] for k in range(10))
    lrf = SensorMonitor("rangefinder", 3.0, 5, silence_only=True)
    assert feed(lrf, [(False, b"")] * 20) == []          # no return, but it speaks


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(0, 2**32 - 1))
def test_a_live_noisy_unit_with_short_gaps_is_never_declared(valid_pattern, seed):
    """Gaps of invalid samples shorter than dropout_s, noisy readings: nothing to find."""
    gen = np.random.default_rng(seed)
    samples, run = [], 0
    for v in valid_pattern:
        run = 0 if v else run + 1
        samples.append((True, gen.standard_normal(3).tobytes()) if v or run > 3
                       else (False, b""))
    mon = SensorMonitor("star_tracker", 4.5, 3)
    assert feed(mon, [(True, gen.standard_normal(3).tobytes())] + samples) == []


# -- thrusters, against the plant ---------------------------------------------------------------
# the long missions' rates (victus-haze, mid-range): plant, control and gyro at 1 Hz
SLOW = {"rate_hz": 1.0, "params": {"control_period_s": 1.0, "actuation_delay_s": 1.0,
                                   "gyro_lag_s": 0.5, "thruster_window_s": 20.0}}


def close_range_doc(duration_s, faults, seed=None):
    """The close-range scenario's document, shortened, with a fault schedule."""
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    doc["run"]["duration_s"] = duration_s
    if seed is not None:
        doc["run"]["seed"] = seed
    doc["plant"]["faults"] = faults
    return doc


def fly_close_range(tmp_path, duration_s, faults):
    """The whole vehicle on close-range with faults: its recording, and FDIR's events as
    (t_s, fault, subject)."""
    sc = scenario.parse(close_range_doc(duration_s, faults), "close-range-faults")
    run_scenario(sc, tmp_path, "inproc", progress=False, plots=False)
    rec = Recording(tmp_path)
    ev = rec.arrays("health.fdir_event")
    return rec, list(zip(ev["t_ns"] / NS, ev["fault"], ev["subject"]))


def bench(faults, duration_s, seed=7, slow=False):
    """The plant, navigation (for the attitude) and health, with a pulser for control."""
    doc = close_range_doc(duration_s, faults, seed)
    doc["apps"] = [a for a in doc["apps"] if a["name"] in ("health", "nav")]
    doc["apps"][0]["params"]["monitored"] = "plant,health,nav,pulser"
    doc["apps"].append({"name": "pulser", "cls": "fdir_test_apps:Pulser"})
    if slow:
        doc["apps"][0]["rate_hz"] = 1.0
        doc["apps"][0]["params"].update(SLOW["params"])
        doc["apps"][0]["params"]["stale_after_s"] = 30.0
        doc["apps"][-1]["rate_hz"] = 1.0
        doc["plant"]["rate_hz"] = 1.0
        doc["plant"].setdefault("sensors", {})["gyro"] = {"rate_hz": 1.0}
    sc = scenario.parse(doc, "fdir-bench")
    run = InProcessRun(sc.apps, sc.seed, None)
    health = run.runners["health"].app
    events = []
    take = health._event

    def event(fault, subject, response, detail):
        events.append((run.t_ns / NS, fault, subject))
        take(fault, subject, response, detail)

    health._event = event
    run.run(int(duration_s * NS))
    return events, health, run.runners["plant"].app


@pytest.mark.parametrize("kind, index, scale, declared", [
    ("thruster_stuck_off", 4, None, "thruster_stuck_off"),
    ("thruster_stuck_off", 9, None, "thruster_stuck_off"),
    ("thruster_degraded", 1, 0.4, "thruster_degraded"),
    ("thruster_stuck_on", 6, None, "thruster_stuck_on"),
    ("thruster_stuck_on", 0, None, "thruster_stuck_on"),
])
def test_a_thruster_fault_is_isolated_to_its_thruster_and_kind(kind, index, scale, declared):
    fault = {"t_s": 20.0, "kind": kind, "index": index}
    if scale is not None:
        fault["scale"] = scale
    events, health, plant = bench([fault], 50.0)
    thr = [e for e in events if e[1].startswith("thruster")]
    assert thr and thr[0][1:] == (declared, f"thruster {index}"), events
    assert 20.0 < thr[0][0] < 35.0
    assert len(thr) == 1                       # nothing else blamed afterwards
    assert health.failed == 1 << index
    assert plant.thrusters.latched[index] == (kind == "thruster_stuck_on")
    assert plant.thrusters.latched.sum() == (kind == "thruster_stuck_on")


@pytest.mark.parametrize("first", ["thruster_stuck_off", "thruster_degraded"])
def test_a_thruster_declared_failed_off_that_then_sticks_on_is_latched_and_nothing_else_blamed(
        first):
    """Taken out of the allocation, the thruster is commanded nothing: its valve sticking open
    then is its own stuck-on signature (found by tests/e2e/test_fault_properties.py: it was
    left out of every fit, and the others were blamed one by one, the vehicle tumbling)."""
    fault = {"t_s": 20.0, "kind": first, "index": 4}
    if first == "thruster_degraded":
        fault["scale"] = 0.2
    events, health, plant = bench([fault, {"t_s": 45.0, "kind": "thruster_stuck_on", "index": 4}],
                                  75.0)
    thr = [e for e in events if e[1].startswith("thruster")]
    assert [e[1:] for e in thr] == [(first, "thruster 4"), ("thruster_stuck_on", "thruster 4")]
    assert 45.0 < thr[1][0] < 55.0
    assert health.failed == health.latched == 1 << 4
    assert list(np.flatnonzero(plant.thrusters.latched)) == [4]


@pytest.mark.parametrize("kind, pair", [("thruster_stuck_on", (1, 6)), ("thruster_stuck_on", (3, 11)),
                                        ("thruster_stuck_off", (4, 9))])
def test_two_thrusters_failing_at_the_same_instant_are_isolated_together(kind, pair):
    """Fitted one at a time, their summed torque looks like some third thruster's (found by
    tests/e2e/test_fault_properties.py): the pair round finds the two, and nothing else."""
    faults = [{"t_s": 20.0, "kind": kind, "index": i} for i in pair]
    events, health, plant = bench(faults, 50.0)
    thr = [e for e in events if e[1].startswith("thruster")]
    assert sorted(e[1:] for e in thr) == sorted((kind, f"thruster {i}") for i in pair), events
    assert all(20.0 < e[0] < 35.0 for e in thr)
    assert health.failed == sum(1 << i for i in pair)


@pytest.mark.parametrize("seed", [7, 8])
def test_healthy_thrusters_firing_for_minutes_are_never_blamed(seed):
    events, health, _ = bench([], 240.0, seed=seed)
    assert [e for e in events if e[1].startswith("thruster")] == []
    assert health.failed == 0


@pytest.mark.parametrize("kind, index", [("thruster_stuck_off", 2), ("thruster_stuck_on", 10),
                                         (None, None)])
def test_at_the_long_missions_1_hz_a_fault_is_isolated_and_health_is_not_blamed(kind, index):
    faults = [] if kind is None else [{"t_s": 60.0, "kind": kind, "index": index}]
    events, health, _ = bench(faults, 300.0, slow=True)
    thr = [e for e in events if e[1].startswith("thruster")]
    if kind is None:
        assert thr == [] and health.failed == 0
    else:
        assert [e[1:] for e in thr] == [(kind, f"thruster {index}")]
        assert 60.0 < thr[0][0] < 120.0


def test_responses_a_second_failed_thruster_aborts_and_a_recovered_sensor_clears():
    from flightsw.health.app import HealthApp
    from flightsw.health.fdir import Finding
    h = HealthApp("health", {})
    h.reset()
    h._thruster_finding(Finding("thruster_stuck_off", "thruster 2", 2))
    assert (h.failed, h.latched, h._response()) == (0b100, 0, "none")
    h._thruster_finding(Finding("thruster_stuck_on", "thruster 5", 5))
    assert (h.failed, h.latched, h._response()) == (0b100100, 0b100000, "abort")
    h._sensor_finding(Finding("sensor_dropout", "gnss"))
    assert h._excluded() == 0 and h._response() == "abort"
    h._sensor_finding(Finding("sensor_freeze", "camera"))
    assert h._excluded() == 1 << 4
    h._sensor_finding(Finding("sensor_recovered", "camera"))
    assert h._excluded() == 0 and h._response() == "abort"
    assert [e.fault for e in h.events] == ["thruster_stuck_off", "thruster_stuck_on",
                                           "sensor_dropout", "sensor_freeze", "sensor_recovered"]


# -- the vehicle's answer --------------------------------------------------------------------------
def test_close_range_answers_a_stuck_on_thruster_and_a_frozen_gyro(tmp_path):
    """The full vehicle: the stuck valve is latched shut and allocated around, the flight goes
    on; the frozen gyro is excluded from navigation and guidance goes to safe."""
    rec, seen = fly_close_range(tmp_path, 90.0, [
        {"t_s": 20.0, "kind": "thruster_stuck_on", "index": 3},
        {"t_s": 60.0, "kind": "sensor_freeze", "sensor": "gyro"}])
    assert [s[1:] for s in seen] == [("thruster_stuck_on", "thruster 3"), ("sensor_freeze", "gyro")]
    assert 20.0 < seen[0][0] < 24.0 and 60.0 < seen[1][0] < 62.0
    latch = rec.arrays("act.latch_valves")
    assert set(latch["closed_mask"]) == {1 << 3} and latch["t_ns"][0] / NS < seen[0][0] + 1.0
    status = rec.arrays("health.fdir")
    last = {k: status[k][-1] for k in ("thrusters_failed", "latches_closed", "sensors_excluded",
                                       "response")}
    assert last == {"thrusters_failed": 8, "latches_closed": 8, "sensors_excluded": 2,
                    "response": "safe"}
    # no pulse on the failed thruster once control has heard
    cmd = rec.arrays("act.thrusters")
    after = cmd["t_ns"] > seen[0][0] * NS + 0.5 * NS
    assert not any(on[3] > 0 for on, late in zip(cmd["on_time_s"], after) if late)
    mode = rec.arrays("guidance.mode")
    assert mode["phase"][-1] == "safe"
    assert set(mode["phase"][mode["t_ns"] < 60 * NS]) == {"close_approach"}


def test_close_range_holds_while_the_camera_is_frozen_and_carries_on_after(tmp_path):
    rec, seen = fly_close_range(tmp_path, 80.0, [
        {"t_s": 30.0, "kind": "sensor_freeze", "sensor": "camera"},
        {"t_s": 52.0, "kind": "sensor_clear", "sensor": "camera"}])
    # frames every 5 s: the first repeat is the frame at 30 s or 35 s, the first new one at 55 s
    assert [s[1:] for s in seen] == [("sensor_freeze", "camera"), ("sensor_recovered", "camera")]
    assert 30.0 <= seen[0][0] <= 38.0 and 55.0 <= seen[1][0] <= 60.0
    assert rec.arrays("detect.health")["frames_frozen"][-1] >= 4
    mode = rec.arrays("guidance.mode")
    t = mode["t_ns"] / NS
    held = mode["held"]
    assert held[(t > seen[0][0] + 2) & (t < seen[1][0])].all()
    assert not held[t > seen[1][0] + 2].any() and not held[t < seen[0][0]].any()
    assert set(mode["phase"]) == {"close_approach"}


@given(st.integers(1, 40), st.integers(1, 12), st.floats(1e-4, 1e-1), st.floats(0.0, 0.2),
       st.integers(0, 2**32 - 1))
def test_the_null_solver_is_the_direct_solve_of_the_null_covariance(K, N, sigma, beta, seed):
    from flightsw.health.fdir import null_solver
    rng = np.random.default_rng(seed)
    Gb = rng.standard_normal((3 * K, N)) * rng.uniform(0.0, 0.1)
    Gb[:, rng.random(N) < 0.3] = 0.0                  # thrusters not fired in the window
    X = rng.standard_normal((3 * K, 5))
    S = sigma ** 2 * np.eye(3 * K) + beta ** 2 * Gb @ Gb.T
    np.testing.assert_allclose(null_solver(sigma ** 2, beta ** 2, Gb)(X), np.linalg.solve(S, X),
                               rtol=1e-6, atol=1e-9 * np.abs(np.linalg.solve(S, X)).max())
