"""Numba kernel: add point sources to an image as pixel-integrated Gaussian stamps (see psf.py)."""

import numpy as np
from numba import njit


@njit(inline="always")
def _cdf(u, table, u_min, inv_step):
    """Gaussian CDF at offset u [px]: cubic Hermite interpolation of table rows (CDF, step * PDF)."""
    t = (u - u_min) * inv_step
    if t <= 0.0:
        return 0.0
    k = int(t)
    if k >= len(table) - 1:
        return 1.0
    f = t - k
    f2 = f * f
    f3 = f2 * f
    return (
        (2.0 * f3 - 3.0 * f2 + 1.0) * table[k, 0]
        + (f3 - 2.0 * f2 + f) * table[k, 1]
        + (3.0 * f2 - 2.0 * f3) * table[k + 1, 0]
        + (f3 - f2) * table[k + 1, 1]
    )


@njit(inline="always")
def _phase_weights(delta, n, scale, phase_tables, table_start, n_phase, out):
    """The n pixel weights (times scale) of a source at offset delta from the phase table starting
    at table_start, rows interpolated linearly in delta."""
    t = (delta + 0.5) * n_phase
    p = min(int(t), n_phase - 1)
    f = t - p
    base = table_start + p * n
    for j in range(n):
        w0 = phase_tables[base + j]
        out[j] = (w0 + f * (phase_tables[base + n + j] - w0)) * scale


@njit(inline="always")
def _interior_stamp(image, dx, dy, e, r0, c0, phase_tables, table_start, n_phase, wx, wy, n):
    """Add a stamp of n x n pixels from row r0, column c0, wholly inside the image, from the phase tables."""
    _phase_weights(dx, n, 1.0, phase_tables, table_start, n_phase, wx)
    _phase_weights(dy, n, e, phase_tables, table_start, n_phase, wy)
    for i in range(n):
        wr = wy[i]
        for j in range(n):
            image[r0 + i, c0 + j] += wr * wx[j]


@njit(inline="always")
def _axis_weights(delta, h, scale, phase_tables, phase_offsets, n_phase, cdf_table, u_min, inv_step, out):
    """Pixel weights (times scale) of pixels -h..h around the nearest pixel of a source at offset delta.

    Half-widths with a phase table interpolate its rows linearly in delta; wider stamps (bright
    sources) difference the CDF across each pixel edge.
    """
    n = 2 * h + 1
    if h < len(phase_offsets):
        _phase_weights(delta, n, scale, phase_tables, phase_offsets[h], n_phase, out)
        return
    lo = _cdf(-h - 0.5 - delta, cdf_table, u_min, inv_step)
    for j in range(n):
        hi = _cdf(-h + j + 0.5 - delta, cdf_table, u_min, inv_step)
        out[j] = (hi - lo) * scale
        lo = hi


@njit(cache=True)
def add_point_sources(image, x, y, electrons, cdf_table, u_min, inv_step, half_width_limits, phase_tables,
                      phase_offsets, n_phase):
    """Add each source's electrons to image (float32, rows x cols) in a (2h+1)^2 stamp.

    The weight of pixel (r, c) is the product of 1-D CDF differences across the pixel's edges,
    i.e. the Gaussian integrated over the pixel. The half-width h of a source is the smallest
    with electrons <= half_width_limits[h] (flux outside the stamp below a set fraction of an
    electron). Sources are clipped at the frame edges.
    """
    n_rows, n_cols = image.shape
    h_max = len(half_width_limits) - 1
    wx = np.empty(2 * h_max + 1, dtype=np.float32)
    wy = np.empty(2 * h_max + 1, dtype=np.float32)
    for s in range(len(x)):
        e = electrons[s]
        if not e > 0.0:
            continue
        h = 0
        while h < h_max and e > half_width_limits[h]:
            h += 1
        cx = int(np.floor(x[s] + 0.5))
        cy = int(np.floor(y[s] + 0.5))
        if cx + h < 0 or cx - h >= n_cols or cy + h < 0 or cy - h >= n_rows:
            continue
        if h <= cx < n_cols - h and h <= cy < n_rows - h and 2 <= h <= 4 < len(phase_offsets):
            # the common stamps (faint and moderate sources inside the frame) with a constant size,
            # which the compiler unrolls: twice as fast as the general path below
            if h == 3:
                _interior_stamp(image, x[s] - cx, y[s] - cy, e, cy - 3, cx - 3, phase_tables, phase_offsets[3],
                                n_phase, wx, wy, 7)
            elif h == 4:
                _interior_stamp(image, x[s] - cx, y[s] - cy, e, cy - 4, cx - 4, phase_tables, phase_offsets[4],
                                n_phase, wx, wy, 9)
            else:
                _interior_stamp(image, x[s] - cx, y[s] - cy, e, cy - 2, cx - 2, phase_tables, phase_offsets[2],
                                n_phase, wx, wy, 5)
            continue
        _axis_weights(x[s] - cx, h, 1.0, phase_tables, phase_offsets, n_phase, cdf_table, u_min, inv_step, wx)
        _axis_weights(y[s] - cy, h, e, phase_tables, phase_offsets, n_phase, cdf_table, u_min, inv_step, wy)
        r0 = max(0, cy - h)
        r1 = min(n_rows, cy + h + 1)
        c0 = max(0, cx - h)
        c1 = min(n_cols, cx + h + 1)
        for r in range(r0, r1):
            wr = wy[r - cy + h]
            row = image[r]
            for c in range(c0, c1):
                row[c] += wr * wx[c - cx + h]
