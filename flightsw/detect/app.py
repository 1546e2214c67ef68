"""The detect app: camera frames in, the target's line of sight and detection health out."""
from __future__ import annotations

import hashlib

from collections import deque

import numpy as np

from flightsw.detect.alignment import AlignmentConfig
from flightsw.detect.camera import CameraModel
from flightsw.detect.candidates import CandidateConfig
from flightsw.detect.catalog import load_onboard_catalog
from flightsw.detect.exposure import ExposureConfig, ExposureControl
from flightsw.detect.pipeline import DetectionPipeline, FrameResult, PipelineConfig
from flightsw.detect.propagate import orbit_problem
from flightsw.detect.rotation import (attitude_error, propagate_attitude, quaternion_multiply,
                                      rotation_quaternion, unit_quaternion)
from flightsw.detect.search import CueState, SearchConfig, SearchPlan, SearchProgress, plan_search
from flightsw.detect.stars import StarMatchConfig
from flightsw.detect.track import TrackConfig
from flightsw.msg import (off_unit, AttitudeEstimate, CameraFrame, DetectHealth, ExposureCommand, GnssFix, TargetCue,
                          TargetTrack)
from flightsw.runtime.app import NS_PER_S, App, Param

FRAME_DTYPES = (np.dtype("<u2"), np.dtype("float32"))


class DetectApp(App):
    """Finds the target among the stars in every camera frame and tracks it.

    Each frame: extraction, star identification and attitude refinement against the onboard
    Hipparcos catalogue (prior: the attitude estimate nearest mid-exposure, propagated with
    its rate), screening of the unexplained sources, M-of-N confirmation of a source moving
    at a constant rate against the stars, then frame-to-frame tracking.  Publishes a
    TargetTrack per frame while a track is confirmed or coasting, and DetectHealth every step.
    A bad frame (wrong type, dtype or shape, NaN, saturated everywhere, no attitude) is
    refused with its reason in DetectHealth and never stops the app.  The GNSS velocity
    corrects the predicted stars for aberration by the orbital motion (the Earth's own
    velocity, annual aberration up to 20 arcsec, is not applied: the plant does not render
    it).  With a cue and a GNSS fix it also keeps the search's progress (``search_coverage``)
    and plans pointings (``search_plan``) for the attitude controller; no message carries
    them yet.  Published states are 'confirmed' (measured in this frame) and 'coasting'
    (predicted: not a measurement); tentative candidates are not published.  With
    auto_exposure it meters on the tracked target and commands the camera's exposure so that
    the target's core stays below saturation (flightsw.detect.exposure).

    The frame's attitude prior.  Nav publishes its attitude at instants behind the step (its
    horizon), and the body is never still: the attitude loop's torque jitter makes the rate
    wander by tens of arcsec/s within seconds, so carrying an estimate 2 s forward on its rate
    misses the mid-exposure attitude by ~30 arcsec while its covariance says a few (the
    star tracker's, about its own boresight ~18).  A frame is therefore held until an estimate
    at or after its mid-exposure has arrived, for at most attitude_wait_s, and its prior is
    interpolated between the estimates either side on a cubic Hermite curve through both
    attitudes with both rates as its slopes (exact for a constant angular acceleration; see
    interpolate_attitude), with their covariances blended.  A frame
    that waited its time out is processed on the nearest estimate within max_attitude_age_s,
    carried on its rate (counted as extrapolated).  The track of a held frame is published
    when it is processed, stamped with its mid-exposure time; nav's measurement_lag_s must
    cover the wait.
    """

    SUBSCRIBES = (CameraFrame, AttitudeEstimate, TargetCue, GnssFix)
    PUBLISHES = (TargetTrack, DetectHealth, ExposureCommand)
    RATE_HZ = 1.0
    MAX_HELD = 16                       # frames waiting for their attitude, at most
    PARAMS = {
        "n_cols": Param(1024, "px", "detector columns", lo=32, hi=4096),
        "n_rows": Param(1024, "px", "detector rows", lo=32, hi=4096),
        "fov_deg": Param(10.0, "deg", "full field of view across the columns", lo=0.1, hi=90.0),
        "q_CB": Param("1,0,0,0", "1", "camera attitude in the body q_CB, scalar first, comma-separated"),
        "psf_sigma_px": Param(0.8, "px", "Gaussian PSF sigma", lo=0.3, hi=8.0),
        "threshold_sigma": Param(5.0, "sigma", "detection threshold", lo=2.0, hi=100.0),
        "saturation_dn": Param(15000.0, "DN", "level from which a pixel is saturated: the detector's full "
                               "well in DN (full well / gain + bias) less a margin, or the ADC's top if lower",
                               lo=1.0, hi=65535.0),
        "auto_exposure": Param(True, "", "meter on the tracked target and command the exposure"),
        "nominal_exposure_s": Param(0.1, "s", "the exposure for search and far range (and the longest "
                                    "exposure control commands)", lo=1e-4, hi=10.0),
        "min_exposure_s": Param(1e-5, "s", "the shortest exposure exposure control commands",
                                lo=1e-6, hi=10.0),
        "catalog_limit_v_mag": Param(8.5, "mag", "faintest catalogue star carried", lo=2.0, hi=12.0),
        "catalog_epoch_jyear": Param(2026.0, "Julian year", "epoch of the star positions", lo=1990.0, hi=2100.0),
        "max_attitude_age_s": Param(2.0, "s", "largest gap between an attitude estimate and mid-exposure",
                                    lo=0.0, hi=60.0),
        "attitude_wait_s": Param(4.0, "s", "longest a frame is held for an attitude estimate at or after "
                                 "its mid-exposure (0: process on arrival)", lo=0.0, hi=60.0),
        "confirm_hits": Param(4, "frames", "M: hits needed within the window to confirm", lo=2, hi=32),
        "confirm_window": Param(5, "frames", "N: confirmation window", lo=2, hi=32),
        "max_misses": Param(5, "frames", "frames coasted before the track is lost", lo=0, hi=1000),
        "max_pixel_rate_px_s": Param(5.0, "px/s", "largest image motion of a new target", lo=0.01, hi=1e4),
        "max_sky_rate_deg_s": Param(0.2, "deg/s", "largest sky rate of a new target", lo=1e-4, hi=10.0),
        "prior_alignment_sigma_arcsec": Param(10.0, "arcsec", "1-sigma per axis of the attitude prior's "
                                              "unmodelled offset (star tracker mount) before the star fits "
                                              "calibrate it", lo=0.01, hi=3600.0),
        "prior_alignment_drift_arcsec_per_sqrt_s": Param(0.05, "arcsec/sqrt(s)", "random walk of that offset",
                                                         lo=0.0, hi=100.0),
        "search_samples": Param(2000, "count", "Monte Carlo samples of the cue", lo=100, hi=100000),
        "max_cue_span_s": Param(259200.0, "s", "a cue whose epoch is further than this from the "
                                "step time is refused (the search propagates it from its epoch)",
                                lo=1.0, hi=3.2e7),
    }

    def reset(self) -> None:
        try:
            q_CB = [float(v) for v in self.p.q_CB.split(",")]
        except ValueError:
            raise ValueError(f"{self.name}: q_CB must be four comma-separated numbers, "
                             f"got {self.p.q_CB!r}") from None
        self.camera = CameraModel(int(self.p.n_cols), int(self.p.n_rows), self.p.fov_deg, tuple(q_CB))
        if self.p.confirm_hits > self.p.confirm_window:
            raise ValueError(f"{self.name}: confirm_hits must not exceed confirm_window")
        self.pipeline = DetectionPipeline(
            self.camera, load_onboard_catalog(self.p.catalog_limit_v_mag, self.p.catalog_epoch_jyear),
            StarMatchConfig(psf_sigma_px=self.p.psf_sigma_px),
            CandidateConfig(confirm_hits=int(self.p.confirm_hits), confirm_window=int(self.p.confirm_window),
                            max_pixel_rate_px_s=self.p.max_pixel_rate_px_s,
                            max_sky_rate_deg_s=self.p.max_sky_rate_deg_s),
            TrackConfig(max_misses=int(self.p.max_misses)),
            PipelineConfig(threshold_sigma=self.p.threshold_sigma, saturation_dn=self.p.saturation_dn),
            self.rng,
            AlignmentConfig(initial_sigma_arcsec=self.p.prior_alignment_sigma_arcsec,
                            drift_arcsec_per_sqrt_s=self.p.prior_alignment_drift_arcsec_per_sqrt_s))
        self.search_config = SearchConfig(n_samples=int(self.p.search_samples))
        self.exposure = ExposureControl(ExposureConfig(
            nominal_s=self.p.nominal_exposure_s, min_s=self.p.min_exposure_s,
            saturation_dn=self.p.saturation_dn))
        self.last_exposure_s = 0.0
        self.attitudes: deque[AttitudeEstimate] = deque(maxlen=64)
        self.held: deque[CameraFrame] = deque()
        self.extrapolated = 0
        self.cue: CueState | None = None
        self.chaser: tuple[float, np.ndarray] | None = None
        self.search: SearchProgress | None = None
        self.frames = 0
        self.frames_rejected = 0
        self.rejected = 0           # inputs refused: frames, and estimates, fixes and cues
        self.frozen = 0
        self.last_digest: bytes | None = None
        self.last_rejection = ""
        self.last: FrameResult | None = None

    # -- inputs --------------------------------------------------------------------------------
    def step(self, t_ns: int, inbox) -> list:
        for cls, take in ((AttitudeEstimate, self._take_attitude), (GnssFix, self._take_fix),
                          (TargetCue, self._take_cue)):
            for _, msg in inbox.all(cls):
                why = self.refusing(take, msg, t_ns)
                if why:
                    self.last_rejection = f"{cls.__name__} refused: {why}"[:200]
        out = []
        exposure = None
        for _, frame in inbox.all(CameraFrame):
            if self._frame_problem(frame.image):
                self._frame(frame)                        # refused now: no attitude will mend it
            else:
                self.held.append(frame)
        while self.held and self._ready(self.held[0], t_ns):
            frame = self.held.popleft()
            processed = self.frames
            track = self._frame(frame)
            if track is not None:
                out.append(track)
            if self.p.auto_exposure and self.frames > processed:
                exposure = self._meter(frame) or exposure
        if exposure is not None:
            out.append(ExposureCommand(exposure_s=float(exposure)))
        out.append(self._health())
        return out

    # Each input is checked here (ValueError: refused and counted) beyond what the decoder
    # can: a unit quaternion, a covariance, a time not in the future, a state that is an orbit
    # (bound, its perigee above the ground), a cue of an epoch within max_cue_span_s of now
    # (the search propagates the chaser and the cue from their times: a far one would take
    # the propagator as long).
    def _take_attitude(self, estimate: AttitudeEstimate, t_ns: int) -> None:
        if not estimate.valid:
            return
        if off_unit(estimate.q_BN):
            raise ValueError("q_BN is not a unit quaternion")
        P = estimate.P_att
        if (not np.allclose(P, P.T, rtol=1e-9, atol=1e-12)
                or np.linalg.eigvalsh(P)[0] < -1e-9 * np.abs(P).max()):
            raise ValueError("P_att is not a covariance")
        if estimate.t_est_ns > t_ns + NS_PER_S:
            raise ValueError("estimate from the future")
        self.attitudes.append(estimate)

    def _take_fix(self, fix: GnssFix, t_ns: int) -> None:
        if not fix.valid:
            return
        if fix.t_meas_ns > t_ns + NS_PER_S:
            raise ValueError("fix from the future")
        problem = orbit_problem(fix.r_BN_N, fix.v_BN_N)
        if problem:
            raise ValueError(f"fix: {problem}")
        self.chaser = (fix.t_meas_ns / NS_PER_S, np.concatenate([fix.r_BN_N, fix.v_BN_N]))

    def _take_cue(self, cue: TargetCue, t_ns: int) -> None:
        """A new cue restarts the search's progress; the same cue again changes nothing."""
        new = CueState(cue.epoch_ns / NS_PER_S, np.asarray(cue.r_TN_N, float),
                       np.asarray(cue.v_TN_N, float), np.asarray(cue.P_rv, float))
        new.check_epoch(t_ns / NS_PER_S, self.p.max_cue_span_s)
        old = self.cue
        if old is None or not (old.epoch_s == new.epoch_s and np.array_equal(old.state, new.state)
                               and np.array_equal(old.P_rv, new.P_rv)):
            self.cue, self.search = new, None

    # -- one frame -------------------------------------------------------------------------------
    @staticmethod
    def _mid_exposure_ns(frame: CameraFrame) -> int:
        return int(frame.t_exposure_start_ns + round(0.5 * frame.exposure_s * NS_PER_S))

    def _ready(self, frame: CameraFrame, t_ns: int) -> bool:
        """Whether a held frame is processed now: an estimate at or after its mid-exposure is
        here, it has waited attitude_wait_s, or more than MAX_HELD frames are waiting."""
        t_mid_ns = self._mid_exposure_ns(frame)
        if (self.p.attitude_wait_s <= 0.0 or len(self.held) > self.MAX_HELD
                or t_ns - t_mid_ns >= self.p.attitude_wait_s * NS_PER_S):
            return True
        return any(a.t_est_ns >= t_mid_ns for a in self.attitudes)

    def _frame(self, frame: CameraFrame) -> TargetTrack | None:
        t_mid_ns = self._mid_exposure_ns(frame)
        reason = self._frame_problem(frame.image) or self._repeat(frame)
        prior = None if reason else self._attitude_at(t_mid_ns)
        if not reason and prior is None:
            reason = f"no valid attitude estimate within {self.p.max_attitude_age_s:g} s of mid-exposure"
        if not reason:
            try:
                result = self.pipeline.process(frame.image, t_mid_ns / NS_PER_S, *prior,
                                               self.chaser[1][3:] if self.chaser else None,
                                               frame.gain_e_per_dn, frame.exposure_s)
            except (ValueError, np.linalg.LinAlgError) as exc:
                reason = f"frame {frame.frame_id}: {exc}"
        if reason:
            self.rejected += 1
            self.frames_rejected += 1
            self.last_rejection = reason[:200]
            return None
        self.frames += 1
        self.last = result
        self.last_exposure_s = float(frame.exposure_s)
        self._observe_search(t_mid_ns / NS_PER_S, result)
        return self._track_message(t_mid_ns, result, frame.exposure_s)

    def _meter(self, frame: CameraFrame) -> float | None:
        """The exposure to command after this processed frame (None: keep it); one without a
        measured target counts towards the release to nominal."""
        peak = self.last.target_peak_dn
        measured = self.last.track is not None and self.last.track.state == "confirmed" and np.isfinite(peak)
        return self.exposure.update(float(frame.exposure_s), peak if measured else None)

    def _repeat(self, frame: CameraFrame) -> str:
        """'' or why the frame is refused as a copy of the previous one: the shot noise of a
        live sensor never gives the same image twice, a hung one re-sends its last."""
        digest = hashlib.blake2b(np.ascontiguousarray(frame.image).data, digest_size=16).digest()
        repeat = digest == self.last_digest
        self.last_digest = digest
        if not repeat:
            return ""
        self.frozen += 1
        return f"frame {frame.frame_id} repeats the previous image (camera frozen?)"

    def _frame_problem(self, image) -> str:
        """Why a frame cannot be used, or '' (the pipeline checks the rest)."""
        if not isinstance(image, np.ndarray):
            return f"image is a {type(image).__name__}, not an array"
        if image.dtype not in FRAME_DTYPES:
            return f"image dtype {image.dtype} is not uint16 or float32"
        if image.shape != (self.camera.n_rows, self.camera.n_cols):
            return f"image shape {image.shape} is not the camera's ({self.camera.n_rows}, {self.camera.n_cols})"
        if image.dtype.kind == "f" and not np.isfinite(image).all():
            return "image holds NaN or infinite pixels"
        return ""

    def _attitude_at(self, t_ns: int):
        """(q_BN, P_att) at t_ns: interpolated between the estimates either side, each within
        max_attitude_age_s; else carried from the nearest within it; else None."""
        if not self.attitudes:
            return None
        max_age_ns = self.p.max_attitude_age_s * NS_PER_S
        before = [a for a in self.attitudes if t_ns - max_age_ns <= a.t_est_ns <= t_ns]
        after = [a for a in self.attitudes if t_ns <= a.t_est_ns <= t_ns + max_age_ns]
        if before and after:
            return interpolate_attitude(max(before, key=lambda a: a.t_est_ns),
                                        min(after, key=lambda a: a.t_est_ns), t_ns)
        nearest = min(before + after, key=lambda a: abs(a.t_est_ns - t_ns), default=None)
        if nearest is None:
            return None
        self.extrapolated += 1
        return carried(nearest, t_ns), np.asarray(nearest.P_att, float)

    def _track_message(self, t_mid_ns: int, result: FrameResult, exposure_s: float) -> TargetTrack | None:
        track = result.track
        if track is None:
            return None
        P_u = 0.5 * (track.P_u + track.P_u.T)
        return TargetTrack(
            t_meas_ns=t_mid_ns, track_id=track.track_id, u_N=np.asarray(track.u_N, float),
            P_u=P_u, x_px=float(np.clip(track.x_px, -1e4, 1e4)), y_px=float(np.clip(track.y_px, -1e4, 1e4)),
            flux_dn=max(track.flux * exposure_s, 0.0), snr=max(track.snr, 0.0), resolved=result.resolved,
            apparent_radius_rad=result.apparent_radius_rad, frames_tracked=track.frames_tracked,
            state=track.state, saturated=result.saturated)

    def _health(self) -> DetectHealth:
        last = self.last
        return DetectHealth(
            frames=self.frames, frames_rejected=self.frames_rejected, last_rejection=self.last_rejection,
            sources=len(last.sources) if last else 0,
            star_matches=len(last.stars.source_index) if last else 0,
            unmatched=int(len(last.sources) - len(last.stars.source_index)) if last else 0,
            attitude_residual_rad=float(last.stars.residual_rad) if last else float("nan"),
            exposure_s=self.last_exposure_s,
            target_peak_dn=float(np.nan_to_num(last.target_peak_dn, nan=0.0)) if last else 0.0,
            exposure_commands=self.exposure.commands,
            prior_offset_B_rad=np.clip(self.pipeline.calibration.b, -0.1, 0.1),
            prior_offset_sigma_rad=self.pipeline.calibration.sigma_rad,
            prior_fits_refused=self.pipeline.calibration.refused,
            frames_frozen=self.frozen,
            frames_attitude_extrapolated=self.extrapolated)

    # -- search -----------------------------------------------------------------------------------
    @property
    def search_coverage(self) -> float:
        """Probability of the cue (nominal stage) the frames have covered so far; 0 without one."""
        return self.search.coverage if self.search is not None else 0.0

    def search_plan(self, t_s: float, stage: int = 0) -> SearchPlan:
        """Pointings covering the cue at t_s (see search.plan_search); needs a cue and a GNSS fix."""
        if self.cue is None or self.chaser is None:
            raise ValueError("a search plan needs a target cue and a valid GNSS fix")
        return plan_search(self.cue, self.chaser[1], self.chaser[0], t_s, self.camera, self.rng,
                           self.search_config, stage)

    def _observe_search(self, t_s: float, result: FrameResult) -> None:
        if self.cue is None or self.chaser is None or result.attitude == "none":
            return
        if self.search is None:
            self.search = SearchProgress(self.cue, self.chaser[1], self.chaser[0], self.camera,
                                         self.rng, self.search_config)
        self.search.observe(t_s, result.stars.C_CN)


def carried(estimate: AttitudeEstimate, t_ns: int) -> np.ndarray:
    """The estimate's attitude carried to t_ns on its own rate."""
    return propagate_attitude(np.asarray(estimate.q_BN, float), np.asarray(estimate.omega_BN_B, float),
                              (t_ns - estimate.t_est_ns) / NS_PER_S)


def interpolate_attitude(early: AttitudeEstimate, late: AttitudeEstimate, t_ns: int):
    """(q_BN, P_att) at t_ns between two estimates (early.t_est_ns <= t_ns <= late.t_est_ns).

    A cubic Hermite curve in the rotation vector from the early attitude, through the late one
    (theta = attitude_error(q_late, q_early)) with both estimates' rates as its end slopes:
    delta(s) = h10(s) T omega_e + h01(s) theta + h11(s) T omega_l, s the fraction of the gap
    T, and q = q_early (x) q(delta).  Exact for a constant angular acceleration up to the
    non-commutation of rotations (~|theta|^2 / 2, an arcsec for 0.2 deg between estimates),
    where carrying the nearer estimate on its rate misses by alpha tau^2 / 2 and blending the
    two carried ones by alpha tau_e tau_l / 2.  Covariances blend linearly in s (the two
    estimates' errors are nearly the same error, a filter's a second or two apart)."""
    gap = late.t_est_ns - early.t_est_ns
    if gap <= 0:
        return carried(early, t_ns), np.asarray(early.P_att, float)
    T, s = gap / NS_PER_S, (t_ns - early.t_est_ns) / gap
    q_early = np.asarray(early.q_BN, float)
    theta = attitude_error(np.asarray(late.q_BN, float), q_early)       # q_late = q_early (x) q(theta)
    h10, h01, h11 = s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
    delta = (h10 * T * np.asarray(early.omega_BN_B, float) + h01 * theta
             + h11 * T * np.asarray(late.omega_BN_B, float))
    q = unit_quaternion(quaternion_multiply(q_early, rotation_quaternion(delta)))
    P = (1.0 - s) * np.asarray(early.P_att, float) + s * np.asarray(late.P_att, float)
    return q, P
