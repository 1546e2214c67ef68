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
is rejected, and so is one delivered twice: only fixes of distinct instants count in the run
(a copy of a wild fix is no second piece of evidence), and each must agree with the one before
it carried to its instant on the dynamics (the same chi-square gate on their difference, with
both fixes' noise): the fixes after a real impulse all lie on the new orbit, while a receiver
that has frozen repeats one position at every instant (1 s stale is 7.5 km off in low orbit:
close-range campaign seed 61, two such fixes declared a manoeuvre and pulled the filter 15 km
away) and wild fixes scatter. ``FixFuser`` does this for any state holding the chaser's [r, v]
as a block, so the relative filter (which carries the chaser too) fuses fixes the same way.

Time-correlated fix errors. A single-frequency receiver's error is mostly not white: its
orbit/clock and ionospheric residuals are a Gauss-Markov process of some sigma_gm and
correlation time tau (the receiver's data sheet; ``GnssCorrelation``), on top of white noise.
Fusing fixes 1 s apart as if independent would let the filter average that error away: its
covariance shrinks far below the error it actually carries, and every estimate coupled to the
chaser's state inherits the false confidence (in the relative filter, a chaser velocity error
of a centimetre per second read as known to a millimetre turns into a range error the bearings
then 'confirm'). Without augmenting the state with the correlated error, the consistent
alternative is to weight each fix by the information it adds: for fixes dt apart the mean of
n samples of the process has variance sigma_gm^2 (1 + rho) / ((1 - rho) n), rho = exp(-dt /
tau), so each fix is fused with R = sigma_reported^2 + sigma_gm^2 2 rho / (1 - rho) per axis
(Brown & Hwang, Introduction to Random Signals and Applied Kalman Filtering, 4th ed., 2012,
on coloured measurement noise; Bar-Shalom, Li & Kirubarajan 2001, sec. 8.3). The gate still
judges the innovation against the reported sigma: that is its distribution, fix by fix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from flightsw.nav.dynamics import STEP_MAX_S, add_impulse, predict_inplace
from flightsw.nav.ekf import NS_PER_S, UpdateResult, check_state_and_covariance, joseph_update

FIX_GATE_CHI2 = float(chi2.ppf(0.9999, 6))


@dataclass(frozen=True)
class GnssCorrelation:
    """The Gauss-Markov part of a receiver's fix error: steady-state 1-sigma per axis of
    position (m) and velocity (m/s), and its correlation time (s). See the module docstring."""

    sigma_r_m: float
    sigma_v_mps: float
    correlation_s: float

    def __post_init__(self):
        if not (math.isfinite(self.sigma_r_m) and self.sigma_r_m >= 0.0
                and math.isfinite(self.sigma_v_mps) and self.sigma_v_mps >= 0.0
                and math.isfinite(self.correlation_s) and self.correlation_s > 0.0):
            raise ValueError("GnssCorrelation: sigmas finite and >= 0, correlation_s > 0")

    def extra_variance(self, dt_s: float) -> tuple[float, float]:
        """Variance (m^2, m^2/s^2) to add per axis to a fix dt_s after the last one fused:
        sigma_gm^2 2 rho / (1 - rho). Fixes at the same instant count as 1 ms apart."""
        rho = math.exp(-max(dt_s, 1e-3) / self.correlation_s)
        factor = 2.0 * rho / (1.0 - rho)
        return self.sigma_r_m ** 2 * factor, self.sigma_v_mps ** 2 * factor


class FixFuser:
    """GNSS fix update, with manoeuvre detection, of the [r, v] block at ``offset`` of a state."""

    RUN_GAP_S = 300.0   # gated fixes further apart are no run (the dynamics' error unknown)

    def __init__(self, offset: int = 0, gate: float = FIX_GATE_CHI2, manoeuvre_after: int = 2,
                 correlation: GnssCorrelation | None = None):
        if not (gate > 0.0 and manoeuvre_after >= 1):
            raise ValueError("gate must be positive and manoeuvre_after >= 1")
        self.offset = offset
        self.gate = float(gate)
        self.manoeuvre_after = int(manoeuvre_after)
        self.correlation = correlation
        self.consecutive_gated = 0
        self.t_last_gated_ns: int | None = None
        self.last_gated: tuple[int, np.ndarray, float, float] | None = None  # t, [r v], sigmas
        self.manoeuvres_detected = 0
        self.t_last_fused_ns: int | None = None

    def fuse(self, x, P, r_BN_N, v_BN_N, sigma_r_m: float, sigma_v_mps: float, c=None,
             t_ns: int | None = None):
        """(x, P, UpdateResult) after the fix (m, m/s, ECI, 1-sigma per axis) taken at t_ns
        (needed with a correlation model: the fix is weighted by the time since the last one
        fused); c, the state's covariance with a considered parameter the fix does not see,
        becomes (I - K H) c in place."""
        if not (sigma_r_m > 0.0 and sigma_v_mps > 0.0):
            raise ValueError("GNSS sigmas must be positive")
        block = slice(self.offset, self.offset + 6)
        H = np.zeros((6, len(x)))
        H[:, block] = np.eye(6)
        R = np.diag([sigma_r_m ** 2] * 3 + [sigma_v_mps ** 2] * 3)
        y = np.concatenate((r_BN_N, v_BN_N)) - x[block]
        nis = float(y @ np.linalg.solve(P[block, block] + R, y))
        if self.correlation is not None:
            if t_ns is None:
                raise ValueError("a fuser with a correlation model needs each fix's t_ns")
            if self.t_last_fused_ns is not None:
                var_r, var_v = self.correlation.extra_variance(
                    (int(t_ns) - self.t_last_fused_ns) / NS_PER_S)
                R = R + np.diag([var_r] * 3 + [var_v] * 3)
        if not nis <= self.gate:
            fix = np.concatenate((r_BN_N, v_BN_N))
            if t_ns is None or self.t_last_gated_ns != int(t_ns):
                agrees = self._follows_last_gated(fix, sigma_r_m, sigma_v_mps, t_ns)
                self.consecutive_gated = self.consecutive_gated + 1 if agrees else 1
            self.t_last_gated_ns = None if t_ns is None else int(t_ns)
            if t_ns is not None:
                self.last_gated = (int(t_ns), fix, float(sigma_r_m), float(sigma_v_mps))
            if self.consecutive_gated < self.manoeuvre_after:
                return x, P, UpdateResult(nis, False)
            P = P.copy()
            P[range(block.start, block.stop), range(block.start, block.stop)] += y ** 2
            self.manoeuvres_detected += 1
        self.consecutive_gated = 0
        self.last_gated = None
        if t_ns is not None:
            self.t_last_fused_ns = int(t_ns)
        if c is not None:
            K = np.linalg.solve(P[block, block] + R, P[block, :]).T
            c -= K @ c[block]
        x, P = joseph_update(x, P, H, R, y)
        return x, P, UpdateResult(nis, True)

    def _follows_last_gated(self, fix, sigma_r_m, sigma_v_mps, t_ns) -> bool:
        """Whether this gated fix continues the run: the last gated fix, carried on the
        dynamics to this one's instant, agrees with it within the gate (the two fixes' noise,
        no process noise: over seconds the unmodelled accelerations are micrometres). Without
        instants (a fuser used without t_ns) any distinct gated fix continues it."""
        if t_ns is None:
            return True
        if self.last_gated is None:
            return False
        t0, fix0, s_r0, s_v0 = self.last_gated
        dt = (int(t_ns) - t0) / NS_PER_S
        if not 0.0 < dt <= self.RUN_GAP_S:
            return False
        x0, P0 = np.array(fix0, dtype=np.float64), np.zeros((6, 6))
        predict_inplace(x0, P0, dt, 0.0)
        d = fix - x0
        var = np.array([s_r0 ** 2 + sigma_r_m ** 2] * 3 + [s_v0 ** 2 + sigma_v_mps ** 2] * 3)
        return bool(np.sum(d * d / var) <= self.gate)


class OrbitFilter:
    """GNSS orbit EKF; see the module docstring.

    t_ns: time of the estimate (ns); x: [r (m), v (m/s)] ECI; P: 6x6 covariance;
    q_m2_s3: PSD of the unmodelled acceleration; gate: chi-square bound on the fix NIS;
    manoeuvre_after: consecutive gated fixes that declare an unmodelled manoeuvre.
    """

    def __init__(self, t_ns: int, x_BN_N, P, *, q_m2_s3: float = 1e-10,
                 gate: float = FIX_GATE_CHI2, manoeuvre_after: int = 2,
                 step_max_s: float = STEP_MAX_S, gnss_correlation: GnssCorrelation | None = None):
        self.x, self.P = check_state_and_covariance(x_BN_N, P, 6)
        if not (math.isfinite(q_m2_s3) and q_m2_s3 >= 0.0):
            raise ValueError(f"q_m2_s3 must be finite and >= 0, got {q_m2_s3!r}")
        if not step_max_s > 0.0:
            raise ValueError("step_max_s must be positive")
        self.t_ns = int(t_ns)
        self.q_m2_s3 = float(q_m2_s3)
        self.step_max_s = float(step_max_s)
        self.fuser = FixFuser(0, gate, manoeuvre_after, gnss_correlation)

    @classmethod
    def from_fix(cls, t_ns: int, r_BN_N, v_BN_N, sigma_r_m: float, sigma_v_mps: float,
                 **kwargs) -> OrbitFilter:
        """A filter started on one fix, with the fix's own covariance (that fix counts as the
        last one fused)."""
        P = np.diag([sigma_r_m ** 2] * 3 + [sigma_v_mps ** 2] * 3)
        f = cls(t_ns, np.concatenate((r_BN_N, v_BN_N)), P, **kwargs)
        f.fuser.t_last_fused_ns = int(t_ns)
        return f

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
                                                 sigma_v_mps, t_ns=t_ns)
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
