"""Scenes to point the camera with, shared by the camera's tests and the plant benchmark.

    C_CN = camera_axes(boresight_N, roll_rad)       camera frame looking along boresight_N
    scene = dark_scene(C_CN, target=...)            Sun and Earth far from the boresight
    for b_deg, scene in search_scenes(): ...        search-phase frames over the whole sky
"""

import math

import numpy as np

from hil.attitude.quaternion import dcm_to_quat
from hil.camera.camera import Scene, Target
from hil.camera.frames import C_GAL_ICRS

AU_M = 1.495978707e11


def camera_axes(boresight_N, roll_rad=0.0):
    """C_CN whose rows x, y, z are the camera axes in N: z along boresight_N, x rolled by roll_rad
    about it from the direction perpendicular to N's z axis (N's x axis near the poles)."""
    z = np.asarray(boresight_N, dtype=float) / np.linalg.norm(boresight_N)
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c, s = math.cos(roll_rad), math.sin(roll_rad)
    return np.stack([c * x + s * y, -s * x + c * y, z])


def dark_scene(C_CN, **kw):
    """A Scene with the body attitude C_CN (camera mounted along the body axes) and, unless given
    in kw, the Sun behind the camera and the Earth 40 000 km away off the anti-boresight: no
    stray light to speak of."""
    away = -C_CN[2]
    kw.setdefault("r_sun_N", AU_M * away)
    kw.setdefault("r_earth_N", 4.0e7 * (away + 0.3 * C_CN[0]) / np.linalg.norm(away + 0.3 * C_CN[0]))
    return Scene(q_BN=dcm_to_quat(C_CN), **kw)


def search_scenes(n_pointings=16, seed=7):
    """Search-phase frames, as (galactic latitude of the boresight [deg], Scene): pointings drawn
    uniformly over the sky (seeded), a 0.6 m target 2000 km out crossing the field at 2 km/s, a
    slow body rate, the Sun 127 deg and the Earth's centre 153 deg (its limb 88 deg) off the boresight."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_pointings):
        boresight = rng.normal(size=3)
        boresight /= np.linalg.norm(boresight)
        C = camera_axes(boresight, rng.uniform(0, 2 * math.pi))
        target = Target(r_TC_N=2.0e6 * (C[2] + 0.01 * C[0]), v_TC_N=2000.0 * C[1], radius_m=0.6, albedo=0.2)
        to_earth = -C[2] - 0.5 * C[1]
        scene = dark_scene(C, omega_BN_B=np.array([2e-5, -1e-5, 0.0]), r_sun_N=AU_M * (-0.6 * C[2] + 0.8 * C[0]),
                           r_earth_N=7.0e6 * to_earth / np.linalg.norm(to_earth), target=target)
        out.append((math.degrees(math.asin(float(C_GAL_ICRS[2] @ boresight))), scene))
    return out
