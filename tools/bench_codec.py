"""Benchmark of the message codec against plain msgpack and the reference codec, in one run.

For every registered message type, one valid message (values drawn within the field's
range, vectors as the float64 arrays apps produce, a 1024x1024 frame for the camera) is
encoded and decoded, envelope and payload, three ways:

* ours: ``encode`` / ``decode``, every field validated both ways through the type's plan;
* reference: the same validation by the per-kind checks alone
  (``flightsw.msg.reference_codec``, which is what the codec did before its plans);
* msgpack: the same two frames packed and unpacked by plain ``msgpack.packb`` /
  ``msgpack.unpackb``, with no validation at all: the floor of any msgpack codec.

The three are timed in short alternating blocks so that all see the same machine load;
the figure of each is the median over blocks of the time per message. Prints a table (one
row per type, then the mean over types), then one JSON object of the figures as the last
line. Target: ours at least 3x faster than the reference on the mean over types.
"""
from __future__ import annotations

import argparse
import json
import time

import msgpack
import numpy as np

from flightsw.msg import all_types, decode, encode, reference_codec
from flightsw.msg.codec import decode_envelope, topic_frame
from flightsw.msg.schema import Field, Message

FRAME_SHAPE = (1024, 1024)
TARGET_SPEEDUP = 3.0


def _value(f: Field, rng: np.random.Generator):
    """A valid value of field ``f``, of the Python/numpy type an app would produce."""
    lo = -1e3 if f.lo is None else max(f.lo, -1e3)
    hi = 1e3 if f.hi is None else min(f.hi, 1e3)
    if f.kind == "f64":
        return float(rng.uniform(lo, hi))
    if f.kind == "i64":
        return int(rng.integers(int(max(lo, 0)), int(hi) + 1))
    if f.kind == "bool":
        return bool(rng.integers(2))
    if f.kind == "str":
        return f.choices[0] if f.choices else "x" * min(f.max_len, 12)
    if f.kind == "vec":
        return rng.uniform(lo, hi, size=f.shape)
    shape = tuple(min(n, m) for n, m in zip(FRAME_SHAPE, f.max_shape))
    return rng.integers(0, 4096, size=shape).astype(np.dtype(f.dtypes[0]))


def sample(cls: type[Message], seed: int = 0) -> Message:
    rng = np.random.default_rng(seed)
    return cls(**{f.name: _value(f, rng) for f in cls.FIELDS})


def _ours(msg: Message, n: int) -> float:
    t0 = time.perf_counter_ns()
    for seq in range(n):
        decode(encode(msg, seq, 1_000_000_000, "bench"))
    return (time.perf_counter_ns() - t0) / n / 1e3


def _reference(msg: Message, n: int) -> float:
    cls = type(msg)
    topic = topic_frame(cls.TOPIC)
    t0 = time.perf_counter_ns()
    for seq in range(n):
        payload, blobs = reference_codec.encode_payload(msg)
        header = msgpack.packb([cls.VERSION, seq, 1_000_000_000, "bench"])
        frames = [topic, header, payload, *blobs]
        _env, got = decode_envelope(frames)
        reference_codec.decode_payload(got, frames[2], frames[3:])
    return (time.perf_counter_ns() - t0) / n / 1e3


def _plain(header: list, values: list, n: int) -> float:
    packb, unpackb = msgpack.packb, msgpack.unpackb
    t0 = time.perf_counter_ns()
    for seq in range(n):
        header[1] = seq
        unpackb(packb(header), raw=False)
        unpackb(packb(values, use_bin_type=True), raw=False)
    return (time.perf_counter_ns() - t0) / n / 1e3


def measure(cls: type[Message], blocks: int, n: int) -> tuple[float, float, float]:
    """Median over alternating blocks of (ours, reference, plain) microseconds per message."""
    msg = sample(cls)
    frames = encode(msg, 0, 1_000_000_000, "bench")
    header = msgpack.unpackb(frames[1])
    values = msgpack.unpackb(frames[2], raw=False)
    assert decode(frames)[1] == msg
    ours, ref, plain = [], [], []
    for _ in range(blocks):
        ours.append(_ours(msg, n))
        ref.append(_reference(msg, n))
        plain.append(_plain(header, values, n))
    return float(np.median(ours)), float(np.median(ref)), float(np.median(plain))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=9, help="alternating blocks per type")
    ap.add_argument("-n", type=int, default=300, help="messages per block")
    args = ap.parse_args()
    rows = {topic: measure(cls, args.blocks, args.n) for topic, cls in sorted(all_types().items())}
    print(f"{'encode + decode (us/message)':<30}{'ours':>8}{'reference':>11}{'msgpack':>9}"
          f"{'ref/ours':>10}{'ours/msgpack':>14}")
    for topic, (ours, ref, plain) in rows.items():
        print(f"{topic:<30}{ours:>8.1f}{ref:>11.1f}{plain:>9.1f}{ref / ours:>10.2f}"
              f"{ours / plain:>14.2f}")
    mean_ours, mean_ref, mean_plain = (float(np.mean(col)) for col in zip(*rows.values()))
    speedup = mean_ref / mean_ours
    print(f"{'mean over types':<30}{mean_ours:>8.1f}{mean_ref:>11.1f}{mean_plain:>9.1f}"
          f"{speedup:>10.2f}{mean_ours / mean_plain:>14.2f}")
    print(f"target: ours >= {TARGET_SPEEDUP:.1f}x faster than the reference on the mean: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}")
    print(json.dumps({
        "per_type_us": {t: {"ours": round(o, 2), "reference": round(r, 2), "msgpack": round(p, 2)}
                        for t, (o, r, p) in rows.items()},
        "mean_ours_us": round(mean_ours, 2), "mean_reference_us": round(mean_ref, 2),
        "mean_msgpack_us": round(mean_plain, 2), "speedup_vs_reference": round(speedup, 2),
        "ratio_vs_msgpack": round(mean_ours / mean_plain, 2),
        "min_type_speedup": round(min(r / o for o, r, _ in rows.values()), 2),
        "target_speedup": TARGET_SPEEDUP, "target_met": speedup >= TARGET_SPEEDUP,
    }))


if __name__ == "__main__":
    main()
