"""Independent truth for the guidance tests: two-body + J2 orbits integrated with scipy.

Written here, not taken from flightsw or hil: Cartesian equations of motion (Vallado 2013,
Sec. 8.7, the gradient of the J2 term), integrated by scipy's DOP853 at tight tolerances, with
impulses applied as velocity jumps. The RTN frame is built from the target's state directly.
"""
import numpy as np
from scipy.integrate import solve_ivp

MU = 3.986004418e14
RE = 6378137.0
J2 = 1.08262668e-3


def accel_j2(r):
    """Two-body + J2 acceleration (m/s^2) at ECI positions r (..., 3)."""
    rn = np.linalg.norm(r, axis=-1, keepdims=True)
    z2 = 5.0 * r[..., 2:3] ** 2 / rn**2
    k = -1.5 * J2 * MU * RE**2 / rn**5
    j2 = k * np.concatenate([r[..., :1] * (1 - z2), r[..., 1:2] * (1 - z2), r[..., 2:3] * (3 - z2)], axis=-1)
    return -MU * r / rn**3 + j2


def _rhs(t, y):
    s = y.reshape(-1, 6)
    return np.concatenate([s[:, 3:], accel_j2(s[:, :3])], axis=1).ravel()


def kepler_state(a, e, i, raan, argp, nu):
    """ECI state of classical elements (own implementation of the perifocal rotation)."""
    p = a * (1 - e * e)
    r_pf = p / (1 + e * np.cos(nu)) * np.array([np.cos(nu), np.sin(nu), 0.0])
    v_pf = np.sqrt(MU / p) * np.array([-np.sin(nu), e + np.cos(nu), 0.0])

    def rot(axis, ang):
        c, s = np.cos(ang), np.sin(ang)
        if axis == 3:
            return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])

    C = rot(3, raan) @ rot(1, i) @ rot(3, argp)
    return C @ r_pf, C @ v_pf


def rtn_basis(r, v):
    R = r / np.linalg.norm(r)
    N = np.cross(r, v)
    N /= np.linalg.norm(N)
    return np.array([R, np.cross(N, R), N])


def relative_rtn(xT, xC):
    """Chaser relative to target in target RTN (position, rotating-frame velocity)."""
    C = rtn_basis(xT[:3], xT[3:])
    rho = C @ (xC[:3] - xT[:3])
    w = np.linalg.norm(np.cross(xT[:3], xT[3:])) / (xT[:3] @ xT[:3])
    return rho, C @ (xC[3:] - xT[3:]) - np.cross([0.0, 0.0, w], rho)


def fly(xT0, xC0, t_end, burns=(), t_eval=None, rtol=1e-11, atol=1e-6, rtn=False):
    """Integrate target and chaser from t=0 to t_end (s); burns: (t_s, dv (3,)) impulses on
    the chaser, ECI or (rtn=True) in the chaser's own RTN frame at the burn. Returns (t (K,), xT (K, 6), xC (K, 6)) at t_eval (default: 1 min steps); a
    sample at a burn time is taken just before the burn."""
    if t_eval is None:
        t_eval = np.arange(0.0, t_end + 1e-9, 60.0)
    t_eval = np.asarray(t_eval, dtype=float)
    dvs = {}
    for t_b, dv in burns:
        if 0.0 <= t_b < t_end:
            dvs[float(t_b)] = dvs.get(float(t_b), np.zeros(3)) + np.asarray(dv, dtype=float)
    y = np.concatenate([xT0, xC0]).astype(float)
    out = []
    t0 = 0.0
    for t1 in sorted(dvs) + [float(t_end)]:
        if t1 > t0:
            keep = t_eval[(t_eval >= t0) & (t_eval < t1)]
            sol = solve_ivp(_rhs, (t0, t1), y, method="DOP853", rtol=rtol, atol=atol,
                            t_eval=np.append(keep, t1))
            out.append((sol.t[:-1], sol.y[:, :-1].T))
            y = sol.y[:, -1].copy()
        if t1 in dvs:
            y[9:12] += rtn_basis(y[6:9], y[9:12]).T @ dvs[t1] if rtn else dvs[t1]
        t0 = t1
    if t_eval.size and t_eval[-1] >= t_end:
        out.append((np.array([t_end]), y[None, :]))
    t = np.concatenate([o[0] for o in out])
    Y = np.concatenate([o[1] for o in out])
    return t, Y[:, :6], Y[:, 6:]
