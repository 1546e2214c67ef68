"""When the target can be imaged (lighting) and the fly-around chosen for it."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flightsw.guidance.approach import HOLD_POINTS_M, hold_roe
from flightsw.guidance.flyaround import (COVERAGE_LATTICE, coverage_fraction, fibonacci_sphere,
                                         plan_flyaround, planned_coverage, visible_coverage)
from flightsw.guidance.lighting import imaging_possible, rtn_axes_N
from flightsw.guidance.roe import MeanOrbit, propagate_mean
from hil.ephemeris import sunlit_fraction

A = 6878137.0
AU = 1.495978707e11


def orbit_at(u, raan=0.7, inc=np.radians(97.4)):
    u = np.atleast_1d(u)
    return MeanOrbit(np.full(u.shape, A), u, np.zeros(u.shape), np.zeros(u.shape),
                     np.full(u.shape, inc), np.full(u.shape, raan))


@given(u=st.floats(0.0, 2 * np.pi), raan=st.floats(0.0, 2 * np.pi), inc=st.floats(0.0, np.pi),
       sun_lon=st.floats(0.0, 2 * np.pi), sun_lat=st.floats(-0.4, 0.4))
@settings(max_examples=200, deadline=None)
def test_shadow_agrees_with_the_plants_conical_model_away_from_the_penumbra(u, raan, inc, sun_lon, sun_lat):
    """The cylindrical shadow against hil.ephemeris.sunlit_fraction (conical umbra/penumbra,
    an independent model): the same wherever the target is fully lit or fully in umbra."""
    orbit = orbit_at(u, raan, inc)
    sun = np.array([np.cos(sun_lat) * np.cos(sun_lon), np.cos(sun_lat) * np.sin(sun_lon), np.sin(sun_lat)])
    R, T, N = rtn_axes_N(orbit)
    fraction = sunlit_fraction(R[0] * A, sun * AU)
    # a chaser 100 m behind, looking along-track: never at the Sun when the Sun is off +-T
    if abs(T[0] @ sun) > np.cos(np.radians(40.0)):
        return
    ok = imaging_possible(orbit, np.array([[0.0], [-100.0], [0.0]]), sun, np.radians(30.0))[0]
    if fraction == 1.0:
        assert ok
    elif fraction == 0.0:
        assert not ok


def test_rtn_axes_are_orthonormal_and_radial_along_the_position():
    orbit = orbit_at(np.linspace(0.0, 6.0, 7))
    R, T, N = rtn_axes_N(orbit)
    for k in range(7):
        M = np.array([R[k], T[k], N[k]])
        assert M @ M.T == pytest.approx(np.eye(3), abs=1e-12)
        assert np.linalg.det(M) == pytest.approx(1.0)
    # along-track is the direction of motion: dR/du
    dR = (rtn_axes_N(orbit_at(np.linspace(0.0, 6.0, 7) + 1e-6))[0] - R) / 1e-6
    assert dR == pytest.approx(T, abs=1e-5)


def test_sun_exclusion_and_earth_background():
    sun = np.array([1.0, 0.0, 0.0])
    orbit = orbit_at(np.array([np.pi / 2]), raan=0.0, inc=0.0)   # target at +y, lit (Sun at +x)
    # chaser 100 m radially above the target looks down at the Earth: refused only when the
    # Earth may not be behind the target
    above = np.array([[100.0], [0.0], [0.0]])
    assert imaging_possible(orbit, above, sun, np.radians(30.0))[0]
    assert not imaging_possible(orbit, above, sun, np.radians(30.0), earth_background=False)[0]
    # chaser below looks up at the sky
    below = np.array([[-100.0], [0.0], [0.0]])
    assert imaging_possible(orbit, below, sun, np.radians(30.0), earth_background=False)[0]
    # target at +y, chaser at -x of it (along-track is -x here): boresight +x, at the Sun
    into_sun = np.array([[0.0], [100.0], [0.0]])     # +T = -x at u = 90 deg
    R, T, N = rtn_axes_N(orbit)
    assert T[0] == pytest.approx([-1.0, 0.0, 0.0], abs=1e-12)
    assert not imaging_possible(orbit, into_sun, sun, np.radians(30.0))[0]
    assert imaging_possible(orbit, -into_sun, sun, np.radians(30.0))[0]


def test_visible_coverage_counts_only_imageable_directions_and_the_phase_changes_it():
    rT_orbit = MeanOrbit(A, 0.3, 1e-4, 0.0, np.radians(97.4), 0.5)
    roe0 = hold_roe(HOLD_POINTS_M[-1], np.pi / 2, A)
    sun = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
    plan = plan_flyaround(rT_orbit, roe0, rho_m=75.0, normal_m=150.0)
    everything = planned_coverage(rT_orbit, roe0, plan, "rtn")
    seen = visible_coverage(rT_orbit, roe0, plan, sun, np.radians(30.0))
    assert seen <= everything + 1e-9
    # with no exclusion, no shadow in reach (the Sun along the orbit normal) and the Earth
    # allowed, every direction passed is imageable
    normal = rtn_axes_N(propagate_mean(rT_orbit, 0.0))[2][0]
    assert visible_coverage(rT_orbit, roe0, plan, normal, 0.0) == pytest.approx(
        planned_coverage(rT_orbit, roe0, plan, "rtn", step_s=60.0), abs=0.02)
    # phases whose entry is not passively safe are refused (the app skips them)
    by_phase = []
    for p in np.radians(np.arange(0.0, 360.0, 30.0)):
        try:
            other = plan_flyaround(rT_orbit, roe0, 75.0, 150.0, phase_rad=p)
        except ValueError as exc:
            assert "passively safe" in str(exc)
            continue
        by_phase.append(visible_coverage(rT_orbit, roe0, other, sun, np.radians(30.0),
                                         earth_background=False))
    assert len(by_phase) >= 3 and max(by_phase) - min(by_phase) > 0.01


def test_visible_coverage_counts_what_is_seen_already():
    """With the flags of what is seen already, the plan is judged by the union: all seen is
    1; nothing seen is the plan's own; a half seen gives at least each part."""
    orbit = MeanOrbit(A, 0.3, 1e-4, 0.0, np.radians(97.4), 0.5)
    roe0 = hold_roe(HOLD_POINTS_M[-1], np.pi / 2, A)
    sun = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
    plan = plan_flyaround(orbit, roe0, rho_m=75.0, normal_m=150.0)
    own = visible_coverage(orbit, roe0, plan, sun, np.radians(30.0), earth_background=False)
    lattice = fibonacci_sphere(COVERAGE_LATTICE)
    assert visible_coverage(orbit, roe0, plan, sun, np.radians(30.0), earth_background=False,
                            seen=np.ones(COVERAGE_LATTICE, bool)) == 1.0
    assert visible_coverage(orbit, roe0, plan, sun, np.radians(30.0), earth_background=False,
                            seen=np.zeros(COVERAGE_LATTICE, bool)) == own
    half = lattice[:, 2] > 0.0
    union = visible_coverage(orbit, roe0, plan, sun, np.radians(30.0), earth_background=False, seen=half)
    assert union >= max(own, half.mean()) - 1e-12 and union <= own + half.mean() + 1e-12
    with pytest.raises(ValueError, match="flags"):
        coverage_fraction(lattice[:3], seen=np.zeros(10, bool))
