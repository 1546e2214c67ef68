"""Independent truth for the navigation tests: both orbits by scipy, sensors with seeded noise.

Nothing here comes from flightsw.nav (or from hil): the force model is written out again
(point mass + J2 in the potential-derivative form, plus an exponential-atmosphere drag that the
filters do not model) and integrated by scipy's DOP853 at tight tolerance; impulsive burns are
applied between integration arcs.
"""
import math

import numpy as np
from scipy.integrate import solve_ivp

MU = 3.986004418e14
RE = 6378137.0
J2 = 1.08262668e-3
NS = 1_000_000_000
ARCSEC = math.pi / 648000.0


def accel(r, v, drag_m2_kg=0.0):
    """Point mass + J2 (gradient of U = -mu/r [1 - J2 (RE/r)^2 P2(z/r)]) + drag (m/s^2)."""
    rn = np.linalg.norm(r)
    s = r[2] / rn
    common = -MU / rn ** 3
    j2 = -1.5 * J2 * MU * RE ** 2 / rn ** 5
    a = common * r + j2 * np.array([(1 - 5 * s * s) * r[0], (1 - 5 * s * s) * r[1],
                                    (3 - 5 * s * s) * r[2]])
    if drag_m2_kg:
        rho = 5e-13 * math.exp(-(rn - RE - 500e3) / 60e3)
        v_rel = v - np.cross([0.0, 0.0, 7.292115e-5], r)
        a = a - 0.5 * rho * drag_m2_kg * np.linalg.norm(v_rel) * v_rel
    return a


def trajectory(x0, t_s, burns=(), drag_m2_kg=0.0):
    """States (len(t_s), 6) at the times t_s (s, increasing, >= 0) from x0 at t = 0, with
    impulsive burns [(t_burn_s, dv_rtn)] applied at their times, dv_rtn (m/s) in the
    spacecraft's own RTN frame at the burn (a sample at a burn's time is taken after it)."""
    t_s = np.asarray(t_s, dtype=float)
    marks = sorted(burns, key=lambda b: b[0])
    edges = [0.0] + [b[0] for b in marks] + [t_s[-1] + 1.0]
    out = np.empty((len(t_s), 6))
    x = np.array(x0, dtype=float)
    rhs = lambda t, y: np.concatenate((y[3:], accel(y[:3], y[3:], drag_m2_kg)))  # noqa: E731
    for k in range(len(edges) - 1):
        t0, t1 = edges[k], edges[k + 1]
        mask = (t_s >= t0) & (t_s < t1)
        sol = solve_ivp(rhs, (t0, t1), x, method="DOP853", rtol=1e-12, atol=1e-6,
                        t_eval=np.append(t_s[mask], t1))
        out[mask] = sol.y[:, :-1].T
        x = sol.y[:, -1].copy()
        if k < len(marks):
            x[3:] += rtn_basis(x).T @ np.asarray(marks[k][1], dtype=float)
    return out


def elements_to_state(a, e, i, raan, argp, M):
    """ECI state of classical elements (m, rad), Newton on Kepler's equation."""
    E = M
    for _ in range(30):
        E = E - (E - e * math.sin(E) - M) / (1 - e * math.cos(E))
    nu = 2 * math.atan2(math.sqrt(1 + e) * math.sin(E / 2), math.sqrt(1 - e) * math.cos(E / 2))
    p = a * (1 - e * e)
    r_pf = p / (1 + e * math.cos(nu)) * np.array([math.cos(nu), math.sin(nu), 0.0])
    v_pf = math.sqrt(MU / p) * np.array([-math.sin(nu), e + math.cos(nu), 0.0])
    cO, sO, ci, si, cw, sw = (math.cos(raan), math.sin(raan), math.cos(i), math.sin(i),
                              math.cos(argp), math.sin(argp))
    Q = np.array([[cO * cw - sO * sw * ci, -cO * sw - sO * cw * ci, sO * si],
                  [sO * cw + cO * sw * ci, -sO * sw + cO * cw * ci, -cO * si],
                  [sw * si, cw * si, ci]])
    return np.concatenate((Q @ r_pf, Q @ v_pf))


def rtn_basis(x):
    """Rows R, T, N of the RTN frame of the state x (ECI)."""
    r, v = x[:3], x[3:]
    R = r / np.linalg.norm(r)
    N = np.cross(r, v)
    N /= np.linalg.norm(N)
    return np.vstack((R, np.cross(N, R), N))


def gnss_fixes(states, rng, sigma_r=3.0, sigma_v=0.03):
    """White-noise GNSS fixes of the states (n, 6)."""
    noise = rng.standard_normal(states.shape)
    return states + noise * np.array([sigma_r] * 3 + [sigma_v] * 3)


def noisy_bearing(r_T, r_C, sigma_rad, rng, bias_rad=np.zeros(3)):
    """Unit line of sight chaser -> target rotated by a small bias plus white noise across it."""
    u = (r_T - r_C) / np.linalg.norm(r_T - r_C)
    e = rng.standard_normal(3) * sigma_rad + bias_rad
    e -= (e @ u) * u
    w = u + e
    return w / np.linalg.norm(w)
