"""The figures of a run, judged against truth: detection range, keep-out, delta-v, navigation
error, inspection coverage, and whether the mission succeeded (see the README's run folder
section for every field)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flightsw.msg.guidance import PHASES
from hil.report.geometry import (COVERAGE_LATTICE, coverage_history, fibonacci_sphere, hermite,
                                 viewing_directions)
from hil.report.load import COVERAGE_GOAL, MissionSettings, RunData

NS_PER_S = 1_000_000_000

# What a mission must achieve (the reference mission's requirements, docs: DESIGN.md).
DETECTION_RANGE_MIN_KM = 1900.0
MISSION_DEADLINE_S = 48 * 3600.0
DEPART_RANGE_M = 5000.0
# Phases before the target is found: a run that starts in one of them is judged on detection.
PRE_DETECTION = ("commission", "search")


@dataclass(frozen=True)
class NavError:
    """Valid nav.relative estimates against truth at their t_est_ns: true range, position
    error norm, the estimate's 1-sigma position error (sqrt of the trace of its position
    covariance), all m, and the phase."""

    t_ns: np.ndarray
    range_m: np.ndarray
    error_m: np.ndarray
    sigma_m: np.ndarray
    phase: np.ndarray

    @property
    def pct_of_range(self) -> np.ndarray:
        return 100.0 * self.error_m / self.range_m


@dataclass(frozen=True)
class Coverage:
    """Imaging coverage from truth: at each confirmed track's mid-exposure time t_ns in the
    inspect phase, the fraction of the surface seen so far; the seen flags of the lattice
    normals at the end."""

    t_ns: np.ndarray
    fraction: np.ndarray
    normals: np.ndarray
    seen: np.ndarray


@dataclass(frozen=True)
class Analysis:
    data: RunData
    settings: MissionSettings
    nav: NavError | None
    coverage: Coverage | None
    summary: dict


def analyse(data: RunData, settings: MissionSettings) -> Analysis:
    """Every summary figure of the recording in ``data`` (run facts such as wall time are
    the runner's, not the recording's)."""
    phases = data.phases
    nav = nav_error(data)
    cov = coverage(data, settings)
    s: dict = {
        "phases_entered_s": phases.entered_s(),
        "phase_log": [[t / NS_PER_S, ph] for t, ph in phases.transitions()],
        "final_phase": str(phases.phase[-1]) if len(phases.phase) else None,
    }
    s.update(detection(data))
    s.update(ranges(data, settings.keepout_m))
    s["delta_v_mps"] = delta_v(data)
    s["plans"] = plans(data)
    s["far_transfer_dv_ratio_to_bound"] = _far_ratio(s["plans"])
    s["far_transfer_executed_ratio_to_bound"] = _far_executed_ratio(s["plans"], s["delta_v_mps"])
    s["guidance_events"] = events(data)
    s["propellant_used_kg"] = _propellant_used(data)
    s["nav_error_pct_of_range"] = _nav_percentiles(nav)
    entered = s["phases_entered_s"]
    s["inspection_coverage"] = (float(cov.fraction[-1]) if len(cov.t_ns) else 0.0) \
        if "inspect" in entered else None
    done = np.flatnonzero(cov.fraction >= COVERAGE_GOAL)
    s["inspection_complete_h"] = float(cov.t_ns[done[0]] / NS_PER_S / 3600.0) if len(done) \
        else None
    s["time_to_inspection_h"] = entered["inspect"] / 3600.0 if "inspect" in entered else None
    s["success_criteria"] = criteria(s, phases.transitions())
    s["success"] = all(v for v in s["success_criteria"].values() if v is not None)
    s["judged_with"] = {"keepout_m": settings.keepout_m, "coverage_goal": COVERAGE_GOAL,
                        "coverage_incidence_deg": settings.coverage_incidence_deg,
                        "target_attitude": settings.target_attitude,
                        "detection_range_min_km": DETECTION_RANGE_MIN_KM,
                        "deadline_h": MISSION_DEADLINE_S / 3600.0,
                        "depart_range_m": DEPART_RANGE_M,
                        "truth_interval_s": _truth_interval_s(data)}
    return Analysis(data, settings, nav, cov, s)


def criteria(s: dict, transitions: list) -> dict:
    """The mission's requirements, each true, false or (detection only) None when it does not
    apply: a run that starts after the search is not judged on detection range."""
    started = transitions[0][1] if transitions else None
    detected = None
    if started in PRE_DETECTION:
        detected = s["detection_range_km"] is not None and \
            s["detection_range_km"] >= DETECTION_RANGE_MIN_KM
    complete = s["inspection_complete_h"]
    return {
        "detected_at_1900_km": detected,
        "inspection_within_48_h": complete is not None and complete * 3600.0 <= MISSION_DEADLINE_S,
        "no_keep_out_violation": s["keep_out_violations"] is not None
        and s["keep_out_violations"]["episodes"] == 0,
        "departed_beyond_5_km": "depart" in s["phases_entered_s"]
        and s["final_range_m"] is not None and s["final_range_m"] > DEPART_RANGE_M,
    }


def detection(data: RunData) -> dict:
    """True range at the mid-exposure time of the first confirmed target track."""
    out = {"detection_t_s": None, "detection_range_km": None}
    if not data.has("detect.track"):
        return out
    tr = data.topics["detect.track"]
    confirmed = np.flatnonzero(tr["state"] == "confirmed")
    if not len(confirmed):
        return out
    t = int(tr["t_meas_ns"][confirmed[0]])
    out["detection_t_s"] = t / NS_PER_S
    if data.truth is not None:
        r = data.truth.r_at([t])[0]
        if np.all(np.isfinite(r)):
            out["detection_range_km"] = float(np.linalg.norm(r) / 1e3)
    return out


def ranges(data: RunData, keepout_m: float) -> dict:
    """Closest approach (the least sampled range, refined on the interpolant either side of
    it), the last range, and the keep-out violations: truth samples inside keepout_m and the
    episodes (runs of consecutive samples) they form."""
    if data.truth is None:
        return {"min_range_m": None, "min_range_t_s": None, "final_range_m": None,
                "keep_out_violations": None}
    tru = data.truth
    rng = tru.range_m
    k = int(np.argmin(rng))
    lo, hi = tru.t_ns[max(k - 1, 0)], tru.t_ns[min(k + 1, len(rng) - 1)]
    t_fine = np.linspace(lo, hi, 401).astype(np.int64)
    fine = np.linalg.norm(hermite(tru.t_ns, tru.r_CT_rtn, tru.v_CT_rtn, t_fine), axis=1)
    j = int(np.argmin(fine))
    t_min, r_min = (t_fine[j], fine[j]) if fine[j] < rng[k] else (tru.t_ns[k], rng[k])
    inside = rng < keepout_m
    starts = np.flatnonzero(inside & ~np.concatenate([[False], inside[:-1]]))
    return {
        "min_range_m": float(r_min), "min_range_t_s": float(t_min / NS_PER_S),
        "final_range_m": float(rng[-1]),
        "keep_out_violations": {"radius_m": float(keepout_m), "episodes": int(len(starts)),
                                "samples": int(inside.sum()),
                                "first_t_s": float(tru.t_ns[starts[0]] / NS_PER_S)
                                if len(starts) else None},
    }


def plans(data: RunData) -> list[dict]:
    """Every plan guidance made (guidance.plan): when, which leg, its delta-v and, for the
    far-range phasing, the analytic lower bound of any transfer in the same time."""
    if not data.has("guidance.plan"):
        return []
    p = data.topics["guidance.plan"]
    return [{"t_s": float(p["t_ns"][k] / NS_PER_S), "leg": str(p["leg"][k]),
             "name": str(p["name"][k]), "burns": int(p["burns"][k]),
             "dv_mps": float(p["dv_mps"][k]),
             "dv_lower_bound_mps": float(p["dv_lower_bound_mps"][k]) or None}
            for k in range(len(p["t_ns"]))]


def events(data: RunData) -> list:
    """The mission manager's log (guidance.event) as [t_s, text] pairs."""
    if not data.has("guidance.event"):
        return []
    e = data.topics["guidance.event"]
    return [[float(t / NS_PER_S), str(text)] for t, text in zip(e["t_ns"], e["text"])]


def _far_executed_ratio(plan_list: list[dict], dv: dict) -> float | None:
    """Delta-v executed in the far approach (re-plans, corrections and finite-burn losses
    included) over the lower bound of the first phasing plan."""
    phasing = [p for p in plan_list if p["leg"] == "phasing" and p["dv_lower_bound_mps"]]
    flown = dv["executed"]["per_phase"].get("far_approach")
    return flown / phasing[0]["dv_lower_bound_mps"] if phasing and flown else None


def _far_ratio(plan_list: list[dict]) -> float | None:
    """Planned / lower-bound delta-v of the first far-range phasing plan (the transfer as
    planned from the far approach's entry; re-plans start from wherever the vehicle is)."""
    phasing = [p for p in plan_list if p["leg"] == "phasing" and p["dv_lower_bound_mps"]]
    return phasing[0]["dv_mps"] / phasing[0]["dv_lower_bound_mps"] if phasing else None


def delta_v(data: RunData) -> dict:
    """Delta-v (m/s, sums of |dv_N|) by the phase at each burn's start: executed, from the
    controller's control.burn reports (what the thrusters delivered); commanded, from
    guidance.burn (every command in full, including one superseded or cancelled)."""
    out = {}
    for key, topic in (("executed", "control.burn"), ("commanded", "guidance.burn")):
        per_phase: dict[str, float] = {}
        if data.has(topic):
            cols = data.topics[topic]
            dv = np.linalg.norm(cols["dv_N"], axis=1)
            ph = data.phases.at(cols["t_start_ns"])
            for name in PHASES:
                if np.any(ph == name):
                    per_phase[name] = float(dv[ph == name].sum())
        out[key] = {"total": float(sum(per_phase.values())), "per_phase": per_phase,
                    "burns": int(len(data.topics[topic]["t_ns"])) if data.has(topic) else 0}
    return out


def nav_error(data: RunData) -> NavError | None:
    """The relative navigation error at each valid estimate, against interpolated truth."""
    if data.truth is None or not data.has("nav.relative"):
        return None
    nav = data.topics["nav.relative"]
    keep = np.flatnonzero(nav["valid"])
    t = nav["t_est_ns"][keep]
    r_true = data.truth.r_at(t)
    ok = np.all(np.isfinite(r_true), axis=1)
    keep, t, r_true = keep[ok], t[ok], r_true[ok]
    P = nav["P_rtn"][keep]
    return NavError(
        t_ns=t, range_m=np.linalg.norm(r_true, axis=1),
        error_m=np.linalg.norm(nav["r_CT_rtn"][keep] - r_true, axis=1),
        sigma_m=np.sqrt(np.clip(np.trace(P[:, :3, :3], axis1=1, axis2=2), 0.0, None)),
        phase=data.phases.at(t))


def coverage(data: RunData, settings: MissionSettings) -> Coverage:
    """Coverage of the target's surface from the true viewing directions at the frames in
    which the target was confirmed during the inspect phase (the guidance's own coverage,
    flightsw.guidance.flyaround.CoverageMap, counts its estimated directions instead)."""
    t = np.zeros(0, dtype=np.int64)
    if data.truth is not None and data.has("detect.track"):
        tr = data.topics["detect.track"]
        t_all = tr["t_meas_ns"][tr["state"] == "confirmed"]
        t = np.unique(t_all[data.phases.at(t_all) == "inspect"]) if len(t_all) else t
    normals = fibonacci_sphere(COVERAGE_LATTICE)
    if not len(t):
        return Coverage(t, np.zeros(0), normals, np.zeros(len(normals), dtype=bool))
    r = data.truth.r_at(t)
    ok = np.all(np.isfinite(r), axis=1)
    t, r = t[ok], r[ok]
    u = data.truth.u_at(t) if settings.target_attitude == "inertial" else None
    fraction, seen = coverage_history(viewing_directions(r, u),
                                      np.radians(settings.coverage_incidence_deg))
    return Coverage(t, fraction, normals, seen)


def _nav_percentiles(nav: NavError | None) -> dict:
    """Median and 95th percentile of the error as % of true range, per phase and overall."""
    if nav is None or not len(nav.t_ns):
        return {}
    pct = nav.pct_of_range
    out = {}
    for name in (*PHASES, "all"):
        sel = pct if name == "all" else pct[nav.phase == name]
        if len(sel):
            out[name] = {"median": float(np.median(sel)), "p95": float(np.percentile(sel, 95)),
                         "samples": int(len(sel))}
    return out


def _propellant_used(data: RunData) -> float | None:
    if not data.has("truth.state"):
        return None
    p = data.topics["truth.state"]["propellant_kg"]
    return float(p[0] - p[-1])


def _truth_interval_s(data: RunData) -> float | None:
    if data.truth is None or len(data.truth.t_ns) < 2:
        return None
    return float(np.median(np.diff(data.truth.t_ns)) / NS_PER_S)
