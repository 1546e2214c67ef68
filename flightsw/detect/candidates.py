"""Finding a moving object among the sources no catalogue star explains, over several frames.

What the unexplained sources can be, and what tells them apart (unit directions u_N from the
refined attitude of each frame, pixel positions from the frame):

=====================  ==============================  ==========================================
source                 on the sky (inertial)           in the frame (pixels)
=====================  ==============================  ==========================================
uncatalogued star      fixed                           moves when the camera turns
hot pixel              moves when the camera turns     fixed
cosmic ray, noise      once                            once
the target             constant rate (great circle)    moves unless the camera follows it exactly
=====================  ==============================  ==========================================

1. Screening (screen.MotionScreen) marks static sources (stars), sharp ones (hot pixels,
   cosmic rays) and known detector defects.
2. Candidates (CandidateSearch): pairs of screened sources from frames at most N + 1 - M apart
   whose motion is plausible (sky rate <= max_sky_rate, image motion <= max_pixel_rate, flux
   ratio bounded) start a candidate; each frame, every candidate is predicted with a
   constant-rate fit in the azimuthal equidistant plane (skyplane) and takes the nearest usable
   source in its gate.  A candidate dies when it can no longer reach M hits in N frames, when
   its constant-rate fit fails a chi-square test, or when its flux is inconsistent.
3. Confirmation: M hits within the last N frames, a constant-rate fit that passes, and motion
   on the sky significant against the stars (the no-motion fit rejected at min_motion_chi2,
   chi-square with 2 degrees of freedom).  A candidate that is also fixed in the image (no
   significant image motion) must in addition look like the PSF: median a + b of its sources
   at least fixed_min_size_px, median b at least fixed_min_minor_px, and b at least
   fixed_psf_fraction of the minor axis the same frame's stars of similar SNR measure (the
   moments grow with SNR: for a sigma 0.8 px PSF, b = 0.47 px at SNR 5-10, 0.8 px above 40;
   one or two hot pixels give a + b = 0.3-0.8 px, a cluster of three b ~ 0.4 px, two merged a
   few pixels apart b ~ 0.1 px); if it does not, it is a defect (``defects``).  With
   require_image_motion every confirmed candidate must move in the image (a staring camera).

Frames must come often enough that the sky under the camera moves less than about half the
field between frames, or uncatalogued stars are seen once and cannot be recognised as fixed.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.detect.camera import CameraModel
from flightsw.detect.detections import FrameDetections
from flightsw.detect.neighbours import nearest_within, pairs_within
from flightsw.detect.skyplane import angle_between, from_plane, tangent_basis, to_plane


@dataclass(frozen=True)
class CandidateConfig:
    """Tuning of target detection. Rates in deg/s and px/s, gates in sigmas."""

    confirm_hits: int = 4              # M
    confirm_window: int = 5            # N
    max_sky_rate_deg_s: float = 0.2    # about three times the orbital rate in LEO
    max_pixel_rate_px_s: float = 5.0   # image motion of the target when the camera follows the cue
    gate_sigma: float = 4.0
    static_gate_sigma: float = 4.0
    min_motion_chi2: float = 36.0      # no-motion fit rejected at 6 sigma
    fit_chi2_quantile_sigma: float = 3.09  # 99.9 %
    max_flux_ratio: float = 3.0
    sharp_peak_fraction: float = 0.6
    defect_recurrences: int = 2
    jump_fraction: float = 0.25        # repointing (fraction of the field) that reveals defects
    fixed_min_size_px: float = 1.0
    fixed_min_minor_px: float = 0.35
    fixed_psf_fraction: float = 0.8
    require_image_motion: bool = False
    max_candidates: int = 20000

    def __post_init__(self):
        if not 2 <= self.confirm_hits <= self.confirm_window:
            raise ValueError("CandidateConfig needs 2 <= confirm_hits <= confirm_window")
        if self.confirm_window > 32:
            raise ValueError("CandidateConfig.confirm_window must be at most 32")
        for name in ("max_sky_rate_deg_s", "max_pixel_rate_px_s", "gate_sigma", "static_gate_sigma",
                     "min_motion_chi2", "fit_chi2_quantile_sigma", "max_candidates",
                     "defect_recurrences", "jump_fraction", "fixed_min_size_px",
                     "fixed_min_minor_px", "fixed_psf_fraction"):
            if not getattr(self, name) > 0:
                raise ValueError(f"CandidateConfig.{name} must be positive")
        if not self.max_flux_ratio > 1:
            raise ValueError("CandidateConfig.max_flux_ratio must exceed 1")
        if not 0 < self.sharp_peak_fraction <= 1:
            raise ValueError("CandidateConfig.sharp_peak_fraction must lie in (0, 1]")


def chi2_quantile(dof, z_sigma: float) -> np.ndarray:
    """Chi-square quantile at the normal deviate z_sigma, Wilson & Hilferty 1931 (PNAS 17, 684):
    k (1 - 2/(9k) + z sqrt(2/(9k)))^3; at z = 3.09 it is high by 2.3 % for k = 2, 1.4 % for k = 4, under 1 % for k >= 6."""
    k = np.maximum(np.asarray(dof, dtype=float), 1.0)
    return k * (1.0 - 2.0 / (9.0 * k) + z_sigma * np.sqrt(2.0 / (9.0 * k))) ** 3


@dataclass(frozen=True)
class LineFit:
    """Constant-rate fits of many candidates in their own azimuthal equidistant planes.

    ref, e1, e2: (n, 3) plane origin (latest hit) and basis; t0: weighted mean hit time, s;
    p0: (n, 2) position at t0, rad; v: (n, 2) rate, rad/s; s0, s2: sum of weights and of
    weighted squared time offsets (var(p0) = 1/s0, var(v) = 1/s2 per axis); chi2: residual
    chi-square; hits: number of hits; motion_chi2: chi-square by which the fit beats no motion.
    """

    ref: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    t0: np.ndarray
    p0: np.ndarray
    v: np.ndarray
    s0: np.ndarray
    s2: np.ndarray
    chi2: np.ndarray
    hits: np.ndarray
    motion_chi2: np.ndarray

    def predict(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Directions (n, 3) at t_s and the 1-sigma position uncertainty per axis (rad)."""
        dt = t_s - self.t0
        p = self.p0 + self.v * dt[:, None]
        return (from_plane(p, self.ref, self.e1, self.e2),
                np.sqrt(1.0 / self.s0 + dt * dt / self.s2))


def fit_lines(t, p, sigma, mask):
    """Weighted least-squares p(t) = p0 + v (t - t0) per row; t (n, m), p (n, m, 2), sigma (n, m).

    Centring on the weighted mean time t0 decouples p0 and v (Bevington & Robinson, Data
    Reduction and Error Analysis, 3rd ed., section 6.3).  Returns t0, p0, v, s0, s2, chi2,
    motion_chi2 = s2 |v|^2.
    """
    w = np.where(mask, 1.0 / np.where(mask, sigma, 1.0) ** 2, 0.0)
    t = np.where(mask, t, 0.0)
    p = np.where(mask[:, :, None], p, 0.0)
    s0 = w.sum(axis=1)
    t0 = (w * t).sum(axis=1) / s0
    dt = np.where(mask, t - t0[:, None], 0.0)
    s2 = (w * dt * dt).sum(axis=1)
    p0 = (w[:, :, None] * p).sum(axis=1) / s0[:, None]
    v = (w[:, :, None] * dt[:, :, None] * p).sum(axis=1) / np.maximum(s2, 1e-300)[:, None]
    residual = p - p0[:, None, :] - v[:, None, :] * dt[:, :, None]
    chi2 = (w * np.sum(residual**2, axis=2)).sum(axis=1)
    return t0, p0, v, s0, s2, chi2, s2 * np.sum(v * v, axis=1)



class CandidateSearch:
    """Tentative tracks over a window of the last N frames; see the module docstring.

    Candidates are rows of ``hits`` (n, N): the index of the source taken in each window slot
    (slot = frame_no mod N), -1 where none.  ``defects`` collects the pixel positions of
    candidates found fixed in the image and not shaped like the PSF, for the defect map.
    """

    def __init__(self, camera: CameraModel, config: CandidateConfig):
        self.camera = camera
        self.config = config
        self.frames: dict[int, FrameDetections] = {}
        self.seedable: dict[int, np.ndarray] = {}
        self.hits = np.full((0, config.confirm_window), -1, np.int64)
        self.frame_no = -1
        self.defects: list[tuple[float, float]] = []

    @property
    def count(self) -> int:
        return len(self.hits)

    def frame_of_slot(self, slot: int) -> int:
        """Number of the frame a window slot holds now."""
        n = self.config.confirm_window
        return self.frame_no - (self.frame_no - slot) % n

    def gather(self, hits: np.ndarray, field: str) -> np.ndarray:
        """Per hit (n, N, ...) the value of a FrameDetections array field, NaN where no hit."""
        n, slots = hits.shape
        columns = {}
        for slot in range(slots):
            frame = self.frames.get(self.frame_of_slot(slot))
            if frame is not None:
                columns[slot] = (frame, np.flatnonzero(hits[:, slot] >= 0))
        trailing = next((getattr(f, field).shape[1:] for f, _ in columns.values()), ())
        out = np.full((n, slots) + trailing, np.nan)
        for slot, (frame, rows) in columns.items():
            out[rows, slot] = getattr(frame, field)[hits[rows, slot]]
        return out

    def hit_times(self, hits: np.ndarray) -> np.ndarray:
        """Time (s) of each hit (n, N), NaN where none."""
        t = np.full(hits.shape, np.nan)
        for slot in range(hits.shape[1]):
            frame = self.frames.get(self.frame_of_slot(slot))
            if frame is not None:
                t[hits[:, slot] >= 0, slot] = frame.t_s
        return t

    def fit(self, hits: np.ndarray) -> LineFit:
        """Constant-rate fits of the candidates (rows of hits) on the sky."""
        t, u, sigma, mask = (self.hit_times(hits), self.gather(hits, "u_N"),
                             self.gather(hits, "sigma_rad"), hits >= 0)
        latest = np.argmax(np.where(mask, t, -np.inf), axis=1)
        ref = u[np.arange(len(hits)), latest]
        e1, e2 = tangent_basis(ref)
        p = to_plane(np.where(mask[:, :, None], u, ref[:, None]), ref[:, None], e1[:, None], e2[:, None])
        t0, p0, v, s0, s2, chi2, motion = fit_lines(t, p, sigma, mask)
        return LineFit(ref, e1, e2, t0, p0, v, s0, s2, chi2, mask.sum(axis=1), motion)

    def step(self, frame: FrameDetections, seedable: np.ndarray, usable: np.ndarray):
        """Take one frame; returns the hit row of the best confirmable candidate, or None."""
        cfg = self.config
        self.frame_no = frame.frame_no
        self.frames = {k: f for k, f in self.frames.items() if k > frame.frame_no - cfg.confirm_window}
        self.seedable = {k: s for k, s in self.seedable.items() if k in self.frames}
        self.frames[frame.frame_no] = frame
        self.seedable[frame.frame_no] = seedable.copy()
        self.hits[:, frame.frame_no % cfg.confirm_window] = -1
        self._drop((self.hits >= 0).sum(axis=1) < 2)
        self._associate(frame, usable)
        self._seed(frame)
        self._prune()
        return self._confirmable()

    def forget(self, frame_no: int, source_index: np.ndarray) -> None:
        """Drop every candidate that used one of these sources of frame frame_no."""
        if frame_no not in self.frames or len(source_index) == 0:
            return
        column = self.hits[:, frame_no % self.config.confirm_window]
        self._drop((column >= 0) & np.isin(column, source_index))
        self.seedable[frame_no][source_index] = False

    def _drop(self, rows: np.ndarray) -> None:
        self.hits = self.hits[~rows]

    def best_reachable_hits(self) -> np.ndarray:
        """Most hits each candidate could have in one window of N frames if it hit every frame
        from now on: max over k = 0..N-1 of (hits at frames >= f + k - N + 1) + k."""
        n = self.config.confirm_window
        frame_of_slot = np.array([self.frame_of_slot(slot) for slot in range(n)])
        hit = self.hits >= 0
        best = np.zeros(len(self.hits), np.int64)
        for k in range(n):
            inside = frame_of_slot >= self.frame_no + k - n + 1
            best = np.maximum(best, (hit & inside).sum(axis=1) + k)
        return best

    def _associate(self, frame: FrameDetections, usable: np.ndarray) -> None:
        """Each candidate takes the nearest usable source inside its gate."""
        if len(self.hits) == 0 or len(frame) == 0:
            return
        fit = self.fit(self.hits)
        u_pred, sigma_pred = fit.predict(frame.t_s)
        x, y, front = self.camera.project(u_pred @ frame.C_CN.T)
        typical_px = np.nanmean(self.gather(self.hits, "sigma_px"), axis=1)
        gate = self.config.gate_sigma * np.hypot(sigma_pred * self.camera.f_px, typical_px)
        nearest = nearest_within(np.where(front, x, np.inf), y, gate,
                                 np.where(usable, frame.x, np.inf), frame.y)
        self.hits[:, frame.frame_no % self.config.confirm_window] = nearest

    def _seed(self, frame: FrameDetections) -> None:
        """New two-hit candidates from the current frame and the frames up to N + 1 - M before,
        among the seedable sources no candidate of three or more hits has taken."""
        cfg = self.config
        mature = (self.hits >= 0).sum(axis=1) >= 3
        current = self._free(frame.frame_no, mature)
        if current.size == 0:
            return
        new_rows = []
        for gap in range(1, cfg.confirm_window + 2 - cfg.confirm_hits):
            earlier = self.frames.get(frame.frame_no - gap)
            if earlier is None or len(earlier) == 0 or not frame.t_s > earlier.t_s:
                continue
            old = self._free(earlier.frame_no, mature)
            if old.size == 0:
                continue
            dt = frame.t_s - earlier.t_s
            reach = (cfg.max_pixel_rate_px_s * dt
                     + cfg.gate_sigma * np.hypot(earlier.sigma_px[old], frame.sigma_px[current].max()))
            iq, ip = pairs_within(earlier.x[old], earlier.y[old], reach,
                                  frame.x[current], frame.y[current])
            i_old, i_new = old[iq], current[ip]
            rate = angle_between(earlier.u_N[i_old], frame.u_N[i_new]) / dt
            ratio = frame.flux[i_new] / np.maximum(earlier.flux[i_old], 1e-9)
            plausible = ((rate <= np.radians(cfg.max_sky_rate_deg_s))
                         & (ratio <= cfg.max_flux_ratio) & (ratio >= 1.0 / cfg.max_flux_ratio))
            rows = np.full((int(plausible.sum()), cfg.confirm_window), -1, np.int64)
            rows[:, earlier.frame_no % cfg.confirm_window] = i_old[plausible]
            rows[:, frame.frame_no % cfg.confirm_window] = i_new[plausible]
            new_rows.append(rows)
        self.hits = np.concatenate([self.hits] + new_rows)

    def _free(self, frame_no: int, mature: np.ndarray) -> np.ndarray:
        """Seedable sources of a frame not taken by a mature candidate."""
        free = self.seedable[frame_no].copy()
        taken = self.hits[mature, frame_no % self.config.confirm_window]
        free[taken[taken >= 0]] = False
        return np.flatnonzero(free)

    def _prune(self) -> None:
        """Drop candidates that cannot confirm any more, duplicates, those failing the
        constant-rate fit, moving too fast or changing brightness too much; keep at most
        max_candidates (most hits, then best fit)."""
        cfg = self.config
        if len(self.hits) == 0:
            return
        self._drop(((self.hits >= 0).sum(axis=1) < 2) | (self.best_reachable_hits() < cfg.confirm_hits))
        if len(self.hits) == 0:
            return
        _, unique = np.unique(self.hits, axis=0, return_index=True)
        self.hits = self.hits[np.sort(unique)]
        fit = self.fit(self.hits)
        flux = self.gather(self.hits, "flux")
        bad_fit = (fit.hits >= 3) & (fit.chi2 > chi2_quantile(2 * (fit.hits - 2), cfg.fit_chi2_quantile_sigma))
        too_fast = np.linalg.norm(fit.v, axis=1) > np.radians(cfg.max_sky_rate_deg_s)
        flickering = np.nanmax(flux, axis=1) > cfg.max_flux_ratio * np.maximum(np.nanmin(flux, axis=1), 1e-9)
        self._drop(bad_fit | too_fast | flickering)
        if len(self.hits) > cfg.max_candidates:
            fit = self.fit(self.hits)
            reduced_chi2 = fit.chi2 / np.maximum(2 * fit.hits - 4, 1)
            order = np.lexsort((reduced_chi2, -fit.hits))
            self.hits = self.hits[np.sort(order[:cfg.max_candidates])]

    def _narrower_than_stars(self, row: np.ndarray) -> bool:
        """Whether most of a candidate's sources (of those with comparable stars in their
        frame) are narrower than fixed_psf_fraction of the stars of similar SNR."""
        narrow = []
        for slot, index in enumerate(row):
            frame = self.frames.get(self.frame_of_slot(slot))
            if index < 0 or frame is None:
                continue
            expected = frame.expected_minor_px(frame.snr[index])[0]
            if np.isfinite(expected):
                narrow.append(frame.minor_px[index] < self.config.fixed_psf_fraction * expected)
        return bool(narrow) and 2 * sum(narrow) > len(narrow)

    def _confirmable(self):
        """Hit row of the best candidate meeting every confirmation test, or None.  Candidates
        fixed in the image and smaller than the PSF go to ``defects`` and are dropped."""
        cfg = self.config
        enough = (self.hits >= 0).sum(axis=1) >= cfg.confirm_hits
        if not enough.any():
            return None
        rows = self.hits[enough]
        fit = self.fit(rows)
        mask = rows >= 0
        pixels = np.stack([self.gather(rows, "x"), self.gather(rows, "y")], axis=2)
        *_, image_motion = fit_lines(self.hit_times(rows), pixels, self.gather(rows, "sigma_px"), mask)
        image_fixed = image_motion < cfg.min_motion_chi2
        size = np.nanmedian(self.gather(rows, "size_px"), axis=1)
        minor = np.nanmedian(self.gather(rows, "minor_px"), axis=1)
        defect = image_fixed & ((size < cfg.fixed_min_size_px) | (minor < cfg.fixed_min_minor_px))
        for i in np.flatnonzero(image_fixed & ~defect):
            defect[i] = self._narrower_than_stars(rows[i])
        if defect.any():
            for row_pixels, row_mask in zip(pixels[defect], mask[defect]):
                self.defects.append(tuple(np.mean(row_pixels[row_mask], axis=0)))
            rows_defect = {tuple(r) for r in rows[defect]}
            self._drop(np.array([tuple(r) in rows_defect for r in self.hits]))
        dof = 2 * (fit.hits - 2)
        ok = ((fit.chi2 <= chi2_quantile(dof, cfg.fit_chi2_quantile_sigma))
              & (fit.motion_chi2 >= cfg.min_motion_chi2) & ~defect)
        if cfg.require_image_motion:
            ok &= ~image_fixed
        if not ok.any():
            return None
        score = np.where(ok, fit.hits * 1e6 - fit.chi2 / np.maximum(dof, 1), -np.inf)
        return rows[int(np.argmax(score))]
