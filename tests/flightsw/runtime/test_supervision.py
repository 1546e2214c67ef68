"""A crashed app process is reported and restarted by the launcher, and the run goes on."""
import os
import signal
import subprocess
import sys
import time

import numpy as np

from flightsw.record import Recording
from flightsw.runtime.launcher import ProcessRun
from flightsw.runtime.topology import AppSpec

NS = 1_000_000_000


def wait_until_dead(popen, timeout_s=10.0):
    """Wait for a killed child to become a zombie without reaping it (the launcher reaps)."""
    deadline = time.monotonic() + timeout_s
    while os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)

SPECS = [
    AppSpec("camera", "runtime_test_apps:FrameSource"),
    AppSpec("timecard", "hil.clock:TimeCard", rate_hz=10.0),
    AppSpec("consumer", "runtime_test_apps:FrameConsumer"),
    AppSpec("health", "flightsw.health:HealthApp",
            {"monitored": "camera,timecard,consumer,health", "stale_after_s": 2.5}),
]


def test_killed_app_process_is_reported_restarted_and_the_run_goes_on(tmp_path):
    run = ProcessRun(SPECS, 3, tmp_path)
    try:
        run.run(3 * NS)
        old_pid = run.procs["consumer"].popen.pid
        os.kill(old_pid, signal.SIGKILL)
        wait_until_dead(run.procs["consumer"].popen)
        run.run(8 * NS)
        new_pid = run.procs["consumer"].popen.pid
    finally:
        run.close()
    assert new_pid != old_pid
    whats = [(e.app, e.what) for e in run.events]
    assert ("consumer", "crashed") in whats and ("consumer", "restarted") in whats

    rec = Recording(tmp_path)
    summary = rec.arrays("test.frame_summary")
    # the consumer kept publishing after the restart, up to the end of the run
    assert summary["t_ns"].max() == 8 * NS
    after = summary["t_ns"] > 4 * NS
    assert (summary["frames"][after][1:] > 0).all()
    health = rec.arrays("health.app")
    consumer = health["app"] == "consumer"
    assert health["boot"][consumer].max() == 1
    status = rec.arrays("health.status")
    assert status["restarts"][-1] == 1
    assert status["stale_apps"][-1] == ""


def test_app_killed_while_idle_between_steps_is_restarted_before_its_next_step(tmp_path):
    specs = [AppSpec("slow", "runtime_test_apps:FrameConsumer", rate_hz=0.5), *SPECS[:2]]
    run = ProcessRun(specs, 4, tmp_path)
    try:
        run.run(1 * NS)
        run.kill("slow")
        wait_until_dead(run.procs["slow"].popen)
        run.run(6 * NS)
    finally:
        run.close()
    s = Recording(tmp_path).arrays("test.frame_summary")
    np.testing.assert_array_equal(s["t_ns"], [0, 2 * NS, 4 * NS, 6 * NS])
    assert [(e.app, e.what) for e in run.events] == [("slow", "crashed"), ("slow", "restarted")]


def test_hung_app_is_reported_killed_restarted_and_the_run_goes_on(tmp_path):
    specs = [AppSpec("stall", "runtime_test_apps:StallsOnce", {"at_s": 1.0}), SPECS[1]]
    run = ProcessRun(specs, 5, tmp_path, step_timeout_s=0.5)
    try:
        run.run(3 * NS)
    finally:
        run.close()
    # events carry the sim time of the last tick completed (the timecard's, at 0.9 s)
    assert [(e.app, e.what, e.t_ns) for e in run.events] == [
        ("stall", "hung", 9 * NS // 10), ("stall", "restarted", 9 * NS // 10)]
    rec = Recording(tmp_path)
    # every step answered but the one that hung; the new incarnation takes the next
    s = rec.arrays("test.frame_summary")
    np.testing.assert_array_equal(s["t_ns"], [0, NS // 2, 3 * NS // 2, 2 * NS, 5 * NS // 2, 3 * NS])
    # the new incarnation reports at its first step, then on the whole seconds again
    health = rec.arrays("health.app")
    stall = health["app"] == "stall"
    assert health["t_ns"][stall].tolist() == [0, 3 * NS // 2, 2 * NS, 3 * NS]
    assert health["boot"][stall].tolist() == [0, 1, 1, 1]
    # the other app stepped at every tick, the hung one's included
    assert rec.arrays("time.tone")["t_ns"].tolist() == list(range(0, 3 * NS + 1, NS // 10))


def test_paced_run_never_runs_ahead_of_the_wall_clock(tmp_path):
    # pacing is a lower bound on wall time: 2 s of sim at 10x real time takes at least 0.2 s
    specs = [AppSpec("timecard", "hil.clock:TimeCard", rate_hz=10.0)]
    run = ProcessRun(specs, 1, tmp_path, pace=10.0)
    try:
        run.start()
        t0 = time.monotonic()
        run.run(2 * NS)
        elapsed = time.monotonic() - t0
    finally:
        run.close()
    assert elapsed >= 0.2 - 1e-3


def test_app_processes_exit_when_the_launcher_dies(tmp_path):
    script = (
        "import sys, time\n"
        "from flightsw.runtime.launcher import ProcessRun\n"
        "from flightsw.runtime.topology import AppSpec\n"
        "run = ProcessRun([AppSpec('timecard', 'hil.clock:TimeCard')], 1, None)\n"
        "run.start()\n"
        "print(run.procs['timecard'].popen.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    # -P and no PYTHONPATH: the installed package, never a checkout's uncompiled source
    launcher = subprocess.Popen([sys.executable, "-P", "-c", script], stdout=subprocess.PIPE,
                                text=True)
    node_pid = int(launcher.stdout.readline())
    launcher.kill()
    launcher.wait()
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        try:
            os.kill(node_pid, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{node_pid}/stat") as f:
            if f.read().split(")")[1].split()[0] == "Z":
                return
        time.sleep(0.05)
    raise AssertionError("the app process outlived its launcher")
