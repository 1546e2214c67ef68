"""Detector defects: hot pixels (fixed per camera unit) and cosmic-ray tracks (new every frame)."""

from dataclasses import dataclass

import numpy as np

from hil.camera.params import CameraParams


@dataclass(frozen=True)
class HotPixels:
    """Pixels (flat index r * n_cols + c) with extra dark current [e-/s]."""

    flat_index: np.ndarray
    extra_dark_e_per_s: np.ndarray


def hot_pixels(params: CameraParams) -> HotPixels:
    """This camera's hot pixels: each pixel is hot with probability hot_pixel_fraction; the extra
    dark current is exponentially distributed with mean hot_pixel_mean_dark_e_per_s. Drawn from
    camera_seed, so a camera unit keeps its map.
    """
    rng = np.random.default_rng(params.camera_seed)
    n_pixels = params.n_rows * params.n_cols
    count = rng.binomial(n_pixels, params.hot_pixel_fraction)
    index = np.sort(rng.choice(n_pixels, size=count, replace=False))
    return HotPixels(index, rng.exponential(params.hot_pixel_mean_dark_e_per_s, size=count))


@dataclass(frozen=True)
class CosmicRays:
    """Tracks of one frame: endpoints [px] and charge [e-], and the charge deposited per pixel."""

    x0_px: np.ndarray
    y0_px: np.ndarray
    x1_px: np.ndarray
    y1_px: np.ndarray
    charge_e: np.ndarray
    flat_index: np.ndarray
    deposit_e: np.ndarray


def cosmic_rays(params: CameraParams, rng: np.random.Generator) -> CosmicRays:
    """Cosmic rays hitting the detector during one exposure.

    The count is Poisson(rate * area * exposure); directions are isotropic over the incoming
    hemisphere, so the flux through the plane has cos(theta) weighting (cos^2 theta uniform).
    A ray crosses the depletion depth d over a projected length d tan(theta) and leaves
    cosmic_ray_e_per_m times its path length d / cos(theta) (a minimum-ionising particle's
    mean energy loss, ~80 e- per um in silicon; Landau fluctuations are not modelled), spread
    evenly along the projected track.
    """
    area_cm2 = params.n_rows * params.n_cols * (params.pixel_pitch_m * 100.0) ** 2
    count = rng.poisson(params.cosmic_ray_rate_per_cm2_s * area_cm2 * params.exposure_s)
    x0 = rng.uniform(-0.5, params.n_cols - 0.5, count)
    y0 = rng.uniform(-0.5, params.n_rows - 0.5, count)
    cos_theta = np.sqrt(rng.uniform(0.0, 1.0, count))
    azimuth = rng.uniform(0.0, 2 * np.pi, count)
    max_length_px = float(np.hypot(params.n_rows, params.n_cols))
    tan_theta = np.sqrt(np.maximum(1.0 - cos_theta**2, 0.0)) / np.maximum(cos_theta, 1e-9)
    length_px = np.minimum(params.depletion_depth_m * tan_theta / params.pixel_pitch_m, max_length_px)
    path_m = np.hypot(params.depletion_depth_m, length_px * params.pixel_pitch_m)
    charge = params.cosmic_ray_e_per_m * path_m
    x1 = x0 + length_px * np.cos(azimuth)
    y1 = y0 + length_px * np.sin(azimuth)
    index, deposit = _rasterise_tracks(x0, y0, x1, y1, charge, params)
    return CosmicRays(x0, y0, x1, y1, charge, index, deposit)


def _rasterise_tracks(x0, y0, x1, y1, charge, params: CameraParams):
    """Per-pixel charge of straight tracks, sampled every 0.1 px along each track, inside the frame."""
    indices, deposits = [], []
    for xa, ya, xb, yb, q in zip(x0, y0, x1, y1, charge):
        n = max(1, int(np.ceil(np.hypot(xb - xa, yb - ya) / 0.1)))
        t = (np.arange(n) + 0.5) / n
        cols = np.floor(xa + t * (xb - xa) + 0.5).astype(np.int64)
        rows = np.floor(ya + t * (yb - ya) + 0.5).astype(np.int64)
        inside = (cols >= 0) & (cols < params.n_cols) & (rows >= 0) & (rows < params.n_rows)
        indices.append(rows[inside] * params.n_cols + cols[inside])
        deposits.append(np.full(int(inside.sum()), q / n))
    if not indices:
        return np.empty(0, dtype=np.int64), np.empty(0)
    flat = np.concatenate(indices)
    unique, inverse = np.unique(flat, return_inverse=True)
    return unique, np.bincount(inverse, weights=np.concatenate(deposits))
