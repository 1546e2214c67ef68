"""The scenario's [run] table: its keys, and the telemetry period reaching every app."""
import pytest

from hil import scenario

APPS = [{"name": "health", "cls": "flightsw.health:HealthApp"},
        {"name": "timecard", "cls": "hil.clock:TimeCard", "rate_hz": 10.0}]


def doc(**run):
    return {"run": {"name": "x", "seed": 1, "duration_s": 60.0, **run}, "apps": APPS,
            "plant": {}}


def test_without_a_telemetry_period_every_app_reports_each_second():
    sc = scenario.parse(doc())
    assert [a.name for a in sc.apps] == ["plant", "health", "timecard"]
    assert {a.telemetry_period_s for a in sc.apps} == {1.0}


@pytest.mark.parametrize("period", [10, 0.25, 3600.0])
def test_the_telemetry_period_of_the_run_reaches_every_app_the_plant_included(period):
    sc = scenario.parse(doc(telemetry_period_s=period))
    assert [a.telemetry_period_s for a in sc.apps] == [float(period)] * 3
    assert all(a.telemetry_period_ns == round(period * 1e9) for a in sc.apps)


@pytest.mark.parametrize("bad", [0, -10.0, float("nan"), float("inf"), True, "10", 1e-12])
def test_a_telemetry_period_that_is_not_a_positive_time_is_refused(bad):
    with pytest.raises(ValueError, match="run.telemetry_period_s"):
        scenario.parse(doc(telemetry_period_s=bad))


def test_an_unknown_run_key_is_refused_rather_than_ignored():
    with pytest.raises(ValueError, match=r"unknown keys in \[run\]: \['telemetry_s'\]"):
        scenario.parse(doc(telemetry_s=10.0))


def test_every_builtin_scenario_still_loads():
    for name in scenario.builtin_names():
        assert scenario.load(name).apps
