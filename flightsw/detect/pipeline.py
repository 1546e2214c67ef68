"""One frame through detection: extraction, star matching, screening and tracking.

    pipeline = DetectionPipeline(camera, catalog)
    result = pipeline.process(image, t_s, q_BN, P_att_B)

The frame's attitude comes from the stars when at least min_matches are identified; otherwise
from the prior, but only if the prior is good to max_prior_px (a worse one would smear the
sky positions the motion tests rely on), else the frame contributes no detections and the
track coasts.  A confirmed track is continued on a prior good to max_track_prior_px
('prior_track': its covariance is in every bearing's, and no new candidate is seeded from such
a frame): close in, the exposure that keeps the target below saturation (a millisecond or
less at 5 km) leaves too few stars for a fit, and the star tracker's attitude is what there is.  Resolved sources (isophotal RMS axes above resolved_a_psf and resolved_b_psf
PSF sigmas, at least resolved_min_npix pixels) are measured by their figure (figure.measure_figure): their
position becomes the centre of the disc, not the light centroid, which a partly lit body
offsets towards the Sun.  Unresolved sources of SNR >= moment_snr are measured by their light
centroid (moments.light_centroid): a PSF fit of a partly lit body a little larger than the PSF
is biased off both its centre and its centre of light, which is what nav corrects.
"""
from dataclasses import dataclass, replace

import numpy as np

from flightsw.detect.alignment import AlignmentConfig, PriorCalibration
from flightsw.detect.camera import CameraModel
from flightsw.detect.candidates import CandidateConfig
from flightsw.detect.catalog import OnboardCatalog
from flightsw.detect.detections import FrameDetections
from flightsw.detect.extract import FLAG_SATURATED, extract_sources
from flightsw.detect.figure import measure_figure
from flightsw.detect.moments import light_centroid
from flightsw.detect.rotation import quaternion_conjugate, quaternion_multiply
from flightsw.detect.stars import StarMatchConfig, StarSolution, match_stars
from flightsw.detect.track import TargetTracker, TrackConfig, TrackUpdate


@dataclass(frozen=True)
class PipelineConfig:
    """Extraction settings (see extract_sources) and the frame-level decisions above."""

    threshold_sigma: float = 5.0
    min_npix: int = 3
    saturation_dn: float = 15000.0
    mesh_px: int = 64
    max_prior_px: float = 1.0
    max_track_prior_px: float = 10.0
    resolved_a_psf: float = 2.5
    resolved_b_psf: float = 1.5
    resolved_min_npix: int = 25
    resolved_sigma_px: float = 0.5
    moment_snr: float = 1000.0
    moment_radius_a: float = 4.0

    def __post_init__(self):
        if not (self.threshold_sigma > 0 and self.saturation_dn > 0
                and 0 <= self.max_prior_px <= self.max_track_prior_px
                and self.resolved_a_psf > 0 and self.resolved_b_psf > 0 and self.resolved_sigma_px > 0):
            raise ValueError("PipelineConfig: thresholds must be positive")


@dataclass(frozen=True)
class FrameResult:
    """What one frame gave: its sources, the star solution, the attitude used ('stars',
    'prior', 'prior_track' or 'none'), the unexplained detections, the track (or None), and for the tracked
    source whether it is resolved, its apparent radius (rad) and its brightest raw pixel (DN,
    background included; NaN when the track was not measured in this frame), what exposure
    control meters on, and whether that source has saturated pixels (its flux is then a lower
    bound and its centroid weaker than stated)."""

    sources: np.ndarray
    stars: StarSolution
    attitude: str
    detections: FrameDetections
    track: TrackUpdate | None
    resolved: bool
    apparent_radius_rad: float
    target_peak_dn: float = float("nan")
    saturated: bool = False


class DetectionPipeline:
    """Stateful per-frame detection (the tracker keeps the frame history).  rng draws the
    figure fit's RANSAC triples (default: a generator seeded 0; the app passes its own)."""

    def __init__(self, camera: CameraModel, catalog: OnboardCatalog,
                 star_config: StarMatchConfig = StarMatchConfig(),
                 candidate_config: CandidateConfig = CandidateConfig(),
                 track_config: TrackConfig = TrackConfig(),
                 config: PipelineConfig = PipelineConfig(),
                 rng: np.random.Generator | None = None,
                 alignment_config: AlignmentConfig = AlignmentConfig()):
        self.camera = camera
        self.catalog = catalog
        self.star_config = star_config
        self.config = config
        self.tracker = TargetTracker(camera, candidate_config, track_config)
        self.calibration = PriorCalibration(alignment_config)
        self.rng = np.random.default_rng(0) if rng is None else rng
        self.frame_no = 0

    def process(self, image: np.ndarray, t_s: float, q_BN, P_att_B, v_observer_N=None,
                gain_e_per_dn=None, exposure_s: float = 1.0) -> FrameResult:
        """Detect in one frame at mid-exposure time t_s with the prior attitude (q_BN, P_att_B),
        which the calibration against earlier star fits corrects (flightsw.detect.alignment);
        v_observer_N: the camera's velocity (m/s, ECI) for stellar aberration (see match_stars);
        gain_e_per_dn: the detector's gain, for the sources' own shot noise in their centroid
        noise (sources.point_source_sigma_px; None: background-limited); exposure_s: the
        frame's integration time (fluxes are compared between frames per second of it).

        Raises ValueError for a frame extraction refuses (see extract_sources), one whose
        shape is not the camera's, or an exposure that is not positive.
        """
        if not (np.isfinite(exposure_s) and exposure_s > 0.0):
            raise ValueError(f"exposure {exposure_s!r} s is not positive and finite")
        if getattr(image, "shape", None) != (self.camera.n_rows, self.camera.n_cols):
            raise ValueError(f"frame shape {getattr(image, 'shape', None)} is not the camera's "
                             f"{self.camera.n_rows}x{self.camera.n_cols}")
        cfg = self.config
        sources = extract_sources(image, cfg.threshold_sigma, psf_sigma_px=self.star_config.psf_sigma_px,
                                  min_npix=cfg.min_npix, saturation_dn=cfg.saturation_dn,
                                  mesh_px=cfg.mesh_px)
        q_prior, P_prior = self.calibration.correct(q_BN, P_att_B)
        stars = match_stars(sources, self.catalog, self.camera, q_prior, P_prior, self.star_config,
                            v_observer_N, gain_e_per_dn)
        if stars.valid:
            C_CB = self.camera.C_CB
            self.calibration.update(t_s, q_BN, P_att_B,
                                    quaternion_multiply(stars.q_CN, quaternion_conjugate(self.camera.q_CB)),
                                    C_CB.T @ stars.P_theta_C @ C_CB)
        unexplained = sources[~stars.matched]
        resolved = self._resolved(unexplained)
        unexplained, radius_px = self._figures(image, unexplained, resolved)
        unexplained = self._light_centroids(image, unexplained, resolved)
        attitude = self._attitude_source(stars)
        if attitude == "none":
            unexplained, resolved, radius_px = unexplained[:0], resolved[:0], radius_px[:0]
        detections = FrameDetections.from_sources(
            self.frame_no, t_s, unexplained, self.camera, stars.C_CN, stars.P_theta_C,
            self.star_config.psf_sigma_px, self.star_config.centroid_floor_px,
            sources[stars.source_index], gain_e_per_dn, exposure_s)
        if resolved.any():
            detections = self._with_figure_noise(detections, resolved)
        track = self.tracker.step(detections, stars.P_theta_C, seed=attitude != "prior_track")
        self.frame_no += 1
        is_resolved = bool(track is not None and track.source >= 0 and resolved[track.source])
        radius_rad = radius_px[track.source] / self.camera.f_px if is_resolved else 0.0
        peak, saturated = float("nan"), False
        if track is not None and track.source >= 0:
            peak = self._raw_peak(image, unexplained[track.source])
            saturated = bool(unexplained["flags"][track.source] & FLAG_SATURATED)
        return FrameResult(sources, stars, attitude, detections, track, is_resolved, float(radius_rad),
                           peak, saturated)

    @staticmethod
    def _raw_peak(image: np.ndarray, source) -> float:
        """The brightest raw pixel within 3 isophotal RMS radii (at least 3 px) of a source."""
        half = int(np.ceil(3.0 * max(float(source["a"]), 1.0)))
        x, y = int(round(float(source["x"]))), int(round(float(source["y"])))
        box = image[max(y - half, 0):y + half + 1, max(x - half, 0):x + half + 1]
        return float(box.max()) if box.size else float("nan")

    def _attitude_source(self, stars: StarSolution) -> str:
        if stars.valid:
            return "stars"
        cross_sigma_px = np.sqrt(max(stars.P_theta_C[0, 0], stars.P_theta_C[1, 1])) * self.camera.f_px
        if cross_sigma_px <= self.config.max_prior_px:
            return "prior"
        if self.tracker.tracking and cross_sigma_px <= self.config.max_track_prior_px:
            return "prior_track"
        return "none"

    def _resolved(self, sources: np.ndarray) -> np.ndarray:
        psf = self.star_config.psf_sigma_px
        return ((sources["a"] > self.config.resolved_a_psf * psf)
                & (sources["b"] > self.config.resolved_b_psf * psf)
                & (sources["npix"] >= self.config.resolved_min_npix))

    def _figures(self, image: np.ndarray, sources: np.ndarray, resolved: np.ndarray):
        """Sources with the resolved ones moved to the centre of their figure, and the
        figures' radii (px, 0 where not resolved)."""
        radius_px = np.zeros(len(sources))
        if not resolved.any():
            return sources, radius_px
        sources = sources.copy()
        for k in np.flatnonzero(resolved):
            figure = measure_figure(image, sources["x"][k], sources["y"][k],
                                    2.0 * float(sources["a"][k]), self.rng)
            sources["x"][k], sources["y"][k] = figure.x_px, figure.y_px
            radius_px[k] = figure.radius_px
        return sources, radius_px

    def _light_centroids(self, image: np.ndarray, sources: np.ndarray, resolved: np.ndarray):
        """Sources with the bright unresolved ones moved to their light centroid."""
        cfg = self.config
        bright = (~resolved) & (sources["snr"] >= cfg.moment_snr)
        if not bright.any():
            return sources
        sources = sources.copy()
        for k in np.flatnonzero(bright):
            radius = max(4.0, cfg.moment_radius_a * float(sources["a"][k]))
            moment = light_centroid(image, float(sources["x"][k]), float(sources["y"][k]), radius)
            if moment is not None:
                sources["x"][k], sources["y"][k] = moment[0], moment[1]
        return sources

    def _with_figure_noise(self, detections: FrameDetections, resolved: np.ndarray) -> FrameDetections:
        """A figure centre is good to resolved_sigma_px at best (limb fit, terminator, PSF)."""
        sigma_px = detections.sigma_px.copy()
        sigma_px[resolved] = np.maximum(sigma_px[resolved], self.config.resolved_sigma_px)
        extra_rad2 = (sigma_px**2 - detections.sigma_px**2) / self.camera.f_px**2
        return replace(detections, sigma_px=sigma_px, sigma_rad=np.sqrt(detections.sigma_rad**2 + extra_rad2))
