"""Small apps for runtime tests: a seeded frame source, a frame consumer, and misbehaving apps.

They live in the tests, not in flightsw; node processes import them by module path.
"""
import numpy as np

from flightsw.msg import CameraFrame, Field, Message, TimeTone
from flightsw.runtime.app import App, Param


class FrameSummary(Message):
    """Test-only: what the consumer saw in the frames of one step."""

    TOPIC = "test.frame_summary"
    VERSION = 1
    FIELDS = (
        Field.u64("frames", "count", "frames in the inbox"),
        Field.u64("last_frame_id", "count", "id of the newest frame"),
        Field.f64("mean_dn", "DN", "mean pixel value over the frames"),
        Field.vec("tone_times_s", "s", "sim times of the newest and oldest tone", 2),
    )


class FrameSource(App):
    PUBLISHES = (CameraFrame,)
    RATE_HZ = 5.0
    PARAMS = {"size_px": Param(64, "px", "frame side", lo=1, hi=4096)}

    def reset(self):
        self.n = 0

    def step(self, t_ns, inbox):
        img = self.rng.integers(0, 4096, size=(self.p.size_px, self.p.size_px), dtype=np.uint16)
        self.n += 1
        return [CameraFrame(frame_id=self.n, t_exposure_start_ns=t_ns, exposure_s=0.1,
                            gain_e_per_dn=2.0, image=img)]


class FrameConsumer(App):
    SUBSCRIBES = (CameraFrame, TimeTone)
    PUBLISHES = (FrameSummary,)
    RATE_HZ = 2.0

    def step(self, t_ns, inbox):
        frames = inbox.all(CameraFrame)
        tones = inbox.all(TimeTone)
        mean = float(np.mean([m.image.mean() for _, m in frames])) if frames else 0.0
        tt = [tones[-1][1].vehicle_time_ns / 1e9, tones[0][1].vehicle_time_ns / 1e9] if tones \
            else [0.0, 0.0]
        return [FrameSummary(frames=len(frames),
                             last_frame_id=frames[-1][1].frame_id if frames else 0,
                             mean_dn=mean, tone_times_s=tt)]


class Faulty(App):
    """Raises on odd steps and publishes a NaN summary and an undeclared message on even ones."""

    PUBLISHES = (FrameSummary,)
    RATE_HZ = 1.0

    def reset(self):
        self.k = 0

    def step(self, t_ns, inbox):
        self.k += 1
        if self.k % 2:
            raise RuntimeError("boom")
        return [FrameSummary(frames=0, last_frame_id=0, mean_dn=float("nan"),
                             tone_times_s=[0.0, 0.0]),
                TimeTone(tone=1, vehicle_time_ns=t_ns)]


class StallsOnce(App):
    """Hangs (sleeps far past any step timeout) in its step at ``at_s``; otherwise reports."""

    PUBLISHES = (FrameSummary,)
    RATE_HZ = 2.0
    PARAMS = {"at_s": Param(1.0, "s", "sim time of the step that hangs", lo=0.0)}

    def step(self, t_ns, inbox):
        if t_ns == int(self.p.at_s * 1e9):
            import time  # the misbehaviour under test: a step that never returns in time
            time.sleep(60.0)
        return [FrameSummary(frames=0, last_frame_id=0, mean_dn=0.0, tone_times_s=[0.0, 0.0])]
