"""The run folder's products beyond the recording: summary.json and the plots.

write_report(run_dir, scenario, run_facts) reads the recording once, judges it against truth
(analysis), writes summary.json and the PNGs (plots), and returns the summary. Truth is read
here, on the bench side, only.
"""
from __future__ import annotations

import json
from pathlib import Path

from hil.report.analysis import Analysis, analyse
from hil.report.load import MissionSettings, RunData
from hil.report.plots import write_plots

__all__ = ["Analysis", "MissionSettings", "RunData", "analyse", "write_plots", "write_report"]


def write_report(run_dir: Path, scenario, run_facts: dict, plots: bool = True) -> dict:
    """summary.json = run_facts (what the runner knows: scenario, seed, wall time...) and the
    figures of the recording; then the plots, whose names the summary lists."""
    run_dir = Path(run_dir)
    an = analyse(RunData.load(run_dir), MissionSettings.from_scenario(scenario))
    summary = {**run_facts, **an.summary, "plots": []}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if plots:
        summary["plots"] = write_plots(an, run_dir)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
