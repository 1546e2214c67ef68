"""Passively safe mid- and close-range approach: hold points and transfers between them.

Each hold is a relative orbit with no drift, an along-track offset behind the target and
parallel relative e and i vectors (passive_safety.parallel_ei_roe), so the chaser can stay on
it with no propulsion, lose its navigation or miss a burn without reaching the target. A
transfer to the next hold is two pairs of in-plane impulses half an orbit apart at the latitude
of the e vector, plus two cross-track ones for the i vector (maneuvers.transfer_burn_times;
the pattern of the closed-form reconfigurations of Gaias & D'Amico 2015): the first pair starts a slow drift (a small da) towards the next hold, the second stops it and
sets the next hold's e/i amplitudes. The drift is kept slow — |a da| at most a fraction of
the smaller e/i amplitude less the keep-out radius — so the R-N ellipse keeps clear of the along-track axis while the
chaser drifts; every transfer is checked (passive_safety.check_plan) before it is returned,
and a slower one is tried when a check fails.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.keepout import DEFAULT_KEEPOUT_M
from flightsw.guidance.maneuvers import solve_impulses, total_dv, transfer_burn_times
from flightsw.guidance.passive_safety import SafetyCheck, check_plan, parallel_ei_roe
from flightsw.guidance.roe import MeanOrbit

# (along-track m, radial amplitude m, cross-track amplitude m) of the default hold points
HOLD_POINTS_M = ((-20000.0, 1000.0, 1000.0), (-5000.0, 500.0, 500.0), (-1000.0, 200.0, 200.0),
                 (-300.0, 100.0, 100.0))
# largest |a da| during a transfer, as a fraction of the smaller e/i amplitude less the
# keep-out radius: the R-N ellipse, shifted radially by a da, then still clears the sphere
DRIFT_FRACTION = 0.6
MAX_TRANSFER_ORBITS = 24


@dataclass(frozen=True)
class Transfer:
    """A checked transfer: burns, when the target ROE are reached (s), delta-v, its check."""

    burns: tuple
    t_arrival_s: float
    dv_m_s: float
    check: SafetyCheck


def hold_roe(hold, phase_rad, a_m) -> np.ndarray:
    """ROE of a hold point (along-track, radial amplitude, cross-track amplitude, all m)."""
    along, radial, normal = hold
    return parallel_ei_roe(along, radial, normal, phase_rad, a_m)


def hold_aim(hold, roe, a_m, samples=360) -> np.ndarray:
    """ROE of a hold point (along-track, radial and cross-track amplitudes, m) whose e/i phase
    and i-vector side are the cheapest to reach from the ROE roe: least |d(de)|/2 + |d(di)|,
    the delta-v of a tangential pair and of a cross-track impulse per unit change, both in
    units of n a (D'Amico 2010, eq. 2.38), over a grid of phases and both sides."""
    along, radial, normal = hold
    phase = np.linspace(0.0, 2.0 * np.pi, samples, endpoint=False)
    direction = np.column_stack([np.cos(phase), np.sin(phase)])
    roe = np.asarray(roe, dtype=np.float64)
    cost_e = 0.5 * np.linalg.norm(radial / a_m * direction - roe[2:4], axis=1)
    best = None
    for side in (1.0, -1.0):
        cost = cost_e + np.linalg.norm(side * normal / a_m * direction - roe[4:6], axis=1)
        k = int(np.argmin(cost))
        if best is None or cost[k] < best[0]:
            best = (cost[k], phase[k], side)
    return parallel_ei_roe(along, radial, best[2] * normal, best[1], a_m)


def plan_transfer(chief0: MeanOrbit, roe0, roe_target, t_start_s=0.0, keepout_m=DEFAULT_KEEPOUT_M,
                  P_roe=None, min_orbits=1) -> Transfer:
    """A passively safe transfer from roe0 (at the epoch) to roe_target, first burn at or after
    t_start_s (s). Raises ValueError if no transfer up to MAX_TRANSFER_ORBITS is safe."""
    roe0 = np.asarray(roe0, dtype=np.float64)
    roe_target = np.asarray(roe_target, dtype=np.float64)
    a = float(chief0.a_m)
    along_m = a * abs(roe_target[1] - roe0[1])
    amplitude_m = a * min(np.linalg.norm(roe0[2:4]), np.linalg.norm(roe0[4:6]),
                          np.linalg.norm(roe_target[2:4]), np.linalg.norm(roe_target[4:6]))
    # drift per orbit at the allowed da: 3 pi a da
    per_orbit_m = 3.0 * np.pi * DRIFT_FRACTION * max(amplitude_m - keepout_m, 0.2 * keepout_m)
    orbits = max(min_orbits, int(np.ceil(along_m / per_orbit_m)))
    last = None
    while orbits <= MAX_TRANSFER_ORBITS:
        times, axes, t_final = transfer_burn_times(chief0, roe0, roe_target, t_start_s, orbits)
        burns = solve_impulses(chief0, roe0, roe_target, t_final, times, axes)
        check = check_plan(chief0, roe0, burns, t_final, keepout_m, P_roe=P_roe)
        last = Transfer(tuple(burns), float(t_final), total_dv(burns), check)
        if check.ok:
            return last
        orbits = int(np.ceil(1.5 * orbits))
    if last is None:
        raise ValueError(f"a transfer over {along_m:.0f} m needs more than {MAX_TRANSFER_ORBITS} orbits")
    raise ValueError(f"no passively safe transfer found; last try {last.check}")
