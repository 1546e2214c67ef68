"""The navigation app: attitude, own orbit and the target's relative state, from the sensors.

Time. Every measurement carries its own time (t_meas_ns). The app keeps a processing horizon
``measurement_lag_s`` behind its step time: measurements wait in a buffer until the horizon
passes them, then all filters process them in time order, predicting to each one. A
measurement that arrives for a time the horizon has already passed (stale or out of order) is
rejected and counted, as are measurements with non-finite values or impossible sigmas or
content (a fix that is no orbit: inside the Earth, escaping; a non-unit quaternion or line of
sight); so are cues that are no orbit, older than the one in use, of a covariance that is none
or an epoch over ``max_cue_span_s`` from now. After
processing, every filter is predicted to the horizon, and the estimates published refer to it
(t_est_ns). Sensor samples flagged not valid carry no data and are skipped without counting.

The attitude has its own horizon. The lag exists for the bearings, which reach nav out of
order and late (frame -> detect -> bus); gyro and star tracker samples arrive in order, one hop
late. So the attitude horizon is the newest instant both attitude streams have reached (the
older of their newest time stamps, valid or not), never later than the step and never further
behind it than the lag (a stream that falls silent stops holding it). The attitude is published
at that horizon, the instant of its last measurements, not extrapolated to the step: the
consumers (control, detect) already carry an estimate forward on its rate to their own step,
and a filter propagated past samples it has not processed could not take them afterwards.

Filters: ``AttitudeFilter`` (MEKF, gyro + star tracker), ``OrbitFilter`` (GNSS EKF), and
``RelativeFilter`` (joint target/chaser EKF) started from the ground's cue once the chaser's
orbit is known; a newer cue restarts it (the ground's word wins). Bearings come from confirmed
tracks only; a resolved target's apparent radius gives a range d = R / sin(rho) (sphere of the
cue's radius R), variance (d R_rel)^2 + (d cot(rho) sigma_rho)^2; the rangefinder's return is
the range to the near surface, d - R.

Burns. Each BurnReport from control (one per burn id) is applied to the orbit and relative
filters as an impulse at the middle of its pulses (plus ``burn_delay_s``, the hop of control's
commands to the valves), with its reported 1-sigma and ``burn_time_sigma_s``, in time order
with the measurements (before the fixes of its instant). A burn's report comes only after its
last pulse, while GNSS sees the burn from its first: so from a commanded burn's start
(guidance.burn) the horizon is held until its report arrives, or until
``burn_report_timeout_s`` after its planned end (a burn cancelled before it fired is never
reported). A report arriving after the filters have passed its burn (no command was seen) is
carried to them through their state transition (``dynamics.add_impulse``), unless a fix has
since revealed an unreported manoeuvre, which the fix's covariance reset has absorbed.
Measurements taken while a reported burn fires are not fused: the impulse the filters apply
at its middle misplaces the chaser within the burn by up to dv T / 8 (T its duration).

Divergence (``consistency``). The bearing consistency test looks only at bearings within
``divergence_memory_s`` of the horizon: with no bearings for that long, the health says "no
information" (not diverged, average NaN), not the last verdict. When the test fails, the
relative filter's covariance is reset around its estimate (``divergence_reset_fraction`` of
the range added to the target's position sigma) and the health reports diverged until a full
window of new bearings has been judged. NavHealth (version 1) has no field for the number of
resets; the app counts them (``consistency.resets``).
"""
from __future__ import annotations

import math

import numpy as np

from flightsw.msg import (off_unit, FDIR_SENSORS, AttitudeEstimate, BurnCommand, BurnReport, FdirStatus,
                          GnssFix, GyroRate, NavHealth, mask_bits,
                          OrbitEstimate, RangefinderRange, RelativeState, StarTrackerAttitude,
                          TargetCue, TargetTrack)
from flightsw.nav.attitude import AttitudeFilter
from flightsw.nav.consistency import BearingConsistency
from flightsw.detect.propagate import orbit_problem
from flightsw.nav.dynamics import predict_inplace
from flightsw.nav.ekf import NS_PER_S, check_state_and_covariance
from flightsw.nav.orbit import GnssCorrelation, OrbitFilter
from flightsw.nav.photocentre import centre_bearing
from flightsw.guidance.sun import julian_date, sun_direction_N
from flightsw.nav.relative import RelativeFilter
from flightsw.nav.roe import published_state
from flightsw.runtime.app import App, Param

MEASUREMENTS = (GyroRate, StarTrackerAttitude, GnssFix, TargetTrack, RangefinderRange)
ATTITUDE_SENSORS = (GyroRate, StarTrackerAttitude)
# the FDIR name of each sensor (FdirStatus.sensors_excluded)
SENSOR_OF = {GnssFix: "gnss", GyroRate: "gyro", StarTrackerAttitude: "star_tracker",
             RangefinderRange: "rangefinder"}
# Within one instant: propagate on the gyro first, apply a burn, then fuse in this order.
ORDER = {GyroRate: 0, StarTrackerAttitude: 1, BurnReport: 2, GnssFix: 3, TargetTrack: 4,
         RangefinderRange: 5}


def finite(*values) -> bool:
    return all(np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in values)


def parse_vector(text: str, name: str) -> np.ndarray:
    """A 3-vector from 'x,y,z'; ValueError with the parameter's name otherwise."""
    try:
        v = np.array([float(c) for c in text.split(",")])
    except ValueError:
        raise ValueError(f"nav: parameter {name} must be 'x,y,z', got {text!r}") from None
    if v.shape != (3,) or not np.isfinite(v).all() or not np.linalg.norm(v) > 0.0:
        raise ValueError(f"nav: parameter {name} must be a finite non-zero 'x,y,z'")
    return v


class NavApp(App):
    """Attitude (MEKF), own orbit (GNSS EKF) and relative navigation of the target."""

    SUBSCRIBES = (StarTrackerAttitude, GyroRate, GnssFix, TargetTrack, RangefinderRange,
                  TargetCue, BurnCommand, BurnReport, FdirStatus)
    PUBLISHES = (AttitudeEstimate, OrbitEstimate, RelativeState, NavHealth)
    RATE_HZ = 2.0
    PARAMS = {
        "measurement_lag_s": Param(0.5, "s", "processing horizon behind the step time", lo=0.0,
                                   hi=60.0),
        "burn_delay_s": Param(0.0, "s", "from control's firing windows to the valves opening "
                              "(the hop of its commands to the thrusters)", lo=0.0, hi=60.0),
        "burn_time_sigma_s": Param(1.0, "s", "1-sigma of a reported burn's time", lo=0.0,
                                   hi=60.0),
        "burn_report_timeout_s": Param(10.0, "s", "wait for a burn's report past its planned "
                                       "end", lo=0.0, hi=600.0),
        "gyro_arw_rad_sqrt_s": Param(4.4e-5, "rad/sqrt(s)", "gyro angle random walk", lo=1e-9),
        "gyro_rrw_rad_s_sqrt_s": Param(3.5e-8, "rad/s/sqrt(s)", "gyro rate random walk", lo=0.0),
        "gyro_bias_sigma_rad_s": Param(2.5e-5, "rad/s", "gyro turn-on bias, 1-sigma", lo=1e-9),
        "star_tracker_boresight_B": Param("0,0,1", "1", "star tracker boresight in B, 'x,y,z'"),
        "q_common_m2_s3": Param(1e-9, "m^2/s^3", "unmodelled acceleration PSD both share (drag, "
                                "SRP, gravity beyond J2)", lo=0.0),
        # own parts, for a target of about the chaser's ballistic coefficient (differential
        # drag ~1e-9 m/s^2 at 500 km). One twice as draggy (~1.5e-7 m/s^2 apart, as white
        # noise over the few-hundred-second memory of the close-in filter) needs ten times
        # these: 3e-12 and 3e-13 (tests/flightsw/nav/test_nav_relative.py)
        "q_chaser_m2_s3": Param(3e-13, "m^2/s^3", "chaser's own unmodelled acceleration PSD",
                                lo=0.0),
        "q_target_m2_s3": Param(3e-14, "m^2/s^3", "target's own unmodelled acceleration PSD",
                                lo=0.0),
        # the receiver's data sheet (the plant's GNSS model: hil.sensors.gnss.GnssConfig);
        # 0 for a receiver whose errors are white
        "gnss_correlated_sigma_r_m": Param(2.0, "m", "GNSS time-correlated position error, "
                                           "1-sigma per axis", lo=0.0, hi=1e4),
        "gnss_correlated_sigma_v_mps": Param(0.01, "m/s", "GNSS time-correlated velocity "
                                             "error, 1-sigma per axis", lo=0.0, hi=100.0),
        "gnss_correlation_s": Param(600.0, "s", "correlation time of the GNSS correlated "
                                    "errors", lo=1e-3, hi=1e6),
        "epoch_utc": Param("", "", "UTC of sim time 0, ISO-8601, for the Sun: an unresolved "
                           "target's bearing is corrected from its light to its centre "
                           "(photocentre); '' = no correction"),
        "bearing_floor_rad": Param(2e-6, "rad", "1-sigma added to every bearing", lo=0.0),
        "apparent_radius_sigma_rad": Param(5e-5, "rad", "1-sigma of the apparent radius",
                                           lo=1e-9),
        "rangefinder_bias_sigma_m": Param(0.05, "m", "1-sigma of the rangefinder's constant "
                                          "bias (calibration residual)", lo=0.0, hi=100.0),
        "target_radius_sigma_fraction": Param(0.1, "1", "1-sigma of the target radius / radius",
                                              lo=0.0, hi=1.0),
        "nis_window": Param(20, "count", "bearings in the moving-average NIS", lo=1, hi=1000),
        "max_consecutive_gated": Param(10, "count", "gated bearings in a row = diverged", lo=1),
        # room for a window of nis_window bearings at the far-approach imaging period (30 s)
        # with every other one missing
        "divergence_memory_s": Param(1200.0, "s", "a bearing older than this (behind the "
                                     "horizon) no longer counts in the consistency test",
                                     lo=1.0, hi=86400.0),
        # off by default: in mid-range an isotropic reset at 20 km let the range collapse to
        # zero under the angles-only updates that followed (the bearings constrain only the
        # directions across the line of sight); a reset across the line of sight is the fix
        "max_cue_span_s": Param(259200.0, "s", "a cue whose epoch is further than this from the "
                                "step time is refused", lo=1.0, hi=3.2e7),
        "divergence_reset_fraction": Param(0.0, "1", "on a divergence, 1-sigma per axis added "
                                           "to the target's position, / range (velocity: "
                                           "times the mean motion); 0: no reset",
                                           lo=0.0, hi=10.0),
    }

    def reset(self) -> None:
        self.excluded_sensors: set[type] = set()
        self.excluded = 0          # measurements left out on FDIR's word
        self.lag_ns = int(round(self.p.measurement_lag_s * NS_PER_S))
        self.epoch_jd = julian_date(self.p.epoch_utc) if self.p.epoch_utc else None
        self.gnss_correlation = self._gnss_correlation()
        self.attitude = AttitudeFilter(
            self.p.gyro_arw_rad_sqrt_s, self.p.gyro_rrw_rad_s_sqrt_s, self.p.gyro_bias_sigma_rad_s,
            parse_vector(self.p.star_tracker_boresight_B, "star_tracker_boresight_B"))
        self.orbit: OrbitFilter | None = None
        self.relative: RelativeFilter | None = None
        self.cue: TargetCue | None = None
        self.cue_used_epoch_ns = -1
        self.horizon_ns = -1
        self.att_horizon_ns = -1
        # newest time stamp of each attitude stream, valid or not (how far it has reported)
        self.att_reached_ns = {cls: -1 for cls in ATTITUDE_SENSORS}
        self.pending: list[tuple[int, int, int, object]] = []
        self.arrivals = 0
        self.rejected = 0
        self.burns_applied: set[int] = set()
        self.burns_awaited: dict[int, tuple[int, int]] = {}   # id -> (t_start_ns, deadline_ns)
        self.t_manoeuvre_detected_ns = -1
        self.burn_windows: list[tuple[int, int]] = []   # (first pulse, last closing), ns
        self.consistency = BearingConsistency(
            int(self.p.nis_window), memory_s=self.p.divergence_memory_s,
            max_consecutive_gated=int(self.p.max_consecutive_gated))

    # -- intake ------------------------------------------------------------------------------
    def step(self, t_ns: int, inbox) -> list:
        got = inbox.latest(FdirStatus)
        if got is not None:
            out = mask_bits(got[1].sensors_excluded, len(FDIR_SENSORS))
            self.excluded_sensors = {type_ for type_, name in SENSOR_OF.items()
                                     if out[FDIR_SENSORS.index(name)]}
        for _, cue in inbox.all(TargetCue):
            self.refusing(self._take_cue, cue, t_ns)
        for cls in MEASUREMENTS:
            for _, msg in inbox.all(cls):
                self._admit(msg, t_ns)
        for _, cmd in inbox.all(BurnCommand):
            if cmd.burn_id not in self.burns_applied and np.linalg.norm(cmd.dv_N) > 0.0:
                wait_s = cmd.duration_s + self.p.burn_report_timeout_s
                self.burns_awaited[cmd.burn_id] = (int(cmd.t_start_ns),
                                                   cmd.t_start_ns + int(round(wait_s * NS_PER_S)))
        for _, burn in inbox.all(BurnReport):
            self._admit_burn(burn, t_ns)
        horizon = max(self.horizon_ns, min([t_ns - self.lag_ns] + self._held_until(t_ns)))
        # the attitude filter is never held for a burn: the controller flies the burn on it
        att_reached = min(min(self.att_reached_ns.values()), t_ns)
        att_horizon = max(self.att_horizon_ns, t_ns - self.lag_ns, att_reached)
        self.pending.sort(key=lambda item: item[:3])
        ready = [item[0] <= self._horizon_of(item[3], horizon, att_horizon) for item in self.pending]
        due = [item for item, r in zip(self.pending, ready) if r]
        self.pending = [item for item, r in zip(self.pending, ready) if not r]
        for t_meas, _, _, msg in due:
            self._process(t_meas, msg)
        self.horizon_ns, self.att_horizon_ns = horizon, att_horizon
        self._advance_to(horizon, att_horizon)
        self.consistency.advance(horizon)
        self._start_relative_from_cue()
        return self._outputs()

    def _take_cue(self, cue: TargetCue, t_ns: int) -> None:
        """Take a newer cue (the ground's word wins); the one in use again changes nothing.
        Refused (ValueError): an older one, one that is no orbit or whose covariance is none,
        one whose epoch is over max_cue_span_s from now (the relative filter starts on the cue
        propagated from its epoch: an absurd span would take the propagator as long)."""
        if self.cue is not None and cue.epoch_ns == self.cue.epoch_ns:
            return
        if self.cue is not None and cue.epoch_ns < self.cue.epoch_ns:
            raise ValueError("cue older than the one in use")
        problem = orbit_problem(cue.r_TN_N, cue.v_TN_N)
        if problem:
            raise ValueError(f"cue: {problem}")
        check_state_and_covariance(np.concatenate((cue.r_TN_N, cue.v_TN_N)), cue.P_rv, 6)
        if not abs(int(cue.epoch_ns) - t_ns) <= self.p.max_cue_span_s * NS_PER_S:
            raise ValueError(f"cue epoch over {self.p.max_cue_span_s:g} s from now")
        self.cue = cue

    @staticmethod
    def _problem(msg) -> str:
        """What makes a measurement unusable that the decoder cannot see, or ''."""
        if isinstance(msg, GnssFix):
            return orbit_problem(msg.r_BN_N, msg.v_BN_N)
        if isinstance(msg, StarTrackerAttitude) and off_unit(msg.q_BN):
            return "q_BN is not a unit quaternion"
        if isinstance(msg, TargetTrack) and off_unit(msg.u_N):
            return "u_N is not a unit vector"
        return ""

    def _admit(self, msg, t_ns: int) -> None:
        """Buffer a measurement, or count it rejected (non-finite, stale, from the future)."""
        if isinstance(msg, ATTITUDE_SENSORS) and msg.t_meas_ns <= t_ns + NS_PER_S:
            reached = self.att_reached_ns
            reached[type(msg)] = max(reached[type(msg)], int(msg.t_meas_ns))
        if not getattr(msg, "valid", True):
            return
        if type(msg) in self.excluded_sensors:
            # FDIR found the unit frozen: its readings look valid and are not
            self.excluded += 1
            return
        if isinstance(msg, TargetTrack) and msg.state != "confirmed":
            return
        values = [getattr(msg, f.name) for f in type(msg).FIELDS if f.kind in ("vec", "f64")]
        passed = self._horizon_of(msg, self.horizon_ns, self.att_horizon_ns)
        if (not finite(*values) or not passed < msg.t_meas_ns <= t_ns + NS_PER_S
                or self._problem(msg)):
            self.rejected += 1
            return
        self.arrivals += 1
        self.pending.append((int(msg.t_meas_ns), ORDER[type(msg)], self.arrivals, msg))

    @staticmethod
    def _horizon_of(msg, horizon_ns: int, att_horizon_ns: int) -> int:
        return att_horizon_ns if isinstance(msg, ATTITUDE_SENSORS) else horizon_ns

    def _held_until(self, t_ns: int) -> list[int]:
        """Just before the start of every commanded burn still to be reported (timed-out ones
        are forgotten)."""
        self.burns_awaited = {k: v for k, v in self.burns_awaited.items() if v[1] > t_ns}
        return [start - 1 for start, _ in self.burns_awaited.values()]

    def _admit_burn(self, burn: BurnReport, t_ns: int) -> None:
        """Buffer a burn, or apply it now if the filters have passed it; a repeat is ignored."""
        if burn.burn_id in self.burns_applied:
            return
        if not (finite(burn.dv_N, burn.sigma_dv_mps) and burn.t_start_ns <= burn.t_end_ns
                <= t_ns + NS_PER_S):
            self.rejected += 1
            return
        self.burns_applied.add(burn.burn_id)
        self.burns_awaited.pop(burn.burn_id, None)
        delay_ns = int(round(self.p.burn_delay_s * NS_PER_S))
        t_burn = (int(burn.t_start_ns) + int(burn.t_end_ns)) // 2 + delay_ns
        self.burn_windows.append((burn.t_start_ns + delay_ns, burn.t_end_ns + delay_ns))
        if t_burn > self.horizon_ns:
            self.arrivals += 1
            self.pending.append((t_burn, ORDER[BurnReport], self.arrivals, burn))
        elif self.t_manoeuvre_detected_ns < burn.t_start_ns:
            self._apply_burn(t_burn, burn)

    def _apply_burn(self, t_burn_ns: int, burn: BurnReport) -> None:
        for f in (self.orbit, self.relative):
            if f is not None:
                f.apply_burn(t_burn_ns, burn.dv_N, burn.sigma_dv_mps, self.p.burn_time_sigma_s)

    # -- processing --------------------------------------------------------------------------
    def _process(self, t_ns: int, msg) -> None:
        if isinstance(msg, (GnssFix, TargetTrack, RangefinderRange)) and any(
                start < t_ns < end for start, end in self.burn_windows):
            return
        try:
            if isinstance(msg, GyroRate):
                self.attitude.gyro(t_ns, msg.omega_BN_B)
            elif isinstance(msg, StarTrackerAttitude):
                self.attitude.star_tracker(t_ns, msg.q_BN, msg.sigma_cross_rad, msg.sigma_roll_rad)
            elif isinstance(msg, GnssFix):
                self._fuse_fix(t_ns, msg)
            elif isinstance(msg, TargetTrack):
                self._fuse_track(t_ns, msg)
            elif isinstance(msg, RangefinderRange):
                self._fuse_range(t_ns, msg.range_m, msg.sigma_m, self._radius(), True)
            elif isinstance(msg, BurnReport):
                self._apply_burn(t_ns, msg)
        except ValueError:
            self.rejected += 1

    def _fuse_fix(self, t_ns: int, fix: GnssFix) -> None:
        if self.orbit is None:
            self.orbit = OrbitFilter.from_fix(t_ns, fix.r_BN_N, fix.v_BN_N, fix.sigma_r_m,
                                              fix.sigma_v_mps,
                                              q_m2_s3=self.p.q_chaser_m2_s3 + self.p.q_common_m2_s3,
                                              gnss_correlation=self.gnss_correlation)
            return
        detected = self.orbit.fuser.manoeuvres_detected
        self.orbit.update_fix(t_ns, fix.r_BN_N, fix.v_BN_N, fix.sigma_r_m, fix.sigma_v_mps)
        if self.relative is not None:
            self.relative.update_fix(t_ns, fix.r_BN_N, fix.v_BN_N, fix.sigma_r_m, fix.sigma_v_mps)
        if self.orbit.fuser.manoeuvres_detected > detected:
            self.t_manoeuvre_detected_ns = t_ns

    def _gnss_correlation(self) -> GnssCorrelation | None:
        p = self.p
        if p.gnss_correlated_sigma_r_m == 0.0 and p.gnss_correlated_sigma_v_mps == 0.0:
            return None
        return GnssCorrelation(p.gnss_correlated_sigma_r_m, p.gnss_correlated_sigma_v_mps,
                               p.gnss_correlation_s)

    def _fuse_track(self, t_ns: int, track: TargetTrack) -> None:
        if self.relative is None:
            self.rejected += 1
            return
        u = np.asarray(track.u_N, dtype=np.float64)
        u = u / np.linalg.norm(u)
        P_u = track.P_u
        if self.epoch_jd is not None and not track.resolved and self._radius() > 0.0:
            range_m, _ = self.relative.line_of_sight()
            to_sun = sun_direction_N(self.epoch_jd + t_ns / NS_PER_S / 86400.0)
            u, P_u = centre_bearing(u, P_u, to_sun, self._radius(), range_m,
                                    self.p.target_radius_sigma_fraction)
        result = self.relative.update_bearing(t_ns, u, P_u)
        self.consistency.record(t_ns, result.nis, result.accepted)
        if self.consistency.failing:
            self.relative.inflate_target(self.p.divergence_reset_fraction)
            self.consistency.begin_recovery(t_ns)
            if not result.accepted:
                # the gated bearing that tripped the test is the newest evidence: fused on the
                # reset covariance, so that a range of the same instant is linearised along the
                # right line of sight (counted once, as gated)
                result = self.relative.update_bearing(t_ns, u, P_u)
                self.consistency.record(t_ns, result.nis, result.accepted, counted=False)
        rho = track.apparent_radius_rad
        if track.resolved and 0.0 < rho < math.pi / 2 and self._radius() > 0.0:
            d = self._radius() / math.sin(rho)
            sigma = math.hypot(d * self.p.target_radius_sigma_fraction,
                               d / math.tan(rho) * self.p.apparent_radius_sigma_rad)
            self._fuse_range(t_ns, d, sigma, 0.0, False)

    def _fuse_range(self, t_ns: int, range_m: float, sigma_m: float, offset_m: float,
                    rangefinder: bool) -> None:
        if self.relative is None:
            self.rejected += 1
            return
        self.relative.update_range(t_ns, range_m, sigma_m, offset_m, rangefinder)

    def _radius(self) -> float:
        return float(self.cue.radius_m) if self.cue is not None else 0.0

    def _advance_to(self, t_ns: int, att_t_ns: int) -> None:
        if self.attitude.initialised and self.attitude.t_ns < att_t_ns:
            self.attitude.propagate(att_t_ns)
        if self.orbit is not None and self.orbit.t_ns < t_ns:
            self.orbit.predict(t_ns)
        if self.relative is not None and self.relative.t_ns < t_ns:
            self.relative.predict(t_ns)

    def _start_relative_from_cue(self) -> None:
        """(Re)start the relative filter on a cue not used yet, once the orbit is known."""
        cue = self.cue
        if cue is None or self.orbit is None or cue.epoch_ns == self.cue_used_epoch_ns:
            return
        x = np.concatenate((cue.r_TN_N, cue.v_TN_N)).astype(np.float64)
        P = np.ascontiguousarray(cue.P_rv, dtype=np.float64)
        predict_inplace(x, P, (self.orbit.t_ns - cue.epoch_ns) / NS_PER_S,
                        self.p.q_target_m2_s3 + self.p.q_common_m2_s3)
        try:
            self.relative = RelativeFilter(
                self.orbit.t_ns, x, P, self.orbit.x, self.orbit.P,
                q_target_m2_s3=self.p.q_target_m2_s3, q_chaser_m2_s3=self.p.q_chaser_m2_s3,
                q_common_m2_s3=self.p.q_common_m2_s3,
                range_bias_sigma_m=self.p.rangefinder_bias_sigma_m,
                bearing_var_floor_rad2=self.p.bearing_floor_rad ** 2,
                gnss_correlation=self.gnss_correlation)
            # the chaser's covariance is the orbit filter's: the fixes in it are counted
            self.relative.fuser.t_last_fused_ns = self.orbit.fuser.t_last_fused_ns
        except ValueError:
            self.rejected += 1
        self.cue_used_epoch_ns = cue.epoch_ns
        self.consistency.reset()

    # -- outputs -----------------------------------------------------------------------------
    def _outputs(self) -> list:
        out = []
        if self.attitude.initialised:
            out.append(AttitudeEstimate(t_est_ns=self.attitude.t_ns, q_BN=self.attitude.q.copy(),
                                        omega_BN_B=self.attitude.omega_BN_B,
                                        P_att=self.attitude.P[:3, :3].copy(), valid=True))
        if self.orbit is not None:
            out.append(OrbitEstimate(t_est_ns=self.orbit.t_ns, r_BN_N=self.orbit.x[:3].copy(),
                                     v_BN_N=self.orbit.x[3:].copy(), P_rv=self.orbit.P.copy(),
                                     valid=True))
        if self.relative is not None:
            out.append(self._relative_state())
        c = self.consistency
        out.append(NavHealth(nis_bearing=c.nis_last, nis_bearing_avg=c.nis_average,
                             bearings_used=c.used, bearings_gated=c.gated,
                             measurements_rejected=self.rejected, diverged=c.diverged))
        return out

    def _relative_state(self) -> RelativeState:
        rel = self.relative
        both, P_both = published_state(rel.x, rel.P)
        range_m, _ = rel.line_of_sight()
        return RelativeState(t_est_ns=rel.t_ns, r_CT_rtn=both[:3], v_CT_rtn=both[3:6],
                             P_rtn=P_both[:6, :6].copy(), roe=both[6:], P_roe=P_both[6:, 6:].copy(),
                             range_m=range_m,
                             range_sigma_m=rel.range_sigma_m(), valid=True)
