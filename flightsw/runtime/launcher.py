"""Processes over ZeroMQ: one process per app, the launcher as time master and supervisor.

The launcher owns the sim clock. At each tick it tells every released app how
many messages to expect from each publisher (what those published since the
app last stepped), waits for every app's DONE, and records the tick. An app
process that dies or hangs is reported, restarted with its boot count
incremented, re-admitted through the subscription handshake, and the run goes
on. With ``pace`` set, ticks are released no faster than ``pace`` times wall
clock (1.0 = real time); pacing is the runner's policy, never the apps'.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import msgpack
import zmq

import flightsw
from flightsw.bus.zmq_transport import endpoints, is_probe, make_sub
from flightsw.native import require
from flightsw.record import Recorder
from flightsw.runtime.build import one_blas_thread
from flightsw.runtime.schedule import Schedule
from flightsw.runtime.topology import AppSpec, check_topology

RUNTIME_TOPICS = ("health.app", "health.app_timing")
RECV_SLICE_MS = 50  # how often a wait for a node wakes to check on the node processes

_lockstep = require("flightsw.runtime._lockstep")


class LaunchError(RuntimeError):
    pass


@dataclass
class Event:
    """Something the supervisor did, for the run log and the operator."""

    t_ns: int
    app: str
    what: str
    detail: str = ""


@dataclass
class _Proc:
    spec: AppSpec
    period_ns: int
    topics_in: set
    topics_out: set
    boot: int = 0
    popen: subprocess.Popen | None = None
    publishers: dict = field(default_factory=dict)


class ProcessRun:
    """Runs a topology as one process per app over ZeroMQ, in lockstep with this process."""

    def __init__(self, specs: list[AppSpec], seed: int, run_dir: Path | None = None,
                 transport: str = "ipc", pace: float | None = None, hwm: int = 1000,
                 step_timeout_s: float = 30.0, blobs_every: dict[str, int] | None = None):
        check_topology(specs)
        self.seed = seed
        self.pace = pace
        self.hwm = hwm
        self.step_timeout_s = step_timeout_s
        self.events: list[Event] = []
        self._ipc_dir = tempfile.mkdtemp(prefix="rpo-")
        eps = endpoints(transport, [s.name for s in specs], self._ipc_dir)
        self.ctl_eps = {n: ctl for n, (ctl, _pub) in eps.items()}
        self.pub_eps = {n: pub for n, (_ctl, pub) in eps.items()}
        self.procs: dict[str, _Proc] = {}
        for s in specs:
            cls = s.app_class()
            app = s.build(seed)  # validates parameters here, before any process starts
            self.procs[s.name] = _Proc(
                s, app.period_ns, {m.TOPIC for m in cls.SUBSCRIBES},
                {m.TOPIC for m in cls.PUBLISHES} | set(RUNTIME_TOPICS))
        for name, p in self.procs.items():
            for q_name, q in sorted(self.procs.items()):
                wanted = sorted(p.topics_in & q.topics_out)
                if wanted:
                    p.publishers[q_name] = wanted
        self._ident = {n: n.encode() for n in self.procs}
        self._names = {i: n for n, i in self._ident.items()}
        self.subscribers_of: dict[str, list[str]] = defaultdict(list)
        for name, p in self.procs.items():
            for topic in p.topics_in:
                self.subscribers_of[topic].append(name)
        # pending[s][p]: messages p published (acknowledged) that s has not consumed yet
        self.pending: dict[str, dict[str, int]] = {n: defaultdict(int) for n in self.procs}
        self.schedule = Schedule({n: p.period_ns for n, p in self.procs.items()})
        self.recorder = Recorder(run_dir, blobs_every) if run_dir is not None else None
        self.ctx = zmq.Context()
        self.req: dict[str, zmq.Socket] = {}
        self._sock_name: dict[zmq.Socket, str] = {}
        self.poller = zmq.Poller()
        self.rec_subs = {n: make_sub(self.ctx, ep, None, hwm) for n, ep in self.pub_eps.items()}
        self.t_ns = 0
        self._started = False
        self._rec_held: dict[str, list] = defaultdict(list)

    # -- processes --------------------------------------------------------------------
    def _node_config(self, name: str) -> str:
        p = self.procs[name]
        return json.dumps({
            "name": name, "cls": p.spec.cls, "params": p.spec.params, "rate_hz": p.spec.rate_hz,
            "telemetry_period_s": p.spec.telemetry_period_s,
            "seed": self.seed, "boot": p.boot, "control": self.ctl_eps[name],
            "pub": self.pub_eps[name], "hwm": self.hwm,
            "deadline_ns": int(p.period_ns / self.pace) if self.pace else None,
            "publishers": {q: [self.pub_eps[q], topics] for q, topics in p.publishers.items()},
        })

    def _spawn(self, name: str) -> None:
        # the node imports the flightsw this process runs (its folder first), whatever else
        # comes earlier on this process's path (a checkout a tool put there, say)
        own = str(Path(flightsw.__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([own] + [p for p in sys.path if p]))
        one_blas_thread(env)     # a pool per node would oversubscribe the cores they share
        # -P: the working directory must not shadow the installed (compiled) package
        self.procs[name].popen = subprocess.Popen(
            [sys.executable, "-P", "-m", "flightsw.runtime.node", self._node_config(name)],
            env=env)

    # -- the control plane: one REQ socket per node ------------------------------------
    def _connect(self, name: str) -> None:
        """A fresh REQ socket to the node (a REQ left waiting on a dead node is unusable)."""
        old = self.req.pop(name, None)
        if old is not None:
            self.poller.unregister(old)
            del self._sock_name[old]
            old.close(linger=0)
        sock = self.ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, RECV_SLICE_MS)
        sock.connect(self.ctl_eps[name])
        self.req[name] = sock
        self._sock_name[sock] = name
        self.poller.register(sock, zmq.POLLIN)

    def _ask(self, name: str, *msg) -> None:
        self.req[name].send(msgpack.packb(msg))

    def _answers(self, names, timeout_s: float, on_silence=None) -> dict[str, list]:
        """One reply from each of ``names``. Every RECV_SLICE_MS without one,
        ``on_silence(waiting)`` may drop names from the wait (returns those to drop)."""
        waiting = set(names)
        got: dict[str, list] = {}
        deadline = time.monotonic() + timeout_s
        while waiting:
            if len(waiting) == 1:  # lockstep's common case: a blocking receive, no poll
                (name,) = waiting
                try:
                    got[name] = msgpack.unpackb(self.req[name].recv())
                    waiting.clear()
                    continue
                except zmq.Again:
                    ready = []
            else:
                ready = [self._sock_name[s] for s, _ in self.poller.poll(RECV_SLICE_MS)]
            for name in ready:
                if name in waiting:
                    got[name] = msgpack.unpackb(self.req[name].recv())
                    waiting.discard(name)
            if waiting and not ready:
                if on_silence is not None:
                    waiting -= on_silence(set(waiting))
                if waiting and time.monotonic() > deadline:
                    raise LaunchError(f"no answer from {sorted(waiting)}")
        return got

    def _hello(self, names: set[str], timeout_s: float = 60.0) -> None:
        for n in names:
            self._connect(n)
            self._ask(n, "HELLO")

        def exited(waiting):
            for n in waiting:
                if self.procs[n].popen.poll() is not None:
                    raise LaunchError(f"app {n} exited with {self.procs[n].popen.returncode} "
                                      "before it said hello")
            return set()

        self._answers(names, timeout_s, exited)

    def _sync(self, restarted: set[str], timeout_s: float = 30.0) -> None:
        """Probe rounds until every subscriber hears every publisher it must re-hear."""
        required = {
            n: set(p.publishers) if n in restarted else set(p.publishers) & restarted
            for n, p in self.procs.items()
        }
        rec_needed = set(restarted)
        keep = {n: {q: self.pending[n][q] for q in restarted if q in p.publishers}
                for n, p in self.procs.items() if n not in restarted}
        deadline = time.monotonic() + timeout_s
        rnd = 0
        while True:
            for n in self.procs:
                self._ask(n, "SYNC", rnd, keep.get(n, {}))
            synced = {n: set(msg[2]) for n, msg in self._answers(self.procs, 10.0).items()}
            rec_needed -= self._drain_recorder_probes(restarted)
            if not rec_needed and all(required[n] <= synced[n] for n in self.procs):
                return
            if time.monotonic() > deadline:
                raise LaunchError("subscription handshake did not complete")
            rnd += 1
            time.sleep(0.005)

    def _drain_recorder_probes(self, restarted: set[str]) -> set[str]:
        """The recorder's side of the handshake; drops what dead incarnations left behind."""
        heard = set()
        for n, sock in self.rec_subs.items():
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                if is_probe(frames):
                    heard.add(n)
                elif n in restarted and n not in heard:
                    self.events.append(Event(self.t_ns, n, "discarded", "unacknowledged output"))
                else:
                    self._rec_held[n].append(frames)
        return heard

    def start(self) -> None:
        for n in self.procs:
            self._spawn(n)
        self._hello(set(self.procs))
        self._sync(set(self.procs))
        self._started = True

    def _restart(self, name: str, why: str) -> None:
        p = self.procs[name]
        if p.popen.poll() is None:
            p.popen.kill()
        p.popen.wait()
        self.events.append(Event(self.t_ns, name, "crashed" if why == "exit" else "hung",
                                 f"returncode {p.popen.returncode}"))
        p.boot += 1
        for q in self.pending[name]:
            self.pending[name][q] = 0
        self._spawn(name)
        self._hello({name})
        self._sync({name})
        self.events.append(Event(self.t_ns, name, "restarted", f"boot {p.boot}"))

    def _check_alive(self) -> None:
        for n, p in self.procs.items():
            if p.popen.poll() is not None:
                self._restart(n, "exit")

    # -- the run ------------------------------------------------------------------------
    def run(self, t_end_ns: int, on_tick: Callable[[int], None] | None = None) -> None:
        """Every tick up to ``t_end_ns``: release, step and record (``_lockstep.run_lockstep``,
        which checks liveness before each tick and hands silences to ``_supervise``)."""
        if not self._started:
            self.start()
        _lockstep.run_lockstep(self, self.schedule, t_end_ns, on_tick)

    def _supervise(self, waiting: list[str], sent_at: float,
                   published: dict[str, int]) -> dict[str, int]:
        """The rest of a tick whose answers are late: wait for ``waiting``, restarting any
        that exits or stays silent past ``step_timeout_s`` since ``sent_at``."""
        lost: dict[str, str] = {}

        def dead_or_hung(waiting):
            for n in waiting:
                if self.procs[n].popen.poll() is not None:
                    lost[n] = "exit"
                elif time.monotonic() - sent_at > self.step_timeout_s:
                    lost[n] = "hang"
            return set(lost)

        for name, msg in self._answers(waiting, math.inf, dead_or_hung).items():
            _lockstep.count_published(name, msg[2], published, self.pending, self.subscribers_of)
        # restarts wait until every other app has answered: the re-admission handshake
        # talks to all of them
        for n, why in lost.items():
            self._restart(n, why)
        return published

    def _record(self, published: dict[str, int]) -> None:
        """Take every message of the tick off the recorder sockets; write them in bus order."""
        msgs = []
        for n, count in published.items():
            held = self._rec_held[n]
            take, self._rec_held[n] = held[:count], held[count:]
            msgs.extend(take)
            count -= len(take)
            sock = self.rec_subs[n]
            while count > 0:
                if not sock.poll(5000):
                    self.events.append(Event(self.t_ns, n, "record_loss", f"{count} messages"))
                    break
                frames = sock.recv_multipart(copy=False)
                if is_probe(frames):
                    continue
                msgs.append(frames)
                count -= 1
        if self.recorder is not None:
            self.recorder.write_tick(msgs)

    def kill(self, name: str) -> None:
        """Kill an app process, as a test or a fault campaign would (SIGKILL)."""
        self.procs[name].popen.kill()

    def close(self) -> None:
        """Stop every app process and release every socket; safe after any failure."""
        alive = [n for n, p in self.procs.items() if p.popen is not None and p.popen.poll() is None]
        asked = []
        for n in alive:
            try:
                self._ask(n, "STOP")
                asked.append(n)
            except (zmq.ZMQError, KeyError):  # no socket yet, or one left mid-request
                pass
        try:
            self._answers(asked, 5.0, lambda waiting: {n for n in waiting
                                                       if self.procs[n].popen.poll() is not None})
        except (LaunchError, zmq.ZMQError):
            pass
        for p in self.procs.values():
            if p.popen is None:
                continue
            try:
                p.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
        if self.recorder is not None:
            self.recorder.close()
        self.ctx.destroy(linger=0)
        shutil.rmtree(self._ipc_dir, ignore_errors=True)
