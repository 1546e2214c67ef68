"""Where the Sun is, and whether a point is in the Earth's shadow.

Sun: the low-precision solar coordinates of the Astronomical Almanac, as given in
Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed. (2013), Algorithm 29
(about 0.01 deg over 1950-2050), rotated from the mean equator and equinox of date to
J2000 by neglecting precession over the mission (< 0.02 deg per year from J2000 — below
what the camera model resolves as illumination).

Shadow: the conical umbra/penumbra model (Montenbruck & Gill, "Satellite Orbits" (2000),
Sec. 3.4.2): the fraction of the solar disc visible from the point.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np

from hil.constants import R_EARTH_M

AU_M = 149_597_870_700.0
R_SUN_M = 695_700_000.0
JD_J2000 = 2_451_545.0
_UNIX_EPOCH_JD = 2_440_587.5


def julian_date(epoch_utc: str, t_s: float = 0.0) -> float:
    """Julian date (UT1 ~ UTC here) of an ISO-8601 UTC epoch plus ``t_s`` seconds."""
    dt = datetime.fromisoformat(epoch_utc.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return _UNIX_EPOCH_JD + (dt.timestamp() + t_s) / 86400.0


def sun_position_N(jd: float) -> np.ndarray:
    """Geocentric position of the Sun (m), ECI J2000, at Julian date ``jd`` (Vallado Alg. 29)."""
    t = (jd - JD_J2000) / 36525.0
    lam_m = math.radians((280.460 + 36000.771 * t) % 360.0)
    m = math.radians((357.5291092 + 35999.05034 * t) % 360.0)
    lam = lam_m + math.radians(1.914666471 * math.sin(m) + 0.019994643 * math.sin(2 * m))
    r = (1.000140612 - 0.016708617 * math.cos(m) - 0.000139589 * math.cos(2 * m)) * AU_M
    eps = math.radians(23.439291 - 0.0130042 * t)
    return r * np.array([math.cos(lam), math.cos(eps) * math.sin(lam),
                         math.sin(eps) * math.sin(lam)])


def sunlit_fraction(r_N: np.ndarray, r_sun_N: np.ndarray) -> float:
    """Fraction of the solar disc seen from ``r_N`` (m, ECI): 1 sunlit, 0 umbra (conical model)."""
    s = r_sun_N - r_N
    d_sun = float(np.linalg.norm(s))
    d_earth = float(np.linalg.norm(r_N))
    a = math.asin(min(1.0, R_SUN_M / d_sun))        # apparent radius of the Sun
    b = math.asin(min(1.0, R_EARTH_M / d_earth))    # apparent radius of the Earth
    c = math.acos(max(-1.0, min(1.0, float(-r_N @ s) / (d_earth * d_sun))))  # their separation
    if c >= a + b:
        return 1.0
    if c <= b - a:
        return 0.0
    if c <= a - b:  # the Earth's disc inside the Sun's: an annulus is visible
        return 1.0 - (b * b) / (a * a)
    x = (c * c + a * a - b * b) / (2 * c)
    y = math.sqrt(max(0.0, a * a - x * x))
    area = a * a * math.acos(x / a) + b * b * math.acos((c - x) / b) - c * y
    return 1.0 - area / (math.pi * a * a)
