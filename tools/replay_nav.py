"""Replay the nav app on a run folder's recorded inputs and judge each estimate against truth.

    python tools/replay_nav.py RUN_DIR SCENARIO [--until S] [--every S] [--set name=value ...]

The nav app is rebuilt with the scenario's parameters (overridden by --set) and stepped at its
rate on the messages it subscribes to, as the bus delivers them (a message published at a tick
reaches the next step, in (t_ns, source, topic, seq) order): with the recorded parameters it
reproduces the run's estimates exactly, so a filter change can be tried on a recorded failure
without flying the mission again. Prints, every --every seconds, the relative position error in
the target's RTN frame, its 1-sigma, the position NEES and the filter's health; the last line
is a JSON object of the figures (NEES percentiles, the share inside the 95 % bounds, bearings
used and gated, time diverged).
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

import msgpack
import numpy as np
from scipy.stats import chi2

# the checkout only as a fallback: an installed (compiled) package comes first
sys.path.append(str(Path(__file__).resolve().parents[1]))

from flightsw.msg.codec import Envelope, decode_payload  # noqa: E402
from flightsw.msg.nav import NavHealth, RelativeState  # noqa: E402
from flightsw.nav.app import NavApp  # noqa: E402
from flightsw.record.reader import Recording  # noqa: E402
from flightsw.runtime.app import Inbox  # noqa: E402
from hil.report.geometry import RelativeTruth  # noqa: E402
from hil.scenario import load  # noqa: E402

NS = 1_000_000_000


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("scenario")
    ap.add_argument("--until", type=float, default=None, help="sim s to stop at (default: end)")
    ap.add_argument("--every", type=float, default=600.0, help="s between printed rows")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    scenario = load(args.scenario)
    spec = next(a for a in scenario.apps if a.name == "nav")
    params = dict(spec.params)
    for item in args.set:
        name, _, text = item.partition("=")
        params[name] = _value(text)
    app = NavApp("nav", params, seed=scenario.seed)
    app.reset()
    topics = {m.TOPIC: m for m in NavApp.SUBSCRIBES}
    rec = Recording(args.run_dir)
    truth_cols = rec.select(("truth.state",))["truth.state"]
    if not len(truth_cols["t_ns"]):
        raise SystemExit(f"{args.run_dir}: no truth recorded (a run still going?)")
    truth = RelativeTruth.from_truth(truth_cols)
    t_end = int((args.until if args.until is not None else scenario.duration_s) * NS)
    state = {"t_next": 0, "pending": [], "health": None, "last_row": -np.inf}
    nees_all, diverged_s = [], 0.0
    print(f"{'t s':>8} {'range km':>9} {'err R,T,N m':>26} {'sigma R,T,N m':>24} {'NEES':>7}  "
          f"health (NIS avg, used, gated, diverged)")

    def judge(m: RelativeState):
        r_true = truth.r_at([m.t_est_ns])[0]
        if not np.isfinite(r_true).all():
            return
        e = np.asarray(m.r_CT_rtn) - r_true
        P = np.asarray(m.P_rtn).reshape(6, 6)[:3, :3]
        nees = float(e @ np.linalg.solve(P, e))
        nees_all.append(nees)
        t_s = m.t_est_ns / NS
        if t_s - state["last_row"] >= args.every:
            state["last_row"] = t_s
            sig = np.sqrt(np.diag(P))
            print(f"{t_s:8.0f} {np.linalg.norm(r_true) / 1e3:9.3f} "
                  f"{np.array2string(e, precision=1, floatmode='fixed'):>26} "
                  f"{np.array2string(sig, precision=1, floatmode='fixed'):>24} {nees:7.1f}  "
                  f"{state['health']}")

    def step_to(t_ns: int):
        nonlocal diverged_s
        while state["t_next"] < t_ns:
            t = state["t_next"]
            due = sorted((p for p in state["pending"] if p[0].t_ns < t),
                         key=lambda p: (p[0].t_ns, p[0].source, p[0].topic, p[0].seq))
            state["pending"] = [p for p in state["pending"] if p[0].t_ns >= t]
            for m in app.step(t, Inbox(due)) or []:
                if isinstance(m, NavHealth):
                    state["health"] = (round(float(m.nis_bearing_avg), 2), int(m.bearings_used),
                                       int(m.bearings_gated), bool(m.diverged))
                    diverged_s += app.period_ns / NS if m.diverged else 0.0
                elif isinstance(m, RelativeState) and m.valid:
                    judge(m)
            state["t_next"] += app.period_ns

    for topic, (version, seq, t_ns, source), values, _blobs in rec.messages():
        if t_ns > t_end:
            break
        cls = topics.get(topic)
        if cls is None:
            continue
        step_to(t_ns + 1)
        msg = decode_payload(cls, msgpack.packb(values), [])
        state["pending"].append((Envelope(topic, version, seq, t_ns, source), msg))
    step_to(t_end)
    nees = np.asarray(nees_all)
    lo, hi = chi2.ppf([0.025, 0.975], 3)
    health = state["health"] or (float("nan"), 0, 0, False)
    figures = {
        "run": str(args.run_dir), "scenario": args.scenario, "overrides": params_diff(spec.params, params),
        "estimates": int(len(nees)),
        "nees_median": float(np.median(nees)) if len(nees) else None,
        "nees_p95": float(np.percentile(nees, 95)) if len(nees) else None,
        "nees_inside_95pct_bounds": float(np.mean((nees >= lo) & (nees <= hi))) if len(nees) else None,
        "bearings_used": health[1], "bearings_gated": health[2], "diverged_s": diverged_s,
    }
    print(json.dumps(figures))
    return figures


def params_diff(base: dict, now: dict) -> dict:
    return {k: v for k, v in now.items() if base.get(k, object()) != v}


if __name__ == "__main__":
    main()
