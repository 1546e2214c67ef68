"""Star counts per square degree brighter than a V magnitude, by galactic position.

Bahcall & Soneira 1980, ApJS 44, 73, Appendix B, eq. B1 with the V-band integrated-count
constants: an analytic fit to their Galaxy model, good to about 15 % for |b| >= 20 deg and
V <= 25. Nearer the plane the fit diverges; it is evaluated at |b| = 20 deg there, and the
caller scales it to the observed catalogue density of each sky region (see faint_stars).
"""

import numpy as np

_C1, _ALPHA, _BETA, _DELTA, _M_STAR = 925.0, -0.132, 0.035, 3.0, 15.75
_C2, _KAPPA, _ETA, _LAMBDA, _M_DAGGER = 1050.0, -0.180, 0.087, 2.5, 17.5
MIN_ABS_LATITUDE_RAD = np.radians(20.0)


def cumulative_star_density_per_deg2(v_mag, l_rad, b_rad):
    """Stars per square degree brighter than v_mag at galactic longitude l and latitude b [rad].

    Broadcasts over its arguments. Eq. B1: disc term plus spheroid term, with mu and gamma
    varying linearly between V = 12 and V = 20 and sigma = 1.45 - 0.20 cos b cos l.
    """
    m = np.asarray(v_mag, dtype=float)
    l = np.asarray(l_rad, dtype=float)
    b = np.maximum(np.abs(np.asarray(b_rad, dtype=float)), MIN_ABS_LATITUDE_RAD)
    mu = np.clip(0.03 + 0.0075 * (m - 12.0), 0.03, 0.09)
    gamma = np.clip(0.36 - 0.04 * (m - 12.0), 0.04, 0.36)
    sigma = 1.45 - 0.20 * np.cos(b) * np.cos(l)
    disc = (
        _C1
        * 10.0 ** (_BETA * (m - _M_STAR))
        / (1.0 + 10.0 ** (_ALPHA * (m - _M_STAR))) ** _DELTA
        / (np.sin(b) - mu * np.cos(b) * np.cos(l)) ** (3.0 - 5.0 * gamma)
    )
    spheroid = (
        _C2
        * 10.0 ** (_ETA * (m - _M_DAGGER))
        / (1.0 + 10.0 ** (_KAPPA * (m - _M_DAGGER))) ** _LAMBDA
        / (1.0 - np.cos(b) * np.cos(l)) ** sigma
    )
    return disc + spheroid
