"""tools/campaign.py: a table and one JSON line of the figures, report.json and plots; resumable."""
import importlib
import json
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def test_a_campaign_prints_its_figures_last_writes_its_report_and_resumes(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.syspath_prepend(str(TOOLS))
    tool = importlib.import_module("campaign")
    args = ["close-range", "--runs", "2", "--first", "5", "--faults", "single", "--in-process",
            "--duration-s", "10", "--out", str(tmp_path)]
    figures = tool.main(args)
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == {**figures, "faults": "single"}
    assert figures["runs"] == 2 and figures["seeds"] == [5, 6] and not figures["crashed"]
    assert "0 already flown, 2 flown in this process" in out[0]
    assert any(line.startswith("fault kind") for line in out)
    folder = tmp_path / "close-range"
    report = json.loads((folder / "report.json").read_text())
    assert [r["seed"] for r in report["results"]] == [5, 6] and report["faults"] == "single"
    for png in ("delta_v.png", "min_range.png", "nav_error.png", "success_by_fault.png"):
        assert (folder / png).stat().st_size > 0
    assert tool.main(args) == figures
    assert "2 already flown, 0 flown" in capsys.readouterr().out
