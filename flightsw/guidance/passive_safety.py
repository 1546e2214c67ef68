"""Passive safety by relative eccentricity/inclination vector separation.

With the relative e and i vectors parallel (or anti-parallel), the chaser's motion projected on
the plane normal to the flight direction (radial R, cross-track N) is an ellipse that never
crosses the along-track axis, so an along-track drift — the dominant uncertainty of
angles-only navigation, and the effect of a missed burn — cannot bring it onto the target
(D'Amico & Montenbruck, "Proximity Operations of Formation-Flying Spacecraft Using an
Eccentricity/Inclination Vector Separation", JGCD 29(3), 2006). Their eq. 19 gives the minimum
R-N distance of the ellipse, a*sqrt(2)|de . di| / sqrt(de^2 + di^2 + |de + di||de - di|); with a
relative semi-major axis the ellipse's radial centre moves by a*da and the minimum is taken
numerically.

A plan is passively safe here when (a) its predicted free motion, including a missed burn's,
stays outside the keep-out sphere over the horizon (24 h by default), and (b) its R-N
separation exceeds the keep-out radius, so the along-track error of the navigation cannot
matter.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.keepout import DEFAULT_KEEPOUT_M, closest_approach
from flightsw.guidance.maneuvers import predict_roe
from flightsw.guidance.roe import MeanOrbit

DAY_S = 86400.0


def ei_min_distance_m(roe, a_m) -> float:
    """Minimum R-N plane distance (m) of the relative orbit, da = 0 (D'Amico & Montenbruck
    2006, eq. 19)."""
    de, di = np.asarray(roe[2:4]), np.asarray(roe[4:6])
    denom = np.sqrt(de @ de + di @ di + np.linalg.norm(de + di) * np.linalg.norm(de - di))
    return float(a_m * np.sqrt(2.0) * abs(de @ di) / denom) if denom > 0.0 else 0.0


def rn_min_distance_m(roe, a_m, samples=720) -> float:
    """Minimum over one orbit of the R-N plane distance (m), with the radial offset a*da."""
    da, _, dex, dey, dix, diy = np.asarray(roe, dtype=np.float64)
    u = np.linspace(0.0, 2.0 * np.pi, samples, endpoint=False)
    r_R = da - dex * np.cos(u) - dey * np.sin(u)
    r_N = dix * np.sin(u) - diy * np.cos(u)
    return float(a_m * np.min(np.hypot(r_R, r_N)))


def parallel_ei_roe(along_track_m, radial_m, normal_m, phase_rad, a_m) -> np.ndarray:
    """ROE of a passively safe hold: no drift, along-track offset, e and i vectors parallel at
    ``phase_rad`` with magnitudes radial_m/a and normal_m/a (a negative normal_m makes them
    anti-parallel, equally safe)."""
    e_dir = np.array([np.cos(phase_rad), np.sin(phase_rad)])
    return np.concatenate([[0.0, along_track_m / a_m], radial_m / a_m * e_dir,
                           normal_m / a_m * e_dir])


def ei_side(roe) -> float:
    """+1 when the relative i vector is parallel to the e vector (de . di >= 0), -1 when
    anti-parallel: the side of the R-N ellipse a fly-around flip reverses."""
    roe = np.asarray(roe, dtype=np.float64)
    return 1.0 if roe[2:4] @ roe[4:6] >= 0.0 else -1.0


@dataclass(frozen=True)
class SafetyCheck:
    """Result of checking one plan: the planned trajectory, the free drift if each burn is
    missed (the worst of them), and the R-N separation of every drift arc."""

    planned_min_m: float
    missed_burn_min_m: float
    rn_min_m: float
    ok: bool


def check_plan(chief0: MeanOrbit, roe0, burns, plan_end_s, keepout_m=DEFAULT_KEEPOUT_M,
               drift_s=DAY_S, step_s=10.0, P_roe=None, k_sigma=3.0, require_ei=True,
               rn_required_m=None) -> SafetyCheck:
    """Check a plan before executing it (module docstring).

    Planned: no entry into the keep-out sphere from now to plan_end_s + drift_s (the plan and a
    day of free drift after it). Missed burn: for each burn k, the plan executed up to burn k
    and then a day of free drift from there. R-N: the separation of every relative orbit the
    plan makes — after each burn but the last, where the next may be missed, and after the
    last — exceeds rn_required_m (default the keep-out radius; required for ``ok`` unless
    require_ei is False, e.g. for a plan that starts from an unsafe state). The orbit the
    chaser is on now is not the plan's to answer for: its day of drift is the first missed-burn
    case, and its R-N separation is reported (rn_min_m is the least of all) but not required,
    so a plan that leaves a marginal orbit is not refused for where it starts. A planner asks
    for a margin over the radius (rn_required_m), so the burns' execution errors do not bring
    the orbits it makes below the radius the pre-burn check holds them to.
    """
    burns = sorted(burns, key=lambda b: b.t_s)
    a = float(chief0.a_m)
    needed = keepout_m if rn_required_m is None else float(rn_required_m)
    horizon = plan_end_s + drift_s
    planned = closest_approach(chief0, roe0, burns, horizon, keepout_m, P_roe, step_s)
    missed, rn = [], []
    for k, burn in enumerate(burns):
        executed = burns[:k]
        missed.append(closest_approach(chief0, roe0, executed, burn.t_s + drift_s, keepout_m,
                                       None, step_s, t_start_s=burn.t_s).min_range_m)
        rn.append(rn_min_distance_m(predict_roe(chief0, roe0, executed, [burn.t_s])[:, 0], a))
    rn.append(rn_min_distance_m(predict_roe(chief0, roe0, burns, [plan_end_s])[:, 0], a))
    made = rn[1:] if burns else rn                 # rn[0]: the orbit before the first burn
    missed_min = min(missed) if missed else planned.min_range_m
    ok = (planned.safe(keepout_m, k_sigma) if P_roe is not None else planned.min_range_m > keepout_m)
    ok = ok and missed_min > keepout_m and (min(made) > needed or not require_ei)
    return SafetyCheck(planned.min_range_m, float(missed_min), float(min(rn)), bool(ok))
