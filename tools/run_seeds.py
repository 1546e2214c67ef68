"""Fly one scenario over a range of seeds and print how each run went.

    python tools/run_seeds.py victus-haze [--seeds 20] [--first 1] [--jobs 2] [--out runs/seeds]
                              [--topology inproc] [--duration-s S]

A campaign without faults (hil.campaign; tools/campaign.py adds random fault schedules and the
campaign report): each seed disperses what the scenario draws from it, the target's insertion
(the cue's dispersion), the sensors' noise and biases, the thrusters' magnitude and pointing
errors, the star tracker's mount. Runs go in parallel on a local Dask cluster of --jobs
processes, each into its own run folder under --out (run-<n>); a seed whose folder already
holds a result is not flown again, so an interrupted campaign resumes where it stopped. Prints
a row per seed with the mission's figures and, as its last line, one JSON object: the
successes (as hil.campaign judges them), the failures with the criteria they missed, and the
spread of the figures.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

# the checkout only as a fallback: an installed (compiled) package comes first
sys.path.append(str(Path(__file__).resolve().parents[1]))

from hil import campaign  # noqa: E402
from hil import scenario as scenarios  # noqa: E402

COLUMNS = ("seed", "success", "detect km", "min range m", "to inspect h", "coverage", "dv m/s",
           "wall s", "missed")


def summary_of(run: campaign.Run) -> dict:
    """The run's summary.json ({} for a run that crashed before writing one)."""
    try:
        return json.loads((run.folder / "summary.json").read_text())
    except (OSError, ValueError):
        return {}


def row(result: dict, s: dict) -> str:
    if result["crashed"]:
        return f"{result['seed']:>12}  crashed: {result['error']}"[:240]
    missed = [k for k, v in result["criteria"].items() if v is False]
    cells = [result["seed"], result["success"], s.get("detection_range_km"),
             result["min_range_m"], s.get("time_to_inspection_h"), s.get("inspection_coverage"),
             result["delta_v_mps"], result["timing"].get("wall_s"), ",".join(missed) or "-"]
    return "  ".join(f"{c:>12}" for c in (
        "-" if c is None else f"{c:.1f}" if isinstance(c, float) else str(c) for c in cells))


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
    sc = scenarios.load(args.scenario)                 # a wrong name fails here, not in a worker
    seeds = list(range(args.first, args.first + args.seeds))
    runs = campaign.plan(sc, seeds, "none", args.out, args.duration_s, args.topology)
    by_seed = {run.seed: run for run in runs}
    resumed = [(run, r) for run in runs if (r := campaign.load_result(run)) is not None]
    print(f"{args.scenario}: {len(seeds)} seeds, {len(resumed)} already flown, "
          f"{len(seeds) - len(resumed)} to fly on {args.jobs} workers", flush=True)
    print("  ".join(f"{c:>12}" for c in COLUMNS), flush=True)
    for run, result in resumed:
        print(row(result, summary_of(run)), flush=True)

    def show(result, _done, _total):
        if result is not None:
            print(row(result, summary_of(by_seed[result["seed"]])), flush=True)

    client = contextlib.nullcontext() if len(resumed) == len(runs) else \
        campaign.dask_client(max(1, args.jobs))
    with client as c:
        outcome = campaign.run_campaign(runs, c, on_result=show)
    results = outcome.results
    summaries = [summary_of(run) for run in runs]
    figures = {
        "scenario": args.scenario, "seeds": seeds,
        "succeeded": [r["seed"] for r in results if r["success"]],
        "failed": {str(r["seed"]): [k for k, v in r["criteria"].items() if v is False]
                   for r in results if not r["success"] and not r["crashed"]},
        "crashed": {str(r["seed"]): r["error"] for r in results if r["crashed"]},
        "detection_range_km": campaign.spread(s.get("detection_range_km") for s in summaries),
        "min_range_m": campaign.spread(r["min_range_m"] for r in results),
        "time_to_inspection_h": campaign.spread(s.get("time_to_inspection_h") for s in summaries),
        "inspection_coverage": campaign.spread(s.get("inspection_coverage") for s in summaries),
        "delta_v_mps": campaign.spread(r["delta_v_mps"] for r in results),
        "keep_out_violations": sum(r["keep_out_violations"] or 0 for r in results),
    }
    figures["success_rate"] = len(figures["succeeded"]) / len(seeds)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
