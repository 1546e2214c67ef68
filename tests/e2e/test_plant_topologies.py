"""The whole vehicle and the plant on the bus: in-process and ZeroMQ runs of close-range record
the same streams."""
import msgpack
import numpy as np

from flightsw.msg import lookup
from flightsw.record import Recording
from hil import scenario
from hil.cli import run_scenario


def stream(run_dir, truth):
    """Every recorded message but wall-clock telemetry, re-packed: byte equality is exact, and
    holds for NaN fields too."""
    return [msgpack.packb(m) for m in Recording(run_dir).messages(truth)
            if not lookup(m[0]).WALL_CLOCK]


def test_close_range_inprocess_and_zeromq_give_identical_flight_and_truth_streams(tmp_path):
    sc = scenario.load("close-range")
    sc = scenario.Scenario(sc.name, sc.seed, 120.0, sc.apps, sc.blobs_every, sc.source)
    a = run_scenario(sc, tmp_path / "inproc", "inproc", progress=False)
    b = run_scenario(sc, tmp_path / "zmq", "zmq", progress=False)
    assert a["messages"] == b["messages"]
    assert a["messages"]["sensor.camera.frame"] == 25          # 0.2 Hz, t = 0 .. 120 s
    # long enough for the loop to close: the target tracked, navigation and guidance running
    assert a["messages"]["detect.track"] > 0 and a["messages"]["guidance.pointing"] == 121
    for truth in (False, True):
        sa, sb = stream(tmp_path / "inproc", truth), stream(tmp_path / "zmq", truth)
        assert len(sa) >= (7 if truth else 100) and sa == sb
    frames = Recording(tmp_path / "zmq").arrays("sensor.camera.frame")
    assert frames["image"][0].shape == (1024, 1024) and np.ptp(frames["image"][0]) > 0
