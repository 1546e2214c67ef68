"""Resolved bodies: a sunlit Lambertian sphere (target close in, the Moon, the Earth) drawn pixel by pixel.

Each pixel integrates, over sub-samples, the radiance L = albedo E_sun cos(i) / pi of the
surface its rays hit, times the sub-sample solid angle; the illuminated fraction and the
terminator follow from the geometry. Summed over the disk this reproduces the Lambert-sphere
magnitude of photometry.lambert_sphere_vmag (the integral that formula comes from).
"""

import math

import numpy as np

from hil.camera import _resolved
from hil.camera.params import CameraParams
from hil.camera.psf import axis_fractions


def apparent_radius_rad(radius_m, range_m):
    """Angular radius of a sphere seen from range_m (to its centre): asin(R / d)."""
    if not 0 < radius_m < range_m:
        raise ValueError("need 0 < radius_m < range_m")
    return math.asin(radius_m / range_m)


def lambert_photocentre_m(radius_m, u_target_N, to_sun_N):
    """Where the light of an unresolved Lambertian sphere is centred, relative to its centre:
    the vector (m, ECI, perpendicular to the line of sight u_target_N) of length
    R (3 pi / 16) sin a (1 + cos a) / (sin a + (pi - a) cos a) towards the Sun's side, a the
    phase angle (Sun - target - observer). The fraction of R follows from integrating the
    Lambert radiance, proportional to the cosine of incidence, over the disc: 0 full, 3 pi/16
    half lit, -> 9 pi/32 as the crescent thins (tests/hil/test_camera_photocentre.py
    integrates it numerically). Drawn as a point, an unresolved target is drawn there.
    flightsw.nav.photocentre states the same law for the flight software, independently: the
    plant does not import flight code."""
    u = np.asarray(u_target_N, dtype=np.float64)
    u = u / np.linalg.norm(u)
    s = np.asarray(to_sun_N, dtype=np.float64)
    s = s / np.linalg.norm(s)
    across = s - (s @ u) * u
    norm = float(np.linalg.norm(across))
    a = math.acos(max(-1.0, min(1.0, float(-s @ u))))   # target->sun vs target->observer
    if norm < 1e-12 or a < 1e-9:
        return np.zeros(3)
    denominator = math.sin(a) + (math.pi - a) * math.cos(a)
    if denominator <= 0.0:
        return np.zeros(3)
    fraction = 3.0 * math.pi / 16.0 * math.sin(a) * (1.0 + math.cos(a)) / denominator
    return radius_m * fraction * across / norm


def lambert_radiance_e_per_sr(params: CameraParams, albedo, sun_photon_flux_per_m2_s):
    """Electrons per exposure per steradian of a surface facing the Sun (cos i = 1): a E / pi, collected."""
    return albedo * sun_photon_flux_per_m2_s / math.pi * params.electrons_per_photon_per_m2


SUBSAMPLES_PER_RADIUS = 16.0  # a drawn disc's radius spans at least this many sub-samples
MIN_SUBSAMPLES, MAX_SUBSAMPLES = 4, 48  # per pixel side


def subsamples_for(radius_px: float) -> int:
    """Sub-samples per pixel side for a disc of apparent radius radius_px: fine enough that a
    disc just above the resolved limit is not drawn with a handful of them (4 per pixel put
    50 % jumps in the flux and ~0.1 px in the light centroid of a half-lit 0.57 px disc)."""
    return int(min(MAX_SUBSAMPLES, max(MIN_SUBSAMPLES, math.ceil(SUBSAMPLES_PER_RADIUS / radius_px))))


def _subsample_weights(first, n_px, n_sub, sigma_px):
    """(n_px, n_px n_sub): the part of the PSF centred on each sub-sample (n_sub per pixel of
    the pixels first..first + n_px - 1) that falls on each of those pixels."""
    centres = first - 0.5 + (np.arange(n_px * n_sub) + 0.5) / n_sub
    return axis_fractions(first + np.arange(n_px), centres, sigma_px)


def add_lambert_sphere(image, params: CameraParams, centre_C, radius_m, sun_C, radiance_e_per_sr, n_sub=4, blur=True):
    """Add a sphere (centre_C [m] in the camera frame) to image (float32, in place).

    sun_C: unit vector from the sphere towards the Sun, in C. Returns a dict with the centre
    pixel (x_px, y_px), apparent_radius_px (f tan(asin(R/d))) and electrons added to the frame.
    """
    centre_C = np.asarray(centre_C, dtype=float)
    range_m = float(np.linalg.norm(centre_C))
    rho = apparent_radius_rad(radius_m, range_m)
    f = params.focal_length_px
    x0, y0 = params.principal_point_px
    info = {"x_px": np.nan, "y_px": np.nan, "apparent_radius_px": f * math.tan(rho), "electrons": 0.0}
    if centre_C[2] <= 0 and math.acos(max(-1.0, min(1.0, centre_C[2] / range_m))) > math.pi / 2 + rho:
        return info
    margin = (max(1, math.ceil(5.0 * params.psf_sigma_px)) if blur else 0) + 2
    if centre_C[2] > 0:
        info["x_px"] = x0 + f * centre_C[0] / centre_C[2]
        info["y_px"] = y0 + f * centre_C[1] / centre_C[2]
    # bounding box of the disk's image: the cone of half-angle rho around the centre direction
    axis = centre_C / range_m
    theta_c = math.acos(max(-1.0, min(1.0, axis[2])))
    if theta_c + rho >= math.radians(89.0):
        row0, row1, col0, col1 = 0, params.n_rows, 0, params.n_cols
    else:
        reach = f * (math.tan(theta_c + rho) - math.tan(max(theta_c - rho, 0.0)))
        cx, cy = info["x_px"], info["y_px"]
        half = 0.5 * reach + f * math.tan(rho) + margin
        col0, col1 = max(0, int(cx - half)), min(params.n_cols, int(cx + half) + 2)
        row0, row1 = max(0, int(cy - half)), min(params.n_rows, int(cy + half) + 2)
    if row0 >= row1 or col0 >= col1:
        return info
    args = (row0, col0, row1 - row0, col1 - col0, f, x0, y0, centre_C, float(radius_m),
            np.asarray(sun_C, float), n_sub)
    if blur:
        # the optics blur the image before the pixels integrate it: each sub-sample's light
        # spreads as the Gaussian PSF and every pixel takes the part falling on it (blurring
        # the pixel sums instead keeps their quantisation: the light centroid of a disc of
        # ~1 px would sit on a pixel centre, up to half a pixel off)
        sub = _resolved.lambert_sphere_subsamples(*args)
        patch = (_subsample_weights(row0, row1 - row0, n_sub, params.psf_sigma_px) @ sub
                 @ _subsample_weights(col0, col1 - col0, n_sub, params.psf_sigma_px).T)
    else:
        patch = _resolved.lambert_sphere_patch(*args)
    patch *= radiance_e_per_sr
    image[row0:row1, col0:col1] += patch.astype(np.float32)
    info["electrons"] = float(patch.sum())
    return info
