"""The runtime's reports on every app (health.app, health.app_timing) come at the scenario's
telemetry period, alike in both topologies."""
import pytest

from flightsw.msg import lookup
from flightsw.record import Recording
from flightsw.runtime.launcher import ProcessRun
from flightsw.runtime.scheduler import InProcessRun
from flightsw.runtime.topology import AppSpec

NS = 1_000_000_000
PERIOD_S = 2.5
END_S = 10

# rates that divide the period (10 Hz, 2 Hz), and one that does not (0.6 Hz)
SPECS = [
    AppSpec("camera", "runtime_test_apps:FrameSource", {"size_px": 16}, 2.0, PERIOD_S),
    AppSpec("timecard", "hil.clock:TimeCard", rate_hz=10.0, telemetry_period_s=PERIOD_S),
    AppSpec("consumer", "runtime_test_apps:FrameConsumer", rate_hz=0.6,
            telemetry_period_s=PERIOD_S),
    AppSpec("health", "flightsw.health:HealthApp",
            {"monitored": "camera,timecard,consumer,health", "stale_after_s": 6.0},
            telemetry_period_s=PERIOD_S),
]


def expected_reports_ns(rate_hz):
    """Report times by the rule, from the app's step times: at the first step at or after
    each multiple of the period."""
    period_ns = int(round(NS / rate_hz))
    steps = range(0, END_S * NS + 1, period_ns)
    multiples = range(0, END_S * NS + 1, int(PERIOD_S * NS))
    return sorted({min(s for s in steps if s >= m) for m in multiples
                   if any(s >= m for s in steps)}), list(steps)


def reports(run_dir, topic):
    cols = Recording(run_dir).arrays(topic)
    return {app: cols["t_ns"][cols["app"] == app] for app in set(cols["app"])}, cols


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("telemetry")
    run = InProcessRun(SPECS, 4, base / "inproc")
    run.run(END_S * NS)
    run.close()
    zrun = ProcessRun(SPECS, 4, base / "zmq")
    try:
        zrun.run(END_S * NS)
    finally:
        zrun.close()
    assert zrun.events == []
    return base / "inproc", base / "zmq"


@pytest.mark.parametrize("topology", [0, 1])
def test_every_app_reports_at_its_first_step_at_or_after_each_multiple_of_the_period(
        runs, topology):
    by_app, _ = reports(runs[topology], "health.app")
    timing, cols = reports(runs[topology], "health.app_timing")
    rates = {"camera": 2.0, "timecard": 10.0, "consumer": 0.6, "health": 5.0}
    assert set(by_app) == set(rates)
    for app, rate in rates.items():
        want, steps = expected_reports_ns(rate)
        assert list(by_app[app]) == want, app
        assert list(timing[app]) == want, app
        # each timing report covers the steps since the previous report
        counts = cols["steps"][cols["app"] == app]
        bounds = [-1] + want
        assert list(counts) == [sum(a < s <= b for s in steps)
                                for a, b in zip(bounds, bounds[1:])], app


def test_both_topologies_record_the_same_reports_and_stream(runs):
    def stream(run_dir):
        return [m for m in Recording(run_dir).messages() if not lookup(m[0]).WALL_CLOCK]
    a, b = stream(runs[0]), stream(runs[1])
    assert a == b and any(m[0] == "health.app" for m in a)
    status = Recording(runs[0]).arrays("health.status")
    assert set(status["mode"]) == {"nominal"}  # a longer period, and no app is seen as stale


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), True, "10", 1e-10])
def test_a_telemetry_period_that_is_not_a_positive_time_is_refused(bad):
    with pytest.raises(ValueError, match="telemetry period"):
        AppSpec("x", "hil.clock:TimeCard", telemetry_period_s=bad)


def test_the_default_period_is_one_second():
    assert AppSpec("x", "hil.clock:TimeCard").telemetry_period_ns == NS
    assert AppSpec("x", "hil.clock:TimeCard", telemetry_period_s=10).telemetry_period_ns == 10 * NS
