"""Sun position and Earth shadow against published values and geometry."""
import math

import numpy as np

from hil.constants import R_EARTH_M
from hil.ephemeris import AU_M, julian_date, sun_position_N, sunlit_fraction


def test_julian_date_of_j2000_epoch():
    assert julian_date("2000-01-01T12:00:00Z") == 2451545.0
    assert julian_date("2000-01-01T00:00:00Z", 43200.0) == 2451545.0


def test_sun_position_matches_vallado_example_5_1():
    # Vallado (2013) Example 5-1: 2 April 2006 00:00 UTC, r_sun (mean equator of date)
    # = [146186178, 28788978, 12481064] km, good to the algorithm's ~0.01 deg.
    r = sun_position_N(julian_date("2006-04-02T00:00:00Z")) / 1e3
    expected = np.array([146186178.0, 28788978.0, 12481064.0])
    angle = math.degrees(math.acos(r @ expected / np.linalg.norm(r) / np.linalg.norm(expected)))
    assert angle < 0.02
    assert abs(np.linalg.norm(r) / np.linalg.norm(expected) - 1) < 1e-4


def test_sun_distance_follows_the_seasons():
    perihelion = np.linalg.norm(sun_position_N(julian_date("2026-01-03T00:00:00Z"))) / AU_M
    aphelion = np.linalg.norm(sun_position_N(julian_date("2026-07-05T00:00:00Z"))) / AU_M
    assert 0.983 < perihelion < 0.984 and 1.016 < aphelion < 1.017


def test_shadow_is_full_on_the_sun_side_and_none_behind_the_earth():
    sun = np.array([AU_M, 0.0, 0.0])
    r = R_EARTH_M + 500e3
    assert sunlit_fraction(np.array([r, 0.0, 0.0]), sun) == 1.0
    assert sunlit_fraction(np.array([-r, 0.0, 0.0]), sun) == 0.0
    assert sunlit_fraction(np.array([0.0, r, 0.0]), sun) == 1.0


def test_penumbra_fraction_decreases_monotonically_into_the_umbra():
    sun = np.array([AU_M, 0.0, 0.0])
    r = R_EARTH_M + 500e3
    ys = np.linspace(R_EARTH_M + 30e3, R_EARTH_M - 30e3, 200)
    f = [sunlit_fraction(np.array([-math.sqrt(max(r * r - y * y, 0)), y, 0.0]), sun) for y in ys]
    assert f[0] == 1.0 and f[-1] == 0.0
    assert all(b <= a + 1e-12 for a, b in zip(f, f[1:]))
    assert any(0.0 < x < 1.0 for x in f)
