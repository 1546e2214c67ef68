"""Low-precision Sun direction for pointing constraints (keep the Sun out of the camera).

Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., 2013, Algorithm 29 (SUN):
the mean longitude and mean anomaly of the Sun grow linearly in Julian centuries T from J2000,
the ecliptic longitude adds the equation of the centre, and the position is rotated from the
ecliptic by the obliquity eps:

    lambda_M = 280.460 deg + 36000.771 T,   M = 357.5291092 deg + 35999.05034 T
    lambda = lambda_M + 1.914666471 deg sin M + 0.019994643 deg sin 2M
    r = 1.000140612 - 0.016708617 cos M - 0.000139589 cos 2M  (AU)
    eps = 23.439291 deg - 0.0130042 T
    r_sun = r [cos lambda, cos eps sin lambda, sin eps sin lambda]

Accurate to about 0.01 deg in the mean-of-date frame (Vallado). The result is used as ECI J2000:
precession since 2000 moves the equinox by ~0.014 deg a year (0.4 deg in 2026), which no Sun
exclusion angle of tens of degrees notices. Times: UTC is taken for UT1 and TDB (seconds apart).
"""
from datetime import datetime, timezone

import numpy as np

AU_M = 149597870700.0
JD_UNIX_EPOCH = 2440587.5
JD_J2000 = 2451545.0
DAYS_PER_CENTURY = 36525.0


def julian_date(epoch_utc: str, t_s: float = 0.0) -> float:
    """Julian date of the ISO-8601 UTC time epoch_utc plus t_s seconds. A time without a zone
    is read as UTC; ValueError for a string that is not ISO-8601."""
    try:
        epoch = datetime.fromisoformat(epoch_utc.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"epoch_utc must be an ISO-8601 UTC time, got {epoch_utc!r}") from None
    if epoch.tzinfo is None:
        epoch = epoch.replace(tzinfo=timezone.utc)
    return JD_UNIX_EPOCH + (epoch.timestamp() + t_s) / 86400.0


def sun_position_N(jd: float) -> np.ndarray:
    """Position of the Sun relative to the Earth (m), ECI, at Julian date jd (Vallado 2013,
    Algorithm 29; module docstring)."""
    T = (jd - JD_J2000) / DAYS_PER_CENTURY
    mean_longitude = np.radians(280.460 + 36000.771 * T)
    M = np.radians(357.5291092 + 35999.05034 * T)
    longitude = mean_longitude + np.radians(1.914666471 * np.sin(M) + 0.019994643 * np.sin(2.0 * M))
    r_au = 1.000140612 - 0.016708617 * np.cos(M) - 0.000139589 * np.cos(2.0 * M)
    eps = np.radians(23.439291 - 0.0130042 * T)
    return r_au * AU_M * np.array([np.cos(longitude), np.cos(eps) * np.sin(longitude),
                                   np.sin(eps) * np.sin(longitude)])


def sun_direction_N(jd: float) -> np.ndarray:
    """Unit vector from the Earth to the Sun, ECI, at Julian date jd (the chaser's offset from
    the Earth's centre turns it by at most 3e-5 rad)."""
    r = sun_position_N(jd)
    return r / np.linalg.norm(r)
