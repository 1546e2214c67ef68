"""Onboard orbit propagation for search planning: two-body plus J2, fixed-step RK4, many states.

The flight software's own model (it never reads the plant's).  Constants of WGS-84 / EGM96
(NGA.STND.0036_1.0.0_WGS84, 2014, Table 3.1; Lemoine et al., NASA/TP-1998-206861, for
J2 = -sqrt(5) C20_bar).  J2 acceleration: Vallado, Fundamentals of Astrodynamics and
Applications, 4th ed., 2013, eq. 8-30:

    a_J2 = -(3/2) J2 mu R^2 / r^5 [x (1 - 5 z^2/r^2), y (1 - 5 z^2/r^2), z (3 - 5 z^2/r^2)].

States are (n, 6) arrays [r_N (m), v_N (m/s)] in ECI J2000; every row is propagated at once.
A 10 s step keeps the error below a metre over hours in LEO (tests compare with an adaptive
high-order integrator); search planning needs kilometres.
"""
import numpy as np

MU_EARTH_M3_S2 = 3.986004418e14
R_EARTH_M = 6378137.0
J2_EARTH = 1.08262668e-3


def acceleration(r_N: np.ndarray, j2: bool = True) -> np.ndarray:
    """Gravitational acceleration (m/s^2) at positions r_N (n, 3), m."""
    r2 = np.sum(r_N * r_N, axis=-1, keepdims=True)
    r = np.sqrt(r2)
    a = -MU_EARTH_M3_S2 * r_N / (r2 * r)
    if j2:
        z2_r2 = r_N[..., 2:3] ** 2 / r2
        factor = -1.5 * J2_EARTH * MU_EARTH_M3_S2 * R_EARTH_M**2 / (r2 * r2 * r)
        a = a + factor * r_N * np.concatenate([1 - 5 * z2_r2, 1 - 5 * z2_r2, 3 - 5 * z2_r2], axis=-1)
    return a


def orbit_problem(r_N, v_N) -> str:
    """'' if [r_N (m), v_N (m/s)] (ECI) is a bound orbit whose perigee clears the Earth's
    equatorial radius, else what is wrong with it (a state no spacecraft here can be in:
    from a faulty unit or a hostile message). Perigee r_p = p / (1 + e), p = h^2 / mu,
    e^2 = 1 + 2 E h^2 / mu^2 (Vallado 2013, sec. 2.2)."""
    r_N, v_N = np.asarray(r_N, dtype=float), np.asarray(v_N, dtype=float)
    r_m = float(np.linalg.norm(r_N))
    if not r_m > R_EARTH_M:
        return "position inside the Earth"
    energy = 0.5 * float(v_N @ v_N) - MU_EARTH_M3_S2 / r_m
    if not energy < 0.0:
        return "orbit not bound (escaping)"
    h = np.cross(r_N, v_N)
    p_m = float(h @ h) / MU_EARTH_M3_S2
    e = np.sqrt(max(1.0 + 2.0 * energy * p_m / MU_EARTH_M3_S2, 0.0))
    if not p_m / (1.0 + e) > R_EARTH_M:
        return "orbit's perigee inside the Earth"
    return ""


def propagate(states: np.ndarray, dt_s, max_step_s: float = 10.0, j2: bool = True) -> np.ndarray:
    """States (n, 6) or (6,) after dt_s seconds (negative: backwards), RK4 with equal steps of
    at most max_step_s.  dt_s may hold one interval per state (n,): every row then takes the
    same number of steps, each of its own length."""
    states = np.asarray(states, dtype=float)
    dt_s = np.asarray(dt_s, dtype=float)
    if states.shape[-1] != 6 or not np.isfinite(states).all():
        raise ValueError(f"states must be finite (..., 6) arrays, got shape {states.shape}")
    if not (np.isfinite(dt_s).all() and max_step_s > 0):
        raise ValueError("dt_s must be finite and max_step_s positive")
    if dt_s.ndim and dt_s.shape != states.shape[:-1]:
        raise ValueError(f"dt_s must be a scalar or one interval per state, got shape {dt_s.shape}")
    steps = int(np.ceil(np.max(np.abs(dt_s)) / max_step_s)) if dt_s.size else 0
    if steps == 0:
        return states.copy()
    h = (dt_s / steps)[..., None]
    x = states.copy()

    def derivative(s):
        return np.concatenate([s[..., 3:], acceleration(s[..., :3], j2)], axis=-1)

    for _ in range(steps):
        k1 = derivative(x)
        k2 = derivative(x + 0.5 * h * k1)
        k3 = derivative(x + 0.5 * h * k2)
        k4 = derivative(x + h * k3)
        x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x
