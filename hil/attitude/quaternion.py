"""Quaternions of the project's one convention: Euler parameters, scalar first, Hamilton product.

q_BN = [q0, q1, q2, q3] = [cos(phi/2), sin(phi/2) e] describes the attitude of frame B relative
to N (principal axis e, angle phi), exactly Basilisk's Euler parameters (Schaub & Junkins,
"Analytical Mechanics of Space Systems", 4th ed., 2018, Sec. 3.5). C_BN = quat_to_dcm(q_BN)
maps N components to B components: v_B = C_BN @ v_N.

Composition: q_CN = quat_mult(q_BN, q_CB) gives C_CN = C_CB @ C_BN (the successive rotation
N -> B -> C), the Euler-parameter addition of Schaub & Junkins (Sec. 3.5) as a Hamilton product.
Every function takes arrays with the quaternion (or DCM) in the last axis (axes) and
broadcasts over the leading ones. A single quaternion, the plant's sensors' case at every step,
takes a scalar path instead: numpy's per-call overhead on 4-element arrays (slicing, stacking,
np.cross) costs tens of microseconds, Python float arithmetic on the unpacked components a
microsecond. Both paths evaluate the same expressions in the same order, so they agree to the
last bit (tests/hil/test_attitude.py checks it).
"""

import math

import numpy as np

_CONJUGATE_SIGNS = np.array([1.0, -1.0, -1.0, -1.0])


def quat_mult(p, q):
    """Hamilton product p (x) q = [p0 q0 - p.q, p0 q + q0 p + p x q] (scalar first)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape == (4,) and q.shape == (4,):
        return _quat_mult_single(*p.tolist(), *q.tolist())
    p0, pv = p[..., :1], p[..., 1:]
    q0, qv = q[..., :1], q[..., 1:]
    scalar = p0 * q0 - np.sum(pv * qv, axis=-1, keepdims=True)
    vector = p0 * qv + q0 * pv + np.cross(pv, qv)
    return np.concatenate((scalar, vector), axis=-1)


def _quat_mult_single(p0, p1, p2, p3, q0, q1, q2, q3):
    """quat_mult of two single quaternions given as floats, in numpy's order of operations (a
    3-term sum reduces left to right, np.cross takes a1 b2 - a2 b1)."""
    return np.array([
        p0 * q0 - (p1 * q1 + p2 * q2 + p3 * q3),
        p0 * q1 + q0 * p1 + (p2 * q3 - p3 * q2),
        p0 * q2 + q0 * p2 + (p3 * q1 - p1 * q3),
        p0 * q3 + q0 * p3 + (p1 * q2 - p2 * q1),
    ])


def quat_conj(q):
    """Conjugate [q0, -q1, -q2, -q3]: the inverse rotation of a unit quaternion (q_NB from q_BN)."""
    q = np.asarray(q, dtype=np.float64)
    return q * _CONJUGATE_SIGNS


def quat_normalize(q):
    """Unit quaternion along q; raises ValueError for a zero or non-finite q."""
    q = np.asarray(q, dtype=np.float64)
    if q.shape == (4,):
        q0, q1, q2, q3 = q.tolist()
        norm = math.sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3)
        if not (math.isfinite(norm) and norm > 0.0):
            raise ValueError("quaternion must be finite and non-zero to normalise")
        return q / norm
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if not (np.isfinite(norm).all() and (norm > 0.0).all()):
        raise ValueError("quaternion must be finite and non-zero to normalise")
    return q / norm


def quat_to_dcm(q):
    """DCM C (..., 3, 3) of the unit quaternion q (..., 4): v_B = C_BN @ v_N for q = q_BN.

    C = [[q0^2+q1^2-q2^2-q3^2, 2(q1q2+q0q3),        2(q1q3-q0q2)],
         [2(q1q2-q0q3),        q0^2-q1^2+q2^2-q3^2, 2(q2q3+q0q1)],
         [2(q1q3+q0q2),        2(q2q3-q0q1),        q0^2-q1^2-q2^2+q3^2]]
    (Schaub & Junkins 2018, Sec. 3.5).
    """
    q = np.asarray(q, dtype=np.float64)
    if q.shape == (4,):
        return np.array(_dcm_rows(*q.tolist()))
    return np.stack([np.stack(row, axis=-1) for row in _dcm_rows(q[..., 0], q[..., 1], q[..., 2],
                                                                   q[..., 3])], axis=-2)


def _dcm_rows(q0, q1, q2, q3):
    """The rows of quat_to_dcm's C from the components (floats or arrays)."""
    return [
        [q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3, 2 * (q1 * q2 + q0 * q3), 2 * (q1 * q3 - q0 * q2)],
        [2 * (q1 * q2 - q0 * q3), q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3, 2 * (q2 * q3 + q0 * q1)],
        [2 * (q1 * q3 + q0 * q2), 2 * (q2 * q3 - q0 * q1), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3],
    ]


def dcm_to_quat(c):
    """Unit quaternion (..., 4), scalar >= 0, of the rotation matrix c (..., 3, 3).

    Shepperd's method: 4 q_k^2 are computed from the trace and the diagonal, the largest is
    taken as pivot and the other components follow from the off-diagonal sums and differences,
    which keeps the division well conditioned for every rotation (Schaub & Junkins 2018,
    Sec. 3.5; S. W. Shepperd, J. Guidance and Control 1(3), 1978).
    """
    c = np.asarray(c, dtype=np.float64)
    if c.shape[-2:] != (3, 3):
        raise ValueError(f"DCM must have shape (..., 3, 3), got {c.shape}")
    trace = c[..., 0, 0] + c[..., 1, 1] + c[..., 2, 2]
    four_q_sq = np.stack([1.0 + trace,
                          1.0 + 2.0 * c[..., 0, 0] - trace,
                          1.0 + 2.0 * c[..., 1, 1] - trace,
                          1.0 + 2.0 * c[..., 2, 2] - trace], axis=-1)
    # 4 q_i q_j for i != j, from the off-diagonal elements
    q0q1 = c[..., 1, 2] - c[..., 2, 1]
    q0q2 = c[..., 2, 0] - c[..., 0, 2]
    q0q3 = c[..., 0, 1] - c[..., 1, 0]
    q1q2 = c[..., 0, 1] + c[..., 1, 0]
    q1q3 = c[..., 2, 0] + c[..., 0, 2]
    q2q3 = c[..., 1, 2] + c[..., 2, 1]
    products = np.stack([
        np.stack([four_q_sq[..., 0], q0q1, q0q2, q0q3], axis=-1),
        np.stack([q0q1, four_q_sq[..., 1], q1q2, q1q3], axis=-1),
        np.stack([q0q2, q1q2, four_q_sq[..., 2], q2q3], axis=-1),
        np.stack([q0q3, q1q3, q2q3, four_q_sq[..., 3]], axis=-1),
    ], axis=-2)
    pivot = np.argmax(four_q_sq, axis=-1)
    row = np.take_along_axis(products, pivot[..., np.newaxis, np.newaxis], axis=-2)[..., 0, :]
    q = row / (2.0 * np.sqrt(np.take_along_axis(four_q_sq, pivot[..., np.newaxis], axis=-1)))
    q = q * np.where(q[..., :1] < 0.0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)
