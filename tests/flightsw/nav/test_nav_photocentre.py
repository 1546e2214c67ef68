"""The photocentre correction of an unresolved target's bearing, against a direct integration of
the Lambert radiance over the disc (independent of the closed form)."""
import math

import numpy as np
import pytest

from flightsw.nav.photocentre import centre_bearing, photocentre_offset_rad
from lambert_truth import disc_centroid_fraction


@pytest.mark.parametrize("phase_deg", [5.0, 40.0, 90.0, 140.0])
def test_the_light_bearing_is_corrected_to_the_centre(phase_deg):
    a = math.radians(phase_deg)
    radius, rng = 0.5, 5000.0
    u_centre = np.array([0.0, 0.0, 1.0])
    to_sun = np.array([math.sin(a), 0.0, -math.cos(a)])
    # the light, displaced across the line of sight towards the Sun by the integrated fraction
    light = u_centre + np.array([disc_centroid_fraction(a) * radius / rng, 0.0, 0.0])
    light /= np.linalg.norm(light)
    P = 1e-11 * (np.eye(3) - np.outer(light, light))
    u, P_c = centre_bearing(light, P, to_sun, radius, rng, relative_sigma=0.1)
    assert math.acos(min(1.0, u @ u_centre)) < 2e-3 * radius / rng    # within 0.2 % of R
    # the correction's own uncertainty is added across the line of sight
    offset = np.linalg.norm(photocentre_offset_rad(light, to_sun, radius, rng))
    assert np.trace(P_c) - np.trace(P) == pytest.approx(2 * (0.1 * offset) ** 2, rel=1e-6)


def test_no_correction_at_full_phase_or_without_a_radius():
    u = np.array([0.0, 0.0, 1.0])
    assert np.all(photocentre_offset_rad(u, -u, 0.5, 5000.0) == 0.0)      # Sun behind the chaser
    assert np.all(photocentre_offset_rad(u, [1.0, 0.0, 0.0], 0.0, 5000.0) == 0.0)
