"""When the camera can image the target: lighting and background along a planned path.

An image of the target is useful when
1. the target is sunlit: outside the Earth's cylindrical shadow (Vallado 2013, algorithm 34:
   behind the Earth from the Sun and within an Earth radius of the Sun line);
2. the boresight (chaser to target) is at least sun_exclusion_rad from the Sun;
3. optionally, the Earth is not behind the target: the boresight is more than the Earth's
   angular radius (asin(R_E / r), plus earth_margin_rad for the lit atmosphere) from nadir.

The relative motion of a fly-around repeats once an orbit, and so do the Sun's and the Earth's
directions in the target's RTN frame (the Sun moves ~1 deg a day): a viewing direction that is
in shadow, against the Sun or against the Earth on one orbit is so on the next. Which
directions a fly-around can image is therefore decided by its phase on the orbit, and a plan
is judged by the coverage of the directions it can image (flyaround.visible_coverage), not of
all it passes.

Positions come from the mean elements (a circular orbit of the mean semi-major axis at the mean
argument of latitude): kilometres off the osculating ones, far below what lighting resolves.
"""
import numpy as np

from flightsw.guidance.elements import R_EARTH_M
from flightsw.guidance.roe import MeanOrbit


def rtn_axes_N(orbit: MeanOrbit):
    """(K, 3) each: the radial, along-track and cross-track unit vectors (ECI) of a circular
    orbit at the mean argument of latitude of ``orbit`` (fields (K,))."""
    u = np.atleast_1d(np.asarray(orbit.u_rad, dtype=np.float64))
    raan = np.broadcast_to(np.asarray(orbit.raan_rad, dtype=np.float64), u.shape)
    inc = np.broadcast_to(np.asarray(orbit.i_rad, dtype=np.float64), u.shape)
    cO, sO, ci, si, cu, su = np.cos(raan), np.sin(raan), np.cos(inc), np.sin(inc), np.cos(u), np.sin(u)
    R = np.column_stack([cO * cu - sO * su * ci, sO * cu + cO * su * ci, su * si])
    N = np.column_stack([sO * si, -cO * si, ci])
    return R, np.cross(N, R), N


def imaging_possible(orbit: MeanOrbit, r_CT_rtn, sun_N, sun_exclusion_rad,
                     earth_background=True, earth_margin_rad=0.0) -> np.ndarray:
    """(K,) bool: whether the target (on ``orbit``, fields (K,)) can be imaged from the chaser
    at r_CT_rtn (3, K) (m, target RTN) with the Sun in direction sun_N (ECI unit vector), by the
    module's rules; earth_background False also refuses the Earth behind the target."""
    R, T, N = rtn_axes_N(orbit)
    a = np.atleast_1d(np.asarray(orbit.a_m, dtype=np.float64))
    r_T = R * a[:, None]
    rel = np.asarray(r_CT_rtn, dtype=np.float64)
    rel_N = R * rel[0][:, None] + T * rel[1][:, None] + N * rel[2][:, None]
    sun = np.asarray(sun_N, dtype=np.float64) / np.linalg.norm(sun_N)
    along_sun = r_T @ sun
    lit = (along_sun > 0.0) | (np.linalg.norm(r_T - along_sun[:, None] * sun, axis=1) > R_EARTH_M)
    boresight = -rel_N / np.maximum(np.linalg.norm(rel_N, axis=1), 1e-9)[:, None]
    off_sun = boresight @ sun < np.cos(sun_exclusion_rad)
    ok = lit & off_sun
    if not earth_background:
        r_C = r_T + rel_N
        dist = np.linalg.norm(r_C, axis=1)
        nadir = -r_C / dist[:, None]
        earth = np.arcsin(np.clip(R_EARTH_M / dist, 0.0, 1.0)) + earth_margin_rad
        ok &= np.einsum("kj,kj->k", boresight, nadir) < np.cos(earth)
    return ok
