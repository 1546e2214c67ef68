"""Monte Carlo campaigns (hil.campaign): the fault draw, what the mission survives, the success
rules, resumption, crashes, and the same results on a Dask cluster as in one process."""
import json
from pathlib import Path
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hil import campaign, scenario
from hil.plant.config import parse_plant
from hil.plant.faults import parse_fault

# A run long enough for faults to start and clear mid-flight, short enough for the suite.
SHORT_S = 30.0


def close_range(tmp_path, seeds, faults="single", duration_s=SHORT_S):
    return campaign.plan(scenario.load("close-range"), seeds, faults, tmp_path, duration_s)


# -- the fault draw -----------------------------------------------------------------------------
seeds = st.integers(0, 2**32 - 1)
durations = st.floats(10.0, 48 * 3600.0)
modes = st.sampled_from(campaign.FAULT_MODES)


@given(seeds, durations, modes)
def test_the_same_seed_always_draws_the_same_schedule(seed, duration_s, mode):
    first = campaign.draw_faults(seed, duration_s, mode)
    assert campaign.draw_faults(seed, duration_s, mode) == first


@given(seeds, durations, modes)
def test_every_drawn_fault_is_one_the_plant_accepts_and_lies_within_the_run(seed, duration_s, mode):
    entries = campaign.draw_faults(seed, duration_s, mode)
    for e in entries:
        parse_fault(e)
        assert 0.0 <= e["t_s"] < duration_s
        assert e["t_s"] + e.get("duration_s", 0.0) <= duration_s
    assert [e["t_s"] for e in entries] == sorted(e["t_s"] for e in entries)
    json.dumps(entries)                                       # a plain record, for result.json


@given(seeds, durations)
def test_single_draws_one_fault_and_multi_two_to_four_each_with_at_most_its_clear(seed, duration_s):
    def faults(mode):
        return [e for e in campaign.draw_faults(seed, duration_s, mode)
                if not e["kind"].endswith("_clear")]
    assert campaign.draw_faults(seed, duration_s, "none") == []
    assert len(faults("single")) == 1
    assert campaign.MULTI_FAULTS[0] <= len(faults("multi")) <= campaign.MULTI_FAULTS[1]
    assert len(campaign.draw_faults(seed, duration_s, "single")) <= 2


def test_seeds_draw_different_schedules_covering_every_kind_both_transient_and_permanent():
    draws = [campaign.draw_faults(seed, 120.0, "single") for seed in range(200)]
    assert len({json.dumps(d) for d in draws}) == len(draws)
    assert {d[0]["kind"] for d in draws} == set(campaign.DRAWN_KINDS)
    permanent = [not campaign.episodes(d, 120.0)[0].end_s for d in draws]
    assert 0.35 < sum(permanent) / len(draws) < 0.65


def test_an_unknown_fault_mode_is_refused():
    with pytest.raises(ValueError, match="faults must be one of"):
        campaign.draw_faults(1, 60.0, "some")


def test_each_run_flies_its_seed_with_the_drawn_faults_appended_to_the_plant_schedule(tmp_path):
    base = scenario.load("close-range")
    runs = close_range(tmp_path, [3, 4])
    for run in runs:
        assert run.seed == run.scenario.seed and run.scenario.duration_s == SHORT_S
        assert run.folder == tmp_path / "close-range" / f"run-{run.seed}"
        plant = next(a for a in run.scenario.apps if a.name == "plant")
        assert plant.params["config"]["faults"] == list(run.faults)
        assert parse_plant(plant.params["config"]).faults
    # the scenario itself is left as it was
    assert "faults" not in next(a for a in base.apps if a.name == "plant").params["config"]


# -- which faults the mission survives ----------------------------------------------------------
def dropout(sensor, t=10.0, clear=None):
    return [{"t_s": t, "kind": "sensor_dropout", "sensor": sensor}] + (
        [] if clear is None else [{"t_s": clear, "kind": "sensor_clear", "sensor": sensor}])


def thruster(kind, index, t=10.0, clear=None):
    return [{"t_s": t, "kind": kind, "index": index}] + (
        [] if clear is None else [{"t_s": clear, "kind": "thruster_clear", "index": index}])


LINK = {"direction": "out", "topic": "sensor.camera.frame"}


@pytest.mark.parametrize("schedule, survivable", [
    (dropout("camera"), False),
    (dropout("camera", clear=50.0), True),
    (dropout("star_tracker"), False),
    (dropout("gyro"), False),
    (dropout("gnss"), True),
    (dropout("rangefinder"), True),
    ([{"t_s": 5.0, "kind": "sensor_freeze", "sensor": "camera"}], False),
    ([{"t_s": 5.0, "kind": "sensor_freeze", "sensor": "gnss"}], True),    # left out, as lost
    ([{"t_s": 5.0, "kind": "sensor_freeze", "sensor": "star_tracker"}], False),
    ([{"t_s": 5.0, "kind": "sensor_freeze", "sensor": "gnss"},
      {"t_s": 50.0, "kind": "sensor_clear", "sensor": "gnss"}], True),
    # a clear that comes only after the run's end does not end the fault
    (dropout("camera", clear=200.0), False),
    (thruster("thruster_stuck_off", 3), True),
    (thruster("thruster_stuck_off", 3) + thruster("thruster_stuck_off", 9), False),   # both +x
    (thruster("thruster_stuck_off", 3) + thruster("thruster_stuck_off", 4), True),    # +x, +y
    (thruster("thruster_stuck_off", 3) + thruster("thruster_stuck_off", 9, clear=60.0), True),
    ([{"t_s": 1.0, "kind": "thruster_degraded", "index": 0, "scale": 0.3}], True),
    (thruster("thruster_stuck_on", 5), True),                 # latched shut: one -z left
    (thruster("thruster_stuck_on", 5, clear=12.0), True),
    (thruster("thruster_stuck_on", 5) + thruster("thruster_stuck_off", campaign._partner(5)), False),
    ([{"t_s": 1.0, "kind": "link_loss", "p": 0.3, **LINK}], True),
    ([{"t_s": 1.0, "kind": "link_loss", **LINK}], False),
    ([{"t_s": 1.0, "kind": "link_loss", "duration_s": 30.0, **LINK}], True),
    ([{"t_s": 1.0, "kind": "link_corrupt", **LINK},
      {"t_s": 9.0, "kind": "link_clear", "direction": "out"}], True),
    ([{"t_s": 1.0, "kind": "link_delay", "delay_s": 2.0, **LINK}], True),
    ([{"t_s": 1.0, "kind": "link_delay", "delay_s": 30.0, **LINK}], False),
])
def test_the_faults_the_mission_survives_are_the_documented_ones(schedule, survivable):
    reasons = campaign.unrecoverable(schedule, 120.0)
    assert (not reasons) == survivable, reasons


def test_a_fault_replaced_on_its_unit_ends_where_the_other_begins():
    eps = campaign.episodes([*dropout("camera", t=10.0),
                             {"t_s": 20.0, "kind": "sensor_freeze", "sensor": "camera"},
                             {"t_s": 30.0, "kind": "sensor_clear", "sensor": "camera"}], 120.0)
    assert [(ep.kind, ep.start_s, ep.end_s) for ep in eps] == [
        ("sensor_dropout", 10.0, 20.0), ("sensor_freeze", 20.0, 30.0)]


def test_an_invalid_schedule_is_refused_with_the_plants_own_message():
    with pytest.raises(ValueError, match="index in 0..11"):
        campaign.unrecoverable(thruster("thruster_stuck_off", 12), 60.0)


# -- the success rules --------------------------------------------------------------------------
def summary(**kw):
    s = {"completed": True, "duration_s": 120.0, "phase_log": [[0.0, "close_approach"]],
         "final_phase": "close_approach", "health": {"mode": "nominal"},
         "keep_out_violations": {"episodes": 0}, "success": False,
         "success_criteria": {"detected_at_1900_km": None, "inspection_within_48_h": False,
                              "no_keep_out_violation": True, "departed_beyond_5_km": False},
         "delta_v_mps": {"executed": {"total": 0.1}}, "min_range_m": 900.0,
         "nav_error_pct_of_range": {"all": {"median": 1.0, "p95": 2.0, "samples": 10}}}
    return {**s, **kw}


@pytest.mark.parametrize("changes, success", [
    ({}, True),
    ({"health": {"mode": "degraded"}}, True),
    ({"health": {"mode": "fault"}}, False),
    ({"health": {"mode": "fault"}, "final_phase": "safe"}, True),
    ({"keep_out_violations": {"episodes": 1}}, False),
    ({"keep_out_violations": {"episodes": 1}, "final_phase": "safe"}, False),
    ({"nav_error_pct_of_range": {"all": {"median": 50.0, "p95": 5000.0}}}, False),
    ({"nav_error_pct_of_range": {"all": {"median": 50.0, "p95": 5000.0}}, "final_phase": "safe"},
     True),
    ({"nav_error_pct_of_range": {}}, True),
])
def test_a_piece_of_the_mission_succeeds_when_its_flight_was_safe(changes, success):
    result = campaign.figures(summary(**changes))
    assert result["success_rule"] == "flight" and result["success"] is success


def test_the_whole_mission_is_judged_by_its_own_criteria():
    mission = dict(duration_s=48 * 3600.0, phase_log=[[0.0, "commission"]])
    assert campaign.figures(summary(**mission))["success"] is False
    met = {"detected_at_1900_km": True, "inspection_within_48_h": True,
           "no_keep_out_violation": True, "departed_beyond_5_km": True}
    result = campaign.figures(summary(**mission, success=True, success_criteria=met))
    assert result["success_rule"] == "mission" and result["success"] is True
    # a whole-mission scenario cut short is judged as a piece of it
    assert campaign.figures(summary(phase_log=[[0.0, "commission"]]))["success_rule"] == "flight"


def test_the_report_gives_the_success_rate_overall_and_among_recoverable_runs():
    def result(seed, success, recoverable, kind):
        return {"scenario": "x", "seed": seed, "success": success, "recoverable": recoverable,
                "faults": [] if kind is None else [{"t_s": 1.0, "kind": kind, "sensor": "gyro"}],
                "crashed": False, "error": None, "success_rule": "flight",
                "criteria": {"completed": True, "ends_nominal_or_safe": success},
                "min_range_m": 100.0 + seed, "keep_out_violations": 0, "delta_v_mps": 0.5,
                "nav_error_pct_of_range": {"median": 1.0, "p95": 2.0}}
    figures = campaign.aggregate([result(1, True, True, None),
                                  result(2, False, False, "sensor_dropout"),
                                  result(3, True, True, "sensor_dropout"),
                                  result(4, False, True, "sensor_freeze")])
    assert figures["success_rate"] == 0.5 and figures["success_rate_recoverable"] == 2 / 3
    assert figures["by_fault_kind"] == {
        "none": {"runs": 1, "successes": 1, "success_rate": 1.0},
        "sensor_dropout": {"runs": 2, "successes": 1, "success_rate": 0.5},
        "sensor_freeze": {"runs": 1, "successes": 0, "success_rate": 0.0}}
    assert figures["failed"] == {"2": ["ends_nominal_or_safe"], "4": ["ends_nominal_or_safe"]}
    assert figures["min_range_m"]["min"] == 101.0 and figures["min_range_m"]["n"] == 4


# -- flying campaigns ---------------------------------------------------------------------------
def test_a_campaign_resumed_flies_only_the_runs_without_a_result(tmp_path):
    runs = close_range(tmp_path, [1, 2], faults="none", duration_s=5.0)
    first = campaign.run_campaign(runs)
    assert first.flown == [1, 2]
    assert all((run.folder / "result.json").is_file() for run in runs)
    again = campaign.run_campaign(runs)
    assert again.flown == [] and again.results == first.results
    (runs[1].folder / "result.json").unlink()
    assert campaign.run_campaign(runs).flown == [2]


def test_a_folder_holding_another_plans_result_is_refused_not_reused(tmp_path):
    campaign.run_campaign(close_range(tmp_path, [1], faults="none", duration_s=5.0))
    with pytest.raises(ValueError, match="another plan"):
        campaign.run_campaign(close_range(tmp_path, [1], faults="single", duration_s=5.0))


def test_a_crashed_run_is_a_crashed_result_and_the_campaign_goes_on(tmp_path):
    runs = close_range(tmp_path, [1, 2], faults="none", duration_s=5.0)
    bad = {"t_s": 1.0, "kind": "thruster_stuck_off", "index": 12}
    runs[0] = replace(runs[0], scenario=campaign.with_faults(runs[0].scenario, [bad]),
                      faults=(bad,))
    seen = []
    outcome = campaign.run_campaign(runs, on_result=lambda r, done, total: seen.append(done))
    crashed, flown = outcome.results
    assert crashed["crashed"] and "index in 0..11" in crashed["error"] and not crashed["success"]
    assert (runs[0].folder / "traceback.txt").is_file()
    assert not flown["crashed"] and flown["criteria"]["completed"]
    assert seen == [0, 1, 2]
    figures = campaign.aggregate(outcome.results)
    assert figures["crashed"] == {"1": crashed["error"]} and figures["failed"]["1"] == ["crashed"]
    # the crash is the run's result: resuming does not fly it again
    assert campaign.run_campaign(runs).flown == []


def test_a_campaign_on_two_dask_workers_gives_the_results_of_one_process(tmp_path):
    runs = close_range(tmp_path / "dask", [1, 2, 3])
    assert all(run.faults for run in runs)
    with campaign.dask_client(workers=2) as client:
        on_dask = campaign.run_campaign(runs, client)
    here = campaign.run_campaign(close_range(tmp_path / "here", [1, 2, 3]))
    assert [r["seed"] for r in on_dask.results] == [1, 2, 3]
    assert not any(r["crashed"] for r in on_dask.results)
    assert [campaign.comparable(r) for r in on_dask.results] == \
        [campaign.comparable(r) for r in here.results]
    assert all("wall_s" in r["timing"] and "wall_s" not in campaign.comparable(r)
               for r in here.results)


def test_a_cluster_whose_workers_import_another_build_is_refused_not_left_hanging(
        tmp_path, monkeypatch):
    # a checkout without compiled kernels first on the path (as a tool once put its checkout):
    # this process has the real build loaded already, workers spawned now would import the other
    import flightsw
    import flightsw.native
    shadow = tmp_path / "flightsw"
    shadow.mkdir()
    for name in ("__init__.py", "native.py"):
        (shadow / name).write_text((Path(flightsw.__file__).parent / name).read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    # without the probe a worker cannot load it (installed) or loads the real one's (editable)
    with pytest.raises(RuntimeError, match="cannot fly this campaign"):
        with campaign.dask_client(workers=1):
            pass
    # with the probe there, the worker says where it imports flightsw from
    (shadow / "runtime").mkdir()
    for name in ("__init__.py", "build.py"):
        (shadow / "runtime" / name).write_text(
            (Path(flightsw.__file__).parent / "runtime" / name).read_text())
    with pytest.raises(RuntimeError, match=f"cannot fly this campaign.*imports flightsw from "
                                           f"{shadow} "):
        with campaign.dask_client(workers=1):
            pass
