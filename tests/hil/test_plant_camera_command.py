"""The plant's camera takes frames at the cadence and with the exposure the flight software commands."""
import tomllib
from importlib import resources

import numpy as np
import pytest

from flightsw.msg import CameraCommand, CameraFrame, Envelope, ExposureCommand
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


def test_frames_take_the_commanded_exposure_clamped_to_the_shutter_and_the_light_scales():
    doc = tomllib.loads((resources.files("hil.scenarios") / "close-range.toml").read_text())
    config = dict(doc["plant"], camera=dict(doc["plant"].get("camera", {}), rate_hz=1.0,
                                            min_exposure_s=1e-3, cosmic_ray_rate_per_cm2_s=0.0))
    plant = Plant("plant", {"config": config})
    plant.reset()
    commands = {2: 0.02, 4: 1e-5}                         # the second is below the shutter's limit
    frames = []
    for k in range(6):
        t_ns = k * NS
        inbox = [(Envelope(ExposureCommand.TOPIC, 1, 0, t_ns, "detect"),
                  ExposureCommand(exposure_s=commands[k]))] if k in commands else []
        frames += [m for m in plant.step(t_ns, Inbox(inbox)) if isinstance(m, CameraFrame)]
    assert [f.exposure_s for f in frames] == [0.1, 0.1, 0.02, 0.02, 1e-3, 1e-3]
    # the background above the bias (dark current, sky light) scales with the integration time
    # (the target, a sunlit disc a few hundred metres off, saturates at all three)
    bias = config["camera"].get("bias_dn", 100.0)
    background = [float(np.mean(f.image[f.image < bias + 1000].astype(float) - bias)) for f in frames]
    assert background[2] / background[0] == pytest.approx(0.2, rel=0.1)
    assert background[4] / background[0] == pytest.approx(0.01, abs=0.01)
