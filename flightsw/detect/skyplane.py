"""Local sky coordinates around a direction: the azimuthal equidistant tangent plane.

A direction u at angle rho from the reference r, towards the unit tangent d (d perpendicular
to r), has plane coordinates rho * (d . e1, d . e2) in the basis (e1, e2) perpendicular to r
(Snyder, Map Projections: A Working Manual, USGS PP 1395, 1987, section 25, the azimuthal
equidistant projection).  Distances and azimuths from r are exact, so a target moving at a
constant rate along a great circle through r moves at a constant velocity in the plane: the
frame a constant-rate line-of-sight model is written in.  Arrays broadcast over leading axes.
"""
import numpy as np


def tangent_basis(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right-handed unit vectors (e1, e2) perpendicular to the unit vectors u (..., 3).

    e1 points east (along z x u) except within 0.1 rad of the poles, where it is built from x;
    e2 = u x e1 (north, away from the poles).
    """
    u = np.asarray(u, dtype=float)
    polar = np.abs(u[..., 2:3]) > np.cos(0.1)
    helper = np.where(polar, np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]))
    e1 = np.cross(helper, u)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    return e1, np.cross(u, e1)


def to_plane(u: np.ndarray, ref: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """Plane coordinates (..., 2), rad, of unit vectors u about ref with basis (e1, e2)."""
    cos_rho = np.sum(u * ref, axis=-1)
    tangential = u - cos_rho[..., None] * ref
    sin_rho = np.linalg.norm(tangential, axis=-1)
    rho = np.arctan2(sin_rho, cos_rho)
    scale = np.where(sin_rho > 1e-15, rho / np.maximum(sin_rho, 1e-300), 1.0)
    return np.stack([np.sum(tangential * e1, axis=-1), np.sum(tangential * e2, axis=-1)],
                    axis=-1) * scale[..., None]


def from_plane(p: np.ndarray, ref: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """Unit vectors of plane coordinates p (..., 2), rad: cos(rho) ref + sin(rho) d."""
    p = np.asarray(p, dtype=float)
    rho = np.linalg.norm(p, axis=-1)
    sinc = np.where(rho > 1e-15, np.sin(rho) / np.maximum(rho, 1e-300), 1.0)
    tangent = p[..., 0:1] * e1 + p[..., 1:2] * e2
    return np.cos(rho)[..., None] * ref + sinc[..., None] * tangent


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (rad) between unit vectors, accurate at small angles (from the chord)."""
    chord = np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1)
    return 2.0 * np.arcsin(np.minimum(0.5 * chord, 1.0))
