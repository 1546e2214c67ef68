"""Diffuse background: zodiacal/galactic sky, unresolved stars, dark current, and stray light
from the Sun, the sunlit Earth and the Moon outside (or in) the field.

Stray light is the source's irradiance at the aperture times the point-source transmittance
PST(theta) of the baffled optics (detector irradiance / entrance irradiance, e.g. Fest 2013,
Stray Light Analysis and Control, ch. 2), spread over the detector as a plane rising towards the
source's side. PST is a power law in the off-axis angle, floored at the field's corner angle
(a source in the field is imaged; its stray light is then what reaches the corner). Extended
bodies (the Earth from low orbit spans 130 deg) are integrated element by element.
"""

import math

import numpy as np

from hil.camera.params import CameraParams
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
    theta = np.maximum(np.asarray(off_axis_rad, dtype=float), half_diagonal_fov_rad(params))
    pst = params.pst_ref * (theta / math.radians(params.pst_ref_angle_deg)) ** (-params.pst_slope)
    return np.minimum(pst, 1.0)


def sunlit_sphere_stray_plane(r_body_C, radius_m, albedo, sun_C, sun_photon_flux_per_m2_s, params: CameraParams,
                              n_rings=24, n_sectors=48):
    """Stray light [e-/px/exposure] from a sunlit Lambertian sphere at r_body_C (camera frame, m).

    The sphere's disk is cut into n_rings x n_sectors elements of solid angle; each adds its
    radiance a E_sun cos(i) / pi times its solid angle times PST at its own off-axis angle, so
    that a body filling half the sky (the Earth from low orbit) is weighted by where its light
    really comes from. sun_C: unit vector from the sphere towards the Sun.
    """
    r_body_C = np.asarray(r_body_C, dtype=float)
    d = float(np.linalg.norm(r_body_C))
    axis = r_body_C / d
    rho = math.asin(min(1.0, radius_m / d))
    # e1, e2: axis x helper (normalised) and axis x e1, written out (np.cross costs ~20 us on 3-vectors)
    if abs(axis[0]) < 0.9:  # helper x
        e1 = np.array([0.0, axis[2], -axis[1]])
    else:  # helper y
        e1 = np.array([-axis[2], 0.0, axis[0]])
    e1 /= math.sqrt(e1 @ e1)
    e2 = np.array([axis[1] * e1[2] - axis[2] * e1[1], axis[2] * e1[0] - axis[0] * e1[2],
                   axis[0] * e1[1] - axis[1] * e1[0]])
    # rings of equal solid angle about the body's centre direction, sectors around each ring
    cos_edges = np.linspace(1.0, math.cos(rho), n_rings + 1)
    cos_alpha = 0.5 * (cos_edges[:-1] + cos_edges[1:])
    sin_alpha = np.sqrt(1.0 - cos_alpha**2)
    phi = (np.arange(n_sectors) + 0.5) * 2 * math.pi / n_sectors
    d_omega = 2 * math.pi * (1.0 - math.cos(rho)) / (n_rings * n_sectors)
    rays = (cos_alpha[:, None, None] * axis
            + sin_alpha[:, None, None] * (np.cos(phi)[None, :, None] * e1 + np.sin(phi)[None, :, None] * e2))
    rays = rays.reshape(-1, 3)
    # first hit of each ray on the sphere, its normal and the Sun's incidence there
    along = rays @ r_body_C
    t = along - np.sqrt(np.maximum(along**2 - (d * d - radius_m * radius_m), 0.0))
    normals = (t[:, None] * rays - r_body_C) / radius_m
    cos_i = np.clip(normals @ np.asarray(sun_C, dtype=float), 0.0, None)
    radiance = albedo * sun_photon_flux_per_m2_s * cos_i / math.pi
    theta = np.arccos(np.clip(rays[:, 2], -1.0, 1.0))
    irradiance = radiance * d_omega * point_source_transmittance(theta, params)
    total = float(irradiance.sum())
    if total <= 0.0:
        return PlanarBackground(0.0)
    level = total * params.pixel_pitch_m**2 * params.quantum_efficiency * params.exposure_s
    return _ramped(level, irradiance @ rays, params)


def stray_light_plane(direction_C, off_axis_rad, irradiance_photons_per_m2_s, params: CameraParams):
    """Stray-light background [electrons per pixel per exposure] from a source in direction_C."""
    level = (
        irradiance_photons_per_m2_s * float(point_source_transmittance(off_axis_rad, params))
        * params.pixel_pitch_m**2 * params.quantum_efficiency * params.exposure_s
    )
    return _ramped(level, direction_C, params)


def _ramped(level, direction_C, params: CameraParams):
    """A plane of mean `level` rising by stray_light_ramp of it from the centre to the edge facing direction_C."""
    lateral = np.asarray(direction_C[:2], dtype=float)
    norm = np.linalg.norm(lateral)
    if norm < 1e-12 or level <= 0.0:
        return PlanarBackground(level)
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
