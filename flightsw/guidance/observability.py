"""Observability manoeuvres for angles-only relative navigation.

Bearings alone do not give range: a trajectory scaled about the target produces the same
bearings, unless a known impulse breaks the scaling (Woffinden & Geller, "Observability
Criteria for Angles-Only Navigation", IEEE TAES 45(3), 2009: the manoeuvre must change the
line of sight relative to the unmanoeuvred trajectory). A simple criterion for how much:
after time tau the impulse has displaced the chaser by dr = M Phi(tau) Gamma dv from where it
would have been; its part across the line of sight, dr_perp, turns the bearing by dr_perp/rho,
and bearings of accuracy sigma_theta then give the range to sigma_rho / rho ~ sigma_theta rho
/ |dr_perp|. The impulse is the smallest along the candidate directions (the along-track and
radial axes, which change the relative-motion shape) that brings this below the target
relative range accuracy.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.keepout import position_jacobian
from flightsw.guidance.maneuvers import Burn, chaser_u, predict_roe
from flightsw.guidance.roe import MeanOrbit, propagate_mean, roe_control_matrix, roe_stm, rtn_from_roe

CANDIDATE_AXES = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])


@dataclass(frozen=True)
class ObservabilityBurn:
    """The impulse, and the relative range accuracy predicted after ``tau_s``."""

    burn: Burn
    tau_s: float
    predicted_range_rel_sigma: float


def predicted_range_rel_sigma(chief0: MeanOrbit, roe0, burn: Burn, tau_s, bearing_sigma_rad) -> float:
    """sigma_rho / rho expected tau_s after ``burn`` from bearings of sigma bearing_sigma_rad."""
    a = float(chief0.a_m)
    t_obs = burn.t_s + tau_s
    roe_b = predict_roe(chief0, roe0, [], [burn.t_s])[:, 0]
    Gamma = roe_control_matrix(a, chaser_u(propagate_mean(chief0, burn.t_s), roe_b))
    ch = propagate_mean(chief0, t_obs)
    dr = position_jacobian(a, ch.u_rad)[0] @ roe_stm(chief0, tau_s) @ Gamma @ burn.dv_rtn
    r = rtn_from_roe(predict_roe(chief0, roe0, [], [t_obs])[:, 0], a, float(ch.u_rad))[0]
    rho = np.linalg.norm(r)
    dr_perp = dr - (dr @ r) / rho**2 * r
    return float(bearing_sigma_rad * rho / max(np.linalg.norm(dr_perp), 1e-12))


def plan_observability_burn(chief0: MeanOrbit, roe0, t_burn_s, bearing_sigma_rad,
                            target_rel_sigma=0.05, tau_s=1400.0, dv_max_m_s=0.2) -> ObservabilityBurn:
    """Smallest along-track or radial impulse at t_burn_s whose effect after tau_s (default a
    quarter orbit) gives the target relative range accuracy (module docstring). The response
    is linear in |dv|, so each axis's magnitude follows from a unit impulse."""
    best = None
    for axis in CANDIDATE_AXES:
        unit = predicted_range_rel_sigma(chief0, roe0, Burn(t_burn_s, axis * 1e-3), tau_s,
                                         bearing_sigma_rad)
        dv = 1e-3 * unit / target_rel_sigma
        if dv <= dv_max_m_s and (best is None or dv < best.burn.dv_m_s):
            best = ObservabilityBurn(Burn(float(t_burn_s), axis * dv), float(tau_s), float(target_rel_sigma))
    if best is None:
        raise ValueError(f"no impulse up to {dv_max_m_s} m/s gives {target_rel_sigma:.0%} range")
    return best
