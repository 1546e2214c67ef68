"""Benchmark of the plant's truth dynamics against Basilisk, measured in the same run.

Our plant step: both spacecraft's orbits (two-body + J2, RK8) and the chaser's attitude (rigid
body + 4 reaction wheels, RK4) advanced by one fixed step, called from Python once per step as
the plant does. Baseline: Basilisk (`bsk` on PyPI) propagating ONE spacecraft with J2 (its
spherical-harmonics gravity to degree 2, RK4) at the same step, both as one ExecuteSimulation
over all steps (its fastest use) and stepped once per call (how a lockstep plant would drive
it). Target: >= 10x Basilisk's fastest steps per second. Also reports how far Basilisk's orbit
and ours drift apart over the run, as a check that both compute the same physics.

Basilisk runs offline from <repo>/../shared/data/earth_J2_wgs84.txt; its simIncludeGravBody
helper is not imported (it makes a network request at import).

Prints a table, then one JSON object of the figures as the last line.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hil.attitude import ReactionWheels, RigidBody  # noqa: E402
from hil.constants import MU_EARTH_M3_S2, R_EARTH_M  # noqa: E402
from hil.orbit import Drag, Orbits, elements_to_rv, propagate  # noqa: E402

GRAVITY_FILE = REPO.parent / "shared" / "data" / "earth_J2_wgs84.txt"
TARGET_SPEEDUP = 10.0


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
    """Seconds for n_steps plant steps (both orbits + attitude), and the final orbit states."""
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
    args = parser.parse_args()
    n, dt = args.steps, args.dt

    # warm-up: load the numba caches (or compile once) outside the timed runs
    time_plant(10, dt, None)
    time_plant(10, dt, Drag(50.0))

    cases = {
        "plant": (lambda: time_plant(n, dt, None), n),
        "plant_drag": (lambda: time_plant(n, dt, [Drag(50.0), Drag(80.0)]), n),
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
    bsk_batch_rate = rates.get("bsk_batch")
    bsk_lockstep_rate = rates.get("bsk_lockstep")
    agreement_m = None
    if version is not None:
        agreement_m = float(np.linalg.norm(outputs["bsk_batch"][:3] - outputs["plant"][0, :3]))
    call_costs = orbit_call_costs_us()

    def ratio(baseline):
        return None if baseline is None else plant_rate / baseline

    rows = [
        ("ours: 2 orbits (J2) + attitude, per-step call", plant_rate, None),
        ("ours: 2 orbits (J2 + drag) + attitude", drag_rate, None),
        ("Basilisk: 1 orbit (J2), one ExecuteSimulation", bsk_batch_rate, ratio(bsk_batch_rate)),
        ("Basilisk: 1 orbit (J2), per-step call", bsk_lockstep_rate, ratio(bsk_lockstep_rate)),
    ]
    print(f"\nplant truth dynamics, fixed step {dt:g} s, {n} steps, best of {args.repeats}")
    print(f"{'case':<50} {'steps/s':>12} {'ours / this':>12}")
    for name, rate, speedup in rows:
        rate_text = "n/a" if rate is None else f"{rate:12.0f}"
        speedup_text = "" if speedup is None else f"{speedup:11.1f}x"
        print(f"{name:<50} {rate_text:>12} {speedup_text:>12}")
    print("\norbit call costs (no baseline): " + ", ".join(
        f"{name} {value:.1f}" for name, value in call_costs.items()))
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
        "baseline": None if version is None else f"bsk {version}",
        "basilisk_batch_steps_per_s": None if bsk_batch_rate is None else round(bsk_batch_rate, 1),
        "basilisk_per_step_call_steps_per_s": (None if bsk_lockstep_rate is None
                                               else round(bsk_lockstep_rate, 1)),
        "speedup_vs_basilisk_batch": (None if bsk_batch_rate is None
                                      else round(ratio(bsk_batch_rate), 2)),
        "speedup_vs_basilisk_per_step_call": (None if bsk_lockstep_rate is None
                                              else round(ratio(bsk_lockstep_rate), 2)),
        "target_speedup": TARGET_SPEEDUP,
        "chaser_position_vs_basilisk_m": agreement_m,
        **{name: round(value, 2) for name, value in call_costs.items()},
    }))


if __name__ == "__main__":
    main()
