"""Diffuse background: zodiacal/galactic sky, unresolved stars, dark current, and stray light
from the Sun, the sunlit Earth and the Moon outside (or in) the field.

Stray light is the source's irradiance at the aperture times the point-source transmittance
PST(theta) of the baffled optics (detector irradiance / entrance irradiance, e.g. Fest 2013,
Stray Light Analysis and Control, ch. 2), spread over the detector as a plane rising towards the
source's side. PST is a power law in the off-axis angle, floored at the field's corner angle
(a source in the field is imaged; its stray light is then what reaches the corner).
"""

import math

import numpy as np

from hil.camera.params import CameraParams
from hil.camera.photometry import lambert_phase_function, sun_photon_flux_per_m2_s
from hil.camera.readout import PlanarBackground

EARTH_RADIUS_M = 6378137.0
EARTH_ALBEDO = 0.30  # Bond albedo
MOON_RADIUS_M = 1737400.0
MOON_ALBEDO = 0.18  # Lambert albedo reproducing full-Moon V = -12.7


def half_diagonal_fov_rad(params: CameraParams):
    """Angle from the boresight to a corner of the detector."""
    return math.atan(math.hypot(params.n_rows, params.n_cols) / 2.0 / params.focal_length_px)


def point_source_transmittance(off_axis_rad, params: CameraParams):
    """PST(theta) = pst_ref (theta / theta_ref)^-slope, theta floored at the field corner, at most 1."""
    theta = max(float(off_axis_rad), half_diagonal_fov_rad(params))
    pst = params.pst_ref * (theta / math.radians(params.pst_ref_angle_deg)) ** (-params.pst_slope)
    return min(pst, 1.0)


def sphere_irradiance_photons_per_m2_s(r_body_N, r_sun_N, radius_m, albedo):
    """V-band photon irradiance at the camera from a sunlit Lambertian sphere at r_body_N [m].

    E = E_sun (2/3) a (R/d)^2 p(phase): the Lambert-sphere law, exact for a distant observer
    and an approximation for one close to the sphere (the visible cap is then smaller).
    """
    r_body_N, r_sun_N = np.asarray(r_body_N, float), np.asarray(r_sun_N, float)
    d = np.linalg.norm(r_body_N)
    to_sun, to_camera = r_sun_N - r_body_N, -r_body_N
    cos_phase = to_sun @ to_camera / (np.linalg.norm(to_sun) * d)
    phase = math.acos(max(-1.0, min(1.0, float(cos_phase))))
    e_sun = sun_photon_flux_per_m2_s(np.linalg.norm(to_sun))
    return float(e_sun * (2.0 / 3.0) * albedo * (radius_m / d) ** 2 * lambert_phase_function(phase))


def stray_light_plane(direction_C, off_axis_rad, irradiance_photons_per_m2_s, params: CameraParams):
    """Stray-light background [electrons per pixel per exposure] from a source in direction_C."""
    level = (
        irradiance_photons_per_m2_s * point_source_transmittance(off_axis_rad, params) * params.pixel_pitch_m**2
        * params.quantum_efficiency * params.exposure_s
    )
    lateral = np.asarray(direction_C[:2], dtype=float)
    norm = np.linalg.norm(lateral)
    if norm < 1e-12:
        return PlanarBackground(level)
    # rises by stray_light_ramp of its level from the centre to the edge facing the source
    slope = level * params.stray_light_ramp / (0.5 * params.n_cols)
    return PlanarBackground(level, slope * lateral[0] / norm, slope * lateral[1] / norm)


def off_axis_angle_rad(direction_C, angular_radius_rad=0.0):
    """Angle from the boresight (+z) to the nearest point of a body of the given angular radius."""
    d = np.asarray(direction_C, dtype=float)
    theta = math.acos(max(-1.0, min(1.0, d[2] / np.linalg.norm(d))))
    return max(theta - angular_radius_rad, 0.0)


def sum_planes(planes):
    return PlanarBackground(
        sum(p.level_e for p in planes), sum(p.slope_x_e for p in planes), sum(p.slope_y_e for p in planes)
    )
