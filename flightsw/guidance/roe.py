"""Relative orbital elements (ROE) and their motion under J2: the guidance's relative-motion model.

Quasi-nonsingular ROE of a deputy (the chaser C) with respect to a chief (the target T), both in
mean elements (D'Amico, "Autonomous Formation Flying in Low Earth Orbit", PhD thesis, TU Delft,
2010, eq. 2.2):

    roe = [da, dlambda, dex, dey, dix, diy]
        = [(a_C - a_T)/a_T, (u_C - u_T) + (raan_C - raan_T) cos i_T,
           ex_C - ex_T, ey_C - ey_T, i_C - i_T, (raan_C - raan_T) sin i_T]

with u = argp + M the mean argument of latitude and (ex, ey) = e (cos argp, sin argp).
Multiplied by a_T they are lengths: a*da is the offset in semi-major axis, a*dlambda the
along-track separation, a*|de| and a*|di| the radial and cross-track amplitudes.

The mean elements move with the first-order secular J2 rates (Brouwer 1959; Vallado 2013,
Sec. 9.6): raan' = -2 kappa cos i, argp' = kappa (5 cos^2 i - 1), M' = n + kappa eta (3 cos^2 i
- 1), kappa = (3/4) J2 (R/a)^2 n / eta^4. Propagating both spacecraft's mean elements and
differencing is exact under that model for any separation (the 2000 km phasing included); the
linear state transition matrix is Koenig, Guffanti & D'Amico, "New State Transition Matrices
for Spacecraft Relative Motion in Perturbed Orbits", JGCD 40(7), 2017, Sec. V (near-circular
chief). Positions follow from the ROE by the first-order map of D'Amico 2010 (eq. 2.17), valid
while the separation is small against a (metre-level errors at tens of km).
"""
from typing import NamedTuple

import numpy as np

from flightsw.guidance.elements import (J2_EARTH, MU_EARTH_M3_S2, R_EARTH_M, Elements,
                                        elements_from_state, state_from_elements)
from flightsw.guidance.mean_elements import (j2_energy_sma, mean_to_osculating,
                                             osculating_to_mean)

TWO_PI = 2.0 * np.pi


class MeanOrbit(NamedTuple):
    """Mean quasi-nonsingular elements: a (m), u = argp + M (rad), ex, ey, i (rad), raan (rad).

    Fields may be arrays of one shape (an orbit sampled at several times).
    """

    a_m: np.ndarray
    u_rad: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    i_rad: np.ndarray
    raan_rad: np.ndarray

    @property
    def n_rad_s(self):
        """Keplerian mean motion (rad/s)."""
        return np.sqrt(MU_EARTH_M3_S2 / np.asarray(self.a_m) ** 3)


def mean_orbit_from_elements(el: Elements) -> MeanOrbit:
    return MeanOrbit(el.a_m, (el.argp_rad + el.M_rad) % TWO_PI, el.e * np.cos(el.argp_rad),
                     el.e * np.sin(el.argp_rad), el.i_rad, el.raan_rad)


def elements_from_mean_orbit(m: MeanOrbit) -> Elements:
    e = float(np.hypot(m.ex, m.ey))
    argp = float(np.arctan2(m.ey, m.ex)) if e > 0.0 else 0.0
    return Elements(float(m.a_m), e, float(m.i_rad), float(m.raan_rad) % TWO_PI, argp % TWO_PI,
                    (float(m.u_rad) - argp) % TWO_PI)


def mean_orbit_from_state(r_N, v_N) -> MeanOrbit:
    """Mean elements of an ECI state (m, m/s) through the Brouwer-Lyddane map."""
    return mean_orbit_from_elements(osculating_to_mean(elements_from_state(r_N, v_N)))


def state_from_mean_orbit(m: MeanOrbit):
    """ECI position (m) and velocity (m/s) of mean elements (one epoch)."""
    return state_from_elements(mean_to_osculating(elements_from_mean_orbit(m)))


def j2_rates(m: MeanOrbit):
    """Secular J2 rates (rad/s) of u, argp and raan of mean elements (module docstring)."""
    a = np.asarray(m.a_m)
    eta2 = 1.0 - (np.asarray(m.ex) ** 2 + np.asarray(m.ey) ** 2)
    n = np.sqrt(MU_EARTH_M3_S2 / a**3)
    kappa = 0.75 * J2_EARTH * (R_EARTH_M / a) ** 2 * n / eta2**2
    c2 = np.cos(m.i_rad) ** 2
    argp_dot = kappa * (5.0 * c2 - 1.0)
    u_dot = n + kappa * np.sqrt(eta2) * (3.0 * c2 - 1.0) + argp_dot
    return u_dot, argp_dot, -2.0 * kappa * np.cos(m.i_rad)


def propagate_mean(m: MeanOrbit, dt_s) -> MeanOrbit:
    """Mean elements after dt_s (s, scalar or array): a, e, i constant, e-vector rotating at
    argp', u and raan advancing at their secular rates (first-order J2, no drag)."""
    dt = np.asarray(dt_s, dtype=np.float64)
    u_dot, argp_dot, raan_dot = j2_rates(m)
    c, s = np.cos(argp_dot * dt), np.sin(argp_dot * dt)
    ones = np.ones_like(dt)
    return MeanOrbit(m.a_m * ones, (m.u_rad + u_dot * dt) % TWO_PI, m.ex * c - m.ey * s,
                     m.ex * s + m.ey * c, m.i_rad * ones, (m.raan_rad + raan_dot * dt) % TWO_PI)


def wrap_pi(angle):
    """Angle (rad) wrapped to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % TWO_PI - np.pi


def roe_from_mean(chief: MeanOrbit, deputy: MeanOrbit) -> np.ndarray:
    """ROE (6,) or (6, K) of deputy w.r.t. chief (D'Amico 2010, eq. 2.2)."""
    d_raan = wrap_pi(np.asarray(deputy.raan_rad) - chief.raan_rad)
    return np.array([
        (np.asarray(deputy.a_m) - chief.a_m) / chief.a_m,
        wrap_pi(np.asarray(deputy.u_rad) - chief.u_rad) + d_raan * np.cos(chief.i_rad),
        np.asarray(deputy.ex) - chief.ex,
        np.asarray(deputy.ey) - chief.ey,
        np.asarray(deputy.i_rad) - chief.i_rad,
        d_raan * np.sin(chief.i_rad),
    ])


def mean_from_roe(chief: MeanOrbit, roe) -> MeanOrbit:
    """The deputy's mean elements given the chief's and the ROE (inverse of roe_from_mean)."""
    da, dl, dex, dey, dix, diy = np.asarray(roe, dtype=np.float64)
    d_raan = diy / np.sin(chief.i_rad)
    return MeanOrbit(chief.a_m * (1.0 + da), (chief.u_rad + dl - d_raan * np.cos(chief.i_rad)) % TWO_PI,
                     chief.ex + dex, chief.ey + dey, chief.i_rad + dix,
                     (chief.raan_rad + d_raan) % TWO_PI)


def mean_roe_from_states(r_T_N, v_T_N, r_C_N, v_C_N):
    """Mean chief elements and mean ROE of C w.r.t. T from their ECI states (m, m/s).

    Every element through the Brouwer-Lyddane map, except da: the difference of the J2-energy
    semi-major axes (mean_elements.j2_energy_sma), which carries no short-period residual, so
    the along-track drift predicted from it holds over days.
    """
    chief = mean_orbit_from_state(r_T_N, v_T_N)
    roe = roe_from_mean(chief, mean_orbit_from_state(r_C_N, v_C_N))
    roe[0] = (j2_energy_sma(r_C_N, v_C_N) - j2_energy_sma(r_T_N, v_T_N)) / chief.a_m
    return chief, roe


def roe_stm(chief: MeanOrbit, dt_s) -> np.ndarray:
    """State transition matrix (6, 6) of the ROE over dt_s (s) under J2, near-circular chief
    (Koenig, Guffanti & D'Amico 2017, eq. for Phi_J2^qns with e_T = 0)."""
    n = float(chief.n_rad_s)
    a = float(chief.a_m)
    kappa = 0.75 * J2_EARTH * (R_EARTH_M / a) ** 2 * n
    i = float(chief.i_rad)
    P, Q, S, T = 3.0 * np.cos(i) ** 2 - 1.0, 5.0 * np.cos(i) ** 2 - 1.0, np.sin(2.0 * i), np.sin(i) ** 2
    w = kappa * Q * dt_s
    Phi = np.eye(6)
    Phi[1, 0] = -(1.5 * n + 7.0 * kappa * P) * dt_s
    Phi[1, 4] = -7.0 * kappa * S * dt_s
    Phi[2:4, 2:4] = [[np.cos(w), -np.sin(w)], [np.sin(w), np.cos(w)]]
    Phi[5, 0] = 3.5 * kappa * S * dt_s
    Phi[5, 4] = 2.0 * kappa * T * dt_s
    return Phi


def roe_stm_series(chief: MeanOrbit, dt_s) -> np.ndarray:
    """roe_stm at each of the times dt_s (K,) at once: (K, 6, 6)."""
    dt = np.atleast_1d(np.asarray(dt_s, dtype=np.float64))
    n = float(chief.n_rad_s)
    kappa = 0.75 * J2_EARTH * (R_EARTH_M / float(chief.a_m)) ** 2 * n
    i = float(chief.i_rad)
    P, Q, S, T = 3.0 * np.cos(i) ** 2 - 1.0, 5.0 * np.cos(i) ** 2 - 1.0, np.sin(2.0 * i), np.sin(i) ** 2
    w = kappa * Q * dt
    Phi = np.broadcast_to(np.eye(6), (dt.size, 6, 6)).copy()
    Phi[:, 1, 0] = -(1.5 * n + 7.0 * kappa * P) * dt
    Phi[:, 1, 4] = -7.0 * kappa * S * dt
    Phi[:, 2, 2], Phi[:, 2, 3] = np.cos(w), -np.sin(w)
    Phi[:, 3, 2], Phi[:, 3, 3] = np.sin(w), np.cos(w)
    Phi[:, 5, 0] = 3.5 * kappa * S * dt
    Phi[:, 5, 4] = 2.0 * kappa * T * dt
    return Phi


def roe_control_matrix(a_m, u_rad) -> np.ndarray:
    """Gamma (6, 3): ROE change per impulsive delta-v (m/s) in the deputy's RTN frame at mean
    argument of latitude u (rad), near-circular Gauss variational equations (D'Amico 2010,
    eq. 2.38): d(roe) = Gamma @ dv_rtn."""
    n = np.sqrt(MU_EARTH_M3_S2 / a_m**3)
    s, c = np.sin(u_rad), np.cos(u_rad)
    return np.array([
        [0.0, 2.0, 0.0],
        [-2.0, 0.0, 0.0],
        [s, 2.0 * c, 0.0],
        [-c, 2.0 * s, 0.0],
        [0.0, 0.0, c],
        [0.0, 0.0, s],
    ]) / (n * a_m)


def rtn_from_roe(roe, a_m, u_rad):
    """Relative position (m) and velocity (m/s) of the deputy in the chief's RTN frame from the
    ROE, first order in the separation (D'Amico 2010, eq. 2.17, with the J2-free velocities
    d/dt of it). roe (6,) or (6, K); u_rad the chief's mean argument of latitude, scalar or
    (K,). Returns r (3, K), v (3, K) (or (3,) for one state)."""
    da, dl, dex, dey, dix, diy = np.asarray(roe, dtype=np.float64)
    n = np.sqrt(MU_EARTH_M3_S2 / a_m**3)
    s, c = np.sin(u_rad), np.cos(u_rad)
    r = a_m * np.array([da - dex * c - dey * s,
                        dl + 2.0 * dex * s - 2.0 * dey * c,
                        dix * s - diy * c])
    v = a_m * n * np.array([dex * s - dey * c,
                            -1.5 * da + 2.0 * dex * c + 2.0 * dey * s,
                            dix * c + diy * s])
    return r, v


def roe_from_rtn(r_rtn, v_rtn, a_m, u_rad) -> np.ndarray:
    """Inverse of rtn_from_roe: ROE (6,) from relative position (m) and velocity (m/s)."""
    n = np.sqrt(MU_EARTH_M3_S2 / a_m**3)
    x, y, z = np.asarray(r_rtn, dtype=np.float64) / a_m
    vx, vy, vz = np.asarray(v_rtn, dtype=np.float64) / (a_m * n)
    s, c = np.sin(u_rad), np.cos(u_rad)
    # From x = da - dex c - dey s, vx = dex s - dey c, vy = -1.5 da + 2 dex c + 2 dey s:
    da = 4.0 * x + 2.0 * vy
    dex = 3.0 * x * c + 2.0 * vy * c + vx * s
    dey = 3.0 * x * s + 2.0 * vy * s - vx * c
    dl = y - 2.0 * vx
    return np.array([da, dl, dex, dey, z * s + vz * c, -z * c + vz * s])
