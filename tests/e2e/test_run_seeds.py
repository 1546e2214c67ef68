"""tools/run_seeds.py: seeds flown in parallel on Dask, a row each and one JSON line; resumable."""
import importlib
import json
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def test_seeds_fly_in_parallel_print_their_figures_and_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(TOOLS))           # importable by name in the workers too
    tool = importlib.import_module("run_seeds")
    args = ["close-range", "--seeds", "2", "--first", "3", "--jobs", "2", "--duration-s", "10",
            "--out", str(tmp_path)]
    figures = tool.main(args)
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == figures and figures["seeds"] == [3, 4]
    assert not figures["crashed"] and set(figures["failed"]) | set(map(str, figures["succeeded"])) == {"3", "4"}
    summaries = [json.loads((tmp_path / "close-range" / f"run-{s}" / "summary.json").read_text()) for s in (3, 4)]
    assert [s["seed"] for s in summaries] == [3, 4] and all(s["completed"] for s in summaries)
    # the seeds disperse the run: the two truths differ
    assert summaries[0]["min_range_m"] != summaries[1]["min_range_m"]
    # a second call flies nothing again and reports the same
    again = tool.main(args)
    assert "2 already flown, 0 to fly" in capsys.readouterr().out
    assert again == figures
