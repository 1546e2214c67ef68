"""The in-process and the ZeroMQ topologies carry the same messages, and runs are recorded."""
import socket

import msgpack
import numpy as np
import pytest

from flightsw.msg import lookup
from flightsw.record import Recording
from flightsw.runtime.launcher import ProcessRun
from flightsw.runtime.scheduler import InProcessRun
from flightsw.runtime.topology import AppSpec

NS = 1_000_000_000

SPECS = [
    AppSpec("camera", "runtime_test_apps:FrameSource", {"size_px": 256}),
    AppSpec("timecard", "hil.clock:TimeCard", rate_hz=10.0),
    AppSpec("consumer", "runtime_test_apps:FrameConsumer"),
    AppSpec("health", "flightsw.health:HealthApp",
            {"monitored": "camera,timecard,consumer,health"}),
]


def free_port_block(n):
    """First port of n consecutive free loopback ports (each app binds two)."""
    rng = np.random.default_rng()
    for _ in range(100):
        base = int(rng.integers(20000, 60000))
        socks = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports")


def deterministic_stream(run_dir):
    """Every recorded message except wall-clock timing telemetry, as raw msgpack objects."""
    rec = Recording(run_dir)
    return [m for m in rec.messages() if not lookup(m[0]).WALL_CLOCK]


def run_inproc(run_dir, seed, seconds, specs=SPECS):
    run = InProcessRun(specs, seed, run_dir)
    run.run(seconds * NS)
    run.close()
    return run


def test_inprocess_and_zeromq_runs_record_identical_message_streams(tmp_path):
    run_inproc(tmp_path / "a", seed=7, seconds=6)
    zrun = ProcessRun(SPECS, 7, tmp_path / "b")
    try:
        zrun.run(6 * NS)
    finally:
        zrun.close()
    a, b = deterministic_stream(tmp_path / "a"), deterministic_stream(tmp_path / "b")
    topics = {m[0] for m in a}
    assert {"sensor.camera.frame", "test.frame_summary", "health.status", "time.tone"} <= topics
    assert len(a) == len(b) > 100
    assert a == b
    assert zrun.events == []


def test_a_different_seed_gives_different_frames(tmp_path):
    run_inproc(tmp_path / "a", seed=1, seconds=1)
    run_inproc(tmp_path / "b", seed=2, seconds=1)
    fa = Recording(tmp_path / "a").arrays("sensor.camera.frame")["image"]
    fb = Recording(tmp_path / "b").arrays("sensor.camera.frame")["image"]
    assert fa.shape == fb.shape == (6, 256, 256)
    assert not np.array_equal(fa, fb)


def test_messages_published_at_a_tick_are_delivered_from_the_next_step(tmp_path):
    run_inproc(tmp_path, seed=3, seconds=3)
    s = Recording(tmp_path).arrays("test.frame_summary")
    # camera at 5 Hz, consumer at 2 Hz from t=0: the first step sees nothing, then each
    # step sees the frames of the half-second before it (t-0.5 s .. t-0.2 s, or t-0.4 s).
    assert s["frames"][0] == 0
    assert list(s["frames"][1:]) == [3, 2, 3, 2, 3, 2]
    newest, oldest = s["tone_times_s"][1:, 0], s["tone_times_s"][1:, 1]
    t = s["t_ns"][1:] / NS
    np.testing.assert_allclose(newest, t - 0.1)
    np.testing.assert_allclose(oldest, t - 0.5)


def test_recording_is_readable_with_msgpack_alone(tmp_path):
    run_inproc(tmp_path, seed=5, seconds=1)
    schema = msgpack.unpackb((tmp_path / "schema.msgpack").read_bytes())
    fields = [f[0] for f in schema["sensor.camera.frame"]["fields"]]
    with open(tmp_path / "bus.msgpack", "rb") as f:
        first_frame = next(m for m in msgpack.Unpacker(f) if m[0] == "sensor.camera.frame")
    topic, (version, seq, t_ns, source), values, blobs = first_frame
    dtype, shape, index = values[fields.index("image")]
    pixels = np.frombuffer(blobs[index], dtype=dtype).reshape(shape)
    assert (version, seq, t_ns, source) == (1, 0, 0, "camera")
    assert pixels.shape == (256, 256) and pixels.dtype == np.uint16
    frames = Recording(tmp_path).arrays("sensor.camera.frame")
    np.testing.assert_array_equal(frames["image"][0], pixels)
    np.testing.assert_array_equal(frames["frame_id"], np.arange(1, 7))


def test_faulty_app_outputs_and_exceptions_are_counted_not_fatal(tmp_path):
    specs = [AppSpec("faulty", "runtime_test_apps:Faulty"),
             AppSpec("health", "flightsw.health:HealthApp", {"monitored": "faulty,health"})]
    run = run_inproc(tmp_path, seed=1, seconds=4, specs=specs)
    r = run.runners["faulty"]
    # steps at 0,1,2,3,4 s: raises on 1st,3rd,5th; 2nd,4th each publish a NaN summary
    # (contract breach) and an undeclared TimeTone
    assert (r.steps, r.step_faults, r.outputs_rejected) == (5, 3, 4)
    status = Recording(tmp_path).arrays("health.status")
    assert status["mode"][-1] == "degraded"
    assert status["step_faults"][-1] >= 2


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_zeromq_transports_deliver_every_message(tmp_path, transport):
    if transport == "tcp":
        transport = f"tcp://127.0.0.1:{free_port_block(2 * len(SPECS))}"
    run = ProcessRun(SPECS, 11, tmp_path, transport=transport)
    try:
        run.run(2 * NS)
    finally:
        run.close()
    health = Recording(tmp_path).arrays("health.app")
    assert health["inputs_dropped"].max() == 0
    assert health["inputs_rejected"].max() == 0
    s = Recording(tmp_path).arrays("test.frame_summary")
    assert list(s["frames"]) == [0, 3, 2, 3, 2]
