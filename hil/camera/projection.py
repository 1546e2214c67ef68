"""Pinhole projection of directions in N onto the detector, with the motion over an exposure.

Camera frame C: boresight +z, +x along increasing column, +y along increasing row. A direction
u_C with u_z > 0 lands at x = x0 + f u_x / u_z, y = y0 + f u_y / u_z [px], with f the focal
length in pixels and (x0, y0) the principal point (Hartley & Zisserman 2004, eq. 6.1).
"""

import numpy as np
from numba import njit


def rotation_over(omega_C, dt_s):
    """DCM that carries C components of fixed vectors from t to t + dt when C spins at omega_C [rad/s].

    v_C(t + dt) = exp(-[omega x] dt) v_C(t) (Rodrigues' formula, rotation by -|omega| dt about omega).
    """
    omega_C = np.asarray(omega_C, dtype=float)
    angle = np.linalg.norm(omega_C) * dt_s
    if abs(angle) < 1e-15:
        return np.eye(3)
    k = omega_C / np.linalg.norm(omega_C)
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) - np.sin(angle) * kx + (1.0 - np.cos(angle)) * (kx @ kx)


def project_reference(C_CN, u_N, focal_length_px, principal_point_px):
    """Plain-numpy pinhole projection: (x, y) [px] of unit vectors u_N (n, 3); NaN behind the camera."""
    u_C = np.asarray(u_N) @ np.asarray(C_CN).T
    with np.errstate(divide="ignore", invalid="ignore"):
        x = principal_point_px[0] + focal_length_px * u_C[:, 0] / u_C[:, 2]
        y = principal_point_px[1] + focal_length_px * u_C[:, 1] / u_C[:, 2]
    behind = u_C[:, 2] <= 0
    x[behind], y[behind] = np.nan, np.nan
    return x, y


def project_substeps(C_steps, u_N, f_px, x0, y0, x_min, x_max, y_min, y_max):
    """Project u_N (n, 3) with each DCM in C_steps (k, 3, 3); keep sources whose path touches the box.

    Returns (index of kept sources, x (m, k), y (m, k)).
    """
    return project_visible(C_steps, u_N, _NO_DISKS, _NO_COS, f_px, x0, y0, x_min, x_max, y_min, y_max)


_NO_DISKS = np.empty((0, 3))
_NO_COS = np.empty(0)


@njit(cache=True)
def project_visible(C_steps, u_N, disk_u_N, disk_cos_radius, f_px, x0, y0, x_min, x_max, y_min, y_max):
    """project_substeps for the sources not hidden behind any of the disks (unit vectors
    disk_u_N (d, 3) towards their centres, cosines of their angular radii): a source is hidden
    when u . disk_u >= cos(radius)."""
    n = len(u_N)
    n_steps = len(C_steps)
    xs = np.empty((n, n_steps))
    ys = np.empty((n, n_steps))
    keep = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        hidden = False
        for d in range(len(disk_cos_radius)):
            cos_angle = u_N[i, 0] * disk_u_N[d, 0] + u_N[i, 1] * disk_u_N[d, 1] + u_N[i, 2] * disk_u_N[d, 2]
            hidden |= cos_angle >= disk_cos_radius[d]
        if hidden:
            continue
        inside = False
        ok = True
        for k in range(n_steps):
            C = C_steps[k]
            ux = C[0, 0] * u_N[i, 0] + C[0, 1] * u_N[i, 1] + C[0, 2] * u_N[i, 2]
            uy = C[1, 0] * u_N[i, 0] + C[1, 1] * u_N[i, 1] + C[1, 2] * u_N[i, 2]
            uz = C[2, 0] * u_N[i, 0] + C[2, 1] * u_N[i, 1] + C[2, 2] * u_N[i, 2]
            if uz <= 1e-6:
                ok = False
                break
            x = x0 + f_px * ux / uz
            y = y0 + f_px * uy / uz
            xs[m, k] = x
            ys[m, k] = y
            if x_min <= x <= x_max and y_min <= y <= y_max:
                inside = True
        if ok and inside:
            keep[m] = i
            m += 1
    return keep[:m], xs[:m], ys[:m]
