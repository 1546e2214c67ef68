"""The rpo command runs a scenario both ways and writes a run folder."""
import json

import pytest

from hil import scenario
from hil.cli import main


@pytest.mark.parametrize("topology", ["inproc", "zmq"])
def test_rpo_run_writes_recording_and_summary(tmp_path, topology, capsys):
    out = tmp_path / topology
    rc = main(["run", "runtime-check", "--topology", topology, "--duration-s", "5",
               "--out", str(out), "--quiet"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "runtime-check" and summary["seed"] == 1
    assert summary["messages"]["time.tone"] == 51
    assert summary["health"] == {"mode": "nominal", "restarts": 0, "stale_apps": ""}
    assert set(summary["step_time_us"]) == {"timecard", "health"}
    assert "timecard" in capsys.readouterr().out
    assert main(["inspect", str(out), "--topic", "health.status"]) == 0


def test_bad_scenarios_get_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nname = 'x'\nseed = -1\nduration_s = 1\n")
    assert main(["run", str(bad), "--quiet"]) == 2
    assert "seed" in capsys.readouterr().err
    bad.write_text("[run\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        scenario.load(str(bad))
    with pytest.raises(ValueError, match="no scenario"):
        scenario.load("no-such-scenario")


def test_unknown_app_parameter_is_rejected_before_anything_runs(tmp_path):
    doc = {"run": {"name": "x", "seed": 1, "duration_s": 1.0},
           "apps": [{"name": "health", "cls": "flightsw.health:HealthApp",
                     "params": {"stale_after": 3}}]}
    sc = scenario.parse(doc)
    with pytest.raises(ValueError, match="unknown parameters"):
        sc.apps[0].build(sc.seed)
