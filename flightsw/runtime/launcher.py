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

from flightsw.bus.zmq_transport import endpoints, is_probe, make_sub
from flightsw.record import Recorder
from flightsw.runtime.schedule import Schedule
from flightsw.runtime.topology import AppSpec, check_topology

RUNTIME_TOPICS = ("health.app", "health.app_timing")
RECV_SLICE_MS = 50  # how often a wait for a node wakes to check on the node processes


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
        self.control_ep, self.pub_eps = endpoints(transport, [s.name for s in specs], self._ipc_dir)
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
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.setsockopt(zmq.RCVTIMEO, RECV_SLICE_MS)
        self.router.bind(self.control_ep)
        self.rec_subs = {n: make_sub(self.ctx, ep, None, hwm) for n, ep in self.pub_eps.items()}
        self.t_ns = 0
        self._started = False
        self._control_held: list = []
        self._rec_held: dict[str, list] = defaultdict(list)

    # -- processes --------------------------------------------------------------------
    def _node_config(self, name: str) -> str:
        p = self.procs[name]
        return json.dumps({
            "name": name, "cls": p.spec.cls, "params": p.spec.params, "rate_hz": p.spec.rate_hz,
            "seed": self.seed, "boot": p.boot, "control": self.control_ep,
            "pub": self.pub_eps[name], "hwm": self.hwm,
            "deadline_ns": int(p.period_ns / self.pace) if self.pace else None,
            "publishers": {q: [self.pub_eps[q], topics] for q, topics in p.publishers.items()},
        })

    def _spawn(self, name: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.procs[name].popen = subprocess.Popen(
            [sys.executable, "-m", "flightsw.runtime.node", self._node_config(name)], env=env)

    def _recv(self, timeout_s: float, kind: str) -> tuple[str, list] | None:
        """The next control message of ``kind``; others are kept for whoever waits for them."""
        for i, (name, msg) in enumerate(self._control_held):
            if msg[0] == kind:
                del self._control_held[i]
                return name, msg
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                # a blocking receive bounded by RCVTIMEO: cheaper than poll-then-receive,
                # which matters on the lockstep path
                ident, payload = self.router.recv_multipart()
            except zmq.Again:
                if time.monotonic() >= deadline:
                    return None
                continue
            name, msg = self._names.get(ident) or ident.decode(), msgpack.unpackb(payload)
            if msg[0] == kind:
                return name, msg
            self._control_held.append((name, msg))

    def _send(self, name: str, *msg) -> None:
        self.router.send_multipart([self._ident[name], msgpack.packb(msg)])

    def _await_hellos(self, names: set[str], timeout_s: float = 60.0) -> None:
        waiting = set(names)
        deadline = time.monotonic() + timeout_s
        while waiting:
            got = self._recv(0.1, "HELLO")
            if got:
                waiting.discard(got[0])
            for n in list(waiting):
                if self.procs[n].popen.poll() is not None:
                    raise LaunchError(f"app {n} exited with {self.procs[n].popen.returncode} "
                                      "before it said hello")
            if time.monotonic() > deadline:
                raise LaunchError(f"no hello from {sorted(waiting)}")

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
                self._send(n, "SYNC", rnd, keep.get(n, {}))
            synced: dict[str, set] = {}
            while len(synced) < len(self.procs):
                got = self._recv(5.0, "SYNCED")
                if got is None:
                    raise LaunchError("sync: a node did not answer")
                name, msg = got
                if msg[1] == rnd:
                    synced[name] = set(msg[2])
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
        self._await_hellos(set(self.procs))
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
        self._await_hellos({name})
        self._sync({name})
        self.events.append(Event(self.t_ns, name, "restarted", f"boot {p.boot}"))

    def _check_alive(self) -> None:
        for n, p in self.procs.items():
            if p.popen.poll() is not None:
                self._restart(n, "exit")

    # -- the run ------------------------------------------------------------------------
    def run(self, t_end_ns: int, on_tick: Callable[[int], None] | None = None) -> None:
        if not self._started:
            self.start()
        wall0 = time.monotonic()
        t0 = self.schedule.next_tick()
        last_check = time.monotonic()
        while self.schedule.next_tick() <= t_end_ns:
            t, due = self.schedule.pop_due()
            if self.pace:
                delay = wall0 + (t - t0) / 1e9 / self.pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if time.monotonic() - last_check > 0.2:
                self._check_alive()
                last_check = time.monotonic()
            published = self._tick(t, due)
            self._record(published)
            self.t_ns = t
            if on_tick is not None:
                on_tick(t)

    def _tick(self, t: int, due: list[str]) -> dict[str, int]:
        """Step the released apps; return how many messages each published."""
        sent_at = time.monotonic()
        for n in due:
            expect = {q: c for q, c in self.pending[n].items() if c}
            try:
                self._send(n, "STEP", t, expect)
            except zmq.ZMQError:  # the app's process is gone (ROUTER_MANDATORY)
                self._restart(n, "exit")
                self._send(n, "STEP", t, {})
            self.pending[n].clear()
        waiting = set(due)
        published: dict[str, int] = {}
        while waiting:
            got = self._recv(0.1, "DONE")
            if got is None:
                for n in list(waiting):
                    p = self.procs[n].popen
                    if p.poll() is not None:
                        waiting.discard(n)
                        self._restart(n, "exit")
                    elif time.monotonic() - sent_at > self.step_timeout_s:
                        waiting.discard(n)
                        self._restart(n, "hang")
                continue
            name, msg = got
            if name not in waiting or msg[1] != t:
                continue
            waiting.discard(name)
            counts = msg[2]
            published[name] = sum(counts.values())
            for topic, c in counts.items():
                for s in self.subscribers_of.get(topic, ()):
                    self.pending[s][name] += c
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
        for n, p in self.procs.items():
            if p.popen is not None and p.popen.poll() is None:
                try:
                    self._send(n, "STOP")
                except zmq.ZMQError:
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
        for s in self.rec_subs.values():
            s.close(linger=0)
        self.router.close(linger=0)
        self.ctx.term()
        shutil.rmtree(self._ipc_dir, ignore_errors=True)
