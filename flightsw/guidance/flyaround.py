"""Natural-motion fly-around of the target, the coverage of its surface, and the departure.

With no relative semi-major axis and no along-track offset the chaser's free motion in the
target's RTN frame is a closed 2:1 ellipse centred on the target — radial amplitude rho =
a|de|, along-track 2 rho — plus a cross-track oscillation a|di| (D'Amico 2010, eq. 2.17). With
de parallel to di the cross-track motion is in phase with the along-track one, so the orbit
lies in a plane through the radial axis tilted from the orbit plane by atan(|di| / (2 |de|)),
and it is passively safe (passive_safety). The chaser sees the target from directions on one
great circle of the target's sphere of directions. A point of the target's surface with
outward normal s is imaged usefully when the viewing direction d (target to chaser) satisfies
s.d >= cos(max_incidence); one great circle covers a band of half-width max_incidence around
it, i.e. a fraction sin(max_incidence) of the surface (87 % at 60 deg). The second half of
the inspection flips the relative inclination vector (one cross-track impulse, 2 n a |di|,
at the latitude of the i vector), which mirrors the tilt; the two bands together cover the
whole sphere when the tilts differ by more than 2 (90 deg - max_incidence).

Coverage is computed on a Fibonacci lattice of surface normals, in the frame in which the
target holds its attitude: its RTN frame (an Earth-pointing satellite) or inertial space (an
inertially fixed one; the RTN directions are then rotated by the target's argument of
latitude about the orbit normal).

Departure: a tangential pair that raises the chaser (positive da: it falls behind the target
as it drifts) with enlarged e/i amplitudes, so the motion away is passively safe and never
returns.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.guidance.keepout import DEFAULT_KEEPOUT_M, predicted_positions
from flightsw.guidance.lighting import imaging_possible
from flightsw.guidance.maneuvers import (Burn, predict_roe, solve_impulses, times_at_latitude,
                                        total_dv, transfer_burn_times)
from flightsw.guidance.passive_safety import check_plan, ei_side, parallel_ei_roe
from flightsw.guidance.roe import MeanOrbit, propagate_mean


COVERAGE_LATTICE = 4000


@dataclass(frozen=True)
class FlyAround:
    """A fly-around: the burns (entry, the di flip), the time inspection ends (s), delta-v."""

    burns: tuple
    t_flip_s: float
    t_end_s: float
    dv_m_s: float


def fibonacci_sphere(count: int) -> np.ndarray:
    """(count, 3) nearly uniform unit vectors (Gonzalez, "Measurement of areas on a sphere
    using Fibonacci and latitude-longitude lattices", Math. Geosci. 42, 2010)."""
    k = np.arange(count) + 0.5
    z = 1.0 - 2.0 * k / count
    phi = np.pi * (1.0 + np.sqrt(5.0)) * k
    rho = np.sqrt(1.0 - z * z)
    return np.column_stack([rho * np.cos(phi), rho * np.sin(phi), z])


def viewing_directions(r_CT_rtn, u_rad=None) -> np.ndarray:
    """(K, 3) unit directions from target to chaser, in target RTN, or (with the target's
    argument of latitude u_rad (K,)) in the target's orbit frame fixed in inertial space."""
    d = (np.asarray(r_CT_rtn) / np.linalg.norm(r_CT_rtn, axis=0)).T
    if u_rad is None:
        return d
    c, s = np.cos(u_rad), np.sin(u_rad)
    # RTN -> (node line, in-plane normal to it, orbit normal): rotation by -u about N
    return np.column_stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1], d[:, 2]])


def coverage_fraction(directions, max_incidence_rad=np.radians(60.0), lattice=COVERAGE_LATTICE,
                      seen=None) -> float:
    """Fraction of the target's surface seen within max_incidence_rad of its normal by at
    least one viewing direction (module docstring), or by one of them or already in seen
    (bool flags on the same lattice)."""
    normals = fibonacci_sphere(lattice)
    seen = np.zeros(lattice, dtype=bool) if seen is None else np.array(seen, dtype=bool)
    if seen.shape != (lattice,):
        raise ValueError(f"seen must be {lattice} flags, got shape {seen.shape}")
    cos_max = np.cos(max_incidence_rad)
    for chunk in np.array_split(np.asarray(directions), max(1, len(directions) // 512)):
        seen |= (normals @ chunk.T >= cos_max).any(axis=1)
    return float(seen.mean())


class CoverageMap:
    """The coverage of coverage_fraction kept up to date one viewing direction at a time (the
    surface lattice's seen flags), for imaging as it happens."""

    def __init__(self, max_incidence_rad=np.radians(60.0), lattice=COVERAGE_LATTICE):
        self.normals = fibonacci_sphere(lattice)
        self.cos_max = float(np.cos(max_incidence_rad))
        self.seen = np.zeros(lattice, dtype=bool)

    def add(self, direction) -> float:
        """Count a unit viewing direction (target to chaser, in the target's frame); returns
        the fraction of the surface seen so far."""
        self.seen |= self.normals @ np.asarray(direction, dtype=np.float64) >= self.cos_max
        return self.fraction

    @property
    def fraction(self) -> float:
        return float(self.seen.mean())


def plan_flyaround(chief0: MeanOrbit, roe0, rho_m, normal_m, orbits_per_ellipse=2,
                   t_start_s=0.0, keepout_m=DEFAULT_KEEPOUT_M, t_flip_s=None, flip=True,
                   t_end_s=None, phase_rad=None) -> FlyAround:
    """Enter the fly-around ellipse from roe0 (e.g. the 300 m hold), fly orbits_per_ellipse
    orbits, flip di, fly as many again. The entry is a two-pair transfer over one orbit onto
    the ellipse on roe0's side (di parallel or anti-parallel to de, as roe0 has it), its
    relative e vector at phase_rad (default: roe0's), which sets where on its orbit the chaser
    is at each point of the ellipse, and so the lighting of each viewing direction (lighting).

    A re-plan during the inspection keeps the schedule it corrects: t_flip_s, the earliest
    flip (the flip comes at the first flip latitude after both it and the entry), or, once
    the flip is done, flip=False and t_end_s, when the second ellipse's orbits are over."""
    roe0 = np.asarray(roe0, dtype=np.float64)
    a = float(chief0.a_m)
    phase = float(np.arctan2(roe0[3], roe0[2])) if phase_rad is None else float(phase_rad)
    target = parallel_ei_roe(0.0, rho_m, ei_side(roe0) * normal_m, phase, a)
    half = times_at_latitude(chief0, roe0, phase, t_start_s, t_start_s)[1]
    times, axes, t_entered = transfer_burn_times(chief0, roe0, target, t_start_s, 1)
    entry = solve_impulses(chief0, roe0, target, t_entered, times, axes)
    if flip:
        # the flip: at u = i-vector phase (mod pi) a cross-track impulse reverses di
        t_ready = t_entered + orbits_per_ellipse * 2.0 * half if t_flip_s is None else max(t_entered, t_flip_s)
        t_flip = times_at_latitude(chief0, target, phase, t_ready, t_ready + 2.0 * half)[0][0]
        burns = tuple(entry) + (_flip_burn(chief0, roe0, entry, t_flip),)
        t_end = t_flip + orbits_per_ellipse * 2.0 * half
    else:
        burns = tuple(entry)
        t_flip = float("nan")
        t_end = t_entered if t_end_s is None else max(t_entered, t_end_s)
    check = check_plan(chief0, roe0, burns, t_end, keepout_m)
    if not check.ok:
        raise ValueError(f"fly-around not passively safe: {check}")
    return FlyAround(burns, float(t_flip), float(t_end), total_dv(burns))


def _flip_burn(chief0, roe0, burns, t_flip_s) -> Burn:
    """The cross-track impulse at t_flip_s that reverses di: d(di) = -2 di = (cos u, sin u)
    dv_N / (n a) (D'Amico 2010, eq. 2.38), with u the chaser's latitude then."""
    roe = predict_roe(chief0, roe0, burns, [t_flip_s])[:, 0]
    chief = propagate_mean(chief0, t_flip_s)
    u = float(chief.u_rad) + roe[1]
    na = float(chief.n_rad_s * chief.a_m)
    dv_n = na * (-2.0 * roe[4:6]) @ np.array([np.cos(u), np.sin(u)])
    return Burn(float(t_flip_s), np.array([0.0, 0.0, dv_n]))


def plan_departure(chief0: MeanOrbit, roe0, t_start_s=0.0, radial_m=300.0, normal_m=300.0,
                   drift_m_per_orbit=2000.0, keepout_m=DEFAULT_KEEPOUT_M):
    """Burns (two pairs over one orbit) that put the chaser on a passively safe orbit drifting
    away behind the target at drift_m_per_orbit, with e/i amplitudes radial_m, normal_m.
    roe0 are the ROE at chief0's epoch. Returns (burns, t_done_s); raises ValueError if the plan fails its safety check."""
    roe0 = np.asarray(roe0, dtype=np.float64)
    a = float(chief0.a_m)
    phase = float(np.arctan2(roe0[3], roe0[2]))
    half = times_at_latitude(chief0, roe0, phase, t_start_s, t_start_s)[1]
    da = drift_m_per_orbit / (3.0 * np.pi * a)
    # where the chaser will be at the end of the transfer if it drifts from the last burn on
    along = predict_roe(chief0, roe0, [], [t_start_s + 3.0 * half])[1, 0] * a - drift_m_per_orbit
    # keep the i vector on its side of the e vector (parallel or anti-parallel, both safe)
    target = parallel_ei_roe(along, radial_m, ei_side(roe0) * normal_m, phase, a)
    target[0] = da
    times, axes, t_done = transfer_burn_times(chief0, roe0, target, t_start_s, 1)
    burns = solve_impulses(chief0, roe0, target, t_done, times, axes)
    check = check_plan(chief0, roe0, burns, t_done, keepout_m)
    if not check.ok:
        raise ValueError(f"departure not passively safe: {check}")
    return tuple(burns), float(t_done)


def _coverage_along(chief0: MeanOrbit, roe0, plan: FlyAround, t_s, target_frame, max_incidence_rad,
                    imageable=None, seen=None) -> float:
    """Coverage fraction from the plan's predicted viewing directions at times t_s, those
    where imageable (a bool mask on t_s) is true, with the flags already seen."""
    if target_frame not in ("rtn", "inertial"):
        raise ValueError(f"target_frame must be 'rtn' or 'inertial', got {target_frame!r}")
    orbit = propagate_mean(chief0, t_s)
    r = predicted_positions(chief0, roe0, plan.burns, t_s)
    keep = np.ones(len(t_s), dtype=bool) if imageable is None else np.asarray(imageable, dtype=bool)
    if not keep.any():
        return float(np.mean(seen)) if seen is not None else 0.0
    u = orbit.u_rad[keep] if target_frame == "inertial" else None
    return coverage_fraction(viewing_directions(r[:, keep], u), max_incidence_rad, seen=seen)


def planned_coverage(chief0: MeanOrbit, roe0, plan: FlyAround, target_frame="rtn",
                     max_incidence_rad=np.radians(60.0), step_s=30.0) -> float:
    """Coverage fraction of the target's surface over a fly-around plan (module docstring)."""
    t_begin = max(b.t_s for b in plan.burns if b.t_s < plan.t_flip_s)
    return _coverage_along(chief0, roe0, plan, np.arange(t_begin, plan.t_end_s, step_s),
                           target_frame, max_incidence_rad)


def visible_coverage(chief0: MeanOrbit, roe0, plan: FlyAround, sun_N, sun_exclusion_rad,
                     target_frame="rtn", max_incidence_rad=np.radians(60.0), step_s=60.0,
                     earth_background=True, earth_margin_rad=0.0, seen=None) -> float:
    """Coverage fraction of a fly-around plan counting only the directions the camera can
    image (lighting.imaging_possible: sunlit target, boresight off the Sun, and, with
    earth_background False, the Earth not behind the target), from the entry to the end;
    with seen (the bool flags of a CoverageMap of the same lattice, 4000 points), of what
    it adds to them."""
    t = np.arange(plan.burns[0].t_s, plan.t_end_s, step_s)
    imageable = imaging_possible(propagate_mean(chief0, t), predicted_positions(chief0, roe0, plan.burns, t),
                                 sun_N, sun_exclusion_rad, earth_background, earth_margin_rad)
    return _coverage_along(chief0, roe0, plan, t, target_frame, max_incidence_rad, imageable, seen)
