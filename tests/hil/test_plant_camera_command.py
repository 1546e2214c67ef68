"""The plant's camera takes frames at the cadence the flight software commands."""
import tomllib
from importlib import resources

from flightsw.msg import CameraCommand, CameraFrame, Envelope
from flightsw.runtime.app import Inbox
from hil.plant import Plant

NS = 1_000_000_000


def test_frames_follow_the_commanded_period_on_whole_multiples_of_it():
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    plant = Plant("plant", {"config": doc["plant"]})      # 10 Hz, camera at 0.2 Hz
    plant.reset()
    frames = []
    for k in range(0, 400):                               # 40 s
        t_ns = k * NS // 10
        inbox = []
        if k == 101:                                      # a command at 10.1 s: every 3 s
            inbox = [(Envelope(CameraCommand.TOPIC, 1, 0, t_ns, "guidance"),
                      CameraCommand(period_s=3.0))]
        frames += [t_ns / NS for m in plant.step(t_ns, Inbox(inbox)) if isinstance(m, CameraFrame)]
    assert frames == [0.0, 5.0, 10.0, 12.0, 15.0, 18.0, 21.0, 24.0, 27.0, 30.0, 33.0, 36.0, 39.0]
