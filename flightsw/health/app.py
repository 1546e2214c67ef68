"""The health app: the vehicle's health summary, and fault detection, isolation and recovery.

Every step it reads what the bus delivers and

1. apps (as before): flags apps whose health reports stop (stale), counts reboots, totals
   every app's error counters into HealthStatus (once a second);
2. FDIR (``flightsw.health.fdir``): monitors the sensors (dropout, freeze), the camera through
   detect's counters, the thrusters (commanded against observed motion, in angular
   momentum), navigation's divergence flag and the apps' liveness; decides; and publishes
   what is isolated and the response in force (FdirStatus, once a second and at every change)
   and each decision (FdirEvent).

Decisions (RESPONSES):

* a thruster found stuck off or degraded is declared failed (control allocates without it);
  one stuck on is also latched shut; with more than ``max_failed_thrusters`` failed the RCS can
  no longer be trusted to reach every force and torque: abort (safe, with a collision-avoidance
  manoeuvre flown on what is left while it still can be);
* a frozen sensor is excluded (navigation leaves it out) until it recovers; a dropped-out one
  is reported (its samples come flagged invalid, which navigation skips anyway); without the
  gyro the attitude cannot be propagated: safe; without the camera no bearing comes and the
  relative estimate only ages: hold (no new manoeuvre, no phase change) until frames return;
* a navigation divergence is reported (guidance's mission manager already falls to safe with a
  collision-avoidance manoeuvre in the proximity phases);
* an app gone quiet is reported; without control no burn or attitude command is carried out:
  safe.

``safe`` and ``abort`` latch in the mission manager (only a ground RESUME leaves safe); the
response published falls back to ``none`` once its cause has cleared.

Deadlines: the apps' missed deadlines (the runtime's health.app_timing, wall clock) are summed
into DeadlineStatus once a second, itself wall-clock telemetry. They stay out of the FDIR
decisions, which must be the same in every run of a scenario and seed: on a SIL bench a shared
machine's jitter is not a vehicle fault; on a paced (real-time) HIL run they are the operator's
evidence of an overloaded flight computer.
"""
from __future__ import annotations

import numpy as np

from flightsw.control.attitude import WheelArray
from flightsw.control.thrusters import reference_layout
from flightsw.health.fdir import CounterMonitor, SensorMonitor, ThrusterModel, ThrusterMonitor
from flightsw.msg import (off_unit, FDIR_RESPONSES, FDIR_SENSORS, AppHealth, AppTiming, AttitudeEstimate,
                          DeadlineStatus, DetectHealth, FdirEvent, FdirStatus, GnssFix, GyroRate, HealthStatus,
                          NavHealth, RangefinderRange, StarTrackerAttitude, ThrusterCommand,
                          WheelSpeeds, saturated)
from flightsw.runtime.app import NS_PER_S, App, Param

SEVERITY = {r: i for i, r in enumerate(FDIR_RESPONSES)}
# the response each kind of active fault asks of the vehicle (the subject's own entry first)
RESPONSES = {
    ("sensor", "gyro"): "safe",
    ("sensor", "camera"): "hold",
    ("sensor", None): "none",
    ("app", "control"): "safe",
    ("app", None): "none",
}


class HealthApp(App):
    """Watches the apps, sensors and thrusters; isolates faults and asks for a response.

    HealthStatus mode: ``fault`` if a monitored app is stale or FDIR asks for safe or abort,
    ``degraded`` if FDIR has isolated a fault (flying on), or any app rebooted, faulted a step,
    or rejected (at decode) or lost messages, else ``nominal``. The inputs the apps refused on
    their content are in the total of rejected inputs, but leave the mode alone: nominal
    flight has them (navigation's measurements that arrive behind its horizon).
    """

    SUBSCRIBES = (AppHealth, AppTiming, GyroRate, WheelSpeeds, GnssFix, StarTrackerAttitude,
                  RangefinderRange, AttitudeEstimate, ThrusterCommand, DetectHealth, NavHealth)
    PUBLISHES = (HealthStatus, FdirStatus, FdirEvent, DeadlineStatus)
    RATE_HZ = 5.0
    PARAMS = {
        "monitored": Param("", "", "comma-separated names of the apps that must report"),
        "stale_after_s": Param(3.0, "s", "report age beyond which an app is stale", lo=0.1),
        "fdir": Param(True, "", "run fault detection, isolation and recovery"),
        "inertia_diag_kgm2": Param("8,9,7", "kg m^2", "principal inertias, comma-separated"),
        "gyro_dropout_s": Param(2.0, "s", "gyro without a valid sample: dropped out", lo=0.1),
        "gnss_dropout_s": Param(600.0, "s", "GNSS without a valid fix: dropped out (victus-haze "
                                            "has natural gaps of 2 min)", lo=1.0),
        "star_tracker_dropout_s": Param(3600.0, "s", "star tracker without a valid solution "
                                                     "(blinding included, 30 min and more in the "
                                                     "fly-around): dropped out", lo=1.0),
        "rangefinder_silence_s": Param(30.0, "s", "rangefinder sending nothing at all", lo=1.0),
        "camera_silence_s": Param(600.0, "s", "no frame reaching detect: camera dropped out",
                                  lo=1.0),
        "freeze_count": Param(5, "samples", "identical valid readings in a row: frozen", lo=2,
                              hi=1000),
        "thruster_glr_threshold": Param(80.0, "1", "likelihood ratio that declares a thruster "
                                                   "fault", lo=1.0),
        "thruster_window_s": Param(4.0, "s", "history the thruster test fits", lo=1.0, hi=60.0),
        "gyro_sigma_h_Nms": Param(1.5e-3, "N m s", "1-sigma of the angular momentum measured "
                                                   "from one gyro sample", lo=1e-6),
        "max_failed_thrusters": Param(1, "count", "failed thrusters the allocation absorbs; "
                                                  "beyond: safe", lo=0, hi=11),
        "control_period_s": Param(0.2, "s", "control's firing window", lo=0.01, hi=10.0),
        "actuation_delay_s": Param(0.1, "s", "from a firing window's start to its valves "
                                             "opening (the bus hop to the plant's next step)",
                                   lo=0.0, hi=10.0),
        "gyro_lag_s": Param(0.0, "s", "how far behind a gyro sample's time stamp the thruster "
                                      "model is compared with it (the plant's gyro samples the "
                                      "rate at its stamp; at a 1 s plant step, which spreads a "
                                      "window's impulse over the step, 0.5 fits best)",
                            lo=0.0, hi=10.0),
    }

    def reset(self) -> None:
        self.expected = sorted(filter(None, (n.strip() for n in self.p.monitored.split(","))))
        self.last_report_ns: dict[str, int] = {}
        self.last: dict[str, AppHealth] = {}
        self.restarts = 0
        layout = reference_layout()
        J = np.diag([float(x) for x in self.p.inertia_diag_kgm2.split(",")])
        self.thrusters = ThrusterMonitor(
            ThrusterModel(layout.B, layout.thrust_max_N, J, WheelArray.pyramid().G,
                          self.p.control_period_s),
            sigma_h_Nms=self.p.gyro_sigma_h_Nms, window_s=self.p.thruster_window_s,
            glr_threshold=self.p.thruster_glr_threshold, gyro_lag_s=self.p.gyro_lag_s,
            actuation_delay_s=self.p.actuation_delay_s,
            # the latch closes a few hops after the declaration (health -> control -> plant)
            holdoff_s=max(1.0, 4.0 * self.p.control_period_s),
            eval_s=max(0.5, self.p.thruster_window_s / 8))
        n = self.p.freeze_count
        self.sensors = {
            GyroRate: SensorMonitor("gyro", self.p.gyro_dropout_s, n),
            GnssFix: SensorMonitor("gnss", self.p.gnss_dropout_s, n),
            StarTrackerAttitude: SensorMonitor("star_tracker", self.p.star_tracker_dropout_s, n),
            RangefinderRange: SensorMonitor("rangefinder", self.p.rangefinder_silence_s, n,
                                            silence_only=True),
        }
        self.camera = CounterMonitor("camera", self.p.camera_silence_s)
        self.failed = 0           # thruster bitmasks
        self.latched = 0
        self.active: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, subject) -> (fault, response)
        self.declared = 0
        self.wheels = None        # latest tachometer momenta
        self.diverged = False
        self.stale_seen: set[str] = set()
        self.published: tuple | None = None
        self.events: list[FdirEvent] = []
        self.deadline_misses: dict[str, int] = {}     # wall clock: kept out of every decision
        self.misses_reported: dict[str, int] = {}

    # -- the step ------------------------------------------------------------------------------
    def step(self, t_ns: int, inbox) -> list:
        out = []
        stale = self._apps(t_ns, inbox)
        if self.p.fdir:
            self._fdir(t_ns, inbox, stale)
            out += self.events
            self.events = []
            state = (self.failed, self.latched, self._excluded(), self._response())
            if state != self.published or t_ns % NS_PER_S == 0:
                self.published = state
                out.append(FdirStatus(
                    thrusters_failed=self.failed, latches_closed=self.latched,
                    sensors_excluded=state[2], response=state[3],
                    faults_declared=saturated(self.declared),
                    active=",".join(f"{f} {s}" for (_, s), (f, _) in sorted(self.active.items())
                                    )[:200]))
        for _, timing in inbox.all(AppTiming):
            self.deadline_misses[timing.app] = int(timing.deadline_misses)
        if t_ns % NS_PER_S == 0:
            out.append(self._status(t_ns, stale))
            out.append(self._deadlines())
        return out

    def _deadlines(self) -> DeadlineStatus:
        new = {a: n - self.misses_reported.get(a, 0) for a, n in self.deadline_misses.items()}
        over = {a: n for a, n in sorted(new.items()) if n > 0}
        self.misses_reported = dict(self.deadline_misses)
        return DeadlineStatus(misses=saturated(sum(self.deadline_misses.values())),
                              new_misses=saturated(sum(over.values())),
                              apps_overrunning=",".join(f"{a} {n}" for a, n in over.items())[:200])

    # -- apps ------------------------------------------------------------------------------------
    def _apps(self, t_ns: int, inbox) -> list[str]:
        for env, h in inbox.all(AppHealth):
            prev = self.last.get(h.app)
            if prev is not None and h.boot > prev.boot:
                self.restarts += h.boot - prev.boot
                if self.p.fdir:
                    self._event("app_restarted", h.app, "none",
                                f"boot {prev.boot} -> {h.boot}")
            self.last[h.app] = h
            self.last_report_ns[h.app] = env.t_ns
        stale_ns = int(self.p.stale_after_s * NS_PER_S)
        names = sorted(set(self.expected) | self.last.keys())
        # An app never heard from is stale once the grace period from boot is over.
        return [n for n in names if t_ns - self.last_report_ns.get(n, 0) > stale_ns]

    def _status(self, t_ns: int, stale: list[str]) -> HealthStatus:
        names = sorted(set(self.expected) | self.last.keys())
        totals = {k: saturated(sum(getattr(h, k) for h in self.last.values()))
                  for k in ("inputs_dropped", "outputs_rejected", "step_faults")}
        rejected = sum(int(h.inputs_rejected.sum()) for h in self.last.values())
        refused = sum(h.inputs_refused for h in self.last.values())
        if stale or self._response() in ("safe", "abort"):
            mode = "fault"
        elif self.active or self.restarts or rejected or any(totals.values()):
            mode = "degraded"
        else:
            mode = "nominal"
        return HealthStatus(
            apps_expected=len(names), apps_alive=len(names) - len(stale),
            stale_apps=",".join(stale)[:200], restarts=saturated(self.restarts),
            inputs_rejected=saturated(rejected + refused), mode=mode, **totals,
        )

    # -- FDIR ------------------------------------------------------------------------------------
    def _timely(self, inbox, cls, stamp: str, t_ns: int) -> list:
        """The messages of type cls whose time stamp is not over a second past t_ns; the others
        are refused and counted (one stamped in the future would blind a monitor: every
        sample after it looks stale, and the thruster model is integrated up to it)."""
        msgs = [m for _, m in inbox.all(cls)]
        timely = [m for m in msgs if getattr(m, stamp) <= t_ns + NS_PER_S]
        self.rejected += len(msgs) - len(timely)
        return timely

    def _fdir(self, t_ns: int, inbox, stale: list[str]) -> None:
        th = self.thrusters
        for a in self._timely(inbox, AttitudeEstimate, "t_est_ns", t_ns):
            if a.valid and off_unit(a.q_BN):
                self.rejected += 1
            elif a.valid:
                th.attitude_estimate(a.t_est_ns, a.q_BN, a.omega_BN_B)
        for c in self._timely(inbox, ThrusterCommand, "t_start_ns", t_ns):
            th.command(c.t_start_ns, c.on_time_s)
        # wheels and gyro in time order: each gyro sample takes the newest tachometer reading
        # at or before it
        wheels = [(int(w.t_meas_ns), np.asarray(w.momentum_Nms, float))
                  for w in self._timely(inbox, WheelSpeeds, "t_meas_ns", t_ns) if w.valid]
        wi = 0
        for g in self._timely(inbox, GyroRate, "t_meas_ns", t_ns):
            self.sensors[GyroRate].sample(int(g.t_meas_ns), bool(g.valid),
                                          np.asarray(g.omega_BN_B, float).tobytes())
            while wi < len(wheels) and wheels[wi][0] <= g.t_meas_ns:
                self.wheels = wheels[wi][1]
                wi += 1
            if g.valid and self.wheels is not None and not self._excluded_bit("gyro"):
                th.sample(int(g.t_meas_ns), g.omega_BN_B, self.wheels)
        if wi < len(wheels):
            self.wheels = wheels[-1][1]
        for cls, fields in ((GnssFix, ("r_BN_N", "v_BN_N")), (StarTrackerAttitude, ("q_BN",)),
                            (RangefinderRange, ("range_m",))):
            mon = self.sensors[cls]
            for m in self._timely(inbox, cls, "t_meas_ns", t_ns):
                mon.sample(int(m.t_meas_ns), bool(m.valid),
                           b"".join(np.asarray(getattr(m, f), float).tobytes() for f in fields))
        got = inbox.latest(DetectHealth)
        if got is not None:
            self.camera.report(t_ns, int(got[1].frames) + int(got[1].frames_rejected),
                               int(got[1].frames_frozen))
        for mon in (*self.sensors.values(), self.camera):
            for f in mon.poll(t_ns):
                self._sensor_finding(f)
        for f in th.poll(t_ns):
            self._thruster_finding(f)
        got = inbox.latest(NavHealth)
        if got is not None and bool(got[1].diverged) != self.diverged:
            self.diverged = bool(got[1].diverged)
            self._event("nav_diverged" if self.diverged else "nav_reconverged", "nav", "none",
                        "guidance's mission manager answers a divergence in proximity with "
                        "safe and a collision-avoidance manoeuvre" if self.diverged else "")
        for name in sorted(set(stale) - self.stale_seen):
            response = RESPONSES.get(("app", name), RESPONSES[("app", None)])
            self.active[("app", name)] = ("app_stale", response)
            self._event("app_stale", name, response, f"no health report for "
                        f"{self.p.stale_after_s:g} s")
        for name in sorted(self.stale_seen - set(stale)):
            self.active.pop(("app", name), None)
            self._event("app_alive", name, "none", "reports again")
        self.stale_seen = set(stale)

    def _sensor_finding(self, f) -> None:
        key = ("sensor", f.subject)
        if f.fault == "sensor_recovered":
            if self.active.pop(key, None) is not None:
                self._event(f.fault, f.subject, "included again", f.detail)
            return
        response = RESPONSES.get(key, RESPONSES[("sensor", None)])
        self.declared += 1
        self.active[key] = (f.fault, response)
        done = "excluded" if f.fault == "sensor_freeze" else "reported"
        self._event(f.fault, f.subject, done + ("" if response == "none" else f", {response}"),
                    f.detail)

    def _thruster_finding(self, f) -> None:
        bit = 1 << f.index
        self.failed |= bit
        done = "declared failed, reallocated"
        if f.fault == "thruster_stuck_on":
            self.latched |= bit
            done = "latch valve closed, declared failed, reallocated"
        self.declared += 1
        n_failed = bin(self.failed).count("1")
        response = "abort" if n_failed > self.p.max_failed_thrusters else "none"
        self.active[("thruster", f.subject)] = (f.fault, response)
        self._event(f.fault, f.subject, done + ("" if response == "none" else f", {response}"),
                    f.detail)

    def _excluded_bit(self, sensor: str) -> bool:
        return ("sensor", sensor) in self.active

    def _excluded(self) -> int:
        """Sensors navigation must leave out: the frozen ones (their readings look valid). A
        dropped-out unit flags its samples invalid, which navigation skips anyway; excluding it
        too would only cost the first good samples after it recovers, before the news does."""
        return sum(1 << i for i, s in enumerate(FDIR_SENSORS)
                   if self.active.get(("sensor", s), ("",))[0] == "sensor_freeze")

    def _response(self) -> str:
        return max((r for _, r in self.active.values()), key=SEVERITY.get, default="none")

    def _event(self, fault: str, subject: str, response: str, detail: str) -> None:
        self.events.append(FdirEvent(fault=fault[:32], subject=subject[:32],
                                     response=response[:64], detail=detail[:200]))
