"""``rpo``: run a scenario on the bench (in one process or as processes over ZeroMQ), inspect runs."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from flightsw.runtime.build import one_blas_thread

one_blas_thread(os.environ)   # before numpy loads (as `rpo` or `python -m hil.cli`)
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from flightsw.msg import MessageError, decode
from flightsw.record import Recording
from flightsw.runtime.launcher import ProcessRun
from flightsw.runtime.scheduler import InProcessRun
from hil import scenario as scenarios
from hil.report import write_report

NS_PER_S = 1_000_000_000


def run_scenario(sc: scenarios.Scenario, out: Path, topology: str = "zmq",
                 transport: str = "ipc", pace: float | None = None, progress: bool = True,
                 plots: bool = True) -> dict:
    """Run ``sc`` and write its run folder (recording, summary.json, plots); return the
    summary. An interrupted run (Ctrl-C) still gets its summary and plots, marked
    ``completed: false``."""
    out.mkdir(parents=True, exist_ok=True)
    t_end = int(round(sc.duration_s * NS_PER_S))
    if topology == "inproc":
        run = InProcessRun(sc.apps, sc.seed, out, sc.blobs_every)
    elif topology == "zmq":
        run = ProcessRun(sc.apps, sc.seed, out, transport=transport, pace=pace,
                         blobs_every=sc.blobs_every)
    else:
        raise ValueError(f"topology must be 'inproc' or 'zmq', got {topology!r}")
    bar = Progress(run.recorder, sc.duration_s, enabled=progress)
    wall0 = time.monotonic()
    completed = False
    try:
        run.run(t_end, on_tick=bar.tick)
        completed = True
    except KeyboardInterrupt:
        print("\nrpo: interrupted; writing the summary of the run so far", file=sys.stderr)
    finally:
        bar.close()
        run.close()
    wall_s = time.monotonic() - wall0
    sim_s = bar.t_s
    facts = {
        "scenario": sc.name, "seed": sc.seed, "scenario_source": sc.source,
        "topology": topology, "completed": completed, "duration_s": sc.duration_s,
        "sim_s": sim_s, "wall_s": round(wall_s, 3),
        "realtime_factor": round(sim_s / wall_s, 1) if wall_s > 0 else None,
        "events": [vars(e) for e in getattr(run, "events", [])],
    }
    facts.update(_from_recording(Recording(out), dict(run.recorder.counts)))
    return write_report(out, sc, facts, plots=plots)


class Progress:
    """The progress bar: sim time, and the mission phase and range as the flight itself
    reports them (guidance.mode, nav.relative), read off the recorder's last messages so it
    works the same in-process and over ZeroMQ; decoded at most every REFRESH_S of wall time."""

    REFRESH_S = 0.5
    TOPICS = ("guidance.mode", "nav.relative")

    def __init__(self, recorder, duration_s: float, enabled: bool = True):
        self.recorder = recorder
        recorder.watch(self.TOPICS)
        self.t_s = 0.0
        self._next_wall = 0.0
        self.bar = tqdm(total=round(duration_s), unit="sim s", disable=not enabled,
                        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} sim s "
                                   "[{elapsed}<{remaining}{postfix}]")

    def tick(self, t_ns: int) -> None:
        self.t_s = t_ns / NS_PER_S
        self.bar.update(self.t_s - self.bar.n)
        now = time.monotonic()
        if now >= self._next_wall and not self.bar.disable:
            self._next_wall = now + self.REFRESH_S
            self.bar.set_postfix_str(self.status(), refresh=False)

    def status(self) -> str:
        """``t=<h> h  <phase>  range <km> km`` from the last recorded messages."""
        parts = [f"t={self.t_s / 3600.0:.2f} h"]
        mode, nav = (self._last(t) for t in self.TOPICS)
        if mode is not None:
            parts.append(mode.phase)
        if nav is not None and nav.valid:
            parts.append(f"range {nav.range_m / 1e3:.3f} km")
        return "  ".join(parts)

    def _last(self, topic: str):
        """The last recorded message of ``topic``; None if none yet or it does not decode
        (the recorder keeps whatever was published; the display must not stop the run)."""
        frames = self.recorder.latest.get(topic)
        if frames is None:
            return None
        try:
            return decode(frames)[1]
        except MessageError:
            return None

    def close(self) -> None:
        self.bar.close()


def _from_recording(rec: Recording, counts: dict[str, int]) -> dict:
    """Figures every run reports: messages per topic (the recorder's own count, so the
    recording is not re-read for it), last health, app step timing."""
    out: dict = {"messages": counts}
    if counts.get("health.status"):
        st = rec.arrays("health.status")
        out["health"] = {"mode": str(st["mode"][-1]), "restarts": int(st["restarts"][-1]),
                         "stale_apps": str(st["stale_apps"][-1])}
    if counts.get("health.app_timing"):
        tm = rec.arrays("health.app_timing")
        out["step_time_us"] = {
            app: {"median": float(tm["step_median_us"][tm["app"] == app][-1]),
                  "p99": float(tm["step_p99_us"][tm["app"] == app][-1])}
            for app in sorted(set(tm["app"]))
        }
    return out


def _print_timing(summary: dict) -> None:
    timing = summary.get("step_time_us", {})
    if timing:
        print(f"{'app':<16}{'median us':>12}{'p99 us':>12}")
        for app, t in timing.items():
            print(f"{app:<16}{t['median']:>12.1f}{t['p99']:>12.1f}")


def cmd_run(args) -> int:
    sc = scenarios.load(args.scenario)
    if args.seed is not None or args.duration_s is not None:
        sc = replace(sc, seed=sc.seed if args.seed is None else args.seed,
                     duration_s=sc.duration_s if args.duration_s is None else args.duration_s)
    out = Path(args.out) if args.out else Path("runs") / f"{sc.name}-s{sc.seed}"
    summary = run_scenario(sc, out, args.topology, args.transport, args.pace,
                           progress=not args.quiet, plots=not args.no_plots)
    _print_timing(summary)
    _print_mission(summary)
    print(f"run folder: {out}")
    print(json.dumps({k: summary[k] for k in ("scenario", "seed", "topology", "sim_s",
                                              "wall_s", "realtime_factor", "success")}))
    return 0 if summary["completed"] else 130


def _print_mission(summary: dict) -> None:
    crit = ", ".join(f"{k} {'n/a' if v is None else 'yes' if v else 'NO'}"
                     for k, v in summary["success_criteria"].items())
    print(f"success: {summary['success']} ({crit})")
    ratio = summary.get("far_transfer_dv_ratio_to_bound")
    if ratio is not None:
        far = next(p for p in summary["plans"] if p["leg"] == "phasing")
        print(f"far-range transfer: {far['dv_mps']:.3f} m/s planned, {ratio:.3f}x the analytic "
              f"lower bound ({far['dv_lower_bound_mps']:.3f} m/s) for the same transfer time")
        flown = summary.get("far_transfer_executed_ratio_to_bound")
        if flown is not None:
            executed = summary["delta_v_mps"]["executed"]["per_phase"]["far_approach"]
            print(f"far-range transfer flown: {executed:.3f} m/s executed in the far approach, "
                  f"{flown:.3f}x that bound")
    print("phases entered (h): " + ", ".join(f"{ph} {t / 3600.0:.2f}"
                                             for ph, t in summary["phases_entered_s"].items()))


# What the runner knows of a run, kept by `rpo report` when it re-reads the recording.
RUN_FACTS = ("scenario", "seed", "scenario_source", "topology", "completed", "duration_s",
             "sim_s", "wall_s", "realtime_factor", "events", "messages", "health",
             "step_time_us")


def cmd_report(args) -> int:
    run_dir = Path(args.run_dir)
    old = json.loads((run_dir / "summary.json").read_text())
    source = old.get("scenario_source", "")
    sc = scenarios.load(source.removeprefix("builtin:") if source else old["scenario"])
    summary = write_report(run_dir, sc, {k: old[k] for k in RUN_FACTS if k in old})
    _print_mission(summary)
    print(f"plots: {', '.join(summary['plots'])}")
    return 0


def cmd_inspect(args) -> int:
    rec = Recording(Path(args.run_dir))
    if args.topic:
        cols = rec.arrays(args.topic)
        n = len(cols["t_ns"])
        print(f"{args.topic}: {n} messages")
        for name, col in cols.items():
            show = col[-1] if n else None
            print(f"  {name:<24} shape={getattr(col, 'shape', None)} last={show!r}"[:160])
        return 0
    print(f"{'topic':<32}{'messages':>10}")
    for topic, n in sorted(rec.topics().items()):
        print(f"{topic:<32}{n:>10}")
    return 0


def cmd_list(_args) -> int:
    for name in scenarios.builtin_names():
        print(name)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rpo", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario (built-in name or TOML path)")
    r.add_argument("scenario")
    r.add_argument("--topology", choices=("zmq", "inproc"), default="zmq",
                   help="one process per app over ZeroMQ (default), or all in one process")
    r.add_argument("--transport", default="ipc", help="ipc (default) or tcp://HOST:PORT")
    r.add_argument("--pace", type=float, default=None,
                   help="pace to wall clock at this multiple of real time (default: lockstep, "
                        "as fast as possible)")
    r.add_argument("--seed", type=int, default=None)
    r.add_argument("--duration-s", type=float, default=None)
    r.add_argument("--out", default=None, help="run folder (default runs/<scenario>-s<seed>)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--no-plots", action="store_true", help="summary.json only, no PNGs")
    r.set_defaults(func=cmd_run)
    rp = sub.add_parser("report", help="rewrite a run folder's summary.json and plots from "
                                       "its recording")
    rp.add_argument("run_dir")
    rp.set_defaults(func=cmd_report)
    i = sub.add_parser("inspect", help="summarise a run folder's recording")
    i.add_argument("run_dir")
    i.add_argument("--topic", default=None, help="show one topic's columns")
    i.set_defaults(func=cmd_inspect)
    ls = sub.add_parser("list", help="list built-in scenarios")
    ls.set_defaults(func=cmd_list)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"rpo: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
