"""Photometry: V magnitudes to photons and electrons, and the brightness of a Lambertian sphere.

Zero point: Vega-system V = 0 has a flux density of 3.631e-9 erg s^-1 cm^-2 A^-1 at the
effective wavelength 0.545 um (Bessell, Castelli & Plez 1998, A&A 333, 231, Table A2). Over the
V band's equivalent width of 0.088 um (Bessell 1990, PASP 102, 1181) that is
8.8e9 photons s^-1 m^-2, the "about 1e10 photons/s/m^2" of the usual rule of thumb.
"""

import numpy as np

PLANCK_J_S = 6.62607015e-34
SPEED_OF_LIGHT_M_S = 299792458.0
V_ZERO_POINT_W_M2_M = 3.631e-9 * 1e-7 * 1e4 * 1e10  # erg/s/cm^2/A -> W/m^2/m
V_EFFECTIVE_WAVELENGTH_M = 0.545e-6
V_EQUIVALENT_WIDTH_M = 0.088e-6
V0_PHOTON_FLUX_PER_M2_S = (
    V_ZERO_POINT_W_M2_M * V_EQUIVALENT_WIDTH_M / (PLANCK_J_S * SPEED_OF_LIGHT_M_S / V_EFFECTIVE_WAVELENGTH_M)
)
# Apparent V magnitude of the Sun at 1 au (the value the Lambert-sphere formula is written with).
SUN_V_MAG_1AU = -26.74
AU_M = 1.495978707e11
ARCSEC_RAD = np.pi / (180.0 * 3600.0)


def photon_flux_from_vmag(v_mag, v0_photon_flux_per_m2_s=V0_PHOTON_FLUX_PER_M2_S):
    """Photon flux [photons s^-1 m^-2] in the V band from a V magnitude (Pogson's law)."""
    return v0_photon_flux_per_m2_s * 10.0 ** (-0.4 * np.asarray(v_mag, dtype=float))


def lambert_phase_function(phase_rad):
    """Phase function of a Lambertian sphere, p(phi) = ((pi - phi) cos phi + sin phi) / pi.

    p(0) = 1 (full), p(pi) = 0 (new). Russell 1916, ApJ 43, 173 (the Lambert phase law).
    """
    phi = np.asarray(phase_rad, dtype=float)
    if np.any((phi < 0) | (phi > np.pi)):
        raise ValueError("phase angle must lie in [0, pi] rad")
    return ((np.pi - phi) * np.cos(phi) + np.sin(phi)) / np.pi


def lambert_sphere_vmag(radius_m, range_m, albedo, phase_rad, sun_range_m=AU_M):
    """V magnitude of a sunlit Lambertian sphere seen from range_m at a phase angle.

    m = m_sun - 2.5 log10( (2/3) a R^2 / d^2 p(phi) ), with the Sun's magnitude scaled from
    1 au to sun_range_m by the inverse square law. The (2/3) a factor is the sphere's
    geometric albedo (a is the Lambertian surface albedo).
    """
    radius_m, range_m, albedo = (np.asarray(v, dtype=float) for v in (radius_m, range_m, albedo))
    if np.any(radius_m <= 0) or np.any(range_m <= radius_m):
        raise ValueError("need radius_m > 0 and range_m > radius_m")
    if np.any((albedo <= 0) | (albedo > 1)):
        raise ValueError("albedo must lie in (0, 1]")
    sun_mag = SUN_V_MAG_1AU + 5.0 * np.log10(np.asarray(sun_range_m, dtype=float) / AU_M)
    ratio = (2.0 / 3.0) * albedo * radius_m**2 / range_m**2 * lambert_phase_function(phase_rad)
    with np.errstate(divide="ignore"):
        return sun_mag - 2.5 * np.log10(ratio)


def sun_photon_flux_per_m2_s(sun_range_m=AU_M):
    """V-band photon flux of the Sun [photons s^-1 m^-2] at sun_range_m."""
    return photon_flux_from_vmag(SUN_V_MAG_1AU) * (AU_M / np.asarray(sun_range_m, dtype=float)) ** 2


def photon_flux_from_surface_brightness(v_mag_per_arcsec2, solid_angle_sr):
    """Photon flux [photons s^-1 m^-2] collected from solid_angle_sr of a surface of given brightness."""
    return photon_flux_from_vmag(v_mag_per_arcsec2) * solid_angle_sr / ARCSEC_RAD**2
