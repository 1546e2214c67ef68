"""The plant app: truth consistent with the orbit model, actuators move it, sensors and faults."""
import copy
import tomllib
from importlib import resources

import numpy as np
import pytest

from flightsw.msg import GnssFix, TargetCue, ThrusterCommand, TruthState
from flightsw.runtime.app import Inbox
from hil.orbit import propagate
from hil.plant import Plant

NS = 1_000_000_000


def plant_table(**camera):
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    table = copy.deepcopy(doc["plant"])
    table["camera"].update({"rate_hz": 0.2, "n_rows": 128, "n_cols": 128, "fov_deg": 2.0})
    table["camera"].update(camera)
    return table


def run(plant, seconds, commands=()):
    """Step the plant alone; ``commands`` maps step index -> list of (envelope, message)."""
    out = []
    commands = dict(commands)
    for k in range(int(seconds * NS // plant.period_ns) + 1):
        t = k * plant.period_ns
        out += [(t, m) for m in plant.step(t, Inbox(commands.get(k, [])))]
    return out


def of(out, cls):
    return [(t, m) for t, m in out if type(m) is cls]


def test_coasting_truth_matches_the_orbit_model_from_the_same_start():
    plant = Plant("plant", {"config": plant_table()}, seed=3)
    plant.reset()
    out = run(plant, 20)
    truth = of(out, TruthState)
    r0, v0 = truth[0][1].r_TN_N, truth[0][1].v_TN_N
    at_20s = [m for t, m in truth if t == 20 * NS][0]
    r, v = propagate(r0, v0, 20.0)
    # the plant integrates with drag; over 20 s drag moves the target by well under a metre
    assert np.linalg.norm(at_20s.r_TN_N - r) < 0.5


def test_truth_target_is_the_plan_dispersed_by_the_cue_covariance():
    misses = []
    for seed in range(30):
        plant = Plant("plant", {"config": plant_table()}, seed=seed)
        plant.reset()
        out = run(plant, 0)
        cue = of(out, TargetCue)[0][1]
        truth = of(out, TruthState)[0][1]
        d = np.r_[truth.r_TN_N - cue.r_TN_N, truth.v_TN_N - cue.v_TN_N]
        misses.append(d @ np.linalg.solve(cue.P_rv, d))
    # Mahalanobis distances of 30 draws from a 6-D Gaussian: chi-square(6), mean 6
    assert 3.5 < np.mean(misses) < 9.0


def test_a_thruster_burn_changes_velocity_by_impulse_over_mass():
    plant = Plant("plant", {"config": plant_table()}, seed=1)
    plant.reset()
    # T04 and T10 push +x with cancelling moments (reference layout): 0.1 s each, every step
    on = np.zeros(12)
    on[[3, 9]] = 0.1
    cmds = {k: [(None, ThrusterCommand(t_start_ns=k * plant.period_ns, on_time_s=on))]
            for k in range(0, 50)}
    coast = Plant("plant", {"config": plant_table()}, seed=1)
    coast.reset()
    burn_truth = of(run(plant, 6, cmds), TruthState)[-1][1]
    coast_truth = of(run(coast, 6), TruthState)[-1][1]
    dv = burn_truth.v_BN_N - coast_truth.v_BN_N
    # 2 x 1 N for 5 s on 100 kg: 0.1 m/s, less the opening losses, plus the build errors (3%)
    assert 0.085 < np.linalg.norm(dv) < 0.11
    assert coast_truth.propellant_kg - burn_truth.propellant_kg == pytest.approx(
        10.0 / (220.0 * 9.80665), rel=0.15)


def test_sensors_publish_at_their_rates_and_a_scheduled_dropout_invalidates_gnss():
    table = plant_table()
    table["faults"] = [{"t_s": 5.0, "kind": "sensor_dropout", "sensor": "gnss"}]
    plant = Plant("plant", {"config": table}, seed=2)
    plant.reset()
    out = run(plant, 10)
    fixes = of(out, GnssFix)
    assert 9 <= len(fixes) <= 11
    valid = {m.t_meas_ns // NS: m.valid for _, m in fixes}
    assert all(valid[s] for s in range(0, 5)) and not any(valid[s] for s in range(5, 10))


def test_same_seed_same_truth_and_frames_other_seed_different():
    def frames_and_truth(seed):
        plant = Plant("plant", {"config": plant_table()}, seed=seed)
        plant.reset()
        out = run(plant, 5)
        return ([m.image for _, m in out if hasattr(m, "image")],
                np.array([m.r_BN_N for _, m in of(out, TruthState)]))
    (fa, ta), (fb, tb), (fc, tc) = frames_and_truth(4), frames_and_truth(4), frames_and_truth(5)
    assert all(np.array_equal(a, b) for a, b in zip(fa, fb)) and np.array_equal(ta, tb)
    assert not np.array_equal(fa[0], fc[0])


@pytest.mark.parametrize("patch, match", [
    ({"rate_hz": -1}, "rate_hz"),
    ({"bogus": 1}, "unknown keys"),
    ({"faults": [{"t_s": 1, "kind": "meteor"}]}, "kind"),
    ({"faults": [{"t_s": 1, "kind": "thruster_stuck_off", "index": 12}]}, "index"),
    ({"camera": {"exposure_s": -0.1}}, "exposure_s"),
])
def test_bad_plant_configuration_is_rejected_with_the_key_named(patch, match):
    table = plant_table()
    table.update(patch)
    with pytest.raises(ValueError, match=match):
        Plant("plant", {"config": table})
