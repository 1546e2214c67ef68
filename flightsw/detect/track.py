"""The target track: confirmation from the candidate search, then frame-to-frame tracking.

The confirmed track is a constant-rate line of sight on the sky: the state is the direction u
and its rate of turn v (a vector perpendicular to u, rad/s), propagated exactly along the great
circle u turns on, with a 4-state Kalman filter (position and rate, two axes, white-noise
acceleration; Bar-Shalom, Li & Kirubarajan, Estimation with Applications to Tracking and
Navigation, 2001, section 6.3.2) in the local plane of the azimuthal equidistant projection
(skyplane) around u, whose basis is carried along the great circle.  Each frame the track
takes the nearest unexplained source inside its chi-square gate; it coasts through misses and
is lost after max_misses in a row, after which the candidate search may confirm it again.

Re-acquisition. While the track coasts its gate grows, and a lone source in it (a noise peak,
a cosmic ray, an uncatalogued star as the target passes into eclipse) would reset the misses
and drag the line of sight off — then the next, and the next: in the reference mission a
coasting track walked eleven degrees through an eclipse on such sources, and navigation,
fed its bearings, declared itself diverged. So after ``reacquire_after`` misses in a row a
source no longer continues the track by itself: it starts a chain, each next frame's source
must fall in the gate of the track updated with the chain so far, and only a chain of
``reacquire_hits`` consecutive frames is taken (the sources of a broken chain are
forgotten). A target coming out of eclipse is back after that many frames; a scatter of
unrelated sources does not line up.
"""
import copy
from dataclasses import dataclass

import numpy as np

from flightsw.detect.camera import CameraModel
from flightsw.detect.candidates import CandidateConfig, CandidateSearch
from flightsw.detect.detections import FrameDetections
from flightsw.detect.neighbours import nearest_within
from flightsw.detect.rotation import skew
from flightsw.detect.screen import MotionScreen
from flightsw.detect.skyplane import from_plane, tangent_basis, to_plane


@dataclass(frozen=True)
class TrackConfig:
    """max_misses: frames coasted before the track is lost; gate_sigma: association gate;
    reacquire_after, reacquire_hits: after that many misses in a row, only a chain of
    reacquire_hits consecutive consistent sources continues the track (module docstring);
    accel_psd_rad2_s3: spectral density of the line of sight's unmodelled angular acceleration;
    flux_gate: the largest ratio between a source's flux and the track's (smoothed, in log,
    with weight flux_smoothing per frame) that may continue it."""

    max_misses: int = 5
    gate_sigma: float = 4.0
    accel_psd_rad2_s3: float = 1e-12
    flux_gate: float = 3.0
    flux_smoothing: float = 0.3
    reacquire_after: int = 2
    reacquire_hits: int = 3

    def __post_init__(self):
        if self.max_misses < 0:
            raise ValueError("TrackConfig.max_misses must be >= 0")
        if not (self.reacquire_after >= 1 and self.reacquire_hits >= 1):
            raise ValueError("TrackConfig.reacquire_after and reacquire_hits must be >= 1")
        if not (self.gate_sigma > 0 and self.accel_psd_rad2_s3 >= 0):
            raise ValueError("TrackConfig.gate_sigma must be > 0 and accel_psd_rad2_s3 >= 0")
        if not (self.flux_gate > 1.0 and 0.0 < self.flux_smoothing <= 1.0):
            raise ValueError("TrackConfig.flux_gate must be > 1 and flux_smoothing in (0, 1]")


class LineOfSightFilter:
    """Constant-rate great-circle motion of a unit line of sight, Kalman-filtered.

    u: direction (N); v: rate vector (rad/s, perpendicular to u, in N); e1, e2: plane basis
    at u; P: 4x4 covariance of [p1, p2, v1, v2] in that basis (rad, rad/s); t_s: its time.
    """

    def __init__(self, t_s, u, v, P, accel_psd):
        self.t_s = float(t_s)
        self.u = u / np.linalg.norm(u)
        self.v = v - (v @ self.u) * self.u
        e1, _ = tangent_basis(self.u)
        self.e1, self.e2 = e1, np.cross(self.u, e1)
        self.P = P
        self.accel_psd = accel_psd

    def predicted(self, t_s: float):
        """(u, v, e1, e2, P) at t_s, without changing the filter."""
        dt = t_s - self.t_s
        rate = np.linalg.norm(self.v)
        u, v, e1, e2 = self.u, self.v, self.e1, self.e2
        if rate * abs(dt) > 0.0:
            v_hat = v / rate
            normal = np.cross(u, v_hat)
            c, s = np.cos(rate * dt), np.sin(rate * dt)
            v_hat_new = -s * u + c * v_hat
            u = c * u + s * v_hat
            e1 = (e1 @ v_hat) * v_hat_new + (e1 @ normal) * normal
            e2 = (e2 @ v_hat) * v_hat_new + (e2 @ normal) * normal
            v = rate * v_hat_new
        F = np.eye(4)
        F[0, 2] = F[1, 3] = dt
        q = self.accel_psd * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
        Q = np.kron(q, np.eye(2))
        return u, v, e1, e2, F @ self.P @ F.T + Q

    def innovation(self, t_s: float, u_meas: np.ndarray, sigma_rad: float):
        """Innovation (2,) in the predicted plane and its covariance S (2x2)."""
        u, _, e1, e2, P = self.predicted(t_s)
        return to_plane(u_meas, u, e1, e2), P[:2, :2] + sigma_rad**2 * np.eye(2)

    def advance(self, t_s: float) -> None:
        self.u, self.v, self.e1, self.e2, self.P = self.predicted(t_s)
        self.t_s = float(t_s)

    def update(self, t_s: float, u_meas: np.ndarray, sigma_rad: float) -> None:
        """Kalman update with a measured direction of isotropic noise sigma_rad (Joseph form)."""
        self.advance(t_s)
        R = sigma_rad**2 * np.eye(2)
        nu = to_plane(u_meas, self.u, self.e1, self.e2)
        H = np.zeros((2, 4))
        H[0, 0] = H[1, 1] = 1.0
        S = H @ self.P @ H.T + R
        K = self.P @ H.T @ np.linalg.inv(S)
        dx = K @ nu
        I_KH = np.eye(4) - K @ H
        self.P = I_KH @ self.P @ I_KH.T + K @ R @ K.T
        u = from_plane(dx[:2], self.u, self.e1, self.e2)
        v = self.v + dx[2] * self.e1 + dx[3] * self.e2
        self.u = u / np.linalg.norm(u)
        self.v = v - (v @ self.u) * self.u
        e1 = self.e1 - (self.e1 @ self.u) * self.u
        self.e1 = e1 / np.linalg.norm(e1)
        self.e2 = np.cross(self.u, self.e1)

    def position_covariance_N(self, P=None, e1=None, e2=None) -> np.ndarray:
        """3x3 covariance of u in N (rank 2, across u)."""
        P = self.P if P is None else P
        basis = np.stack([self.e1 if e1 is None else e1, self.e2 if e2 is None else e2], axis=1)
        return basis @ P[:2, :2] @ basis.T


@dataclass(frozen=True)
class TrackUpdate:
    """The target in one frame. state: 'confirmed' (measured this frame) or 'coasting'
    (predicted); source: index of the measured source among the frame's detections or -1."""

    track_id: int
    state: str
    t_s: float
    u_N: np.ndarray
    P_u: np.ndarray
    x_px: float
    y_px: float
    flux: float
    snr: float
    source: int
    frames_tracked: int


def measurement_covariance_N(camera: CameraModel, C_CN: np.ndarray, u_N: np.ndarray,
                             sigma_px: float, P_theta_C: np.ndarray) -> np.ndarray:
    """3x3 covariance of a measured direction in N: centroid noise and the attitude's error.

    Centroid: J sigma_px^2 J^T with J = d u_C / d (x, y) (camera.unproject_jacobian).
    Attitude: with C_CN_est = (I - [theta x]) C_CN, u_N_est = u_N + C_NC (theta x u_C), so the
    term is C_NC [u_C x] P_theta [u_C x]^T C_CN.
    """
    u_C = C_CN @ u_N
    J = camera.unproject_jacobian(u_C[None])[0]
    cross = skew(u_C)
    P_C = sigma_px**2 * (J @ J.T) + cross @ P_theta_C @ cross.T
    return C_CN.T @ P_C @ C_CN


@dataclass
class _Chain:
    """A re-acquisition chain: its last frame, the track updated with its sources, their
    fluxes (taken into the track's flux only if the chain completes)."""

    frame_no: int
    filter: LineOfSightFilter
    fluxes: list


class TargetTracker:
    """Screening, candidate search and the confirmed track, one frame at a time."""

    def __init__(self, camera: CameraModel, candidate_config: CandidateConfig = CandidateConfig(),
                 track_config: TrackConfig = TrackConfig()):
        self.camera = camera
        self.track_config = track_config
        self.screen = MotionScreen(camera, candidate_config)
        self.search = CandidateSearch(camera, candidate_config)
        self.filter: LineOfSightFilter | None = None
        self.track_id = 0
        self.misses = 0
        self.frames_tracked = 0
        self.log_flux = 0.0       # the track's smoothed log flux (DN/s)
        self.flux_lower_bound = False  # it came from saturated (clipped) measurements
        self.chain: _Chain | None = None   # re-acquisition in progress

    @property
    def tracking(self) -> bool:
        return self.filter is not None

    def step(self, frame: FrameDetections, P_theta_C: np.ndarray, seed: bool = True) -> TrackUpdate | None:
        """Process one frame's unexplained sources; the track's state afterwards, or None.
        seed=False: no new candidate starts from this frame (its attitude is too coarse for
        the motion tests); the track and the candidates already found may still take it."""
        screened = self.screen.screen(frame)
        for frame_no, index in screened.seen_again.items():
            self.search.forget(frame_no, index)
        seedable, usable = screened.seedable, screened.usable
        if not seed:
            seedable = np.zeros_like(seedable)
        source = self._associate(frame, usable) if self.filter is not None else -1
        if source >= 0:
            seedable = seedable.copy()
            usable = usable.copy()
            seedable[source] = usable[source] = False
        row = self.search.step(frame, seedable, usable)
        for x, y in self.search.defects:
            self.screen.add_defect_evidence(x, y, self.screen.config.defect_recurrences)
        self.search.defects.clear()
        if self.filter is None and row is not None:
            source = self._confirm(frame, row)
        if self.filter is None:
            return None
        if source < 0:
            self.misses += 1
            self.frames_tracked = 0
            if self.misses > self.track_config.max_misses:
                self.filter = None
                return None
        return self._report(frame, source, P_theta_C)

    def _associate(self, frame: FrameDetections, usable: np.ndarray) -> int:
        """Index of the source the track takes in this frame (updating the filter), or -1."""
        cfg = self.track_config
        if self.misses < cfg.reacquire_after:
            self.chain = None
            nearest = self._nearest_in_gate(self.filter, frame, usable)
            if nearest < 0:
                return -1
            self.filter.update(frame.t_s, frame.u_N[nearest], frame.sigma_rad[nearest])
            self._take_flux(frame.flux[nearest], bool(frame.saturated[nearest]))
            self.misses = 0
            self.frames_tracked += 1
            return int(nearest)
        # coasting: only a chain of consecutive consistent sources continues the track
        chain = self.chain if self.chain and self.chain.frame_no == frame.frame_no - 1 else None
        nearest = self._nearest_in_gate(chain.filter, frame, usable) if chain else -1
        if nearest < 0:
            chain = None
            nearest = self._nearest_in_gate(self.filter, frame, usable)
            if nearest < 0:
                self.chain = None
                return -1
        if chain is None:
            chain = _Chain(frame.frame_no, copy.deepcopy(self.filter), [])
        chain.frame_no = frame.frame_no
        chain.filter.update(frame.t_s, frame.u_N[nearest], frame.sigma_rad[nearest])
        chain.fluxes.append((frame.flux[nearest], bool(frame.saturated[nearest])))
        self.chain = chain
        if len(chain.fluxes) < cfg.reacquire_hits:
            return -1
        self.filter, self.chain = chain.filter, None
        for flux, saturated in chain.fluxes:
            self._take_flux(flux, saturated)
        self.misses = 0
        self.frames_tracked = cfg.reacquire_hits
        return int(nearest)

    def _nearest_in_gate(self, filt: LineOfSightFilter, frame: FrameDetections,
                         usable: np.ndarray) -> int:
        """The usable source nearest the prediction of filt, inside its gate, or -1."""
        if len(frame) == 0:
            return -1
        u, _, e1, e2, P = filt.predicted(frame.t_s)
        x, y, front = self.camera.project((frame.C_CN @ u)[None])
        if not front[0]:
            return -1
        spread = np.sqrt(np.linalg.eigvalsh(P[:2, :2])[-1] + np.max(frame.sigma_rad) ** 2)
        gate_px = self.track_config.gate_sigma * spread * self.camera.f_px
        # amplitude-aided: a source far fainter or brighter than the track is not the target
        # (a noise peak or a star near the prediction while the target is in eclipse would
        # otherwise continue the track, reset its misses, and pull it off)
        usable = usable & self._flux_consistent(frame.flux, frame.saturated)
        nearest = nearest_within(x, y, gate_px, np.where(usable, frame.x, np.inf), frame.y)[0]
        if nearest < 0:
            return -1
        nu, S = filt.innovation(frame.t_s, frame.u_N[nearest], frame.sigma_rad[nearest])
        if nu @ np.linalg.solve(S, nu) > self.track_config.gate_sigma**2:
            return -1
        return int(nearest)

    def _flux_consistent(self, flux: np.ndarray, saturated: np.ndarray) -> np.ndarray:
        """Sources whose flux (DN/s) may be the track's.  A clipped flux is only a lower
        bound: a saturated source may be brighter than it reads, and a track whose flux came
        from saturated frames may turn out brighter (exposure control shortening the exposure
        until the target's core is below full well)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log(np.maximum(flux, 1e-30)) - self.log_flux
        gate = np.log(self.track_config.flux_gate)
        return ((np.abs(ratio) <= gate) | (saturated & (ratio < 0.0))
                | (self.flux_lower_bound & (ratio > 0.0)))

    def _take_flux(self, flux: float, saturated: bool = False, first: bool = False) -> None:
        """Smooth a measured flux into the track's.  A saturated one never lowers it, and
        above it becomes the track's flux as a lower bound; an unsaturated one replaces a bound."""
        log_flux = float(np.log(max(flux, 1e-30)))
        if first or (self.flux_lower_bound and not saturated):
            self.log_flux, self.flux_lower_bound = log_flux, saturated
        elif saturated:
            if log_flux > self.log_flux:
                self.log_flux, self.flux_lower_bound = log_flux, True
        else:
            w = self.track_config.flux_smoothing
            self.log_flux = (1.0 - w) * self.log_flux + w * log_flux

    def _confirm(self, frame: FrameDetections, row: np.ndarray) -> int:
        """Start the track from a confirmed candidate; the source it holds in this frame or -1."""
        search = self.search
        fit = search.fit(row[None])
        t_last = float(np.nanmax(search.hit_times(row[None])))
        dt = t_last - fit.t0[0]
        p = fit.p0[0] + fit.v[0] * dt
        u = from_plane(p, fit.ref[0], fit.e1[0], fit.e2[0])
        v = fit.v[0, 0] * fit.e1[0] + fit.v[0, 1] * fit.e2[0]
        var_p = 1.0 / fit.s0[0] + dt * dt / fit.s2[0]
        cov_pv = dt / fit.s2[0]
        var_v = 1.0 / fit.s2[0]
        P = np.kron(np.array([[var_p, cov_pv], [cov_pv, var_v]]), np.eye(2))
        self.filter = LineOfSightFilter(t_last, u, v, P, self.track_config.accel_psd_rad2_s3)
        # the candidate's basis and the filter's differ by a rotation about u: rotate P with it
        e1f, e2f = self.filter.e1, self.filter.e2
        R = np.array([[e1f @ fit.e1[0], e1f @ fit.e2[0]], [e2f @ fit.e1[0], e2f @ fit.e2[0]]])
        self.filter.P = np.kron(np.eye(2), R) @ P @ np.kron(np.eye(2), R).T
        self.track_id += 1
        self.misses = 0
        self.chain = None
        self.frames_tracked = self._consecutive_hits(row)
        fluxes = search.gather(row[None], "flux")[0]
        clipped = search.gather(row[None], "saturated")[0] == 1.0
        self._take_flux(float(np.nanmedian(fluxes)), bool(clipped.any()), first=True)
        for slot, index in enumerate(row):
            if index >= 0:
                search.forget(search.frame_of_slot(slot), np.array([index]))
        return int(row[frame.frame_no % search.config.confirm_window])

    def _consecutive_hits(self, row: np.ndarray) -> int:
        """Hits in a row ending at the current frame."""
        n = self.search.config.confirm_window
        count = 0
        while count < n and row[(self.search.frame_no - count) % n] >= 0:
            count += 1
        return count

    def _report(self, frame: FrameDetections, source: int, P_theta_C: np.ndarray) -> TrackUpdate:
        if source >= 0:
            u_N = frame.u_N[source]
            P_u = measurement_covariance_N(self.camera, frame.C_CN, u_N, frame.sigma_px[source],
                                           P_theta_C)
            x, y = frame.x[source], frame.y[source]
            flux, snr, state = frame.flux[source], frame.snr[source], "confirmed"
        else:
            u_N, _, e1, e2, P = self.filter.predicted(frame.t_s)
            P_u = self.filter.position_covariance_N(P, e1, e2)
            px, py, _ = self.camera.project((frame.C_CN @ u_N)[None])
            x, y, flux, snr, state = px[0], py[0], 0.0, 0.0, "coasting"
        return TrackUpdate(self.track_id, state, frame.t_s, u_N, P_u, float(x), float(y),
                           float(flux), float(snr), int(source), self.frames_tracked)
