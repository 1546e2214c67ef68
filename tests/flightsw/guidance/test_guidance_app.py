"""The guidance app on synthetic message streams: pointing, plans and burns, ground overrides,
collision avoidance, bad inputs.

The truth is guidance_truth's (scipy DOP853, two-body + J2); the navigation messages are built
from it here. Every message the app publishes goes through the codec, so it meets its contract.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp

from flightsw.control.app import ControlApp
from flightsw.control.attitude import quat_from_dcm
from flightsw.guidance.app import GuidanceApp
from flightsw.guidance.approach import HOLD_POINTS_M, hold_aim, hold_roe
from flightsw.guidance.cam import SHORT_HORIZON_S
from flightsw.guidance.flyaround import CoverageMap, coverage_fraction, fibonacci_sphere
from flightsw.guidance.keepout import closest_approach
from flightsw.guidance.maneuvers import Burn, predict_roe
from flightsw.guidance.mission import Phase
from flightsw.guidance.passive_safety import parallel_ei_roe
from flightsw.guidance.phasing import phasing_lower_bound
from flightsw.guidance.plan import ActivePlan
from flightsw.guidance.pointing import clear_of_sun, reference_rate
from flightsw.guidance.roe import (mean_from_roe, mean_orbit_from_state, mean_roe_from_states,
                                   propagate_mean, roe_stm, roe_stm_series, state_from_mean_orbit)
from flightsw.guidance.sun import AU_M, julian_date, sun_direction_N, sun_position_N
from flightsw.msg import (AttitudeEstimate, BurnCommand, BurnReport, CameraCommand, Envelope,
                          GroundCommand, GuidanceEvent, GuidanceMode, NavHealth, OrbitEstimate,
                          PlanReport, PointingCommand, RelativeState, TargetCue, TargetTrack,
                          decode, encode)
from flightsw.nav.relative import RelativeFilter
from flightsw.runtime.app import Inbox
from guidance_truth import accel_j2, fly, kepler_state, relative_rtn, rtn_basis

A = 6878137.0
NS = 1_000_000_000
KEEPOUT_M = 50.0
EPOCH = "2026-03-01T00:00:00Z"


# -- the synthetic vehicle ---------------------------------------------------------------------
def start(roe_m, argp=0.3):
    """Target and chaser ECI states with the chaser at the mean ROE roe_m (metres)."""
    rT, vT = kepler_state(A, 1e-4, np.radians(97.4), 0.5, argp, 0.0)
    chief = mean_orbit_from_state(rT, vT)
    rC, vC = state_from_mean_orbit(mean_from_roe(chief, np.asarray(roe_m, dtype=float) / chief.a_m))
    return np.concatenate([rT, vT]), np.concatenate([rC, vC])


def truth(xT0, xC0, times):
    _, XT, XC = fly(xT0, xC0, times[-1] + 1.0, t_eval=times, rtol=1e-10)
    return XT, XC


def orbit_msg(t_ns, xC):
    return OrbitEstimate(t_est_ns=t_ns, r_BN_N=xC[:3], v_BN_N=xC[3:],
                         P_rv=np.diag([3.0] * 3 + [0.03] * 3) ** 2, valid=True)


def relative_msg(t_ns, xT, xC, sigma_rtn_m=(10.0, 10.0, 10.0), sigma_roe_m=None):
    """RelativeState of truth, with a diagonal covariance: position sigmas (m) in RTN, velocity
    sigmas 1e-3 of them per second, ROE sigmas (m, a times the ROE) as given or the largest
    position sigma."""
    r, v = relative_rtn(xT, xC)
    _, roe = mean_roe_from_states(xT[:3], xT[3:], xC[:3], xC[3:])
    sigma_rtn_m = np.asarray(sigma_rtn_m, dtype=float)
    sigma_roe_m = np.full(6, sigma_rtn_m.max()) if sigma_roe_m is None else np.asarray(sigma_roe_m)
    return RelativeState(t_est_ns=t_ns, r_CT_rtn=r, v_CT_rtn=v,
                         P_rtn=np.diag(np.concatenate([sigma_rtn_m, 1e-3 * sigma_rtn_m])) ** 2,
                         roe=roe, P_roe=np.diag(sigma_roe_m / A) ** 2,
                         range_m=float(np.linalg.norm(r)), range_sigma_m=float(sigma_rtn_m[1]),
                         valid=True)


def attitude_msg(t_ns):
    return AttitudeEstimate(t_est_ns=t_ns, q_BN=np.array([1.0, 0.0, 0.0, 0.0]),
                            omega_BN_B=np.zeros(3), P_att=np.eye(3) * 1e-8, valid=True)


def track_msg(t_ns, u_N, state="confirmed"):
    return TargetTrack(t_meas_ns=t_ns, track_id=7, u_N=np.asarray(u_N) / np.linalg.norm(u_N),
                       P_u=np.eye(3) * 1e-10, x_px=512.0, y_px=512.0, flux_dn=500.0, snr=30.0,
                       resolved=False, apparent_radius_rad=0.0, frames_tracked=12, state=state, saturated=False)


def line_of_sight(xT, xC):
    u = xT[:3] - xC[:3]
    return u / np.linalg.norm(u)


def command(cmd_id, opcode):
    return GroundCommand(cmd_id=cmd_id, opcode=opcode, argument=0.0)


def wire(msg, t_ns=0):
    """The message as a subscriber receives it: encoded and decoded (MessageError if bad)."""
    return decode(encode(msg, 0, t_ns, "test"))[1]


def step(app, t_s, msgs=()):
    """One step at t_s with msgs delivered; returns (mode, pointing, burns), all decoded."""
    t_ns = int(round(t_s * NS))
    inbox = Inbox([(Envelope(m.TOPIC, m.VERSION, k, t_ns, "test"), m) for k, m in enumerate(msgs)])
    out = [wire(m, t_ns) for m in app.step(t_ns, inbox)]
    assert isinstance(out[0], GuidanceMode) and isinstance(out[1], PointingCommand)
    assert all(isinstance(m, (BurnCommand, PlanReport, CameraCommand, GuidanceEvent)) for m in out[2:])
    app.camera_commands = getattr(app, "camera_commands", []) + \
        [(t_s, m.period_s) for m in out if isinstance(m, CameraCommand)]
    app.plan_reports = getattr(app, "plan_reports", []) + [m for m in out if isinstance(m, PlanReport)]
    return out[0], out[1], [m for m in out[2:] if isinstance(m, BurnCommand)]


def guidance(**params):
    """The app; navigation is taken as settled from its first estimate unless a test says
    otherwise (nav_settle_s), so a single step can plan."""
    app = GuidanceApp("guidance", {"nav_settle_s": 0.0, **params})
    app.reset()
    return app


def nav(t_s, xT, xC, **kw):
    t_ns = int(round(t_s * NS))
    return [orbit_msg(t_ns, xC), relative_msg(t_ns, xT, xC, **kw), attitude_msg(t_ns)]


def dcm(q):
    """C_BN of q_BN (scalar first; Schaub & Junkins eq. 3.98), written out for the tests."""
    q0, q1, q2, q3 = q / np.linalg.norm(q)
    return np.array([
        [q0**2 + q1**2 - q2**2 - q3**2, 2 * (q1 * q2 + q0 * q3), 2 * (q1 * q3 - q0 * q2)],
        [2 * (q1 * q2 - q0 * q3), q0**2 - q1**2 + q2**2 - q3**2, 2 * (q2 * q3 + q0 * q1)],
        [2 * (q1 * q3 + q0 * q2), 2 * (q2 * q3 - q0 * q1), q0**2 - q1**2 - q2**2 + q3**2]])


def angle(a, b):
    return float(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1.0, 1.0)))


def burn_in_rtn(burn, xC_at_t, t_s):
    """(time of the impulse = mid-burn, s) and the delta-v in the chaser's RTN frame then, the
    chaser propagated from t_s."""
    t_mid = burn.t_start_ns / NS + 0.5 * burn.duration_s
    _, _, XC = fly(xC_at_t, xC_at_t, t_mid - t_s + 1.0, t_eval=[t_mid - t_s])
    return t_mid, rtn_basis(XC[0, :3], XC[0, 3:]) @ burn.dv_N


# -- building blocks ---------------------------------------------------------------------------
def test_sun_position_matches_vallado_example_5_1():
    # Vallado 2013, Example 5-1: 2 April 2006, 0 h UTC: r = (0.9771945, 0.1924424, 0.0834308) AU
    jd = julian_date("2006-04-02T00:00:00Z")
    assert jd == 2453827.5
    assert sun_position_N(jd) / AU_M == pytest.approx([0.9771945, 0.1924424, 0.0834308], abs=2e-6)
    # the 2026 March equinox (20 March, 14:46 UTC) and June solstice (21 June, 08:24 UTC), in
    # the frame of date the algorithm works in: on the equator at the equinox's direction, and
    # at the obliquity north of it
    equinox = sun_direction_N(julian_date("2026-03-20T14:46:00Z"))
    assert angle(equinox, [1.0, 0.0, 0.0]) < np.radians(0.02)
    solstice = sun_direction_N(julian_date("2026-06-21T08:24:00Z"))
    assert np.degrees(np.arcsin(solstice[2])) == pytest.approx(23.436, abs=0.01)
    assert solstice[0] == pytest.approx(0.0, abs=np.radians(0.02))
    with pytest.raises(ValueError):
        julian_date("first of March")


def test_coverage_map_counts_what_coverage_fraction_counts():
    rng = np.random.default_rng(4)
    d = rng.standard_normal((60, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    cover = CoverageMap(np.radians(40.0), lattice=3000)
    for x in d:
        cover.add(x)
    assert cover.fraction == coverage_fraction(d, np.radians(40.0), lattice=3000)


def test_roe_stm_series_is_roe_stm_at_each_time():
    xT, _ = start(np.zeros(6))
    chief = mean_orbit_from_state(xT[:3], xT[3:])
    t = np.linspace(-600.0, 2 * 86400.0, 37)
    assert np.array_equal(roe_stm_series(chief, t), np.stack([roe_stm(chief, x) for x in t]))


def test_hold_aim_keeps_the_e_i_phase_and_side_it_finds():
    for phase, side in ((0.3, 1.0), (2.5, -1.0)):
        roe = parallel_ei_roe(-20000.0, 300.0, side * 400.0, phase, A)
        along, radial, normal = HOLD_POINTS_M[1]
        aim = hold_aim(HOLD_POINTS_M[1], roe, A)
        assert aim == pytest.approx(parallel_ei_roe(along, radial, side * normal, phase, A),
                                    abs=0.02 * radial / A)


@given(u=st.tuples(*[st.floats(-1, 1)] * 3), s=st.tuples(*[st.floats(-1, 1)] * 3),
       exclusion_deg=st.floats(0.0, 89.0))
@settings(max_examples=60)
def test_clear_of_sun_is_the_nearest_direction_outside_the_cone(u, s, exclusion_deg):
    u, s = np.array(u), np.array(s)
    if np.linalg.norm(u) < 1e-3 or np.linalg.norm(s) < 1e-3:
        return
    s /= np.linalg.norm(s)
    exclusion = np.radians(exclusion_deg)
    d = clear_of_sun(u, s, exclusion)
    assert np.linalg.norm(d) == pytest.approx(1.0)
    assert angle(d, s) >= exclusion - 1e-9
    # outside the cone nothing moves; inside, the boresight moves to its edge, no further
    assert angle(d, u) == pytest.approx(max(exclusion - angle(u, s), 0.0), abs=1e-6)


def test_reference_rate_of_a_uniform_rotation():
    w = np.array([0.01, -0.02, 0.005])
    q0 = np.array([0.8, 0.2, -0.4, 0.4])
    q0 /= np.linalg.norm(q0)
    dt = 0.5
    half = 0.5 * np.linalg.norm(w) * dt
    dq = np.concatenate([[np.cos(half)], np.sin(half) * w / np.linalg.norm(w)])
    # the frame turned by dq about its own axes: C_R1N = C(dq) C_R0N
    C1 = dcm(dq) @ dcm(q0)
    assert reference_rate(q0, quat_from_dcm(C1), dt) == pytest.approx(w, rel=1e-9)


# -- pointing ----------------------------------------------------------------------------------
def cue_from(xT, sigma_r_rtn, sigma_v_rtn, t_ns=0):
    R = rtn_basis(xT[:3], xT[3:]).T
    P_rtn = np.diag(np.concatenate([sigma_r_rtn, sigma_v_rtn])) ** 2
    J = np.zeros((6, 6))
    J[:3, :3] = R
    J[3:, 3:] = R
    return TargetCue(epoch_ns=t_ns, r_TN_N=xT[:3], v_TN_N=xT[3:], P_rv=J @ P_rtn @ J.T,
                     radius_m=0.5)


def two_body_j2(_, y):
    """d/dt of stacked ECI states [r, v, r, v, ...] (guidance_truth's field)."""
    s = y.reshape(-1, 6)
    return np.concatenate([s[:, 3:], accel_j2(s[:, :3])], axis=1).ravel()


def propagate_many(states, times):
    """(len(times), n, 6) states of n (n, 6) states at times (s), DOP853 with J2."""
    sol = solve_ivp(two_body_j2, (0.0, times[-1]), states.ravel(), method="DOP853", rtol=1e-9,
                    atol=1e-4, t_eval=times)
    return sol.y.T.reshape(len(times), -1, 6)


def in_frame(q_BN, u_N, half_fov_rad):
    u_C = u_N @ dcm(q_BN).T
    t = np.tan(half_fov_rad)
    x, y, z = u_C[..., 0], u_C[..., 1], u_C[..., 2]
    return (z > 0) & (np.abs(x) <= t * z) & (np.abs(y) <= t * z)


def test_search_points_over_the_cue_uncertainty_then_follows_the_confirmed_track():
    # the cue is half an hour old: its along-track uncertainty needs several tiles of a
    # narrow camera
    xT0, xC0 = start([0.0, -2.0e6, 200.0, 0.0, 0.0, 300.0])
    cue = cue_from(xT0, [1000.0, 5000.0, 500.0], [5.0, 1.0, 0.5])
    fov = np.radians(0.3)
    app = guidance(camera_fov_deg=0.3, camera_cols=256, camera_rows=256, search_dwell_s=4.0,
                   search_samples=500)
    times = 1800.0 + np.arange(0.0, 120.0, 1.0)
    XT, XC = truth(xT0, xC0, np.concatenate([[0.0], times]))
    XT, XC = XT[1:], XC[1:]
    pointings = []
    for k, t in enumerate(times):
        msgs = [orbit_msg(int(t * NS), XC[k]), attitude_msg(int(t * NS))] + ([cue] if k == 0 else [])
        mode, pointing, burns = step(app, t, msgs)
        assert mode.phase == "search" and pointing.mode == "search" and not burns
        if app.search.stages_planned > 1:
            break
        pointings.append((k, pointing.q_RN))
    # the first stage: its tiles, a dwell on each, cover 95 % of samples of the cue drawn and
    # flown here (the planner aims at 99.5 % of its own samples)
    assert len(pointings) >= 5 * 4 and app.search.stage == 1
    rng = np.random.default_rng(11)
    values, vectors = np.linalg.eigh(cue.P_rv)
    L = vectors * np.sqrt(np.clip(values, 0.0, None))
    samples = np.concatenate([cue.r_TN_N, cue.v_TN_N]) + rng.standard_normal((200, 6)) @ L.T
    flown = propagate_many(samples, np.concatenate([[0.0], times[:len(pointings)]]))[1:]
    seen = np.zeros(len(samples), bool)
    nominal_seen = False
    for k, q in pointings:
        los = flown[k, :, :3] - XC[k, :3]
        los /= np.linalg.norm(los, axis=1, keepdims=True)
        seen |= in_frame(q, los, 0.5 * fov)
        nominal_seen |= bool(in_frame(q, line_of_sight(XT[k], XC[k]), 0.5 * fov))
    assert nominal_seen
    assert seen.mean() >= 0.95
    # a confirmed track: the camera now follows the track's line of sight
    k = len(pointings) + 1
    t = times[k]
    mode, pointing, _ = step(app, t, [orbit_msg(int(t * NS), XC[k]), attitude_msg(int(t * NS)),
                                      track_msg(int(t * NS), line_of_sight(XT[k], XC[k]))])
    assert pointing.mode == "target"
    assert angle(dcm(pointing.q_RN)[2], line_of_sight(XT[k], XC[k])) < 1e-9


@pytest.mark.parametrize("sigma_m, mode", [((500.0, 80e3, 500.0), "target"),
                                           ((80e3, 5000.0, 500.0), "search")])
def test_search_points_at_navigation_once_its_uncertainty_fits_in_the_field(sigma_m, mode):
    # 10 deg camera, 2000 km behind: 80 km along the line of sight do not matter, 3 sigma of
    # 80 km across it (7 deg) do not fit in half the field
    xT0, xC0 = start([0.0, -2.0e6, 200.0, 0.0, 0.0, 300.0])
    app = guidance(start_phase="search")
    msgs = [orbit_msg(0, xC0), attitude_msg(0), relative_msg(0, xT0, xC0, sigma_rtn_m=sigma_m),
            cue_from(xT0, sigma_m, [1.0, 1.0, 1.0])]
    _, pointing, _ = step(app, 0.0, msgs)
    assert pointing.mode == mode
    if mode == "target":
        assert angle(dcm(pointing.q_RN)[2], line_of_sight(xT0, xC0)) < 1e-6


def test_pointing_follows_the_track_line_of_sight_at_its_rate():
    xT0, xC0 = start([0.0, -300e3, 200.0, 0.0, 0.0, 300.0])
    app = guidance(start_phase="far_approach")
    half_steps = np.arange(0.0, 31.0, 0.5)
    XT, XC = truth(xT0, xC0, half_steps)
    for k in range(1, 30):
        t = float(k)
        # the track measured half a step before the step, as detection delivers it
        u_meas = line_of_sight(XT[2 * k - 1], XC[2 * k - 1])
        mode, pointing, _ = step(app, t, [orbit_msg(int(t * NS), XC[2 * k]), attitude_msg(int(t * NS)),
                                          track_msg(int((t - 0.5) * NS), u_meas)])
        assert mode.phase == "far_approach" and pointing.mode == "target"
        if k >= 2:   # the rate comes from two tracks
            u_now = line_of_sight(XT[2 * k], XC[2 * k])
            assert angle(dcm(pointing.q_RN)[2], u_now) < 1e-6
            # the commanded rate turns the boresight as the line of sight turns
            u_next = line_of_sight(XT[2 * k + 1], XC[2 * k + 1])
            w = pointing.omega_RN_R
            assert np.hypot(w[0], w[1]) == pytest.approx(angle(u_now, u_next) / 0.5, rel=0.02)


def test_the_sun_is_kept_off_the_camera_and_on_the_array():
    xT0, xC0 = start([0.0, -300e3, 200.0, 0.0, 0.0, 300.0])
    app = guidance(epoch_utc=EPOCH, sun_exclusion_deg=30.0)
    s = sun_direction_N(julian_date(EPOCH))
    mode, pointing, _ = step(app, 0.0, [orbit_msg(0, xC0)])
    assert mode.phase == "commission" and pointing.mode == "sun"
    assert dcm(pointing.q_RN)[0] @ s == pytest.approx(1.0, abs=1e-6)
    # a track 10 deg from the Sun: the camera looks 30 deg from the Sun, 20 deg from the track
    axis = np.cross(s, [0.0, 0.0, 1.0])
    axis /= np.linalg.norm(axis)
    for t, off_deg in ((1.0, 10.0), (2.0, 45.0)):
        a = np.radians(off_deg)
        u = np.cos(a) * s + np.sin(a) * np.cross(axis, s)
        mode, pointing, _ = step(app, t, [orbit_msg(int(t * NS), xC0), attitude_msg(int(t * NS)),
                                          track_msg(int(t * NS), u)])
        C = dcm(pointing.q_RN)
        assert pointing.mode == "target"
        assert angle(C[2], s) >= np.radians(30.0) - 1e-9
        assert angle(C[2], u) == pytest.approx(max(np.radians(30.0) - a, 0.0), abs=1e-4)
        # the array normal as near the Sun as the boresight allows
        assert C[0] @ s == pytest.approx(np.sin(angle(C[2], s)), abs=1e-6)


# -- plans and burns ---------------------------------------------------------------------------
def fly_far_approach(duration_s, phase=1.0, **params):
    """Guidance from search into the far approach at 2000 km, nav and a confirmed track every
    10 s in truth: (app, XT, XC, modes, [(t, burn issued)])."""
    xT0, xC0 = start([0.0, -2.0e6, 300 * np.cos(phase), 300 * np.sin(phase),
                      400 * np.cos(phase), 400 * np.sin(phase)])
    app = guidance(epoch_utc=EPOCH, **params)
    times = np.arange(0.0, duration_s, 10.0)
    XT, XC = truth(xT0, xC0, times)
    modes, burns = [], []
    for k, t in enumerate(times):
        msgs = nav(t, XT[k], XC[k], sigma_rtn_m=(100.0, 1000.0, 100.0))
        msgs.append(track_msg(int(t * NS), line_of_sight(XT[k], XC[k])))
        mode, _, issued = step(app, t, msgs)
        modes.append(mode)
        burns += [(t, b) for b in issued]
    return app, XT, XC, modes, burns


def test_far_approach_plans_phasing_near_the_bound_and_issues_its_first_burn_once():
    phase = 1.0
    app, XT, XC, modes, burns = fly_far_approach(2700.0, phase)
    assert [m.phase for m in modes[:2]] == ["search", "far_approach"]
    entry = modes[1]
    # the lower bound of any transfer in the same window, from the truth at the phase entry
    chief, roe = mean_roe_from_states(XT[1, :3], XT[1, 3:], XC[1, :3], XC[1, 3:])
    aim = parallel_ei_roe(-20000.0, 1000.0, 1000.0, phase, A)
    start_roe = predict_roe(chief, roe, [], [600.0])[:, 0]
    bound = phasing_lower_bound(propagate_mean(chief, 600.0), start_roe, aim, app.p.far_budget_s - 600.0)
    assert bound <= entry.planned_dv_mps <= 1.3 * bound
    # and the plan reports itself with its own bound, for the ground and the run's summary
    report, = app.plan_reports
    assert report.leg == "phasing" and report.dv_mps == pytest.approx(entry.planned_dv_mps)
    assert report.dv_lower_bound_mps == pytest.approx(bound, rel=0.02)
    # the first burn: issued once, ahead of its start by at least a control period, its
    # impulse (the middle of its window) no earlier than plan_start_s
    assert len(burns) == 1
    t_issue, burn = burns[0]
    assert burn.t_start_ns + 0.5 * burn.duration_s * NS >= 600 * NS
    assert burn.burn_id == 1
    assert 1.0 <= burn.t_start_ns / NS - t_issue <= 30.0
    assert burn.t_start_ns == pytest.approx(entry.next_burn_t_ns, abs=1000)
    dv = np.linalg.norm(burn.dv_N)
    after = modes[int(round(t_issue / 10.0))]   # the step that issued it (10 s steps)
    assert after.used_dv_mps == pytest.approx(dv)
    assert after.planned_dv_mps == pytest.approx(entry.planned_dv_mps - dv, rel=1e-6)
    assert burn.duration_s == pytest.approx(100.0 * dv / 0.4)


def test_a_phasing_replanned_after_the_mid_approach_began_keeps_the_far_deadline():
    """The far approach's budget runs from its entry: a phasing leg re-planned once the mid
    approach has begun (the 25 km gate passed with phasing burns still due, then the estimate
    off the plan) must still arrive by far_budget_s after the far approach began. Counted from
    the new phase, as it was, the victus-haze re-plan at 33 h aimed 26 h further on, past the
    end of the mission."""
    # a 30 h budget: 20 h are left at the re-plan, a phasing within the plan's delta-v cap
    app, _, _, modes, _ = fly_far_approach(30.0, far_budget_s=30 * 3600.0)
    assert modes[-1].phase == "far_approach"
    deadline_ns = app.far_deadline_ns
    assert deadline_ns == pytest.approx((10.0 + app.p.far_budget_s) * NS, abs=10 * NS)
    t_replan_s = 10.0 * 3600.0
    app.mission._enter(Phase.MID_APPROACH, t_replan_s, "test: within 25 km")
    assert app._plan_leg(("phasing", 0), int(t_replan_s * NS), app.est)
    assert app.plan.end_ns <= deadline_ns + 60 * NS
    assert app.plan.end_ns > (t_replan_s + 6 * 3600.0) * NS   # and uses the time it has
    # and once re-planned for a deviation inside the 25 km gate, the phasing gives way to the
    # mid approach's first transfer, planned at once
    app.replan_reason = "test: estimate off the plan"
    app._replan(int(t_replan_s * NS), app.est)
    assert app.plan is None and app.plan_leg is None and app.next_leg_ns <= t_replan_s * NS


def test_entering_the_mid_approach_hands_the_phasing_over_and_the_departure_the_fly_around():
    """The 25 km gate passed with phasing burns still due: the phasing is dropped at once and
    the mid approach's first transfer is next (vh22 flew 6 h of phasing inside the gate);
    likewise the rest of a fly-around once the coverage is reached. Other plans are kept."""
    app, _, _, modes, _ = fly_far_approach(30.0, far_budget_s=30 * 3600.0)
    assert app.plan is not None and app.plan_leg == ("phasing", 0)
    t_ns = int(3600.0 * NS)
    app.mission._enter(Phase.MID_APPROACH, 3600.0, "test: within 25 km")
    app._enter(Phase.MID_APPROACH, t_ns)
    assert app.plan is None and app.plan_leg is None and app.next_leg_ns <= t_ns
    assert app.legs == [("hold", 1), ("hold", 2)]
    assert any("handed over" in e[1] for e in app.events)
    # a fly-around with burns ahead, the coverage reached
    plan = ActivePlan("fly-around", t_ns, app.est.chief, app.est.roe,
                      (Burn(7200.0, np.array([0.0, 0.01, 0.0])),), 9000.0)
    app.plan, app.plan_leg = plan, ("flyaround", None)
    app._enter(Phase.CLOSE_APPROACH, t_ns)
    assert app.plan is plan                      # not a hand-over: kept
    app._enter(Phase.DEPART, t_ns)
    assert app.plan is None and app.legs == [("departure", None)]


def test_a_fly_around_that_leaves_the_goal_unreached_is_followed_by_another():
    """The fly-around flown, the coverage short of the goal, still inspecting: another
    fly-around is queued with a fresh schedule (its phase chosen anew)."""
    app, _, _, _, _ = fly_far_approach(30.0, far_budget_s=30 * 3600.0)
    t_ns = int(3600.0 * NS)
    app.mission._enter(Phase.INSPECT, 3600.0, "test: within 400 m")
    app.plan = ActivePlan("fly-around", 0, app.est.chief, app.est.roe, (), 1000.0)
    app.plan_leg, app.legs = ("flyaround", None), []
    app.flyaround_schedule = (1.0, 0, 0, 0.0)
    app.plan_retry_ns = t_ns + 10**15           # planning held off: only the queue is tested
    app._next_leg(t_ns, app.est)
    assert app.legs == [("flyaround", None)] and app.flyaround_schedule is None
    assert any("another" in e[1] for e in app.events)
    # the goal reached: nothing more
    app.legs = []
    app.coverage.seen[:] = True
    app._next_leg(t_ns, app.est)
    assert app.legs == []


def hold_scenario(hold, phase=1.0):
    return start(hold_roe(HOLD_POINTS_M[hold], phase, A) * A)


class ClosedLoop:
    """Truth that flies the app's burns: each an impulse dv_N at mid-burn (dense DOP853)."""

    def __init__(self, xT0, xC0, t_end):
        self.t_end = t_end
        self.pending = []
        self._segment(0.0, np.concatenate([xT0, xC0]))

    def _segment(self, t0, y0):
        self.solution = solve_ivp(two_body_j2, (t0, self.t_end), y0, method="DOP853",
                                  rtol=1e-10, atol=1e-6, dense_output=True).sol

    def states(self, t):
        """(xT, xC) at t, the burns due by then flown."""
        while self.pending and self.pending[0][0] <= t:
            t_mid, dv_N = self.pending.pop(0)
            y = self.solution(t_mid).copy()
            y[9:] += dv_N
            self._segment(t_mid, y)
        y = self.solution(t)
        return y[:6], y[6:]

    def fly(self, burns):
        self.pending = sorted(self.pending + [(b.t_start_ns / NS + 0.5 * b.duration_s, b.dv_N)
                                              for b in burns], key=lambda p: p[0])


def test_mid_approach_flown_in_truth_reaches_the_5_km_hold_on_plan():
    xT0, xC0 = hold_scenario(0)
    dt = 60.0                      # the fastest transfer puts a small impulse ~20 s after a long one
    loop = ClosedLoop(xT0, xC0, 48000.0)
    app = guidance(start_phase="mid_approach", burn_lead_s=dt + 30.0, cam_check_period_s=600.0,
                   hold_dwell_s=86400.0)
    issued, issue_s, ranges = [], [], []
    for t in np.arange(0.0, 20000.0, dt):
        xT, xC = loop.states(t)
        mode, _, burns = step(app, t, nav(t, xT, xC, sigma_rtn_m=(1.0, 3.0, 1.0)))
        loop.fly(burns)
        issued += burns
        issue_s += [t] * len(burns)
        ranges.append(np.linalg.norm(relative_rtn(xT, xC)[0]))
        assert mode.phase == "mid_approach"
    assert app.plan.name == "transfer to the 5000 m hold" and app.plan.flown(int(20000 * NS))
    # every burn of the plan flown (impulses close together as one, their vector sum), none
    # re-planned or withheld
    assert [b.burn_id for b in issued] == list(range(1, len(issued) + 1))
    assert not [e for e in app.events if "re-planning" in e[1] or "withheld" in e[1]]
    # the controller flies the latest command: none goes out before the last one has flown
    for before, t_next in zip(issued, issue_s[1:]):
        assert t_next * NS >= before.t_start_ns + before.duration_s * NS
    planned = sum(b.dv_m_s for b in app.plan.burns)
    assert 0.5 * planned <= mode.used_dv_mps <= planned
    # on the hold over the next orbit: 5 km behind, with the hold's radial and cross-track swings
    along, radial, normal = HOLD_POINTS_M[1]
    t = np.arange(20000.0, 25700.0, 60.0)
    rho = np.array([relative_rtn(*loop.states(x))[0] for x in t])
    assert np.mean(rho[:, 1]) == pytest.approx(along, abs=250.0)
    assert np.ptp(rho[:, 0]) == pytest.approx(2 * radial, rel=0.1)
    assert np.ptp(rho[:, 2]) == pytest.approx(2 * normal, rel=0.1)
    assert min(ranges) > 0.9 * (abs(along) - 2 * radial)      # the e vector swings it along-track by 2x


def test_ground_hold_stops_new_burns_and_resume_plans_again():
    xT0, xC0 = hold_scenario(0)
    app = guidance(start_phase="mid_approach", cam_check_period_s=300.0)
    times = np.arange(0.0, 3800.0, 20.0)
    XT, XC = truth(xT0, xC0, times)
    burns = []
    for k, t in enumerate(times):
        msgs = nav(t, XT[k], XC[k], sigma_rtn_m=(1.0, 3.0, 1.0))
        if t == 100.0:
            msgs.append(command(1, "hold"))
        if t == 1500.0:
            msgs += [command(2, "resume"), command(2, "resume")]   # a retransmission too
        mode, _, issued = step(app, t, msgs)
        if k == 0:
            first_due = mode.next_burn_t_ns / NS
            assert mode.phase == "mid_approach" and 0 < first_due < 1500.0
        burns += [(t, b) for b in issued]
        if 100.0 <= t < 1500.0:
            assert mode.held and not issued
        assert mode.phase == "mid_approach"
    # after the resume: the transfer re-planned from the estimate then (re-targeted on its
    # schedule, its missed burns dropped), each burn issued once, none before the resume had
    # been planned for
    assert burns and [b.burn_id for _, b in burns] == list(range(1, len(burns) + 1))
    assert all(t_issue > 1500.0 and b.t_start_ns > (1500.0 + 60.0) * NS for t_issue, b in burns)
    assert any("re-planning: resumed after a hold" in e[1] for e in app.events)
    assert any("re-targeted" in e[1] or "planned transfer" in e[1] for e in app.events
               if e[0] > 1500.0)
    assert sum("command 2 resume" in e[1] for e in app.events) == 1


def test_ground_go_opens_the_hold_point_gate_and_the_next_leg_is_planned():
    # on the 1 km hold where its +-400 m along-track swing brings it nearest: inside the gate
    xT0, xC0 = hold_scenario(2, phase=0.3 - np.pi / 2)
    app = guidance(start_phase="mid_approach", cam_check_period_s=600.0)
    for t in (0.0, 10.0, 20.0):
        mode, _, burns = step(app, t, nav(t, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)))
        assert mode.phase == "mid_approach" and mode.planned_dv_mps == 0.0 and not burns
    mode, _, _ = step(app, 30.0, nav(30.0, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)) + [command(1, "go")])
    assert mode.phase == "close_approach"
    assert mode.planned_dv_mps > 0.0 and app.plan.name == "transfer to the 300 m hold"
    # the GO was spent on that gate: the next one (400 m) needs its own
    assert not app.mission.go


def test_a_hold_cancels_a_burn_commanded_but_not_yet_flown():
    xT0, xC0 = hold_scenario(0)
    app = guidance(start_phase="mid_approach", cam_check_period_s=600.0)
    times = np.arange(0.0, 700.0, 10.0)
    XT, XC = truth(xT0, xC0, times)
    commands = []
    for k, t in enumerate(times):
        held = bool(commands)
        msgs = nav(t, XT[k], XC[k], sigma_rtn_m=(1.0, 3.0, 1.0)) + ([command(1, "hold")] if held else [])
        _, _, burns = step(app, t, msgs)
        commands += [(t, b) for b in burns]
    (t1, burn), (t2, cancel) = commands
    assert np.linalg.norm(burn.dv_N) > 0.1 and burn.t_start_ns / NS > t2
    # the zero delta-v command supersedes it before it starts; the controller flies the latest
    assert t2 == t1 + 10.0 and cancel.burn_id == burn.burn_id + 1
    assert np.all(cancel.dv_N == 0.0) and t2 < cancel.t_start_ns / NS < burn.t_start_ns / NS
    control = ControlApp("control")
    control.reset()
    for t_ns, msgs in ((int(t1 * NS), [burn]), (int(t2 * NS), [cancel]),
                       (cancel.t_start_ns, []), (burn.t_start_ns, [])):
        out = control.step(t_ns, Inbox([(Envelope(m.TOPIC, m.VERSION, k, t_ns, "test"), m)
                                        for k, m in enumerate(msgs + [attitude_msg(t_ns)])]))
        assert not any(type(m).__name__ == "ThrusterCommand" and m.on_time_s.sum() > 0 for m in out)
    assert control.burn is None


def test_abort_flies_a_collision_avoidance_manoeuvre_and_goes_safe():
    xT0, xC0 = hold_scenario(2)
    app = guidance(start_phase="close_approach")
    times = np.arange(0.0, 400.0, 10.0)
    XT, XC = truth(xT0, xC0, times)
    sigma = (1.0, 3.0, 1.0)
    burns = []
    for k, t in enumerate(times):
        msgs = nav(t, XT[k], XC[k], sigma_rtn_m=sigma)
        if t == 30.0:
            msgs.append(command(5, "abort"))
        mode, _, issued = step(app, t, msgs)
        burns += [(t, b, k) for b in issued]
        assert mode.phase == ("close_approach" if t < 30.0 else "safe")
        if t >= 30.0:
            assert mode.cam_requested and mode.planned_dv_mps == 0.0
    assert len(burns) == 1
    t, burn, k = burns[0]
    assert t == 30.0 and burn.t_start_ns == 31 * NS
    # the manoeuvre, in the chaser's frame, clears the keep-out sphere with the covariance
    t_mid, dv_rtn = burn_in_rtn(burn, XC[k], t)
    chief, roe = mean_roe_from_states(XT[k, :3], XT[k, 3:], XC[k, :3], XC[k, 3:])
    P = np.diag(np.full(6, 3.0 / A)) ** 2
    approach = closest_approach(chief, roe, [Burn(t_mid - t, dv_rtn)], SHORT_HORIZON_S, KEEPOUT_M, P)
    assert approach.safe(KEEPOUT_M, 3.0)
    assert np.linalg.norm(dv_rtn) <= 0.5 + 1e-9


def test_the_controller_takes_the_guidance_commands():
    xT0, xC0 = start([-1.0, -80.0, 30.0, 0.0, 0.0, 30.0])
    app = guidance(start_phase="close_approach")
    _, pointing, burns = step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(1.0, 5.0, 1.0),
                                           sigma_roe_m=[1.0, 5.0, 1.0, 1.0, 1.0, 1.0]))
    control = ControlApp("control")
    control.reset()
    t_ns = int(0.2 * NS)
    control.step(t_ns, Inbox([(Envelope(m.TOPIC, m.VERSION, k, t_ns, "guidance"), m)
                              for k, m in enumerate([pointing, *burns, attitude_msg(t_ns)])]))
    assert control.burn[0] == burns[0].burn_id
    assert np.array_equal(control.q_RN, pointing.q_RN)
    t_ns = burns[0].t_start_ns
    out = control.step(t_ns, Inbox([(Envelope("nav.attitude", 1, 9, t_ns, "nav"), attitude_msg(t_ns))]))
    assert any(type(m).__name__ == "ThrusterCommand" and m.on_time_s.sum() > 0 for m in out)


def test_keep_out_threat_triggers_a_cam_that_the_keep_out_check_accepts():
    # 80 m behind and closing (da < 0), the e/i vectors perpendicular: no passive safety
    xT0, xC0 = start([-1.0, -80.0, 30.0, 0.0, 0.0, 30.0])
    sigma_roe = np.array([1.0, 5.0, 1.0, 1.0, 1.0, 1.0])
    app = guidance(start_phase="close_approach")
    msgs = nav(0.0, xT0, xC0, sigma_rtn_m=(1.0, 5.0, 1.0), sigma_roe_m=sigma_roe)
    # without an attitude estimate the controller could not point the thrust: it waits
    mode, _, burns = step(app, 0.0, [m for m in msgs if not isinstance(m, AttitudeEstimate)])
    assert mode.phase == "safe" and mode.cam_requested and not burns
    mode, _, burns = step(app, 0.0, msgs)
    assert len(burns) == 1
    t_mid, dv_rtn = burn_in_rtn(burns[0], xC0, 0.0)
    chief, roe = mean_roe_from_states(xT0[:3], xT0[3:], xC0[:3], xC0[3:])
    P = np.diag(sigma_roe / A) ** 2
    cam = [Burn(t_mid, dv_rtn)]
    # before: predicted inside the sphere; after: clear by the test's sigmas and probability
    assert closest_approach(chief, roe, [], SHORT_HORIZON_S, KEEPOUT_M).min_range_m < KEEPOUT_M
    assert closest_approach(chief, roe, cam, SHORT_HORIZON_S, KEEPOUT_M, P).safe(KEEPOUT_M, 3.0, 1e-4)
    # and in truth, the CAM flown as a velocity step mid-burn
    t, XT, XC = fly(xT0, xC0, SHORT_HORIZON_S, [(t_mid, burns[0].dv_N)],
                    t_eval=np.arange(0.0, SHORT_HORIZON_S, 10.0), rtol=1e-10)
    assert min(np.linalg.norm(relative_rtn(a, b)[0]) for a, b in zip(XT, XC)) > KEEPOUT_M


def test_in_safe_an_uncertain_estimate_alone_calls_for_no_further_cam():
    # on the 1 km hold (the mean motion clear) with a navigation that has not converged (400 m
    # along-track): the keep-out test fails on the covariance; one CAM, then a passive hold,
    # not a CAM every few minutes (flown in truth here)
    xT0, xC0 = hold_scenario(2)
    sigma = dict(sigma_rtn_m=(100.0, 400.0, 100.0), sigma_roe_m=np.full(6, 200.0))
    app = guidance(start_phase="close_approach")
    loop = ClosedLoop(xT0, xC0, 1100.0)
    burns = []
    for t in np.arange(0.0, 1000.0, 20.0):
        mode, _, issued = step(app, t, nav(t, *loop.states(t), **sigma))
        loop.fly(issued)
        burns += issued
    assert mode.phase == "safe" and len(burns) == 1
    assert sum("keep-out test failed again in safe" in e[1] for e in app.events) >= 2


def test_navigation_divergence_goes_safe_in_proximity_and_stops_burns_far_away():
    xT0, xC0 = hold_scenario(1)
    app = guidance(start_phase="mid_approach")
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)))
    health = NavHealth(nis_bearing=40.0, nis_bearing_avg=30.0, bearings_used=100,
                       bearings_gated=12, measurements_rejected=0, diverged=True)
    mode, _, burns = step(app, 1.0, nav(1.0, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)) + [health])
    assert mode.phase == "safe" and mode.cam_requested and len(burns) == 1
    assert any("navigation diverged" in row[3] for row in app.mission.log)
    # far away a diverged filter is no collision risk, but no burn is flown on it
    xT0, xC0 = start([0.0, -60e3, 200.0, 0.0, 0.0, 300.0])
    app = guidance(start_phase="far_approach")
    # (long enough for the least-delta-v plan's first burn, wherever it falls, to come due)
    times = np.arange(0.0, 2.0 * 5700.0, 20.0)
    XT, XC = truth(xT0, xC0, times)
    for k, t in enumerate(times):
        msgs = nav(t, XT[k], XC[k], sigma_rtn_m=(100.0, 1000.0, 100.0)) + ([health] if k else [])
        mode, pointing, burns = step(app, t, msgs)
        assert mode.phase == "far_approach" and not burns
        # ... and the camera stays on the estimate's line of sight, the best guess there is
        assert pointing.mode == "target"
        assert angle(dcm(pointing.q_RN)[2], line_of_sight(XT[k], XC[k])) < 1e-3
    assert 0 < mode.next_burn_t_ns < times[-1] * NS   # one was due


def test_observability_burn_when_the_range_is_poorly_known():
    xT0, xC0 = start([0.0, -60e3, 300 * np.cos(1.0), 300 * np.sin(1.0), 400 * np.cos(1.0),
                      400 * np.sin(1.0)])
    sigma = np.array([1000.0, 10000.0, 1000.0])      # 17 % of the range
    app = guidance(start_phase="far_approach")
    mode, _, burns = step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=sigma))
    assert len(burns) == 1
    burn = burns[0]
    # the navigation's own covariance analysis, from a filter built here on the truth
    C = rtn_basis(xT0[:3], xT0[3:])
    w = np.array([0.0, 0.0, np.linalg.norm(np.cross(xT0[:3], xT0[3:])) / (xT0[:3] @ xT0[:3])])
    W = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
    J = np.block([[C.T, np.zeros((3, 3))], [C.T @ W, C.T]])
    P_rel = J @ np.diag(np.concatenate([sigma, 1e-3 * sigma]) ** 2) @ J.T
    P_C = np.diag([3.0] * 3 + [0.03] * 3) ** 2
    f = RelativeFilter(0, xT0, P_C + P_rel, xC0, P_C, q_chaser_m2_s3=1e-9)
    f.P[:6, 6:] = f.P[6:, :6] = P_C
    t_mid = burn.t_start_ns + int(0.5 * burn.duration_s * NS)
    without = f.predicted_range_sigma(np.zeros(3), t_mid, 5700.0, 60.0, 2e-5)
    with_burn = f.predicted_range_sigma(burn.dv_N, t_mid, 5700.0, 60.0, 2e-5)
    assert with_burn <= 0.5 * without * 1.01
    assert np.linalg.norm(burn.dv_N) <= 1.0 + 1e-9
    # a range known to 1.7 %: no observability burn
    app = guidance(start_phase="far_approach")
    _, _, burns = step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=sigma / 10.0))
    assert not burns


def test_a_departure_from_the_plan_re_plans_from_the_new_estimate():
    xT0, xC0 = hold_scenario(0)
    jumped_T, jumped_C = start(hold_roe(HOLD_POINTS_M[0], 1.0, A) * A + [0, 3000.0, 0, 0, 0, 0])
    app = guidance(start_phase="mid_approach", plan_start_s=3000.0, cam_check_period_s=600.0)
    times = np.arange(0.0, 800.0, 20.0)
    XT, XC = truth(xT0, xC0, times)
    JT, JC = truth(jumped_T, jumped_C, times)
    for k, t in enumerate(times):
        # at 650 s navigation revises its range by 3 km (the other truth from then on)
        xT, xC = (XT[k], XC[k]) if t < 650.0 else (JT[k], JC[k])
        mode, _, burns = step(app, t, nav(t, xT, xC, sigma_rtn_m=(1.0, 3.0, 1.0)))
        assert not burns
        replanned = [e for e in app.events if "re-planning" in e[1]]
        assert bool(replanned) == (t >= 650.0)
    assert "from the plan" in replanned[0][1]
    assert app.plan.epoch_ns == 660 * NS


def test_inspection_coverage_hands_over_to_departure():
    # the lattice's first points near +R: the first keep-out tests see a chaser that stays clear
    directions = fibonacci_sphere(150)[:, [2, 0, 1]]
    app = guidance(start_phase="inspect", keepout_m=5.0, cam_check_period_s=3600.0)
    xT, _ = start(np.zeros(6))
    C = rtn_basis(xT[:3], xT[3:])
    phases = []
    for k, d in enumerate(directions):
        # a chaser 150 m from the target in direction d (RTN), at rest in the RTN frame
        w = np.array([0.0, 0.0, np.linalg.norm(np.cross(xT[:3], xT[3:])) / (xT[:3] @ xT[:3])])
        r = 150.0 * d
        xC = np.concatenate([xT[:3] + C.T @ r, xT[3:] + C.T @ np.cross(w, r)])
        t = float(k)
        msgs = nav(t, xT, xC, sigma_rtn_m=(0.5, 0.5, 0.5)) + [track_msg(int(t * NS), -C.T @ r)]
        mode, _, _ = step(app, t, msgs)
        phases.append(mode.phase)
    assert phases[0] == "inspect" and phases[-1] == "depart"
    assert app.coverage.fraction >= 0.95


def test_a_coasting_track_is_not_counted_as_imaged():
    """Coverage counts images: a coasting track (detect's prediction with no detection) over
    the same directions leaves it at zero."""
    directions = fibonacci_sphere(150)[:, [2, 0, 1]]
    app = guidance(start_phase="inspect", keepout_m=5.0, cam_check_period_s=3600.0)
    xT, _ = start(np.zeros(6))
    C = rtn_basis(xT[:3], xT[3:])
    w = np.array([0.0, 0.0, np.linalg.norm(np.cross(xT[:3], xT[3:])) / (xT[:3] @ xT[:3])])
    for k, d in enumerate(directions[:40]):
        r = 150.0 * d
        xC = np.concatenate([xT[:3] + C.T @ r, xT[3:] + C.T @ np.cross(w, r)])
        t = float(k)
        msgs = nav(t, xT, xC, sigma_rtn_m=(0.5, 0.5, 0.5)) + [track_msg(int(t * NS), -C.T @ r, "coasting")]
        mode, _, _ = step(app, t, msgs)
        assert mode.phase == "inspect"
    assert app.coverage.fraction == 0.0


# -- bad inputs --------------------------------------------------------------------------------
def garbage_relative(t_ns, kind):
    good = relative_msg(t_ns, *start([0.0, -5000.0, 300.0, 0.0, 300.0, 0.0]))
    fields = good.as_dict()
    bad = {
        "invalid": dict(valid=False),
        "nan": dict(r_CT_rtn=np.array([np.nan, 1.0, 2.0])),
        "shape": dict(P_rtn=np.eye(5)),
        "asymmetric": dict(P_roe=np.triu(np.ones((6, 6)))),
        "negative": dict(P_rtn=-np.eye(6)),
        "future": dict(t_est_ns=t_ns + 3600 * NS),
        "none": dict(v_CT_rtn=None),
        "text": dict(range_sigma_m="large"),
        "huge": dict(r_CT_rtn=np.array([1e12, 0.0, 0.0])),
    }[kind]
    fields.update(bad)
    return RelativeState(**fields)


@pytest.mark.parametrize("kind", ["invalid", "nan", "shape", "asymmetric", "negative", "future",
                                  "none", "text", "huge"])
def test_malformed_relative_states_are_refused_without_harm(kind):
    xT0, xC0 = hold_scenario(1)
    app = guidance(start_phase="mid_approach", cam_check_period_s=600.0)
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)))
    estimate = app.est
    t_ns = 1 * NS
    mode, pointing, burns = step(app, 1.0, [orbit_msg(t_ns, xC0), garbage_relative(t_ns, kind)])
    assert mode.phase == "mid_approach" and not burns
    assert app.rejected == (0 if kind == "invalid" else 1)
    assert app.est is (None if kind == "invalid" else estimate)


def test_other_bad_inputs_are_counted_and_dropped():
    xT0, xC0 = hold_scenario(1)
    app = guidance(start_phase="mid_approach", cam_check_period_s=600.0)
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)))
    t_ns = NS
    bad_orbit = orbit_msg(t_ns, xC0)
    bad_orbit.P_rv = np.full((6, 6), np.inf)
    bad_cue = cue_from(xT0, [1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    bad_cue.P_rv = -np.eye(6)
    bad_attitude = attitude_msg(t_ns)
    bad_attitude.q_BN = np.array([2.0, 0.0, 0.0, 0.0])
    bad_track = track_msg(t_ns, np.ones(3))
    bad_track.u_N = np.zeros(3)
    msgs = [bad_orbit, relative_msg(t_ns, xT0, xC0), bad_attitude, bad_track, bad_cue,
            BurnReport(burn_id=99, t_start_ns=0, t_end_ns=0, dv_N=np.zeros(3), sigma_dv_mps=0.0),
            GroundCommand(cmd_id=1, opcode="explode", argument=0.0),
            GroundCommand(cmd_id=None, opcode="go", argument=0.0)]
    inbox = Inbox([(Envelope(m.TOPIC, m.VERSION, k, t_ns, "test"), m) for k, m in enumerate(msgs)])
    out = [wire(m) for m in app.step(t_ns, inbox)]
    assert out[0].phase == "mid_approach"
    # orbit (its covariance, when the estimate is rebuilt), attitude, track, cue, report, cmd_id
    assert app.rejected == 6
    assert any("refused, unknown opcode 'explode'" in e[1] for e in app.events)


@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=9, max_size=9))
@settings(max_examples=15, deadline=None)
def test_any_relative_state_numbers_never_crash_the_app(values):
    xT0, xC0 = hold_scenario(2)
    app = guidance(start_phase="close_approach", cam_check_period_s=1.0)
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)))
    rel = relative_msg(NS, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0))
    rel.r_CT_rtn = np.array(values[:3])
    rel.v_CT_rtn = np.array(values[3:6]) * 1e-3
    rel.P_rtn = np.diag(np.abs(values[:6]))
    rel.range_sigma_m = abs(values[6])
    step(app, 1.0, [orbit_msg(NS, xC0), rel])
    step(app, 2.0, [orbit_msg(2 * NS, xC0)])


def test_stale_navigation_is_not_used():
    xT0, xC0 = start([0.0, -2.0e6, 200.0, 0.0, 0.0, 300.0])
    app = guidance()
    step(app, 0.0, [attitude_msg(0)])
    # a relative state and track, but the relative state a minute old: search continues
    t = 70.0
    msgs = [orbit_msg(int(t * NS), xC0), attitude_msg(int(t * NS)), relative_msg(int(10 * NS), xT0, xC0),
            track_msg(int(t * NS), line_of_sight(xT0, xC0))]
    mode, _, _ = step(app, t, msgs)
    assert mode.phase == "search"
    msgs[2] = relative_msg(int(t * NS), xT0, xC0, sigma_rtn_m=(100.0, 1000.0, 100.0))
    mode, _, _ = step(app, t + 1.0, msgs)
    assert mode.phase == "far_approach"


def test_before_navigation_settles_only_the_mean_motion_can_call_for_a_cam_or_a_plan():
    # on the 300 m hold (e/i 100 m), a fresh estimate whose covariance alone fails the
    # keep-out test (a*de known to 60 m): no CAM and no plan until nav_settle_s has passed
    xT0, xC0 = start(hold_roe(HOLD_POINTS_M[3], 1.0, A) * A)
    loose = dict(sigma_rtn_m=(30.0, 60.0, 30.0), sigma_roe_m=(60.0, 60.0, 60.0, 60.0, 60.0, 60.0))
    app = guidance(start_phase="inspect", nav_settle_s=300.0, cam_check_period_s=10.0)
    for t in np.arange(0.0, 290.0, 10.0):
        mode, _, burns = step(app, t, nav(t, xT0, xC0, **loose))
        assert mode.phase == "inspect" and not burns
    assert app.plan is None
    # once settled, the same covariance is a threat: safe and a CAM
    phases = [step(app, t, nav(t, xT0, xC0, **loose))[0].phase for t in np.arange(300.0, 330.0, 10.0)]
    assert "safe" in phases


def test_navigation_silent_through_a_burn_is_not_lost_until_nav_lost_s_after_it():
    xT0, xC0 = hold_scenario(0)
    dt = 20.0
    loop = ClosedLoop(xT0, xC0, 20000.0)
    app = guidance(start_phase="mid_approach", burn_lead_s=dt + 30.0, nav_lost_s=60.0)
    t, burn = 0.0, None
    while burn is None:
        xT, xC = loop.states(t)
        mode, _, burns = step(app, t, nav(t, xT, xC, sigma_rtn_m=(1.0, 3.0, 1.0)))
        burn = burns[0] if burns else None
        t += dt
    end_s = burn.t_start_ns / NS + burn.duration_s
    assert end_s - t > 60.0           # a burn longer than nav_lost_s: navigation holds through it
    phases, pointing = {}, {}
    while t <= end_s + 100.0:         # navigation holds its estimate: only the attitude comes
        mode, point, _ = step(app, t, [attitude_msg(int(t * NS))])
        phases[t], pointing[t] = mode.phase, point
        t += dt
    assert all(p == "mid_approach" for s, p in phases.items() if s <= end_s + 60.0)
    # the camera stays on the target's predicted line of sight through the burn, no slew away
    for s, point in pointing.items():
        if s <= end_s + 60.0:
            xT, xC = loop.states(s)
            assert point.mode == "target"
            assert angle(dcm(point.q_RN)[2], line_of_sight(xT, xC)) < 1e-3
    assert phases[max(phases)] == "safe"
    assert any("navigation diverged" in row[3] for row in app.mission.log)


def test_an_impulse_below_the_minimum_impulse_bit_is_passed_over_not_commanded():
    from flightsw.guidance.maneuvers import Burn
    from flightsw.guidance.plan import ActivePlan
    xT0, xC0 = hold_scenario(1)
    app = guidance(start_phase="mid_approach", burn_lead_s=60.0)
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(1.0, 3.0, 1.0)))
    est = app.est
    app.plan = ActivePlan("test", est.t_ns, est.chief, est.roe,
                          (Burn(30.0, np.array([0.0, 2e-5, 0.0])),), 600.0)
    app.plan_leg, app.legs = ("hold", 2), []
    XT, XC = truth(xT0, xC0, [10.0])
    _, _, burns = step(app, 10.0, nav(10.0, XT[0], XC[0], sigma_rtn_m=(1.0, 3.0, 1.0)))
    assert not burns and app.plan.issued == 1
    assert any("passed over" in e[1] for e in app.events)


def test_the_camera_cadence_is_commanded_per_phase_and_refreshed():
    xT0, xC0 = start([0.0, -2.0e6, 300.0, 0.0, 400.0, 0.0])
    app = guidance(epoch_utc=EPOCH, camera_period_s=10.0, far_camera_period_s=30.0)
    times = np.arange(0.0, 1300.0, 10.0)
    XT, XC = truth(xT0, xC0, times)
    for k, t in enumerate(times):
        msgs = nav(t, XT[k], XC[k], sigma_rtn_m=(100.0, 1000.0, 100.0))
        msgs.append(track_msg(int(t * NS), line_of_sight(XT[k], XC[k])))
        step(app, t, msgs)
    # search at 10 s, then far approach at 30 s, again 600 s later (a camera restarted)
    assert app.camera_commands == [(0.0, 10.0), (10.0, 30.0), (610.0, 30.0), (1210.0, 30.0)]
    # nothing is commanded when the scenario leaves the camera to its own rate
    app = guidance(epoch_utc=EPOCH)
    step(app, 0.0, nav(0.0, xT0, xC0))
    assert not getattr(app, "camera_commands", [])


def test_no_leg_is_planned_on_an_unconverged_estimate_nor_beyond_the_leg_budget():
    xT0, xC0 = start([0.0, -60e3, 300.0, 0.0, 400.0, 0.0])
    # range known to 17 %: no phasing plan (the observability burn is for that)
    app = guidance(start_phase="far_approach", obs_trigger_fraction=1.0)
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(1000.0, 10000.0, 1000.0)))
    assert app.plan is None
    # converged, but the leg would cost more than max_plan_dv_mps: refused, logged
    app = guidance(start_phase="far_approach", max_plan_dv_mps=0.01)
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(10.0, 100.0, 10.0)))
    assert app.plan is None and any("plan refused" in e[1] for e in app.events)
    app = guidance(start_phase="far_approach")
    step(app, 0.0, nav(0.0, xT0, xC0, sigma_rtn_m=(10.0, 100.0, 10.0)))
    assert app.plan is not None
