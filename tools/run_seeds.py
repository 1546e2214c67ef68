"""Fly one scenario over a range of seeds and print how each run went.

    python tools/run_seeds.py victus-haze [--seeds 20] [--first 1] [--jobs 2] [--out runs/seeds]
                              [--topology inproc] [--duration-s S]

Each seed disperses what the scenario draws from it: the target's insertion (the cue's
dispersion), the sensors' noise and biases, the thrusters' magnitude and pointing errors, the
star tracker's mount. Runs go in parallel, one process per run (--jobs), each into its own
run folder under --out (seed-<n>); a seed whose folder already holds a completed summary.json
is not flown again, so an interrupted campaign resumes where it stopped. Prints a row per
seed and, as its last line, one JSON object: the successes, the failures with the criteria
they missed, and the spread of the figures.
"""
from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hil import scenario as scenarios  # noqa: E402

COLUMNS = ("seed", "success", "detect km", "min range m", "to inspect h", "coverage", "dv m/s",
           "wall s", "missed")


def fly(name: str, seed: int, out: Path, topology: str, duration_s: float | None) -> dict:
    """One run (in a worker process); returns its summary."""
    from hil.cli import run_scenario
    sc = scenarios.load(name)
    sc = replace(sc, seed=seed, duration_s=sc.duration_s if duration_s is None else duration_s)
    return run_scenario(sc, out, topology, progress=False, plots=False)


def done(folder: Path) -> dict | None:
    """The summary of a completed run in folder, or None."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if summary.get("completed") else None


def row(seed: int, s: dict) -> list:
    missed = [k for k, v in s.get("success_criteria", {}).items() if v is False]
    dv = s.get("delta_v_mps", {}).get("executed", {}).get("total")
    cells = [seed, s.get("success"), s.get("detection_range_km"), s.get("min_range_m"),
             s.get("time_to_inspection_h"), s.get("inspection_coverage"), dv, s.get("wall_s"),
             ",".join(missed) or "-"]
    return ["-" if c is None else f"{c:.1f}" if isinstance(c, float) else str(c) for c in cells]


def spread(values) -> dict | None:
    v = np.array([x for x in values if x is not None], dtype=float)
    if not len(v):
        return None
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/seeds"))
    ap.add_argument("--topology", default="inproc", choices=("inproc", "zmq"))
    ap.add_argument("--duration-s", type=float, default=None)
    args = ap.parse_args(argv)
    scenarios.load(args.scenario)                      # a wrong name fails here, not in a worker
    seeds = list(range(args.first, args.first + args.seeds))
    base = args.out / args.scenario
    summaries = {s: done(base / f"seed-{s}") for s in seeds}
    todo = [s for s in seeds if summaries[s] is None]
    print(f"{args.scenario}: {len(seeds)} seeds, {len(seeds) - len(todo)} already flown, "
          f"{len(todo)} to fly on {args.jobs} workers", flush=True)
    print("  ".join(f"{c:>12}" for c in COLUMNS), flush=True)
    for s in seeds:
        if summaries[s] is not None:
            print("  ".join(f"{c:>12}" for c in row(s, summaries[s])), flush=True)
    failed_runs = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(fly, args.scenario, s, base / f"seed-{s}", args.topology,
                               args.duration_s): s for s in todo}
        for future in as_completed(futures):
            s = futures[future]
            try:
                summaries[s] = future.result()
            except Exception as exc:                   # a crashed run is a result, not the end
                failed_runs[s] = f"{type(exc).__name__}: {exc}"[:200]
                print(f"{s:>12}  crashed: {failed_runs[s]}", flush=True)
                continue
            print("  ".join(f"{c:>12}" for c in row(s, summaries[s])), flush=True)
    flown = {s: v for s, v in summaries.items() if v is not None}
    figures = {
        "scenario": args.scenario, "seeds": seeds,
        "succeeded": sorted(s for s, v in flown.items() if v.get("success")),
        "failed": {str(s): [k for k, c in v.get("success_criteria", {}).items() if c is False]
                   for s, v in sorted(flown.items()) if not v.get("success")},
        "crashed": {str(s): why for s, why in failed_runs.items()},
        "detection_range_km": spread(v.get("detection_range_km") for v in flown.values()),
        "min_range_m": spread(v.get("min_range_m") for v in flown.values()),
        "time_to_inspection_h": spread(v.get("time_to_inspection_h") for v in flown.values()),
        "inspection_coverage": spread(v.get("inspection_coverage") for v in flown.values()),
        "delta_v_mps": spread(v.get("delta_v_mps", {}).get("executed", {}).get("total")
                              for v in flown.values()),
        "keep_out_violations": sum(v.get("keep_out_violations", {}).get("samples", 0) or 0
                                   for v in flown.values()),
    }
    figures["success_rate"] = len(figures["succeeded"]) / len(seeds)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
