"""Independent truth for the photocentre tests (plant and flight alike): the light centroid of a
Lambertian sphere, by direct integration of its radiance over the disc."""
import math

import numpy as np


def disc_centroid_fraction(phase_rad: float, n: int = 1000) -> float:
    """Centroid of the unit disc weighted by cos(incidence) (the Lambert radiance), in units of
    the radius, towards the Sun's side, at phase angle phase_rad (observer along +z)."""
    g = (np.arange(n) + 0.5) / n * 2 - 1
    X, Y = np.meshgrid(g, g)
    inside = X ** 2 + Y ** 2 < 1
    x, y = X[inside], Y[inside]
    z = np.sqrt(1 - x * x - y * y)
    w = np.maximum(x * math.sin(phase_rad) + z * math.cos(phase_rad), 0.0)
    return float((x * w).sum() / w.sum())
