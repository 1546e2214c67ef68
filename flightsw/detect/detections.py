"""The sources of one frame that no catalogue star explains, as directions on the sky."""
from dataclasses import dataclass

import numpy as np

from flightsw.detect.camera import CameraModel
from flightsw.detect.extract import FLAG_EDGE, FLAG_SATURATED
from flightsw.detect.sources import centroid_sigma_px, peak_fraction


@dataclass(frozen=True)
class FrameDetections:
    """The unexplained sources of one frame with the attitude they were measured with.

    frame_no: running frame count; t_s: mid-exposure time, s; C_CN: refined camera attitude;
    x, y: pixel positions; u_N: unit directions in N; sigma_px: centroid noise per axis;
    sigma_rad: direction noise per axis (centroid and attitude); flux: footprint flux per
    second of exposure (DN/s, so frames of different exposures compare), snr;
    peak_fraction: brightest pixel over footprint flux; size_px: sum of the isophotal RMS
    axes a + b; minor_px: the minor axis b; edge: the footprint touches the frame edge;
    saturated: a footprint pixel is saturated (the flux is clipped: a lower bound);
    psf_snr, psf_minor_px: SNR and minor axis of the frame's identified, unflagged stars, the
    measured PSF that point sources are compared with.
    """

    frame_no: int
    t_s: float
    C_CN: np.ndarray
    x: np.ndarray
    y: np.ndarray
    u_N: np.ndarray
    sigma_px: np.ndarray
    sigma_rad: np.ndarray
    flux: np.ndarray
    snr: np.ndarray
    peak_fraction: np.ndarray
    size_px: np.ndarray
    minor_px: np.ndarray
    edge: np.ndarray
    saturated: np.ndarray
    psf_snr: np.ndarray
    psf_minor_px: np.ndarray

    def __len__(self):
        return len(self.x)

    def expected_minor_px(self, snr: np.ndarray, min_stars: int = 3) -> np.ndarray:
        """Median minor axis of this frame's stars with an SNR within a factor 2 of each
        value of snr (NaN where fewer than min_stars): what a point source of that SNR
        measures through the same optics and extraction."""
        snr = np.atleast_1d(np.asarray(snr, dtype=float))
        near = ((self.psf_snr[None, :] >= 0.5 * snr[:, None])
                & (self.psf_snr[None, :] <= 2.0 * snr[:, None]))
        values = np.where(near, self.psf_minor_px[None, :], np.nan)
        enough = near.sum(axis=1) >= min_stars
        out = np.full(len(snr), np.nan)
        if enough.any():
            out[enough] = np.nanmedian(values[enough], axis=1)
        return out

    @classmethod
    def from_sources(cls, frame_no: int, t_s: float, sources: np.ndarray, camera: CameraModel,
                     C_CN: np.ndarray, P_theta_C: np.ndarray, psf_sigma_px: float,
                     centroid_floor_px: float = 0.035, stars: np.ndarray | None = None,
                     gain_e_per_dn=None, exposure_s: float = 1.0) -> "FrameDetections":
        """Detections of extracted sources (SOURCE_DTYPE) seen with the camera attitude C_CN,
        whose small-angle error covariance in C is P_theta_C: the larger cross-boresight
        variance is added to every source's direction noise (it is common to the frame but
        independent between frames, which is what a motion fit sees).  stars: the frame's
        identified stars (SOURCE_DTYPE), the PSF reference (unflagged ones only); gain_e_per_dn:
        the detector gain, for the sources' own shot noise (see sources.centroid_sigma_px);
        exposure_s: the frame's integration time, s (flux is divided by it)."""
        sigma_px = centroid_sigma_px(sources, psf_sigma_px, centroid_floor_px,
                                     gain_e_per_dn=gain_e_per_dn)
        attitude_var = max(P_theta_C[0, 0], P_theta_C[1, 1], 0.0)
        u_C = camera.unproject(sources["x"], sources["y"]).reshape(-1, 3)
        return cls(frame_no, float(t_s), C_CN, sources["x"].astype(float),
                   sources["y"].astype(float), u_C @ C_CN, sigma_px,
                   np.sqrt((sigma_px / camera.f_px) ** 2 + attitude_var),
                   sources["flux"].astype(float) / float(exposure_s), sources["snr"].astype(float),
                   peak_fraction(sources), (sources["a"] + sources["b"]).astype(float),
                   sources["b"].astype(float), (sources["flags"] & FLAG_EDGE) != 0,
                   (sources["flags"] & FLAG_SATURATED) != 0,
                   *cls._psf_reference(stars))

    @staticmethod
    def _psf_reference(stars):
        if stars is None or len(stars) == 0:
            return np.zeros(0), np.zeros(0)
        clean = stars[stars["flags"] == 0]
        return clean["snr"].astype(float), clean["b"].astype(float)
