"""The guidance app: the mission manager and the manoeuvre planners on the bus.

Each step:

1. Intake. Every input is checked at the edge (declared shapes, finite values, a covariance
   that is one, a time not in the future, an orbit that is one: bound, its perigee above the
   ground; a cue of an epoch within max_cue_span_s); a bad one is counted in ``rejected``
   and dropped.
   Estimates older than stale_after_s are not used.
2. Ground commands go to the mission manager, each cmd_id once; its answer is logged.
3. The manager advances on what navigation and detection report (mission.Observations):
   attitude valid, a confirmed track, navigation valid (fresh, converged: range sigma below
   nav_converged_fraction of the range, not diverged), the range, the inspection coverage,
   and whether a collision-avoidance manoeuvre is needed (cam.cam_needed on the committed
   motion — free drift and the burns already issued — with the navigation covariance, every
   cam_check_period_s in the proximity phases).
   Navigation silent for nav_lost_s in a proximity phase counts as diverged (counted from the
   end of the last burn: navigation holds its estimate through a burn until its report).
4. Plans (only on a settled, converged estimate: range sigma within nav_converged_fraction of
   the range; a plan over max_plan_dv_mps is refused as a sign of a bad estimate). Entering a
   phase queues its legs: far approach, phasing to the 20 km hold within far_budget_s (or
   whole orbits later, up to far_late_s, when its burns fit the burn cap only then); mid
   approach, passively safe transfers to the 5 km and then the 1 km hold; close approach, to
   the 300 m hold; inspect, the fly-around (entry onto the ellipse whose phase images the most
   of the target, and di flip); depart, the departure to a drift-safe orbit. No burn of a
   phasing or a transfer is planned over the cap burn_force_N x max_phasing_burn_s / mass_kg.
   A leg is planned from the current estimate once the plan before it has flown (a phase
   entered while the last plan still has burns due finishes them first, but for the phasing
   on entering the mid approach and the fly-around on entering the departure: HANDED_OVER)
   and, after a hold transfer, hold_dwell_s has passed. A plan is re-planned when
   the estimate departs from its prediction by more than max(replan_tolerance_m,
   replan_tolerance_fraction x range), when a burn is missed or fails its check, when a burn
   report differs from the command, and after a ground hold; a transfer's re-plan is first
   tried as a correction on its own schedule (approach.retarget_transfer). Safe drops the plan (a passive
   hold; a plan burn commanded and not yet over is cancelled, as on a ground hold, by a zero
   delta-v command that supersedes it) and flies the collision-avoidance manoeuvre the
   manager asks for (abort, divergence,
   keep-out threatened), planned by cam.plan_cam from the estimate and its covariance
   (inflated by diverged_covariance_scale when navigation has diverged), with fallbacks down
   to the keep-out test without covariance. In safe the keep-out test is repeated once the
   CAM has settled; if it fails again another CAM is flown when the mean motion enters the
   sphere, but when only the uncertainty fails the test (navigation not converged), only a
   CAM that passes the full test: no impulse shrinks a covariance.
5. Burns. The plan's next impulse is issued once, burn_lead_s before it starts (start = the
   impulse time less half the duration m |dv| / burn_force_N, at least min_burn_lead_s after
   the step so the controller has it in time, and not before the last burn's window has
   closed: the controller flies one burn at a time, the latest command; impulses too close to
   fly apart go as one), after the checks: passive_safety.check_plan of the
   remaining plan from the current estimate (the planned and the missed-burn trajectories
   clear of the keep-out sphere; in proximity also the e/i separation) and, in proximity, the
   short-horizon keep-out test with the covariance (the test that would call for a CAM). No
   burn is issued on a ground hold, with navigation stale or diverged, or without a valid
   attitude estimate (the controller needs it to point the thrust); re-plans wait until the
   last burn has settled (burn_settle_s). In far approach, when the range sigma exceeds
   obs_trigger_fraction of the range, an observability burn is flown: the smallest impulse
   along the observability candidates (observability.py) that the navigation's own covariance
   analysis (RelativeFilter.predicted_range_sigma, on a twin rebuilt from the published
   estimate) predicts cuts the range sigma by the factor obs_gain; the phasing is re-planned
   after it.
6. Pointing (PointingCommand, every step). Commission: solar array on the Sun. With a fresh
   confirmed or coasting track: the track's line of sight, carried to now at its measured
   rate. Otherwise the navigation's predicted line of sight, in search once nav_pointing_sigmas
   of its uncertainty fit in half the field (one pointing then covers what tiles would);
   search (and far approach with navigation lost): the tiles of the detect search plan over
   the cue (search_pointing). Nothing known: the Sun. The camera is kept sun_exclusion_deg off the
   Sun (pointing.clear_of_sun); the rate is the reference's over RATE_LOOKAHEAD_S.
7. GuidanceMode every step; the camera's cadence for the phase (camera_period_s, slower in far
   approach: far_camera_period_s) when it changes and every CAMERA_REFRESH_S; a PlanReport
   (the plan, its delta-v and, for the phasing, the analytic lower bound for the same transfer
   time) whenever a leg is planned or re-planned.

Ground commands are answered in the app's log (``events``): no message carries responses.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from flightsw.control.attitude import quat_from_dcm
from flightsw.detect.camera import CameraModel
from flightsw.detect.propagate import orbit_problem, propagate
from flightsw.detect.search import CueState, SearchConfig
from flightsw.guidance.approach import HOLD_POINTS_M, hold_aim, plan_transfer, retarget_transfer
from flightsw.guidance.cam import CAM_DECISION_S, SHORT_HORIZON_S, cam_needed, plan_cam
from flightsw.guidance.estimate import (Estimate, checked_array, checked_covariance,
                                        dv_N_from_rtn, estimate_from_navigation, navigation_twin)
from flightsw.guidance.flyaround import (CoverageMap, plan_departure, plan_flyaround,
                                         viewing_directions, visible_coverage)
from flightsw.guidance.keepout import closest_approach, required_sigmas
from flightsw.guidance.maneuvers import Burn
from flightsw.guidance.mission import COVERAGE_GOAL, PHASES, MissionManager, Observations, Phase
from flightsw.guidance.observability import CANDIDATE_AXES, plan_observability_burn
from flightsw.guidance.passive_safety import check_plan, ei_side
from flightsw.guidance.phasing import plan_phasing_in_cap
from flightsw.guidance.plan import ActivePlan
from flightsw.guidance.pointing import (boresight_attitude, clear_of_sun, reference_rate,
                                        sun_attitude, unit)
from flightsw.guidance.search_pointing import SearchPointing
from flightsw.guidance.sun import julian_date, sun_direction_N
from flightsw.msg import (off_unit, AttitudeEstimate, BurnCommand, BurnReport, CameraCommand, FdirStatus,
                          GroundCommand, GuidanceEvent, GuidanceMode, NavHealth, OrbitEstimate,
                          PlanReport, PointingCommand, RelativeState, TargetCue, TargetTrack)
from flightsw.runtime.app import NS_PER_S, App, Param

PROXIMITY = (Phase.MID_APPROACH, Phase.CLOSE_APPROACH, Phase.INSPECT)
CHECKED_E_I = PROXIMITY + (Phase.DEPART,)
# the legs each phase flies, in order: (kind, index into approach.HOLD_POINTS_M)
LEGS = {
    Phase.FAR_APPROACH: (("phasing", 0),),
    Phase.MID_APPROACH: (("hold", 1), ("hold", 2)),
    Phase.CLOSE_APPROACH: (("hold", 3),),
    Phase.INSPECT: (("flyaround", None),),
    Phase.DEPART: (("departure", None),),
}
# entering these phases drops the plan of the leg named, not yet flown: (leg, why)
HANDED_OVER = {
    Phase.MID_APPROACH: ("phasing", "phasing handed over inside the 25 km gate: the mid "
                                    "approach's transfer takes over"),
    Phase.DEPART: ("flyaround", "coverage reached: the rest of the fly-around gives way to the "
                                "departure"),
}
RATE_LOOKAHEAD_S = 1.0
# the longest burn a BurnCommand may carry; a longer one is commanded at a higher force (the
# controller delivers what it can, its BurnReport shows the rest, and the plan is re-made)
MAX_BURN_S = 3600.0
MIN_PHASING_ORBITS = 4
# a transfer's correction on its own schedule is preferred to a new transfer (which starts it
# over: hours) unless it costs more than this factor of the new one's delta-v, plus the slack
RETARGET_DV_FACTOR = 2.0
RETARGET_DV_SLACK_MPS = 0.1
# a corrected transfer keeps only the burns at least this long after their issue lead
RETARGET_MARGIN_S = 60.0
CAMERA_REFRESH_S = 600.0
# the fly-around ellipse phases tried (from the hold's e vector phase), rad
FLYAROUND_PHASES = np.radians(np.arange(0.0, 360.0, 30.0))


class GuidanceApp(App):
    """Runs the mission phases, plans and checks the manoeuvres, points the camera."""

    SUBSCRIBES = (RelativeState, OrbitEstimate, AttitudeEstimate, TargetTrack, NavHealth,
                  TargetCue, GroundCommand, BurnReport, FdirStatus)
    PUBLISHES = (GuidanceMode, PointingCommand, BurnCommand, PlanReport, CameraCommand,
                 GuidanceEvent)
    RATE_HZ = 1.0
    PARAMS = {
        "epoch_utc": Param("", "", "UTC of sim time 0, ISO-8601, for the Sun ('' = Sun unknown)"),
        "start_phase": Param("commission", "", "phase at boot (e.g. close_approach for a "
                                               "close-range scenario)"),
        "sun_exclusion_deg": Param(30.0, "deg", "least angle between boresight and Sun",
                                   lo=0.0, hi=90.0),
        "camera_fov_deg": Param(10.0, "deg", "camera field of view across the columns",
                                lo=0.1, hi=90.0),
        "camera_cols": Param(1024, "px", "camera columns", lo=32, hi=4096),
        "camera_rows": Param(1024, "px", "camera rows", lo=32, hi=4096),
        "camera_period_s": Param(0.0, "s", "imaging cadence commanded to the camera (0: the "
                                           "camera's own, no command)", lo=0.0, hi=3600.0),
        "far_camera_period_s": Param(0.0, "s", "the cadence in far approach, drifting for hours "
                                               "(0: camera_period_s)", lo=0.0, hi=3600.0),
        "search_samples": Param(1000, "count", "Monte Carlo samples of the cue", lo=100,
                                hi=100000),
        "search_dwell_s": Param(20.0, "s", "time on each search tile", lo=1.0, hi=3600.0),
        "max_cue_span_s": Param(259200.0, "s", "a cue whose epoch is further than this from the "
                                "step time is refused (the search propagates it from its epoch)",
                                lo=1.0, hi=3.2e7),
        "nav_pointing_sigmas": Param(3.0, "1", "sigmas of the navigation's line of sight that "
                                               "must fit in half the field to end a search by "
                                               "pointing at it", lo=0.0, hi=100.0),
        "stale_after_s": Param(10.0, "s", "age beyond which an estimate is not used", lo=0.5),
        "track_fresh_s": Param(5.0, "s", "age beyond which a track is not pointed at", lo=0.5),
        "nav_lost_s": Param(60.0, "s", "silence of navigation that counts as divergence in "
                                       "proximity", lo=1.0),
        "nav_settle_s": Param(300.0, "s", "time from navigation's first estimate before its "
                                          "covariance enters the keep-out test and plans are "
                                          "made", lo=0.0, hi=86400.0),
        "nav_converged_fraction": Param(0.1, "1", "range sigma / range below which navigation "
                                                  "is converged", lo=1e-6, hi=1.0),
        "mass_kg": Param(100.0, "kg", "chaser mass", lo=1.0, hi=1e4),
        "burn_force_N": Param(0.4, "N", "force a burn is planned with", lo=1e-3, hi=1e3),
        "max_phasing_burn_s": Param(480.0, "s", "longest burn of the far-range phasing (longer "
                                    "ones are split an orbit apart: a finite burn sweeps an arc)",
                                    lo=10.0, hi=MAX_BURN_S),
        "max_plan_dv_mps": Param(40.0, "m/s", "largest delta-v one leg's plan may use (more: "
                                              "refused, the estimate is suspect)", lo=0.0,
                                 hi=1e3),
        "min_dv_mps": Param(1e-4, "m/s", "smallest impulse commanded (the RCS's minimum "
                                         "impulse bit); a plan's smaller one is passed over",
                            lo=0.0, hi=1.0),
        "min_burn_s": Param(1.0, "s", "shortest burn duration", lo=0.01, hi=600.0),
        "burn_lead_s": Param(30.0, "s", "how long before its start a burn is issued", lo=1.0,
                             hi=3600.0),
        "min_burn_lead_s": Param(1.0, "s", "least time between issue and start (> a control "
                                           "period)", lo=0.0, hi=60.0),
        "late_tolerance_s": Param(30.0, "s", "a burn may start this late, else re-plan",
                                  lo=0.0, hi=600.0),
        "burn_merge_gap_s": Param(10.0, "s", "impulses closer than their windows and this gap "
                                             "fly as one", lo=0.0, hi=3600.0),
        "burn_settle_s": Param(120.0, "s", "after a burn, time for navigation to see it",
                               lo=0.0, hi=7200.0),
        "plan_start_s": Param(600.0, "s", "earliest first burn of a new plan after its "
                                          "estimate", lo=10.0, hi=86400.0),
        "plan_retry_s": Param(60.0, "s", "wait before planning again after a failure",
                              lo=1.0, hi=86400.0),
        "far_budget_s": Param(22 * 3600.0, "s", "far approach time budget (phasing arrival): of the "
                              "48 h, the rest is ~12 h to the 300 m hold, ~6 h of inspection, departure",
                              lo=3600.0, hi=PHASES[Phase.FAR_APPROACH].timeout_s),
        "far_late_s": Param(6 * 3600.0, "s", "how much later than the far budget a phasing "
                            "whose burns do not fit the cap by then may arrive", lo=0.0,
                            hi=PHASES[Phase.FAR_APPROACH].timeout_s),
        "hold_dwell_s": Param(2700.0, "s", "time at a hold point before the next leg (half an orbit: "
                              "navigation sees the hold before the next transfer)", lo=0.0,
                              hi=86400.0),
        "keepout_m": Param(50.0, "m", "keep-out sphere radius", lo=1.0, hi=10000.0),
        "k_sigma": Param(3.0, "1", "sigmas of margin in the keep-out tests", lo=0.0, hi=10.0),
        "keepout_probability": Param(1e-4, "1", "largest probability of being in the keep-out "
                                                "sphere the keep-out test accepts", lo=1e-12, hi=0.5),
        "flyaround_radial_m": Param(75.0, "m", "fly-around radial amplitude", lo=1.0, hi=5000.0),
        "flyaround_normal_m": Param(150.0, "m", "fly-around cross-track amplitude", lo=1.0,
                                    hi=5000.0),
        "depart_drift_m_per_orbit": Param(5000.0, "m", "the departure's drift away behind the target, per "
                                          "orbit (5 km out within about an orbit of the departure burns)",
                                          lo=100.0, hi=1e5),
        "flyaround_orbits": Param(2, "orbits", "orbits on each fly-around ellipse", lo=1, hi=20),
        "coverage_incidence_deg": Param(60.0, "deg", "largest useful incidence on the surface",
                                        lo=1.0, hi=89.0),
        "earth_background_ok": Param(False, "", "the detector finds the target against the "
                                     "sunlit Earth (false, as detect is today: its exposure "
                                     "control stays at nominal while the Earth blinds the "
                                     "frame, ~5 % of such frames tracked in mid-range; the "
                                     "fly-around phase is then chosen for imaging with the "
                                     "Earth not behind the target)"),
        "target_attitude": Param("rtn", "", "frame the target holds its attitude in: rtn or "
                                            "inertial"),
        "replan_tolerance_m": Param(20.0, "m", "deviation from the plan that re-plans", lo=0.0),
        "replan_tolerance_fraction": Param(0.1, "1", "the same, as a fraction of the range",
                                           lo=0.0, hi=1.0),
        "replan_min_interval_s": Param(600.0, "s", "least time between deviation re-plans",
                                       lo=0.0, hi=86400.0),
        "cam_check_period_s": Param(10.0, "s", "period of the keep-out test with covariance",
                                    lo=1.0, hi=3600.0),
        "cam_decision_s": Param(CAM_DECISION_S, "s", "how soon a threat raised by the "
                                "uncertainty alone calls for a CAM now (later ones wait for "
                                "better navigation)", lo=0.0, hi=SHORT_HORIZON_S),
        "cam_retry_s": Param(300.0, "s", "wait before planning a CAM again after none was "
                                         "found", lo=1.0, hi=86400.0),
        "cam_dv_max_mps": Param(0.5, "m/s", "largest collision-avoidance impulse", lo=1e-3,
                                hi=10.0),
        "diverged_covariance_scale": Param(100.0, "1", "covariance factor when navigation "
                                                       "diverged", lo=1.0, hi=1e6),
        "obs_trigger_fraction": Param(0.05, "1", "range sigma / range that calls for an "
                                                 "observability burn", lo=1e-4, hi=1.0),
        "obs_goal_fraction": Param(0.02, "1", "range sigma / range an observability burn aims "
                                              "at (its first, linear sizing)", lo=1e-4, hi=1.0),
        "obs_gain": Param(0.5, "1", "predicted range sigma ratio (with / without) a burn must "
                                    "reach", lo=0.01, hi=1.0),
        "obs_interval_s": Param(11400.0, "s", "least time between observability burns", lo=60.0),
        "obs_tau_s": Param(5700.0, "s", "bearings horizon the burn is judged on", lo=60.0,
                           hi=86400.0),
        "obs_bearing_sigma_rad": Param(2e-5, "rad", "bearing 1-sigma for the covariance "
                                                    "analysis", lo=1e-9, hi=0.1),
        "obs_bearing_interval_s": Param(60.0, "s", "bearing interval for the analysis", lo=1.0),
        "obs_dv_max_mps": Param(1.0, "m/s", "largest observability impulse", lo=1e-3, hi=10.0),
    }

    # -- boot --------------------------------------------------------------------------------
    def reset(self) -> None:
        try:
            start = Phase(self.p.start_phase)
        except ValueError:
            raise ValueError(f"{self.name}: start_phase {self.p.start_phase!r} is not a phase") from None
        if self.p.target_attitude not in ("rtn", "inertial"):
            raise ValueError(f"{self.name}: target_attitude must be 'rtn' or 'inertial'")
        self.epoch_jd = julian_date(self.p.epoch_utc) if self.p.epoch_utc else None
        self.camera = CameraModel(int(self.p.camera_cols), int(self.p.camera_rows),
                                  self.p.camera_fov_deg)
        self.search_config = SearchConfig(n_samples=int(self.p.search_samples))
        self.mission = MissionManager(phase=start)
        self.log_seen = -1
        self.rejected = 0
        self.events: deque = deque(maxlen=500)
        self.unsent: list[str] = []               # notes of this step, published with it
        # what the vehicle knows
        self.orbit: tuple | None = None           # (t_ns, r, v, P)
        self.relative: tuple | None = None        # (t_ns, RelativeState)
        self.est: Estimate | None = None
        self.last_nav_ns = 0
        self.nav_since_ns: int | None = None     # first estimate of the present navigation run
        self.attitude: tuple | None = None        # (t_ns, q_BN)
        self.tracks: deque = deque(maxlen=2)      # (t_ns, track_id, u_N, state)
        self.diverged = False
        self.fdir_response = "none"
        self.far_deadline_ns: int | None = None   # far approach entry + far_budget_s
        # the first fly-around plan's (side of di, flip time (ns), end time (ns), ellipse
        # phase (rad)): re-plans keep it
        self.flyaround_schedule: tuple | None = None
        self.cue: CueState | None = None
        self.search: SearchPointing | None = None
        self.commands_seen: dict[int, str] = {}   # cmd_id -> its opcode
        self.coverage = CoverageMap(np.radians(self.p.coverage_incidence_deg))
        self.coverage_counted_ns = -1             # the track measurement last counted
        # plans and burns
        self.plan: ActivePlan | None = None
        self.plan_leg = None
        self.legs: list = []
        self.next_leg_ns = 0
        self.plan_retry_ns = 0
        self.replan_reason = ""
        self.replan_check_ns = 0
        self.burn_id = 0
        self.reports: list[PlanReport] = []      # plans made this step
        self.camera_commanded = 0.0
        self.camera_refresh_ns = 0
        self.issued: dict[int, tuple] = {}        # burn_id -> (t_start_ns, dv_N, duration_s)
        self.burn_end_ns = 0
        self.cancellable_until_ns = 0
        self.settled_ns = 0
        self.used_dv = 0.0
        self.cam_flown_entry: float | None = None
        self.cam_retry_ns = 0
        self.cam_check_ns = 0
        self.cam_due = False
        self.obs_next_ns = 0

    def note(self, t_ns: int, text: str) -> None:
        """Log a decision: kept (the last 500) and published as a GuidanceEvent."""
        self.events.append((t_ns / NS_PER_S, text))
        self.unsent.append(text)

    # -- the step ----------------------------------------------------------------------------
    def step(self, t_ns: int, inbox) -> list:
        t_s = t_ns / NS_PER_S
        self._intake(t_ns, inbox)
        self._ground(t_ns, inbox)
        est = self._fresh_estimate(t_ns)
        phase = self.mission.update(t_s, self._observations(t_ns, est))
        if len(self.mission.log) != self.log_seen:
            self.log_seen = len(self.mission.log)
            self._enter(phase, t_ns)
        if phase is Phase.SAFE:
            burns = self._safe(t_ns, est)
        elif self.mission.holding:
            burns = self._cancel_pending(t_ns, "ground hold" if self.mission.held else "FDIR hold")
        else:
            burns = self._fly(t_ns, est, phase)
        self._count_coverage(phase, t_ns, est)
        reports, self.reports = self.reports, []
        out = [self._mode(t_ns), self._pointing(t_ns, est, phase), *burns, *reports,
               *self._camera(t_ns, phase)]
        notes, self.unsent = self.unsent, []
        return out + [GuidanceEvent(text=text[:200]) for text in notes]

    # -- intake ------------------------------------------------------------------------------
    def _intake(self, t_ns: int, inbox) -> None:
        future_ns = t_ns + NS_PER_S
        for cls, take in ((OrbitEstimate, self._take_orbit), (RelativeState, self._take_relative),
                          (AttitudeEstimate, self._take_attitude), (TargetTrack, self._take_track),
                          (NavHealth, self._take_health), (TargetCue, self._take_cue),
                          (BurnReport, self._take_burn_report), (FdirStatus, self._take_fdir)):
            for env, msg in inbox.all(cls):
                try:
                    take(env, msg, future_ns)
                except (TypeError, ValueError, OverflowError, np.linalg.LinAlgError) as exc:
                    self.rejected += 1
                    self.note(t_ns, f"{cls.__name__} refused: {exc}")
        if self.relative is not None and self.orbit is not None:
            self._rebuild_estimate(t_ns)

    @staticmethod
    def _time(t, future_ns) -> int:
        t = int(t)
        if not 0 <= t <= future_ns:
            raise ValueError(f"time {t} ns is in the future or negative")
        return t

    def _take_orbit(self, env, msg, future_ns) -> None:
        if not bool(msg.valid):
            return
        t = self._time(msg.t_est_ns, future_ns)
        problem = orbit_problem(msg.r_BN_N, msg.v_BN_N)
        if problem:
            raise ValueError(f"orbit estimate: {problem}")
        self.orbit = (t, checked_array(msg.r_BN_N, (3,), "r_BN_N"),
                      checked_array(msg.v_BN_N, (3,), "v_BN_N"),
                      checked_covariance(msg.P_rv, 6, "orbit P_rv"))

    def _take_relative(self, env, msg, future_ns) -> None:
        t = self._time(msg.t_est_ns, future_ns)
        if not bool(msg.valid):
            self.relative = None
            self.est = None
            self.nav_since_ns = None
            return
        if self.nav_since_ns is None:
            self.nav_since_ns = t
        self.relative = (t, msg)

    def _take_attitude(self, env, msg, future_ns) -> None:
        if not bool(msg.valid):
            return
        t = self._time(msg.t_est_ns, future_ns)
        q = checked_array(msg.q_BN, (4,), "q_BN")
        if off_unit(q):
            raise ValueError("q_BN is not a unit quaternion")
        self.attitude = (t, q)

    def _take_track(self, env, msg, future_ns) -> None:
        if msg.state not in ("confirmed", "coasting"):
            return
        t = self._time(msg.t_meas_ns, future_ns)
        u = unit(checked_array(msg.u_N, (3,), "u_N"))
        self.tracks.append((t, int(msg.track_id), u, str(msg.state)))

    def _take_health(self, env, msg, future_ns) -> None:
        self.diverged = bool(msg.diverged)

    def _take_fdir(self, env, msg, future_ns) -> None:
        if msg.response != self.fdir_response:
            self.note(env.t_ns, f"FDIR asks {msg.response} ({msg.active or 'no fault in force'})")
        self.fdir_response = str(msg.response)

    def _take_cue(self, env, msg, future_ns) -> None:
        cue = CueState(int(msg.epoch_ns) / NS_PER_S, checked_array(msg.r_TN_N, (3,), "r_TN_N"),
                       checked_array(msg.v_TN_N, (3,), "v_TN_N"),
                       checked_array(msg.P_rv, (6, 6), "cue P_rv"))
        cue.check_epoch(future_ns / NS_PER_S - 1.0, self.p.max_cue_span_s)   # at the step
        if self.cue is None or cue.epoch_s > self.cue.epoch_s:
            self.cue = cue
            self.search = None

    def _take_burn_report(self, env, msg, future_ns) -> None:
        burn_id = int(msg.burn_id)
        if burn_id not in self.issued:
            raise ValueError(f"report of burn {burn_id}, which was never issued")
        delivered = checked_array(msg.dv_N, (3,), "dv_N")
        t_end = self._time(msg.t_end_ns, future_ns)
        _, commanded, _ = self.issued[burn_id]
        self.settled_ns = max(self.settled_ns, t_end + int(self.p.burn_settle_s * NS_PER_S))
        miss = float(np.linalg.norm(delivered - commanded))
        if miss > max(0.1 * np.linalg.norm(commanded), 3.0 * float(msg.sigma_dv_mps), 1e-3):
            self.replan_reason = f"burn {burn_id} delivered {miss:.4f} m/s off its command"

    def _rebuild_estimate(self, t_ns: int) -> None:
        """The estimate of the newest relative state; a refused one leaves the last estimate
        in use (until it goes stale)."""
        t_rel, rel = self.relative
        self.relative = None
        t_orb, r, v, P = self.orbit
        try:
            self.est = estimate_from_navigation(t_orb, r, v, P, t_rel, rel.r_CT_rtn, rel.v_CT_rtn,
                                                rel.P_rtn, rel.P_roe, float(rel.range_sigma_m))
            self.last_nav_ns = t_rel
        except (TypeError, ValueError, np.linalg.LinAlgError) as exc:
            self.rejected += 1
            self.note(t_ns, f"relative state refused: {exc}")

    def _fresh_estimate(self, t_ns: int) -> Estimate | None:
        if self.est is None or t_ns - self.est.t_ns > self.p.stale_after_s * NS_PER_S:
            return None
        return self.est

    # -- ground ------------------------------------------------------------------------------
    def _ground(self, t_ns: int, inbox) -> None:
        for _, cmd in inbox.all(GroundCommand):
            try:
                cmd_id = int(cmd.cmd_id)
                opcode = str(cmd.opcode)
            except (TypeError, ValueError):
                self.rejected += 1
                continue
            if cmd_id in self.commands_seen:
                if self.commands_seen[cmd_id] != opcode:
                    # no retransmission: another command under a used id (a replay, a forgery)
                    self.rejected += 1
                    self.note(t_ns, f"command {cmd_id} {opcode}: refused, id {cmd_id} was "
                              f"{self.commands_seen[cmd_id]}")
                continue
            self.commands_seen[cmd_id] = opcode
            was_held = self.mission.held
            accepted, response = self.mission.command(t_ns / NS_PER_S, opcode)
            verdict = "accepted" if accepted else "refused"
            self.note(t_ns, f"command {cmd_id} {opcode}: {verdict}, {response}")
            if was_held and not self.mission.held and self.mission.phase is not Phase.SAFE:
                self.replan_reason = "resumed after a hold"

    # -- the manager's view ------------------------------------------------------------------
    def _observations(self, t_ns: int, est: Estimate | None) -> Observations:
        phase = self.mission.phase
        attitude_valid = self._attitude_known(t_ns)
        track = self._fresh_track(t_ns)
        quiet_since = max(self._nav_quiet_since(), self._phase_entered_ns())
        lost = phase in PROXIMITY and t_ns - quiet_since > self.p.nav_lost_s * NS_PER_S
        converged = est is not None and self._converged(est)
        return Observations(
            attitude_valid=attitude_valid,
            track_confirmed=track is not None and track[3] == "confirmed",
            nav_valid=bool(converged and not self.diverged),
            nav_diverged=self.diverged or lost,
            range_m=est.range_m if est is not None else float("inf"),
            coverage=self.coverage.fraction,
            cam_needed=self._cam_needed(t_ns, est) if phase in PROXIMITY else False,
            fdir_response=self.fdir_response,
        )

    def _attitude_known(self, t_ns: int) -> bool:
        return self.attitude is not None and t_ns - self.attitude[0] <= self.p.stale_after_s * NS_PER_S

    def _phase_entered_ns(self) -> int:
        return int(self.mission.entered_s * NS_PER_S)

    def _fresh_track(self, t_ns: int):
        if not self.tracks or t_ns - self.tracks[-1][0] > self.p.track_fresh_s * NS_PER_S:
            return None
        return self.tracks[-1]

    def _nav_quiet_since(self) -> int:
        """Since when navigation's silence counts: its last estimate, or the end of the last
        burn (it holds its estimate through a burn until the controller's report)."""
        return max(self.last_nav_ns, self.burn_end_ns)

    def _converged(self, est: Estimate) -> bool:
        return est.range_sigma_m <= self.p.nav_converged_fraction * est.range_m

    def _nav_settled(self, est: Estimate) -> bool:
        """Navigation has run nav_settle_s since its first estimate: its covariance describes
        its measurements, no longer its initialisation."""
        return self.nav_since_ns is not None and \
            est.t_ns - self.nav_since_ns >= self.p.nav_settle_s * NS_PER_S

    def _cam_needed(self, t_ns: int, est: Estimate | None) -> bool:
        """The short-horizon keep-out test with the covariance, every cam_check_period_s; before
        navigation has settled, the test of the mean motion alone (an initial covariance is
        the cue's and the GNSS's, not a threat the vehicle can act on)."""
        if est is None or self.diverged:
            return False
        if t_ns >= self.cam_check_ns:
            self.cam_check_ns = t_ns + int(self.p.cam_check_period_s * NS_PER_S)
            # the motion the vehicle is committed to: free, but for burns already issued (the
            # plan's later burns are checked before they are issued, from the estimate then)
            burns = self.plan.committed_from(est.t_ns) if self.plan is not None else ()
            P = est.P_roe if self._nav_settled(est) else np.zeros((6, 6))
            self.cam_due = cam_needed(est.chief, est.roe, burns, P, self.p.keepout_m,
                                      self.p.k_sigma, self.p.keepout_probability,
                                      decision_s=self.p.cam_decision_s)
        return self.cam_due

    # -- phases and legs ---------------------------------------------------------------------
    def _enter(self, phase: Phase, t_ns: int) -> None:
        why = self.mission.log[-1][3] if self.mission.log else "boot"
        self.note(t_ns, f"entered {phase.value} ({why})")
        self.cam_check_ns = t_ns
        if phase is Phase.SAFE:
            self.plan, self.plan_leg, self.legs = None, None, []
            return
        self.legs = list(LEGS.get(phase, ()))
        if phase is Phase.FAR_APPROACH and self.far_deadline_ns is None:
            self.far_deadline_ns = t_ns + int(self.p.far_budget_s * NS_PER_S)
        if phase in (Phase.COMMISSION, Phase.SEARCH):
            self.plan, self.plan_leg = None, None
        if self.plan is not None and not self.plan.flown(t_ns):
            self._hand_over(t_ns, phase)
        if self.plan is None:
            self.next_leg_ns = 0
        self.plan_retry_ns = 0

    def _hand_over(self, t_ns: int, phase: Phase) -> bool:
        """Drop the plan of the leg the phase hands over (HANDED_OVER): inside the 25 km gate
        the 20 km hold is only a waypoint, and the phasing's arrival burns (hours of them: vh22
        flew 6 h inside the gate) give way to the mid approach's first transfer; with the
        coverage reached, the rest of the fly-around gives way to the departure. The next leg
        is planned from where the chaser is (a passively safe orbit either way) once the burn
        in flight, if any, has settled. Returns whether the plan was dropped."""
        handed = HANDED_OVER.get(phase)
        if not (handed and self.plan_leg is not None and self.plan_leg[0] == handed[0]):
            return False
        self.note(t_ns, handed[1])
        self.plan, self.plan_leg, self.replan_reason = None, None, ""
        self.next_leg_ns = t_ns
        return True

    def _fly(self, t_ns: int, est: Estimate | None, phase: Phase) -> list:
        if est is None:
            return []
        self._next_leg(t_ns, est)
        self._check_deviation(t_ns, est)
        if self.replan_reason and self._can_plan(t_ns):
            self._replan(t_ns, est)
        # a poorly known range first: the phasing is re-planned after the observability burn
        out = self._observability(t_ns, est) if phase is Phase.FAR_APPROACH else []
        return out or self._issue_due(t_ns, est, phase)

    def _can_plan(self, t_ns: int, converged: bool = True) -> bool:
        """Plans are made on a settled estimate (navigation settled, the last burn seen), not
        on hold, not with navigation diverged."""
        est = self.est
        return (t_ns >= self.settled_ns and t_ns >= self.plan_retry_ns
                and est is not None and self._nav_settled(est)
                and (not converged or self._converged(est))
                and not self.mission.holding and not self.diverged)

    def _next_leg(self, t_ns: int, est: Estimate) -> None:
        idle = self.plan is None or self.plan.flown(t_ns)
        if (idle and not self.legs and self.mission.phase is Phase.INSPECT
                and self.plan_leg == ("flyaround", None) and self.coverage.fraction < COVERAGE_GOAL):
            # the fly-around flown and the goal not reached (its lighting repeats every
            # orbit: more of the same ellipse would image the same): another, its phase
            # chosen for what the first left unseen
            self.note(t_ns, f"fly-around done at coverage {self.coverage.fraction:.3f}: another")
            self.legs.append(("flyaround", None))
            self.flyaround_schedule = None
        if not (idle and self.legs and t_ns >= self.next_leg_ns and self._can_plan(t_ns)):
            return
        leg = self.legs[0]
        if leg[0] == "hold" and self._hold_passed(leg[1], est):
            self.note(t_ns, f"at or inside the {abs(HOLD_POINTS_M[leg[1]][0]):.0f} m hold already")
            self.legs.pop(0)
            return
        if self._plan_leg(leg, t_ns, est):
            self.legs.pop(0)

    def _hold_passed(self, index: int, est: Estimate) -> bool:
        """The chaser is closer than the hold, or on it within the re-plan tolerance."""
        hold = HOLD_POINTS_M[index]
        off_m = est.a_m * np.linalg.norm(est.roe - hold_aim(hold, est.roe, est.a_m))
        tolerance = max(self.p.replan_tolerance_m, self.p.replan_tolerance_fraction * est.range_m)
        return abs(hold[0]) > est.range_m or off_m <= tolerance

    def _plan_flyaround(self, chief, roe, t0: float, est: Estimate):
        """The fly-around; a re-plan keeps the first plan's schedule: its ellipse phase, its
        flip time while the flip is ahead, its end once it is done (the flip reverses the sign
        of de . di), so a correction does not start the inspection over. The first plan's
        ellipse phase is the one of FLYAROUND_PHASES whose plan images the most of the target
        (flyaround.visible_coverage: lit, off the Sun, and unless earth_background_ok not
        against the Earth), counted with what is seen already (a second fly-around, when the
        first left the goal unreached, aims at what it missed); with the Sun unknown, roe's
        own."""
        schedule = self.flyaround_schedule
        args = (chief, roe, self.p.flyaround_radial_m, self.p.flyaround_normal_m,
                int(self.p.flyaround_orbits), t0, self.p.keepout_m)
        if schedule is not None:
            side, t_flip_ns, t_end_ns, phase = schedule
            if side != ei_side(roe):
                return plan_flyaround(*args, flip=False, t_end_s=(t_end_ns - est.t_ns) / NS_PER_S,
                                      phase_rad=phase)
            return plan_flyaround(*args, t_flip_s=(t_flip_ns - est.t_ns) / NS_PER_S, phase_rad=phase)
        phase, p = self._best_flyaround_phase(args, est)
        self.flyaround_schedule = (ei_side(roe), est.t_ns + int(p.t_flip_s * NS_PER_S),
                                   est.t_ns + int(p.t_end_s * NS_PER_S), phase)
        return p

    def _best_flyaround_phase(self, args, est: Estimate):
        """(phase, plan) of the first fly-around (_plan_flyaround)."""
        chief, roe = args[0], args[1]
        own = float(np.arctan2(roe[3], roe[2]))
        sun = self._sun(est.t_ns)
        if sun is None:
            return own, plan_flyaround(*args, phase_rad=own)
        best, errors = None, []
        for offset in FLYAROUND_PHASES:
            phase = own + offset
            try:
                p = plan_flyaround(*args, phase_rad=phase)
            except (ValueError, np.linalg.LinAlgError) as exc:
                errors.append(str(exc))
                continue
            seen = visible_coverage(chief, roe, p, sun, np.radians(self.p.sun_exclusion_deg),
                                    self.p.target_attitude, np.radians(self.p.coverage_incidence_deg),
                                    earth_background=self.p.earth_background_ok,
                                    seen=self.coverage.seen)
            # the most coverage; near-equal ones (within a lattice point or two): the sooner done
            key = (round(seen, 3), -p.t_end_s)
            if best is None or key > best[0]:
                best = (key, phase, p)
        if best is None:
            raise ValueError("; ".join(errors))
        self.note(est.t_ns, f"fly-around phase {np.degrees(best[1] - own) % 360:.0f} deg from the "
                            f"hold's: {best[0][0]:.3f} of the target imageable")
        return best[1], best[2]

    def _plan_leg(self, leg, t_ns: int, est: Estimate) -> bool:
        """Plan one leg from est; on failure log it and retry after plan_retry_s."""
        kind, index = leg
        t0 = (t_ns - est.t_ns) / NS_PER_S + self.p.plan_start_s
        chief, roe, a = est.chief, est.roe, est.a_m
        bound, aim = 0.0, None
        cap = self.p.burn_force_N * self.p.max_phasing_burn_s / self.p.mass_kg
        try:
            if kind == "phasing":
                # what is left of the budget, counted from the far approach's entry (which
                # queued this leg and set the deadline); once spent, the quickest drift that
                # still has room for its four burns (the phase time-out is the manager's); a
                # plan whose burns do not fit the cap by then arrives whole orbits later, up to
                # far_late_s after it
                left = (self.far_deadline_ns - t_ns) / NS_PER_S
                budget = max(left, t0 + MIN_PHASING_ORBITS * 2.0 * np.pi / float(chief.n_rad_s))
                shift = (t_ns - est.t_ns) / NS_PER_S
                p, late = plan_phasing_in_cap(
                    chief, roe, hold_aim(HOLD_POINTS_M[index], roe, a), budget + shift,
                    budget + shift + self.p.far_late_s,
                    t_earliest_s=t0 + 0.5 * self.p.max_phasing_burn_s, max_burn_dv_mps=cap,
                    burn_s_per_mps=self.p.mass_kg / self.p.burn_force_N,
                    gap_s=self.p.burn_merge_gap_s)
                burns, t_end, name = p.burns, p.t_arrival_s, "phasing to the 20 km hold"
                bound = p.dv_lower_bound_m_s
                if late:
                    self.note(t_ns, f"phasing arrives {late} orbit(s) after the budget: its burns "
                                    f"fit the {cap:.2f} m/s cap only then")
            elif kind == "hold":
                p, aim = self._plan_transfer(index, t_ns, est, t0, cap)
                burns, t_end = p.burns, p.t_arrival_s
                name = f"transfer to the {abs(HOLD_POINTS_M[index][0]):.0f} m hold"
            elif kind == "flyaround":
                p = self._plan_flyaround(chief, roe, t0, est)
                burns, t_end, name = p.burns, p.t_end_s, "fly-around"
            else:
                burns, t_end = plan_departure(chief, roe, t0, drift_m_per_orbit=self.p.depart_drift_m_per_orbit,
                                              keepout_m=self.p.keepout_m)
                name = "departure"
        except (ValueError, np.linalg.LinAlgError) as exc:
            self.note(t_ns, f"{kind} planning failed: {exc}")
            self.plan_retry_ns = t_ns + int(self.p.plan_retry_s * NS_PER_S)
            return False
        planned = float(sum(b.dv_m_s for b in burns))
        if planned > self.p.max_plan_dv_mps:
            # a plan beyond the leg's budget says the estimate is wrong, not the orbit
            self.note(t_ns, f"{kind} plan refused: {planned:.2f} m/s over the "
                            f"{self.p.max_plan_dv_mps:g} m/s a leg may use")
            self.plan_retry_ns = t_ns + int(self.p.plan_retry_s * NS_PER_S)
            return False
        self.plan = ActivePlan(name, est.t_ns, chief, roe, burns, t_end, aim=aim)
        self.plan_leg = leg
        dwell = self.p.hold_dwell_s if kind in ("phasing", "hold") else 0.0
        self.next_leg_ns = self.plan.end_ns + int(dwell * NS_PER_S)
        self.replan_reason = ""
        self.replan_check_ns = t_ns + int(self.p.replan_min_interval_s * NS_PER_S)
        self.note(t_ns, f"planned {name}: {len(burns)} burns, {planned:.4f} m/s"
                        + (f" ({planned / bound:.2f}x the {bound:.4f} m/s bound)" if bound else ""))
        self.reports.append(PlanReport(leg=kind, name=name[:64], burns=len(burns),
                                       dv_mps=planned, dv_lower_bound_mps=float(bound),
                                       t_end_ns=max(int(self.plan.end_ns), 0)))
        return True

    def _plan_transfer(self, index: int, t_ns: int, est: Estimate, t0: float, cap: float):
        """The transfer to hold index: a correction of the one under way on its schedule
        (approach.retarget_transfer: its burns still ahead, the same aim and arrival) when
        that is safe, within the cap and costs at most RETARGET_DV_FACTOR x a new transfer
        (+ RETARGET_DV_SLACK_MPS); else a new one. Returns (Transfer, the ROE it aims at)."""
        plan, fresh_aim = self.plan, hold_aim(HOLD_POINTS_M[index], est.roe, est.a_m)
        fresh = failed = None
        try:
            fresh = plan_transfer(est.chief, est.roe, fresh_aim, t0, self.p.keepout_m,
                                  max_burn_dv_mps=cap)
        except ValueError as exc:
            failed = exc
        if (plan is None or plan.aim is None or self.plan_leg != ("hold", index)
                or plan.flown(t_ns)):
            if fresh is None:
                raise failed
            return fresh, fresh_aim
        # burns far enough ahead to be issued in time
        soon = (t_ns - est.t_ns) / NS_PER_S + self.p.burn_lead_s + RETARGET_MARGIN_S
        ahead = [b for b in plan.remaining_from(est.t_ns) if b.t_s >= soon]
        try:
            fixed = retarget_transfer(est.chief, est.roe, plan.aim, ahead, plan.end_from(est.t_ns),
                                      self.p.keepout_m, max_burn_dv_mps=cap)
        except (ValueError, np.linalg.LinAlgError) as exc:
            if fresh is None:
                raise ValueError(f"{failed}; nor re-targeted: {exc}") from None
            self.note(t_ns, f"transfer not re-targeted ({exc}): a new one")
            return fresh, fresh_aim
        if fresh is not None and fixed.dv_m_s > RETARGET_DV_FACTOR * fresh.dv_m_s + RETARGET_DV_SLACK_MPS:
            self.note(t_ns, f"transfer not re-targeted ({fixed.dv_m_s:.3f} m/s against "
                            f"{fresh.dv_m_s:.3f} m/s new): a new one")
            return fresh, fresh_aim
        self.note(t_ns, f"transfer re-targeted on its schedule ({fixed.dv_m_s:.3f} m/s"
                        + ("; no new one found)" if fresh is None else
                           f"; a new one {fresh.dv_m_s:.3f} m/s, arriving "
                           f"{(fresh.t_arrival_s - fixed.t_arrival_s) / 60:.0f} min later)"))
        return fixed, plan.aim

    def _check_deviation(self, t_ns: int, est: Estimate) -> None:
        if self.plan is None or self.plan_leg is None or self.replan_reason:
            return
        if t_ns < self.replan_check_ns or t_ns < self.settled_ns:
            return
        deviation = self.plan.deviation_m(est.t_ns, est.roe)
        tolerance = max(self.p.replan_tolerance_m, self.p.replan_tolerance_fraction * est.range_m)
        if deviation > tolerance:
            self.replan_reason = f"estimate {deviation:.0f} m from the plan"

    def _replan(self, t_ns: int, est: Estimate) -> None:
        reason, leg = self.replan_reason, self.plan_leg
        if leg is None:
            self.replan_reason = ""
            return
        self.note(t_ns, f"re-planning: {reason}")
        # a leg the phase hands over is not re-planned: rather than phase back onto the 20 km
        # hold (after the far deadline, the quickest drift: hours lost) or fly more of a
        # fly-around once the coverage is reached, the phase's own leg takes over
        if self._hand_over(t_ns, self.mission.phase):
            return
        if not self._plan_leg(leg, t_ns, est):
            self.replan_reason = reason

    # -- burns -------------------------------------------------------------------------------
    def _duration_s(self, dv_m_s: float) -> float:
        return min(max(self.p.min_burn_s, self.p.mass_kg * dv_m_s / self.p.burn_force_N), MAX_BURN_S)

    def _can_burn(self, t_ns: int, t_start_ns: int) -> bool:
        """No burn on hold, with navigation diverged or without a valid attitude estimate (the
        controller turns the delta-v into the body with it), and none over the last one (the
        controller flies one burn at a time)."""
        return (not self.mission.holding and not self.diverged and self._attitude_known(t_ns)
                and t_start_ns >= self.burn_end_ns + int(self.p.min_burn_lead_s * NS_PER_S))

    def _next_group(self, plan: ActivePlan):
        """The next burn and those following it too closely to fly apart (their windows would
        overlap): (count, impulse times (ns), impulses in chaser RTN)."""
        burns = plan.burns[plan.issued:]
        times = [plan.time_ns(burns[0].t_s)]
        count = 1
        for burn in burns[1:]:
            t = plan.time_ns(burn.t_s)
            window = 0.5 * (self._duration_s(burns[count - 1].dv_m_s) + self._duration_s(burn.dv_m_s))
            if t - times[-1] >= int((window + self.p.burn_merge_gap_s) * NS_PER_S):
                break
            times.append(t)
            count += 1
        return count, times, [b.dv_rtn for b in burns[:count]]

    def _issue_due(self, t_ns: int, est: Estimate, phase: Phase) -> list:
        plan = self.plan
        # the controller flies the latest command only: the next burn goes out once the last
        # one's window has closed, or it would supersede it unflown
        if plan is None or plan.next_burn is None or t_ns < self.burn_end_ns:
            return []
        count, times, impulses = self._next_group(plan)
        # impulses close together fly as one: their ECI sum at their delta-v-weighted time
        weights = np.array([np.linalg.norm(dv) for dv in impulses]) + 1e-12
        t_center = int(np.average(times, weights=weights))
        longest = self._duration_s(float(weights.sum()))
        if t_ns < t_center - int((0.5 * longest + self.p.burn_lead_s) * NS_PER_S):
            return []
        dv_N = sum(dv_N_from_rtn(est.states_at(t)[0], dv) for t, dv in zip(times, impulses))
        if np.linalg.norm(dv_N) < self.p.min_dv_mps:
            # nothing the thrusters could deliver: passed over, not commanded
            plan.issued += count
            self.note(t_ns, f"{plan.name}: an impulse of {np.linalg.norm(dv_N):.2e} m/s passed "
                            "over")
            return []
        duration = self._duration_s(float(np.linalg.norm(dv_N)))
        t_start = t_center - int(0.5 * duration * NS_PER_S)
        earliest = max(t_ns + int(self.p.min_burn_lead_s * NS_PER_S),
                       self.burn_end_ns + int(self.p.min_burn_lead_s * NS_PER_S))
        if earliest - t_start > self.p.late_tolerance_s * NS_PER_S:
            self.replan_reason = self.replan_reason or f"burn at {t_center / NS_PER_S:.0f} s missed"
            return []
        t_start = max(t_start, earliest)
        if self.replan_reason or not self._can_burn(t_ns, t_start):
            return []
        if not self._plan_safe(plan, est, phase):
            self.replan_reason = "the next burn failed its safety check"
            self.note(t_ns, f"{plan.name}: burn withheld, the safety check failed")
            return []
        plan.issued += count
        return [self._command(t_ns, dv_N, t_start, duration)]

    def _plan_safe(self, plan: ActivePlan, est: Estimate, phase: Phase) -> bool:
        """The checks before a burn (module docstring) on the plan's remaining burns."""
        burns = plan.remaining_from(est.t_ns)
        proximity = phase in CHECKED_E_I
        check = check_plan(est.chief, est.roe, burns, max(plan.end_from(est.t_ns), 0.0),
                           self.p.keepout_m, require_ei=proximity)
        if not check.ok:
            return False
        return not (proximity and cam_needed(est.chief, est.roe, burns, est.P_roe,
                                             self.p.keepout_m, self.p.k_sigma,
                                             self.p.keepout_probability))

    def _command(self, t_ns: int, dv_N, t_start_ns: int, duration_s: float) -> BurnCommand:
        """The BurnCommand of delta-v dv_N (ECI) over [t_start_ns, + duration_s], logged."""
        self.burn_id += 1
        dv_N = np.array(dv_N, dtype=np.float64)
        self.issued[self.burn_id] = (int(t_start_ns), dv_N.copy(), float(duration_s))
        self.used_dv += float(np.linalg.norm(dv_N))
        self.burn_end_ns = int(t_start_ns + duration_s * NS_PER_S)
        self.cancellable_until_ns = self.burn_end_ns
        self.settled_ns = self.burn_end_ns + int(self.p.burn_settle_s * NS_PER_S)
        self.note(t_ns, f"burn {self.burn_id}: {np.linalg.norm(dv_N):.4f} m/s from "
                        f"{t_start_ns / NS_PER_S:.1f} s for {duration_s:.1f} s")
        return BurnCommand(burn_id=int(self.burn_id), t_start_ns=int(t_start_ns), dv_N=dv_N,
                           duration_s=float(duration_s))

    def _observability(self, t_ns: int, est: Estimate) -> list:
        """An observability burn when the range is poorly known (module docstring)."""
        rel_sigma = est.range_sigma_m / max(est.range_m, 1.0)
        # an observability burn is what a poorly known range calls for: not a converged one
        if (rel_sigma <= self.p.obs_trigger_fraction or t_ns < self.obs_next_ns
                or not self._can_plan(t_ns, converged=False) or self.replan_reason):
            return []
        self.obs_next_ns = t_ns + int(self.p.obs_interval_s * NS_PER_S)
        try:
            found = self._observability_burn(t_ns, est, rel_sigma)
        except (ValueError, np.linalg.LinAlgError) as exc:
            self.note(t_ns, f"no observability burn: {exc}")
            return []
        if found is None:
            return []
        t_start, dv_N, duration, burn, without, with_burn = found
        if not (self._can_burn(t_ns, t_start) and check_plan(
                est.chief, est.roe, [burn], burn.t_s + self.p.obs_tau_s, self.p.keepout_m,
                require_ei=False).ok):
            return []
        self.note(t_ns, f"observability burn: range sigma {without:.0f} -> {with_burn:.0f} m "
                        f"predicted")
        self.replan_reason = "observability burn flown"
        return [self._command(t_ns, dv_N, t_start, duration)]

    def _observability_burn(self, t_ns: int, est: Estimate, rel_sigma: float):
        """The smallest impulse along the observability candidates (observability.
        CANDIDATE_AXES, magnitudes doubling from observability.plan_observability_burn's
        linear estimate up to obs_dv_max_mps) that the navigation's covariance analysis
        predicts cuts the range sigma after obs_tau_s by obs_gain; None if there is none.
        Returns (t_start_ns, dv_N, duration_s, burn (maneuvers.Burn), sigma without (m),
        sigma with (m))."""
        t_start = t_ns + int(self.p.min_burn_lead_s * NS_PER_S)
        t_start_s = (t_start - est.t_ns) / NS_PER_S
        try:
            first = plan_observability_burn(
                est.chief, est.roe, t_start_s, self.p.obs_bearing_sigma_rad,
                max(self.p.obs_goal_fraction, 0.5 * rel_sigma), self.p.obs_tau_s,
                self.p.obs_dv_max_mps).burn.dv_m_s
        except ValueError:
            first = self.p.obs_dv_max_mps
        twin = navigation_twin(est)
        x_C = est.states_at(t_start)[0]
        without = twin.predicted_range_sigma(np.zeros(3), t_start, self.p.obs_tau_s,
                                             self.p.obs_bearing_interval_s,
                                             self.p.obs_bearing_sigma_rad)
        # a ladder of at most five rungs: this analysis is the app's costliest step
        magnitude = max(first, self.p.obs_dv_max_mps / 16.0)
        while True:
            magnitude = min(magnitude, self.p.obs_dv_max_mps)
            duration = self._duration_s(magnitude)
            t_center = t_start + int(0.5 * duration * NS_PER_S)
            for axis in CANDIDATE_AXES:
                dv_N = dv_N_from_rtn(x_C, magnitude * axis)
                with_burn = twin.predicted_range_sigma(dv_N, t_center, self.p.obs_tau_s,
                                                       self.p.obs_bearing_interval_s,
                                                       self.p.obs_bearing_sigma_rad)
                if with_burn <= self.p.obs_gain * without:
                    burn = Burn((t_center - est.t_ns) / NS_PER_S, magnitude * axis)
                    return t_start, dv_N, duration, burn, without, with_burn
            if magnitude >= self.p.obs_dv_max_mps:
                self.note(t_ns, f"no observability burn up to {magnitude:.3f} m/s cuts the range "
                                f"sigma ({without:.0f} m) by {self.p.obs_gain:g}")
                return None
            magnitude *= 2.0

    # -- safe ------------------------------------------------------------------------------
    def _safe(self, t_ns: int, est: Estimate | None) -> list:
        """The CAM the manager asked for, then the keep-out test repeated once settled; a plan
        burn still to fly is cancelled."""
        requested = self.mission.cam_requested and self.cam_flown_entry != self.mission.entered_s
        if est is None or t_ns < self.cam_retry_ns or not self._attitude_known(t_ns):
            return self._cancel_pending(t_ns, "safe, no collision-avoidance manoeuvre yet")
        tests = self._cam_tests()
        if not requested:
            if t_ns < self.settled_ns or not self._cam_needed(t_ns, est):
                return self._cancel_pending(t_ns, "safe")
            if closest_approach(est.chief, est.roe, [], SHORT_HORIZON_S, self.p.keepout_m,
                                step_s=10.0).min_range_m > self.p.keepout_m:
                # the mean motion is clear: the test fails on the uncertainty, which no
                # impulse reduces; another CAM only if one passes the full test
                tests = tests[:2]
            self.note(t_ns, "keep-out test failed again in safe")
        P = est.P_roe * (self.p.diverged_covariance_scale if self.diverged else 1.0)
        # the CAM supersedes any burn in flight: the controller flies the latest command
        t_start = t_ns + int(self.p.min_burn_lead_s * NS_PER_S)
        try:
            cam = self._plan_cam(est, P, (t_start - est.t_ns) / NS_PER_S, tests)
        except (ValueError, np.linalg.LinAlgError) as exc:
            self.note(t_ns, f"no collision-avoidance manoeuvre: {exc}")
            self.cam_retry_ns = t_ns + int(self.p.cam_retry_s * NS_PER_S)
            return self._cancel_pending(t_ns, "safe, no collision-avoidance manoeuvre")
        self.cam_flown_entry = self.mission.entered_s
        self.cam_due = False
        self.cam_check_ns = t_ns + int(self.p.cam_check_period_s * NS_PER_S)
        self.note(t_ns, f"collision-avoidance manoeuvre {cam.burn.dv_m_s:.3f} m/s: miss "
                        f"{cam.min_range_m:.0f} m, {cam.min_sigma_margin:.1f} sigma, R-N "
                        f"separation {cam.rn_min_m:.0f} m")
        t_center = est.t_ns + int(cam.burn.t_s * NS_PER_S)
        dv_N = dv_N_from_rtn(est.states_at(t_center)[0], cam.burn.dv_rtn)
        command = self._command(t_ns, dv_N, t_start, self._duration_s(cam.burn.dv_m_s))
        self.cancellable_until_ns = 0
        return [command]

    def _cancel_pending(self, t_ns: int, why: str) -> list:
        """Supersede a plan burn commanded and not yet over by a zero delta-v command: the
        controller flies the latest command only (there is no other way to take one back)."""
        if t_ns >= self.cancellable_until_ns:
            return []
        self.note(t_ns, f"burn {self.burn_id} cancelled: {why}")
        command = self._command(t_ns, np.zeros(3), t_ns + int(self.p.min_burn_lead_s * NS_PER_S),
                                self.p.min_burn_s)
        self.cancellable_until_ns = 0
        return [command]

    def _cam_tests(self) -> list:
        """(sigmas, e/i separation required) of the CAM, in order: the keep-out test that calls
        for a CAM (k_sigma, or more if keepout_probability asks for more) with the e/i
        separation (cam.py), then without it (the escape), then fewer sigmas, then the test
        without the covariance: the best there is."""
        k_test = required_sigmas(self.p.k_sigma, self.p.keepout_probability)
        tests = [(k_test, True), (k_test, False), (self.p.k_sigma, False), (1.0, False), (0.0, False)]
        return [t for i, t in enumerate(tests) if t not in tests[:i]]

    def _plan_cam(self, est: Estimate, P_roe, t_start_s: float, tests):
        """cam.plan_cam under the first of the tests (_cam_tests) that has a solution, centred
        on the burn it will be."""
        errors = []
        for k, ei in tests:
            P = P_roe if k > 0 else np.zeros((6, 6))
            options = dict(keepout_m=self.p.keepout_m, k_sigma=k, dv_max_m_s=self.p.cam_dv_max_mps,
                           require_ei=ei)
            try:
                cam = plan_cam(est.chief, est.roe, P, t_start_s, **options)
            except ValueError as exc:
                errors.append(f"{k:g} sigma{'' if ei else ', escape'}: {exc}")
                continue
            try:
                centred = t_start_s + 0.5 * self._duration_s(cam.burn.dv_m_s)
                return plan_cam(est.chief, est.roe, P, centred, **options)
            except ValueError:
                return cam      # flown from its start, half a duration late: still the best
        raise ValueError("; ".join(errors))

    # -- inspection coverage ---------------------------------------------------------------
    def _count_coverage(self, phase: Phase, t_ns: int, est: Estimate | None) -> None:
        """A viewing direction counts when the target was seen in a frame: a confirmed track's
        measurement, once (a coasting track is a prediction, not an image: counting those
        put vh24's onboard coverage at 0.950 where its images covered 0.938)."""
        track = self._fresh_track(t_ns)
        if (phase is not Phase.INSPECT or est is None or track is None or track[3] != "confirmed"
                or track[0] == self.coverage_counted_ns):
            return
        self.coverage_counted_ns = track[0]
        u = None if self.p.target_attitude == "rtn" else np.atleast_1d(est.chief.u_rad)
        self.coverage.add(viewing_directions(est.r_CT_rtn[:, None], u)[0])

    # -- outputs -----------------------------------------------------------------------------
    def _mode(self, t_ns: int) -> GuidanceMode:
        m = self.mission
        next_ns, planned = 0, 0.0
        if self.plan is not None:
            planned = self.plan.remaining_dv_m_s
            burn = self.plan.next_burn
            if burn is not None:
                half = int(0.5 * self._duration_s(burn.dv_m_s) * NS_PER_S)
                next_ns = max(self.plan.time_ns(burn.t_s) - half, 0)
        return GuidanceMode(phase=m.phase.value,
                            time_in_phase_s=max(m.time_in_phase_s(t_ns / NS_PER_S), 0.0),
                            held=bool(m.holding), cam_requested=bool(m.cam_requested),
                            next_burn_t_ns=int(next_ns), planned_dv_mps=float(planned),
                            used_dv_mps=float(self.used_dv))

    def _camera(self, t_ns: int, phase: Phase) -> list:
        """The imaging cadence for the phase, commanded when it changes and every
        CAMERA_REFRESH_S (a camera restarted, or a command lost, is set again)."""
        period = self.p.camera_period_s
        if phase is Phase.FAR_APPROACH and self.p.far_camera_period_s > 0.0:
            period = self.p.far_camera_period_s
        if period <= 0.0 or (period == self.camera_commanded and t_ns < self.camera_refresh_ns):
            return []
        self.camera_commanded = period
        self.camera_refresh_ns = t_ns + int(CAMERA_REFRESH_S * NS_PER_S)
        return [CameraCommand(period_s=float(period))]

    def _sun(self, t_ns: int):
        if self.epoch_jd is None:
            return None
        return sun_direction_N(self.epoch_jd + t_ns / NS_PER_S / 86400.0)

    def _orbit_now(self, t_ns: int):
        """The chaser's state at t_ns from the latest orbit estimate, or None."""
        if self.orbit is None or t_ns - self.orbit[0] > self.p.stale_after_s * NS_PER_S:
            return None
        return propagate(np.concatenate([self.orbit[1], self.orbit[2]]),
                         (t_ns - self.orbit[0]) / NS_PER_S)

    def _pointing(self, t_ns: int, est: Estimate | None, phase: Phase) -> PointingCommand:
        sun = self._sun(t_ns)
        chaser = self._orbit_now(t_ns)
        normal = np.cross(chaser[:3], chaser[3:]) if chaser is not None else np.array([0.0, 0.0, 1.0])
        exclusion = np.radians(self.p.sun_exclusion_deg)
        dt_ns = int(RATE_LOOKAHEAD_S * NS_PER_S)
        if phase is not Phase.COMMISSION:
            direction = self._target_direction(t_ns, self._pointing_estimate(t_ns, est), phase)
            if direction is not None:
                try:
                    q0, q1 = (boresight_attitude(
                        d if sun is None else clear_of_sun(d, sun, exclusion), sun, normal)
                        for d in (direction(t_ns), direction(t_ns + dt_ns)))
                    return self._command_pointing(q0, q1, "target")
                except ValueError as exc:
                    self.note(t_ns, f"no line of sight to point at: {exc}")
            searching = phase in (Phase.SEARCH, Phase.FAR_APPROACH)
            if chaser is not None and self.cue is not None and searching:
                return self._search_pointing(t_ns, chaser, sun, exclusion)
        if sun is not None:
            q = sun_attitude(sun, normal)
            return self._command_pointing(q, sun_attitude(self._sun(t_ns + dt_ns), normal), "sun")
        q = self.attitude[1] if self.attitude is not None else np.array([1.0, 0.0, 0.0, 0.0])
        return self._command_pointing(q, q, "inertial")

    def _command_pointing(self, q0, q1, mode: str) -> PointingCommand:
        omega = np.clip(reference_rate(q0, q1, RATE_LOOKAHEAD_S), -1.0, 1.0)
        return PointingCommand(q_RN=np.asarray(q0, dtype=np.float64), omega_RN_R=omega, mode=mode)

    def _pointing_estimate(self, t_ns: int, est: Estimate | None) -> Estimate | None:
        """The estimate to point with: the fresh one, or through a burn (navigation holds its
        estimate until the burn's report) and for nav_lost_s after it the last one, carried
        to now — turning the camera to the Sun and back around every burn would cost the
        track and the attitude knowledge for nothing."""
        if est is not None or self.est is None:
            return est
        holding = self._nav_quiet_since() + int(self.p.nav_lost_s * NS_PER_S)
        return self.est if t_ns <= holding else None

    def _target_direction(self, t_ns: int, est: Estimate | None, phase: Phase):
        """A function t_ns -> unit line of sight to the target, or None: the fresh track's,
        carried at its rate, else the navigation's prediction (in search only once its
        line-of-sight uncertainty fits in the field: then one pointing is the whole search)."""
        track = self._fresh_track(t_ns)
        if track is not None:
            t1, track_id, u1, _ = track
            rate = np.zeros(3)
            if len(self.tracks) == 2:
                t0, id0, u0, _ = self.tracks[0]
                if id0 == track_id and 0 < t1 - t0 <= self.p.track_fresh_s * NS_PER_S:
                    rate = (u1 - u0) / ((t1 - t0) / NS_PER_S)
            return lambda t: unit(u1 + rate * ((t - t1) / NS_PER_S))
        if est is None or (self.diverged and phase in PROXIMITY):
            return None
        if phase is Phase.SEARCH and not self._within_field(est):
            return None
        # far away a diverged estimate's line of sight is still the best guess of where the
        # target is (the cue's search tiles are hours old by then); close in it goes to safe
        return est.line_of_sight_N

    def _within_field(self, est: Estimate) -> bool:
        """nav_pointing_sigmas of the estimate's line-of-sight uncertainty (the largest across
        the line of sight) inside half the camera's narrower field."""
        u = est.r_CT_rtn / est.range_m
        across = np.eye(3) - np.outer(u, u)
        sigma_rad = np.sqrt(np.linalg.eigvalsh(across @ est.P_rtn[:3, :3] @ across)[-1]) / est.range_m
        narrower = min(self.p.camera_rows / self.p.camera_cols, 1.0)
        half_field = 0.5 * np.radians(self.p.camera_fov_deg) * narrower
        return self.p.nav_pointing_sigmas * sigma_rad <= half_field

    def _search_pointing(self, t_ns: int, chaser, sun, exclusion) -> PointingCommand:
        t_s = t_ns / NS_PER_S
        if self.search is None:
            self.search = SearchPointing(self.cue, self.camera, self.search_config,
                                         self.p.search_dwell_s, self.stream("search"))
        C0 = self.search.attitude(t_s, chaser, sun, exclusion)
        C1 = self.search.current(t_s + RATE_LOOKAHEAD_S, propagate(chaser, RATE_LOOKAHEAD_S),
                                 sun, exclusion)
        return self._command_pointing(quat_from_dcm(C0), quat_from_dcm(C1), "search")
