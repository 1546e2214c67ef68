"""Monte Carlo campaign: one scenario over many seeds, each with its dispersions and a random
fault schedule, flown in parallel on Dask; prints the campaign's figures.

    python tools/campaign.py close-range [--runs 20] [--first 1] [--faults none|single|multi]
                             [--workers 2 | --scheduler ADDRESS | --in-process]
                             [--out runs/campaign] [--duration-s S] [--topology inproc|zmq]

Runs go on a local Dask cluster of --workers processes (one thread each), on an existing Dask
scheduler (--scheduler tcp://HOST:8786, whose workers import this project and see --out), or
one after the other in this process (--in-process). Each run flies into
<out>/<scenario>/run-<seed>/ and leaves its result.json there (hil.campaign); a run that has
one is not flown again, so an interrupted campaign resumes when the same command is given
again. A progress bar on stderr; on stdout a table of the figures and, as the last line, one
JSON object of them; report.json (the figures and every run's result) and histograms in
<out>/<scenario>/.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from tqdm import tqdm

# the checkout only as a fallback: an installed (compiled) package comes first
sys.path.append(str(Path(__file__).resolve().parents[1]))

from hil import campaign  # noqa: E402
from hil import scenario as scenarios  # noqa: E402

DPI = 110
COLOURS = {"succeeded": "#2ca02c", "failed": "#d62728"}
FIGURES = (("delta_v_mps", "delta-v executed (m/s)"), ("min_range_m", "closest approach (m)"),
           ("nav_error_median_pct", "nav error median (% of range)"),
           ("nav_error_p95_pct", "nav error p95 (% of range)"))


class Bar:
    """Runs done of the total, successes and crashes, elapsed and ETA, on stderr."""

    def __init__(self):
        self.bar = None
        self.ok = self.crashed = 0

    def __call__(self, result: dict | None, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, initial=done, unit="run", file=sys.stderr,
                            smoothing=0, dynamic_ncols=True)
        if result is None:
            return
        self.ok += bool(result["success"])
        self.crashed += bool(result["crashed"])
        self.bar.set_postfix_str(f"ok {self.ok}, crashed {self.crashed}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100.0 * rate:.1f} %"


def table(figures: dict, results: list[dict]) -> str:
    """The figures as text: success, crashes and keep-out; the spread of each figure; success
    by fault kind; the runs that failed and why."""
    f = figures
    lines = [
        f"success   {f['successes']}/{f['runs']} ({_pct(f['success_rate'])}); among the "
        f"{f['recoverable_runs']} runs whose faults were recoverable: "
        f"{_pct(f['success_rate_recoverable'])}   (rule: {', '.join(f['success_rules']) or '-'})",
        f"crashed   {len(f['crashed'])}    keep-out violated in {f['keep_out_violation_runs']} "
        f"runs ({f['keep_out_episodes']} episodes)",
        "",
        f"{'figure':<32}{'n':>5}{'min':>11}{'median':>11}{'mean':>11}{'p95':>11}{'max':>11}",
    ]
    for key, label in FIGURES:
        s = f[key]
        cells = ["-"] * 6 if s is None else [str(s["n"])] + [
            f"{s[k]:.4g}" for k in ("min", "median", "mean", "p95", "max")]
        lines.append(f"{label:<32}{cells[0]:>5}" + "".join(f"{c:>11}" for c in cells[1:]))
    lines += ["", f"{'fault kind':<24}{'runs':>6}{'successes':>11}{'rate':>9}"]
    for kind, k in f["by_fault_kind"].items():
        lines.append(f"{kind:<24}{k['runs']:>6}{k['successes']:>11}{_pct(k['success_rate']):>9}")
    failed = [r for r in results if not r["success"]]
    if failed:
        lines += ["", "failed runs:"]
    for r in failed:
        why = r["error"] if r["crashed"] else ", ".join(f["failed"][str(r["seed"])])
        faults = "; ".join(ep.describe() for ep in campaign.episodes(r["faults"],
                                                                      r["duration_s"]))
        lines.append(f"  seed {r['seed']:<6} {why}   [{faults or 'no fault'}]"
                     f"{'' if r['recoverable'] else '  (unrecoverable)'}")
    return "\n".join(lines)


def _title(figures: dict) -> str:
    return f"{figures['scenario']}: {figures['runs']} runs"


def _histogram(figures: dict, results: list[dict], value, label: str) -> Figure | None:
    """Histogram of value(result), succeeded and failed runs stacked."""
    groups = {g: [value(r) for r in results if bool(r["success"]) == (g == "succeeded")
                  and value(r) is not None] for g in COLOURS}
    if not any(groups.values()):
        return None
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    ax.hist(list(groups.values()), bins=20, stacked=True, color=list(COLOURS.values()),
            label=[f"{g} ({len(v)})" for g, v in groups.items()])
    ax.set_xlabel(label)
    ax.set_ylabel("runs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(_title(figures))
    ax.legend()
    fig.tight_layout()
    return fig


def _success_by_fault(figures: dict) -> Figure:
    kinds = figures["by_fault_kind"]
    fig = Figure(figsize=(6.4, 0.5 + 0.4 * max(len(kinds), 2)))
    ax = fig.add_subplot()
    names = list(kinds)
    ok = [k["successes"] for k in kinds.values()]
    ax.barh(names, ok, color=COLOURS["succeeded"], label="succeeded")
    ax.barh(names, [k["runs"] - s for k, s in zip(kinds.values(), ok)], left=ok,
            color=COLOURS["failed"], label="failed")
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("runs")
    ax.set_title(f"{_title(figures)}, by fault kind drawn")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def write_report(folder: Path, figures: dict, results: list[dict], faults: str) -> list[str]:
    """report.json and the plots in the campaign folder; returns the plots' names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(
        {**figures, "faults": faults, "results": results}, indent=2) + "\n")
    nav = lambda r: (r["nav_error_pct_of_range"] or {}).get("p95")  # noqa: E731
    plots = {
        "delta_v.png": _histogram(figures, results, lambda r: r["delta_v_mps"],
                                  "delta-v executed (m/s)"),
        "min_range.png": _histogram(figures, results, lambda r: r["min_range_m"],
                                    "closest approach (m)"),
        "nav_error.png": _histogram(figures, results, nav, "navigation error, 95th percentile "
                                                           "of the run (% of range)"),
        "success_by_fault.png": _success_by_fault(figures),
    }
    written = []
    for name, fig in plots.items():
        if fig is not None:
            fig.savefig(folder / name, dpi=DPI)
            written.append(name)
    return written


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="built-in name or TOML path")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--first", type=int, default=1, help="first seed (seeds first..first+runs-1)")
    ap.add_argument("--faults", choices=campaign.FAULT_MODES, default="single")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, help="local Dask cluster's processes")
    where.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    where.add_argument("--in-process", action="store_true", help="one run after the other, "
                                                                 "here, without Dask")
    ap.add_argument("--out", type=Path, default=Path("runs/campaign"))
    ap.add_argument("--duration-s", type=float, default=None, help="shorten every run")
    ap.add_argument("--topology", default="inproc", choices=("inproc", "zmq"))
    return ap.parse_args(argv)


def fly(args) -> campaign.Outcome:
    """Plan the campaign of ``args`` and fly it with a progress bar, on Dask or here."""
    sc = scenarios.load(args.scenario)                  # a wrong name fails here, not in a worker
    runs = campaign.plan(sc, range(args.first, args.first + args.runs), args.faults, args.out,
                         args.duration_s, args.topology)
    bar = Bar()
    here = args.in_process or all(campaign.load_result(run) for run in runs)  # none left to fly
    client = contextlib.nullcontext() if here else \
        campaign.dask_client(args.workers, args.scheduler)
    with client as c:
        try:
            return campaign.run_campaign(runs, c, on_result=bar)
        finally:
            bar.close()                                 # before the cluster's shutdown


def main(argv=None) -> dict:
    args = parse_args(argv)
    wall0 = time.monotonic()
    try:
        outcome = fly(args)
    except KeyboardInterrupt:
        print(f"campaign: interrupted; the same command resumes it from {args.out}",
              file=sys.stderr)
        raise SystemExit(130)
    wall_s = time.monotonic() - wall0
    results = outcome.results
    figures = campaign.aggregate(results)
    folder = args.out / results[0]["scenario"]
    plots = write_report(folder, figures, results, args.faults)
    where = "in this process" if args.in_process else \
        f"on {args.scheduler}" if args.scheduler else f"on {args.workers} local Dask workers"
    print(f"{figures['scenario']}: {len(results)} runs (seeds {args.first}.."
          f"{args.first + args.runs - 1}), faults {args.faults}; "
          f"{len(results) - len(outcome.flown)} already flown, {len(outcome.flown)} flown "
          f"{where} in {wall_s:.1f} s")
    print(table(figures, results))
    print(f"\nreport: {folder / 'report.json'}; plots: {', '.join(plots)}")
    print(json.dumps({**figures, "faults": args.faults}))
    return figures


if __name__ == "__main__":
    main()
