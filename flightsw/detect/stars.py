"""Star identification in a frame: predict the catalogue stars, match them, refine the attitude.

1. Prediction: catalogue stars in a cone around the boresight, projected through the prior
   camera attitude C_CN = C_CB C_BN (camera.CameraModel).
2. Coarse registration, robust to attitude errors of many star spacings: the brightest
   predictions and the brightest sources vote with every pairwise pixel offset within the
   search radius (3 sigma of the prior's cross-boresight error, at least min_search_deg); the
   true offset collects one vote per star seen, a wrong one only chance coincidences (a 2-D
   Hough transform of the translation; for a large roll uncertainty a few roll hypotheses are
   tried, each small enough that the frame corners move less than half a bin).
3. Nearest-neighbour matching, one to one (mutual nearest), inside a gate.
4. Attitude refinement by Davenport's q-method (wahba.solve_wahba), weighted by centroid noise,
   then prediction, matching with a gate of a few sigma, and refit, twice; the fit's covariance
   scaled by its residuals' unit-weight variance (unit_weight_variance).
Sources matched to stars are explained; the rest go on to target detection.
"""
from dataclasses import dataclass

import numpy as np

from flightsw.detect.camera import CameraModel
from flightsw.detect.catalog import OnboardCatalog
from flightsw.detect.extract import FLAG_CENTROID_ISOPHOTAL
from flightsw.detect.neighbours import mutual_nearest
from flightsw.detect.rotation import quaternion_from_dcm
from flightsw.detect.sources import centroid_sigma_px
from flightsw.detect.wahba import solve_wahba


@dataclass(frozen=True)
class StarMatchConfig:
    """Tuning of star matching. Angles in degrees, distances in pixels."""

    psf_sigma_px: float = 0.8
    vote_stars: int = 40             # brightest predictions that vote
    vote_sources: int = 60           # brightest sources that vote
    vote_bin_px: float = 4.0
    min_votes: int = 4
    search_sigma: float = 3.0        # search radius in prior sigmas
    min_search_deg: float = 0.15
    max_search_deg: float = 1.0
    max_roll_hypotheses: int = 31
    coarse_gate_px: float = 4.0
    fine_gate_sigma: float = 5.0
    # beyond the centroid bound: the plant's frames' star residuals call for 0.035 px (their
    # unit-weight variance ~1; 0.05 px left it at 0.85, none at 1.8)
    centroid_floor_px: float = 0.035
    isophotal_sigma_px: float = 0.5
    min_matches: int = 4
    refinements: int = 2

    def __post_init__(self):
        for name in ("psf_sigma_px", "vote_bin_px", "search_sigma", "min_search_deg",
                     "max_search_deg", "coarse_gate_px", "fine_gate_sigma", "isophotal_sigma_px"):
            if not getattr(self, name) > 0:
                raise ValueError(f"StarMatchConfig.{name} must be positive, got {getattr(self, name)}")
        if self.min_search_deg > self.max_search_deg:
            raise ValueError("StarMatchConfig.min_search_deg must not exceed max_search_deg")
        for name in ("vote_stars", "vote_sources", "min_votes", "max_roll_hypotheses", "refinements"):
            if getattr(self, name) < 1:
                raise ValueError(f"StarMatchConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.min_matches < 3:
            raise ValueError("StarMatchConfig.min_matches must be at least 3 (roll and outliers)")


@dataclass(frozen=True)
class StarPrediction:
    """Catalogue stars expected in the frame: catalogue index, direction in N, V, pixel position."""

    index: np.ndarray
    u_N: np.ndarray
    v_mag: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class StarSolution:
    """Outcome of star matching for one frame.

    valid: an attitude was fitted from at least min_matches stars.  C_CN / q_CN: the refined
    camera attitude (the prior if not valid); P_theta_C: covariance of its small-angle error in
    C (rad^2); residual_rad: RMS angle between the fitted stars and their matched sources with
    PSF-fitted centroids (all matches if fewer than three; blends and saturated stars, whose
    isophotal centroids enter the fit with a low weight, would mask the calibration's health;
    NaN if not valid); source_index / star_index: the matched pairs (into the sources and into the
    prediction); matched: boolean mask over the sources; predicted: the stars expected with the
    prior; votes: height of the registration peak.
    """

    valid: bool
    C_CN: np.ndarray
    q_CN: np.ndarray
    P_theta_C: np.ndarray
    residual_rad: float
    source_index: np.ndarray
    star_index: np.ndarray
    matched: np.ndarray
    predicted: StarPrediction
    votes: int


SPEED_OF_LIGHT_M_S = 299792458.0


def aberrated(u_N: np.ndarray, v_observer_N) -> np.ndarray:
    """Apparent directions of stars at u_N for an observer moving at v_observer_N (m/s):
    u + v/c renormalised, stellar aberration to first order in v/c (Seidelmann, Explanatory
    Supplement to the Astronomical Almanac, 1992, section 3.25)."""
    if v_observer_N is None:
        return u_N
    u = u_N + np.asarray(v_observer_N, dtype=float) / SPEED_OF_LIGHT_M_S
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


def predict_stars(catalog: OnboardCatalog, camera: CameraModel, C_CN: np.ndarray,
                  margin_px: float = 0.0, v_observer_N=None) -> StarPrediction:
    """Catalogue stars projected through C_CN that land in the frame grown by margin_px, at
    their apparent (aberrated) directions for an observer moving at v_observer_N (m/s)."""
    boresight_N = C_CN[2]
    radius = camera.half_diagonal_rad + margin_px / camera.f_px
    index = catalog.cone(boresight_N, radius)
    u_N = aberrated(catalog.u_N[index], v_observer_N)
    x, y, front = camera.project(u_N @ C_CN.T)
    keep = front & camera.inside(x, y, -margin_px)
    return StarPrediction(index[keep], u_N[keep], catalog.v_mag[index][keep], x[keep], y[keep])


def vote_offset(px, py, sx, sy, radius_px: float, bin_px: float) -> tuple[int, float, float]:
    """Translation (dx, dy) = source - prediction shared by most pairs, and its vote count.

    Every pair within radius_px votes in a grid of bin_px cells; the peak of the 2x2-cell sums
    (so that a cluster split by a cell edge is not halved) holds the answer, refined as the
    median of its votes.
    """
    dx = (sx[None, :] - px[:, None]).ravel()
    dy = (sy[None, :] - py[:, None]).ravel()
    near = dx * dx + dy * dy <= radius_px * radius_px
    dx, dy = dx[near], dy[near]
    if dx.size == 0:
        return 0, 0.0, 0.0
    n_bins = int(np.ceil(2.0 * radius_px / bin_px)) + 1
    ix = np.minimum(((dx + radius_px) / bin_px).astype(np.int64), n_bins - 1)
    iy = np.minimum(((dy + radius_px) / bin_px).astype(np.int64), n_bins - 1)
    grid = np.bincount(iy * n_bins + ix, minlength=n_bins * n_bins).reshape(n_bins, n_bins)
    pairs = grid[:-1, :-1] + grid[1:, :-1] + grid[:-1, 1:] + grid[1:, 1:]
    peak_y, peak_x = np.unravel_index(int(np.argmax(pairs)), pairs.shape)
    inside = (ix >= peak_x) & (ix <= peak_x + 1) & (iy >= peak_y) & (iy <= peak_y + 1)
    return int(inside.sum()), float(np.median(dx[inside])), float(np.median(dy[inside]))


def rotate_about(x, y, centre, angle_rad):
    """Pixel positions rotated by angle_rad about centre (x towards y)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    u, v = x - centre[0], y - centre[1]
    return centre[0] + c * u - s * v, centre[1] + s * u + c * v


def coarse_register(prediction: StarPrediction, sources: np.ndarray, camera: CameraModel,
                    search_px: float, roll_sigma_rad: float, config: StarMatchConfig):
    """Best (votes, roll, dx, dy) over the roll hypotheses: predictions rotated by roll about the
    principal point, then shifted by (dx, dy), land on the sources."""
    brightest = np.argsort(prediction.v_mag, kind="stable")[:config.vote_stars]
    px, py = prediction.x[brightest], prediction.y[brightest]
    strongest = np.argsort(-sources["flux"], kind="stable")[:config.vote_sources]
    sx, sy = sources["x"][strongest], sources["y"][strongest]
    corner_px = 0.5 * np.hypot(camera.n_cols, camera.n_rows)
    roll_step = 0.5 * config.vote_bin_px / corner_px
    half_count = int(np.ceil(config.search_sigma * roll_sigma_rad / roll_step))
    half_count = min(half_count, config.max_roll_hypotheses // 2)
    centre = camera.principal_point_px
    best = (0, 0.0, 0.0, 0.0)
    for roll in roll_step * np.arange(-half_count, half_count + 1):
        rx, ry = rotate_about(px, py, centre, roll)
        votes, dx, dy = vote_offset(rx, ry, sx, sy, search_px, config.vote_bin_px)
        if votes > best[0]:
            best = (votes, roll, dx, dy)
    return best


def refine_attitude(prediction: StarPrediction, sources: np.ndarray, camera: CameraModel,
                    pred_index: np.ndarray, src_index: np.ndarray, sigma_px: np.ndarray):
    """q-method fit of C_CN to matched pairs; returns the WahbaSolution (body = camera)."""
    b = camera.unproject(sources["x"][src_index], sources["y"][src_index])
    return solve_wahba(b, prediction.u_N[pred_index], sigma_px[src_index] / camera.f_px)


def match_stars(sources: np.ndarray, catalog: OnboardCatalog, camera: CameraModel,
                q_BN_prior, P_att_B, config: StarMatchConfig = StarMatchConfig(),
                v_observer_N=None, gain_e_per_dn=None) -> StarSolution:
    """Identify catalogue stars among the sources and refine the camera attitude.

    q_BN_prior: body attitude at mid-exposure (scalar first); P_att_B: its 3x3 small-angle error
    covariance in B (rad^2).  The search radius is search_sigma times the larger
    cross-boresight sigma, clamped to [min_search_deg, max_search_deg].  v_observer_N: the
    camera's velocity (m/s) relative to the frame of the catalogue, for stellar aberration
    (up to 5 arcsec from the orbital velocity alone); without it the fitted attitude absorbs
    the aberration and every direction measured with it carries it.  gain_e_per_dn: the
    detector gain, for the stars' own shot noise in their weights (sources.centroid_sigma_px).
    """
    C_CN_prior = camera.C_CN(q_BN_prior)
    P_C = camera.C_CB @ np.asarray(P_att_B, dtype=float) @ camera.C_CB.T
    cross_sigma = np.sqrt(max(P_C[0, 0], P_C[1, 1], 0.0))
    roll_sigma = np.sqrt(max(P_C[2, 2], 0.0))
    search_rad = np.clip(config.search_sigma * cross_sigma, np.radians(config.min_search_deg),
                         np.radians(config.max_search_deg))
    search_px = float(search_rad * camera.f_px)
    prediction = predict_stars(catalog, camera, C_CN_prior, search_px, v_observer_N)
    sigma_px = centroid_sigma_px(sources, config.psf_sigma_px, config.centroid_floor_px,
                                 config.isophotal_sigma_px, gain_e_per_dn)
    fail = StarSolution(False, C_CN_prior, quaternion_from_dcm(C_CN_prior), P_C, float("nan"),
                        np.zeros(0, np.int64), np.zeros(0, np.int64),
                        np.zeros(len(sources), bool), prediction, 0)
    if len(prediction.x) < config.min_matches or len(sources) < config.min_matches:
        return fail

    votes, roll, dx, dy = coarse_register(prediction, sources, camera, search_px, roll_sigma, config)
    if votes < config.min_votes:
        return fail
    rx, ry = rotate_about(prediction.x, prediction.y, camera.principal_point_px, roll)
    pred_index, src_index = mutual_nearest(rx + dx, ry + dy, sources["x"], sources["y"],
                                           config.coarse_gate_px)
    if len(pred_index) < config.min_matches:
        return fail

    for _ in range(config.refinements + 1):
        try:
            fit = refine_attitude(prediction, sources, camera, pred_index, src_index, sigma_px)
        except ValueError:
            return fail
        x, y, front = camera.project(prediction.u_N @ fit.C_BR.T)
        gate = config.fine_gate_sigma * np.hypot(sigma_px, fit.rms_rad * camera.f_px)
        pred_index, src_index = mutual_nearest(np.where(front, x, np.inf), y, sources["x"],
                                               sources["y"], gate)
        if len(pred_index) < config.min_matches:
            return fail
    try:
        fit = refine_attitude(prediction, sources, camera, pred_index, src_index, sigma_px)
    except ValueError:
        return fail
    point_like = (sources["flags"][src_index] & FLAG_CENTROID_ISOPHOTAL) == 0
    residual = fit.residual_rad[point_like] if point_like.sum() >= 3 else fit.residual_rad
    matched = np.zeros(len(sources), bool)
    matched[src_index] = True
    P_theta = fit.P_theta * unit_weight_variance(fit.residual_rad, sigma_px[src_index] / camera.f_px)
    return StarSolution(True, fit.C_BR, fit.q_BR, P_theta, float(np.sqrt(np.mean(residual**2))),
                        src_index, pred_index, matched, prediction, votes)


def unit_weight_variance(residual_rad: np.ndarray, sigma_rad: np.ndarray) -> float:
    """The star fit's a posteriori variance factor, at least 1: sum (r_i / sigma_i)^2 over its
    2 n - 3 degrees of freedom (two per star, less the three of the rotation; e.g. Bevington &
    Robinson, Data Reduction and Error Analysis, 3rd ed., section 8.1), which scales the fit's
    formal covariance.

    The formal covariance knows only the centroid noise; the stars' residuals also carry what
    it leaves out (catalogue position errors, faint uncatalogued stars blended with the
    catalogued ones, PSF mismatch).  Against the plant's frames the formal covariance was ~1.5x
    short of the fitted attitude's error across the boresight (tests/e2e/test_detect_plant.py).
    """
    dof = 2 * len(residual_rad) - 3
    if dof < 1:
        return 1.0
    return max(1.0, float(np.sum((residual_rad / sigma_rad) ** 2)) / dof)
