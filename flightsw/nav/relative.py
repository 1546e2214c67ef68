"""Relative navigation: an EKF on the target's and the chaser's inertial orbits, jointly.

Why this formulation. From 2000 km down to tens of metres one model must hold: at far range the
separation is a sizeable arc of the orbit and linearised Hill / Clohessy-Wiltshire models fail,
while close in the same filter must take ranges. The state is therefore the target's inertial
state x_T = [r_TN_N, v_TN_N] propagated with the full nonlinear two-body + J2 model
(``dynamics``), stacked with the chaser's x_C = [r_CN_N, v_CN_N]:

    x = [r_TN_N, v_TN_N, r_CN_N, v_CN_N]   (m, m/s, ECI J2000), P its 12x12 covariance.

Every optical measurement is a function of the line of sight rho = r_T - r_C; GNSS fixes
measure x_C. Carrying the chaser in the same filter (rather than taking its orbit as known)
is what keeps the relative covariance honest at both ends of the range: at 2000 km the
chaser's metre-level GNSS error is part of the relative error, and close in the bearings and
ranges tie the target to the chaser so tightly that the relative state must not inherit the
chaser's absolute error; only the cross-covariance P_TC expresses both. Consequences:

* the target does not manoeuvre; the chaser's burns are applied as control reports them
  (``apply_burn``: the delta-v and its uncertainty), and any it is not told about reach it
  through GNSS fixes, with the same gate-and-reset manoeuvre detection as the orbit filter
  (``orbit.FixFuser``);
* range is observable from bearings alone through the curvature of both orbits and J2, and far
  better once the chaser manoeuvres (Woffinden & Geller, J. Spacecraft and Rockets 46(5),
  2009); at thousands of km the absolute dynamics make the target's orbit nearly as observable
  as in classical angles-only orbit determination from a known observer.

Measurements (equations in ``_relative.pyx``): bearings as 2-D gnomonic residuals in the plane
perpendicular to the predicted line of sight, ranges |rho| - offset, each after a chi-square
innovation gate. ``predicted_range_sigma`` is the observability tool guidance uses: a
covariance analysis of a candidate chaser manoeuvre followed by bearings over a horizon.
"""
from __future__ import annotations

import copy
import math

import numpy as np
from scipy.stats import chi2

from flightsw.nav.dynamics import MU_EARTH_M3_S2, STEP_MAX_S, add_impulse, predict_pair_inplace
from flightsw.nav.ekf import NS_PER_S, UpdateResult, check_state_and_covariance, joseph_update
from flightsw.nav.orbit import FIX_GATE_CHI2, FixFuser, GnssCorrelation
from flightsw.native import require

_relative = require("flightsw.nav._relative")

BEARING_GATE_CHI2 = float(chi2.ppf(0.9973, 2))
RANGE_GATE_CHI2 = float(chi2.ppf(0.9973, 1))
# Iterated EKF for bearings: stop once the predicted line of sight moves by less than this.
BEARING_MAX_ITERATIONS = 5
BEARING_ITERATION_TOL_RAD = 1e-7
STATE_SIZE = 12
TARGET = slice(0, 6)
CHASER = slice(6, 12)


def perpendicular_basis(u) -> np.ndarray:
    """E (3x2): orthonormal columns perpendicular to the unit vector u, e1 x e2 = u."""
    u = np.asarray(u, dtype=np.float64)
    axis = np.zeros(3)
    axis[np.argmin(np.abs(u))] = 1.0
    e1 = np.cross(axis, u)
    e1 /= np.linalg.norm(e1)
    return np.column_stack((e1, np.cross(u, e1)))


def _position_jacobian(h_rho):
    """H (m x 12) of a measurement depending on rho = r_T - r_C only, from d h / d rho."""
    m = h_rho.shape[0]
    return np.hstack((h_rho, np.zeros((m, 3)), -h_rho, np.zeros((m, 3))))


def _bearing_geometry(x, u_meas, P_u, var_floor):
    """(H, R, z) of a bearing linearised at x, or None for a degenerate geometry."""
    rho = x[:3] - x[6:9]
    d = np.linalg.norm(rho)
    u = rho / d
    cosang = u @ u_meas
    if not (d > 0.0 and cosang > 0.0):
        return None
    E = perpendicular_basis(u)
    R = E.T @ P_u @ E + var_floor * np.eye(2)
    return _position_jacobian(E.T / d), 0.5 * (R + R.T), E.T @ u_meas / cosang


def bearing_update_reference(x, P, u_meas, P_u, var_floor, gate, max_iter, tol_rad, c):
    """Numpy twin of the iterated bearing kernel: (x, P, nis, accepted, iterations, c)."""
    x_i = x
    for it in range(1, max_iter + 1):
        geometry = _bearing_geometry(x_i, u_meas, P_u, var_floor)
        if geometry is None:
            return x, P, math.inf, False, it, c
        H, R, z = geometry
        y = z - H @ (x - x_i)
        if it == 1:
            nis = float(y @ np.linalg.solve(H @ P @ H.T + R, y))
            if not nis <= gate:
                return x, P, nis, False, it, c
        x_next, P_next = joseph_update(x, P, H, R, y)
        if np.linalg.norm(H @ (x_next - x_i)) < tol_rad:
            break
        x_i = x_next
    K = np.linalg.solve(H @ P @ H.T + R, H @ P).T
    return x_next, P_next, nis, True, it, c - K @ (H @ c)


def range_update_reference(x, P, z, var, offset, gate, c, var_b):
    """Numpy twin of the range kernel with a considered bias of variance var_b:
    (x, P, nis, accepted, c). Written on the augmented state [x, b] with the bias's row left
    unchanged (the Schmidt-Kalman filter), a different route to the kernel's formulas."""
    rho = x[:3] - x[6:9]
    d = np.linalg.norm(rho)
    H = np.append(_position_jacobian((rho / d)[np.newaxis, :])[0], 1.0)
    Pa = np.block([[P, c[:, np.newaxis]], [c[np.newaxis, :], np.array([[var_b]])]])
    y = z - (d - offset)
    S = H @ Pa @ H + var
    nis = float(y ** 2 / S)
    if not nis <= gate:
        return x, P, nis, False, c
    K = Pa @ H / S
    K[-1] = 0.0                       # the bias is considered, not estimated
    A = np.eye(13) - np.outer(K, H)
    Pa = A @ Pa @ A.T + var * np.outer(K, K)
    return x + K[:12] * y, 0.5 * (Pa[:12, :12] + Pa[:12, :12].T), nis, True, Pa[:12, 12]


class RelativeFilter:
    """Joint EKF on the target's and the chaser's inertial states; see the module docstring.

    t_ns: time of the estimate (ns). x_TN_N, P_T: the target's [r (m), v (m/s)] ECI and 6x6
    covariance (from the cue); x_CN_N, P_C: the chaser's (from the orbit filter).
    q_target_m2_s3, q_chaser_m2_s3: PSDs of each spacecraft's own unmodelled acceleration
    (differential drag, the chaser's thrust errors); q_common_m2_s3: PSD of the part both share
    (drag and solar pressure alike on both, gravity beyond J2), which cancels in the relative
    state (``dynamics.pair_noise``). bearing_var_floor_rad2: variance added to every bearing's
    P_u on both axes (unmodelled attitude and timing error). range_bias_sigma_m: 1-sigma of
    the rangefinder's constant bias (its calibration residual), which the filter considers
    rather than estimates: nearly unobservable, it would only be learnt back from the ranges
    it biases; ``c`` is the state's covariance with it, and P includes its effect. Gates are
    chi-square bounds on the NIS.
    """

    def __init__(self, t_ns: int, x_TN_N, P_T, x_CN_N, P_C, *, q_target_m2_s3: float = 1e-10,
                 q_chaser_m2_s3: float = 1e-10, q_common_m2_s3: float = 0.0,
                 bearing_var_floor_rad2: float = 0.0, range_bias_sigma_m: float = 0.0,
                 bearing_gate: float = BEARING_GATE_CHI2, range_gate: float = RANGE_GATE_CHI2,
                 fix_gate: float = FIX_GATE_CHI2, manoeuvre_after: int = 2,
                 step_max_s: float = STEP_MAX_S, gnss_correlation: GnssCorrelation | None = None):
        x_T, P_T = check_state_and_covariance(x_TN_N, P_T, 6)
        x_C, P_C = check_state_and_covariance(x_CN_N, P_C, 6)
        for name, value in (("q_target_m2_s3", q_target_m2_s3),
                            ("q_chaser_m2_s3", q_chaser_m2_s3),
                            ("q_common_m2_s3", q_common_m2_s3),
                            ("range_bias_sigma_m", range_bias_sigma_m),
                            ("bearing_var_floor_rad2", bearing_var_floor_rad2)):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
        if not (bearing_gate > 0.0 and range_gate > 0.0 and step_max_s > 0.0):
            raise ValueError("gates and step_max_s must be positive")
        self.x = np.concatenate((x_T, x_C))
        self.P = np.zeros((STATE_SIZE, STATE_SIZE))
        self.P[TARGET, TARGET] = P_T
        self.P[CHASER, CHASER] = P_C
        self.t_ns = int(t_ns)
        self.q_target_m2_s3 = float(q_target_m2_s3)
        self.q_chaser_m2_s3 = float(q_chaser_m2_s3)
        self.q_common_m2_s3 = float(q_common_m2_s3)
        self.range_bias_var_m2 = float(range_bias_sigma_m) ** 2
        self.c = np.zeros(STATE_SIZE)
        self.bearing_var_floor_rad2 = float(bearing_var_floor_rad2)
        self.bearing_gate = float(bearing_gate)
        self.range_gate = float(range_gate)
        self.step_max_s = float(step_max_s)
        self.fuser = FixFuser(CHASER.start, fix_gate, manoeuvre_after, gnss_correlation)

    def copy(self) -> RelativeFilter:
        """An independent twin (for what-if analyses)."""
        twin = object.__new__(RelativeFilter)
        twin.__dict__.update(self.__dict__)
        twin.x = self.x.copy()
        twin.P = self.P.copy()
        twin.c = self.c.copy()
        twin.fuser = copy.copy(self.fuser)
        return twin

    @property
    def x_T(self) -> np.ndarray:
        """The target's estimated [r_TN_N (m), v_TN_N (m/s)]."""
        return self.x[TARGET].copy()

    @property
    def x_C(self) -> np.ndarray:
        """The chaser's estimated [r_CN_N (m), v_CN_N (m/s)]."""
        return self.x[CHASER].copy()

    def relative_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(x_T - x_C, its 6x6 covariance J P J^T with J = [I, -I]), ECI, m and m/s."""
        J = np.hstack((np.eye(6), -np.eye(6)))
        return self.x[TARGET] - self.x[CHASER], J @ self.P @ J.T

    def predict(self, t_ns: int) -> None:
        """Propagate the estimate to t_ns (not before the current time: ValueError)."""
        dt_ns = int(t_ns) - self.t_ns
        if dt_ns < 0:
            raise ValueError(f"cannot predict backwards ({dt_ns} ns)")
        if dt_ns:
            predict_pair_inplace(self.x, self.P, dt_ns / NS_PER_S, self.q_target_m2_s3,
                                 self.q_chaser_m2_s3, self.q_common_m2_s3, self.step_max_s,
                                 self.c)
            self.t_ns = int(t_ns)

    def apply_burn(self, t_burn_ns: int, dv_N, sigma_dv_mps: float,
                   sigma_t_s: float = 0.0) -> None:
        """A burn the chaser executed: impulsive dv_N (m/s, ECI) at t_burn_ns, 1-sigma
        sigma_dv_mps per axis and sigma_t_s in time (``dynamics.add_impulse``); the target is
        untouched."""
        if t_burn_ns > self.t_ns:
            self.predict(t_burn_ns)
        add_impulse(self.x, self.P, CHASER.start, (self.t_ns - t_burn_ns) / NS_PER_S, dv_N,
                    sigma_dv_mps, self.step_max_s, sigma_t_s)

    def update_fix(self, t_ns: int, r_BN_N, v_BN_N, sigma_r_m: float,
                   sigma_v_mps: float) -> UpdateResult:
        """Predict to t_ns and fuse a GNSS fix of the chaser (m, m/s, ECI; 1-sigma per axis)."""
        self.predict(t_ns)
        self.x, self.P, result = self.fuser.fuse(self.x, self.P, r_BN_N, v_BN_N, sigma_r_m,
                                                 sigma_v_mps, self.c, t_ns=t_ns)
        return result

    def update_bearing(self, t_ns: int, u_N, P_u) -> UpdateResult:
        """Predict to t_ns and fuse the unit line of sight chaser -> target u_N (ECI) with its
        3x3 covariance P_u (rad^2)."""
        self.predict(t_ns)
        nis, accepted, _ = _relative.bearing_update(
            self.x, self.P, np.ascontiguousarray(u_N, dtype=np.float64),
            np.ascontiguousarray(P_u, dtype=np.float64), self.bearing_var_floor_rad2,
            self.bearing_gate, BEARING_MAX_ITERATIONS, BEARING_ITERATION_TOL_RAD, self.c)
        return UpdateResult(float(nis), bool(accepted))

    def update_range(self, t_ns: int, range_m: float, sigma_m: float, offset_m: float = 0.0,
                     rangefinder: bool = False) -> UpdateResult:
        """Predict to t_ns and fuse a range: range_m = |r_T - r_C| - offset_m, 1-sigma sigma_m;
        a rangefinder's range also carries the considered bias."""
        if not sigma_m > 0.0:
            raise ValueError(f"range sigma must be positive, got {sigma_m!r}")
        self.predict(t_ns)
        nis, accepted = _relative.range_update(self.x, self.P, float(range_m),
                                               float(sigma_m) ** 2, float(offset_m),
                                               self.range_gate, self.c,
                                               self.range_bias_var_m2 if rangefinder else 0.0)
        return UpdateResult(float(nis), bool(accepted))

    def inflate_target(self, fraction: float) -> None:
        """Reset the covariance around the estimate after a divergence: add (fraction d)^2 per
        axis to the target's position variance and (fraction d n)^2 to its velocity's, d the
        estimated range and n the target's mean motion (the rate at which an along-track
        offset of d turns over in the orbit), so that new bearings re-converge the target.
        The chaser's block and the cross-covariances are kept: GNSS still knows the chaser."""
        d, _ = self.line_of_sight()
        r = float(np.linalg.norm(self.x[:3]))
        n = math.sqrt(MU_EARTH_M3_S2 / r ** 3)
        sigma_r, sigma_v = fraction * d, fraction * d * n
        k = np.arange(3)
        self.P[k, k] += sigma_r ** 2
        self.P[k + 3, k + 3] += sigma_v ** 2

    def line_of_sight(self) -> tuple[float, np.ndarray]:
        """(range (m), unit line of sight chaser -> target, ECI) of the estimate."""
        rho = self.x[:3] - self.x[6:9]
        d = float(np.linalg.norm(rho))
        return d, rho / d

    def range_sigma_m(self) -> float:
        """1-sigma range uncertainty (m) along the estimated line of sight."""
        _, u = self.line_of_sight()
        h = np.concatenate((u, np.zeros(3), -u, np.zeros(3)))
        return math.sqrt(max(float(h @ self.P @ h), 0.0))

    def predicted_range_sigma(self, dv_N, t_burn_ns: int, horizon_s: float,
                              bearing_interval_s: float, bearing_sigma_rad: float,
                              fix_sigma_r_m: float = 3.0, fix_sigma_v_mps: float = 0.03) -> float:
        """Range 1-sigma (m) expected at t + horizon_s if the chaser applies the impulsive
        dv_N (m/s, ECI) at t_burn_ns (>= the filter time) and bearings of 1-sigma
        bearing_sigma_rad, with a GNSS fix of the given 1-sigmas, arrive every
        bearing_interval_s.

        A covariance analysis linearised about the current estimate: a twin of the filter is
        propagated, the burn is added to its chaser's velocity at t_burn_ns, and each epoch
        applies the Kalman covariance updates at the predicted geometry (a measurement equal to
        its prediction leaves the mean where the dynamics take it), so the answer is what this
        filter's own covariance would become. Comparing candidates (including dv_N = 0) tells
        guidance which one makes range observable: a burn helps in proportion to how well the
        chaser knows its own velocity, hence the fixes. The filter itself is not changed.
        """
        if not (horizon_s > 0.0 and bearing_interval_s > 0.0 and bearing_sigma_rad > 0.0):
            raise ValueError("horizon, bearing interval and bearing sigma must be positive")
        dv_N = np.asarray(dv_N, dtype=np.float64)
        if dv_N.shape != (3,) or not np.isfinite(dv_N).all():
            raise ValueError("dv_N must be a finite 3-vector (m/s)")
        if t_burn_ns < self.t_ns:
            raise ValueError("t_burn_ns must not be before the filter time")
        twin = self.copy()
        twin.bearing_gate = math.inf
        t_end_ns = self.t_ns + int(round(horizon_s * NS_PER_S))
        step_ns = int(round(bearing_interval_s * NS_PER_S))
        burn_pending = True
        for t_ns in range(self.t_ns + step_ns, t_end_ns + 1, step_ns):
            if burn_pending and t_burn_ns <= t_ns:
                twin.predict(t_burn_ns)
                twin.x[9:12] += dv_N
                burn_pending = False
            twin.predict(t_ns)
            twin.update_fix(t_ns, twin.x[6:9], twin.x[9:12], fix_sigma_r_m, fix_sigma_v_mps)
            _, u = twin.line_of_sight()
            twin.update_bearing(t_ns, u, bearing_sigma_rad ** 2 * (np.eye(3) - np.outer(u, u)))
        if burn_pending and t_burn_ns <= t_end_ns:
            twin.predict(t_burn_ns)
            twin.x[9:12] += dv_N
        twin.predict(t_end_ns)
        return twin.range_sigma_m()
