"""Classical (Keplerian) orbital elements <-> Cartesian state, for elliptic orbits.

Angles in radians, distances in metres, ECI J2000. Conversions follow Vallado, "Fundamentals of
Astrodynamics and Applications", 4th ed., 2013, Algorithms 9 (RV2COE) and 10 (COE2RV).

Where an element is undefined the conventions of Vallado's special cases hold, measured in the
orbit plane about the angular momentum, so that the round trip r, v -> elements -> r, v is exact:
- equatorial orbit (no ascending node): raan = 0, and the node direction is the x axis of N, so
  argp is the longitude of periapsis measured in the direction of motion;
- circular orbit (no periapsis): argp = 0, and nu is the argument of latitude (from the node, or
  from the x axis of N if also equatorial: the true longitude).
"""

from typing import NamedTuple

import numpy as np

from hil.constants import MU_EARTH_M3_S2

# Below this eccentricity, or this sine of inclination, an orbit is treated as circular or
# equatorial: the angle that would be measured from the ill-defined direction is then noise.
SINGULARITY_TOLERANCE = 1e-11


class OrbitalElements(NamedTuple):
    """Classical elements of an elliptic orbit (SI units, radians)."""

    a_m: float
    e: float
    i_rad: float
    raan_rad: float
    argp_rad: float
    nu_rad: float


def elements_to_rv(a_m, e, i_rad, raan_rad, argp_rad, nu_rad, mu=MU_EARTH_M3_S2):
    """Position (m) and velocity (m/s), ECI, of the elliptic orbit with the given elements.

    Perifocal state r = p / (1 + e cos nu) [cos nu, sin nu, 0], v = sqrt(mu/p) [-sin nu,
    e + cos nu, 0], rotated by R3(-raan) R1(-i) R3(-argp) (Vallado 2013, Algorithm 10).
    """
    if not (np.isfinite(a_m) and a_m > 0.0):
        raise ValueError(f"semi-major axis must be finite and > 0 m, got {a_m!r}")
    if not (0.0 <= e < 1.0):
        raise ValueError(f"eccentricity must be in [0, 1) for an elliptic orbit, got {e!r}")
    angles = np.array([i_rad, raan_rad, argp_rad, nu_rad], dtype=np.float64)
    if not np.isfinite(angles).all():
        raise ValueError(f"angles must be finite, got {angles}")
    p = a_m * (1.0 - e * e)
    cos_nu, sin_nu = np.cos(nu_rad), np.sin(nu_rad)
    r_pqw = p / (1.0 + e * cos_nu) * np.array([cos_nu, sin_nu, 0.0])
    v_pqw = np.sqrt(mu / p) * np.array([-sin_nu, e + cos_nu, 0.0])
    c_npqw = _perifocal_to_inertial(i_rad, raan_rad, argp_rad)
    return c_npqw @ r_pqw, c_npqw @ v_pqw


def rv_to_elements(r_N, v_N, mu=MU_EARTH_M3_S2):
    """Classical elements of the elliptic orbit through position r_N (m), velocity v_N (m/s).

    Angular momentum h = r x v, node vector n = z x h, eccentricity vector
    e = ((v^2 - mu/r) r - (r.v) v) / mu, a = -mu / (2 energy) (Vallado 2013, Algorithm 9);
    angles are taken with atan2 about h, which gives each its full 0..2 pi range without
    quadrant checks. Raises ValueError for a non-elliptic or rectilinear state.
    """
    r = np.asarray(r_N, dtype=np.float64)
    v = np.asarray(v_N, dtype=np.float64)
    if r.shape != (3,) or v.shape != (3,) or not (np.isfinite(r).all() and np.isfinite(v).all()):
        raise ValueError("r_N and v_N must be finite 3-vectors")
    r_norm = np.linalg.norm(r)
    h = np.cross(r, v)
    h_norm = np.linalg.norm(h)
    if r_norm == 0.0 or h_norm <= 1e-12 * r_norm * np.linalg.norm(v):
        raise ValueError("state is rectilinear (r parallel to v or r = 0): no orbit plane")
    energy = 0.5 * (v @ v) - mu / r_norm
    if energy >= 0.0:
        raise ValueError(f"state is not elliptic (specific energy {energy:.6g} J/kg >= 0)")
    h_hat = h / h_norm
    e_vec = ((v @ v - mu / r_norm) * r - (r @ v) * v) / mu
    e = np.linalg.norm(e_vec)
    node = np.array([-h[1], h[0], 0.0])
    node_norm = np.linalg.norm(node)
    equatorial = node_norm <= SINGULARITY_TOLERANCE * h_norm
    node_hat = np.array([1.0, 0.0, 0.0]) if equatorial else node / node_norm
    circular = e <= SINGULARITY_TOLERANCE
    raan = 0.0 if equatorial else np.arctan2(node[1], node[0]) % (2.0 * np.pi)
    if circular:
        argp = 0.0
        nu = _angle_about(node_hat, r, h_hat)
    else:
        argp = _angle_about(node_hat, e_vec, h_hat)
        nu = _angle_about(e_vec, r, h_hat)
    i = np.arctan2(node_norm, h[2])
    return OrbitalElements(float(-mu / (2.0 * energy)), float(e), float(i), float(raan),
                          float(argp), float(nu))


def _angle_about(from_vec, to_vec, axis_hat):
    """Angle (rad, in [0, 2 pi)) from `from_vec` to `to_vec`, positive about `axis_hat`."""
    angle = np.arctan2(axis_hat @ np.cross(from_vec, to_vec), from_vec @ to_vec)
    return angle % (2.0 * np.pi)


def _perifocal_to_inertial(i_rad, raan_rad, argp_rad):
    """DCM [N <- PQW] = R3(-raan) R1(-i) R3(-argp) (Vallado 2013, Algorithm 10)."""
    c_o, s_o = np.cos(raan_rad), np.sin(raan_rad)
    c_i, s_i = np.cos(i_rad), np.sin(i_rad)
    c_w, s_w = np.cos(argp_rad), np.sin(argp_rad)
    return np.array([
        [c_o * c_w - s_o * s_w * c_i, -c_o * s_w - s_o * c_w * c_i, s_o * s_i],
        [s_o * c_w + c_o * s_w * c_i, -s_o * s_w + c_o * c_w * c_i, -c_o * s_i],
        [s_w * s_i, c_w * s_i, c_i],
    ])
