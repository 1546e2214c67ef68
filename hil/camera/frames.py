"""Rotations and sky coordinates used by the camera model.

Quaternion convention (project-wide): ``q_BN = [q0, q1, q2, q3]``, scalar first, the Euler
parameters of Basilisk (Schaub & Junkins, Analytical Mechanics of Space Systems, 4th ed.,
section 3.5); ``C_BN = dcm_from_quaternion(q_BN)`` maps N components to B components.
"""

import numpy as np

# ICRS -> galactic rotation; rows are the galactic x, y, z axes in ICRS components.
# ESA 1997, The Hipparcos and Tycho Catalogues, Vol. 1, section 1.5.3, eq. 1.5.11.
C_GAL_ICRS = np.array(
    [
        [-0.0548755604, -0.8734370902, -0.4838350155],
        [+0.4941094279, -0.4448296300, +0.7469822445],
        [-0.8676661490, -0.1980763734, +0.4559837762],
    ]
)


def dcm_from_quaternion(q):
    """Direction cosine matrix C_BN from Euler parameters q_BN (scalar first).

    Schaub & Junkins, eq. 3.94 (Basilisk ``EP2C``). The quaternion is normalised first; a
    quaternion of zero norm or the wrong shape is a ValueError.
    """
    q = np.asarray(q, dtype=float)
    if q.shape != (4,):
        raise ValueError(f"quaternion must have shape (4,), got {q.shape}")
    norm = np.linalg.norm(q)
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError("quaternion must be finite and non-zero")
    q0, q1, q2, q3 = q / norm
    return np.array(
        [
            [q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3, 2 * (q1 * q2 + q0 * q3), 2 * (q1 * q3 - q0 * q2)],
            [2 * (q1 * q2 - q0 * q3), q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3, 2 * (q2 * q3 + q0 * q1)],
            [2 * (q1 * q3 + q0 * q2), 2 * (q2 * q3 - q0 * q1), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3],
        ]
    )


def unit_vectors_from_radec(ra_rad, dec_rad):
    """Unit vectors (n, 3) in the frame of the right ascension / declination given [rad]."""
    cos_dec = np.cos(dec_rad)
    return np.stack([cos_dec * np.cos(ra_rad), cos_dec * np.sin(ra_rad), np.sin(dec_rad)], axis=-1)


def radec_from_unit_vectors(u):
    """Right ascension in [0, 2 pi) and declination [rad] of unit vectors (n, 3)."""
    u = np.asarray(u, dtype=float)
    ra = np.mod(np.arctan2(u[..., 1], u[..., 0]), 2 * np.pi)
    dec = np.arcsin(np.clip(u[..., 2], -1.0, 1.0))
    return ra, dec


def galactic_lb_from_unit_vectors(u_N):
    """Galactic longitude l in [0, 2 pi) and latitude b [rad] of ICRS unit vectors (n, 3)."""
    return radec_from_unit_vectors(np.asarray(u_N) @ C_GAL_ICRS.T)


def propagate_proper_motion(u0_N, pm_ra_cosdec_rad_per_yr, pm_dec_rad_per_yr, dt_yr):
    """Unit vectors moved by their proper motion over dt_yr years (linear in the tangent plane).

    pm_ra is mu_alpha* = mu_alpha cos(delta). Parallax and radial velocity are neglected (their
    effect over decades is below a milliarcsecond for all but a handful of stars). ESA 1997
    Vol. 1, section 1.5.5 (the rigorous method reduces to this at first order in dt).
    """
    ra, dec = radec_from_unit_vectors(u0_N)
    p_hat = np.stack([-np.sin(ra), np.cos(ra), np.zeros_like(ra)], axis=-1)
    q_hat = np.stack([-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)], axis=-1)
    u = u0_N + dt_yr * (pm_ra_cosdec_rad_per_yr[:, None] * p_hat + pm_dec_rad_per_yr[:, None] * q_hat)
    return u / np.linalg.norm(u, axis=1, keepdims=True)
