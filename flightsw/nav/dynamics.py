"""Orbital dynamics of the navigation filters: two-body + J2 gravity, its gradient, and the
state transition over a step.

State x = [r_N, v_N] (m, m/s, ECI J2000). The equations of motion are

    r' = v,   v' = a(r) = -mu r / |r|^3 + a_J2(r)

with the zonal J2 term (Vallado, Fundamentals of Astrodynamics and Applications, 4th ed.,
2013, sec. 8.6)

    a_J2 = k / r^5 [x (5 z^2/r^2 - 1), y (5 z^2/r^2 - 1), z (5 z^2/r^2 - 3)],  k = 3/2 J2 mu R^2

and the state transition matrix Phi = d x(t + dt) / d x(t) obeys Phi' = A Phi with
A = [[0, I], [G, 0]], G = da/dr the gravity gradient (Montenbruck & Gill, Satellite Orbits,
2000, ch. 7). Both are integrated together by the classical fourth-order Runge-Kutta scheme
in equal steps no longer than ``step_max_s``: with the default 10 s the local error at LEO is
below a millimetre per step.

Unmodelled accelerations (drag, thrust errors) enter the filters as continuous white
acceleration noise of power spectral density q (m^2/s^3), discretised over dt as
Q = q [[dt^3/3 I, dt^2/2 I], [dt^2/2 I, dt I]] (Bar-Shalom, Li & Kirubarajan, Estimation with
Applications to Tracking and Navigation, 2001, ch. 6).

The compiled kernel ``_dynamics.pyx`` runs the filters; the ``*_reference`` functions here are
its plain numpy twins, kept for the tests.
"""
import math

import numpy as np

from flightsw.native import require

_dynamics = require("flightsw.nav._dynamics")

# Earth, the same values as the plant (independently stated: flight software never reads hil).
# WGS-84 GM including the atmosphere (NGA.STND.0036_1.0.0_WGS84, 2014, Table 3.1), m^3/s^2.
MU_EARTH_M3_S2 = 3.986004418e14
# WGS-84 equatorial radius, m.
R_EARTH_M = 6378137.0
# Unnormalised second zonal harmonic of EGM96 (Lemoine et al., NASA/TP-1998-206861).
J2_EARTH = 1.08262668e-3

STEP_MAX_S = 10.0
STATE_SIZE = 6


def gravity_accel_reference(r_N) -> np.ndarray:
    """Two-body + J2 acceleration (m/s^2, ECI) at position r_N (m, ECI); Vallado 2013 sec. 8.6."""
    r_N = np.asarray(r_N, dtype=np.float64)
    r2 = r_N @ r_N
    r = math.sqrt(r2)
    k = 1.5 * J2_EARTH * MU_EARTH_M3_S2 * R_EARTH_M ** 2
    f = 5.0 * r_N[2] ** 2 / r2
    j2 = k / r ** 5 * r_N * (f - np.array([1.0, 1.0, 3.0]))
    return -MU_EARTH_M3_S2 * r_N / (r2 * r) + j2


def gravity_gradient_reference(r_N) -> np.ndarray:
    """G = d a / d r (1/s^2) of two-body + J2 at r_N (m, ECI).

    Two-body: mu / r^3 (3 r r^T / r^2 - I). J2, with s = k / r^5, f = 5 z^2 / r^2, c = (1, 1, 3)
    and a_i = s x_i (f - c_i): d a_i / d x_j = s [delta_ij (f - c_i) - 5 x_i x_j (f - c_i) / r^2
    + x_i (10 z delta_jz / r^2 - 2 f x_j / r^2)] (product rule on Vallado 2013 sec. 8.6).
    """
    r_N = np.asarray(r_N, dtype=np.float64)
    r2 = r_N @ r_N
    r = math.sqrt(r2)
    two_body = MU_EARTH_M3_S2 / (r2 * r) * (3.0 * np.outer(r_N, r_N) / r2 - np.eye(3))
    s = 1.5 * J2_EARTH * MU_EARTH_M3_S2 * R_EARTH_M ** 2 / r ** 5
    f = 5.0 * r_N[2] ** 2 / r2
    fc = f - np.array([1.0, 1.0, 3.0])
    df = -2.0 * f * r_N / r2
    df[2] += 10.0 * r_N[2] / r2
    j2 = s * (np.diag(fc) - 5.0 * np.outer(r_N * fc, r_N) / r2 + np.outer(r_N, df))
    return two_body + j2


def _derivative_reference(x, phi):
    """(x', Phi') of the variational equations at (x, Phi)."""
    a = gravity_accel_reference(x[:3])
    G = gravity_gradient_reference(x[:3])
    dphi = np.vstack((phi[3:], G @ phi[:3]))
    return np.concatenate((x[3:], a)), dphi


def propagate_reference(x, dt_s: float, step_max_s: float = STEP_MAX_S):
    """Numpy twin of the kernel: (x(t + dt), Phi(t + dt, t)) by RK4 in equal steps <= step_max_s.

    x = [r (m), v (m/s)] ECI; dt_s may be negative (backward propagation) or zero.
    """
    x = np.array(x, dtype=np.float64)
    phi = np.eye(STATE_SIZE)
    n = max(1, math.ceil(abs(dt_s) / step_max_s))
    h = dt_s / n
    for _ in range(n):
        k1x, k1p = _derivative_reference(x, phi)
        k2x, k2p = _derivative_reference(x + 0.5 * h * k1x, phi + 0.5 * h * k1p)
        k3x, k3p = _derivative_reference(x + 0.5 * h * k2x, phi + 0.5 * h * k2p)
        k4x, k4p = _derivative_reference(x + h * k3x, phi + h * k3p)
        x = x + h / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        phi = phi + h / 6.0 * (k1p + 2.0 * k2p + 2.0 * k3p + k4p)
    return x, phi


def white_accel_noise(dt_s: float, q_m2_s3: float) -> np.ndarray:
    """Discrete process noise Q (6x6) of white acceleration of PSD q (m^2/s^3) over |dt|."""
    dt = abs(dt_s)
    block = q_m2_s3 * np.array([[dt ** 3 / 3.0, dt ** 2 / 2.0], [dt ** 2 / 2.0, dt]])
    return np.kron(block, np.eye(3))


def predict_reference(x, P, dt_s: float, q_m2_s3: float, step_max_s: float = STEP_MAX_S):
    """Numpy twin of ``predict``: (x, Phi P Phi^T + Q) after dt_s."""
    x_new, phi = propagate_reference(x, dt_s, step_max_s)
    P_new = phi @ P @ phi.T + white_accel_noise(dt_s, q_m2_s3)
    return x_new, 0.5 * (P_new + P_new.T)


def propagate(x, dt_s: float, step_max_s: float = STEP_MAX_S):
    """(x(t + dt), Phi(t + dt, t)) of two-body + J2 from x = [r (m), v (m/s)] ECI (kernel)."""
    x_out = np.empty(STATE_SIZE)
    phi = np.empty((STATE_SIZE, STATE_SIZE))
    _dynamics.propagate_stm(np.ascontiguousarray(x, dtype=np.float64), float(dt_s),
                            float(step_max_s), x_out, phi)
    return x_out, phi


def propagate_state(x, dt_s: float, step_max_s: float = STEP_MAX_S) -> np.ndarray:
    """x(t + dt) of two-body + J2 from x = [r (m), v (m/s)] ECI, without the STM (kernel)."""
    x_out = np.empty(STATE_SIZE)
    _dynamics.propagate_state(np.ascontiguousarray(x, dtype=np.float64), float(dt_s),
                              float(step_max_s), x_out)
    return x_out


def add_impulse(x: np.ndarray, P: np.ndarray, offset: int, since_s: float, dv_N,
                sigma_dv_mps: float, step_max_s: float = STEP_MAX_S,
                sigma_t_s: float = 0.0) -> None:
    """An impulsive delta-v dv_N (m/s, ECI) of 1-sigma sigma_dv_mps per axis and sigma_t_s in
    its time, applied since_s (>= 0) seconds before the time of the estimate, to the [r, v]
    block at ``offset`` of x (in place), and its uncertainty to P.

    The block is propagated back to the burn, given the delta-v and propagated forward again.
    The burn's covariance at the burn, Q = [[sigma_t^2 dv dv^T, 0], [0, sigma_dv^2 I]] (a burn
    late by dt leaves the position short by dv dt), reaches now as Phi Q Phi^T with Phi the
    transition from the burn to now. (A late report thus needs no replay of the measurements
    since: the linearised effect of the burn on them is what the transition carries.)
    """
    if not (since_s >= 0.0 and sigma_dv_mps >= 0.0 and sigma_t_s >= 0.0):
        raise ValueError("a burn must lie in the past and its sigmas be >= 0")
    dv_N = np.asarray(dv_N, dtype=np.float64)
    block = slice(offset, offset + STATE_SIZE)
    x_burn = propagate_state(x[block], -since_s, step_max_s) if since_s else x[block].copy()
    x_burn[3:] += dv_N
    x_now, phi = propagate(x_burn, since_s, step_max_s)
    x[block] = x_now
    Q = np.zeros((STATE_SIZE, STATE_SIZE))
    Q[:3, :3] = sigma_t_s ** 2 * np.outer(dv_N, dv_N)
    Q[3:, 3:] = sigma_dv_mps ** 2 * np.eye(3)
    P[block, block] += phi @ Q @ phi.T


def predict_inplace(x: np.ndarray, P: np.ndarray, dt_s: float, q_m2_s3: float,
                    step_max_s: float = STEP_MAX_S) -> None:
    """EKF time update in place: x <- x(t + dt), P <- Phi P Phi^T + Q(dt, q) (kernel).

    x (6,) and P (6, 6) must be C-contiguous float64 arrays owned by the caller.
    """
    _dynamics.predict(x, P, float(dt_s), float(q_m2_s3), float(step_max_s))


def pair_noise(dt_s: float, q_T: float, q_C: float, q_common: float) -> np.ndarray:
    """Q (12x12) of the white accelerations w_T = w_0 + w_T', w_C = w_0 + w_C' over dt_s, of
    PSDs q_common (w_0, shared) and q_T, q_C (each spacecraft's own).

    Why shared: the accelerations the model leaves out (drag and solar pressure on bodies of
    like ballistic coefficient, gravity beyond J2) are nearly the same on two spacecraft close
    together, so they move both absolute states but not the relative one; only the own parts
    (differential drag, the chaser's attitude-control and thrust errors) blur the relative
    state.
    """
    unit = white_accel_noise(dt_s, 1.0)
    return np.kron(np.array([[q_T + q_common, q_common], [q_common, q_C + q_common]]), unit)


def predict_pair_reference(x, P, dt_s: float, q_T: float, q_C: float, q_common: float = 0.0,
                           step_max_s: float = STEP_MAX_S, c=None):
    """Numpy twin of ``predict_pair_inplace``: two spacecraft [x_T, x_C] (12,) and their 12x12
    joint covariance after dt_s, Phi = blockdiag(Phi_T, Phi_C), Q = ``pair_noise``; and Phi c
    (zeros without c)."""
    x_T, phi_T = propagate_reference(x[:6], dt_s, step_max_s)
    x_C, phi_C = propagate_reference(x[6:], dt_s, step_max_s)
    phi = np.zeros((12, 12))
    phi[:6, :6] = phi_T
    phi[6:, 6:] = phi_C
    P_new = phi @ P @ phi.T + pair_noise(dt_s, q_T, q_C, q_common)
    c_new = phi @ (np.zeros(12) if c is None else np.asarray(c, dtype=np.float64))
    return np.concatenate((x_T, x_C)), 0.5 * (P_new + P_new.T), c_new


def predict_pair_inplace(x: np.ndarray, P: np.ndarray, dt_s: float, q_T: float, q_C: float,
                         q_common: float = 0.0, step_max_s: float = STEP_MAX_S,
                         c: np.ndarray | None = None) -> None:
    """Joint EKF time update in place of two spacecraft x = [x_T, x_C] (12,), P (12, 12)
    (C-contiguous float64), with white accelerations of own PSDs q_T, q_C and shared PSD
    q_common (m^2/s^3; ``pair_noise``); c (12,), the state's covariance with a constant
    consider parameter, becomes Phi c (kernel)."""
    _dynamics.predict_pair(x, P, float(dt_s), float(q_T), float(q_C), float(q_common),
                           float(step_max_s), np.zeros(12) if c is None else c)
