"""Regressions of the hostile-input fuzzing (issue 8, item 3): each bug it found, as the
requirement it broke. Bad input gets a clear error and loses nothing: it is refused, counted,
reported, and the app keeps running.
"""
import msgpack
import numpy as np
import pytest

from flightsw.health import HealthApp
from flightsw.msg import (AppHealth, CameraFrame, HealthStatus, MessageError, TimeTone, decode,
                          encode)
from flightsw.runtime.app import NS_PER_S, App, Inbox
from flightsw.runtime.runner import AppRunner


def first(out, cls):
    return next(m for m in out if type(m) is cls)


def decoded(wire):
    return [decode(frames)[1] for frames in wire]


# -- the codec ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype_str", ["f8 (3,)", "01", "M8[q]", "(2)u2", "a" * 300])
def test_a_malformed_array_dtype_string_is_a_bad_array_not_a_numpy_error(dtype_str):
    frame = CameraFrame(frame_id=1, t_exposure_start_ns=0, exposure_s=0.1, gain_e_per_dn=1.0,
                        image=np.zeros((2, 2), "<u2"))
    frames = encode(frame, 0, 0, "camera")
    values = msgpack.unpackb(frames[2])
    values[-1][0] = dtype_str
    with pytest.raises(MessageError) as exc:
        decode([frames[0], frames[1], msgpack.packb(values), frames[3]])
    assert exc.value.reason == "bad_array"


# -- u64 counters saturate ---------------------------------------------------------------------
class Listener(App):
    SUBSCRIBES = (TimeTone,)

    def step(self, t_ns, inbox):
        return []


def test_runtime_counters_past_2_64_saturate_and_the_health_report_still_goes_out():
    runner = AppRunner(Listener("listener"))
    # a hostile publisher's sequence numbers jump by 2**63 again and again: each jump is a gap
    tone = TimeTone(tone=0, vehicle_time_ns=0)
    for k, seq in enumerate([0, 2**63 - 1] * 3):
        runner.run_step(k * NS_PER_S, [encode(tone, seq, k * NS_PER_S, "clock")])
    assert runner.inputs_dropped > 2**64
    report = first(decoded(runner.run_step(10 * NS_PER_S, [])), AppHealth)
    assert report.inputs_dropped == 2**64 - 1
    assert runner.outputs_rejected == 0


def app_health(app, **counts):
    values = dict(app=app, boot=0, steps=0, inputs_accepted=0, inputs_rejected=np.zeros(6),
                  inputs_refused=0, inputs_dropped=0, outputs_rejected=0, outputs_dropped=0,
                  step_faults=0, last_error="")
    values.update(counts)
    return AppHealth(**values)


def test_the_health_summary_of_counters_that_sum_past_2_64_saturates():
    app = HealthApp("health", {"fdir": False})
    app.reset()
    big = 2**64 - 1
    msgs = [app_health(a, inputs_dropped=big, step_faults=big, inputs_refused=big, boot=0)
            for a in ("nav", "detect")]
    inbox = Inbox([(encode_env(m, k), m) for k, m in enumerate(msgs)])
    status = first(app.step(NS_PER_S, inbox), HealthStatus)
    assert (status.inputs_dropped, status.step_faults, status.inputs_rejected) == (big,) * 3
    encode(status, 0, NS_PER_S, "health")


def encode_env(msg, seq, t_ns=NS_PER_S):
    frames = encode(msg, seq, t_ns, "test")
    return decode(frames)[0]
