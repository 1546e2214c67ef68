"""The detect app through its messages: bad frames refused with a reason and never a crash, the
track and health published as valid messages, runs reproducible, search progress kept.

Frames are 256x256 px over 2.5 deg (the flight camera's 35 arcsec pixels) to keep the tests
fast; the scene is test_detect_track's phasing pass.
"""
import numpy as np
import pytest
from test_detect_search import phasing_cue
from test_detect_stars import ADC_MAX_DN, Imager, faint_population, hipparcos_sky, perturbed, render
from test_detect_track import PhasingScene, target_point

from flightsw.detect.app import DetectApp
from flightsw.detect.skyplane import angle_between
from flightsw.msg import (AttitudeEstimate, CameraFrame, DetectHealth, Envelope, GnssFix, TargetCue,
                          TargetTrack)
from flightsw.msg.codec import decode_payload, encode_payload
from flightsw.runtime.app import Inbox

# frames are processed on arrival here (no wait for a later attitude estimate): the wait has its own tests
PARAMS = {"n_cols": 256, "n_rows": 256, "fov_deg": 2.5, "saturation_dn": float(ADC_MAX_DN),
          "attitude_wait_s": 0.0}
ARCSEC = np.radians(1 / 3600)
NS = 1_000_000_000


def make_inbox(*timed):
    """Inbox of (t_ns, message) pairs, as the runtime delivers them."""
    return Inbox([(Envelope(type(m).TOPIC, type(m).VERSION, seq, t, "test"), m)
                  for seq, (t, m) in enumerate(timed)])


def attitude(t_ns, q_BN, omega=(0.0, 0.0, 0.0), sigma_rad=20 * ARCSEC, valid=True):
    return AttitudeEstimate(t_est_ns=t_ns, q_BN=np.asarray(q_BN, float), omega_BN_B=np.asarray(omega, float),
                            P_att=np.eye(3) * sigma_rad**2, valid=valid)


def camera_frame(frame_id, t_ns, image, exposure_s=0.1):
    return CameraFrame(frame_id=frame_id, t_exposure_start_ns=t_ns, exposure_s=exposure_s,
                       gain_e_per_dn=2.0, image=image)


def survives_the_wire(message) -> bool:
    """Encoding validates the message against its contract; decoding must give it back
    (NaN equal to NaN)."""
    payload, blobs = encode_payload(message)
    back = decode_payload(type(message), payload, blobs)
    return all(np.array_equal(np.asarray(getattr(message, name)), np.asarray(getattr(back, name)),
                              equal_nan=np.asarray(getattr(message, name)).dtype.kind == "f")
               for name in message.as_dict())


def new_app(seed=0):
    app = DetectApp("detect", PARAMS, seed=seed)
    app.reset()
    return app


def noise_frame(rng, level=100.0):
    return np.clip(rng.normal(level, 3.0, (256, 256)), 0, 16383).astype(np.uint16)


GOOD_Q = np.array([1.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("image, reason", [
    (np.full((256, 256), np.nan, np.float32), "NaN"),
    (np.zeros((256, 256), np.int32), "dtype"),
    (np.zeros((128, 128), np.uint16), "shape"),
    (np.zeros(256 * 256, np.uint16), "shape"),
    (np.zeros((0, 0), np.uint16), "shape"),
    (np.full((256, 256), 16383, np.uint16), "saturated"),
    ([[100, 100], [100, 100]], "not an array"),
    (None, "not an array"),
])
def test_bad_frames_are_refused_with_a_clear_reason_and_the_app_goes_on(image, reason):
    app = new_app()
    out = app.step(NS, make_inbox((NS, attitude(NS, GOOD_Q)), (NS, camera_frame(1, NS, image))))
    health = [m for m in out if isinstance(m, DetectHealth)]
    assert len(health) == 1 and len(out) == 1
    assert health[0].frames_rejected == 1 and health[0].frames == 0
    assert reason in health[0].last_rejection
    assert survives_the_wire(health[0])
    rng = np.random.default_rng(1)
    out = app.step(2 * NS, make_inbox((2 * NS, attitude(2 * NS, GOOD_Q)),
                                      (2 * NS, camera_frame(2, 2 * NS, noise_frame(rng)))))
    assert out[-1].frames == 1 and out[-1].frames_rejected == 1


@pytest.mark.parametrize("estimates, reason", [
    ([], "no valid attitude"),
    ([attitude(0, GOOD_Q)], "no valid attitude"),                 # 5 s old
    ([attitude(5 * NS, GOOD_Q, valid=False)], "no valid attitude"),
])
def test_a_frame_without_a_usable_attitude_is_refused(estimates, reason):
    app = new_app()
    frame = camera_frame(1, 5 * NS, noise_frame(np.random.default_rng(2)))
    out = app.step(5 * NS, make_inbox(*[(e.t_est_ns, e) for e in estimates], (5 * NS, frame)))
    assert out[-1].frames_rejected == 1 and reason in out[-1].last_rejection


def test_a_frame_of_zero_exposure_is_refused_and_counted():
    app = new_app()
    frame = camera_frame(1, NS, noise_frame(np.random.default_rng(3)), exposure_s=0.0)
    out = app.step(NS, make_inbox((NS, attitude(NS, GOOD_Q)), (NS, frame)))
    assert out[-1].frames_rejected == 1 and out[-1].frames == 0
    assert "exposure" in out[-1].last_rejection


def test_health_is_published_every_step_even_without_frames():
    app = new_app()
    for k in range(3):
        out = app.step(k * NS, make_inbox())
        assert len(out) == 1 and isinstance(out[0], DetectHealth)
        assert out[0].frames == 0 and np.isnan(out[0].attitude_residual_rad)
        assert survives_the_wire(out[0])


def phasing_messages(seed, frames, cadence_s=10.0):
    """Per frame: (t_ns, [messages]) of the phasing pass seen by the 256x256 camera, with the
    attitude estimate taken at the start of the exposure and the body rate to reach mid-exposure."""
    rng = np.random.default_rng(seed)
    scene = PhasingScene()
    imager = Imager(256, 256, 2.5).with_hot_pixels(rng)
    u_sky, mag_sky, _ = hipparcos_sky()
    faint = faint_population(rng, scene.los(1000.0 + cadence_s * frames / 2), np.radians(10), per_deg2=4.0)
    u_all, mag_all = np.concatenate([u_sky, faint[0]]), np.concatenate([mag_sky, faint[1]])
    out = []
    for k in range(frames):
        t = 1000.0 + cadence_s * k
        t_start_ns = int(round((t - 0.05) * NS))
        q_mid = scene.q_BN_following_cue(t)
        # the body turns about the orbit normal at the orbital rate: omega in B
        omega_B = imager.C_CN(q_mid) @ scene.normal * np.sqrt(3.986004418e14 / 6878e3**3)
        q_start = scene.q_BN_following_cue(t - 0.05)
        point = target_point(imager, q_mid, scene, t)
        image = render(rng, imager, q_mid, u_all, mag_all, points=[point] if point else [],
                       cosmic_rays=rng.poisson(1))
        estimate = attitude(t_start_ns, perturbed(q_start, rng, 20 * ARCSEC), omega_B)
        out.append((t_start_ns, [estimate, camera_frame(k + 1, t_start_ns, image)], scene, t))
    return out


def run_app(seed, frames):
    app = new_app(seed=7)
    published = []
    for t_ns, messages, scene, t in phasing_messages(seed, frames):
        out = app.step(t_ns + NS, make_inbox(*[(t_ns, m) for m in messages]))
        published.append((out, scene, t))
    return app, published


def test_the_app_publishes_a_valid_track_of_the_target_and_its_health():
    app, published = run_app(seed=31, frames=8)
    tracks = [(out, scene, t) for out, scene, t in published if any(isinstance(m, TargetTrack) for m in out)]
    assert tracks and len(published) - len(tracks) <= 3
    for out, scene, t in tracks:
        track = next(m for m in out if isinstance(m, TargetTrack))
        assert survives_the_wire(track)
        assert track.state == "confirmed" and track.track_id == 1
        assert track.t_meas_ns == int(round(t * NS))
        assert angle_between(track.u_N, scene.los(t)) < 15 * ARCSEC
        assert not track.resolved and track.apparent_radius_rad == 0.0
    health = published[-1][0][-1]
    assert isinstance(health, DetectHealth) and survives_the_wire(health)
    assert health.frames == 8 and health.frames_rejected == 0
    assert health.star_matches >= 4 and health.unmatched == health.sources - health.star_matches
    assert 0 < health.attitude_residual_rad < 1.0 / app.camera.f_px


def test_two_runs_with_the_same_seed_publish_identical_messages():
    _, first = run_app(seed=32, frames=5)
    _, second = run_app(seed=32, frames=5)
    assert [out for out, _, _ in first] == [out for out, _, _ in second]


def test_search_progress_grows_as_frames_cover_the_cue():
    cue, chaser = phasing_cue()
    app = new_app()
    gnss = GnssFix(t_meas_ns=0, r_BN_N=chaser[:3], v_BN_N=chaser[3:], sigma_r_m=5.0, sigma_v_mps=0.05,
                   n_sats=9, valid=True)
    target_cue = TargetCue(epoch_ns=0, r_TN_N=cue.r_N, v_TN_N=cue.v_N, P_rv=cue.P_rv, radius_m=1.0)
    app.step(0, make_inbox((0, gnss), (0, target_cue)))
    t0 = 600.0
    plan = app.search_plan(t0)
    assert len(plan) >= 1 and plan.coverage[-1] >= 0.995
    rng = np.random.default_rng(3)
    coverage = [app.search_coverage]
    for k in range(len(plan)):
        t = t0 + 10.0 * k
        q_CN = plan.pointing(k, t)
        # camera = body here (q_CB identity); a star-free frame: the 1 arcsec prior is used
        estimate = attitude(int(t * NS), q_CN, sigma_rad=1 * ARCSEC)
        app.step(int(t * NS) + NS, make_inbox((int(t * NS), estimate),
                                              (int(t * NS), camera_frame(k + 1, int(t * NS), noise_frame(rng), 1e-6))))
        coverage.append(app.search_coverage)
    assert coverage[0] == 0.0 and np.all(np.diff(coverage) >= 0) and coverage[-1] >= 0.98
    # the same cue again keeps the progress; a new one starts over
    app.step(10_000 * NS, make_inbox((10_000 * NS, target_cue)))
    assert app.search_coverage == coverage[-1]
    moved = TargetCue(epoch_ns=0, r_TN_N=cue.r_N + 1e3, v_TN_N=cue.v_N, P_rv=cue.P_rv, radius_m=1.0)
    app.step(10_001 * NS, make_inbox((10_001 * NS, moved)))
    assert app.search_coverage == 0.0


def test_search_plan_needs_a_cue_and_a_fix():
    with pytest.raises(ValueError, match="cue"):
        new_app().search_plan(0.0)


def test_wrong_parameters_are_refused_at_configuration():
    with pytest.raises(ValueError, match="confirm_hits"):
        DetectApp("detect", {**PARAMS, "confirm_hits": 6, "confirm_window": 5}).reset()
    with pytest.raises(ValueError, match="q_CB"):
        DetectApp("detect", {**PARAMS, "q_CB": "0,0,0,0"}).reset()


# -- the frame's attitude prior: held for the estimate after mid-exposure, interpolated --------
def spinning_truth(t_s, alpha=np.radians([0.004, -0.003, 0.002]), omega0=np.radians([0.05, 0.02, -0.04])):
    """A body under constant angular acceleration alpha (rad/s^2, in B) from omega0, q(0) =
    identity: (q_BN, omega_BN_B) at t_s, integrated with scipy (rotations composed in B)."""
    from scipy.spatial.transform import Rotation
    steps = 2000
    r = Rotation.identity()
    dt = t_s / steps
    for k in range(steps):
        w = omega0 + alpha * (k + 0.5) * dt
        r = r * Rotation.from_rotvec(w * dt)              # C_NB, turned in B
    x, y, z, w_ = r.as_quat()
    q = np.array([w_, x, y, z])
    return (q if q[0] >= 0 else -q), omega0 + alpha * t_s


def test_the_prior_between_two_estimates_is_far_closer_than_either_carried_alone():
    from flightsw.detect.app import carried, interpolate_attitude
    from flightsw.detect.rotation import attitude_error
    t0, t1, t_mid = 10.0, 12.0, 10.6
    est = []
    for t in (t0, t1):
        q, w = spinning_truth(t)
        est.append(attitude(int(t * NS), q, w, sigma_rad=2 * ARCSEC))
    q_true, _ = spinning_truth(t_mid)
    q, P = interpolate_attitude(est[0], est[1], int(t_mid * NS))
    alone = max(np.linalg.norm(attitude_error(carried(e, int(t_mid * NS)), q_true)) for e in est)
    blended = np.linalg.norm(attitude_error(q, q_true))
    alpha = np.linalg.norm(np.radians([0.004, -0.003, 0.002]))
    assert alone > 0.5 * alpha * 0.6**2 * 0.9                       # ~alpha tau^2 / 2: tens of arcsec
    # the Hermite curve is exact for a constant alpha but for the rotations' non-commutation
    assert blended < 0.01 * alone and blended < 0.1 * ARCSEC
    assert np.allclose(P, np.eye(3) * (2 * ARCSEC) ** 2)
    # at an estimate's own instant the blend is that estimate
    q_at, _ = interpolate_attitude(est[0], est[1], int(t0 * NS))
    assert np.linalg.norm(attitude_error(q_at, est[0].q_BN)) < 1e-12


def waiting_app():
    app = DetectApp("detect", {**PARAMS, "attitude_wait_s": 3.0, "max_attitude_age_s": 3.0}, seed=0)
    app.reset()
    return app


def test_a_frame_is_held_until_an_estimate_after_its_mid_exposure_arrives():
    app = waiting_app()
    frame = camera_frame(1, 5 * NS, noise_frame(np.random.default_rng(4)))     # mid-exposure 5.05 s
    out = app.step(6 * NS, make_inbox((4 * NS, attitude(4 * NS, GOOD_Q)), (5 * NS, frame)))
    assert out[-1].frames == 0 and out[-1].frames_rejected == 0           # held, not lost
    out = app.step(7 * NS, make_inbox((6 * NS, attitude(6 * NS, GOOD_Q))))
    assert out[-1].frames == 1 and out[-1].frames_attitude_extrapolated == 0


def test_a_frame_without_a_later_estimate_goes_on_the_last_one_after_the_wait():
    app = waiting_app()
    frame = camera_frame(1, 5 * NS, noise_frame(np.random.default_rng(5)))
    out = app.step(6 * NS, make_inbox((4 * NS, attitude(4 * NS, GOOD_Q)), (5 * NS, frame)))
    out = app.step(7 * NS, make_inbox())
    assert out[-1].frames == 0
    out = app.step(8 * NS + NS // 10, make_inbox())                      # 3 s after mid-exposure
    assert out[-1].frames == 1 and out[-1].frames_attitude_extrapolated == 1


def test_a_bad_frame_is_refused_on_arrival_not_held():
    app = waiting_app()
    bad = camera_frame(1, 5 * NS, np.zeros((10, 10), np.uint16))
    out = app.step(6 * NS, make_inbox((5 * NS, bad)))
    assert out[-1].frames_rejected == 1 and not app.held


def test_held_frames_are_bounded():
    app = waiting_app()
    rng = np.random.default_rng(6)
    frames = [(5 * NS, camera_frame(k, 5 * NS + k, noise_frame(rng))) for k in range(DetectApp.MAX_HELD + 3)]
    out = app.step(6 * NS, make_inbox((4 * NS, attitude(4 * NS, GOOD_Q)), *frames))
    assert len(app.held) == DetectApp.MAX_HELD and out[-1].frames == 3
