"""The RTN (radial, transverse/along-track, normal) frame of an orbit, and relative motion in it.

R = r / |r|, N = (r x v) / |r x v|, T = N x R: Vallado's satellite RSW frame ("Fundamentals of
Astrodynamics and Applications", 4th ed., 2013, Ch. 3), the Hill frame of Schaub & Junkins
("Analytical Mechanics of Space Systems", 4th ed., 2018, Ch. 14).
"""

import numpy as np


def rtn_dcm(r_N, v_N):
    """DCM C_RN (3, 3) whose rows are R, T, N in ECI components: x_rtn = C_RN @ x_N.

    r_N (m), v_N (m/s): the position and velocity, ECI, that define the frame.
    """
    r = np.asarray(r_N, dtype=np.float64)
    h = np.cross(r, np.asarray(v_N, dtype=np.float64))
    r_norm, h_norm = np.linalg.norm(r), np.linalg.norm(h)
    if not (r_norm > 0.0 and h_norm > 0.0):
        raise ValueError("RTN frame undefined: r = 0 or r parallel to v")
    r_hat = r / r_norm
    n_hat = h / h_norm
    return np.array([r_hat, np.cross(n_hat, r_hat), n_hat])


def relative_rtn(r_c, v_c, r_d, v_d, *, a_c=None):
    """Position (m) and velocity (m/s) of a deputy relative to a chief, in the chief's RTN frame.

    r_c, v_c, r_d, v_d: ECI positions (m) and velocities (m/s) of chief and deputy.
    rho_rtn = C_RN (r_d - r_c) and rho_dot_rtn = C_RN ((v_d - v_c) - omega_RN x (r_d - r_c)),
    the velocity seen by an observer rotating with the frame (transport theorem). The frame's
    angular velocity is omega_RN = (r (a_c . N) / h) R + (h / r^2) N, from dR/dt = (v_T / r) T and
    dN/dt = (r x a_c)_perp / h. `a_c` is the chief's ECI acceleration (m/s^2); without it the
    rotation about R is dropped, which is exact for a Keplerian chief and, under J2 in LEO, errs
    by up to ~1.5e-6 rad/s times the along-track and cross-track separations.
    """
    r_c = np.asarray(r_c, dtype=np.float64)
    v_c = np.asarray(v_c, dtype=np.float64)
    c_rn = rtn_dcm(r_c, v_c)
    rho_N = np.asarray(r_d, dtype=np.float64) - r_c
    rho_dot_N = np.asarray(v_d, dtype=np.float64) - v_c
    r_norm = np.linalg.norm(r_c)
    h_norm = np.linalg.norm(np.cross(r_c, v_c))
    omega_rtn = np.array([0.0, 0.0, h_norm / r_norm**2])
    if a_c is not None:
        omega_rtn[0] = r_norm * (c_rn[2] @ np.asarray(a_c, dtype=np.float64)) / h_norm
    rho_rtn = c_rn @ rho_N
    return rho_rtn, c_rn @ rho_dot_N - np.cross(omega_rtn, rho_rtn)
