"""Monte Carlo campaigns: one scenario flown over many seeds, each with its dispersions and a
random fault schedule, in parallel on Dask or in one process, judged and summed up.

A run is the scenario with its seed set (the seed disperses the target's insertion, the
sensors' noise and biases, the thrusters' errors, the star tracker's mount) and the faults
drawn from that seed appended to its plant's fault schedule (``draw_faults``). Each run flies
into its own folder, ``<out>/<scenario>/run-<seed>/``, and leaves there its run folder
(recording, summary.json) and ``result.json``: the run's figures as one flat record
(``fly_run``). A run whose folder already holds a result is not flown again, so an interrupted
campaign resumes where it stopped. ``aggregate`` sums the results up: success rates, keep-out
violations, crashes, and the spread of delta-v, navigation error and closest approach.

Success. A run of the whole mission (it starts before the target is found and lasts the 48 h
deadline, as victus-haze does) succeeds as its summary.json says (``success``: detection,
inspection, keep-out, departure). Any shorter piece of the mission (close-range: 120 s of the
close approach) cannot meet those criteria; it succeeds when the flight was safe (``judge``):

    completed               the run flew to its end without an exception
    no_keep_out_violation   truth never inside the keep-out sphere
    ends_nominal_or_safe    at the end, every app of the vehicle is alive (the health app's
                            mode is ``nominal``, or ``degraded``: that mode is sticky, a single
                            message rejected at any time leaves it so, as a corrupted link
                            does to every run it hits), or the mission manager has put the
                            vehicle in ``safe`` (its commanded response to a fault); a vehicle
                            flying on with an app gone quiet (``fault``) has not coped
    navigation_sound        the relative navigation's error, 95th percentile over the run,
                            within NAV_ERROR_P95_MAX_PCT of the true range (nominal flights
                            keep ~1-2 %), or the vehicle ends in ``safe``: a vehicle that flies
                            on a wrong estimate without knowing it has not coped either (a
                            frozen GNSS receiver does that); None without navigation figures

Per-run results hold nothing of the wall clock except under ``timing``, which comparisons of
results leave out (``comparable``): the same run gives the same result wherever it flies.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from flightsw.runtime.build import build_info
from hil.cli import run_scenario
from hil.plant.faults import CORRUPT_MODES, LINK_TOPICS, SENSORS, parse_faults
from hil.report.analysis import MISSION_DEADLINE_S, PRE_DETECTION
from hil.scenario import Scenario
from hil.thrusters import N_THRUSTERS, nominal_geometry

FAULT_MODES = ("none", "single", "multi")
HEALTHY = ("nominal", "degraded")   # health modes of a vehicle whose apps are all alive
NAV_ERROR_P95_MAX_PCT = 10.0        # a sound navigation's error, % of range (judge)

# -- the fault draw -----------------------------------------------------------------------------
# The fault schedule's own stream: default_rng((seed, FAULT_STREAM)), apart from every model's
# draws of the same seed, so that adding faults changes no dispersion.
FAULT_STREAM = 0xFA17
DRAWN_KINDS = ("sensor_dropout", "sensor_freeze", "thruster_stuck_off", "thruster_stuck_on",
               "thruster_degraded", "link_loss", "link_delay", "link_corrupt")
MULTI_FAULTS = (2, 4)               # a multi schedule holds this many faults, inclusive
ONSET_SPAN = (0.0, 0.75)            # a fault starts in this part of the run (a fault at its
                                    # very end would show nothing)
P_PERMANENT = 0.5                   # else it ends, after a log-uniform duration:
TRANSIENT_S = (1.0, 3600.0)         # at most what is left of the run
DEGRADED_SCALE = (0.2, 0.8)         # thrust fraction of a degraded thruster
LINK_P = (0.1, 0.5)                 # share of messages lost or damaged on the link
LINK_DELAY_S = (0.5, 5.0)
LINKS = tuple((d, t) for d in ("out", "in") for t in LINK_TOPICS[d])


def draw_faults(seed: int, duration_s: float, mode: str) -> list[dict]:
    """The fault schedule of run ``seed``: ``[[plant.faults]]`` entries (hil.plant.faults),
    in time order, all within ``duration_s``. ``none``: no fault; ``single``: one; ``multi``:
    MULTI_FAULTS of them, drawn independently. Each fault starts at a uniform time in
    ONSET_SPAN of the run and is permanent with probability P_PERMANENT, else ends after a
    log-uniform duration in TRANSIENT_S, cut to what is left of the run (a ``*_clear`` entry,
    or a link fault's duration_s)."""
    if mode not in FAULT_MODES:
        raise ValueError(f"faults must be one of {FAULT_MODES}, got {mode!r}")
    rng = np.random.default_rng((seed, FAULT_STREAM))
    n = {"none": 0, "single": 1, "multi": None}[mode]
    if n is None:
        n = int(rng.integers(MULTI_FAULTS[0], MULTI_FAULTS[1] + 1))
    entries = [e for _ in range(n) for e in _draw_fault(rng, duration_s)]
    return sorted(entries, key=lambda e: e["t_s"])


def _ms(x: float) -> float:
    """x rounded down to the millisecond: schedules read well and stay within their bounds."""
    return math.floor(x * 1000.0) / 1000.0


def _draw_fault(rng: np.random.Generator, duration_s: float) -> list[dict]:
    """One fault: its entry, and its clearing entry if it is a transient sensor or thruster
    fault (a transient link fault carries its duration_s)."""
    kind = DRAWN_KINDS[int(rng.integers(len(DRAWN_KINDS)))]
    t_s = _ms(rng.uniform(*ONSET_SPAN) * duration_s)
    permanent = bool(rng.random() < P_PERMANENT)
    longest_s = min(TRANSIENT_S[1], duration_s - t_s)
    lasting_s = _ms(math.exp(rng.uniform(math.log(min(TRANSIENT_S[0], longest_s / 2.0)),
                                         math.log(longest_s))))
    entry: dict = {"t_s": t_s, "kind": kind}
    if kind.startswith("sensor_"):
        entry["sensor"] = SENSORS[int(rng.integers(len(SENSORS)))]
        clear = {"kind": "sensor_clear", "sensor": entry["sensor"]}
    elif kind.startswith("thruster_"):
        entry["index"] = int(rng.integers(N_THRUSTERS))
        if kind == "thruster_degraded":
            entry["scale"] = round(float(rng.uniform(*DEGRADED_SCALE)), 3)
        clear = {"kind": "thruster_clear", "index": entry["index"]}
    else:
        entry["direction"], entry["topic"] = LINKS[int(rng.integers(len(LINKS)))]
        if kind == "link_delay":
            entry["delay_s"] = round(float(rng.uniform(*LINK_DELAY_S)), 3)
        else:
            entry["p"] = round(float(rng.uniform(*LINK_P)), 3)
        if kind == "link_corrupt":
            entry["mode"] = CORRUPT_MODES[int(rng.integers(len(CORRUPT_MODES)))]
        if not permanent:
            entry["duration_s"] = lasting_s
        return [entry]
    return [entry] if permanent else [entry, {"t_s": _ms(t_s + lasting_s), **clear}]


# -- which faults the mission survives ----------------------------------------------------------
# Judged from the schedule alone, before the flight; a fault "ends" when it is cleared (or its
# duration_s runs out) within the run, else it is permanent.
#
#   fault                          recoverable when                  why
#   sensor_dropout                 it ends, or the sensor is one of  the own orbit propagates
#                                  TOLERATED_LOSS (gnss,             between GNSS fixes; close
#                                  rangefinder)                      in, the apparent size
#                                                                    ranges; nothing stands in
#                                                                    for the camera (the target)
#                                                                    or the star tracker and
#                                                                    gyro (the attitude filter)
#   sensor_freeze                  it ends, or the sensor is one of  FDIR finds the repeats and
#                                  TOLERATED_LOSS                    leaves the unit out: then
#                                                                    as a dropout
#   thruster_stuck_off             it ends, or the other thruster    the allocation flies on
#                                  along its direction still fires   the one left
#   thruster_degraded              always                            FDIR takes it out, the
#                                                                    allocation flies on the rest
#   thruster_stuck_on              the other thruster along its      FDIR latches it shut within
#                                  direction still fires             ~2 s (it stays shut): then
#                                                                    a thruster lost
#   link_loss, link_corrupt        it ends, or p <= LINK_P_TOLERATED most messages still arrive
#   link_delay                     it ends, or delay_s <=            within nav's measurement
#                                  LINK_DELAY_TOLERATED_S            lag budget's order
TOLERATED_LOSS = ("gnss", "rangefinder")
LINK_P_TOLERATED = 0.5
LINK_DELAY_TOLERATED_S = 5.0


@dataclass(frozen=True)
class Episode:
    """One fault from its start to its end (``end_s`` None: it lasts to the end of the run)."""

    entry: dict
    start_s: float
    end_s: float | None

    @property
    def kind(self) -> str:
        return self.entry["kind"]

    def describe(self) -> str:
        e = self.entry
        subject = e.get("sensor") or e.get("topic") or (
            f"thruster {e['index']}" if "index" in e else f"all {e.get('direction', 'out')}")
        span = "permanent" if self.end_s is None else f"{self.end_s - self.start_s:g} s"
        return f"{self.kind} {subject} at {self.start_s:g} s, {span}"


def episodes(entries: Iterable[dict], duration_s: float) -> list[Episode]:
    """The faults of a schedule as the plant applies them: a sensor or thruster fault lasts
    until its unit's next entry (a clear, or another fault that replaces it); a link fault
    until its duration_s runs out or a link_clear of its topic (or of its whole direction).
    The schedule is validated as the plant does (ValueError naming the entry at fault)."""
    entries = list(entries)
    parse_faults(entries)
    out: list[Episode] = []
    unit: dict[str, tuple[dict, float]] = {}
    links: list[tuple[dict, float, float | None]] = []
    for e in sorted(entries, key=lambda e: e["t_s"]):
        t, kind = float(e["t_s"]), e["kind"]
        if t >= duration_s:
            break
        if kind.startswith("link_"):
            if kind == "link_clear":
                side = e.get("direction", "out")
                gone = [x for x in links if x[0].get("direction", "out") == side
                        and e.get("topic") in (None, x[0].get("topic"))]
                out += [Episode(f, t0, t if end is None else min(t, end)) for f, t0, end in gone]
                links = [x for x in links if x not in gone]
            else:
                d = e.get("duration_s")
                links.append((e, t, None if d is None else t + float(d)))
            continue
        key = e.get("sensor") or f"thruster {e.get('index')}"
        if key in unit:
            f, t0 = unit.pop(key)
            out.append(Episode(f, t0, t))
        if not kind.endswith("_clear"):
            unit[key] = (e, t)
    out += [Episode(f, t0, None) for f, t0 in unit.values()]
    out += [Episode(f, t0, None if end is None or end >= duration_s else end)
            for f, t0, end in links]
    return sorted(out, key=lambda ep: ep.start_s)


def _partner(index: int) -> int:
    """The other thruster pushing along the same nominal direction."""
    _, d = nominal_geometry()
    same = np.flatnonzero(np.all(np.isclose(d, d[index]), axis=1))
    return int(next(j for j in same if j != index))


def unrecoverable(entries: Iterable[dict], duration_s: float) -> list[str]:
    """The faults of the schedule the mission cannot survive (the table above), each as
    ``"<fault>: <why>"``; empty if it can survive them all."""
    eps = episodes(entries, duration_s)
    # a valve stuck open is latched shut by FDIR and stays shut: lost, whatever its clear
    lost_for_good = {ep.entry["index"] for ep in eps
                     if (ep.kind == "thruster_stuck_off" and ep.end_s is None)
                     or ep.kind == "thruster_stuck_on"}
    out = []
    for ep in eps:
        e, permanent = ep.entry, ep.end_s is None
        why = None
        if ep.kind == "sensor_dropout":
            if permanent and e["sensor"] not in TOLERATED_LOSS:
                why = f"nothing stands in for the {e['sensor']}"
        elif ep.kind == "sensor_freeze":
            if permanent and e["sensor"] not in TOLERATED_LOSS:
                why = f"frozen for good: nothing stands in for the {e['sensor']}"
        elif ep.kind in ("thruster_stuck_off", "thruster_stuck_on"):
            if (permanent or ep.kind == "thruster_stuck_on") \
                    and _partner(e["index"]) in lost_for_good:
                why = "both thrusters along its direction are lost"
        elif ep.kind in ("link_loss", "link_corrupt"):
            if permanent and e.get("p", 1.0) > LINK_P_TOLERATED:
                why = f"most messages lost or damaged for good (p > {LINK_P_TOLERATED:g})"
        elif ep.kind == "link_delay":
            if permanent and e["delay_s"] > LINK_DELAY_TOLERATED_S:
                why = f"delayed more than {LINK_DELAY_TOLERATED_S:g} s for good"
        if why:
            out.append(f"{ep.describe()}: {why}")
    return out


# -- one run ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One run of a campaign: the scenario as it flies (its seed set, the drawn faults in its
    plant's schedule), the faults drawn, its folder and topology."""

    scenario: Scenario
    faults: tuple[dict, ...]
    folder: Path
    topology: str = "inproc"

    @property
    def seed(self) -> int:
        return self.scenario.seed

    def identity(self) -> dict:
        """What defines the run's result (a result on disk is reused only for the same)."""
        return {"scenario": self.scenario.name, "seed": self.seed,
                "duration_s": self.scenario.duration_s, "faults": list(self.faults)}


def with_faults(sc: Scenario, entries: list[dict]) -> Scenario:
    """``sc`` with ``entries`` appended to its plant's ``[[plant.faults]]``."""
    if not entries:
        return sc
    if not any(a.name == "plant" for a in sc.apps):
        raise ValueError(f"{sc.name}: no [plant] to inject faults into")
    apps = []
    for a in sc.apps:
        if a.name == "plant":
            config = dict(a.params["config"])
            config["faults"] = [*config.get("faults", []), *entries]
            a = replace(a, params={**a.params, "config": config})
        apps.append(a)
    return replace(sc, apps=apps)


def plan(sc: Scenario, seeds: Iterable[int], faults: str, out: Path,
         duration_s: float | None = None, topology: str = "inproc") -> list[Run]:
    """The runs of a campaign of ``sc`` over ``seeds``: each seed's scenario (its duration
    shortened to ``duration_s`` if given) with its drawn faults, into
    ``<out>/<scenario>/run-<seed>``."""
    if duration_s is not None:
        sc = replace(sc, duration_s=float(duration_s))
    runs = []
    for seed in seeds:
        drawn = draw_faults(seed, sc.duration_s, faults)
        runs.append(Run(with_faults(replace(sc, seed=seed), drawn), tuple(drawn),
                        Path(out) / sc.name / f"run-{seed}", topology))
    return runs


def judge(summary: dict) -> tuple[str, dict]:
    """The success rule that applies to the run of ``summary`` ("mission" or "flight", see the
    module docstring) and its criteria (each true, false, or None where it does not apply)."""
    log = summary.get("phase_log") or []
    if log and log[0][1] in PRE_DETECTION and summary["duration_s"] >= MISSION_DEADLINE_S:
        return "mission", dict(summary["success_criteria"])
    keep_out = summary.get("keep_out_violations")
    safe = summary.get("final_phase") == "safe"
    nav = (summary.get("nav_error_pct_of_range") or {}).get("all")
    return "flight", {
        "completed": bool(summary["completed"]),
        "no_keep_out_violation": keep_out is not None and keep_out["episodes"] == 0,
        "ends_nominal_or_safe": (summary.get("health") or {}).get("mode") in HEALTHY or safe,
        "navigation_sound": None if nav is None else nav["p95"] <= NAV_ERROR_P95_MAX_PCT or safe,
    }


def figures(summary: dict) -> dict:
    """The result fields of a flown run, from its summary.json."""
    rule, criteria = judge(summary)
    nav = (summary.get("nav_error_pct_of_range") or {}).get("all")
    return {
        "crashed": False, "error": None,
        "success": bool(all(v for v in criteria.values() if v is not None)),
        "success_rule": rule, "criteria": criteria,
        "final_phase": summary.get("final_phase"),
        "health_mode": (summary.get("health") or {}).get("mode"),
        "min_range_m": summary.get("min_range_m"),
        "keep_out_violations": (summary.get("keep_out_violations") or {}).get("episodes"),
        "delta_v_mps": summary["delta_v_mps"]["executed"]["total"],
        "nav_error_pct_of_range": None if nav is None else {"median": nav["median"],
                                                            "p95": nav["p95"]},
    }


def crashed(exc: BaseException) -> dict:
    """The result fields of a run that raised ``exc``."""
    return {"crashed": True, "error": f"{type(exc).__name__}: {exc}"[:500], "success": False,
            "success_rule": None, "criteria": None, "final_phase": None, "health_mode": None,
            "min_range_m": None, "keep_out_violations": None, "delta_v_mps": None,
            "nav_error_pct_of_range": None}


def fly_run(run: Run) -> dict:
    """Fly ``run`` into its folder and return its result: the plan (scenario, seed,
    duration, faults drawn), whether the faults were recoverable, success and its criteria,
    the figures, or ``crashed`` and the error if the run raised (its traceback is left in
    traceback.txt); wall-clock figures under ``timing`` only. Ctrl-C is passed on."""
    result = {**run.identity(), "recoverable": None, "unrecoverable": None}
    wall0 = time.monotonic()
    try:
        reasons = unrecoverable(_schedule(run.scenario), run.scenario.duration_s)
        result.update(recoverable=not reasons, unrecoverable=reasons)
        summary = run_scenario(run.scenario, run.folder, run.topology, progress=False,
                               plots=False)
    except Exception as exc:                   # a crashed run is a result, not the end
        run.folder.mkdir(parents=True, exist_ok=True)
        (run.folder / "traceback.txt").write_text(traceback.format_exc())
        return {**result, **crashed(exc),
                "timing": {"wall_s": round(time.monotonic() - wall0, 3)}}
    if not summary["completed"]:
        raise KeyboardInterrupt
    return {**result, **figures(summary),
            "timing": {"wall_s": summary["wall_s"], "realtime_factor": summary["realtime_factor"]}}


def _schedule(sc: Scenario) -> list[dict]:
    plant = next((a for a in sc.apps if a.name == "plant"), None)
    return list(plant.params["config"].get("faults", [])) if plant is not None else []


def comparable(result: dict) -> dict:
    """``result`` without its wall-clock fields: what two flights of one run must share."""
    return {k: v for k, v in result.items() if k != "timing"}


# -- the campaign -------------------------------------------------------------------------------
def load_result(run: Run) -> dict | None:
    """The result of ``run`` already in its folder, or None. A result of another plan in the
    folder (other faults, duration) is refused rather than reused."""
    try:
        result = json.loads((run.folder / "result.json").read_text())
    except (OSError, ValueError):
        return None
    if {k: result.get(k) for k in run.identity()} != run.identity():
        raise ValueError(f"{run.folder} holds the result of another plan (faults or duration "
                         "differ); fly this campaign into another --out")
    return result


def save_result(run: Run, result: dict) -> None:
    """Write result.json into the run's folder, whole or not at all."""
    run.folder.mkdir(parents=True, exist_ok=True)
    tmp = run.folder / "result.json.tmp"
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, run.folder / "result.json")


@contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None):
    """A Dask client: on the scheduler at ``scheduler`` (its workers must import this project
    and see the campaign's folder), or on a local cluster of ``workers`` processes of one
    thread each (a run is single-threaded Python; processes keep runs apart)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            check_workers(client)
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as local, \
            Client(local) as client:
        check_workers(client)
        yield client


def check_workers(client) -> None:
    """Refuse a cluster whose workers would not fly what this process flies: each must import
    the same flightsw, with its compiled kernels (a worker that cannot unpickle a run's task
    leaves it pending for ever instead of failing it: a campaign would hang, not fail).
    ``build_info`` is pure Python in a module that imports nothing of the project, so even a
    worker with a broken build can run it and say so; one that cannot load even that is
    refused with the exception it raised."""
    here = build_info()
    there = {w: b if isinstance(b, dict) else {"package": "?", "error": f"{type(b).__name__}: {b}"}
             for w, b in client.run(build_info, on_error="return").items()}
    wrong = {w: b for w, b in there.items() if b["error"] or b["package"] != here["package"]}
    if wrong:
        w, b = next(iter(wrong.items()))
        raise RuntimeError(
            f"{len(wrong)} of {len(there)} Dask workers cannot fly this campaign: {w} imports "
            f"flightsw from {b['package']} ({b['error'] or 'not the build this process runs'}); "
            f"this process imports it from {here['package']}: install the project where the "
            f"workers run (pip install .)")


def fly_all(runs: list[Run], client=None) -> Iterator[dict]:
    """Fly ``runs``, saving and yielding each result as it completes: one after the other in
    this process without a Dask ``client``, else as tasks on its cluster (a task that fails
    there, e.g. its worker died, yields a crashed result that is not saved, so that resuming
    flies it again)."""
    if client is None:
        for run in runs:
            result = fly_run(run)
            save_result(run, result)
            yield result
        return
    from distributed import as_completed

    futures = client.map(fly_run, runs, key=[f"{r.scenario.name}-run-{r.seed}" for r in runs],
                         pure=False)
    by_key = {f.key: run for f, run in zip(futures, runs)}
    for future in as_completed(futures):
        run = by_key[future.key]
        try:
            result = future.result()
        except Exception as exc:
            yield {**run.identity(), "recoverable": None, "unrecoverable": None, **crashed(exc),
                   "lost": True, "timing": {}}
            continue
        save_result(run, result)
        yield result


@dataclass
class Outcome:
    """A campaign's results in seed order, and which seeds it flew this time."""

    results: list[dict]
    flown: list[int]


def run_campaign(runs: list[Run], client=None,
                 on_result: Callable[[dict, int, int], None] | None = None) -> Outcome:
    """Fly the runs without a result yet (``fly_all``); ``on_result(result, done, total)``
    after each. Returns every run's result, those resumed included."""
    results = {run.seed: load_result(run) for run in runs}
    todo = [run for run in runs if results[run.seed] is None]
    done = len(runs) - len(todo)
    if on_result is not None:
        on_result(None, done, len(runs))
    for result in fly_all(todo, client):
        results[result["seed"]] = result
        done += 1
        if on_result is not None:
            on_result(result, done, len(runs))
    return Outcome([results[run.seed] for run in runs], [run.seed for run in todo])


# -- the report ---------------------------------------------------------------------------------
def spread(values: Iterable) -> dict | None:
    """n, min, median, mean, 95th percentile and max of the values that are not None."""
    v = np.array([x for x in values if x is not None], dtype=float)
    if not len(v):
        return None
    return {"n": int(len(v)), "min": float(v.min()), "median": float(np.median(v)),
            "mean": float(v.mean()), "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def _rate(results: list[dict]) -> float | None:
    return sum(r["success"] for r in results) / len(results) if results else None


def fault_kinds(result: dict) -> list[str]:
    """The kinds of fault the run was drawn (``none`` if it was drawn none); clears aside."""
    kinds = sorted({f["kind"] for f in result["faults"] if not f["kind"].endswith("_clear")})
    return kinds or ["none"]


def aggregate(results: list[dict]) -> dict:
    """The campaign's figures: success rate (overall, and among the runs whose faults were all
    recoverable), keep-out violations, crashes, the spread of delta-v, navigation error (each
    run's median and 95th percentile, % of range) and closest approach, and success by fault
    kind (a run with several kinds counts under each)."""
    recoverable = [r for r in results if r["recoverable"]]
    kinds: dict[str, list[dict]] = {}
    for r in results:
        for k in fault_kinds(r):
            kinds.setdefault(k, []).append(r)
    nav = [r["nav_error_pct_of_range"] or {} for r in results]
    return {
        "scenario": results[0]["scenario"] if results else None,
        "runs": len(results),
        "seeds": [r["seed"] for r in results],
        "success_rules": sorted({r["success_rule"] for r in results if r["success_rule"]}),
        "successes": sum(r["success"] for r in results),
        "success_rate": _rate(results),
        "recoverable_runs": len(recoverable),
        "success_rate_recoverable": _rate(recoverable),
        "failed": {str(r["seed"]): ([k for k, v in r["criteria"].items() if v is False]
                                    if r["criteria"] else ["crashed"])
                   for r in results if not r["success"]},
        "crashed": {str(r["seed"]): r["error"] for r in results if r["crashed"]},
        "keep_out_violation_runs": sum(bool(r["keep_out_violations"]) for r in results),
        "keep_out_episodes": sum(r["keep_out_violations"] or 0 for r in results),
        "min_range_m": spread(r["min_range_m"] for r in results),
        "delta_v_mps": spread(r["delta_v_mps"] for r in results),
        "nav_error_median_pct": spread(n.get("median") for n in nav),
        "nav_error_p95_pct": spread(n.get("p95") for n in nav),
        "by_fault_kind": {k: {"runs": len(rs), "successes": sum(r["success"] for r in rs),
                              "success_rate": _rate(rs)} for k, rs in sorted(kinds.items())},
    }
