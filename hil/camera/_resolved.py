"""Numba kernel: a Lambertian sphere rendered pixel by pixel (see resolved.py)."""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def lambert_sphere_patch(row0, col0, n_rows, n_cols, f_px, x0, y0, centre_C, radius_m, sun_C, n_sub):
    """Sum over each pixel's n_sub x n_sub sub-samples of cos(incidence) x sub-sample solid angle [sr].

    Rays from the pinhole through each sub-sample hit the sphere (centre_C [m], radius_m) or
    not; a hit on the sunlit side (unit vector sun_C from the sphere to the Sun) contributes
    its Lambertian cos(i). The sub-sample solid angle is cos^3(theta) / (f^2 n_sub^2).
    """
    patch = np.zeros((n_rows, n_cols))
    p2 = centre_C[0] ** 2 + centre_C[1] ** 2 + centre_C[2] ** 2
    c = p2 - radius_m * radius_m
    step = 1.0 / n_sub
    for i in range(n_rows):
        for j in range(n_cols):
            acc = 0.0
            for a in range(n_sub):
                y = row0 + i - 0.5 + (a + 0.5) * step
                for b in range(n_sub):
                    x = col0 + j - 0.5 + (b + 0.5) * step
                    dx = (x - x0) / f_px
                    dy = (y - y0) / f_px
                    norm = math.sqrt(dx * dx + dy * dy + 1.0)
                    dx /= norm
                    dy /= norm
                    dz = 1.0 / norm
                    proj = dx * centre_C[0] + dy * centre_C[1] + dz * centre_C[2]
                    disc = proj * proj - c
                    if disc < 0.0 or proj <= 0.0:
                        continue
                    t = proj - math.sqrt(disc)
                    nx = (t * dx - centre_C[0]) / radius_m
                    ny = (t * dy - centre_C[1]) / radius_m
                    nz = (t * dz - centre_C[2]) / radius_m
                    cos_i = nx * sun_C[0] + ny * sun_C[1] + nz * sun_C[2]
                    if cos_i > 0.0:
                        acc += cos_i * dz * dz * dz
            patch[i, j] = acc * step * step / (f_px * f_px)
    return patch


@njit(cache=True)
def blur_separable(patch, kernel):
    """Convolve a patch with the separable kernel (odd length) along rows then columns, zero-padded."""
    h = len(kernel) // 2
    n_rows, n_cols = patch.shape
    tmp = np.zeros_like(patch)
    for i in range(n_rows):
        for j in range(n_cols):
            acc = 0.0
            for k in range(-h, h + 1):
                jj = j - k
                if 0 <= jj < n_cols:
                    acc += kernel[k + h] * patch[i, jj]
            tmp[i, j] = acc
    out = np.zeros_like(patch)
    for i in range(n_rows):
        for j in range(n_cols):
            acc = 0.0
            for k in range(-h, h + 1):
                ii = i - k
                if 0 <= ii < n_rows:
                    acc += kernel[k + h] * tmp[ii, j]
            out[i, j] = acc
    return out
