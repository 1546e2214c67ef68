"""The run report: summary.json figures and plots, from synthetic recordings with known answers
and from a short close-range run."""
import json
from collections import defaultdict
from itertools import groupby

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.guidance import flyaround
from flightsw.guidance.mission import COVERAGE_GOAL as FLIGHT_COVERAGE_GOAL
from flightsw.msg import (BurnCommand, BurnReport, CameraFrame, GuidanceMode, RelativeState,
                          TargetTrack, TruthState, decode, encode)
from flightsw.record import Recorder, Recording
from flightsw.runtime.launcher import ProcessRun
from hil import scenario
from hil.cli import Progress, main, run_scenario
from hil.orbit.frames import relative_rtn
from hil.report import MissionSettings, RunData, analyse, plots, write_plots, write_report
from hil.report.analysis import ranges
from hil.report.geometry import (RelativeTruth, argument_of_latitude, coverage_history,
                                 fibonacci_sphere, hermite, viewing_directions)
from hil.report.load import COVERAGE_GOAL, PhaseTimeline

NS = 1_000_000_000
MU = 3.986004418e14
A_M = 6_878_137.0
N_RAD_S = np.sqrt(MU / A_M**3)
INC = np.radians(97.4)
P_HAT = np.array([1.0, 0.0, 0.0])                        # ascending node direction
Q_HAT = np.array([0.0, np.cos(INC), np.sin(INC)])


# -- a synthetic run -------------------------------------------------------------------------
def target_rv(t_s):
    """A circular Keplerian target: argument of latitude n t from the node P_HAT."""
    u = N_RAD_S * t_s
    r = A_M * (np.cos(u) * P_HAT + np.sin(u) * Q_HAT)
    v = A_M * N_RAD_S * (-np.sin(u) * P_HAT + np.cos(u) * Q_HAT)
    return r, v


def chaser_rv(t_s, rho_rtn, rho_dot_rtn):
    """The chaser at rho (m) from the target in its RTN frame, moving at rho_dot there."""
    r_t, v_t = target_rv(t_s)
    c = np.array([r_t / A_M, v_t / (A_M * N_RAD_S), np.cross(P_HAT, Q_HAT)])
    omega = np.array([0.0, 0.0, N_RAD_S])
    return r_t + c.T @ rho_rtn, v_t + c.T @ (rho_dot_rtn + np.cross(omega, rho_rtn))


class SyntheticRun:
    """Messages at chosen sim times, recorded by the Recorder as a run would record them."""

    def __init__(self):
        self.ticks = defaultdict(list)
        self.seq = defaultdict(int)

    def add(self, t_ns, msg, source):
        topic = type(msg).TOPIC
        self.ticks[int(t_ns)].append(encode(msg, self.seq[topic], int(t_ns), source))
        self.seq[topic] += 1

    def truth(self, t_s, rho_of_t, dt=1e-3):
        """truth.state at t_s with the chaser at rho_of_t(t) (velocity by central difference)."""
        rho = np.asarray(rho_of_t(t_s), dtype=float)
        rho_dot = (np.asarray(rho_of_t(t_s + dt)) - np.asarray(rho_of_t(t_s - dt))) / (2 * dt)
        r_b, v_b = chaser_rv(t_s, rho, rho_dot)
        r_t, v_t = target_rv(t_s)
        self.add(t_s * NS, TruthState(r_BN_N=r_b, v_BN_N=v_b, q_BN=np.array([1.0, 0, 0, 0]),
                                      omega_BN_B=np.zeros(3), h_wheels_Nms=np.zeros(4),
                                      propellant_kg=10.0 - 1e-6 * t_s, r_TN_N=r_t,
                                      v_TN_N=v_t), "plant")

    def mode(self, t_s, phase):
        self.add(t_s * NS, GuidanceMode(phase=phase, time_in_phase_s=0.0, held=False,
                                        cam_requested=False, next_burn_t_ns=0,
                                        planned_dv_mps=0.0, used_dv_mps=0.0), "guidance")

    def track(self, t_meas_s, state="confirmed", x_px=20.0, y_px=30.0):
        self.add(t_meas_s * NS + NS, TargetTrack(
            t_meas_ns=int(t_meas_s * NS), track_id=1, u_N=np.array([1.0, 0, 0]),
            P_u=np.eye(3) * 1e-10, x_px=x_px, y_px=y_px, flux_dn=100.0, snr=50.0,
            resolved=False, apparent_radius_rad=0.0, frames_tracked=3, state=state, saturated=False), "detect")

    def nav(self, t_est_s, r_CT_rtn, sigma_m=1.0):
        P = np.diag([sigma_m**2] * 3 + [1e-4] * 3)
        self.add(t_est_s * NS + NS, RelativeState(
            t_est_ns=int(t_est_s * NS), r_CT_rtn=np.asarray(r_CT_rtn, dtype=float),
            v_CT_rtn=np.zeros(3), P_rtn=P, roe=np.zeros(6), P_roe=np.eye(6) * 1e-8,
            range_m=float(np.linalg.norm(r_CT_rtn)), range_sigma_m=sigma_m, valid=True), "nav")

    def frame(self, t_start_s, image, exposure_s=0.1):
        self.add(t_start_s * NS, CameraFrame(frame_id=self.seq["sensor.camera.frame"],
                                             t_exposure_start_ns=int(t_start_s * NS),
                                             exposure_s=exposure_s, gain_e_per_dn=1.0,
                                             image=image), "plant")

    def burn(self, t_s, dv_N, executed_fraction=1.0):
        """A burn command at t_s - 60 s starting at t_s, and its report (a fraction flown)."""
        bid = self.seq["guidance.burn"]
        self.add((t_s - 60) * NS, BurnCommand(burn_id=bid, t_start_ns=int(t_s * NS),
                                              dv_N=np.asarray(dv_N, float), duration_s=10.0),
                 "guidance")
        self.add((t_s + 11) * NS, BurnReport(
            burn_id=bid, t_start_ns=int(t_s * NS), t_end_ns=int((t_s + 10) * NS),
            dv_N=executed_fraction * np.asarray(dv_N, float), sigma_dv_mps=1e-3), "control")

    def write(self, run_dir, blobs_every=None):
        rec = Recorder(run_dir, blobs_every)
        for t in sorted(self.ticks):
            rec.write_tick(self.ticks[t])
        rec.close()
        return run_dir


def analysis_of(run_dir, **settings):
    return analyse(RunData.load(run_dir), MissionSettings(**settings))


def along_track(range_of_t):
    return lambda t: np.array([0.0, -range_of_t(t), 0.0])


# -- geometry against independent references --------------------------------------------------
def test_truth_relative_state_is_the_rtn_offset_the_chaser_was_placed_at(tmp_path):
    run = SyntheticRun()
    rho = lambda t: np.array([100.0 + t, -2000.0 + 3 * t, 50.0 - 0.5 * t])  # noqa: E731
    for t in range(0, 100, 10):
        run.truth(float(t), rho)
    tru = RunData.load(run.write(tmp_path)).truth
    assert np.allclose(tru.r_CT_rtn, [rho(t) for t in range(0, 100, 10)], atol=1e-6)
    assert np.allclose(tru.v_CT_rtn, [[1.0, 3.0, -0.5]] * 10, atol=1e-6)
    assert np.allclose(tru.u_T_rad, N_RAD_S * np.arange(0, 100, 10), atol=1e-12)


@settings(max_examples=30)
@given(st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4),
       st.floats(0.0, 1.0, exclude_max=True))
def test_hermite_is_exact_on_cubics(c, frac):
    t_ns = np.array([0, 7, 10, 25]) * NS
    poly = np.polynomial.Polynomial(c)
    t_s = t_ns / NS
    x = poly(t_s)[:, None]
    xdot = poly.deriv()(t_s)[:, None]
    tq = int(round((7 + 3 * frac) * NS))
    assert hermite(t_ns, x, xdot, [tq])[0, 0] == pytest.approx(poly(tq / NS), abs=1e-9)
    assert np.isnan(hermite(t_ns, x, xdot, [26 * NS])[0, 0])


def test_argument_of_latitude_matches_the_orbit_construction():
    u = np.array([0.1, 1.0, 2.5, -2.0, 3.1])
    r = A_M * (np.cos(u)[:, None] * P_HAT + np.sin(u)[:, None] * Q_HAT)
    v = np.cross(np.cross(P_HAT, Q_HAT), r)
    assert np.allclose(argument_of_latitude(r, v), u)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([None, "inertial"]))
def test_coverage_equals_the_guidance_coverage_map(seed, frame):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(40, 3)) * 100.0
    u = rng.uniform(-np.pi, np.pi, 40) if frame else None
    hil_dirs = viewing_directions(r, u)
    flight_dirs = flyaround.viewing_directions(r.T, u)
    assert np.allclose(hil_dirs, flight_dirs)
    fraction, _ = coverage_history(hil_dirs, np.radians(60.0))
    cmap = flyaround.CoverageMap(np.radians(60.0))
    expected = [cmap.add(d) for d in flight_dirs]
    assert np.array_equal(fraction, expected)
    assert np.array_equal(fibonacci_sphere(4000), flyaround.fibonacci_sphere(4000))


def test_coverage_goal_is_the_mission_managers():
    assert COVERAGE_GOAL == FLIGHT_COVERAGE_GOAL


# -- figures with known answers ---------------------------------------------------------------
def test_two_dips_into_the_keep_out_sphere_are_two_episodes(tmp_path):
    # 200 m, down to 30 m around t = 300 s (3 samples inside) and t = 700 s (1 sample), back
    inside = {290: 40.0, 300: 30.0, 310: 45.0, 700: 49.0}
    run = SyntheticRun()
    for t in range(0, 1000, 10):
        rng = inside.get(t, 200.0)
        run.truth(float(t), along_track(lambda _t, r=rng: r))
    s = analysis_of(run.write(tmp_path), keepout_m=50.0).summary
    assert s["keep_out_violations"] == {"radius_m": 50.0, "episodes": 2, "samples": 4,
                                        "first_t_s": 290.0}
    assert s["min_range_m"] == pytest.approx(30.0, abs=1e-6)
    assert s["success_criteria"]["no_keep_out_violation"] is False
    s = analysis_of(tmp_path, keepout_m=25.0).summary
    assert s["keep_out_violations"]["episodes"] == 0


@settings(max_examples=50)
@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_keep_out_episodes_are_the_runs_of_samples_inside(inside):
    n = len(inside)
    r = np.zeros((n, 3))
    r[:, 0] = np.where(inside, 30.0, 80.0)
    truth = RelativeTruth(np.arange(n, dtype=np.int64) * 10 * NS, r, np.zeros((n, 3)),
                          np.zeros(n))
    data = RunData(None, {}, truth, PhaseTimeline(np.zeros(0, np.int64), np.zeros(0, object)))
    k = ranges(data, 50.0)["keep_out_violations"]
    assert k["episodes"] == sum(1 for v, _ in groupby(inside) if v)
    assert k["samples"] == sum(inside)


def test_min_range_between_samples_is_found_on_the_interpolant(tmp_path):
    run = SyntheticRun()
    # straight-line fly-by at 1 m/s, 20 m miss distance, closest at t = 105 s
    rho = lambda t: np.array([20.0, t - 105.0, 0.0])  # noqa: E731
    for t in range(0, 200, 10):
        run.truth(float(t), rho)
    s = analysis_of(run.write(tmp_path)).summary
    assert s["min_range_m"] == pytest.approx(20.0, abs=1e-3)
    assert s["min_range_t_s"] == pytest.approx(105.0, abs=0.1)
    assert s["keep_out_violations"]["episodes"] == 1


def test_phases_detection_delta_v_and_nav_error(tmp_path):
    run = SyntheticRun()
    rng = lambda t: 2.0e6 - 100.0 * t                          # noqa: E731 linear closing
    for t in range(0, 2001, 10):
        run.truth(float(t), along_track(rng))
    for t, ph in ((0, "commission"), (100, "search"), (500, "far_approach"),
                  (1500, "safe"), (1800, "far_approach")):
        run.mode(t, ph)
    run.track(300.0, "tentative")
    run.track(405.0, "confirmed")                              # between truth samples
    run.track(415.0, "coasting")
    # nav: 1 % along R in far approach, 3 % in safe, at times between truth samples
    for t in np.arange(505.0, 2000.0, 20.0):
        true = along_track(rng)(t)
        pct = 3.0 if 1500 <= t < 1800 else 1.0
        run.nav(t, true + np.array([pct / 100 * rng(t), 0, 0]), sigma_m=0.02 * rng(t))
    run.burn(600.0, [0.3, 0.4, 0.0])                            # 0.5 m/s, far approach
    run.burn(1600.0, [0.0, 0.0, 2.0], executed_fraction=0.5)    # 2 commanded, 1 flown, safe
    s = analysis_of(run.write(tmp_path)).summary
    assert s["phases_entered_s"] == {"commission": 0.0, "search": 100.0,
                                     "far_approach": 500.0, "safe": 1500.0}
    assert s["phase_log"] == [[0.0, "commission"], [100.0, "search"], [500.0, "far_approach"],
                              [1500.0, "safe"], [1800.0, "far_approach"]]
    assert s["detection_t_s"] == 405.0
    assert s["detection_range_km"] == pytest.approx(rng(405.0) / 1e3, rel=1e-7)
    assert s["success_criteria"]["detected_at_1900_km"] is True
    dv = s["delta_v_mps"]
    assert dv["executed"]["per_phase"] == pytest.approx({"far_approach": 0.5, "safe": 1.0})
    assert dv["commanded"]["per_phase"] == pytest.approx({"far_approach": 0.5, "safe": 2.0})
    assert dv["executed"]["total"] == pytest.approx(1.5)
    assert dv["commanded"]["total"] == pytest.approx(2.5)
    nav = s["nav_error_pct_of_range"]
    assert nav["far_approach"]["median"] == pytest.approx(1.0, rel=1e-6)
    assert nav["far_approach"]["p95"] == pytest.approx(1.0, rel=1e-6)
    assert nav["safe"]["median"] == pytest.approx(3.0, rel=1e-6)
    assert nav["far_approach"]["samples"] + nav["safe"]["samples"] == nav["all"]["samples"] == 75
    assert s["propellant_used_kg"] == pytest.approx(2000e-6)
    assert s["success"] is False and s["inspection_coverage"] is None


def spiral(radius_m, t0, t1, turns=20):
    """A path over the whole sphere about the target, pole to pole, between t0 and t1."""
    def rho(t):
        s = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
        z = 1.0 - 2.0 * s
        phi = 2 * np.pi * turns * s
        return radius_m * np.array([np.sqrt(1 - z * z) * np.cos(phi),
                                    np.sqrt(1 - z * z) * np.sin(phi), z])
    return rho


def mission(run, *, detect_km=2000.0, keepout_dip=False, end_km=10.0, inspect_end=7200.0):
    """A whole synthetic mission on a 10 s truth grid: search, detection at detect_km, the
    approach to 150 m by 3600 s, a spiral inspection to inspect_end, departure to end_km."""
    spin = spiral(150.0, 3600.0, inspect_end)

    def rho(t):
        if t < 3600.0:
            return np.array([0.0, -detect_km * 1e3 * (0.15 / detect_km) ** (t / 3600.0), 0.0])
        if t < inspect_end:
            if keepout_dip and abs(t - 5000.0) < 15.0:
                return np.array([30.0, 0.0, 0.0])
            return spin(t)
        return np.array([0.0, -150.0 - (t - inspect_end) * (end_km * 1e3 - 150.0) / 1800.0, 0.0])

    for t in range(0, int(inspect_end) + 1801, 10):
        run.truth(float(t), rho)
    for t, ph in ((0, "search"), (10, "far_approach"), (2000, "mid_approach"),
                  (3000, "close_approach"), (3600, "inspect"), (inspect_end, "depart"),
                  (inspect_end + 1800, "safe")):
        run.mode(t, ph)
    run.track(10.0)
    for t in range(3600, int(inspect_end), 10):
        run.track(float(t))
    return run, rho


def test_a_mission_meeting_every_requirement_succeeds(tmp_path):
    run, rho = mission(SyntheticRun())
    s = analysis_of(run.write(tmp_path)).summary
    assert s["detection_range_km"] == pytest.approx(np.linalg.norm(rho(10.0)) / 1e3, rel=1e-7)
    assert s["detection_range_km"] > 1900.0
    assert s["inspection_coverage"] > COVERAGE_GOAL
    assert 1.0 < s["inspection_complete_h"] < 2.0
    assert s["time_to_inspection_h"] == 1.0
    assert s["success_criteria"] == {"detected_at_1900_km": True, "inspection_within_48_h": True,
                                     "no_keep_out_violation": True, "departed_beyond_5_km": True}
    assert s["success"] is True


@pytest.mark.parametrize("change, failed", [
    (dict(detect_km=1800.0), "detected_at_1900_km"),
    (dict(keepout_dip=True), "no_keep_out_violation"),
    (dict(end_km=4.0), "departed_beyond_5_km"),
    (dict(inspect_end=3700.0), "inspection_within_48_h"),
])
def test_a_mission_failing_one_requirement_fails(tmp_path, change, failed):
    s = analysis_of(mission(SyntheticRun(), **change)[0].write(tmp_path)).summary
    assert [k for k, v in s["success_criteria"].items() if v is False] == [failed]
    assert s["success"] is False


def test_inspection_coverage_counts_only_confirmed_tracks_in_the_inspect_phase(tmp_path):
    run = SyntheticRun()
    for t in range(0, 301, 10):
        run.truth(float(t), lambda t: np.array([100.0, 0.0, 0.0]) if t < 150 else
                  np.array([-100.0, 0.0, 0.0]))
    run.mode(0, "close_approach")
    run.mode(100, "inspect")
    for t, state in ((50, "confirmed"), (120, "confirmed"), (200, "coasting")):
        run.track(float(t), state)
    an = analysis_of(run.write(tmp_path))
    # one direction seen (+R): the cap of half-angle 60 deg, (1 - cos 60) / 2 of the sphere
    assert an.summary["inspection_coverage"] == pytest.approx(0.25, abs=0.005)
    assert list(an.coverage.t_ns) == [120 * NS]


# -- plots, and the whole run folder ----------------------------------------------------------
def test_plots_of_a_whole_mission_with_camera_frames(tmp_path):
    run, _ = mission(SyntheticRun())
    img = np.full((64, 64), 100, dtype="<u2")
    img[28:33, 18:23] = 4000                     # the target where the tracks put it
    for t in (10, 3600, 4200, 4800, 5400, 6000, 6600):
        run.frame(t - 0.05, img)                 # mid-exposure at the track's t_meas
    run.write(tmp_path, blobs_every={"sensor.camera.frame": 2})
    names = write_plots(analysis_of(tmp_path), tmp_path)
    # no nav.relative in this recording: no navigation plot
    assert names == ["trajectory_rtn.png", "range.png", "delta_v.png",
                     "frames_detection.png", "frames_inspection.png", "coverage.png"]
    for n in names:
        assert (tmp_path / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_judges_by_the_scenarios_guidance_parameters(tmp_path):
    doc = {"run": {"name": "x", "seed": 1, "duration_s": 10.0},
           "apps": [{"name": "guidance", "cls": "flightsw.guidance.app:GuidanceApp",
                     "params": {"keepout_m": 35.0, "target_attitude": "inertial"}}]}
    sc = scenario.parse(doc)
    assert MissionSettings.from_scenario(sc) == MissionSettings(35.0, 60.0, "inertial")
    doc["apps"][0]["params"] = {}
    assert MissionSettings.from_scenario(scenario.parse(doc)) == MissionSettings(50.0, 60.0, "rtn")
    run = SyntheticRun()
    for t in range(0, 100, 10):
        run.truth(float(t), along_track(lambda t: 40.0))
    s = write_report(run.write(tmp_path), sc, {"scenario": "x"}, plots=False)
    assert s == json.loads((tmp_path / "summary.json").read_text())
    assert s["scenario"] == "x" and s["plots"] == []
    assert s["keep_out_violations"]["episodes"] == 0 and s["judged_with"]["keepout_m"] == 35.0


def test_a_track_off_the_frame_is_cropped_at_its_edge():
    img = np.arange(100 * 80).reshape(100, 80)
    crop, extent = plots._crop(img, 500.0, -20.0)
    assert crop.shape == (41, 41) and crop[0, -1] == img[0, 79]
    assert extent == (38.5, 79.5, 40.5, -0.5)


def test_recording_select_reads_what_arrays_reads_and_frames_by_offset(tmp_path):
    run = SyntheticRun()
    img = np.arange(12, dtype="<u2").reshape(3, 4)
    for t in range(5):
        run.frame(float(t), img + t)
        run.mode(float(t), "search")
    rec = Recording(run.write(tmp_path, blobs_every={"sensor.camera.frame": 2}))
    sel = rec.select(["sensor.camera.frame", "guidance.mode", "no.such.topic"])
    assert set(sel) == {"sensor.camera.frame", "guidance.mode"}
    frames = rec.arrays("sensor.camera.frame")
    assert list(sel["sensor.camera.frame"]["blobs"]) == [1, 0, 1, 0, 1]
    assert np.array_equal(sel["sensor.camera.frame"]["frame_id"], frames["frame_id"])
    assert list(sel["guidance.mode"]["phase"]) == list(rec.arrays("guidance.mode")["phase"])
    again = rec.at("sensor.camera.frame", sel["sensor.camera.frame"]["offset"][[0, 4]])
    assert np.array_equal(again["image"], np.stack([img, img + 4]))
    with pytest.raises(ValueError, match="no guidance.mode"):
        rec.at("guidance.mode", sel["sensor.camera.frame"]["offset"][:1])


def test_recorder_keeps_the_last_message_of_watched_topics(tmp_path):
    run = SyntheticRun()
    rec = Recorder(tmp_path)
    rec.watch(["guidance.mode"])
    assert rec.latest == {"guidance.mode": None}
    run.mode(0.0, "search")
    run.mode(1.0, "far_approach")
    for t in sorted(run.ticks):
        rec.write_tick(run.ticks[t])
    rec.close()
    progress = Progress(rec, 10.0, enabled=False)
    progress.t_s = 3600.0
    assert progress.status() == "t=1.00 h  far_approach"


def test_the_progress_bar_sees_the_zeromq_run_through_the_recorder(tmp_path):
    sc = scenario.load("runtime-check")
    run = ProcessRun(sc.apps, sc.seed, tmp_path)
    run.recorder.watch(["time.tone"])
    try:
        run.run(2 * NS)
    finally:
        run.close()
    env, _ = decode(run.recorder.latest["time.tone"])
    assert env.t_ns == 2 * NS


def test_an_interrupted_run_still_writes_its_summary(tmp_path, monkeypatch):
    tick = Progress.tick

    def interrupt_at_3_s(self, t_ns):
        tick(self, t_ns)
        if t_ns >= 3 * NS:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "tick", interrupt_at_3_s)
    assert main(["run", "runtime-check", "--topology", "inproc", "--out", str(tmp_path),
                 "--quiet"]) == 130
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["completed"] is False and s["sim_s"] == 3.0 and s["duration_s"] == 120.0
    assert s["messages"]["time.tone"] == 31


@pytest.fixture(scope="module")
def close_range_run(tmp_path_factory):
    sc = scenario.load("close-range")
    sc = scenario.Scenario(sc.name, sc.seed, 60.0, sc.apps, sc.blobs_every, sc.source)
    out = tmp_path_factory.mktemp("close-range")
    return out, run_scenario(sc, out, "inproc", progress=False)


def test_close_range_summary_against_the_recorded_truth(close_range_run):
    out, s = close_range_run
    assert s == json.loads((out / "summary.json").read_text())
    assert (s["scenario"], s["seed"], s["completed"], s["sim_s"]) == ("close-range", 7, True, 60.0)
    # rounded to 0.1, from the unrounded wall time
    assert s["realtime_factor"] == pytest.approx(60.0 / s["wall_s"], abs=0.1)
    rec = Recording(out)
    truth = rec.arrays("truth.state")
    range_m = np.linalg.norm(truth["r_BN_N"] - truth["r_TN_N"], axis=1)   # frame-free
    assert s["min_range_m"] == pytest.approx(range_m.min(), abs=0.5)
    assert s["final_range_m"] == pytest.approx(range_m[-1], rel=1e-9)
    tracks = rec.arrays("detect.track")
    first = tracks["t_meas_ns"][tracks["state"] == "confirmed"][0]
    k = np.flatnonzero(truth["t_ns"] == first)[0]                      # truth at 1 Hz
    assert s["detection_range_km"] == pytest.approx(range_m[k] / 1e3, rel=1e-9)
    assert s["phases_entered_s"] == {"close_approach": 0.0}
    assert s["success_criteria"]["detected_at_1900_km"] is None      # started past the search
    assert s["success"] is False and s["keep_out_violations"]["episodes"] == 0
    # navigation error at the estimates that fall on a truth sample, by the frames module
    nav = rec.arrays("nav.relative")
    on = np.isin(nav["t_est_ns"], truth["t_ns"]) & nav["valid"]
    pct = []
    for t_est, r_est in zip(nav["t_est_ns"][on], nav["r_CT_rtn"][on]):
        j = np.flatnonzero(truth["t_ns"] == t_est)[0]
        r_true, _ = relative_rtn(truth["r_TN_N"][j], truth["v_TN_N"][j], truth["r_BN_N"][j],
                                 truth["v_BN_N"][j])
        pct.append(100 * np.linalg.norm(r_est - r_true) / np.linalg.norm(r_true))
    median = s["nav_error_pct_of_range"]["close_approach"]["median"]
    assert np.percentile(pct, 25) <= median <= np.percentile(pct, 75)
    assert s["nav_error_pct_of_range"]["all"]["samples"] == int(nav["valid"].sum())


def test_close_range_run_folder_has_its_plots(close_range_run):
    out, s = close_range_run
    assert {"trajectory_rtn.png", "range.png", "nav_error.png", "delta_v.png",
            "frames_detection.png"} <= set(s["plots"])
    for name in s["plots"]:
        assert (out / name).stat().st_size > 10_000


def test_rpo_report_rewrites_the_summary_from_the_recording(close_range_run, capsys):
    out, s = close_range_run
    (out / "summary.json").write_text(json.dumps({k: s[k] for k in ("scenario", "seed",
                                                                    "scenario_source", "wall_s")}))
    assert main(["report", str(out)]) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["min_range_m"] == s["min_range_m"] and again["wall_s"] == s["wall_s"]
    assert "success: False" in capsys.readouterr().out


def test_the_far_range_ratio_is_the_first_phasing_plan_over_its_bound():
    from hil.report.analysis import _far_ratio
    plans = [{"leg": "hold", "dv_mps": 1.0, "dv_lower_bound_mps": None},
             {"leg": "phasing", "dv_mps": 10.5, "dv_lower_bound_mps": 10.0},
             {"leg": "phasing", "dv_mps": 3.0, "dv_lower_bound_mps": 1.0}]
    assert _far_ratio(plans) == pytest.approx(1.05)
    assert _far_ratio(plans[:1]) is None
