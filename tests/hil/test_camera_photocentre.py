"""The photocentre of a Lambertian sphere: the plant's closed form, and the light of the discs it
draws, against a direct integration of the Lambert radiance over the disc."""
import math

import numpy as np
import pytest

from hil.camera.params import CameraParams
from hil.camera.resolved import add_lambert_sphere, lambert_photocentre_m, subsamples_for
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


@pytest.mark.parametrize("radius_px", [0.6, 1.5, 4.0])
@pytest.mark.parametrize("offset_px", [0.0, 0.25, 0.5])
@pytest.mark.parametrize("phase_deg", [30.0, 90.0, 130.0])
def test_a_drawn_resolved_disc_has_its_light_centred_at_the_lambert_photocentre(radius_px, offset_px, phase_deg):
    """The plant draws a resolved body sub-sampled and blurred by the PSF before the pixels
    integrate it: its light centroid (first moment of the pixels) is the disc's, to 2 % of a
    pixel, wherever the disc sits on the pixel grid.  Blurring the pixel sums instead put it
    on a pixel centre: 0.5 px off the photocentre's 0.34 px for a half-lit disc of 0.57 px."""
    p = CameraParams()
    f = p.focal_length_px
    x0, _ = p.principal_point_px
    d = 0.5 * f / radius_px
    a = math.radians(phase_deg)
    centre = np.array([offset_px * d / f, 0.0, d])
    sun = np.array([math.sin(a), 0.0, -math.cos(a)])
    image = np.zeros((p.n_rows, p.n_cols), np.float32)
    add_lambert_sphere(image, p, centre, 0.5, sun, 1e12, n_sub=subsamples_for(radius_px))
    cols = np.arange(p.n_cols)
    x_light = float((image.sum(axis=0) * cols).sum() / image.sum())
    expected = x0 + f * (centre[0] + 0.5 * disc_centroid_fraction(a)) / d
    assert x_light == pytest.approx(expected, abs=0.02)
