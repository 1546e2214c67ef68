"""Pointing references for the attitude controller: the camera (body +z) at a direction, the
Sun kept out of it, and the reference rate.

The camera is the body frame's +z axis (camera frame C = body frame B). A commanded direction
closer to the Sun than the exclusion angle is turned away from the Sun, in the plane of the two,
to the edge of the exclusion cone: the nearest direction the camera may look at (the target
then leaves the field; navigation coasts until the geometry opens). The roll about the
boresight puts the solar array normal (body +x) as close to the Sun as the boresight allows
(control.attitude.pointing_attitude, the TRIAD align-constrain construction).

The reference rate is the rate of the reference frame between two instants, from the relative
rotation q_R1R0 = q_R0N* q_R1N = [cos(phi/2), sin(phi/2) e]: omega_RN_R = phi e / dt (exact for
a uniform rotation about a fixed axis).
"""
import numpy as np

from flightsw.control.attitude import pointing_attitude, quat_conjugate, quat_multiply


def unit(v) -> np.ndarray:
    """v / |v|; ValueError for a zero or non-finite vector."""
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v)
    if not (np.isfinite(n) and n > 0.0):
        raise ValueError("direction must be finite and non-zero")
    return v / n


def clear_of_sun(direction_N, sun_N, exclusion_rad) -> np.ndarray:
    """The unit direction nearest to direction_N at least exclusion_rad from the unit Sun
    direction sun_N (module docstring); direction_N itself when it is clear."""
    d = unit(direction_N)
    s = unit(sun_N)
    cos_angle = float(np.clip(d @ s, -1.0, 1.0))
    if cos_angle <= np.cos(exclusion_rad):
        return d
    away = d - cos_angle * s
    if np.linalg.norm(away) < 1e-9:
        # looking straight at the Sun: any way out is as near; take one perpendicular to it
        away = np.cross(s, [1.0, 0.0, 0.0] if abs(s[0]) < 0.9 else [0.0, 1.0, 0.0])
    away = unit(away)
    return np.cos(exclusion_rad) * s + np.sin(exclusion_rad) * away


def boresight_attitude(direction_N, sun_N, roll_reference_N=(0.0, 0.0, 1.0)) -> np.ndarray:
    """q_RN with body +z along direction_N and body +x towards sun_N as far as possible; with
    no Sun known (sun_N None) body +x towards roll_reference_N instead."""
    reference = roll_reference_N if sun_N is None else sun_N
    return pointing_attitude(unit(direction_N), np.asarray(reference, dtype=np.float64))


def sun_attitude(sun_N, roll_reference_N) -> np.ndarray:
    """q_RN with the solar array normal (body +x) on the Sun, the camera (+z) perpendicular to
    it along roll_reference_N x sun_N (e.g. the orbit normal: the camera then looks along the
    orbit plane, away from the Sun)."""
    s = unit(sun_N)
    b = np.cross(np.asarray(roll_reference_N, dtype=np.float64), s)
    if np.linalg.norm(b) < 1e-9:
        b = np.cross(s, [1.0, 0.0, 0.0] if abs(s[0]) < 0.9 else [0.0, 1.0, 0.0])
    return pointing_attitude(unit(b), s)


def reference_rate(q_R0N, q_R1N, dt_s) -> np.ndarray:
    """omega_RN_R (rad/s) of a reference that turns from q_R0N to q_R1N in dt_s (s)."""
    q = quat_multiply(quat_conjugate(q_R0N), q_R1N)
    q = q if q[0] >= 0.0 else -q
    sin_half = np.linalg.norm(q[1:])
    if sin_half < 1e-12:
        return 2.0 * q[1:] / dt_s
    return 2.0 * np.arctan2(sin_half, q[0]) * q[1:] / sin_half / dt_s
