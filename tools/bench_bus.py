"""Benchmark of the ZeroMQ bus against raw pyzmq, measured in the same run.

1. Lockstep cycle (time master -> app -> time master): our launcher stepping one app
   process, tick after tick, against a raw pyzmq REQ/REP round trip carrying the same
   bytes (the STEP command and the DONE reply), in short alternating blocks so both see
   the same machine load, and with both pairs placed alike: all on one core, then (if
   the machine has two) time master and app on different cores. Target: median within
   1.3x of raw in every placement.
2. Camera frame throughput (1024x1024 uint16) over ipc://: our codec and sockets
   (envelope + msgpack payload + the pixels as a separate frame sent without copy,
   validated zero-copy decode at the receiver) against raw pyzmq PUB/SUB sending the
   same buffer without copy, sender and receiver placed alike for both. Target: within
   1.2x of raw.

Prints a table, then one JSON object of the figures as the last line.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

import msgpack
import numpy as np
import zmq

from flightsw.bus.zmq_transport import make_pub, make_sub, send_frames
from flightsw.msg import CameraFrame, Decoder, encode
from flightsw.runtime.app import App
from flightsw.runtime.launcher import ProcessRun
from flightsw.runtime.topology import AppSpec

FRAME_SHAPE = (1024, 1024)
STEP_BYTES = msgpack.packb(["STEP", 123_000_000, {}])
DONE_BYTES = msgpack.packb(["DONE", 123_000_000, {}])


class Idle(App):
    """An app with nothing to do: what is left of a tick is the bus and the runtime."""

    RATE_HZ = 1000.0

    def step(self, t_ns, inbox):
        return []


@contextlib.contextmanager
def on_cpu(cpu: int):
    """Run the block, and the threads and processes it starts, on one CPU.

    Left to the kernel, where a pair of processes lands is a lottery that sticks for
    the run, and it alone moves a round trip by 3x (a wake-up on the same core or on
    another), which would swamp what is compared: so every pair is placed alike.
    ZeroMQ starts a context's threads at its first socket; they, and child processes,
    inherit the affinity of the thread that starts them.
    """
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)


def placements() -> dict[str, tuple[int, int]]:
    """(time master or receiver CPU, app or sender CPU): one core, and two if there are."""
    cpus = sorted(os.sched_getaffinity(0))
    out = {"one core": (cpus[0], cpus[0])}
    if len(cpus) > 1:
        out["two cores"] = (cpus[0], cpus[1])
    return out


# -- lockstep cycle ------------------------------------------------------------------------
def lockstep_cycles_us(n: int, blocks: int, ipc_dir: str,
                       master_cpu: int, app_cpu: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cycle wall times (us) of raw REQ/REP and of our launcher stepping one app.

    Both pairs are placed alike (``on_cpu``): the time master side (this process, raw
    client and our launcher, with their ZeroMQ threads) on ``master_cpu``, the app side
    (the raw server, our node) on ``app_cpu``. The two alternate in ``blocks`` short
    blocks, so that a change of load on a shared machine falls on both alike instead of
    on whichever ran second. The first cycle of every block is a warm-up after the
    switch and is left out, for both.
    """
    per_block = n // blocks
    ep = f"ipc://{ipc_dir}/raw-reqrep-{master_cpu}-{app_cpu}"
    with on_cpu(master_cpu):
        ctx = zmq.Context()
        req = ctx.socket(zmq.REQ)
        run = ProcessRun([AppSpec("idle", "bench_bus:Idle")], seed=0, run_dir=None)
        with on_cpu(app_cpu):
            server = subprocess.Popen([sys.executable, __file__, "--role", "rep",
                                       "--endpoint", ep, "--n", str(per_block * blocks)])
            run.start()
        req.connect(ep)
        raw, ours = [], []
        last = [0]

        def on_tick(_t):
            now = time.perf_counter_ns()
            ours.append((now - last[0]) / 1e3)
            last[0] = now

        try:
            t_end = 0
            for _ in range(blocks):
                n_before = len(raw)
                for _ in range(per_block):
                    t0 = time.perf_counter_ns()
                    req.send(STEP_BYTES)
                    req.recv()
                    raw.append((time.perf_counter_ns() - t0) / 1e3)
                del raw[n_before]
                last[0] = time.perf_counter_ns()
                n_before = len(ours)
                run.run(t_end + per_block * 1_000_000, on_tick=on_tick)
                t_end += per_block * 1_000_000
                del ours[n_before]
        finally:
            run.close()
            server.wait()
            ctx.destroy(linger=0)
    return np.array(raw), np.array(ours)


def serve_rep(endpoint: str, n: int) -> None:
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.bind(endpoint)
    for _ in range(n):
        msgpack.unpackb(rep.recv())
        rep.send(DONE_BYTES)
    ctx.destroy(linger=1000)


# -- frame throughput --------------------------------------------------------------------------
def frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 4096, FRAME_SHAPE, dtype=np.uint16)


def publish_frames(endpoint: str, n: int, kind: str) -> None:
    """Sender process: wait for the subscriber's go, then send n frames as fast as accepted."""
    ctx = zmq.Context()
    img = frame()
    if kind == "ours":
        pub = make_pub(ctx, endpoint, hwm=16)
    else:
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.SNDHWM, 16)
        pub.setsockopt(zmq.XPUB_NODROP, 1)
        pub.bind(endpoint)
    go = ctx.socket(zmq.PULL)
    go.bind(endpoint + ".go")
    while not go.poll(10):  # the subscriber says go once it hears our probes
        send_frames(pub, [b"_sync\0", b""]) if kind == "ours" else pub.send(b"_sync")
    go.recv()
    for i in range(n):
        if kind == "ours":
            msg = CameraFrame(frame_id=i, t_exposure_start_ns=i, exposure_s=0.1,
                              gain_e_per_dn=2.0, image=img)
            frames = encode(msg, i, i, "camera")
            while not send_frames(pub, frames):
                time.sleep(0)
        else:
            while True:
                try:
                    pub.send(img, zmq.NOBLOCK, copy=False)
                    break
                except zmq.Again:
                    time.sleep(0)
    time.sleep(0.5)
    ctx.destroy(linger=2000)


def receive_frames(n: int, kind: str, ipc_dir: str, recv_cpu: int, send_cpu: int) -> float:
    """Frames per second at the subscriber (on ``recv_cpu``, the sender on ``send_cpu``)."""
    ep = f"ipc://{ipc_dir}/frames-{kind}"
    with on_cpu(send_cpu):
        sender = subprocess.Popen([sys.executable, __file__, "--role", f"pub-{kind}",
                                   "--endpoint", ep, "--n", str(n)])
    with on_cpu(recv_cpu):
        return _receive(n, kind, ep, sender)


def _receive(n: int, kind: str, ep: str, sender: subprocess.Popen) -> float:
    """First frame to last."""
    ctx = zmq.Context()
    if kind == "ours":
        sub = make_sub(ctx, ep, ["sensor.camera.frame"], hwm=16)
    else:
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 16)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(ep)
    while True:  # subscription handshake: wait for a probe, then say go
        if bytes(sub.recv_multipart(copy=False)[0]).startswith(b"_sync"):
            break
    go = ctx.socket(zmq.PUSH)
    go.connect(ep + ".go")
    go.send(b"go")
    decoder = Decoder()
    got = 0
    checksum = 0
    while got < n:
        frames = sub.recv_multipart(copy=False)
        if bytes(frames[0]).startswith(b"_sync"):
            continue
        if got == 0:
            t0 = time.perf_counter()
        if kind == "ours":
            _env, msg = decoder(frames)
            img = msg.image
        else:
            img = np.frombuffer(frames[0].buffer, dtype=np.uint16).reshape(FRAME_SHAPE)
        checksum += int(img[512, 512])
        got += 1
    dt = time.perf_counter() - t0
    sender.wait()
    ctx.destroy(linger=0)
    assert decoder.n_rejected == 0
    return (n - 1) / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", default="main")
    ap.add_argument("--endpoint", default="")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--cycles", type=int, default=20000)
    ap.add_argument("--blocks", type=int, default=100, help="alternations of raw and ours")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--frame-runs", type=int, default=6)
    args = ap.parse_args()
    if args.role == "rep":
        return serve_rep(args.endpoint, args.n)
    if args.role.startswith("pub-"):
        return publish_frames(args.endpoint, args.n, args.role[4:])

    ipc_dir = tempfile.mkdtemp(prefix="rpo-bench-")
    fig = {}
    rows = []
    for place, (master_cpu, app_cpu) in placements().items():
        raw_cycle, our_cycle = lockstep_cycles_us(args.cycles, args.blocks, ipc_dir,
                                                  master_cpu, app_cpu)
        key = "" if place == "one core" else "_2core"
        fig[f"cycle_median_us{key}"] = float(np.median(our_cycle))
        fig[f"cycle_p99_us{key}"] = float(np.percentile(our_cycle, 99))
        fig[f"raw_reqrep_median_us{key}"] = float(np.median(raw_cycle))
        fig[f"raw_reqrep_p99_us{key}"] = float(np.percentile(raw_cycle, 99))
        fig[f"cycle_ratio{key}"] = fig[f"cycle_median_us{key}"] / fig[f"raw_reqrep_median_us{key}"]
        rows.append((place, key))
    # alternate the two, several times, and compare medians: a shared machine's load drifts;
    # sender and receiver on different cores where there are two, as a camera pipeline runs
    recv_cpu, send_cpu = list(placements().values())[-1]
    raw_runs, our_runs = [], []
    for _ in range(args.frame_runs):
        raw_runs.append(receive_frames(args.frames, "raw", ipc_dir, recv_cpu, send_cpu))
        our_runs.append(receive_frames(args.frames, "ours", ipc_dir, recv_cpu, send_cpu))
    raw_fps, our_fps = float(np.median(raw_runs)), float(np.median(our_runs))

    mb = FRAME_SHAPE[0] * FRAME_SHAPE[1] * 2 / 1e6
    fig["frames_per_s"] = our_fps
    fig["raw_frames_per_s"] = raw_fps
    fig["frame_slowdown"] = raw_fps / our_fps
    fig["cycle_target_met"] = all(fig[f"cycle_ratio{key}"] <= 1.3 for _, key in rows)
    fig["frame_target_met"] = fig["frame_slowdown"] <= 1.2
    print(f"{'measure':<44}{'ours':>12}{'raw pyzmq':>12}{'ratio':>8}{'target':>8}")
    for place, key in rows:
        print(f"{f'lockstep cycle median, {place} (us)':<44}{fig[f'cycle_median_us{key}']:>12.1f}"
              f"{fig[f'raw_reqrep_median_us{key}']:>12.1f}{fig[f'cycle_ratio{key}']:>8.2f}"
              f"{'<=1.3':>8}")
        print(f"{f'lockstep cycle p99, {place} (us)':<44}{fig[f'cycle_p99_us{key}']:>12.1f}"
              f"{fig[f'raw_reqrep_p99_us{key}']:>12.1f}"
              f"{fig[f'cycle_p99_us{key}'] / fig[f'raw_reqrep_p99_us{key}']:>8.2f}{'':>8}")
    print(f"{'1024x1024 uint16 frames/s over ipc':<44}{our_fps:>12.0f}{raw_fps:>12.0f}"
          f"{fig['frame_slowdown']:>8.2f}{'<=1.2':>8}")
    print(f"{'  (MB/s)':<44}{our_fps * mb:>12.0f}{raw_fps * mb:>12.0f}")
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in fig.items()}))


if __name__ == "__main__":
    main()
