"""Attitude control: camera pointing, eigenaxis slew with a rate limit, wheels and desaturation.

Quaternions are the project's: q_BN = [q0, q1, q2, q3], scalar first, Hamilton product, and
C_BN = dcm(q_BN) maps N components to B components (Schaub & Junkins, "Analytical Mechanics of
Space Systems", Ch. 3, Euler parameters).

Pointing (pointing_attitude): the camera boresight, body +z, along the commanded direction;
the secondary constraint turns the body about it so that a body axis (default +x, the solar
array normal) is as close as it can be to the Sun — which also keeps the Sun out of the
camera when it is off the boresight (the "align-constrain" construction, Wertz, "Spacecraft
Attitude Determination and Control", 1978, Sec. 12.2 (TRIAD)).

Control law (AttitudeController): quaternion feedback with the rate-limited eigenaxis slew of
Wie, Bailey & Heiberg, "Rapid Multitarget Acquisition and Pointing Control of Agile
Spacecraft", JGCD 25(1), 2002, eq. 20:

    tau = -J (2 k sat_L(q_e) + c omega_e) + omega x (J omega + h_w)

with q_e the vector part of the error quaternion q_BR (sign chosen for the short way), omega_e
= omega_BN - omega_RN, and sat_L the vector saturation that keeps the direction of q_e (the
eigenaxis) and limits its norm to L = c omega_max / (2 k): at saturation the rate settles at
omega_max about the eigenaxis. Gains from a natural frequency and damping ratio of the
linearised loop (omega_e' = -2k q_e - c omega_e, q_e' = omega_e / 2: k = wn^2, c = 2 zeta wn).

Wheels (WheelArray): four wheels in a pyramid about +z (azimuths 45/135/225/315 deg,
elevation 35.26 deg); the body torque -G u_w comes from motor torques u_w through the
minimum-norm pseudo-inverse u_w = -G^+ tau, plus a null-space term that steers the wheel
momenta towards a common bias (keeps them away from zero speed); commands are scaled down
together (the direction of the torque kept) to the motor limit.

Momentum management (MomentumManager): when the largest wheel momentum exceeds a threshold
the thrusters apply tau_thr = -k_h (h_w - h_bias) and the wheels are told to produce tau -
tau_thr, so the net torque on the body is unchanged and the wheels unload at rate k_h
(Sidi, "Spacecraft Dynamics and Control", 1997, Sec. 7.9), until below a lower threshold.
"""
from dataclasses import dataclass

import numpy as np

PYRAMID_ELEVATION_RAD = float(np.arctan(np.sqrt(0.5)))


# -- quaternions -------------------------------------------------------------------------------
def quat_multiply(p, q):
    """Hamilton product p q of scalar-first quaternions. With the passive DCM of dcm_from_quat,
    C(p q) = C(q) C(p): q_BN = q_RN q_BR."""
    p0, pv = p[0], np.asarray(p[1:])
    q0, qv = q[0], np.asarray(q[1:])
    return np.concatenate([[p0 * q0 - pv @ qv], p0 * qv + q0 * pv + np.cross(pv, qv)])


def quat_rotated(q_BN, omega_BN_B, dt_s):
    """q_BN after dt_s (s) of constant body rate omega_BN_B (rad/s, in B):
    q_BN (x) [cos(theta/2), sin(theta/2) w_hat], theta = |omega| dt (the body turns about w_hat)."""
    omega = np.asarray(omega_BN_B, dtype=np.float64)
    rate = float(np.linalg.norm(omega))
    if rate * dt_s == 0.0:
        return np.asarray(q_BN, dtype=np.float64)
    half = 0.5 * rate * dt_s
    q = quat_multiply(q_BN, np.concatenate([[np.cos(half)], np.sin(half) * omega / rate]))
    return q / np.linalg.norm(q)


def quat_conjugate(q):
    return np.array([q[0], -q[1], -q[2], -q[3]])


def dcm_from_quat(q):
    """C_BN (3, 3) of q_BN, scalar first (Schaub & Junkins eq. 3.98)."""
    q0, q1, q2, q3 = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3, 2 * (q1 * q2 + q0 * q3), 2 * (q1 * q3 - q0 * q2)],
        [2 * (q1 * q2 - q0 * q3), q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3, 2 * (q2 * q3 + q0 * q1)],
        [2 * (q1 * q3 + q0 * q2), 2 * (q2 * q3 - q0 * q1), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3],
    ])


def quat_from_dcm(C):
    """q_BN (scalar first, q0 >= 0) of C_BN, by Sheppard's method (Schaub & Junkins Sec. 3.5)."""
    C = np.asarray(C, dtype=np.float64)
    tr = np.trace(C)
    squares = np.array([1 + tr, 1 + 2 * C[0, 0] - tr, 1 + 2 * C[1, 1] - tr, 1 + 2 * C[2, 2] - tr]) / 4
    k = int(np.argmax(squares))
    q = np.empty(4)
    q[k] = np.sqrt(squares[k])
    d = 4 * q[k]
    off = {0: (C[1, 2] - C[2, 1], C[2, 0] - C[0, 2], C[0, 1] - C[1, 0]),
           1: (C[1, 2] - C[2, 1], C[0, 1] + C[1, 0], C[2, 0] + C[0, 2]),
           2: (C[2, 0] - C[0, 2], C[0, 1] + C[1, 0], C[1, 2] + C[2, 1]),
           3: (C[0, 1] - C[1, 0], C[2, 0] + C[0, 2], C[1, 2] + C[2, 1])}[k]
    others = [i for i in range(4) if i != k]
    q[others] = np.array(off) / d
    return q if q[0] >= 0 else -q


# -- pointing ----------------------------------------------------------------------------------
def pointing_attitude(boresight_N, sun_N, boresight_B=(0.0, 0.0, 1.0), panel_B=(1.0, 0.0, 0.0)):
    """q_RN of the attitude R that puts body boresight_B along boresight_N (unit, ECI) with
    body panel_B as close to sun_N (ECI) as the first constraint allows (module docstring).
    If the Sun is along the boresight, any roll is taken (the orbit normal is not known here)."""
    b = np.asarray(boresight_N, dtype=np.float64)
    b = b / np.linalg.norm(b)
    s = np.asarray(sun_N, dtype=np.float64)
    s_perp = s - (s @ b) * b
    if np.linalg.norm(s_perp) < 1e-6 * max(np.linalg.norm(s), 1e-30):
        s_perp = np.cross(b, [1.0, 0.0, 0.0] if abs(b[0]) < 0.9 else [0.0, 1.0, 0.0])
    p = s_perp / np.linalg.norm(s_perp)
    triad_N = np.column_stack([b, p, np.cross(b, p)])
    bb = np.asarray(boresight_B, dtype=np.float64)
    pb = np.asarray(panel_B, dtype=np.float64)
    pb = pb - (pb @ bb) * bb
    pb /= np.linalg.norm(pb)
    triad_B = np.column_stack([bb, pb, np.cross(bb, pb)])
    return quat_from_dcm(triad_B @ triad_N.T)


def sun_off_boresight_rad(q_BN, sun_N, boresight_B=(0.0, 0.0, 1.0)) -> float:
    """Angle (rad) between the camera boresight and the Sun for attitude q_BN."""
    b_N = dcm_from_quat(q_BN).T @ np.asarray(boresight_B)
    s = np.asarray(sun_N) / np.linalg.norm(sun_N)
    return float(np.arccos(np.clip(b_N @ s, -1.0, 1.0)))


# -- control law ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttitudeController:
    """Rate-limited eigenaxis quaternion feedback (module docstring).

    inertia_B (3, 3) kg m^2; wn_rad_s natural frequency and zeta damping of the linear loop;
    omega_max_rad_s the slew rate limit.
    """

    inertia_B: np.ndarray
    wn_rad_s: float = 0.1
    zeta: float = 0.9
    omega_max_rad_s: float = np.radians(1.0)

    def __post_init__(self):
        J = np.asarray(self.inertia_B, dtype=np.float64)
        if J.shape != (3, 3) or not np.allclose(J, J.T) or np.any(np.linalg.eigvalsh(J) <= 0):
            raise ValueError("inertia_B must be a symmetric positive definite 3x3 matrix")
        if not (self.wn_rad_s > 0 and self.zeta > 0 and self.omega_max_rad_s > 0):
            raise ValueError("wn_rad_s, zeta and omega_max_rad_s must be positive")
        object.__setattr__(self, "inertia_B", J)

    @property
    def k(self) -> float:
        return self.wn_rad_s**2

    @property
    def c(self) -> float:
        return 2.0 * self.zeta * self.wn_rad_s

    def torque(self, q_BN, omega_BN_B, q_RN, omega_RN_R=np.zeros(3), h_wheels_B=np.zeros(3)):
        """Body control torque (N m, B) to track R: q_RN, omega_RN_R (rad/s, in R)."""
        q_BR = quat_multiply(quat_conjugate(q_RN), q_BN)
        q_e = np.sign(q_BR[0] if q_BR[0] != 0 else 1.0) * q_BR[1:]
        omega_RN_B = dcm_from_quat(q_BR) @ np.asarray(omega_RN_R)
        omega_e = np.asarray(omega_BN_B) - omega_RN_B
        limit = self.c * self.omega_max_rad_s / (2.0 * self.k)
        norm = np.linalg.norm(q_e)
        sat = q_e if norm <= limit else q_e * (limit / norm)
        J = self.inertia_B
        omega = np.asarray(omega_BN_B)
        return -J @ (2.0 * self.k * sat + self.c * omega_e) + np.cross(omega, J @ omega + h_wheels_B)


def attitude_error_rad(q_BN, q_RN) -> float:
    """Principal angle (rad) between B and R."""
    q = quat_multiply(quat_conjugate(q_RN), q_BN)
    return float(2.0 * np.arccos(min(abs(q[0]), 1.0)))


# -- wheels --------------------------------------------------------------------------------------
def pyramid_axes_B(elevation_rad=PYRAMID_ELEVATION_RAD) -> np.ndarray:
    """G (3, 4): spin axes of the four pyramid wheels about +z, as columns."""
    az = np.radians([45.0, 135.0, 225.0, 315.0])
    return np.vstack([np.cos(elevation_rad) * np.cos(az), np.cos(elevation_rad) * np.sin(az),
                      np.full(4, np.sin(elevation_rad))])


@dataclass(frozen=True)
class WheelArray:
    """Motor torque distribution for the wheel pyramid (module docstring)."""

    G: np.ndarray
    max_torque_Nm: float = 0.1
    max_momentum_Nms: float = 1.0
    null_gain_per_s: float = 0.01
    bias_Nms: float = 0.1

    def __post_init__(self):
        G = np.asarray(self.G, dtype=np.float64)
        if G.ndim != 2 or G.shape[0] != 3 or np.linalg.matrix_rank(G) < 3:
            raise ValueError("G must be 3 x n with the wheel axes spanning 3-D")
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "_G_pinv", np.linalg.pinv(G))
        object.__setattr__(self, "_null", np.linalg.svd(G)[2][-1])

    @classmethod
    def pyramid(cls, **kwargs):
        return cls(pyramid_axes_B(), **kwargs)

    def motor_torques(self, torque_B, h_wheels=np.zeros(4)):
        """Motor torques u_w (4,) (N m) giving body torque torque_B (= -G u_w), with the
        null-space term steering the wheel momenta h_wheels (4,) to the bias; scaled down
        together to the motor limit."""
        u = -self._G_pinv @ np.asarray(torque_B)
        null = self._null
        u = u - self.null_gain_per_s * null * (null @ (np.asarray(h_wheels) - self.bias_Nms))
        peak = np.max(np.abs(u))
        return u * (self.max_torque_Nm / peak) if peak > self.max_torque_Nm else u

    def body_momentum(self, h_wheels):
        """Total wheel momentum (N m s, B) of wheel momenta h_wheels (4,)."""
        return self.G @ np.asarray(h_wheels)


@dataclass
class MomentumManager:
    """Wheel desaturation by thrusters with hysteresis (module docstring)."""

    start_Nms: float = 0.7
    stop_Nms: float = 0.2
    gain_per_s: float = 0.05
    active: bool = False

    def thruster_torque(self, h_wheels, G, bias_Nms=0.0):
        """Thruster torque (N m, B) to command now, zero when not unloading."""
        h_wheels = np.asarray(h_wheels)
        peak = float(np.max(np.abs(h_wheels)))
        if peak > self.start_Nms:
            self.active = True
        elif peak < self.stop_Nms:
            self.active = False
        if not self.active:
            return np.zeros(3)
        return -self.gain_per_s * (G @ (h_wheels - bias_Nms))
