"""Attitude determination: a multiplicative extended Kalman filter (MEKF) on gyro and star tracker.

Convention: q_BN scalar first, C_BN = dcm(q_BN) maps ECI components to body components, and
q_CN = q_BN (x) q_CB composes N -> B -> C (the project's Hamilton product on Euler parameters).
The attitude error is a small rotation delta_theta in the body frame with
q_BN_true = q_BN_est (x) [1, delta_theta / 2], i.e. C_true = (I - [delta_theta x]) C_est.

State: q_BN (4, kept outside the covariance) and gyro bias beta (rad/s); error state
[delta_theta, delta_beta] with covariance P (6x6). Gyro model omega_m = omega + beta + eta_v,
beta' = eta_u (Farrenkopf; spectral densities sigma_v^2, sigma_u^2).

Propagation over dt with omega = omega_m - beta held constant (Markley & Crassidis,
Fundamentals of Spacecraft Attitude Determination and Control, 2014, ch. 6, written for
the body-frame error): q <- q (x) [cos(|omega| dt / 2), sin(|omega| dt / 2) omega / |omega|],
Phi = [[Phi11, Phi12], [0, I]] with Phi11 = exp(-[omega x] dt) and
Phi12 = -integral_0^dt exp(-[omega x] s) ds, and Q = [[sigma_v^2 dt + sigma_u^2 dt^3 / 3,
-sigma_u^2 dt^2 / 2], [-sigma_u^2 dt^2 / 2, sigma_u^2 dt]] per axis (ibid., sec. 6.2, with the
body-frame sign). Star tracker update: residual delta_theta_m = 2 vec(q_est^-1 (x) q_meas)
(scalar part made positive), H = [I, 0], R = sigma_cross^2 (I - b b^T) + sigma_roll^2 b b^T for
the tracker boresight b in B; the reset folds delta_theta into q and zeroes it. A solution
outside the gate is refused; REACQUIRE_AFTER refused in a row restart the attitude on the
tracker (a converged covariance would otherwise refuse every good solution once the estimate
has been pushed off, and the estimate would drift on the gyro for good).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

from flightsw.nav.ekf import NS_PER_S, UpdateResult, joseph_update

# star tracker solutions gated in a row after which the estimate, not the tracker, is wrong
REACQUIRE_AFTER = 5
TRACKER_GATE_CHI2 = float(chi2.ppf(0.9999, 3))


def quat_multiply(p, q) -> np.ndarray:
    """Hamilton product p (x) q = [p0 q0 - p.q, p0 q + q0 p + p x q] of scalar-first quaternions."""
    p0, p1, p2, p3 = p
    q0, q1, q2, q3 = q
    return np.array([p0 * q0 - p1 * q1 - p2 * q2 - p3 * q3,
                     p0 * q1 + q0 * p1 + p2 * q3 - p3 * q2,
                     p0 * q2 + q0 * p2 + p3 * q1 - p1 * q3,
                     p0 * q3 + q0 * p3 + p1 * q2 - p2 * q1])


def quat_conjugate(q) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) * np.array([1.0, -1.0, -1.0, -1.0])


def rotation_quaternion(theta) -> np.ndarray:
    """[cos(|theta|/2), sin(|theta|/2) theta/|theta|] of the rotation vector theta (rad)."""
    angle = float(np.linalg.norm(theta))
    if angle < 1e-12:
        return np.concatenate(([1.0], 0.5 * np.asarray(theta, dtype=np.float64)))
    return np.concatenate(([math.cos(angle / 2)], math.sin(angle / 2) * np.asarray(theta) / angle))


def skew(w) -> np.ndarray:
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def attitude_error(q_est, q_meas) -> np.ndarray:
    """Small rotation (rad, body) taking q_est to q_meas: 2 vec(q_est^-1 (x) q_meas)."""
    dq = quat_multiply(quat_conjugate(q_est), q_meas)
    return 2.0 * np.sign(dq[0] or 1.0) * dq[1:]


def transition(omega, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """(Phi11, Phi12) of the body-frame error over dt at the constant rate omega (rad/s)."""
    w = float(np.linalg.norm(omega))
    W = skew(omega)
    if w * dt < 1e-8:
        return np.eye(3) - W * dt, -(np.eye(3) * dt - W * dt ** 2 / 2)
    s, c = math.sin(w * dt), math.cos(w * dt)
    phi11 = np.eye(3) - s / w * W + (1 - c) / w ** 2 * W @ W
    phi12 = -(np.eye(3) * dt - (1 - c) / w ** 2 * W + (w * dt - s) / w ** 3 * W @ W)
    return phi11, phi12


class AttitudeFilter:
    """MEKF; see the module docstring. Starts on its first star tracker solution.

    sigma_v (rad/sqrt(s)) angle random walk, sigma_u (rad/s/sqrt(s)) rate random walk,
    bias_sigma0 (rad/s) turn-on bias, boresight_B the star tracker boresight in B.
    """

    def __init__(self, sigma_v: float, sigma_u: float, bias_sigma0: float,
                 boresight_B=(0.0, 0.0, 1.0), gate: float = TRACKER_GATE_CHI2,
                 reacquire_after: int = REACQUIRE_AFTER):
        b = np.asarray(boresight_B, dtype=np.float64)
        if b.shape != (3,) or not np.isfinite(b).all() or np.linalg.norm(b) == 0.0:
            raise ValueError("boresight_B must be a finite non-zero 3-vector")
        if not (sigma_v > 0.0 and sigma_u >= 0.0 and bias_sigma0 > 0.0):
            raise ValueError("gyro noise densities and the bias sigma must be positive")
        self.sigma_v, self.sigma_u, self.bias_sigma0 = sigma_v, sigma_u, bias_sigma0
        self.boresight_B = b / np.linalg.norm(b)
        self.gate = gate
        self.reacquire_after = int(reacquire_after)
        self.gated_in_a_row = 0
        self.reacquisitions = 0
        self.t_ns: int | None = None
        self.q = np.array([1.0, 0.0, 0.0, 0.0])
        self.bias = np.zeros(3)
        self.P = np.zeros((6, 6))
        self.omega_meas = np.zeros(3)

    @property
    def initialised(self) -> bool:
        return self.t_ns is not None

    @property
    def omega_BN_B(self) -> np.ndarray:
        """The body rate: last gyro sample less the estimated bias (rad/s)."""
        return self.omega_meas - self.bias

    def propagate(self, t_ns: int) -> None:
        """Propagate q, P to t_ns with the last gyro rate held (ValueError if before t)."""
        dt = (int(t_ns) - self.t_ns) / NS_PER_S
        if dt < 0.0:
            raise ValueError(f"cannot propagate backwards ({dt} s)")
        if dt == 0.0:
            return
        omega = self.omega_BN_B
        q = quat_multiply(self.q, rotation_quaternion(omega * dt))
        self.q = q / np.linalg.norm(q)
        phi11, phi12 = transition(omega, dt)
        Phi = np.eye(6)
        Phi[:3, :3], Phi[:3, 3:] = phi11, phi12
        sv2, su2 = self.sigma_v ** 2, self.sigma_u ** 2
        P = Phi @ self.P @ Phi.T
        diagonal = np.arange(3)
        P[diagonal, diagonal] += sv2 * dt + su2 * dt ** 3 / 3
        P[diagonal + 3, diagonal + 3] += su2 * dt
        P[diagonal, diagonal + 3] -= su2 * dt ** 2 / 2
        P[diagonal + 3, diagonal] -= su2 * dt ** 2 / 2
        self.P = 0.5 * (P + P.T)
        self.t_ns = int(t_ns)

    def _reacquire(self, q_meas, R) -> None:
        """Restart the attitude on the tracker's solution; the bias estimate kept, its
        covariance reset to the turn-on one, the correlations dropped."""
        self.q = q_meas.copy()
        self.P = np.zeros((6, 6))
        self.P[:3, :3] = R
        self.P[3:, 3:] = self.bias_sigma0 ** 2 * np.eye(3)
        self.gated_in_a_row = 0
        self.reacquisitions += 1

    def gyro(self, t_ns: int, omega_meas) -> None:
        """Propagate to the sample's time with the mean of the previous and this sample's rate
        (the trapezoid: holding the previous rate alone errs by alpha dt^2 / 2 under an angular
        acceleration alpha, 0.1 deg a second at the start of a slew with a 1 Hz gyro), then
        hold this one."""
        omega_meas = np.array(omega_meas, dtype=np.float64)
        if self.initialised:
            held = self.omega_meas
            self.omega_meas = 0.5 * (held + omega_meas)
            self.propagate(t_ns)
        self.omega_meas = omega_meas

    def star_tracker(self, t_ns: int, q_meas, sigma_cross: float,
                     sigma_roll: float) -> UpdateResult:
        """Fuse a star tracker q_BN (or start on it); sigmas in rad, 1-sigma per axis."""
        q_meas = np.asarray(q_meas, dtype=np.float64) / np.linalg.norm(q_meas)
        b = self.boresight_B
        R = sigma_cross ** 2 * (np.eye(3) - np.outer(b, b)) + sigma_roll ** 2 * np.outer(b, b)
        if not self.initialised:
            self.t_ns, self.q = int(t_ns), q_meas.copy()
            self.P = np.zeros((6, 6))
            self.P[:3, :3] = R
            self.P[3:, 3:] = self.bias_sigma0 ** 2 * np.eye(3)
            return UpdateResult(0.0, True)
        self.propagate(t_ns)
        y = attitude_error(self.q, q_meas)
        H = np.hstack((np.eye(3), np.zeros((3, 3))))
        nis = float(y @ np.linalg.solve(self.P[:3, :3] + R, y))
        if not nis <= self.gate:
            self.gated_in_a_row += 1
            if self.gated_in_a_row >= self.reacquire_after:
                # the tracker has disagreed too often in a row to be the outlier: the estimate
                # is, and a converged covariance would gate every good solution from now on
                self._reacquire(q_meas, R)
            return UpdateResult(nis, False)
        self.gated_in_a_row = 0
        dx, self.P = joseph_update(np.zeros(6), self.P, H, R, y)
        q = quat_multiply(self.q, rotation_quaternion(dx[:3]))
        self.q = q / np.linalg.norm(q) * (1.0 if q[0] >= 0.0 else -1.0)
        self.bias = self.bias + dx[3:]
        return UpdateResult(nis, True)
