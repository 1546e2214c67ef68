"""Numba kernel: a Lambertian sphere rendered pixel by pixel (see resolved.py)."""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _sub_sample(x, y, f_px, x0, y0, centre_C, c, radius_m, sun_C):
    """cos(incidence) x cos^3(theta) of the ray through image point (x, y), 0 off the lit sphere."""
    dx = (x - x0) / f_px
    dy = (y - y0) / f_px
    norm = math.sqrt(dx * dx + dy * dy + 1.0)
    dx /= norm
    dy /= norm
    dz = 1.0 / norm
    proj = dx * centre_C[0] + dy * centre_C[1] + dz * centre_C[2]
    disc = proj * proj - c
    if disc < 0.0 or proj <= 0.0:
        return 0.0
    t = proj - math.sqrt(disc)
    nx = (t * dx - centre_C[0]) / radius_m
    ny = (t * dy - centre_C[1]) / radius_m
    nz = (t * dz - centre_C[2]) / radius_m
    cos_i = nx * sun_C[0] + ny * sun_C[1] + nz * sun_C[2]
    if cos_i > 0.0:
        return cos_i * dz * dz * dz
    return 0.0


@njit(cache=True)
def lambert_sphere_patch(row0, col0, n_rows, n_cols, f_px, x0, y0, centre_C, radius_m, sun_C, n_sub):
    """Sum over each pixel's n_sub x n_sub sub-samples of cos(incidence) x sub-sample solid angle [sr].

    Rays from the pinhole through each sub-sample hit the sphere (centre_C [m], radius_m) or
    not; a hit on the sunlit side (unit vector sun_C from the sphere to the Sun) contributes
    its Lambertian cos(i). The sub-sample solid angle is cos^3(theta) / (f^2 n_sub^2).
    """
    patch = np.zeros((n_rows, n_cols))
    c = centre_C[0] ** 2 + centre_C[1] ** 2 + centre_C[2] ** 2 - radius_m * radius_m
    step = 1.0 / n_sub
    for i in range(n_rows):
        for j in range(n_cols):
            acc = 0.0
            for a in range(n_sub):
                y = row0 + i - 0.5 + (a + 0.5) * step
                for b in range(n_sub):
                    x = col0 + j - 0.5 + (b + 0.5) * step
                    acc += _sub_sample(x, y, f_px, x0, y0, centre_C, c, radius_m, sun_C)
            patch[i, j] = acc * step * step / (f_px * f_px)
    return patch


@njit(cache=True)
def lambert_sphere_subsamples(row0, col0, n_rows, n_cols, f_px, x0, y0, centre_C, radius_m, sun_C, n_sub):
    """The sub-samples of lambert_sphere_patch unsummed: (n_rows n_sub, n_cols n_sub), sub-sample
    (i n_sub + a, j n_sub + b) centred on image point (col0 + j - 1/2 + (b + 1/2)/n_sub,
    row0 + i - 1/2 + (a + 1/2)/n_sub), each cos(incidence) x its solid angle [sr]."""
    step = 1.0 / n_sub
    out = np.zeros((n_rows * n_sub, n_cols * n_sub))
    c = centre_C[0] ** 2 + centre_C[1] ** 2 + centre_C[2] ** 2 - radius_m * radius_m
    scale = step * step / (f_px * f_px)
    for r in range(n_rows * n_sub):
        y = row0 - 0.5 + (r + 0.5) * step
        for k in range(n_cols * n_sub):
            x = col0 - 0.5 + (k + 0.5) * step
            out[r, k] = _sub_sample(x, y, f_px, x0, y0, centre_C, c, radius_m, sun_C) * scale
    return out
