"""The control app: attitude pointing through the wheels, burns and desaturation through the RCS.

Inputs: the attitude estimate, and from guidance a pointing command (target attitude q_RN and
its rate) and burn commands (delta-v in ECI over a window). The guidance messages are not yet
in flightsw.msg; the app takes them under the names proposed for them (PointingCommand with
q_RN, omega_RN_R; BurnCommand with burn_id, t_start_ns, dv_N, duration_s) when they exist, and
a subclass may name its own.

Each step (period = the thruster firing window):
1. attitude: the rate-limited eigenaxis law (attitude.AttitudeController) gives the body
   torque; without a pointing command the attitude of the first valid estimate is held;
2. momentum: wheel momenta are dead-reckoned from the motor torques commanded (no tachometer
   message exists); above the threshold the thrusters unload them (attitude.MomentumManager);
3. burn: while a burn window is open, the force m dv/duration (rotated to the body with the
   estimated attitude), capped at the impulse still owed, and the desaturation torque are
   allocated to the thrusters (allocate.Allocator: least total thrust, thrusters declared
   failed get u_max = 0) and turned into valve on-times (allocate.pulse_widths, with the
   impulse carried between windows); the delivered delta-v is counted from the on-times;
4. wheels: motor torques for the control torque less the thrusters' torque;
5. report: when a burn closes, a BurnReport (control.burn) gives navigation what was delivered
   (the delta-v counted from the on-times, from the first pulse's opening to the last one's
   closing) and its 1-sigma per axis: ``burn_sigma_fraction`` of its size (thrust magnitude
   and misalignment errors the allocator does not know) plus ``burn_sigma_floor_mps`` (the
   pulse-to-pulse scatter and valve transients of short pulses).

Bad input (what the decoder cannot judge alone: a non-unit or zero quaternion, a burn of no
duration, an estimate from the future) is refused and counted in ``rejected``, which the
runtime reports in health.app; the app flies on with what it held before.
"""
from __future__ import annotations

import numpy as np

import flightsw.msg as msg
from flightsw.control.allocate import Allocator, pulse_widths
from flightsw.control.attitude import (AttitudeController, MomentumManager, WheelArray,
                                       dcm_from_quat, quat_rotated)
from flightsw.control.thrusters import reference_layout
from flightsw.msg import (off_unit, AttitudeEstimate, BurnReport, FdirStatus, LatchValveCommand,
                          ThrusterCommand, WheelTorqueCommand, mask_bits)
from flightsw.runtime.app import NS_PER_S, App, Param

POINTING_MSG = getattr(msg, "PointingCommand", None)
BURN_MSG = getattr(msg, "BurnCommand", None)


class ControlApp(App):
    """Points the camera with the wheels; realises burns and unloads wheels with the RCS."""

    POINTING_MSG = POINTING_MSG
    BURN_MSG = BURN_MSG
    SUBSCRIBES = (AttitudeEstimate, FdirStatus) + tuple(m for m in (POINTING_MSG, BURN_MSG) if m)
    PUBLISHES = (WheelTorqueCommand, ThrusterCommand, BurnReport, LatchValveCommand)
    RATE_HZ = 5.0
    PARAMS = {
        "mass_kg": Param(100.0, "kg", "chaser mass", lo=1.0, hi=1e4),
        "inertia_diag_kgm2": Param("8,9,7", "kg m^2", "principal inertias, comma-separated"),
        "wn_rad_s": Param(0.1, "rad/s", "attitude loop natural frequency", lo=1e-3, hi=2.0),
        "zeta": Param(0.9, "1", "attitude loop damping ratio", lo=0.1, hi=3.0),
        "slew_rate_max_deg_s": Param(1.0, "deg/s", "eigenaxis slew rate limit", lo=0.01, hi=10.0),
        "desat_start_Nms": Param(0.7, "N m s", "wheel momentum that starts unloading", lo=0.0, hi=1.0),
        "desat_stop_Nms": Param(0.2, "N m s", "wheel momentum that ends unloading", lo=0.0, hi=1.0),
        "failed_thrusters": Param("", "", "comma-separated indices (0-11) of thrusters failed off"),
        "burn_sigma_fraction": Param(0.03, "1", "1-sigma per axis of a burn / its delta-v", lo=0.0,
                                     hi=1.0),
        "max_attitude_age_s": Param(5.0, "s", "oldest attitude estimate carried forward to a "
                                              "step (navigation's estimate refers to its "
                                              "processing horizon, behind its step time)",
                                    lo=0.0, hi=60.0),
        "burn_sigma_floor_mps": Param(2e-4, "m/s", "1-sigma per axis added to every burn", lo=0.0,
                                      hi=1.0),
    }

    def reset(self) -> None:
        J = np.diag([float(x) for x in self.p.inertia_diag_kgm2.split(",")])
        self.controller = AttitudeController(J, self.p.wn_rad_s, self.p.zeta,
                                             np.radians(self.p.slew_rate_max_deg_s))
        self.wheels = WheelArray.pyramid()
        self.momentum = MomentumManager(self.p.desat_start_Nms, self.p.desat_stop_Nms)
        self.layout = reference_layout()
        self.u_max = self.layout.thrust_max_N.copy()
        for k in filter(None, (s.strip() for s in self.p.failed_thrusters.split(","))):
            self.u_max[int(k)] = 0.0
        self.configured_failed = self.u_max == 0.0
        self.allocator = Allocator(self.layout.B, self.u_max)
        self.fdir_failed = 0           # FDIR's bitmasks as last applied
        self.latches_closed = 0
        self.latch_sent_ns: int | None = None
        self.carry_Ns = np.zeros(self.layout.B.shape[1])
        self.h_wheels = np.zeros(4)
        self.q_RN = None
        self.omega_RN_R = np.zeros(3)
        self.t_ref_ns = None
        self.attitude = None        # (t_est_ns, q_BN, omega_BN_B) of the latest valid estimate
        self.burn = None            # (burn_id, t_start_ns, dv_N, duration_s)
        self.burns_done: set[int] = set()
        self.delivered_dv_N = np.zeros(3)
        self.pulses_ns: tuple[int, int] | None = None   # (first opening, last closing)
        self.reports: list[BurnReport] = []   # closed burns not yet published

    # -- commands (the handlers of the guidance messages) ----------------------------------
    def point(self, q_RN, omega_RN_R=(0.0, 0.0, 0.0), t_ref_ns=None) -> None:
        """Track attitude R: q_RN (scalar first) at t_ref_ns, turning at omega_RN_R (rad/s, in
        R) from then on until the next command (guidance may command slower than this app
        steps); without t_ref_ns, R is held where it is."""
        q = np.asarray(q_RN, dtype=np.float64)
        if q.shape != (4,) or not np.isfinite(q).all() or abs(np.linalg.norm(q) - 1.0) > 1e-6:
            raise ValueError("q_RN must be a finite unit quaternion")
        self.q_RN, self.omega_RN_R = q, np.asarray(omega_RN_R, dtype=np.float64)
        self.t_ref_ns = None if t_ref_ns is None else int(t_ref_ns)

    def _reference_now(self, t_ns):
        """q_RN carried from its command to t_ns at its rate."""
        if self.t_ref_ns is None:
            return self.q_RN
        return quat_rotated(self.q_RN, self.omega_RN_R, (int(t_ns) - self.t_ref_ns) / NS_PER_S)

    def command_burn(self, burn_id, t_start_ns, dv_N, duration_s) -> None:
        """Realise delta-v dv_N (m/s, ECI) over [t_start_ns, + duration_s]; one burn at a time
        (a new one supersedes the one in flight), a burn id is executed once."""
        dv_N = np.asarray(dv_N, dtype=np.float64)
        if dv_N.shape != (3,) or not np.isfinite(dv_N).all() or not duration_s > 0.0:
            raise ValueError("a burn needs a finite dv_N (3,) and a positive duration")
        if burn_id in self.burns_done or (self.burn is not None and self.burn[0] == burn_id):
            return
        if self.burn is not None:
            # superseded in flight: what it delivered so far is reported
            self._close_burn(self.burn[0])
        self.burn = (int(burn_id), int(t_start_ns), dv_N, float(duration_s))
        self.delivered_dv_N = np.zeros(3)
        self.pulses_ns = None

    def apply_fdir(self, failed_mask: int, latches_mask: int) -> None:
        """Allocate without the thrusters FDIR declared failed (and those configured failed);
        command their latches as FDIR asks."""
        n = self.layout.B.shape[1]
        failed_mask &= (1 << n) - 1
        if failed_mask != self.fdir_failed:
            out = mask_bits(failed_mask, n) | self.configured_failed
            self.u_max = np.where(out, 0.0, self.layout.thrust_max_N)
            self.allocator.set_u_max(self.u_max)
            self.carry_Ns[out] = 0.0
            self.fdir_failed = failed_mask
        if latches_mask != self.latches_closed:
            self.latches_closed = latches_mask & ((1 << n) - 1)
            self.latch_sent_ns = None

    def _latches(self, t_ns: int) -> list:
        """The latch command: at every change, then once a second while any latch is closed
        (a lost command is repeated; the valve drive holds the last one)."""
        if self.latches_closed == 0 and self.latch_sent_ns is None:
            return []
        if self.latch_sent_ns is not None and t_ns - self.latch_sent_ns < NS_PER_S:
            return []
        self.latch_sent_ns = int(t_ns)
        if self.latches_closed == 0:
            self.latch_sent_ns = None       # all open again: said once
        return [LatchValveCommand(closed_mask=self.latches_closed)]

    # -- the step ----------------------------------------------------------------------------
    def step(self, t_ns, inbox):
        got = inbox.latest(FdirStatus)
        if got is not None:
            self.apply_fdir(int(got[1].thrusters_failed), int(got[1].latches_closed))
        return self._latches(t_ns) + self._step(t_ns, inbox)

    def _step(self, t_ns, inbox):
        # a command or estimate that breaks its handler's contract is refused and counted, and
        # the step goes on with what was held before
        if self.POINTING_MSG is not None and (got := inbox.latest(self.POINTING_MSG)):
            self.refusing(self.point, got[1].q_RN, got[1].omega_RN_R, got[0].t_ns)
        if self.BURN_MSG is not None:
            for _, b in inbox.all(self.BURN_MSG):
                self.refusing(self.command_burn, b.burn_id, b.t_start_ns, b.dv_N, b.duration_s)
        got = inbox.latest(AttitudeEstimate)
        if got is not None and got[1].valid:
            self.refusing(self.take_attitude, t_ns, got[1])
        attitude = self._attitude_now(t_ns)
        if attitude is None:
            return [WheelTorqueCommand(torque_Nm=np.zeros(4))]
        return self.actuate(t_ns, *attitude)

    def take_attitude(self, t_ns, est: AttitudeEstimate) -> None:
        """Hold a valid attitude estimate: a unit q_BN, of a time not in the future (over a
        second past t_ns)."""
        q = np.asarray(est.q_BN, dtype=np.float64)
        if off_unit(q):
            raise ValueError("q_BN must be a unit quaternion")
        if est.t_est_ns > t_ns + NS_PER_S:
            raise ValueError("attitude estimate from the future")
        self.attitude = (int(est.t_est_ns), q, np.asarray(est.omega_BN_B, dtype=np.float64))

    def _attitude_now(self, t_ns):
        """The latest attitude estimate carried to t_ns at its own rate (navigation publishes
        slower than this app steps), or None if there is none younger than
        max_attitude_age_s."""
        if self.attitude is None:
            return None
        t_est, q, omega = self.attitude
        dt = (int(t_ns) - t_est) / NS_PER_S
        if not 0.0 <= dt <= self.p.max_attitude_age_s:
            return None
        return quat_rotated(q, omega, dt), omega

    def actuate(self, t_ns, q_BN, omega_BN_B):
        """Wheel and thruster commands for this window from the attitude estimate."""
        dt = self.period_ns / NS_PER_S
        if self.q_RN is None:
            self.q_RN = np.asarray(q_BN, dtype=np.float64)
        torque = self.controller.torque(q_BN, omega_BN_B, self._reference_now(t_ns),
                                        self.omega_RN_R, self.wheels.body_momentum(self.h_wheels))
        torque_thr = self.momentum.thruster_torque(self.h_wheels, self.wheels.G,
                                                   self.wheels.bias_Nms)
        force_B = self._burn_force_B(t_ns, q_BN, dt)
        out = []
        torque_thr_real = np.zeros(3)
        if force_B is not None or np.any(torque_thr):
            force_B = np.zeros(3) if force_B is None else force_B
            result = self.allocator.solve(np.concatenate([force_B, torque_thr]))
            on_s, self.carry_Ns = pulse_widths(result.u, self.layout.thrust_max_N, dt,
                                               self.layout.min_on_time_s,
                                               self.layout.on_time_quantum_s, self.carry_Ns)
            wrench = self.layout.B @ (on_s * self.layout.thrust_max_N) / dt
            torque_thr_real = wrench[3:]
            if self.burn is not None:
                self.delivered_dv_N += dcm_from_quat(q_BN).T @ wrench[:3] * dt / self.p.mass_kg
                if on_s.any():
                    t_close = int(t_ns) + int(round(float(on_s.max()) * NS_PER_S))
                    first = t_ns if self.pulses_ns is None else self.pulses_ns[0]
                    self.pulses_ns = (int(first), t_close)
            out.append(ThrusterCommand(t_start_ns=int(t_ns), on_time_s=on_s))
        u_w = self.wheels.motor_torques(torque - torque_thr_real, self.h_wheels)
        self.h_wheels = self.h_wheels + u_w * dt
        out.append(WheelTorqueCommand(torque_Nm=u_w))
        out += self.reports
        self.reports = []
        return out

    def _close_burn(self, burn_id: int) -> None:
        """End the open burn; if any pulse fired, its report goes out with the next commands."""
        self.burns_done.add(burn_id)
        self.burn = None
        self.carry_Ns[:] = 0.0
        if self.pulses_ns is not None:
            dv = self.delivered_dv_N.copy()
            sigma = self.p.burn_sigma_fraction * float(np.linalg.norm(dv)) \
                + self.p.burn_sigma_floor_mps
            self.reports.append(BurnReport(burn_id=burn_id, t_start_ns=self.pulses_ns[0],
                                           t_end_ns=self.pulses_ns[1], dv_N=dv,
                                           sigma_dv_mps=sigma))
        self.pulses_ns = None

    def _burn_force_B(self, t_ns, q_BN, dt):
        """Body force (N) of the open burn window, capped at the impulse still owed; None if no
        burn is firing. A burn closes when its impulse is delivered or its window has passed
        (plus two windows for the carried remainder)."""
        if self.burn is None:
            return None
        burn_id, t_start, dv_N, duration = self.burn
        if t_ns < t_start:
            return None
        owed_N = dv_N - self.delivered_dv_N
        late = (t_ns - t_start) / NS_PER_S > duration + 2.0 * dt
        # done when what is owed is below a fifth of the smallest impulse bit
        bit = self.layout.min_on_time_s * float(self.layout.thrust_max_N.min()) / self.p.mass_kg
        if np.linalg.norm(owed_N) < 0.2 * bit or late:
            self._close_burn(burn_id)
            return None
        force_N = self.p.mass_kg * dv_N / duration
        cap = self.p.mass_kg * owed_N / dt
        if np.linalg.norm(force_N) > np.linalg.norm(cap):
            force_N = cap
        return dcm_from_quat(q_BN) @ force_N
