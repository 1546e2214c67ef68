"""The photocentre of an unresolved Lambertian sphere: the plant's closed form against a direct
integration of the Lambert radiance over the disc."""
import math

import numpy as np
import pytest

from hil.camera.resolved import lambert_photocentre_m
from lambert_truth import disc_centroid_fraction


@pytest.mark.parametrize("phase_deg", [0.0, 15.0, 45.0, 90.0, 135.0, 170.0])
def test_the_photocentre_is_the_lambert_weighted_centroid_of_the_disc(phase_deg):
    a = math.radians(phase_deg)
    u = np.array([0.0, 0.0, 1.0])                      # observer -> target
    to_sun = np.array([math.sin(a), 0.0, -math.cos(a)])  # target -> Sun at phase angle a
    offset = lambert_photocentre_m(2.0, u, to_sun)
    assert offset[2] == pytest.approx(0.0, abs=1e-12)   # across the line of sight
    assert offset[1] == pytest.approx(0.0, abs=1e-12)
    assert offset[0] / 2.0 == pytest.approx(disc_centroid_fraction(a), abs=2e-3)
