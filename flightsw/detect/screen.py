"""Screening of each frame's unexplained sources against the frames before it.

* static: the source coincides on the sky with a source of one of the previous N - 1 frames
  (an uncatalogued star).  It may still extend a candidate but never starts one; and the
  earlier source it coincides with was static too, which its own frame could not know
  (``seen_again``), so candidates built on it are dropped.
* sharp: nearly all its flux in one pixel (a hot pixel or a cosmic-ray hit: the optics cannot
  make it).  Sharp sources neither start nor extend candidates.
* masked: on a known detector defect.  The defect map grows from three kinds of evidence:
  a sharp source recurring at a pixel; a source found at the same pixel on both sides of a
  pointing jump (the boresight landing more than jump_fraction of the field away from where
  its own motion over the two frames before would have taken it: a repointing, which no sky
  object follows, unlike the steady turn of a camera following a target); and a candidate the
  search found fixed in the image and not shaped like the PSF (CandidateSearch.defects).  A pixel is masked once its evidence reaches
  defect_recurrences.

Being fixed in the image is not by itself held against a source: when the camera follows the
target's predicted line of sight, the target stays within a pixel or so for many frames, just
like a defect; only the defect evidence above tells them apart.
"""
from collections import deque
from dataclasses import dataclass

import numpy as np

from flightsw.detect.camera import CameraModel
from flightsw.detect.candidates import CandidateConfig
from flightsw.detect.detections import FrameDetections
from flightsw.detect.neighbours import nearest_within
from flightsw.detect.skyplane import angle_between


@dataclass(frozen=True)
class ScreenResult:
    """Per source: static, sharp, masked (see the module docstring); seen_again:
    {earlier frame_no: indices of its sources found again on the sky in this frame}."""

    static: np.ndarray
    sharp: np.ndarray
    masked: np.ndarray
    seen_again: dict

    @property
    def seedable(self) -> np.ndarray:
        """May start a candidate."""
        return ~(self.static | self.sharp | self.masked)

    @property
    def usable(self) -> np.ndarray:
        """May extend a candidate or the track."""
        return ~(self.sharp | self.masked)


class MotionScreen:
    """Classifies each frame's sources against the previous frames'; keeps the defect map."""

    def __init__(self, camera: CameraModel, config: CandidateConfig):
        self.camera = camera
        self.config = config
        self.history: deque[FrameDetections] = deque(maxlen=config.confirm_window - 1)
        self.defect_evidence: dict[tuple[int, int], int] = {}

    @property
    def defects(self) -> list[tuple[int, int]]:
        """(x, y) of the masked pixels."""
        return sorted(key for key, count in self.defect_evidence.items()
                      if count >= self.config.defect_recurrences)

    def add_defect_evidence(self, x, y, weight: int = 1) -> None:
        """Count evidence at pixel positions; within 1 px of a pixel already holding evidence
        it adds to that one (a defect's centroid wanders by fractions of a pixel)."""
        for px, py in zip(np.atleast_1d(x).tolist(), np.atleast_1d(y).tolist()):
            key = (int(round(px)), int(round(py)))
            if key not in self.defect_evidence and self.defect_evidence:
                known = np.array(list(self.defect_evidence), dtype=float)
                near = nearest_within([px], [py], 1.0, known[:, 0], known[:, 1])[0]
                if near >= 0:
                    key = tuple(int(v) for v in known[near])
            self.defect_evidence[key] = self.defect_evidence.get(key, 0) + weight

    def masked(self, frame: FrameDetections) -> np.ndarray:
        """Sources with a masked pixel within twice their major axis (1 to 3 px): a cluster of
        defects merges into one source whose centroid moves as its members flicker."""
        defects = self.defects
        if not defects or len(frame) == 0:
            return np.zeros(len(frame), bool)
        dx, dy = np.array(defects, dtype=float).T
        reach = np.clip(2.0 * (frame.size_px - frame.minor_px), 1.0, 3.0)
        return nearest_within(frame.x, frame.y, reach, dx, dy) >= 0

    def screen(self, frame: FrameDetections) -> ScreenResult:
        static = np.zeros(len(frame), bool)
        seen_again = {}
        for earlier in self.history:
            if len(earlier) == 0 or len(frame) == 0:
                continue
            # earlier directions seen through this frame's attitude
            ex, ey, front = self.camera.project(earlier.u_N @ frame.C_CN.T)
            gate_px = (self.config.static_gate_sigma * self.camera.f_px
                       * np.hypot(frame.sigma_rad, np.median(earlier.sigma_rad)))
            same = nearest_within(frame.x, frame.y, gate_px, np.where(front, ex, np.inf), ey)
            static |= same >= 0
            seen_again[earlier.frame_no] = np.unique(same[same >= 0])
        sharp = frame.peak_fraction > self.config.sharp_peak_fraction
        self.add_defect_evidence(frame.x[sharp], frame.y[sharp])
        self._learn_from_jump(frame)
        result = ScreenResult(static, sharp, self.masked(frame), seen_again)
        self.history.append(frame)
        return result

    def _learn_from_jump(self, frame: FrameDetections) -> None:
        """Sources at the same pixel (within 0.5 px) before and after a pointing jump."""
        if len(self.history) < 2 or len(frame) == 0 or len(self.history[-1]) == 0:
            return
        before, earlier = self.history[-1], self.history[-2]
        if not before.t_s > earlier.t_s:
            return
        # boresight extrapolated at the rate of the two frames before (small angles)
        rate = (before.C_CN[2] - earlier.C_CN[2]) / (before.t_s - earlier.t_s)
        expected = before.C_CN[2] + rate * (frame.t_s - before.t_s)
        jump = angle_between(expected / np.linalg.norm(expected), frame.C_CN[2])
        if jump < self.config.jump_fraction * np.radians(self.camera.fov_deg):
            return
        same = nearest_within(frame.x, frame.y, 0.5, before.x, before.y) >= 0
        self.add_defect_evidence(frame.x[same], frame.y[same])
