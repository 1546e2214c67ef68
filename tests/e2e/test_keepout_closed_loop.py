"""The keep-out sphere in closed loop: the whole vehicle against the plant, from the 300 m hold
into the fly-around (inspect-range), nominal, with a thruster failed off, and with every burn
missed (all thrusters failed off: the controller fires, nothing comes out). In truth the chaser
never enters the sphere during the run, nor in a day of free drift after it."""
import tomllib
from importlib import resources

import numpy as np
import pytest

from flightsw.record import Recording
from hil import scenario
from hil.cli import run_scenario
from hil.orbit.propagate import propagate

KEEPOUT_M = 50.0
DURATION_S = 2100.0          # the fly-around is planned at ~300 s, its first burn near 1910 s (its
                             # ellipse phase, chosen for lighting, 30 deg past the hold's)
ALL_OFF = [{"t_s": 0.0, "kind": "thruster_stuck_off", "index": k} for k in range(12)]
CASES = {
    "nominal": [],
    "thruster 3 failed off": [{"t_s": 0.0, "kind": "thruster_stuck_off", "index": 3}],
    "every burn missed": ALL_OFF,
}


def inspect_range(faults):
    doc = tomllib.loads((resources.files("hil.scenarios") / "inspect-range.toml").read_text())
    doc["run"]["duration_s"] = DURATION_S
    doc["plant"]["faults"] = faults
    return scenario.parse(doc, "inspect-range with faults")


def free_drift_min_range_m(r_C, v_C, r_T, v_T, days=1.0, step_s=30.0):
    """Closest approach over a day of coast of both spacecraft (J2, no drag), every step_s."""
    closest = np.linalg.norm(r_T - r_C)
    for _ in range(int(days * 86400.0 / step_s)):
        r_C, v_C = propagate(r_C, v_C, step_s)
        r_T, v_T = propagate(r_T, v_T, step_s)
        closest = min(closest, np.linalg.norm(r_T - r_C))
    return closest


@pytest.mark.parametrize("case", CASES)
def test_keep_out_never_entered_in_closed_loop_nor_in_a_day_of_drift_after(case, tmp_path):
    summary = run_scenario(inspect_range(CASES[case]), tmp_path, "inproc", progress=False)
    rec = Recording(tmp_path)
    truth = rec.arrays("truth.state")
    rng = np.linalg.norm(truth["r_TN_N"] - truth["r_BN_N"], axis=1)
    assert rng.min() > KEEPOUT_M
    assert summary["keep_out_violations"]["samples"] == 0
    # the run flew the fly-around's entry: guidance commanded a burn and the controller fired
    assert summary["messages"].get("guidance.burn", 0) >= 1
    assert summary["messages"].get("act.thrusters", 0) > 0
    propellant = truth["propellant_kg"][0] - truth["propellant_kg"][-1]
    if case == "every burn missed":
        assert propellant == 0.0
    else:
        assert propellant > 0.0 and summary["delta_v_mps"]["executed"]["total"] > 0.01
    assert free_drift_min_range_m(truth["r_BN_N"][-1], truth["v_BN_N"][-1],
                                  truth["r_TN_N"][-1], truth["v_TN_N"][-1]) > KEEPOUT_M
