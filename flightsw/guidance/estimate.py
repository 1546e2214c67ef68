"""The navigation's estimate in the planners' terms: the target's mean elements and mean ROE.

Navigation publishes the chaser's own orbit (OrbitEstimate, ECI) and the chaser's state relative
to the target in the target's RTN frame (RelativeState) with its covariance and osculating ROE.
The planners work in mean ROE (roe.py), so the target's ECI state is rebuilt from the chaser's
and the relative one (elements.target_from_relative) and both go through the Brouwer-Lyddane
map (roe.mean_roe_from_states). The ROE covariance is the navigation's osculating P_roe: the
mean-osculating map differs from the identity by O(J2) ~ 1e-3, well inside the covariance's
own accuracy.

The inputs are checked here, at the edge (finite, the declared shapes, a covariance that is
symmetric and not negative), so that what reaches the planners is trusted.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.detect.propagate import propagate
from flightsw.guidance.elements import R_EARTH_M, rtn_dcm, rtn_rate, target_from_relative
from flightsw.guidance.roe import MeanOrbit, mean_roe_from_states
from flightsw.nav.relative import RelativeFilter
from flightsw.runtime.app import NS_PER_S

# Orbit and relative estimates further apart in time than this are not paired.
MAX_PAIRING_S = 60.0


def checked_array(value, shape, name) -> np.ndarray:
    """value as a float64 array of the given shape; ValueError if it is not one, or not finite."""
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} is not numeric") from None
    if a.shape != shape or not np.isfinite(a).all():
        raise ValueError(f"{name} must be a finite array of shape {shape}")
    return a


def checked_covariance(value, n, name) -> np.ndarray:
    """A finite symmetric n x n covariance with no negative eigenvalue beyond round-off."""
    P = checked_array(value, (n, n), name)
    scale = max(float(np.abs(P).max()), 1e-300)
    if np.abs(P - P.T).max() > 1e-6 * scale:
        raise ValueError(f"{name} is not symmetric")
    P = 0.5 * (P + P.T)
    if np.linalg.eigvalsh(P)[0] < -1e-9 * scale:
        raise ValueError(f"{name} is not positive semi-definite")
    return P


@dataclass(frozen=True)
class Estimate:
    """The relative state at t_ns (sim time): chaser and target ECI states x_C_N, x_T_N
    ([r (m), v (m/s)]), the target's mean elements (chief), the chaser's mean ROE and their
    covariance, the RTN state and its covariance, the orbit covariance P_C (6x6, ECI), range
    and its 1-sigma (m)."""

    t_ns: int
    x_C_N: np.ndarray
    x_T_N: np.ndarray
    chief: MeanOrbit
    roe: np.ndarray
    P_roe: np.ndarray
    r_CT_rtn: np.ndarray
    v_CT_rtn: np.ndarray
    P_rtn: np.ndarray
    P_C: np.ndarray
    range_m: float
    range_sigma_m: float

    @property
    def a_m(self) -> float:
        return float(self.chief.a_m)

    def states_at(self, t_ns: int):
        """(x_C_N, x_T_N) propagated to t_ns (two-body + J2, detect.propagate)."""
        dt = (int(t_ns) - self.t_ns) / NS_PER_S
        both = propagate(np.stack([self.x_C_N, self.x_T_N]), dt)
        return both[0], both[1]

    def line_of_sight_N(self, t_ns: int) -> np.ndarray:
        """Unit line of sight chaser -> target (ECI) predicted at t_ns."""
        x_C, x_T = self.states_at(t_ns)
        rho = x_T[:3] - x_C[:3]
        return rho / np.linalg.norm(rho)


def estimate_from_navigation(t_orbit_ns, r_BN_N, v_BN_N, P_rv, t_rel_ns, r_CT_rtn, v_CT_rtn,
                             P_rtn, P_roe, range_sigma_m) -> Estimate:
    """The Estimate of an OrbitEstimate's and a RelativeState's fields (module docstring), at
    the relative state's time; the chaser's orbit is propagated to it. ValueError for bad
    inputs or a geometry the mean-element maps cannot take (equatorial, hyperbolic)."""
    r_C = checked_array(r_BN_N, (3,), "r_BN_N")
    v_C = checked_array(v_BN_N, (3,), "v_BN_N")
    P_C = checked_covariance(P_rv, 6, "orbit P_rv")
    r_rel = checked_array(r_CT_rtn, (3,), "r_CT_rtn")
    v_rel = checked_array(v_CT_rtn, (3,), "v_CT_rtn")
    P_rtn = checked_covariance(P_rtn, 6, "P_rtn")
    P_roe = checked_covariance(P_roe, 6, "P_roe")
    if not (np.isfinite(range_sigma_m) and range_sigma_m >= 0.0):
        raise ValueError("range_sigma_m must be finite and non-negative")
    if np.linalg.norm(r_C) < R_EARTH_M:
        raise ValueError("chaser position is inside the Earth")
    if not np.linalg.norm(r_rel) > 0.0:
        raise ValueError("relative position is zero: no line of sight")
    dt_s = (int(t_rel_ns) - int(t_orbit_ns)) / NS_PER_S
    if abs(dt_s) > MAX_PAIRING_S:
        raise ValueError(f"orbit and relative estimates {dt_s:.1f} s apart")
    x_C = propagate(np.concatenate([r_C, v_C]), dt_s)
    r_T, v_T = target_from_relative(x_C[:3], x_C[3:], r_rel, v_rel)
    chief, roe = mean_roe_from_states(r_T, v_T, x_C[:3], x_C[3:])
    if not (np.isfinite(roe).all() and np.isfinite(np.array(chief, dtype=np.float64)).all()):
        raise ValueError("the states have no finite mean elements")
    return Estimate(int(t_rel_ns), x_C, np.concatenate([r_T, v_T]), chief, roe, P_roe, r_rel,
                    v_rel, P_rtn, P_C, float(np.linalg.norm(r_rel)), float(range_sigma_m))


def dv_N_from_rtn(x_C_N, dv_rtn) -> np.ndarray:
    """A delta-v given in the chaser's own RTN frame (maneuvers.Burn) in ECI components."""
    return rtn_dcm(x_C_N[:3], x_C_N[3:]).T @ np.asarray(dv_rtn, dtype=np.float64)


def relative_covariance_N(est: Estimate) -> np.ndarray:
    """Covariance (6x6) of the chaser's ECI state relative to the target, x_C - x_T, from the
    RTN one: r_N = C^T r_rtn, v_N = C^T (v_rtn + omega x r_rtn) (the inverse of
    elements.relative_rtn), through its Jacobian."""
    C = rtn_dcm(est.x_T_N[:3], est.x_T_N[3:])
    w = rtn_rate(est.x_T_N[:3], est.x_T_N[3:])
    skew = np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])
    J = np.zeros((6, 6))
    J[:3, :3] = C.T
    J[3:, :3] = C.T @ skew
    J[3:, 3:] = C.T
    return J @ est.P_rtn @ J.T


def navigation_twin(est: Estimate, q_target_m2_s3=1e-10, q_chaser_m2_s3=1e-9,
                    bearing_var_floor_rad2=0.0) -> RelativeFilter:
    """The navigation's relative filter as far as its published estimate describes it: the
    target and chaser states, the target's covariance P_C + P_rel and the cross-covariance
    P_C (relative error taken independent of the chaser's). For what-if covariance analyses
    (RelativeFilter.predicted_range_sigma)."""
    P_rel = relative_covariance_N(est)
    twin = RelativeFilter(est.t_ns, est.x_T_N, est.P_C + P_rel, est.x_C_N, est.P_C,
                          q_target_m2_s3=q_target_m2_s3, q_chaser_m2_s3=q_chaser_m2_s3,
                          bearing_var_floor_rad2=bearing_var_floor_rad2)
    twin.P[:6, 6:] = est.P_C
    twin.P[6:, :6] = est.P_C
    return twin

