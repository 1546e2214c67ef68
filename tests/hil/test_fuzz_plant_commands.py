"""Hostile commands at the plant's actuator interfaces (thrusters, latch valves, wheels, camera
cadence and exposure): whatever arrives, the plant keeps stepping, its truth stays a physical
state, and what it refuses is counted — by the decoder (garbage) or by the plant (a thruster
window that opens after it arrives).
"""
import copy
import time
import tomllib
from importlib import resources

import msgpack
import numpy as np
from hypothesis import given, settings, strategies as st

from flightsw.msg import ThrusterCommand, decode, encode
from flightsw.msg.codec import topic_frame
from flightsw.runtime.runner import AppRunner
from hil.plant import Plant


def plant_runner(seed=1):
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    table = copy.deepcopy(doc["plant"])
    table["camera"].update({"rate_hz": 0.2, "n_rows": 64, "n_cols": 64, "fov_deg": 2.0})
    plant = Plant("plant", {"config": table}, seed=seed)
    return AppRunner(plant, report_period_ns=plant.period_ns)


def extremes(f):
    lo = -1e300 if f.lo is None else f.lo
    hi = 1e300 if f.hi is None else min(f.hi, 2**64 - 1)
    if f.kind == "i64":
        return st.sampled_from([int(lo), int(hi), 0, 1]) | st.integers(int(lo), int(hi))
    one = st.sampled_from([v for v in (lo, hi, 0.0, 1e-300) if lo <= v <= hi]) | st.floats(lo, hi)
    if f.kind == "f64":
        return one
    return (one.map(lambda v: np.full(f.shape, v))
            | st.lists(one, min_size=f.size, max_size=f.size).map(np.array))


commands = st.sampled_from(sorted(Plant.SUBSCRIBES, key=lambda c: c.TOPIC)).flatmap(
    lambda cls: st.fixed_dictionaries({f.name: extremes(f) for f in cls.FIELDS})
    .map(lambda values: cls(**values)))


def damaged(frames, kind):
    """Frames of a command the decoder must reject."""
    if kind == "cut":
        return [frames[0], frames[1], frames[2][: len(frames[2]) // 2]]
    if kind == "topic":
        return [topic_frame("act.everything"), *frames[1:]]
    values = msgpack.unpackb(frames[2])
    values[-1] = float("nan") if not isinstance(values[-1], list) else [float("nan")] * len(
        values[-1])
    return [frames[0], frames[1], msgpack.packb(values)]


def assert_physical(plant):
    states = plant.orbits.states_N
    body = plant.body
    assert np.isfinite(states).all()
    assert np.isfinite(body.omega_BN_B).all() and np.isfinite(body.wheel_momentum_Nms).all()
    assert abs(np.linalg.norm(body.q_BN) - 1.0) < 1e-9
    assert (np.linalg.norm(states[:, :3], axis=1) > 6.3e6).all()
    assert plant.thrusters.propellant_kg >= 0.0


@settings(max_examples=15)
@given(data=st.data())
def test_the_plant_under_any_commands_keeps_stepping_and_its_truth_stays_physical(data):
    runner = plant_runner()
    plant = runner.app
    seq = refused = rejected = 0
    for k in range(data.draw(st.integers(1, 10), label="steps")):
        t_ns = k * plant.period_ns
        newest, bad = {}, []
        for cmd in data.draw(st.lists(commands, max_size=3), label=f"step {k}"):
            frames = encode(cmd, seq, t_ns, "fuzz")
            seq += 1
            kind = data.draw(st.sampled_from(["as sent", "as sent", "cut", "topic", "nan"]))
            if kind == "as sent":
                newest[type(cmd)] = (frames, cmd)   # the plant keeps the newest of each kind
            else:
                bad.append(damaged(frames, kind))
        raw = [f for f, _ in newest.values()] + bad
        rejected += len(bad)
        thrust = newest.get(ThrusterCommand)
        refused += thrust is not None and thrust[1].t_start_ns > t_ns
        t0 = time.perf_counter()
        for frames in runner.run_step(t_ns, raw):
            decode(frames)                  # every output keeps its contract
        assert time.perf_counter() - t0 < 20.0
        assert (runner.step_faults, runner.outputs_rejected) == (0, 0), runner.last_error
        assert (plant.rejected, runner.decoder.n_rejected) == (refused, rejected)
        assert_physical(plant)
