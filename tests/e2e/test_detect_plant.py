"""Detect's bearings against the plant's truth: is the covariance it states honest? (issues 4, 5)

The plant (hil.plant.Plant: truth orbits, the rendered camera frames with the real sky, the
target's photometry, noise, hot pixels and cosmic rays, GNSS for the aberration) and the
detect app run in the in-process scheduler, through the real message encoding and decoding.
The geometry is victus-haze's [plant] table: the target about 2000 km ahead. Nothing flies the
attitude, so the chaser is started with its camera on the target's truth line of sight and
turning with it (a rate about the body's major axis of inertia, y, which is stable), and it
drifts only slowly off it over the run.

``Attitude`` stands in for nav's attitude estimate: the truth attitude with the star
tracker's figures (hil.sensors.StarTrackerConfig defaults: 5 arcsec across its boresight, 40
arcsec about it, white, plus a 10 arcsec misalignment drawn once), stated with that
covariance; detect only uses it as the prior of its own star fit.

Every confirmed bearing is compared with the truth line of sight at its t_meas_ns (a plant
step: the truth record of that step, no interpolation): NIS = e^T P_u^+ e over the two axes
across u, which for honest bearings is chi-square with 2 degrees of freedom.

What this measured (the target ~1190 km out, SNR 8-22): with the former covariance the NIS
mean was 2.9-3.0 (outside 1.57-2.49), the centroid scatter 1.25x the stated sigma. Split by
truth (the true attitude and the target's true pixel): the centroid term was short (the
target's own photons outnumber the background in the pixels that carry its position: now in
sources.point_source_sigma_px), the star fit's formal covariance ~1.5x short across the
boresight but 10x smaller than the centroid term (now scaled by the fit's unit-weight
variance, stars.unit_weight_variance). The time tag (mid-exposure; the plant renders the
target's motion over the exposure about it) showed no bias. The few bearings beyond the 99.9 %
point are blends: faint uncatalogued stars, streaming past the tracked target, within 2 px
of it (e.g. two of 140 and 110 e- by a 330 e- target, 0.66 px off).
"""
import math
import tomllib
from importlib import resources

import numpy as np
import pytest
from scipy.stats import chi2

from flightsw.msg import AttitudeEstimate, DetectHealth, TargetTrack, TruthState
from flightsw.runtime.app import NS_PER_S, App
from flightsw.runtime.scheduler import InProcessRun
from flightsw.runtime.topology import AppSpec
from hil.attitude.quaternion import dcm_to_quat, quat_mult, quat_to_dcm
from hil.plant import Plant
from hil.sensors.star_tracker import rotation_quaternion

ARCSEC = math.pi / 648000.0
STAR_TRACKER_CROSS_RAD = 5.0 * ARCSEC
STAR_TRACKER_ROLL_RAD = 40.0 * ARCSEC
STAR_TRACKER_ALIGN_RAD = 10.0 * ARCSEC
# victus-haze's star tracker boresight, body +y: its roll is about y
SIGMA_ATT_B = np.array([STAR_TRACKER_CROSS_RAD, STAR_TRACKER_ROLL_RAD, STAR_TRACKER_CROSS_RAD])


class Attitude(App):
    """Nav's attitude estimate, with the star tracker's errors, from the truth attitude."""

    SUBSCRIBES = (TruthState,)
    PUBLISHES = (AttitudeEstimate,)
    RATE_HZ = 1.0

    def reset(self):
        self.rng = self.stream("noise")
        sigma_total = np.hypot(SIGMA_ATT_B, STAR_TRACKER_ALIGN_RAD)
        self.alignment_B = STAR_TRACKER_ALIGN_RAD * self.rng.standard_normal(3)
        self.P_att = np.diag(sigma_total**2)

    def step(self, t_ns, inbox):
        out = []
        for env, truth in inbox.all(TruthState):
            theta_B = self.alignment_B + SIGMA_ATT_B * self.rng.standard_normal(3)
            # the estimate's frame B' is B turned by theta_B, in B: q_B'N = quat_mult(q_BN, q_B'B)
            # (hil.attitude.quaternion's composition; the other order turns it in N)
            q = quat_mult(np.asarray(truth.q_BN), rotation_quaternion(theta_B))
            out.append(AttitudeEstimate(t_est_ns=env.t_ns, q_BN=q / np.linalg.norm(q),
                                        omega_BN_B=np.asarray(truth.omega_BN_B), P_att=self.P_att,
                                        valid=True))
        return out


class Probe(App):
    """Keeps detect's tracks and health and the plant's truth, by time."""

    SUBSCRIBES = (TargetTrack, TruthState, DetectHealth)
    PUBLISHES = ()
    RATE_HZ = 1.0

    def reset(self):
        self.truth, self.tracks, self.health = {}, [], []

    def step(self, t_ns, inbox):
        for env, truth in inbox.all(TruthState):
            self.truth[env.t_ns] = truth
        self.tracks += [track for _, track in inbox.all(TargetTrack)]
        self.health += [health for _, health in inbox.all(DetectHealth)]
        return []


def pointed_plant(seed: int, camera_period_s: float, target_ta_deg: float | None, albedo: float,
                  scenario: str = "victus-haze", chaser_ta_deg: float | None = None) -> dict:
    """The scenario's [plant] table at 1 Hz, truth every step, the camera every camera_period_s,
    GNSS at 1 Hz, no other sensor, and the chaser's body z (the camera) on the target's true
    line of sight, body y along the line of sight's turn axis, turning at its rate.  The
    target's and the chaser's true anomalies are the scenario's unless given."""
    doc = tomllib.loads((resources.files("hil.scenarios") / f"{scenario}.toml").read_text())
    plant = doc["plant"]
    plant.update(rate_hz=1.0, truth_rate_hz=1.0)
    target_orbit = dict(plant["target"]["orbit"])
    if target_ta_deg is not None:
        target_orbit["ta_deg"] = target_ta_deg
    plant["target"] = dict(plant["target"], albedo=albedo, orbit=target_orbit)
    if chaser_ta_deg is not None:
        plant["chaser"] = dict(plant["chaser"], orbit=dict(plant["chaser"]["orbit"], ta_deg=chaser_ta_deg))
    plant["camera"] = dict(plant.get("camera", {}), rate_hz=1.0 / camera_period_s)
    plant["sensors"] = {"gnss": {"rate_hz": 1.0}}
    probe = Plant("plant", {"config": plant}, seed)
    probe.reset()
    (r_B, v_B), (r_T, v_T) = ((s[:3], s[3:]) for s in probe.orbits.states_N)
    rho, rho_dot = r_T - r_B, v_T - v_B
    u = rho / np.linalg.norm(rho)
    omega_N = np.cross(u, rho_dot) / np.linalg.norm(rho)
    y = omega_N / np.linalg.norm(omega_N)
    C_BN = np.vstack([np.cross(y, u), y, u])
    plant["chaser"] = dict(plant["chaser"], q_BN=list(dcm_to_quat(C_BN)),
                           omega_BN_B=list(C_BN @ omega_N))
    return plant


def fly(seed: int, duration_s: float, target_ta_deg: float | None, albedo: float = 0.25,
        camera_period_s: float = 5.0, scenario: str = "victus-haze", chaser_ta_deg: float | None = None,
        detect_params: dict | None = None):
    """Run plant, attitude, detect and probe; returns rows per confirmed bearing:
    (t_s, range_m, err_1, err_2 (rad, across u, in the stated covariance's eigenbasis),
    sigma_1, sigma_2 (rad), NIS, snr), and the detect app."""
    plant = pointed_plant(seed, camera_period_s, target_ta_deg, albedo, scenario, chaser_ta_deg)
    specs = [AppSpec("plant", "hil.plant:Plant", {"config": plant}),
             AppSpec("attitude", "test_detect_plant:Attitude", rate_hz=1.0),
             AppSpec("detect", "flightsw.detect.app:DetectApp",
                     {"max_attitude_age_s": 3.0, **(detect_params or {})}, rate_hz=1.0),
             AppSpec("probe", "test_detect_plant:Probe", rate_hz=1.0)]
    run = InProcessRun(specs, seed)
    run.run(int(duration_s * NS_PER_S))
    probe = run.runners["probe"].app
    rows = []
    for track in probe.tracks:
        truth = probe.truth.get(track.t_meas_ns)
        if track.state != "confirmed" or truth is None:
            continue
        rho = np.asarray(truth.r_TN_N) - np.asarray(truth.r_BN_N)
        u_true = rho / np.linalg.norm(rho)
        u = np.asarray(track.u_N)
        e = u - u_true
        w, V = np.linalg.eigh(np.asarray(track.P_u))
        across = V[:, 1:]           # the two non-null directions (the null one is along u)
        e2 = across.T @ e
        rows.append((track.t_meas_ns / NS_PER_S, np.linalg.norm(rho), *e2, *np.sqrt(w[1:]),
                     float(e2 @ (e2 / w[1:])), track.snr))
    return np.array(rows), run.runners["detect"].app, probe


@pytest.fixture(scope="module")
def bearings():
    """The target ~1190 km out with a dark surface (albedo 0.1): SNR 6 to 25, the range of the
    faint target detect meets at ~1800 km in victus-haze; 20 minutes, a frame every 5 s."""
    return fly(seed=7, duration_s=1200.0, target_ta_deg=10.0, albedo=0.1)


def test_detect_bearings_nis_against_plant_truth_is_inside_its_99_percent_bounds(bearings):
    rows, detect, _ = bearings
    n = len(rows)
    # the first frame comes before any attitude estimate
    assert n >= 100 and detect.rejected <= 1 and rows[:, 7].min() < 8.0
    lo, hi = chi2.ppf([0.005, 0.995], 2 * n) / n
    assert lo <= rows[:, 6].mean() <= hi


def test_detect_bearings_outliers_against_plant_truth_are_rare(bearings):
    rows, _, _ = bearings
    # beyond the 99.9 % point of chi2(2): 0.1 % for honest bearings; at most 2 % allowed
    assert (rows[:, 6] > chi2.ppf(0.999, 2)).mean() <= 0.02


# -- close in: exposure control (issue 4) ------------------------------------------------------
# mid-range's [plant] table with the chaser ~5 km behind the target (argument of latitude
# -0.0417 deg): the 0.5 m target, half lit, is a 0.57 px disc that saturates ~20 pixels at the
# far-range exposure of 0.1 s.
CLOSE_CHASER_TA_DEG = 269.9583
# frames before the exposure has settled: four commands, each seen two frames later (detect
# holds a frame for the attitude estimate after its mid-exposure, a step behind, so a command
# meets the frame after next)
SETTLED = 10


@pytest.fixture(scope="module")
def close_in():
    """Four minutes at ~5 km, a frame every 2 s, detect's exposure control on (its default)."""
    rows, detect, probe = fly(seed=5, duration_s=240.0, target_ta_deg=None, albedo=0.25,
                              camera_period_s=2.0, scenario="mid-range",
                              chaser_ta_deg=CLOSE_CHASER_TA_DEG)
    return detect, probe


def light_errors(probe):
    """Per confirmed bearing: the pixel error (px, x and y) of the track's position against the
    truth attitude's projection of the target's light (the Lambert photocentre), and the NIS
    of its bearing against that light direction."""
    from flightsw.detect.camera import CameraModel
    from hil.camera.resolved import lambert_photocentre_m
    from hil.ephemeris import julian_date, sun_position_N

    doc = tomllib.loads((resources.files("hil.scenarios") / "mid-range.toml").read_text())
    jd0 = julian_date(doc["plant"]["epoch_utc"])
    radius = doc["plant"]["target"]["radius_m"]
    camera = CameraModel(1024, 1024, 10.0, (1.0, 0.0, 0.0, 0.0))
    out = []
    for track in probe.tracks:
        truth = probe.truth.get(track.t_meas_ns)
        if track.state != "confirmed" or truth is None:
            continue
        r_T = np.asarray(truth.r_TN_N)
        rho = r_T - np.asarray(truth.r_BN_N)
        sun = sun_position_N(jd0 + track.t_meas_ns / NS_PER_S / 86400.0)
        light = rho + lambert_photocentre_m(radius, rho, sun - r_T)
        u_light = light / np.linalg.norm(light)
        x, y, _ = camera.project((camera.C_CN(np.asarray(truth.q_BN)) @ u_light)[None])
        e = np.asarray(track.u_N) - u_light
        out.append((track.x_px - x[0], track.y_px - y[0], float(e @ np.linalg.pinv(np.asarray(track.P_u)) @ e)))
    return np.array(out)


def test_close_in_exposure_control_brings_the_target_below_saturation_and_keeps_it_there(close_in):
    detect, probe = close_in
    per_frame = {h.frames: (h.exposure_s, h.target_peak_dn) for h in probe.health if h.target_peak_dn > 0.0}
    peaks = [per_frame[k] for k in sorted(per_frame)]
    assert peaks[0] == (0.1, pytest.approx(15100.0, abs=10.0))       # saturated at far-range exposure
    settled = peaks[SETTLED:]
    assert len(settled) >= 100
    assert all(0.15 * 15000.0 < peak < 15000.0 for _, peak in settled)
    assert all(exposure < 0.01 for exposure, _ in settled)
    assert detect.exposure.commands <= 6                             # no hunting


def test_close_in_the_track_holds_through_the_exposure_changes_and_without_stars(close_in):
    _, probe = close_in
    states = [t.state for t in probe.tracks]
    assert len(states) >= 110 and states.count("confirmed") >= 0.97 * len(states)
    # the track says when its target is saturated: at the far-range exposure, not once settled
    saturated = [t.saturated for t in probe.tracks if t.state == "confirmed"]
    assert saturated[0] and not any(saturated[SETTLED:])


def test_close_in_the_light_centroid_is_measured_to_hundredths_of_a_pixel(close_in):
    _, probe = close_in
    errors = light_errors(probe)
    settled = errors[SETTLED:]
    assert np.sqrt(np.mean(settled[:, 0] ** 2 + settled[:, 1] ** 2)) < 0.03
    # beyond the 99.9 % point of chi2(2): none of 115 measured, NIS mean 1.3 (star-attitude
    # and prior-attitude frames alike; 3 of 115 and 3.5 on prior frames while this test's
    # star-tracker stand-in turned its error in N instead of B)
    assert (errors[:, 2] > chi2.ppf(0.999, 2)).mean() <= 0.01
