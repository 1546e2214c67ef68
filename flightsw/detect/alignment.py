"""Calibration of the attitude prior against the camera's own star fits.

The attitude estimate detect receives comes from the star tracker through nav's MEKF, and the
tracker's mount is known only to its calibration residual (thermo-elastic and alignment
bias, ~10 arcsec per axis: the low-frequency bias term of ECSS-E-ST-60-20C's error budget),
which the MEKF cannot see and leaves out of its covariance.  The camera sees the same sky, so
each frame's star fit measures the prior's error in the body frame:

    q_BN_prior = q_BN_fit (x) q(theta),        theta = attitude_error(q_BN_prior, q_BN_fit)

(the convention of flightsw.detect.rotation), with covariance P_fit_B + P_att_B.  A
three-state Kalman filter estimates the slowly varying offset b behind theta (random-walk
process noise for the thermo-elastic drift, which also keeps the filter from averaging the
MEKF's own time-correlated error down to nothing), gating each measurement by its NIS so a
misidentified fit does not pull it.  Every frame's prior is then corrected,

    q_BN_corrected = q_BN_prior (x) q(-b),     P_corrected = P_att_B + P_b,

which is what frames without enough stars for a fit (close in, where the exposure that keeps
the target below saturation leaves a handful of stars) must live on; frames with a fit start
their star search from it too.

    calibration = PriorCalibration(AlignmentConfig())
    q, P = calibration.correct(q_BN_prior, P_att_B)
    calibration.update(t_s, q_BN_prior, P_att_B, q_BN_fit, P_fit_B)   # after a valid fit
"""
from dataclasses import dataclass

import numpy as np

from flightsw.detect.rotation import attitude_error, quaternion_multiply, rotation_quaternion, unit_quaternion

ARCSEC_RAD = np.pi / (180.0 * 3600.0)


@dataclass(frozen=True)
class AlignmentConfig:
    """initial_sigma_arcsec: 1-sigma per axis of the offset before any fit (the star tracker's
    alignment budget); drift_arcsec_per_sqrt_s: its random walk; gate_nis: largest NIS (3
    degrees of freedom; 21.1 is the 99.99 % point) of an accepted fit; restart_after: this many
    fits refused in a row restart the calibration from its initial sigma (the offset moved, or
    the filter locked onto a bad fit)."""

    initial_sigma_arcsec: float = 10.0
    drift_arcsec_per_sqrt_s: float = 0.05
    gate_nis: float = 21.1
    restart_after: int = 10

    def __post_init__(self):
        if not (self.initial_sigma_arcsec > 0 and self.drift_arcsec_per_sqrt_s >= 0
                and self.gate_nis > 0 and self.restart_after >= 1):
            raise ValueError("AlignmentConfig: sigmas and gate must be positive, restart_after >= 1")


class PriorCalibration:
    """The body-frame offset b (rad) of the attitude prior from the star fits, and its
    covariance P (rad^2).  accepted / refused / restarts count the fits it saw."""

    def __init__(self, config: AlignmentConfig = AlignmentConfig()):
        self.config = config
        self.accepted = 0
        self.refused = 0
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self.b = np.zeros(3)
        self.P = np.eye(3) * (self.config.initial_sigma_arcsec * ARCSEC_RAD) ** 2
        self.t_s: float | None = None
        self._refused_in_row = 0

    @property
    def sigma_rad(self) -> float:
        """The largest 1-sigma of the offset estimate (rad)."""
        return float(np.sqrt(np.linalg.eigvalsh(self.P)[-1]))

    def correct(self, q_BN_prior, P_att_B):
        """The prior with the offset taken out, and its covariance with the offset's added."""
        q = quaternion_multiply(unit_quaternion(q_BN_prior, "q_BN_prior"), rotation_quaternion(-self.b))
        return unit_quaternion(q), np.asarray(P_att_B, dtype=float) + self.P

    def _predict(self, t_s: float) -> None:
        if self.t_s is not None and t_s > self.t_s:
            self.P = self.P + np.eye(3) * (self.config.drift_arcsec_per_sqrt_s * ARCSEC_RAD) ** 2 * (t_s - self.t_s)
        self.t_s = t_s if self.t_s is None else max(self.t_s, t_s)

    def update(self, t_s: float, q_BN_prior, P_att_B, q_BN_fit, P_fit_B) -> bool:
        """Take one star fit at t_s: the uncorrected prior (q_BN_prior, P_att_B) and the fitted
        body attitude with its covariance in B.  Returns whether the fit was accepted."""
        self._predict(float(t_s))
        R = np.asarray(P_att_B, dtype=float) + np.asarray(P_fit_B, dtype=float)
        if not (R.shape == (3, 3) and np.isfinite(R).all()):
            return self._refuse()
        R = 0.5 * (R + R.T)
        innovation = attitude_error(q_BN_prior, q_BN_fit) - self.b
        S = self.P + R
        try:
            solved = np.linalg.solve(S, innovation)
        except np.linalg.LinAlgError:
            return self._refuse()
        if not (np.all(np.isfinite(solved)) and innovation @ solved <= self.config.gate_nis):
            return self._refuse()
        gain = np.linalg.solve(S, self.P).T              # P S^-1 (S and P symmetric)
        self.b = self.b + gain @ innovation
        I_K = np.eye(3) - gain
        self.P = I_K @ self.P @ I_K.T + gain @ R @ gain.T  # Joseph form
        self.P = 0.5 * (self.P + self.P.T)
        self.accepted += 1
        self._refused_in_row = 0
        return True

    def _refuse(self) -> bool:
        """Count a refused fit; restart_after in a row restart the calibration."""
        self.refused += 1
        self._refused_in_row += 1
        if self._refused_in_row >= self.config.restart_after:
            self._start()
            self.restarts += 1
        return False
