"""Orbital elements of one spacecraft: Cartesian state <-> classical elements, the RTN frame.

The guidance's own copy of the two-body geometry (flight software never reads the plant's).
Angles in radians, distances in metres, ECI J2000 (N). Earth constants are those of WGS-84 /
EGM96 (NGA.STND.0036 Table 3.1; Lemoine et al. 1998), the values the plant's truth uses.
Conversions follow Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., 2013,
Algorithms 9 (RV2COE) and 10 (COE2RV); the RTN frame is Vallado's RSW frame (Ch. 3).
"""
from typing import NamedTuple

import numpy as np

MU_EARTH_M3_S2 = 3.986004418e14
R_EARTH_M = 6378137.0
J2_EARTH = 1.08262668e-3

# Below this eccentricity an orbit is treated as circular (argp = 0, anomaly from the node).
_CIRCULAR_E = 1e-11


class Elements(NamedTuple):
    """Classical elements (m, rad): a, e, i, raan, argp and the mean anomaly M."""

    a_m: float
    e: float
    i_rad: float
    raan_rad: float
    argp_rad: float
    M_rad: float


def true_from_mean_anomaly(M_rad, e):
    """True anomaly (rad) from mean anomaly M (rad), eccentricity e < 1 (Kepler's equation
    M = E - e sin E solved by Newton's method; Vallado 2013, Algorithm 2)."""
    M = np.mod(np.asarray(M_rad, dtype=np.float64), 2.0 * np.pi)
    E = np.where(e < 0.8, M, np.pi)
    for _ in range(30):
        step = (E - e * np.sin(E) - M) / (1.0 - e * np.cos(E))
        E = E - step
        if np.all(np.abs(step) < 1e-15):
            break
    return 2.0 * np.arctan2(np.sqrt(1.0 + e) * np.sin(E / 2.0), np.sqrt(1.0 - e) * np.cos(E / 2.0))


def mean_from_true_anomaly(nu_rad, e):
    """Mean anomaly (rad, in [0, 2 pi)) from true anomaly nu (rad) (Vallado 2013, Alg. 5)."""
    E = 2.0 * np.arctan2(np.sqrt(1.0 - e) * np.sin(nu_rad / 2.0), np.sqrt(1.0 + e) * np.cos(nu_rad / 2.0))
    return np.mod(E - e * np.sin(E), 2.0 * np.pi)


def state_from_elements(el: Elements, mu=MU_EARTH_M3_S2):
    """Position (m) and velocity (m/s), ECI, of an elliptic orbit (Vallado 2013, Algorithm 10)."""
    if not (np.isfinite(el.a_m) and el.a_m > 0.0 and 0.0 <= el.e < 1.0):
        raise ValueError(f"need a > 0 and 0 <= e < 1, got a={el.a_m!r}, e={el.e!r}")
    nu = true_from_mean_anomaly(el.M_rad, el.e)
    p = el.a_m * (1.0 - el.e**2)
    r_pqw = p / (1.0 + el.e * np.cos(nu)) * np.array([np.cos(nu), np.sin(nu), 0.0])
    v_pqw = np.sqrt(mu / p) * np.array([-np.sin(nu), el.e + np.cos(nu), 0.0])
    C = perifocal_to_inertial(el.i_rad, el.raan_rad, el.argp_rad)
    return C @ r_pqw, C @ v_pqw


def elements_from_state(r_N, v_N, mu=MU_EARTH_M3_S2) -> Elements:
    """Classical elements of the elliptic orbit through r_N (m), v_N (m/s), ECI.

    h = r x v, node n = z x h, e = ((v^2 - mu/r) r - (r.v) v)/mu, a = -mu/(2 energy)
    (Vallado 2013, Algorithm 9). A circular orbit gets argp = 0. Raises ValueError for a
    non-elliptic, rectilinear or equatorial state (the RAAN of the RTN-based guidance is then
    undefined).
    """
    r = np.asarray(r_N, dtype=np.float64)
    v = np.asarray(v_N, dtype=np.float64)
    if r.shape != (3,) or v.shape != (3,) or not (np.isfinite(r).all() and np.isfinite(v).all()):
        raise ValueError("r_N and v_N must be finite 3-vectors")
    r_norm = np.linalg.norm(r)
    h = np.cross(r, v)
    h_norm = np.linalg.norm(h)
    if r_norm == 0.0 or h_norm <= 1e-12 * r_norm * np.linalg.norm(v):
        raise ValueError("state is rectilinear: no orbit plane")
    energy = 0.5 * (v @ v) - mu / r_norm
    if energy >= 0.0:
        raise ValueError(f"state is not elliptic (specific energy {energy:.6g} J/kg)")
    node = np.array([-h[1], h[0], 0.0])
    node_norm = np.linalg.norm(node)
    if node_norm <= 1e-9 * h_norm:
        raise ValueError("equatorial orbit: the ascending node is undefined")
    h_hat = h / h_norm
    e_vec = ((v @ v - mu / r_norm) * r - (r @ v) * v) / mu
    e = float(np.linalg.norm(e_vec))
    node_hat = node / node_norm
    raan = np.arctan2(node[1], node[0]) % (2.0 * np.pi)
    if e <= _CIRCULAR_E:
        argp, nu = 0.0, _angle_about(node_hat, r, h_hat)
    else:
        argp, nu = _angle_about(node_hat, e_vec, h_hat), _angle_about(e_vec, r, h_hat)
    return Elements(float(-mu / (2.0 * energy)), e, float(np.arctan2(node_norm, h[2])),
                    float(raan), float(argp), float(mean_from_true_anomaly(nu, e)))


def _angle_about(from_vec, to_vec, axis_hat):
    return np.arctan2(axis_hat @ np.cross(from_vec, to_vec), from_vec @ to_vec) % (2.0 * np.pi)


def perifocal_to_inertial(i_rad, raan_rad, argp_rad):
    """DCM [N <- PQW] = R3(-raan) R1(-i) R3(-argp) (Vallado 2013, Algorithm 10)."""
    c_o, s_o = np.cos(raan_rad), np.sin(raan_rad)
    c_i, s_i = np.cos(i_rad), np.sin(i_rad)
    c_w, s_w = np.cos(argp_rad), np.sin(argp_rad)
    return np.array([
        [c_o * c_w - s_o * s_w * c_i, -c_o * s_w - s_o * c_w * c_i, s_o * s_i],
        [s_o * c_w + c_o * s_w * c_i, -s_o * s_w + c_o * c_w * c_i, -c_o * s_i],
        [s_w * s_i, c_w * s_i, c_i],
    ])


def rtn_dcm(r_N, v_N):
    """C_RN (3, 3), rows R = r/|r|, T = N x R, N = h/|h| in ECI: x_rtn = C_RN @ x_N."""
    r = np.asarray(r_N, dtype=np.float64)
    h = np.cross(r, np.asarray(v_N, dtype=np.float64))
    r_hat = r / np.linalg.norm(r)
    n_hat = h / np.linalg.norm(h)
    return np.array([r_hat, np.cross(n_hat, r_hat), n_hat])


def rtn_rate(r_N, v_N):
    """Angular velocity (rad/s) of the Keplerian RTN frame, in RTN: (0, 0, |h|/r^2)."""
    r = np.asarray(r_N, dtype=np.float64)
    return np.array([0.0, 0.0, np.linalg.norm(np.cross(r, v_N)) / (r @ r)])


def relative_rtn(r_T_N, v_T_N, r_C_N, v_C_N):
    """Position (m) and velocity (m/s) of C relative to T in T's RTN frame, the velocity as
    seen rotating with the frame (transport theorem, Keplerian frame rate)."""
    C = rtn_dcm(r_T_N, v_T_N)
    rho = C @ (np.asarray(r_C_N) - r_T_N)
    return rho, C @ (np.asarray(v_C_N) - v_T_N) - np.cross(rtn_rate(r_T_N, v_T_N), rho)


def target_from_relative(r_C_N, v_C_N, r_CT_rtn, v_CT_rtn, iterations=6):
    """ECI state of the target T from the chaser's ECI state and C's state relative to T in
    T's RTN frame (the inverse of relative_rtn).

    T's frame depends on T's own state, so the inversion is a fixed-point iteration starting
    from T = C; each pass shrinks the error by about |rho|/r, so a few passes reach machine
    precision for separations up to thousands of km.
    """
    r_C_N = np.asarray(r_C_N, dtype=np.float64)
    v_C_N = np.asarray(v_C_N, dtype=np.float64)
    r_T, v_T = r_C_N.copy(), v_C_N.copy()
    for _ in range(iterations):
        C = rtn_dcm(r_T, v_T)
        omega = rtn_rate(r_T, v_T)
        r_T = r_C_N - C.T @ r_CT_rtn
        v_T = v_C_N - C.T @ (v_CT_rtn + np.cross(omega, r_CT_rtn))
    return r_T, v_T
