"""The plant as an app on the bus: truth dynamics, sensors, actuators and faults.

At each step (sim time t, period dt) the plant, like a bench of hardware emulators:

1. applies the faults scheduled up to t (link faults then act on the encoded wire frames at
   the runner's ``incoming`` and ``outgoing`` hooks: the commands as they reach the step, the
   outputs as they leave it; see hil.plant.faults);
2. latches the newest actuator commands delivered to it (thrusters, wheels, and the camera's
   imaging cadence: frames on whole multiples of the commanded period, else the configured
   camera rate; and its exposure, clamped to the shutter's limits); a thruster command whose
   window opens after it arrives is refused and counted (``rejected``, in health.app);
3. samples every sensor due at t from the truth at t and publishes what their interfaces
   deliver (after each sensor's latency), the camera frame when one is due, the truth record
   when due, and the cue once at t = 0;
4. fires the thrusters over [t, t + dt) — a command's valves open at its window start
   (``t_start_ns``) and close after each on-time, so a window longer than dt is spread over
   the steps it covers — applies the window-averaged force and torque, and integrates both
   orbits and the chaser's attitude to t + dt.

Every random draw comes from a stream keyed by the scenario seed and the model's name (a link
fault's, from a hash keyed by the seed and the message).
"""
from __future__ import annotations

import numpy as np

from flightsw.msg import (CameraCommand, CameraFrame, ExposureCommand, GnssFix, GyroRate,
                          LatchValveCommand, RangefinderRange, StarTrackerAttitude, TargetCue,
                          ThrusterCommand, TruthState, WheelSpeeds, WheelTorqueCommand,
                          mask_bits)
from flightsw.runtime.app import NS_PER_S, App, Param
from hil.attitude import RigidBody
from hil.attitude.wheels import ReactionWheels
from hil.camera import Camera, Scene, StarSky, Target
from hil.ephemeris import julian_date, sun_position_N
from hil.orbit import Drag, Orbits, rtn_dcm
from hil.plant.config import PlantConfig, parse_plant
from hil.plant.faults import Fault, Link
from hil.plant.truth import PlantTruth
from hil.sensors import GnssReceiver, Gyro, Rangefinder, StarTracker
from hil.thrusters import N_THRUSTERS, Thrusters

JD_PER_NS = 1.0 / (86400.0 * NS_PER_S)


def dispersed_state(r_N, v_N, sigma_r_rtn, sigma_v_rtn, rng):
    """The plan plus an insertion error drawn from 1-sigma RTN errors; and its ECI covariance."""
    C = rtn_dcm(r_N, v_N)
    dr, dv = rng.standard_normal(3) * sigma_r_rtn, rng.standard_normal(3) * sigma_v_rtn
    P = np.zeros((6, 6))
    P[:3, :3] = C.T @ np.diag(sigma_r_rtn**2) @ C
    P[3:, 3:] = C.T @ np.diag(sigma_v_rtn**2) @ C
    return r_N + C.T @ dr, v_N + C.T @ dv, P


class Plant(App):
    """Truth of chaser and target, and the chaser's sensors and actuators."""

    SUBSCRIBES = (ThrusterCommand, WheelTorqueCommand, CameraCommand, ExposureCommand,
                  LatchValveCommand)
    PUBLISHES = (TargetCue, GnssFix, GyroRate, StarTrackerAttitude, RangefinderRange,
                 WheelSpeeds, CameraFrame, TruthState)
    RATE_HZ = 10.0
    PARAMS = {"config": Param({}, "", "the scenario's [plant] table (see hil.plant.config)")}

    def __init__(self, name, params=None, seed=0, rate_hz=None):
        cfg = parse_plant(dict((params or {}).get("config", {})))
        super().__init__(name, params, seed, rate_hz=cfg.rate_hz if rate_hz is None else rate_hz)
        self.cfg: PlantConfig = cfg

    def reset(self) -> None:
        cfg = self.cfg
        self.dt_s = self.period_ns / NS_PER_S
        self.jd0 = julian_date(cfg.epoch_utc)
        r_T, v_T, self.cue_P = dispersed_state(
            cfg.target_plan.r_N, cfg.target_plan.v_N, cfg.cue_sigma_r_rtn_m,
            cfg.cue_sigma_v_rtn_mps, self.stream("insertion"))
        drag = [Drag.from_mass_area(b.mass_kg, b.drag_area_m2)
                for b in (cfg.chaser, cfg.target_plan)]
        self.orbits = Orbits(np.array([np.r_[cfg.chaser.r_N, cfg.chaser.v_N], np.r_[r_T, v_T]]),
                             drag=drag)
        self.body = RigidBody(cfg.inertia_kgm2, wheels=ReactionWheels.pyramid(),
                              q_BN=cfg.q_BN, omega_BN_B=cfg.omega_BN_B)
        self.truth = PlantTruth(self.orbits, self.body)
        self.mass_kg = cfg.chaser.mass_kg
        self.thrusters = Thrusters(cfg.thrusters, self.stream("thrusters.build"))
        self.rng_fire = self.stream("thrusters.fire")
        self.sensors = {
            "gnss": GnssReceiver(cfg.gnss, self.stream("gnss.build")),
            "gyro": Gyro(cfg.gyro, self.stream("gyro.build")),
            "star_tracker": StarTracker(cfg.star_tracker, self.stream("star_tracker.build")),
            "rangefinder": Rangefinder(cfg.rangefinder, self.stream("rangefinder.build")),
        }
        self.noise = {k: self.stream(f"{k}.noise") for k in self.sensors}
        epoch_jyear = 2000.0 + (self.jd0 - 2451545.0) / 365.25
        self.camera = Camera(cfg.camera, StarSky.load(epoch_jyear, sky_key=self.seed,
                                                      faint_limit_v_mag=cfg.faint_limit_v_mag),
                             q_CB=cfg.q_CB)
        self.rng_camera = self.stream("camera.noise")
        self.camera_period_ns = int(round(NS_PER_S / cfg.camera_rate_hz))
        self.camera_fault: str | None = None
        self.frames = 0
        self.last_image = None
        self.truth_period_ns = int(round(NS_PER_S / cfg.truth_rate_hz))
        self.pending_faults: list[Fault] = list(cfg.faults)
        self.links = {d: Link(d, self.seed) for d in ("out", "in")}
        self.cmd_start_ns = 0
        self.cmd_on_s = np.zeros(N_THRUSTERS)
        self.wheel_cmd_Nm = np.zeros(4)

    # -- faults and commands -------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        """Apply a fault now (the schedule calls this; so may a test)."""
        if fault.kind.startswith("link_"):
            self.links[fault.direction].set(fault)
        elif fault.kind.startswith("sensor_"):
            kind = {"sensor_dropout": "dropout", "sensor_freeze": "freeze"}.get(fault.kind)
            if fault.sensor == "camera":
                self.camera_fault = kind
            else:
                self.sensors[fault.sensor].set_fault(kind)
        else:
            kind = {"thruster_stuck_off": "stuck_off", "thruster_stuck_on": "stuck_on",
                    "thruster_degraded": "degraded"}.get(fault.kind)
            self.thrusters.set_fault(fault.index, kind, fault.scale)

    def _apply_faults_due(self, t_ns: int) -> None:
        while self.pending_faults and self.pending_faults[0].t_ns <= t_ns:
            self.inject(self.pending_faults.pop(0))

    def incoming(self, t_ns, raw):
        self._apply_faults_due(t_ns)
        return self.links["in"].cross(t_ns, raw)

    def outgoing(self, t_ns, wire):
        return self.links["out"].cross(t_ns, wire)

    def _latch_commands(self, t_ns: int, inbox) -> None:
        got = inbox.latest(ThrusterCommand)
        if got is not None and got[1].t_start_ns > t_ns:
            # the valve driver executes on receipt; a window that opens later than it is
            # received is no command it can keep (it fired at once, for as long as the wait)
            self.rejected += 1
        elif got is not None:
            # like a valve driver, a command whose window opened before it arrived is
            # executed on receipt (the bus delivers a step after publication)
            self.cmd_start_ns = max(got[1].t_start_ns, t_ns)
            self.cmd_on_s = got[1].on_time_s.copy()
        got = inbox.latest(LatchValveCommand)
        if got is not None:
            self.thrusters.set_latches(mask_bits(got[1].closed_mask, len(self.thrusters.latched)))
        got = inbox.latest(WheelTorqueCommand)
        if got is not None:
            self.wheel_cmd_Nm = got[1].torque_Nm.copy()
        got = inbox.latest(CameraCommand)
        if got is not None:
            # the camera takes frames on whole multiples of its period, in whole plant steps
            step_ns = self.period_ns
            self.camera_period_ns = max(int(round(got[1].period_s * NS_PER_S / step_ns)), 1) * step_ns
        got = inbox.latest(ExposureCommand)
        if got is not None:
            # the shutter clamps to its limits; each frame reports the exposure it used
            self.camera.set_exposure(got[1].exposure_s)

    def _on_times_in_step(self, t_ns: int) -> np.ndarray:
        """The part of each valve's on-time that falls in [t, t + dt)."""
        opened_s = (t_ns - self.cmd_start_ns) / NS_PER_S
        return np.clip(self.cmd_on_s - opened_s, 0.0, self.dt_s)

    # -- the step ------------------------------------------------------------------------
    def step(self, t_ns, inbox):
        self._apply_faults_due(t_ns)
        self._latch_commands(t_ns, inbox)
        out = self._sense(t_ns)
        self._actuate_and_propagate(t_ns)
        return out

    def _sense(self, t_ns: int) -> list:
        states = self.orbits.states_N
        r_B, v_B, r_T, v_T = states[0, :3], states[0, 3:], states[1, :3], states[1, 3:]
        q, w = self.body.q_BN, self.body.omega_BN_B
        r_sun = sun_position_N(self.jd0 + t_ns * JD_PER_NS)
        s_sun = (r_sun - r_B) / np.linalg.norm(r_sun - r_B)
        out: list = []
        if t_ns == 0:
            plan = self.cfg.target_plan
            out.append(TargetCue(epoch_ns=0, r_TN_N=plan.r_N, v_TN_N=plan.v_N, P_rv=self.cue_P,
                                 radius_m=self.cfg.target_radius_m))
        s, n = self.sensors, self.noise
        out += [GnssFix(**x._asdict()) for x in s["gnss"].poll(t_ns, r_B, v_B, n["gnss"])]
        out += [GyroRate(**x._asdict()) for x in s["gyro"].poll(t_ns, w, n["gyro"])]
        out += [StarTrackerAttitude(**x._asdict())
                for x in s["star_tracker"].poll(t_ns, q, s_sun, r_B, n["star_tracker"])]
        out += [RangefinderRange(**x._asdict())
                for x in s["rangefinder"].poll(t_ns, r_T - r_B, q, self.cfg.target_radius_m,
                                                n["rangefinder"])]
        # wheel tachometers: every step, quantised like a 16-bit speed readout
        h = self.body.wheel_momentum_Nms
        out.append(WheelSpeeds(t_meas_ns=t_ns, momentum_Nms=np.round(h / 1e-4) * 1e-4,
                               valid=True))
        if t_ns % self.camera_period_ns == 0:
            frame = self._expose(t_ns, r_B, v_B, r_T, v_T, q, w, r_sun)
            if frame is not None:
                out.append(frame)
        if t_ns % self.truth_period_ns == 0:
            out.append(TruthState(r_BN_N=r_B, v_BN_N=v_B, q_BN=q, omega_BN_B=w,
                                  h_wheels_Nms=self.body.wheel_momentum_Nms,
                                  propellant_kg=self.thrusters.propellant_kg,
                                  r_TN_N=r_T, v_TN_N=v_T))
        return out

    def _expose(self, t_ns, r_B, v_B, r_T, v_T, q, w, r_sun) -> CameraFrame | None:
        if self.camera_fault == "dropout":
            return None
        if self.camera_fault == "freeze" and self.last_image is not None:
            image = self.last_image
        else:
            rng = self.rng_camera
            target = Target(r_TC_N=r_T - r_B, v_TC_N=v_T - v_B,
                            radius_m=self.cfg.target_radius_m, albedo=self.cfg.target_albedo)
            scene = Scene(q_BN=q, r_sun_N=r_sun - r_B, r_earth_N=-r_B, omega_BN_B=w,
                          target=target, v_observer_N=v_B)
            image, _truth = self.camera.render(scene, rng)
            self.last_image = image
        self.frames += 1
        p = self.camera.params
        return CameraFrame(frame_id=self.frames,
                           t_exposure_start_ns=max(0, t_ns - int(p.exposure_s * NS_PER_S / 2)),
                           exposure_s=p.exposure_s, gain_e_per_dn=p.gain_e_per_dn, image=image)

    def _actuate_and_propagate(self, t_ns: int) -> None:
        firing = self.thrusters.fire(self._on_times_in_step(t_ns), self.dt_s, self.rng_fire)
        self.mass_kg -= firing.propellant_used_kg
        # orbits and attitude in one compiled call (hil.plant.truth)
        self.truth.step(self.dt_s, firing.force_B_N, self.mass_kg, firing.torque_B_Nm,
                        self.wheel_cmd_Nm)
