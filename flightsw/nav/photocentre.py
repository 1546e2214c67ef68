"""The bearing of an unresolved target's light, corrected to the bearing of its centre.

A partly lit body too small for detection to fit its figure (``detect.figure``) is measured by
its light centroid, which sits off the body's centre towards the Sun: for a Lambertian sphere
of radius R at phase angle a (Sun - target - observer) by

    d = R (3 pi / 16) sin a (1 + cos a) / (sin a + (pi - a) cos a)

across the line of sight (the Lambert radiance, proportional to the cosine of incidence,
integrated over the disc; 0 at full phase, 3 pi R / 16 half lit, 9 pi R / 32 as the crescent
thins; the plant draws its light by the same law, stated there on its own since flight code
never imports the plant). At 5 km a 0.5 m target's
light is up to 12 arcsec off its centre, four times the bearing noise: uncorrected, the offset
turns with the Sun through every orbit and the filter reads it as motion (mid-range: bearings
8-50 arcsec off the centre after the eclipse exit at the 5 km hold, gated, navigation declared
diverged). The correction needs the range (the filter's estimate) and the radius (the cue's),
whose uncertainties enter the bearing's covariance as a fraction of the correction.
"""
from __future__ import annotations

import math

import numpy as np


def photocentre_offset_rad(u_N, to_sun_N, radius_m: float, range_m: float) -> np.ndarray:
    """The light centroid's direction minus the centre's (rad, ECI, perpendicular to u_N), for
    a Lambertian sphere of radius_m at range_m along the unit line of sight u_N, the Sun along
    to_sun_N."""
    u = np.asarray(u_N, dtype=np.float64)
    u = u / np.linalg.norm(u)
    s = np.asarray(to_sun_N, dtype=np.float64)
    s = s / np.linalg.norm(s)
    across = s - (s @ u) * u
    norm = float(np.linalg.norm(across))
    phase = math.acos(max(-1.0, min(1.0, float(-(s @ u)))))
    denominator = math.sin(phase) + (math.pi - phase) * math.cos(phase)
    if norm < 1e-12 or denominator <= 0.0 or not range_m > radius_m > 0.0:
        return np.zeros(3)
    fraction = 3.0 * math.pi / 16.0 * math.sin(phase) * (1.0 + math.cos(phase)) / denominator
    return (radius_m * fraction / range_m) * across / norm


def centre_bearing(u_light_N, P_u, to_sun_N, radius_m: float, range_m: float,
                   relative_sigma: float):
    """(u, P_u) of the centre from the light's bearing u_light_N (unit) and its covariance:
    the offset removed, and (relative_sigma x offset)^2 added across the line of sight."""
    offset = photocentre_offset_rad(u_light_N, to_sun_N, radius_m, range_m)
    u = np.asarray(u_light_N, dtype=np.float64) - offset
    u = u / np.linalg.norm(u)
    var = (relative_sigma * float(np.linalg.norm(offset))) ** 2
    return u, np.asarray(P_u, dtype=np.float64).reshape(3, 3) + var * (np.eye(3) - np.outer(u, u))
