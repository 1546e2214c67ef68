"""Exponential atmosphere of Vallado's Table 8-4, and the altitude it is indexed by.

Density follows rho(h) = rho0_k * exp(-(h - h0_k) / H_k) in the band k with h0_k <= h < h0_(k+1)
(Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., 2013, Sec. 8.6 and
Table 8-4). The table is static (U.S. Standard Atmosphere 1976 below 25 km, CIRA-72 above):
real density at 500 km swings by a factor of ~10 over the solar cycle, so treat the ballistic
coefficient as the knob that sets how strong drag is, not as a measured property.

Both functions are numba kernels: the propagator calls them at every stage, and Python can call
them too (scalars in, scalar out).
"""

import numpy as np
from numba import njit

from hil.constants import FLATTENING_EARTH, R_EARTH_M

# Vallado (2013) Table 8-4: base altitude h0 (km), nominal density rho0 (kg/m^3), scale
# height H (km). The last band extends above 1000 km.
_TABLE_8_4 = np.array([
    (0.0, 1.225, 7.249),
    (25.0, 3.899e-2, 6.349),
    (30.0, 1.774e-2, 6.682),
    (40.0, 3.972e-3, 7.554),
    (50.0, 1.057e-3, 8.382),
    (60.0, 3.206e-4, 7.714),
    (70.0, 8.770e-5, 6.549),
    (80.0, 1.905e-5, 5.799),
    (90.0, 3.396e-6, 5.382),
    (100.0, 5.297e-7, 5.877),
    (110.0, 9.661e-8, 7.263),
    (120.0, 2.438e-8, 9.473),
    (130.0, 8.484e-9, 12.636),
    (140.0, 3.845e-9, 16.149),
    (150.0, 2.070e-9, 22.523),
    (180.0, 5.464e-10, 29.740),
    (200.0, 2.789e-10, 37.105),
    (250.0, 7.248e-11, 45.546),
    (300.0, 2.418e-11, 53.628),
    (350.0, 9.518e-12, 53.298),
    (400.0, 3.725e-12, 58.515),
    (450.0, 1.585e-12, 60.828),
    (500.0, 6.967e-13, 63.822),
    (600.0, 1.454e-13, 71.835),
    (700.0, 3.614e-14, 88.667),
    (800.0, 1.170e-14, 124.64),
    (900.0, 5.245e-15, 181.05),
    (1000.0, 3.019e-15, 268.00),
])

BASE_ALTITUDE_M = _TABLE_8_4[:, 0] * 1e3
NOMINAL_DENSITY_KG_M3 = _TABLE_8_4[:, 1].copy()
SCALE_HEIGHT_M = _TABLE_8_4[:, 2] * 1e3


@njit(cache=True)
def density_kg_m3(altitude_m):
    """Atmospheric density (kg/m^3) at `altitude_m` (m above the WGS-84 ellipsoid).

    Vallado (2013), Sec. 8.6, with Table 8-4. Below sea level the sea-level band is used, so a
    trajectory that grazes the surface sees a steeply rising density rather than a jump.
    """
    k = BASE_ALTITUDE_M.shape[0] - 1
    while k > 0 and altitude_m < BASE_ALTITUDE_M[k]:
        k -= 1
    return NOMINAL_DENSITY_KG_M3[k] * np.exp(-(altitude_m - BASE_ALTITUDE_M[k]) / SCALE_HEIGHT_M[k])


@njit(cache=True)
def ellipsoidal_altitude_m(x_m, y_m, z_m):
    """Height (m) of the point (x, y, z) (Earth-centred, m) above the WGS-84 ellipsoid.

    Uses the ellipsoid radius at the geocentric latitude, R_E (1 - f sin^2 phi'), to first order
    in the flattening f; the error against the exact geodetic height is under 30 m (second order
    in f), 0.05 % of density at a 60 km scale height, where ignoring the flattening would
    misplace the density by up to 21 km (a factor of 1.4) at the poles.
    """
    r = np.sqrt(x_m * x_m + y_m * y_m + z_m * z_m)
    sin_lat = z_m / r
    return r - R_EARTH_M * (1.0 - FLATTENING_EARTH * sin_lat * sin_lat)
