"""Accelerations on a spacecraft in Earth orbit, ECI J2000 (N), SI units.

The force model of the plant's truth orbit: point-mass Earth, the J2 zonal harmonic, and drag
in an atmosphere that rotates with the Earth. Each function is a numba kernel on scalars so that
the integrator's stages stay allocation-free; Python can call them too.

The J2 field is symmetric about the z axis of N, i.e. the Earth's pole of the J2000 epoch; the
pole of date has moved ~0.15 deg from it by 2026, tilting the axis about which nodes regress.
Both spacecraft feel the same field, so their relative motion is unaffected to first order.
"""

import numpy as np
from numba import njit

from hil.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, R_EARTH_M
from hil.orbit.atmosphere import density_kg_m3, ellipsoidal_altitude_m


@njit(cache=True)
def gravity_accel(x_m, y_m, z_m, j2):
    """Two-body plus J2 acceleration (m/s^2) at position (x, y, z) (m, ECI).

    a = -mu r / |r|^3 + a_J2 with
    a_J2 = -(3/2) J2 mu R_E^2 / |r|^5 * [x (1 - 5 z^2/r^2), y (1 - 5 z^2/r^2), z (3 - 5 z^2/r^2)]
    (the gradient of the J2 term of the geopotential: Vallado 2013, Ch. 8; Curtis, "Orbital
    Mechanics for Engineering Students", the chapter on orbital perturbations).
    `j2` = 0 gives the two-body acceleration alone.
    """
    r2 = x_m * x_m + y_m * y_m + z_m * z_m
    r = np.sqrt(r2)
    mu_r3 = MU_EARTH_M3_S2 / (r2 * r)
    j2_factor = -1.5 * j2 * MU_EARTH_M3_S2 * R_EARTH_M * R_EARTH_M / (r2 * r2 * r)
    z2_r2 = 5.0 * z_m * z_m / r2
    return (
        -mu_r3 * x_m + j2_factor * x_m * (1.0 - z2_r2),
        -mu_r3 * y_m + j2_factor * y_m * (1.0 - z2_r2),
        -mu_r3 * z_m + j2_factor * z_m * (3.0 - z2_r2),
    )


@njit(cache=True)
def drag_accel(x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s, inv_ballistic_m2_kg):
    """Drag acceleration (m/s^2) of a spacecraft at (x, y, z) (m, ECI) moving at (vx, vy, vz).

    a = -(1/2) rho (C_D A / m) |v_rel| v_rel, with v_rel = v - omega_E x r the velocity relative
    to an atmosphere co-rotating with the Earth (Vallado 2013, Sec. 8.6);
    `inv_ballistic_m2_kg` = C_D A / m, the inverse of the ballistic coefficient (0 turns drag off).
    """
    if inv_ballistic_m2_kg == 0.0:
        return 0.0, 0.0, 0.0
    vrx = vx_m_s + OMEGA_EARTH_RAD_S * y_m
    vry = vy_m_s - OMEGA_EARTH_RAD_S * x_m
    vrz = vz_m_s
    rho = density_kg_m3(ellipsoidal_altitude_m(x_m, y_m, z_m))
    k = -0.5 * rho * inv_ballistic_m2_kg * np.sqrt(vrx * vrx + vry * vry + vrz * vrz)
    return k * vrx, k * vry, k * vrz
