"""Benchmark of the plant's truth dynamics against Basilisk, measured in the same run.

Our plant step: both spacecraft's orbits (two-body + J2, RK4 at the plant's ticks) and the
chaser's attitude (rigid body + 4 reaction wheels, RK4) advanced by one fixed step in ONE
compiled call (hil.plant.truth.PlantTruth, thrust turned into ECI inside the kernel), called
from Python once per step as the plant does; also timed: the same step as separate
Orbits.step + RigidBody.step calls. Baseline: Basilisk (`bsk` on PyPI) propagating ONE
spacecraft with J2 (its spherical-harmonics gravity to degree 2, RK4) at the same step, both as
one ExecuteSimulation over all steps (its fastest use) and stepped once per call (how a
lockstep plant would drive it). Target: >= 10x Basilisk's steps per second, against both.
Also reports how far Basilisk's orbit and ours drift apart over the run, as a check that both
compute the same physics.

Then the whole plant app (hil.plant.Plant built from the close-range scenario's [plant] table,
stepped alone with empty inboxes): wall time per step of the steps without a camera frame
(sensors, thrusters, truth: target well under 1 ms), the steps that render one reported
apart; and the per-call cost of each sensor and of the thrusters (no baseline).

Basilisk runs offline from <repo>/../shared/data/earth_J2_wgs84.txt; its simIncludeGravBody
helper is not imported (it makes a network request at import).

Prints a table, then one JSON object of the figures as the last line.
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flightsw.runtime.app import Inbox  # noqa: E402
from hil import scenario  # noqa: E402
from hil.attitude import ReactionWheels, RigidBody  # noqa: E402
from hil.constants import MU_EARTH_M3_S2, R_EARTH_M  # noqa: E402
from hil.orbit import Drag, Orbits, elements_to_rv, propagate  # noqa: E402
from hil.plant import Plant  # noqa: E402
from hil.plant.truth import PlantTruth  # noqa: E402
from hil.sensors import (GnssConfig, GnssReceiver, Gyro, GyroConfig, Rangefinder,  # noqa: E402
                         RangefinderConfig, StarTracker, StarTrackerConfig)
from hil.thrusters import N_THRUSTERS, ThrusterConfig, Thrusters  # noqa: E402

GRAVITY_FILE = REPO.parent / "shared" / "data" / "earth_J2_wgs84.txt"
TARGET_SPEEDUP = 10.0
PLANT_STEP_TARGET_US = 1000.0  # a whole plant step without a camera frame, 90th percentile


def initial_states():
    """Chaser and target on 500 km orbits, 51.6 deg, ~2000 km apart along track."""
    a = R_EARTH_M + 500e3
    chaser = np.concatenate(elements_to_rv(a, 1e-3, np.radians(51.6), 0.3, 0.2, 0.0))
    target = np.concatenate(elements_to_rv(a + 5e3, 1e-3, np.radians(51.6), 0.3, 0.2, 0.29))
    return np.array([chaser, target])


def chaser_body():
    inertia = np.array([[12.0, 0.3, -0.2], [0.3, 9.0, 0.1], [-0.2, 0.1, 7.0]])
    wheels = ReactionWheels.pyramid(spin_inertia_kgm2=0.01, max_torque_Nm=0.05,
                                    max_momentum_Nms=0.5)
    return RigidBody(inertia, wheels=wheels, omega_BN_B=[1e-3, -2e-3, 1.1e-3],
                     wheel_speed_rad_s=[30.0, -20.0, 15.0, 5.0])


def time_plant(n_steps, dt_s, drag):
    """Seconds for n_steps fused plant truth steps (both orbits + attitude in one call, as the
    plant app makes it), and the final orbit states."""
    orbits = Orbits(initial_states(), drag=drag)
    truth = PlantTruth(orbits, chaser_body())
    force_B = np.zeros(3)
    torque_B = np.zeros(3)
    wheel_cmd = np.array([1e-3, -1e-3, 2e-3, -2e-3])
    t0 = time.perf_counter()
    for _ in range(n_steps):
        truth.step(dt_s, force_B, 100.0, torque_B, wheel_cmd)
    return time.perf_counter() - t0, orbits.states_N


def time_separate_calls(n_steps, dt_s, drag):
    """time_plant with the orbits and the attitude stepped by their own calls."""
    orbits = Orbits(initial_states(), drag=drag)
    body = chaser_body()
    accel_N = np.zeros((2, 3))
    wheel_cmd = np.array([1e-3, -1e-3, 2e-3, -2e-3])
    torque_B = np.zeros(3)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        orbits.step(dt_s, accel_N)
        body.step(dt_s, wheel_cmd, torque_B)
    return time.perf_counter() - t0, orbits.states_N


def basilisk_sim(dt_s, r0, v0):
    """A Basilisk simulation of one spacecraft with J2 (RK4, its default), ready to run."""
    from Basilisk.simulation import gravityEffector, spacecraft
    from Basilisk.utilities import SimulationBaseClass, macros

    sim = SimulationBaseClass.SimBaseClass()
    process = sim.CreateNewProcess("dynamics")
    process.addTask(sim.CreateNewTask("step", macros.sec2nano(dt_s)))
    craft = spacecraft.Spacecraft()
    earth = gravityEffector.GravBodyData()
    earth.planetName = "earth_planet_data"
    earth.mu = MU_EARTH_M3_S2
    earth.radEquator = R_EARTH_M
    earth.isCentralBody = True
    earth.useSphericalHarmonicsGravityModel(str(GRAVITY_FILE), 2)
    craft.gravField.gravBodies = spacecraft.GravBodyVector([earth])
    craft.hub.r_CN_NInit = list(r0)
    craft.hub.v_CN_NInit = list(v0)
    sim.AddModelToTask("step", craft)
    sim.InitializeSimulation()
    return sim, craft, macros.sec2nano


def time_basilisk(n_steps, dt_s, lockstep):
    """Seconds for n_steps Basilisk steps, and its final [r, v] of the chaser."""
    r0v0 = initial_states()[0]
    sim, craft, sec2nano = basilisk_sim(dt_s, r0v0[:3], r0v0[3:])
    t0 = time.perf_counter()
    if lockstep:
        for k in range(1, n_steps + 1):
            sim.ConfigureStopTime(sec2nano(k * dt_s))
            sim.ExecuteSimulation()
    else:
        sim.ConfigureStopTime(sec2nano(n_steps * dt_s))
        sim.ExecuteSimulation()
    elapsed = time.perf_counter() - t0
    out = craft.scStateOutMsg.read()
    return elapsed, np.concatenate((out.r_BN_N, out.v_BN_N))


def best_rates(cases, repeats):
    """Best steps/s of each case over `repeats` rounds, the cases interleaved within a round so
    that load from other processes hits them alike; and each case's last output.

    cases: {name: (run, n_steps)} with run() -> (seconds, output)."""
    best = {name: 0.0 for name in cases}
    outputs = {}
    for _ in range(repeats):
        for name, (run, n_steps) in cases.items():
            elapsed, outputs[name] = run()
            best[name] = max(best[name], n_steps / elapsed)
    return best, outputs


def orbit_call_costs_us(repeats=2000):
    """Microseconds per call: `propagate` for one spacecraft over short steps, and a 6 h coast
    of both spacecraft in one `Orbits.step` (RK8 substeps of 30 s)."""
    r0v0 = initial_states()[0]
    costs = {}
    for dt in (0.1, 1.0, 10.0):
        propagate(r0v0[:3], r0v0[3:], dt)
        t0 = time.perf_counter()
        for _ in range(repeats):
            propagate(r0v0[:3], r0v0[3:], dt)
        costs[f"propagate_{dt:g}s_us"] = (time.perf_counter() - t0) / repeats * 1e6
    orbits = Orbits(initial_states())
    t0 = time.perf_counter()
    for _ in range(20):
        orbits.step(6 * 3600.0)
    costs["two_spacecraft_6h_coast_us"] = (time.perf_counter() - t0) / 20 * 1e6
    return costs


def plant_app_step_times(n_steps):
    """Wall seconds of each step of the plant app, split into steps without and with a camera
    frame, and the plant's step (s): the close-range scenario's plant, stepped alone from t = 0
    with empty inboxes."""
    sc = scenario.load("close-range")
    spec = next(app for app in sc.apps if app.name == "plant")
    plant = Plant("plant", spec.params, seed=sc.seed)
    plant.reset()
    inbox = Inbox([])
    without_frame, with_frame = [], []
    for k in range(n_steps):
        t_ns = k * plant.period_ns
        t0 = time.perf_counter()
        plant.step(t_ns, inbox)
        elapsed = time.perf_counter() - t0
        # step 0 also publishes the cue and compiles or loads the kernels: not a steady step
        if k > 0:
            (with_frame if t_ns % plant.camera_period_ns == 0 else without_frame).append(elapsed)
    return np.array(without_frame), np.array(with_frame), plant.period_ns * 1e-9


def per_call_costs_us(repeats=30, calls=200):
    """Best microseconds per call of each sensor's measure and of the thrusters' fire (idle
    and firing), on valid truth: a chaser in LEO, unblinded tracker, target 150 m ahead."""
    rng = np.random.default_rng(0)
    q_BN = np.array([1.0, 0.0, 0.0, 0.0])
    r_N, v_N = np.array([0.0, 0.0, 7.0e6]), np.array([7.5e3, 0.0, 0.0])
    sun_N, omega = np.array([0.0, 1.0, 0.0]), np.array([0.01, -0.02, 0.005])
    r_TB_N = np.array([0.0, 0.0, 150.0])
    sensors = {
        "star_tracker": (StarTracker(StarTrackerConfig(), rng), (q_BN, sun_N, r_N)),
        "gyro": (Gyro(GyroConfig(), rng), (omega,)),
        "gnss": (GnssReceiver(GnssConfig(), rng), (r_N, v_N)),
        "rangefinder": (Rangefinder(RangefinderConfig(), rng), (r_TB_N, q_BN, 0.5)),
    }
    rcs = Thrusters(ThrusterConfig(), rng)
    on = np.zeros(N_THRUSTERS)
    on[[3, 9]] = 0.05

    def sampling(sensor, truth):
        sample_times_ns = itertools.count(1)  # a sensor refuses a sample time that does not advance
        return lambda: sensor.measure(next(sample_times_ns), *truth, rng)

    calls_of = {f"{name}_measure_us": sampling(sensor, truth)
                for name, (sensor, truth) in sensors.items()}
    calls_of["thrusters_fire_idle_us"] = lambda: rcs.fire(np.zeros(N_THRUSTERS), 0.1, rng)
    calls_of["thrusters_fire_two_valves_us"] = lambda: rcs.fire(on, 0.1, rng)
    costs = {}
    for name, call in calls_of.items():
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(calls):
                call()
            best = min(best, (time.perf_counter() - t0) / calls)
        costs[name] = best * 1e6
    return costs


def basilisk_version():
    try:
        from importlib.metadata import version

        import Basilisk  # noqa: F401
        return version("bsk")
    except Exception as error:  # noqa: BLE001 - any import failure means: no baseline
        print(f"Basilisk (pip package 'bsk') is NOT available: {error!r}\n"
              "The baseline is skipped: install it with `pip install bsk` to compare.")
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20000, help="steps per timed run")
    parser.add_argument("--dt", type=float, default=1.0, help="fixed step (s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs, best kept")
    parser.add_argument("--plant-steps", type=int, default=600,
                        help="steps of the plant app (close-range: 0.1 s, a camera frame every "
                             "10th)")
    args = parser.parse_args()
    n, dt = args.steps, args.dt

    # warm-up: load the numba caches (or compile once) outside the timed runs
    for drag in (None, Drag(50.0)):
        time_plant(10, dt, drag)
        time_separate_calls(10, dt, drag)

    cases = {
        "plant": (lambda: time_plant(n, dt, None), n),
        "plant_drag": (lambda: time_plant(n, dt, [Drag(50.0), Drag(80.0)]), n),
        "separate": (lambda: time_separate_calls(n, dt, None), n),
    }
    version = basilisk_version()
    if version is not None and not GRAVITY_FILE.is_file():
        print(f"Basilisk's gravity file is missing ({GRAVITY_FILE}): the baseline is skipped.")
        version = None
    n_lock = max(1, n // 5)
    if version is not None:
        cases["bsk_batch"] = (lambda: time_basilisk(n, dt, False), n)
        cases["bsk_lockstep"] = (lambda: time_basilisk(n_lock, dt, True), n_lock)
    rates, outputs = best_rates(cases, args.repeats)
    plant_rate, drag_rate = rates["plant"], rates["plant_drag"]
    separate_rate = rates["separate"]
    bsk_batch_rate = rates.get("bsk_batch")
    bsk_lockstep_rate = rates.get("bsk_lockstep")
    agreement_m = None
    if version is not None:
        agreement_m = float(np.linalg.norm(outputs["bsk_batch"][:3] - outputs["plant"][0, :3]))
    call_costs = orbit_call_costs_us()
    sensor_costs = per_call_costs_us()
    without_frame_s, with_frame_s, plant_dt_s = plant_app_step_times(args.plant_steps)

    def ratio(baseline):
        return None if baseline is None else plant_rate / baseline

    rows = [
        ("ours: 2 orbits (J2) + attitude, one fused call", plant_rate, None),
        ("ours: the same with drag (as the plant runs)", drag_rate, None),
        ("ours: 2 orbits (J2) + attitude, separate calls", separate_rate, ratio(separate_rate)),
        ("Basilisk: 1 orbit (J2), one ExecuteSimulation", bsk_batch_rate, ratio(bsk_batch_rate)),
        ("Basilisk: 1 orbit (J2), per-step call", bsk_lockstep_rate, ratio(bsk_lockstep_rate)),
    ]
    print(f"\nplant truth dynamics, fixed step {dt:g} s, {n} steps, best of {args.repeats}")
    print(f"{'case':<50} {'steps/s':>12} {'fused / this':>13}")
    for name, rate, speedup in rows:
        rate_text = "n/a" if rate is None else f"{rate:12.0f}"
        speedup_text = "" if speedup is None else f"{speedup:12.1f}x"
        print(f"{name:<50} {rate_text:>12} {speedup_text:>13}")
    print("\norbit call costs (no baseline): " + ", ".join(
        f"{name} {value:.1f}" for name, value in call_costs.items()))
    print("sensor and thruster call costs, best (no baseline): " + ", ".join(
        f"{name} {value:.1f}" for name, value in sensor_costs.items()))
    plant_us = without_frame_s * 1e6
    print(f"\nplant app step (close-range, {args.plant_steps} steps of {plant_dt_s:g} s), "
          "wall time per step:")
    plant_p90_us = float(np.percentile(plant_us, 90))
    print(f"  {plant_us.size} steps without a camera frame: median {np.median(plant_us):.0f} us, "
          f"mean {plant_us.mean():.0f} us, 90th percentile {plant_p90_us:.0f} us")
    print(f"  {with_frame_s.size} steps rendering a camera frame: median "
          f"{np.median(with_frame_s) * 1e3:.1f} ms")
    verdict = "MET" if plant_p90_us < PLANT_STEP_TARGET_US else "NOT MET"
    print(f"target: a plant step without a frame < {PLANT_STEP_TARGET_US:g} us (90th "
          f"percentile): {verdict} ({plant_p90_us:.0f} us)")
    if version is None:
        print("Basilisk baseline: NOT RUN (see above); target not assessed")
    else:
        print(f"Basilisk {version}; chaser position ours vs Basilisk after {n * dt:g} s: "
              f"{agreement_m * 1e3:.4f} mm")
        for label, baseline in (("its own loop (one ExecuteSimulation)", bsk_batch_rate),
                                ("stepped once per call, as a lockstep plant is",
                                 bsk_lockstep_rate)):
            verdict = "MET" if ratio(baseline) >= TARGET_SPEEDUP else "NOT MET"
            print(f"target >= {TARGET_SPEEDUP:g}x Basilisk {label}: {verdict} "
                  f"({ratio(baseline):.1f}x)")

    print(json.dumps({
        "dt_s": dt,
        "steps": n,
        "plant_steps_per_s": round(plant_rate, 1),
        "plant_with_drag_steps_per_s": round(drag_rate, 1),
        "speedup_with_drag_vs_basilisk_batch": (None if bsk_batch_rate is None
                                                else round(drag_rate / bsk_batch_rate, 2)),
        "baseline": None if version is None else f"bsk {version}",
        "basilisk_batch_steps_per_s": None if bsk_batch_rate is None else round(bsk_batch_rate, 1),
        "basilisk_per_step_call_steps_per_s": (None if bsk_lockstep_rate is None
                                               else round(bsk_lockstep_rate, 1)),
        "speedup_vs_basilisk_batch": (None if bsk_batch_rate is None
                                      else round(ratio(bsk_batch_rate), 2)),
        "speedup_vs_basilisk_per_step_call": (None if bsk_lockstep_rate is None
                                              else round(ratio(bsk_lockstep_rate), 2)),
        "target_speedup": TARGET_SPEEDUP,
        "separate_calls_steps_per_s": round(separate_rate, 1),
        "speedup_vs_separate_calls": round(ratio(separate_rate), 2),
        "chaser_position_vs_basilisk_m": agreement_m,
        "plant_app_step_no_frame_median_us": round(float(np.median(plant_us)), 1),
        "plant_app_step_no_frame_mean_us": round(float(plant_us.mean()), 1),
        "plant_app_step_no_frame_p90_us": round(plant_p90_us, 1),
        "plant_app_step_target_us": PLANT_STEP_TARGET_US,
        "plant_app_step_with_frame_median_ms": round(float(np.median(with_frame_s)) * 1e3, 2),
        **{name: round(value, 2) for name, value in call_costs.items()},
        **{name: round(value, 2) for name, value in sensor_costs.items()},
    }))


if __name__ == "__main__":
    main()
