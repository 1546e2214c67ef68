"""Search planning from the ground cue, checked with an independent propagator and projection.

The cue: a target 2000 km ahead of the chaser in a phasing orbit, its planned state uncertain
by (1, 10, 1) km and (5, 2, 2) m/s in radial, along-track and cross-track, one hour before the
plan.  The reference propagates fresh samples with scipy's DOP853 (two-body + J2 written here),
and projects them through each tile's attitude with scipy rotations and its own pinhole.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp
from scipy.spatial.transform import Rotation

from flightsw.detect.camera import CameraModel
from flightsw.detect.propagate import MU_EARTH_M3_S2, propagate
from flightsw.detect.search import (
    CueState, SearchConfig, SearchProgress, plan_search, sample_cue,
)

MU, RE, J2 = 3.986004418e14, 6378137.0, 1.08262668e-3


def reference_derivative(_, y):
    """Two-body + J2 (Vallado 2013, eq. 8-30) for a stack of states flattened into y."""
    s = y.reshape(-1, 6)
    r = s[:, :3]
    rn = np.linalg.norm(r, axis=1)[:, None]
    z2 = (r[:, 2:3] / rn) ** 2
    k = 1.5 * J2 * MU * RE**2 / rn**5
    a = -MU * r / rn**3 - k * r * np.hstack([1 - 5 * z2, 1 - 5 * z2, 3 - 5 * z2])
    return np.hstack([s[:, 3:], a]).ravel()


def reference_propagate(states, dt):
    states = np.atleast_2d(states)
    sol = solve_ivp(reference_derivative, (0.0, dt), states.ravel(), method="DOP853",
                    rtol=1e-11, atol=1e-6)
    return sol.y[:, -1].reshape(states.shape)


def circular_state(radius, inclination, raan, phase):
    n = np.sqrt(MU / radius**3)
    p = np.array([np.cos(raan), np.sin(raan), 0.0])
    q = np.array([-np.sin(raan) * np.cos(inclination), np.cos(raan) * np.cos(inclination), np.sin(inclination)])
    r = radius * (np.cos(phase) * p + np.sin(phase) * q)
    v = radius * n * (-np.sin(phase) * p + np.cos(phase) * q)
    return np.concatenate([r, v])


def rtn_to_eci(state):
    """Rotation (6x6) taking RTN position/velocity deviations to ECI."""
    r, v = state[:3], state[3:]
    R = r / np.linalg.norm(r)
    N = np.cross(r, v)
    N /= np.linalg.norm(N)
    T = np.cross(N, R)
    M = np.stack([R, T, N], axis=1)
    return np.kron(np.eye(2), M)


def phasing_cue(sigma_rtn=(1e3, 10e3, 1e3, 5.0, 2.0, 2.0), epoch_s=0.0):
    chaser = circular_state(6878e3, np.radians(51.6), np.radians(40), 0.0)
    target = circular_state(6893e3, np.radians(51.6), np.radians(40), 2000e3 / 6878e3)
    rot = rtn_to_eci(target)
    P = rot @ np.diag(np.square(sigma_rtn)) @ rot.T
    return CueState(epoch_s, target[:3], target[3:], P), chaser


def independent_coverage(plan, cue, chaser0, t_s, count, seed, sigma_scale=1.0):
    """Fraction of fresh cue samples, propagated by the reference, inside some tile's frame."""
    rng = np.random.default_rng(seed)
    samples = cue.state + sigma_scale * rng.multivariate_normal(np.zeros(6), cue.P_rv, count)
    states = reference_propagate(samples, t_s - cue.epoch_s)
    chaser = reference_propagate(chaser0, t_s)[0]
    los = states[:, :3] - chaser[:3]
    los /= np.linalg.norm(los, axis=1, keepdims=True)
    camera = plan.camera
    f = camera.n_cols / 2 / np.tan(np.radians(camera.fov_deg) / 2)
    margin = 0.5 * plan.overlap
    inside = np.zeros(count, bool)
    for k in range(len(plan)):
        q = plan.pointing(k)
        C_CN = Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix().T
        v = los @ C_CN.T
        x = v[:, 0] / v[:, 2] * f / camera.n_cols
        y = v[:, 1] / v[:, 2] * f / camera.n_rows
        inside |= (v[:, 2] > 0) & (np.abs(x) <= 0.5 - margin) & (np.abs(y) <= 0.5 - margin)
    return inside.mean()


def test_propagator_matches_an_adaptive_high_order_integrator_to_a_metre_over_two_hours():
    states = np.array([circular_state(6878e3, 0.9, 0.3, 0.1), circular_state(7200e3, 1.7, 2.0, 2.0)])
    states[1, 3:] *= 1.02  # a slightly eccentric orbit
    ours = propagate(states, 7200.0)
    assert np.abs(ours[:, :3] - reference_propagate(states, 7200.0)[:, :3]).max() < 1.0


def test_propagator_without_j2_keeps_a_circular_orbit_on_its_circle():
    state = circular_state(6878e3, 0.9, 0.3, 0.1)
    n = np.sqrt(MU_EARTH_M3_S2 / 6878e3**3)
    dt = 3000.0
    expected = circular_state(6878e3, 0.9, 0.3, 0.1 + n * dt)
    assert np.abs(propagate(state, dt, j2=False)[:3] - expected[:3]).max() < 0.05


def test_propagator_takes_one_interval_per_state():
    states = np.array([circular_state(6878e3, 0.9, 0.3, 0.1)] * 3)
    dts = np.array([-600.0, 0.0, 900.0])
    together = propagate(states, dts)
    for k in range(3):
        assert np.allclose(together[k], propagate(states[k], dts[k], max_step_s=900.0 / 90), atol=1e-3)


def test_planned_pointings_cover_99_percent_of_the_cue_probability():
    cue, chaser = phasing_cue()
    camera = CameraModel()
    t = 3600.0
    plan = plan_search(cue, chaser, 0.0, t, camera, np.random.default_rng(1))
    assert plan.coverage[-1] >= 0.995
    assert independent_coverage(plan, cue, chaser, t, 3000, seed=2) >= 0.99
    # the greedy order visits the most probable tiles first
    assert np.all(np.diff(plan.gain) <= 1e-12)


def test_fallback_stages_widen_the_search():
    cue, chaser = phasing_cue()
    camera = CameraModel()
    config = SearchConfig(n_samples=1000)
    plans = [plan_search(cue, chaser, 0.0, 3600.0, camera, np.random.default_rng(3), config, stage)
             for stage in range(len(config.stages) + 1)]
    spread = [np.degrees(np.arccos(np.clip(p.samples_N @ p.u0, -1, 1))).max() for p in plans]
    assert spread[0] < spread[1] < spread[2]
    assert len(plans[0]) <= len(plans[1]) <= len(plans[2])
    assert plans[-1].stage == "along-track"
    # the sweep stretches along the apparent motion of the line of sight (e1), not across it
    sweep = plans[-1]
    along = np.abs(sweep.samples_N @ sweep.e1)
    across = np.abs(sweep.samples_N @ sweep.e2)
    assert np.percentile(along, 95) > 5 * np.percentile(across, 95)
    assert independent_coverage(plans[1], cue, chaser, 3600.0, 1500, seed=4, sigma_scale=3.0) >= 0.985


def test_search_progress_counts_what_the_frames_saw():
    cue, chaser = phasing_cue()
    camera = CameraModel()
    config = SearchConfig(n_samples=1000)
    plan = plan_search(cue, chaser, 0.0, 3600.0, camera, np.random.default_rng(5), config)
    progress = SearchProgress(cue, chaser, 0.0, camera, np.random.default_rng(6), config)
    away = plan.C_CN(0)[[1, 2, 0]]  # boresight along the tile's x axis: 90 degrees away
    assert progress.observe(3600.0, away) == 0.0
    coverage = [progress.observe(3600.0 + 20.0 * k, plan.C_CN(k, 3600.0 + 20.0 * k)) for k in range(len(plan))]
    assert np.all(np.diff(coverage) >= 0) and coverage[-1] >= 0.98


def test_body_pointing_puts_the_camera_on_the_tile():
    cue, chaser = phasing_cue()
    q_CB = np.array([0.9, 0.1, -0.3, 0.2]) / np.linalg.norm([0.9, 0.1, -0.3, 0.2])
    camera = CameraModel(q_CB=tuple(q_CB))
    plan = plan_search(cue, chaser, 0.0, 100.0, camera, np.random.default_rng(7), SearchConfig(n_samples=500))
    q_BN = plan.body_pointing(0, q_CB)
    assert np.allclose(camera.C_CN(q_BN), plan.C_CN(0), atol=1e-12)


@given(scale=st.floats(0.2, 5.0), hours=st.floats(0.1, 3.0), seed=st.integers(0, 2**16))
@settings(max_examples=8, deadline=None)
def test_every_plan_meets_its_goal_on_its_own_samples_with_decreasing_gains(scale, hours, seed):
    cue, chaser = phasing_cue(tuple(scale * np.array([1e3, 10e3, 1e3, 5.0, 2.0, 2.0])))
    plan = plan_search(cue, chaser, 0.0, 3600.0 * hours, CameraModel(), np.random.default_rng(seed),
                       SearchConfig(n_samples=500))
    assert plan.coverage[-1] >= 0.995 - 1e-12
    assert np.all(np.diff(plan.gain) <= 1e-12)


def test_cue_and_plan_inputs_are_validated():
    cue, chaser = phasing_cue()
    with pytest.raises(ValueError, match="semi-definite"):
        CueState(0.0, cue.r_N, cue.v_N, -np.eye(6))
    with pytest.raises(ValueError, match="symmetric"):
        CueState(0.0, cue.r_N, cue.v_N, np.triu(np.ones((6, 6))))
    with pytest.raises(ValueError, match="stage"):
        plan_search(cue, chaser, 0.0, 10.0, CameraModel(), np.random.default_rng(0), stage=7)
    with pytest.raises(ValueError, match="n_samples"):
        SearchConfig(n_samples=10)


def test_samples_follow_the_cue_covariance():
    cue, _ = phasing_cue()
    samples = sample_cue(cue, np.random.default_rng(8), 20000, 2.0)
    scale = 2.0 * np.sqrt(np.diag(cue.P_rv))
    error = (np.cov(samples.T) - 4.0 * cue.P_rv) / np.outer(scale, scale)
    assert np.abs(error).max() < 0.04  # 20000 samples: correlation error ~ 0.007 (1 sigma)
