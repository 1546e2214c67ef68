"""Passively safe mid- and close-range approach: hold points and transfers between them.

Each hold is a relative orbit with no drift, an along-track offset behind the target and
parallel relative e and i vectors (passive_safety.parallel_ei_roe), so the chaser can stay on
it with no propulsion, lose its navigation or miss a burn without reaching the target. A
transfer to the next hold is two pairs of in-plane impulses half an orbit apart at the latitude
of the e vector, plus two cross-track ones for the i vector (maneuvers.transfer_burn_times;
the pattern of the closed-form reconfigurations of Gaias & D'Amico 2015): the first pair starts a drift (a da) towards the next hold, the second stops it and
sets the next hold's e/i amplitudes. The transfer is the fastest one that is passively safe:
the planner tries one orbit of drift, then two, and so on, and returns the first whose check
(passive_safety.check_plan: the plan and a day of drift after it, every burn missed in turn,
and the R-N separation at each burn) passes. A faster drift is a larger |a da|, which shifts
the R-N ellipse radially; the check, not a rule of thumb, judges whether the chaser still
clears the sphere when it passes the target. The mission's 48 h leave no room for slower
transfers than safety needs (the fastest costs ~1.5x the delta-v of a drift at 0.6 of the
e/i amplitude, a few m/s over the whole approach).
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.keepout import DEFAULT_KEEPOUT_M
from flightsw.guidance.maneuvers import Burn, solve_impulses, total_dv, transfer_burn_times
from flightsw.guidance.passive_safety import SafetyCheck, check_plan, parallel_ei_roe
from flightsw.guidance.roe import MeanOrbit

# (along-track m, radial amplitude m, cross-track amplitude m) of the default hold points: the
# e/i separation shrinks only where the range does (the 5 km hold keeps the 20 km hold's
# 1000 m, the 1 km hold has 300 m), so each transfer can drift fast and still pass the target
# clear of the sphere if its last burns are missed
HOLD_POINTS_M = ((-20000.0, 1000.0, 1000.0), (-5000.0, 1000.0, 1000.0), (-1000.0, 300.0, 300.0),
                 (-300.0, 100.0, 100.0))
MAX_TRANSFER_ORBITS = 24
# the R-N separation a planned transfer's orbits must have, as a multiple of the keep-out
# radius: the margin for the burns' execution errors (a few per cent of each impulse) over the
# radius the pre-burn check holds the executed orbits to
RN_PLAN_MARGIN = 1.5


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
                  P_roe=None, min_orbits=1, max_burn_dv_mps=None) -> Transfer:
    """The fastest passively safe transfer, of at least min_orbits orbits of drift, from roe0
    (at the epoch) to roe_target, first burn at or after t_start_s (s), no impulse over
    max_burn_dv_mps (a faster transfer's larger drift burns would fly as long arcs: vh23's
    one-orbit transfer from a fast drift took 16.6 m/s in 5 m/s, 21 min burns, and navigation
    diverged after them; more orbits of drift need smaller ones). Raises ValueError if no
    transfer up to MAX_TRANSFER_ORBITS is safe and within the cap."""
    roe0 = np.asarray(roe0, dtype=np.float64)
    roe_target = np.asarray(roe_target, dtype=np.float64)
    a = float(chief0.a_m)
    along_m = a * abs(roe_target[1] - roe0[1])
    orbits = max(int(min_orbits), 1)
    last = None
    while orbits <= MAX_TRANSFER_ORBITS:
        times, axes, t_final = transfer_burn_times(chief0, roe0, roe_target, t_start_s, orbits)
        burns = solve_impulses(chief0, roe0, roe_target, t_final, times, axes)
        last, why = _checked(chief0, roe0, burns, t_final, keepout_m, P_roe, max_burn_dv_mps)
        if not why:
            return last
        orbits += 1
    if last is None:
        raise ValueError(f"a transfer over {along_m:.0f} m needs more than {MAX_TRANSFER_ORBITS} orbits "
                         f"(min_orbits {min_orbits})")
    raise ValueError(f"no passively safe transfer within the burn cap found; the last try {why}")


def retarget_transfer(chief0: MeanOrbit, roe0, roe_target, burns, t_final_s,
                      keepout_m=DEFAULT_KEEPOUT_M, P_roe=None, max_burn_dv_mps=None) -> Transfer:
    """A transfer already under way corrected on its own schedule: the impulses of its burns
    still ahead (``burns``, s after the epoch of roe0, on their axes: in-plane ones radial +
    tangential, cross-track ones normal) re-solved to reach roe_target at the same t_final_s.
    A re-plan from scratch would start the transfer over (the first pair at the next e
    latitude, the drift orbits again: +2-4 h each time in victus-haze). With fewer than two
    cross-track burns left the i vector is left as it is (one impulse moves it along one line
    only) and only the in-plane ROE are reached; with one in-plane burn left, one is added
    half an orbit after it and the arrival moved there. Raises ValueError if no in-plane burn
    is left, the burns cannot reach the target, or the result is not passively safe or is
    over the cap."""
    burns = sorted(burns, key=lambda b: b.t_s)
    is_cross = [bool(abs(b.dv_rtn[2]) > 0.0 and not np.any(b.dv_rtn[:2])) for b in burns]
    steer_i = sum(is_cross) >= 2
    keep = [(b, c) for b, c in zip(burns, is_cross) if steer_i or not c]
    in_plane = sum(1 for _, c in keep if not c)
    if in_plane == 0:
        raise ValueError("no in-plane burn left: too few to re-target")
    if in_plane == 1:
        # the last burn of the pair alone cannot reach the four in-plane ROE: one more half an
        # orbit after it (the pattern's own spacing), the arrival moved there — half an orbit
        # late rather than a new transfer's two or three orbits
        last = max(b.t_s for b, c in keep if not c)
        t_final_s = max(t_final_s, last + np.pi / float(chief0.n_rad_s))
        keep.append((Burn(t_final_s, np.zeros(3)), False))
    axes = [(2,) if c else (0, 1) for _, c in keep]
    components = (0, 1, 2, 3, 4, 5) if steer_i else (0, 1, 2, 3)
    solved = solve_impulses(chief0, roe0, roe_target, t_final_s, [b.t_s for b, _ in keep], axes,
                            components)
    transfer, why = _checked(chief0, roe0, solved, t_final_s, keepout_m, P_roe, max_burn_dv_mps)
    if why:
        raise ValueError(f"the re-targeted transfer {why}")
    return transfer


def _checked(chief0, roe0, burns, t_final_s, keepout_m, P_roe, max_burn_dv_mps):
    """(Transfer, why it is refused or ''): passive_safety.check_plan with the R-N separation
    of RN_PLAN_MARGIN x the keep-out radius, and no impulse over max_burn_dv_mps."""
    check = check_plan(chief0, roe0, burns, t_final_s, keepout_m, P_roe=P_roe,
                       rn_required_m=RN_PLAN_MARGIN * keepout_m)
    transfer = Transfer(tuple(burns), float(t_final_s), total_dv(burns), check)
    worst = max(b.dv_m_s for b in burns)
    if not check.ok:
        return transfer, f"is not passively safe: {check}"
    if max_burn_dv_mps is not None and worst > max_burn_dv_mps:
        return transfer, f"needs a {worst:.2f} m/s burn, over the {max_burn_dv_mps:.2f} m/s cap"
    return transfer, ""
