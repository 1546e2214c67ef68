"""One app in its own process, on the ZeroMQ bus, stepping when the time master says.

Started by the launcher as ``python -m flightsw.runtime.node '<json config>'``;
the config names the app, its class, parameters and telemetry period, its
boot count, its control endpoint (a REP socket the launcher's REQ talks to), its
own PUB endpoint and, for each publisher it listens to, that publisher's endpoint
and the topics wanted from it.
"""
from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import time
from collections import deque

import msgpack
import zmq

from flightsw.bus.zmq_transport import is_probe, make_pub, make_sub, send_frames
from flightsw.native import require
from flightsw.runtime.runner import AppRunner
from flightsw.runtime.topology import AppSpec

COLLECT_TIMEOUT_S = 5.0
ORPHAN_CHECK_MS = 1000

_lockstep = require("flightsw.runtime._lockstep")


class Node:
    def __init__(self, cfg: dict):
        spec = AppSpec(cfg["name"], cfg["cls"], cfg.get("params", {}), cfg.get("rate_hz"),
                       cfg["telemetry_period_s"])
        self.name = spec.name
        self.runner = AppRunner(spec.build(cfg["seed"]), boot=cfg["boot"],
                                report_period_ns=spec.telemetry_period_ns,
                                deadline_ns=cfg.get("deadline_ns"))
        self.ctx = zmq.Context()
        hwm = cfg.get("hwm", 1000)
        self.pub = make_pub(self.ctx, cfg["pub"], hwm)
        self.subs = {p: make_sub(self.ctx, ep, topics, hwm)
                     for p, (ep, topics) in sorted(cfg["publishers"].items())}
        self.by_socket = {s: p for p, s in self.subs.items()}
        self.held = {p: deque() for p in self.subs}
        self.ctl = self.ctx.socket(zmq.REP)
        self.ctl.setsockopt(zmq.LINGER, 1000)
        self.ctl.setsockopt(zmq.RCVTIMEO, ORPHAN_CHECK_MS)
        self.launcher_pid = os.getppid()
        self.ctl.bind(cfg["control"])
        self.poller = zmq.Poller()
        for s in self.subs.values():
            self.poller.register(s, zmq.POLLIN)
        self._seen: set[str] = set()
        self._flush: dict[str, int] = {}

    def reply(self, *msg) -> None:
        self.ctl.send(msgpack.packb(msg))

    # -- handshake ----------------------------------------------------------------
    def on_sync(self, rnd: int, keep: dict) -> None:
        if rnd == 0:
            self._seen = set()
            self._flush = {p: n for p, n in keep.items() if p in self.subs}
        send_frames(self.pub, [b"_sync\0", msgpack.packb([rnd, self.name])])
        for p, sock in self.subs.items():
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                self._sort_during_sync(p, frames)
        self.reply("SYNCED", rnd, sorted(self._seen))

    def _sort_during_sync(self, p: str, frames) -> None:
        if is_probe(frames):
            self._seen.add(p)
            self._flush.pop(p, None)
        elif p in self._flush:
            # Messages of a restarted publisher that precede its first probe: the first
            # `keep` were acknowledged by the launcher (valid), the rest are what the
            # dead incarnation sent after its last acknowledged step.
            if self._flush[p] > 0:
                self._flush[p] -= 1
                self.held[p].append(frames)
            else:
                self.runner.inputs_dropped += 1
        else:
            self.held[p].append(frames)

    # -- a step -------------------------------------------------------------------
    def collect(self, expect: dict) -> list:
        """Exactly the expected number of data messages from each publisher."""
        if not expect:
            return []
        raw = []
        need = {}
        for p, n in expect.items():
            held = self.held.get(p)
            if held is None:
                continue
            while n and held:
                raw.append(held.popleft())
                n -= 1
            if n:
                need[p] = n
        deadline = time.monotonic() + COLLECT_TIMEOUT_S
        while need:
            for p in list(need):
                sock = self.subs[p]
                while need.get(p):
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    if is_probe(frames):
                        continue
                    raw.append(frames)
                    need[p] -= 1
                if not need[p]:
                    del need[p]
            if not need:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.runner.inputs_dropped += sum(need.values())
                break
            self.poller.poll(min(remaining, 0.1) * 1000)
        return raw

    def serve(self) -> None:
        """Answer the launcher until it says STOP or dies (``_lockstep.serve``: STEP is
        the hot path; the handshake requests come back to ``on_sync`` and ``reply``)."""
        _lockstep.serve(self)
        self.pub.close(linger=1000)
        self.ctx.destroy(linger=0)


def main(argv: list[str] | None = None) -> None:
    # An operator (or the launcher) can ask a hung app where it is: kill -USR1 <pid>.
    faulthandler.register(signal.SIGUSR1)
    argv = sys.argv[1:] if argv is None else argv
    Node(json.loads(argv[0])).serve()


if __name__ == "__main__":
    main()
