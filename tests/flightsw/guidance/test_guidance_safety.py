"""Passively safe approach, fly-around, departure and collision avoidance, checked in truth."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flightsw.control import Allocator, reference_layout
from flightsw.guidance.approach import HOLD_POINTS_M, hold_roe, plan_transfer, retarget_transfer
from flightsw.guidance.cam import cam_needed, plan_cam
from flightsw.guidance.flyaround import (coverage_fraction, fibonacci_sphere, plan_departure,
                                         plan_flyaround, planned_coverage)
from flightsw.guidance.keepout import closest_approach
from flightsw.guidance.maneuvers import predict_roe
from flightsw.guidance.observability import plan_observability_burn, predicted_range_rel_sigma
from flightsw.guidance.passive_safety import ei_min_distance_m, rn_min_distance_m
from flightsw.guidance.roe import (mean_from_roe, mean_orbit_from_state, mean_roe_from_states,
                                   propagate_mean, state_from_mean_orbit)
from guidance_truth import fly, kepler_state, relative_rtn

A = 6878137.0
KEEPOUT_M = 50.0
DAY_S = 86400.0
MASS_KG = 100.0


def start(roe_m, argp=0.3):
    rT, vT = kepler_state(A, 1e-4, np.radians(97.4), 0.5, argp, 0.0)
    chief = mean_orbit_from_state(rT, vT)
    rC, vC = state_from_mean_orbit(mean_from_roe(chief, np.asarray(roe_m) / chief.a_m))
    xT, xC = np.concatenate([rT, vT]), np.concatenate([rC, vC])
    chief, roe0 = mean_roe_from_states(xT[:3], xT[3:], xC[:3], xC[3:])
    return xT, xC, chief, roe0


def truth_min_range(xT, xC, burns, t_end, step=20.0):
    t, XT, XC = fly(xT, xC, t_end, [(b.t_s, b.dv_rtn) for b in burns],
                    t_eval=np.arange(0.0, t_end, step), rtn=True, rtol=1e-10)
    return min(np.linalg.norm(relative_rtn(a, b)[0]) for a, b in zip(XT, XC))


def realised_with_failed_thruster(dv_rtn, failed, rng):
    """The delta-v the reference RCS gives for dv_rtn with thruster ``failed`` off, the body
    at a random attitude, a 1 N-class force for the burn duration (least-thrust allocation)."""
    layout = reference_layout()
    u_max = layout.thrust_max_N.copy()
    u_max[failed] = 0.0
    alloc = Allocator(layout.B, u_max)
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    C_BR = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)],
                     [2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)],
                     [2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)]])
    duration = max(np.linalg.norm(dv_rtn) * MASS_KG / 0.4, 1.0)
    force_B = C_BR @ dv_rtn * MASS_KG / duration
    result = alloc.solve(np.concatenate([force_B, np.zeros(3)]))
    return C_BR.T @ result.achievable_wrench[:3] * duration / MASS_KG


@given(hold=st.sampled_from(range(len(HOLD_POINTS_M) - 1)), phase=st.floats(0.0, 2 * np.pi),
       argp=st.floats(0.0, 2 * np.pi), skip=st.integers(0, 5))
@settings(max_examples=4)
def test_hold_transfer_never_enters_keep_out_planned_or_with_a_missed_burn(hold, phase, argp, skip):
    a = A
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[hold], phase, a) * a, argp)
    plan = plan_transfer(chief, roe0, hold_roe(HOLD_POINTS_M[hold + 1], phase, a), 600.0)
    assert plan.check.ok and plan.check.rn_min_m > KEEPOUT_M
    burns = sorted(plan.burns, key=lambda b: b.t_s)
    horizon = plan.t_arrival_s + 6 * 3600.0
    assert truth_min_range(xT, xC, burns, horizon) > KEEPOUT_M
    # burn `skip` missed and nothing after it: the free drift stays clear for a day
    missed = burns[:skip % len(burns)]
    t_missed = burns[skip % len(burns)].t_s
    assert truth_min_range(xT, xC, missed, t_missed + DAY_S, step=30.0) > KEEPOUT_M


@pytest.mark.parametrize("failed", [0, 5, 10])
def test_close_transfer_is_safe_with_one_thruster_failed_off(failed):
    rng = np.random.default_rng(failed)
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[-2], np.pi / 2, A) * A)
    plan = plan_transfer(chief, roe0, hold_roe(HOLD_POINTS_M[-1], np.pi / 2, A), 600.0)
    realised = []
    for b in plan.burns:
        dv = realised_with_failed_thruster(b.dv_rtn, failed, rng)
        assert np.linalg.norm(dv - b.dv_rtn) <= 1e-6 + 1e-3 * np.linalg.norm(b.dv_rtn)
        realised.append(type(b)(b.t_s, dv))
    assert truth_min_range(xT, xC, realised, plan.t_arrival_s + DAY_S, step=30.0) > KEEPOUT_M


def test_flyaround_covers_the_target_and_stays_out_of_the_keep_out_sphere():
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[-1], np.pi / 2, A) * A)
    plan = plan_flyaround(chief, roe0, rho_m=75.0, normal_m=150.0)
    # an Earth-pointing target is seen from all sides within 60 deg of every surface normal
    assert planned_coverage(chief, roe0, plan, "rtn") >= 0.95
    # an inertially fixed target turns one face to a natural-motion fly-around: half of it
    assert planned_coverage(chief, roe0, plan, "inertial") >= 0.45
    assert truth_min_range(xT, xC, plan.burns, plan.t_end_s, step=20.0) > KEEPOUT_M
    roe_end = predict_roe(chief, roe0, plan.burns, [plan.t_end_s])[:, 0]
    assert rn_min_distance_m(roe_end, A) > KEEPOUT_M


def test_a_flyaround_replan_keeps_its_schedule_instead_of_starting_over():
    """Re-planned from the ellipse half-way round its first side, the fly-around flips at the
    first flip latitude after its original flip time and a one-orbit entry; re-planned after
    the flip, it only corrects the second ellipse and still ends when the first plan did."""
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[-1], np.pi / 2, A) * A)
    first = plan_flyaround(chief, roe0, rho_m=75.0, normal_m=150.0)
    period = 2 * np.pi / chief.n_rad_s
    # before the flip: the state an orbit into the first ellipse, 5 m off (nav, execution)
    t_mid = first.t_flip_s - period
    roe_mid = predict_roe(chief, roe0, [b for b in first.burns if b.t_s < t_mid], [t_mid])[:, 0]
    roe_mid = roe_mid + np.array([0.0, 0.0, 5.0, -5.0, 0.0, 0.0]) / A
    again = plan_flyaround(chief, roe_mid, 75.0, 150.0, 2, t_mid + 600.0, t_flip_s=first.t_flip_s)
    assert first.t_flip_s <= again.t_flip_s <= t_mid + 600.0 + 2.5 * period
    fresh = plan_flyaround(chief, roe_mid, 75.0, 150.0, 2, t_mid + 600.0)
    assert again.t_flip_s < fresh.t_flip_s                             # the fresh one starts over
    # after the flip: de . di < 0; no second flip, the same end
    t_late = first.t_flip_s + period
    roe_late = predict_roe(chief, roe0, list(first.burns), [t_late])[:, 0]
    assert roe_late[2:4] @ roe_late[4:6] < 0.0
    rest = plan_flyaround(chief, roe_late, 75.0, 150.0, 2, t_late + 600.0, flip=False,
                          t_end_s=first.t_end_s)
    assert all(abs(b.dv_rtn[2]) < 0.01 for b in rest.burns)             # no di reversal
    assert rest.t_end_s == pytest.approx(max(first.t_end_s, rest.t_end_s)) and rest.t_end_s >= first.t_end_s
    roe_end = predict_roe(chief, roe_late, list(rest.burns), [rest.t_end_s])[:, 0]
    assert roe_end[2:4] @ roe_end[4:6] < 0.0 and rn_min_distance_m(roe_end, A) > KEEPOUT_M


def test_coverage_of_one_great_circle_is_sin_of_the_incidence_limit():
    u = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    ring = np.column_stack([np.cos(u), np.sin(u), np.zeros_like(u)])
    assert coverage_fraction(ring, np.radians(60.0), lattice=20000) == pytest.approx(np.sin(np.radians(60.0)), abs=0.01)
    assert coverage_fraction(fibonacci_sphere(50), np.radians(60.0)) == 1.0


def test_departure_reaches_beyond_5_km_and_never_returns():
    xT, xC, chief, roe0 = start([0.0, 0.0, 0.0, 75.0, 0.0, -150.0])
    burns, t_done = plan_departure(chief, roe0)
    t_end = t_done + DAY_S
    t, XT, XC = fly(xT, xC, t_end, [(b.t_s, b.dv_rtn) for b in burns],
                    t_eval=np.arange(0.0, t_end, 60.0), rtn=True, rtol=1e-10)
    rng = np.array([np.linalg.norm(relative_rtn(a, b)[0]) for a, b in zip(XT, XC)])
    assert rng.min() > KEEPOUT_M
    # the along-track oscillation (2 x 300 m) rides on the drift: once 6 km out, never within 5
    beyond = np.flatnonzero(rng > 6000.0)
    assert beyond.size and t[beyond[0]] < t_done + 6 * 3600.0
    assert np.all(rng[beyond[0]:] > 5000.0)


def test_ei_formula_matches_the_sampled_minimum_without_drift():
    rng = np.random.default_rng(3)
    for _ in range(20):
        roe = np.concatenate([[0.0, 0.0], rng.normal(0, 1e-5, 4)])
        assert ei_min_distance_m(roe, A) == pytest.approx(rn_min_distance_m(roe, A, 20000), rel=1e-3, abs=0.05)


def test_cam_is_triggered_by_an_unsafe_state_and_clears_it_in_truth():
    xT, xC, chief, roe0 = start([0.0, -120.0, 60.0, 0.0, 0.0, 60.0])  # e/i perpendicular
    P = np.diag(np.array([1.0, 10.0, 1.0, 1.0, 1.0, 1.0]) ** 2) / A**2
    assert cam_needed(chief, roe0, [], P)
    cam = plan_cam(chief, roe0, P, t_burn_s=60.0)
    assert cam.min_sigma_margin >= 3.0 and cam.rn_min_m > KEEPOUT_M
    assert truth_min_range(xT, xC, [cam.burn], DAY_S, step=20.0) > KEEPOUT_M
    assert not cam_needed(chief, roe0, [cam.burn], P)


def test_cam_waits_on_an_along_track_uncertainty_an_ei_separation_covers():
    # 1 km behind on parallel e/i vectors of 300 m, navigation just initialised: a*da and the
    # along-track position known to 40 m and 400 m, so within the horizon the line-of-sight
    # test fails (the along-track error sweeps through the target) — but the R-N separation
    # clears the sphere by far more than 3 sigma, and in truth the free motion stays out
    xT, xC, chief, roe0 = start([0.0, -1000.0, 0.0, 300.0, 0.0, 300.0])
    P = np.diag(np.array([40.0, 400.0, 20.0, 20.0, 10.0, 10.0]) ** 2) / A**2
    approach = closest_approach(chief, roe0, [], 3 * 5700.0, KEEPOUT_M, P)
    assert not approach.safe(KEEPOUT_M)
    assert approach.first_unsafe_s(KEEPOUT_M) < 1800.0
    assert not cam_needed(chief, roe0, [], P)
    assert truth_min_range(xT, xC, [], DAY_S, step=30.0) > KEEPOUT_M


def test_cam_waits_for_navigation_on_a_threat_beyond_the_decision_time():
    # e/i perpendicular (no passive safety), but the uncertainty reaches the sphere only
    # after the decision time: wait; with the decision time stretched over it: act now
    xT, xC, chief, roe0 = start([0.0, -1000.0, 0.0, 300.0, 300.0, 0.0])
    P = np.diag(np.array([5.0, 60.0, 5.0, 5.0, 5.0, 5.0]) ** 2) / A**2
    approach = closest_approach(chief, roe0, [], 3 * 5700.0, KEEPOUT_M, P)
    t_unsafe = approach.first_unsafe_s(KEEPOUT_M)
    assert approach.min_range_m > KEEPOUT_M and 1800.0 < t_unsafe < 3 * 5700.0
    assert not cam_needed(chief, roe0, [], P, decision_s=1800.0)
    assert cam_needed(chief, roe0, [], P, decision_s=t_unsafe)


def test_cam_is_called_when_the_mean_motion_enters_the_sphere_whatever_the_decision_time():
    xT, xC, chief, roe0 = start([0.0, -200.0, 0.0, 0.0, 0.0, 0.0])
    roe0 = roe0.copy()
    roe0[0] = -20.0 / A                     # 20 m lower than the target: drifting onto it
    P = np.diag(np.full(6, 1.0)) / A**2
    assert closest_approach(chief, roe0, [], 3 * 5700.0).min_range_m < KEEPOUT_M
    assert cam_needed(chief, roe0, [], P, decision_s=0.0)


def test_observability_burn_meets_its_range_accuracy_target():
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[0], 1.0, A) * A)
    obs = plan_observability_burn(chief, roe0, 600.0, bearing_sigma_rad=1e-4, target_rel_sigma=0.05)
    assert predicted_range_rel_sigma(chief, roe0, obs.burn, obs.tau_s, 1e-4) == pytest.approx(0.05, rel=1e-6)
    assert obs.burn.dv_m_s < 0.2
    assert closest_approach(chief, roe0, [obs.burn], DAY_S).min_range_m > KEEPOUT_M


def test_the_committed_motion_is_the_issued_burns_still_ahead_only():
    from flightsw.guidance.plan import ActivePlan
    from flightsw.guidance.maneuvers import Burn
    _, _, chief, roe0 = start([0.0, -1000.0, 0.0, 300.0, 0.0, 300.0])
    burns = [Burn(100.0, np.array([0.0, 0.01, 0.0])), Burn(2000.0, np.array([0.0, -0.01, 0.0])),
             Burn(4000.0, np.array([0.01, 0.0, 0.0]))]
    plan = ActivePlan("test", 0, chief, roe0, burns, 5000.0, issued=2)
    # at 50 s both issued burns are ahead; at 500 s the first has flown; the third is not issued
    assert [b.t_s for b in plan.committed_from(int(50e9))] == [50.0, 1950.0]
    assert [b.t_s for b in plan.committed_from(int(500e9))] == [1500.0]
    assert [b.t_s for b in plan.remaining_from(int(500e9))] == [1500.0, 3500.0]


def test_a_transfer_keeps_to_the_burn_cap_by_drifting_longer():
    """20 km hold to 5 km hold with a cap below the fastest transfer's largest burn: the plan
    drifts more orbits, every burn within the cap, still passively safe in truth."""
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[0], np.pi / 2, A) * A)
    aim = hold_roe(HOLD_POINTS_M[1], np.pi / 2, A)
    fast = plan_transfer(chief, roe0, aim, 600.0)
    cap = 0.6 * max(b.dv_m_s for b in fast.burns)
    slow = plan_transfer(chief, roe0, aim, 600.0, max_burn_dv_mps=cap)
    assert max(b.dv_m_s for b in slow.burns) <= cap and slow.check.ok
    assert slow.t_arrival_s > fast.t_arrival_s
    assert truth_min_range(xT, xC, slow.burns, slow.t_arrival_s + 3600.0, step=30.0) > KEEPOUT_M
    with pytest.raises(ValueError, match="cap"):
        plan_transfer(chief, roe0, aim, 600.0, max_burn_dv_mps=1e-4)


@pytest.mark.parametrize("error", [0.0, 0.05, -0.08])
def test_a_transfer_corrected_on_its_schedule_arrives_on_time_and_safe(error):
    """5 km hold to 1 km hold; its first pair flown `error` off in magnitude. From the truth
    state after them (what a converged navigation reports) the burns left are re-targeted on
    their own times: in truth it arrives at the same time, nearer the aim than the
    uncorrected plan (in plane: one cross-track burn is left, too few to steer di), and
    stays clear of the keep-out sphere."""
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[1], np.pi / 2, A) * A)
    aim = hold_roe(HOLD_POINTS_M[2], np.pi / 2, A)
    plan = plan_transfer(chief, roe0, aim, 600.0)
    burns = sorted(plan.burns, key=lambda b: b.t_s)
    in_plane = [b for b in burns if np.any(b.dv_rtn[:2])]
    t_fix = in_plane[1].t_s + 300.0
    flown = [type(b)(b.t_s, (1.0 + error) * b.dv_rtn) for b in burns if b.t_s < t_fix]
    ahead = [type(b)(b.t_s - t_fix, b.dv_rtn) for b in burns if b.t_s >= t_fix]
    _, XT, XC = fly(xT, xC, t_fix, [(b.t_s, b.dv_rtn) for b in flown], t_eval=[t_fix], rtn=True)
    chief1, roe1 = mean_roe_from_states(XT[-1, :3], XT[-1, 3:], XC[-1, :3], XC[-1, 3:])
    fixed = retarget_transfer(chief1, roe1, aim, ahead, plan.t_arrival_s - t_fix, KEEPOUT_M)
    assert fixed.t_arrival_s == pytest.approx(plan.t_arrival_s - t_fix) and fixed.check.ok
    assert [b.t_s for b in fixed.burns] == pytest.approx([b.t_s for b in ahead])

    def arrival_miss(rest):
        t_end = plan.t_arrival_s - t_fix
        _, YT, YC = fly(XT[-1], XC[-1], t_end + 1.0, [(b.t_s, b.dv_rtn) for b in rest],
                        t_eval=[t_end + 1.0], rtn=True)
        _, roe = mean_roe_from_states(YT[-1, :3], YT[-1, 3:], YC[-1, :3], YC[-1, 3:])
        return A * np.linalg.norm((roe - aim)[:4])

    corrected, uncorrected = arrival_miss(fixed.burns), arrival_miss(ahead)
    # the in-plane ROE reached within the model's own metres; the i vector, with one
    # cross-track burn left (it moves di along one line only), is left as it is
    assert corrected < 3.0 and (error == 0.0 or corrected < 0.05 * uncorrected)
    assert truth_min_range(XT[-1], XC[-1], fixed.burns, fixed.t_arrival_s + DAY_S / 4,
                           step=30.0) > KEEPOUT_M


def test_a_transfer_with_one_in_plane_burn_left_adds_one_half_an_orbit_later():
    """Only the last burn left: one more half an orbit after it, the arrival moved there, the
    in-plane ROE reached on the model; none left: refused."""
    xT, xC, chief, roe0 = start(hold_roe(HOLD_POINTS_M[1], np.pi / 2, A) * A)
    aim = hold_roe(HOLD_POINTS_M[2], np.pi / 2, A)
    plan = plan_transfer(chief, roe0, aim, 600.0)
    burns = sorted(plan.burns, key=lambda b: b.t_s)
    # the state just before the last burn, on the plan's model, 5 m off in along-track
    t_last = burns[-1].t_s
    roe1 = predict_roe(chief, roe0, burns[:-1], [t_last - 100.0])[:, 0]
    roe1[1] += 5.0 / A
    chief1 = propagate_mean(chief, t_last - 100.0)
    ahead = [type(burns[-1])(100.0, burns[-1].dv_rtn)]
    fixed = retarget_transfer(chief1, roe1, aim, ahead, plan.t_arrival_s - (t_last - 100.0), KEEPOUT_M)
    half = np.pi / chief.n_rad_s
    assert len(fixed.burns) == 2 and fixed.t_arrival_s == pytest.approx(100.0 + half)
    end = predict_roe(chief1, roe1, fixed.burns, [fixed.t_arrival_s])[:, 0]
    assert A * np.abs(end - aim)[:4].max() < 1.0
    with pytest.raises(ValueError, match="no in-plane"):
        retarget_transfer(chief1, roe1, aim, [], fixed.t_arrival_s, KEEPOUT_M)
