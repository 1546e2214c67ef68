"""The chaser relative to the target: RTN state and quasi-nonsingular relative orbital elements.

Frames. The target's RTN frame has R = r_T / |r_T|, N = h_T / |h_T| (h = r x v), T = N x R.
Relative velocity "as seen in the rotating frame" is v_rtn = C (v_C - v_T) - omega x r_rtn with
the frame's angular velocity omega = [r a_N / h, 0, h / r^2] in RTN, a_N the out-of-plane
acceleration of the target (J2 here), which rotates the orbit plane about R (Schaub & Junkins,
Analytical Mechanics of Space Systems, 4th ed., 2018, on orbit-frame kinematics; the R term is
the osculating frame's nodal rotation).

Relative orbital elements (D'Amico, Autonomous Formation Flying in Low Earth Orbit, PhD thesis,
TU Delft, 2010, ch. 2), the chaser c relative to the target t, from osculating elements:

    da = (a_c - a_t) / a_t
    dlambda = (u_c - u_t) + (Omega_c - Omega_t) cos i_t       u = omega + M, mean arg. of latitude
    dex = e_c cos w_c - e_t cos w_t,   dey = e_c sin w_c - e_t sin w_t
    dix = i_c - i_t,                   diy = (Omega_c - Omega_t) sin i_t

The elements are osculating (their J2 short-period terms largely cancel between two close
spacecraft; at hundreds of km they do not, which the covariance does not describe). Element
angles are formed from the eccentricity vector and the node line, so circular orbits are
regular; equatorial orbits (i = 0) are not, as for any node-based set.

Covariances go through the nonlinear maps by their Jacobians, evaluated by central differences
with steps scaled to each state's own uncertainty (``covariance_through``). The relative
filter's published state and covariance (``published_state``) take the same differences in a
compiled kernel (``_roe.pyx``), whose numpy reference is ``covariance_through`` of these maps.
"""
import math

import numpy as np

from flightsw.nav.dynamics import MU_EARTH_M3_S2, gravity_accel_reference
from flightsw.native import require

_roe = require("flightsw.nav._roe")

# Least difference steps of the relative filter's state [x_T, x_C] (m, m/s), for states it
# knows better than 1e3 times these.
DIFFERENCE_FLOOR = np.array([1e-3] * 3 + [1e-6] * 3 + [1e-3] * 3 + [1e-6] * 3)


def cross(a, b) -> np.ndarray:
    """a x b of two 3-vectors (np.cross's general broadcasting costs more than the product)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def rtn_basis(x_N) -> np.ndarray:
    """C (3x3), rows R, T, N of the RTN frame of the state x_N = [r (m), v (m/s)] ECI."""
    r, v = np.asarray(x_N[:3], dtype=np.float64), np.asarray(x_N[3:6], dtype=np.float64)
    R = r / np.linalg.norm(r)
    h = cross(r, v)
    N = h / np.linalg.norm(h)
    return np.vstack((R, cross(N, R), N))


def rtn_relative_state(x_C, x_T) -> np.ndarray:
    """[r_CT_rtn (m), v_CT_rtn (m/s)]: chaser C relative to target T, in T's rotating RTN frame."""
    x_C = np.asarray(x_C, dtype=np.float64)
    x_T = np.asarray(x_T, dtype=np.float64)
    C = rtn_basis(x_T)
    r_T, v_T = x_T[:3], x_T[3:]
    r = np.linalg.norm(r_T)
    h = np.linalg.norm(cross(r_T, v_T))
    a_N = C[2] @ gravity_accel_reference(r_T)
    omega = np.array([r * a_N / h, 0.0, h / r ** 2])
    r_rtn = C @ (x_C[:3] - r_T)
    v_rtn = C @ (x_C[3:] - v_T) - cross(omega, r_rtn)
    return np.concatenate((r_rtn, v_rtn))


def nonsingular_elements(x_N) -> np.ndarray:
    """[a (m), e_x, e_y, i, Omega, u = omega + M (rad)] of the osculating orbit of x_N (ECI).

    e_x, e_y: the eccentricity vector's components along the node line and 90 deg ahead of it
    in the orbit plane; the true argument of latitude comes from the position, and the mean one
    subtracts the equation of the centre nu - M.
    """
    r, v = np.asarray(x_N[:3], dtype=np.float64), np.asarray(x_N[3:6], dtype=np.float64)
    mu = MU_EARTH_M3_S2
    rn = np.linalg.norm(r)
    h = cross(r, v)
    hn = np.linalg.norm(h)
    a = 1.0 / (2.0 / rn - v @ v / mu)
    w = h / hn
    inc = math.acos(max(-1.0, min(1.0, w[2])))
    raan = math.atan2(w[0], -w[1])
    node = np.array([math.cos(raan), math.sin(raan), 0.0])
    ahead = cross(w, node)
    e_vec = cross(v, h) / mu - r / rn
    e_x, e_y = float(e_vec @ node), float(e_vec @ ahead)
    u_true = math.atan2(r @ ahead, r @ node)
    e = math.hypot(e_x, e_y)
    nu = u_true - math.atan2(e_y, e_x)
    E = 2.0 * math.atan2(math.sqrt(1.0 - e) * math.sin(nu / 2),
                         math.sqrt(1.0 + e) * math.cos(nu / 2))
    M = E - e * math.sin(E)
    return np.array([a, e_x, e_y, inc, raan, u_true - nu + M])


def wrap_angle(angle: float) -> float:
    """angle wrapped to [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def relative_orbital_elements(x_C, x_T) -> np.ndarray:
    """[da, dlambda, dex, dey, dix, diy] of the chaser x_C relative to the target x_T (ECI)."""
    a_c, ex_c, ey_c, i_c, O_c, u_c = nonsingular_elements(x_C)
    a_t, ex_t, ey_t, i_t, O_t, u_t = nonsingular_elements(x_T)
    dO = wrap_angle(O_c - O_t)
    return np.array([(a_c - a_t) / a_t, wrap_angle(u_c - u_t) + dO * math.cos(i_t),
                     ex_c - ex_t, ey_c - ey_t, i_c - i_t, dO * math.sin(i_t)])


def covariance_through(f, x, P, floor_steps) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), J P J^T) with J = df/dx by central differences.

    Each state's step is 1e-3 of its own 1-sigma, and at least floor_steps (same shape as x),
    so that the differences stay within the region the covariance describes.
    """
    x = np.asarray(x, dtype=np.float64)
    steps = np.maximum(1e-3 * np.sqrt(np.clip(np.diag(P), 0.0, None)), floor_steps)
    columns = []
    for k, h in enumerate(steps):
        dx = np.zeros_like(x)
        dx[k] = h
        columns.append((f(x + dx) - f(x - dx)) / (2.0 * h))
    J = np.column_stack(columns)
    C = J @ P @ J.T
    return f(x), 0.5 * (C + C.T)


def published_map(x) -> np.ndarray:
    """[r_CT_rtn, v_CT_rtn, roe] (12) of the relative filter's state x = [x_T, x_C] (ECI)."""
    x_T, x_C = x[:6], x[6:]
    return np.concatenate((rtn_relative_state(x_C, x_T), relative_orbital_elements(x_C, x_T)))


def published_state(x, P) -> tuple[np.ndarray, np.ndarray]:
    """(published_map(x), J P J^T) of the relative filter's x (12), P (12x12), compiled:
    ``covariance_through(published_map, x, P, DIFFERENCE_FLOOR)`` is its reference."""
    y, C = np.empty(12), np.empty((12, 12))
    _roe.relative_state_covariance(np.ascontiguousarray(x, dtype=np.float64),
                                   np.ascontiguousarray(P, dtype=np.float64), DIFFERENCE_FLOOR,
                                   y, C)
    return y, C
