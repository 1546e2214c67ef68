"""Pieces every navigation EKF shares: update outcomes, input checks, the Joseph update."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class UpdateResult:
    """Outcome of one measurement update: its NIS and whether it passed the gate."""

    nis: float
    accepted: bool


def check_state_and_covariance(x, P, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x (n,) and P (n, n) as fresh float64 arrays; ValueError unless finite, P symmetric PD."""
    x = np.array(x, dtype=np.float64)
    P = np.array(P, dtype=np.float64)
    if x.shape != (n,) or P.shape != (n, n):
        raise ValueError(f"state must be ({n},) and covariance ({n}, {n}); "
                         f"got {x.shape}, {P.shape}")
    if not (np.isfinite(x).all() and np.isfinite(P).all()):
        raise ValueError("state and covariance must be finite")
    if not np.abs(P - P.T).max() <= 1e-9 * np.abs(P).max():
        raise ValueError("covariance must be symmetric")
    try:
        np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        raise ValueError("covariance must be positive definite") from None
    return x, np.ascontiguousarray(0.5 * (P + P.T))


def joseph_update(x, P, H, R, y):
    """(x + K y, (I - K H) P (I - K H)^T + K R K^T) with K = P H^T S^-1, S = H P H^T + R.

    The Joseph form keeps P symmetric positive definite for any gain (Bar-Shalom, Li &
    Kirubarajan, Estimation with Applications to Tracking and Navigation, 2001, ch. 5).
    """
    S = H @ P @ H.T + R
    K = np.linalg.solve(S, H @ P).T
    A = np.eye(len(x)) - K @ H
    P = A @ P @ A.T + K @ R @ K.T
    return x + K @ y, np.ascontiguousarray(0.5 * (P + P.T))
