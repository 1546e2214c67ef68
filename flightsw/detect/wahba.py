"""Weighted least-squares attitude from matched directions: Davenport's q-method and its covariance.

Wahba's problem: find C minimising L(C) = 1/2 sum_i w_i |b_i - C r_i|^2 for unit vectors b_i
measured in the body (here the camera) and r_i known in the reference frame.  Davenport's
q-method (Keat 1977; Markley & Crassidis, Fundamentals of Spacecraft Attitude Determination and
Control, 2014, section 5.5.3): with B = sum_i w_i b_i r_i^T, S = B + B^T, sigma = tr B and
z = sum_i w_i b_i x r_i, the optimal quaternion is the eigenvector of the largest eigenvalue of

    K = [[sigma, z^T], [z, S - sigma I]]       (scalar-first ordering).

With w_i = 1 / sigma_i^2 (sigma_i the angular noise of b_i) the error covariance of the
small-angle rotation (in the body frame) is P = (sum_i w_i (I - b_i b_i^T))^-1 (Shuster &
Oh 1981, J. Guidance and Control 4(1), 70, "QUEST" covariance; Markley & Crassidis eq. 5.148).
"""
from dataclasses import dataclass

import numpy as np

from flightsw.detect.rotation import dcm_from_quaternion, unit_quaternion


@dataclass(frozen=True)
class WahbaSolution:
    """q_BR (C_BR maps reference components to body components), its covariance P_theta (rad^2,
    body frame), the per-pair residual angles (rad) and their RMS."""

    q_BR: np.ndarray
    C_BR: np.ndarray
    P_theta: np.ndarray
    residual_rad: np.ndarray
    rms_rad: float


def solve_wahba(b: np.ndarray, r: np.ndarray, sigma_rad: np.ndarray) -> WahbaSolution:
    """Optimal rotation from n >= 2 non-parallel pairs (b_i in B, r_i in R), angular noise sigma_rad.

    Raises ValueError for fewer than two pairs, mismatched shapes, non-positive noise, or
    geometry that leaves the attitude unobservable (all directions parallel).
    """
    b = np.atleast_2d(np.asarray(b, dtype=float))
    r = np.atleast_2d(np.asarray(r, dtype=float))
    sigma_rad = np.broadcast_to(np.asarray(sigma_rad, dtype=float), (len(b),))
    if b.shape != r.shape or b.shape[1:] != (3,):
        raise ValueError(f"b and r must both be (n, 3), got {b.shape} and {r.shape}")
    if len(b) < 2:
        raise ValueError(f"need at least two vector pairs, got {len(b)}")
    if not (np.all(sigma_rad > 0) and np.all(np.isfinite(sigma_rad))):
        raise ValueError("sigma_rad must be positive and finite")
    w = 1.0 / sigma_rad**2
    information = w.sum() * np.eye(3) - (b * w[:, None]).T @ b
    eigen_info = np.linalg.eigvalsh(information)
    if eigen_info[0] <= 1e-9 * eigen_info[-1]:
        raise ValueError("attitude unobservable: the directions are (nearly) parallel")
    # Weights scaled to unit sum: the eigenvector is unchanged, the eigenvalues stay O(1).
    B = (b * (w / w.sum())[:, None]).T @ r
    # z = sum_i w_i b_i x r_i, read off the antisymmetric part of B
    z = np.array([B[1, 2] - B[2, 1], B[2, 0] - B[0, 2], B[0, 1] - B[1, 0]])
    sigma = np.trace(B)
    K = np.empty((4, 4))
    K[0, 0] = sigma
    K[0, 1:] = z
    K[1:, 0] = z
    K[1:, 1:] = B + B.T - sigma * np.eye(3)
    _, vectors = np.linalg.eigh(K)
    q = unit_quaternion(vectors[:, -1], "q_BR")
    C = dcm_from_quaternion(q)
    predicted = r @ C.T
    # the angle from the chord between unit vectors: exact, and accurate for tiny angles
    chord = np.linalg.norm(b - predicted, axis=1)
    residual = 2.0 * np.arcsin(np.minimum(0.5 * chord, 1.0))
    return WahbaSolution(q, C, np.linalg.inv(information), residual,
                         float(np.sqrt(np.mean(residual**2))))
