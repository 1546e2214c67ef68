"""The chaser's own orbit: an extended Kalman filter on GNSS fixes.

State x = [r_BN_N, v_BN_N] (m, m/s, ECI J2000), propagated with two-body + J2 and its state
transition matrix (``dynamics.predict_inplace``); unmodelled accelerations (drag, solar
pressure, small thrust errors) are white acceleration noise of PSD q. A GNSS fix measures the
whole state, H = I, R = diag(sigma_r^2 I, sigma_v^2 I) as the receiver reports it, fused by the
Joseph form after a 6-dof chi-square gate on the innovation.

Manoeuvres the filter is not told about show as a run of gated fixes: when ``manoeuvre_after``
consecutive fixes fail the gate, the last innovation is taken as evidence of an unmodelled
impulse and its square is added to the covariance's diagonal before the fix is fused (a
covariance reset on detection, Bar-Shalom, Li & Kirubarajan 2001, ch. 11). A lone outlier
is rejected. ``FixFuser`` does this for any state holding the chaser's [r, v] as a block, so the
relative filter (which carries the chaser too) fuses fixes the same way.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

from flightsw.nav.dynamics import STEP_MAX_S, add_impulse, predict_inplace
from flightsw.nav.ekf import NS_PER_S, UpdateResult, check_state_and_covariance, joseph_update

FIX_GATE_CHI2 = float(chi2.ppf(0.9999, 6))


class FixFuser:
    """GNSS fix update, with manoeuvre detection, of the [r, v] block at ``offset`` of a state."""

    def __init__(self, offset: int = 0, gate: float = FIX_GATE_CHI2, manoeuvre_after: int = 2):
        if not (gate > 0.0 and manoeuvre_after >= 1):
            raise ValueError("gate must be positive and manoeuvre_after >= 1")
        self.offset = offset
        self.gate = float(gate)
        self.manoeuvre_after = int(manoeuvre_after)
        self.consecutive_gated = 0
        self.manoeuvres_detected = 0

    def fuse(self, x, P, r_BN_N, v_BN_N, sigma_r_m: float, sigma_v_mps: float, c=None):
        """(x, P, UpdateResult) after the fix (m, m/s, ECI, 1-sigma per axis); c, the state's
        covariance with a considered parameter the fix does not see, becomes (I - K H) c in
        place."""
        if not (sigma_r_m > 0.0 and sigma_v_mps > 0.0):
            raise ValueError("GNSS sigmas must be positive")
        block = slice(self.offset, self.offset + 6)
        H = np.zeros((6, len(x)))
        H[:, block] = np.eye(6)
        R = np.diag([sigma_r_m ** 2] * 3 + [sigma_v_mps ** 2] * 3)
        y = np.concatenate((r_BN_N, v_BN_N)) - x[block]
        nis = float(y @ np.linalg.solve(P[block, block] + R, y))
        if not nis <= self.gate:
            self.consecutive_gated += 1
            if self.consecutive_gated < self.manoeuvre_after:
                return x, P, UpdateResult(nis, False)
            P = P.copy()
            P[range(block.start, block.stop), range(block.start, block.stop)] += y ** 2
            self.manoeuvres_detected += 1
        self.consecutive_gated = 0
        if c is not None:
            K = np.linalg.solve(P[block, block] + R, P[block, :]).T
            c -= K @ c[block]
        x, P = joseph_update(x, P, H, R, y)
        return x, P, UpdateResult(nis, True)


class OrbitFilter:
    """GNSS orbit EKF; see the module docstring.

    t_ns: time of the estimate (ns); x: [r (m), v (m/s)] ECI; P: 6x6 covariance;
    q_m2_s3: PSD of the unmodelled acceleration; gate: chi-square bound on the fix NIS;
    manoeuvre_after: consecutive gated fixes that declare an unmodelled manoeuvre.
    """

    def __init__(self, t_ns: int, x_BN_N, P, *, q_m2_s3: float = 1e-10,
                 gate: float = FIX_GATE_CHI2, manoeuvre_after: int = 2,
                 step_max_s: float = STEP_MAX_S):
        self.x, self.P = check_state_and_covariance(x_BN_N, P, 6)
        if not (math.isfinite(q_m2_s3) and q_m2_s3 >= 0.0):
            raise ValueError(f"q_m2_s3 must be finite and >= 0, got {q_m2_s3!r}")
        if not step_max_s > 0.0:
            raise ValueError("step_max_s must be positive")
        self.t_ns = int(t_ns)
        self.q_m2_s3 = float(q_m2_s3)
        self.step_max_s = float(step_max_s)
        self.fuser = FixFuser(0, gate, manoeuvre_after)

    @classmethod
    def from_fix(cls, t_ns: int, r_BN_N, v_BN_N, sigma_r_m: float, sigma_v_mps: float,
                 **kwargs) -> OrbitFilter:
        """A filter started on one fix, with the fix's own covariance."""
        P = np.diag([sigma_r_m ** 2] * 3 + [sigma_v_mps ** 2] * 3)
        return cls(t_ns, np.concatenate((r_BN_N, v_BN_N)), P, **kwargs)

    def predict(self, t_ns: int) -> None:
        """Propagate the estimate to t_ns (not before the current time: ValueError)."""
        dt_ns = int(t_ns) - self.t_ns
        if dt_ns < 0:
            raise ValueError(f"cannot predict backwards ({dt_ns} ns)")
        if dt_ns:
            predict_inplace(self.x, self.P, dt_ns / NS_PER_S, self.q_m2_s3, self.step_max_s)
            self.t_ns = int(t_ns)

    def update_fix(self, t_ns: int, r_BN_N, v_BN_N, sigma_r_m: float,
                   sigma_v_mps: float) -> UpdateResult:
        """Predict to t_ns and fuse a GNSS fix (m, m/s, ECI; 1-sigma per axis)."""
        self.predict(t_ns)
        self.x, self.P, result = self.fuser.fuse(self.x, self.P, r_BN_N, v_BN_N, sigma_r_m,
                                                 sigma_v_mps)
        return result

    def apply_burn(self, t_burn_ns: int, dv_N, sigma_dv_mps: float,
                   sigma_t_s: float = 0.0) -> None:
        """A burn the vehicle executed: impulsive dv_N (m/s, ECI) at t_burn_ns, 1-sigma
        sigma_dv_mps per axis and sigma_t_s in time; before the estimate's time, its effect
        is carried to it (``dynamics.add_impulse``)."""
        if t_burn_ns > self.t_ns:
            self.predict(t_burn_ns)
        add_impulse(self.x, self.P, 0, (self.t_ns - t_burn_ns) / NS_PER_S, dv_N, sigma_dv_mps,
                    self.step_max_s, sigma_t_s)
