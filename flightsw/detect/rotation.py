"""Rotations for detection: Euler parameters, direction cosines and small-angle errors.

The project's one convention: q_BN = [q0, q1, q2, q3] = [cos(phi/2), sin(phi/2) e], scalar
first, the Euler parameters of Basilisk (Schaub & Junkins, Analytical Mechanics of Space
Systems, 4th ed., 2018, section 3.5); C_BN = dcm_from_quaternion(q_BN) maps N components to B
components, v_B = C_BN @ v_N.  Composition with the Hamilton product:
q_CN = quaternion_multiply(q_BN, q_CB) gives C_CN = C_CB @ C_BN.

An attitude error theta (rad, small, in the frame B) means C_BN_est = (I - [theta x]) C_BN_true,
i.e. q_BN_est = q_BN_true (x) rotation_quaternion(theta).
"""
import numpy as np


def quaternion_multiply(p, q) -> np.ndarray:
    """Hamilton product p (x) q = [p0 q0 - p.q, p0 q + q0 p + p x q] (scalar first)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    scalar = p[0] * q[0] - p[1:] @ q[1:]
    vector = p[0] * q[1:] + q[0] * p[1:] + np.cross(p[1:], q[1:])
    return np.concatenate(([scalar], vector))


def quaternion_conjugate(q) -> np.ndarray:
    """[q0, -q1, -q2, -q3]: the inverse rotation of a unit quaternion (q_NB from q_BN)."""
    return np.asarray(q, dtype=np.float64) * np.array([1.0, -1.0, -1.0, -1.0])


def unit_quaternion(q, name: str = "q") -> np.ndarray:
    """q normalised, scalar part made non-negative; ValueError unless q is a finite non-zero 4-vector."""
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (4,) or not np.isfinite(q).all():
        raise ValueError(f"{name} must be a finite 4-vector, got {q!r}")
    norm = np.linalg.norm(q)
    if norm < 1e-9:
        raise ValueError(f"{name} must be non-zero")
    return q / norm if q[0] >= 0.0 else -q / norm


def dcm_from_quaternion(q) -> np.ndarray:
    """C_BN from q_BN (unit, scalar first); Schaub & Junkins 2018, eq. 3.94."""
    q0, q1, q2, q3 = np.asarray(q, dtype=np.float64)
    return np.array([
        [q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3, 2 * (q1 * q2 + q0 * q3), 2 * (q1 * q3 - q0 * q2)],
        [2 * (q1 * q2 - q0 * q3), q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3, 2 * (q2 * q3 + q0 * q1)],
        [2 * (q1 * q3 + q0 * q2), 2 * (q2 * q3 - q0 * q1), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3],
    ])


def quaternion_from_dcm(c) -> np.ndarray:
    """q_BN (scalar >= 0) of the rotation matrix C_BN by Shepperd's method.

    The largest of 4 q_k^2 (from the trace and the diagonal) is the pivot, the rest follow from
    off-diagonal sums and differences: well conditioned for every rotation (Shepperd,
    J. Guidance and Control 1(3), 1978; Schaub & Junkins 2018, section 3.5).
    """
    c = np.asarray(c, dtype=np.float64)
    trace = np.trace(c)
    four_q_sq = np.array([1.0 + trace, 1.0 + 2 * c[0, 0] - trace,
                          1.0 + 2 * c[1, 1] - trace, 1.0 + 2 * c[2, 2] - trace])
    products = np.array([
        [four_q_sq[0], c[1, 2] - c[2, 1], c[2, 0] - c[0, 2], c[0, 1] - c[1, 0]],
        [c[1, 2] - c[2, 1], four_q_sq[1], c[0, 1] + c[1, 0], c[2, 0] + c[0, 2]],
        [c[2, 0] - c[0, 2], c[0, 1] + c[1, 0], four_q_sq[2], c[1, 2] + c[2, 1]],
        [c[0, 1] - c[1, 0], c[2, 0] + c[0, 2], c[1, 2] + c[2, 1], four_q_sq[3]],
    ])
    pivot = int(np.argmax(four_q_sq))
    q = products[pivot] / (2.0 * np.sqrt(four_q_sq[pivot]))
    return unit_quaternion(q)


def rotation_quaternion(rotation_vector) -> np.ndarray:
    """q of the frame rotation by |a| (rad) about a / |a|: [cos(|a|/2), sin(|a|/2) a / |a|]."""
    a = np.asarray(rotation_vector, dtype=np.float64)
    angle = float(np.linalg.norm(a))
    if angle < 1e-300:
        return np.array([1.0, 0.0, 0.0, 0.0])
    return np.concatenate(([np.cos(angle / 2)], np.sin(angle / 2) / angle * a))


def rotation_vector(q) -> np.ndarray:
    """Rotation vector (rad) of a unit quaternion, the inverse of rotation_quaternion (angle <= pi)."""
    q = unit_quaternion(q)
    sin_half = np.linalg.norm(q[1:])
    if sin_half < 1e-300:
        return np.zeros(3)
    return 2.0 * np.arctan2(sin_half, q[0]) / sin_half * q[1:]


def attitude_error(q_est, q_true) -> np.ndarray:
    """Small-angle error theta (rad, in the frame of q_true) with q_est = q_true (x) q(theta)."""
    return rotation_vector(quaternion_multiply(quaternion_conjugate(q_true), q_est))


def propagate_attitude(q_BN, omega_BN_B, dt_s: float) -> np.ndarray:
    """q_BN after dt_s at the constant body rate omega_BN_B (rad/s, in B).

    The body turns by omega dt about omega: C_BN(t + dt) = C_B'B C_BN(t) with C_B'B the frame
    rotation by |omega| dt, i.e. q_BN (x) q(omega dt) (Schaub & Junkins 2018, eq. 3.104,
    integrated exactly for a constant rate).
    """
    step = rotation_quaternion(np.asarray(omega_BN_B, dtype=np.float64) * dt_s)
    return unit_quaternion(quaternion_multiply(q_BN, step))


def skew(v) -> np.ndarray:
    """[v x], the matrix of the cross product: skew(v) @ w = v x w."""
    x, y, z = v
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
