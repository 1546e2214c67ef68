"""ZeroMQ transport: the data plane and the lockstep control plane shared by launcher and nodes.

Data plane: every app process binds one PUB socket; a subscriber opens one SUB
socket per publisher it listens to (so a message is attributed to its sender
even if its header is garbage), subscribed to exactly the topics it wants.
Topic frames are NUL-terminated, so prefix matching is exact matching. Camera
pixels travel as separate frames sent without copy.

Flow control is explicit: send and receive high-water marks are set on every
socket, the PUB socket never silently drops (``XPUB_NODROP``) but refuses to
queue past its mark, and every refusal is counted as an output drop that the
app's health telemetry reports.

Control plane: each node binds a REP socket; the launcher holds one REQ socket per
node, so every exchange is a request and its reply — the same pattern, and the same
cost, as the raw REQ/REP baseline of ``tools/bench_bus.py``. Messages are msgpack
arrays:

=========================================  =========================================
launcher asks                              node answers
=========================================  =========================================
``["HELLO"]``                              ``["HELLO", name, boot, pid]``
``["SYNC", round, {publisher: keep}]``     ``["SYNCED", round, [publishers seen]]``:
                                           publish a probe, report the probes seen
                                           since the sync began; keep only ``keep``
                                           queued messages of a restarted publisher
``["STEP", t_ns, {publisher: n}]``         ``["DONE", t_ns, {topic: n}]``: consume n
                                           messages from each publisher, step,
                                           publish n on each topic
``["STOP"]``                               ``["BYE"]``, then exit
=========================================  =========================================

The SYNC rounds are the subscription handshake (no slow-joiner loss): the run
starts only when every subscriber has received a probe through every
publisher it listens to, and the same handshake re-admits a restarted app.
"""
from __future__ import annotations

import zmq

SYNC_TOPIC = b"_sync\0"
DEFAULT_HWM = 1000


def make_pub(ctx: zmq.Context, endpoint: str, hwm: int = DEFAULT_HWM) -> zmq.Socket:
    sock = ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.XPUB_NODROP, 1)
    sock.setsockopt(zmq.LINGER, 1000)
    sock.bind(endpoint)
    return sock


def make_sub(ctx: zmq.Context, endpoint: str, topics, hwm: int = DEFAULT_HWM) -> zmq.Socket:
    """A SUB socket on one publisher: exact subscriptions to ``topics`` plus the sync probe.

    ``topics=None`` subscribes to everything (the recorder).
    """
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, hwm)
    sock.setsockopt(zmq.LINGER, 0)
    if topics is None:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    else:
        for t in [*topics]:
            sock.setsockopt(zmq.SUBSCRIBE, t.encode("ascii") + b"\0")
        sock.setsockopt(zmq.SUBSCRIBE, SYNC_TOPIC)
    sock.connect(endpoint)
    return sock


def send_frames(sock: zmq.Socket, frames) -> bool:
    """Queue one message without blocking; False if the high-water mark refused it.

    Small frames are copied (cheaper than tracking them); large buffers go without copy.
    A multipart message is queued atomically, so only the first part can be refused.
    """
    last = len(frames) - 1
    try:
        sock.send(frames[0], zmq.SNDMORE | zmq.NOBLOCK)
    except zmq.Again:
        return False
    for i in range(1, last + 1):
        f = frames[i]
        big = not isinstance(f, bytes) and memoryview(f).nbytes > 65536
        sock.send(f, 0 if i == last else zmq.SNDMORE, copy=not big)
    return True


def is_probe(frames) -> bool:
    return bytes(frames[0]) == SYNC_TOPIC


def endpoints(transport: str, names: list[str], ipc_dir: str) -> dict[str, tuple[str, str]]:
    """(control endpoint, PUB endpoint) of each app.

    ``transport`` is ``"ipc"`` (files in ``ipc_dir``) or ``"tcp://HOST:PORT"``: the apps,
    in name order, take PORT, PORT+1 (the first), PORT+2, PORT+3 (the second), and so on.
    """
    if transport == "ipc":
        return {n: (f"ipc://{ipc_dir}/{n}.ctl", f"ipc://{ipc_dir}/{n}.pub") for n in names}
    if transport.startswith("tcp://"):
        host, _, port = transport[len("tcp://"):].rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"tcp transport must be tcp://HOST:PORT, got {transport!r}")
        base = int(port)
        return {n: (f"tcp://{host}:{base + 2 * i}", f"tcp://{host}:{base + 2 * i + 1}")
                for i, n in enumerate(sorted(names))}
    raise ValueError(f"transport must be 'ipc' or 'tcp://HOST:PORT', got {transport!r}")
