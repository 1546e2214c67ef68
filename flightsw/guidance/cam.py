"""Collision-avoidance manoeuvre (CAM): when the predicted approach is unsafe, one impulse now.

Trigger (cam_needed): over the next few orbits, the closest approach with the navigation
covariance (keepout.closest_approach) fails the k-sigma or probability test. Manoeuvre: among
impulses along the 26 directions of a cube's faces, edges and corners of the chaser's RTN
frame, and magnitudes on a ladder up to dv_max, the smallest that (a) makes the next few
orbits of free motion clear the keep-out sphere by k sigma along the line of sight and (b)
gives an R-N (e/i) separation, with its radial offset a*da, beyond the keep-out radius plus k
sigma of the e/i uncertainty — so the chaser is then passively safe for good, whatever the
along-track error; among equal magnitudes, the one with the largest sigma margin. (The
line-of-sight test is not used beyond a few orbits: the along-track uncertainty grows without
bound under angles-only navigation, and the e/i separation, not the line of sight, is what
protects the chaser then.) The candidates are evaluated together by superposition on the linear
model: r(t) = r_free(t) + M(t) Phi(t - t_b) Gamma(u_b) dv (keepout.position_jacobian, the ROE
STM and control matrix), exact for the linear ROE dynamics the check itself uses.

An impulse leaves the position where it is applied unchanged, so the R-N ellipse after it
passes through the chaser's present R-N offset: when that offset is inside the keep-out radius
(e/i vectors collapsed, the chaser near the along-track axis) no impulse now meets (b). The
escape (require_ei=False) then asks for (a) alone: the next few orbits clear by k sigma, the
e/i separation to be rebuilt later from a safer place.
"""
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from flightsw.guidance.keepout import (DEFAULT_KEEPOUT_M, closest_approach, position_jacobian,
                                      sample_times)
from flightsw.guidance.maneuvers import Burn, chaser_u, predict_roe
from flightsw.guidance.passive_safety import rn_min_distance_m
from flightsw.guidance.roe import (MeanOrbit, propagate_mean, roe_control_matrix, roe_stm_series,
                                   rtn_from_roe)

DV_LADDER_M_S = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def cube_directions() -> np.ndarray:
    """The 26 unit vectors to the faces, edges and corners of a cube."""
    grid = np.array(np.meshgrid([-1, 0, 1], [-1, 0, 1], [-1, 0, 1])).reshape(3, -1).T
    grid = grid[np.any(grid != 0, axis=1)].astype(float)
    return grid / np.linalg.norm(grid, axis=1, keepdims=True)


@dataclass(frozen=True)
class CollisionAvoidance:
    """The chosen impulse, and the free motion after it: minimum range (m), smallest sigma
    margin, largest probability of being inside the keep-out sphere, R-N separation (m)."""

    burn: Burn
    min_range_m: float
    min_sigma_margin: float
    max_probability: float
    rn_min_m: float


SHORT_HORIZON_S = 3 * 5700.0
# how far ahead a threat raised by the uncertainty alone calls for a manoeuvre now: a third of
# an orbit, time for more checks with better navigation and still for a CAM to act (an
# impulse moves the chaser off its path by a quarter orbit after it)
CAM_DECISION_S = 1800.0


def ei_sigma_m(P_roe, a_m) -> float:
    """1-sigma (m) of the R-N separation: a times the root of the largest eigenvalue of the
    covariance of (da, de, di)."""
    P = np.asarray(P_roe, dtype=np.float64)[np.ix_([0, 2, 3, 4, 5], [0, 2, 3, 4, 5])]
    return float(a_m * np.sqrt(max(np.linalg.eigvalsh(P).max(), 0.0)))


def cam_needed(chief0: MeanOrbit, roe0, burns, P_roe, keepout_m=DEFAULT_KEEPOUT_M, k_sigma=3.0,
               max_probability=1e-4, horizon_s=SHORT_HORIZON_S,
               decision_s=CAM_DECISION_S) -> bool:
    """True if a collision-avoidance manoeuvre must be flown now: the plan's predicted motion
    (its mean) enters the keep-out sphere within horizon_s, or, with the covariance, fails the
    keep-out test within decision_s and the chaser is not e/i separated (ei_separated) on
    every arc of the plan.

    A threat the uncertainty alone raises beyond decision_s waits (the test is repeated and
    navigation keeps improving), as a conjunction is assessed at a decision point before its
    closest approach rather than on the first, poorest orbit estimate: under angles-only or
    freshly initialised navigation the along-track uncertainty spans kilometres within a few
    orbits, and the line-of-sight test fails for any such estimate. An R-N separation that
    clears the sphere by k sigma keeps the chaser out of it whatever the along-track error
    (D'Amico & Montenbruck, "Proximity operations of formation-flying spacecraft using an
    eccentricity/inclination vector separation", JGCD 29(3), 2006): no impulse would make it
    safer.
    """
    approach = closest_approach(chief0, roe0, burns, horizon_s, keepout_m, P_roe, step_s=10.0)
    if approach.min_range_m <= keepout_m:
        return True
    if approach.first_unsafe_s(keepout_m, k_sigma, max_probability) > decision_s:
        return False
    return not ei_separated(chief0, roe0, burns, P_roe, keepout_m, k_sigma)


def ei_separated(chief0: MeanOrbit, roe0, burns, P_roe, keepout_m=DEFAULT_KEEPOUT_M,
                 k_sigma=3.0) -> bool:
    """True if the R-N separation (with the radial offset a*da) of the free motion now and
    after each of ``burns`` exceeds keepout_m by k_sigma of the e/i uncertainty of P_roe."""
    a = float(chief0.a_m)
    times = [0.0] + sorted(b.t_s for b in burns)
    roes = predict_roe(chief0, roe0, burns, times)
    needed = keepout_m + k_sigma * ei_sigma_m(P_roe, a)
    return all(rn_min_distance_m(roes[:, k], a) > needed for k in range(roes.shape[1]))


def plan_cam(chief0: MeanOrbit, roe0, P_roe, t_burn_s=0.0, keepout_m=DEFAULT_KEEPOUT_M,
             k_sigma=3.0, horizon_s=SHORT_HORIZON_S, dv_max_m_s=0.5, step_s=10.0,
             require_ei=True) -> CollisionAvoidance:
    """The collision-avoidance impulse at t_burn_s (s after the epoch) (module docstring);
    without require_ei, the escape that only clears the next horizon_s.

    Raises ValueError if no candidate up to dv_max_m_s is safe.
    """
    roe0 = np.asarray(roe0, dtype=np.float64)
    a = float(chief0.a_m)
    t = sample_times(t_burn_s, t_burn_s + horizon_s, step_s)
    ch = propagate_mean(chief0, t)
    roe_b = predict_roe(chief0, roe0, [], [t_burn_s])[:, 0]
    r_free = rtn_from_roe(predict_roe(chief0, roe0, [], t), ch.a_m, ch.u_rad)[0].T
    Gamma = roe_control_matrix(a, chaser_u(propagate_mean(chief0, t_burn_s), roe_b))
    M = position_jacobian(a, ch.u_rad)
    Phi = roe_stm_series(chief0, t - t_burn_s)
    G = M @ Phi @ Gamma                                          # (K, 3, 3)
    Phi0 = roe_stm_series(chief0, t)
    P_t = Phi0 @ np.asarray(P_roe, dtype=np.float64) @ Phi0.transpose(0, 2, 1)
    P_r = M @ P_t @ M.transpose(0, 2, 1)

    rn_sigma = ei_sigma_m(P_roe, a)
    directions = cube_directions()
    best = None
    for dv in DV_LADDER_M_S:
        if dv > dv_max_m_s:
            break
        dvs = dv * directions                                    # (C, 3)
        r = r_free[None] + np.einsum("kij,cj->cki", G, dvs)      # (C, K, 3)
        rng = np.linalg.norm(r, axis=2)
        r_hat = r / rng[..., None]
        sigma = np.sqrt(np.maximum(np.einsum("cki,kij,ckj->ck", r_hat, P_r, r_hat), 1e-18))
        margin = ((rng - keepout_m) / sigma).min(axis=1)
        rn = np.array([rn_min_distance_m(roe_b + Gamma @ d, a) for d in dvs])
        separated = (rn > keepout_m + k_sigma * rn_sigma) | (not require_ei)
        ok = (rng.min(axis=1) > keepout_m) & (margin >= k_sigma) & separated
        if ok.any():
            c = int(np.argmax(np.where(ok, margin, -np.inf)))
            best = CollisionAvoidance(Burn(float(t_burn_s), dvs[c]), float(rng[c].min()),
                                      float(margin[c]), float(ndtr(-margin[c])), float(rn[c]))
            break
    if best is None:
        raise ValueError(f"no collision-avoidance impulse up to {dv_max_m_s} m/s is safe")
    return best
