"""Benchmark of the message codec against plain msgpack, measured in the same run.

For every registered message type, one valid message (values drawn within the field's
range, vectors as the float64 arrays apps produce, a 1024x1024 frame for the camera) is
encoded and decoded by our codec — envelope and payload, every field validated both ways
— and its same two frames are packed and unpacked by plain ``msgpack.packb`` /
``msgpack.unpackb`` with no validation at all: the floor of any msgpack codec. The two
are timed in short alternating blocks so that both see the same machine load; the figure
of each is the median over blocks of the time per message.

Prints a table (one row per type, then the mean over types), then one JSON object of the
figures as the last line. Target: our encode + decode within 4x of plain msgpack on the
mean over types.
"""
from __future__ import annotations

import argparse
import json
import time

import msgpack
import numpy as np

import flightsw.msg  # noqa: F401  (registers every type)
from flightsw.msg import all_types, decode, encode
from flightsw.msg.schema import Field, Message

FRAME_SHAPE = (1024, 1024)
TARGET_RATIO = 4.0


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


def _plain(header: list, values: list, n: int) -> float:
    packb, unpackb = msgpack.packb, msgpack.unpackb
    t0 = time.perf_counter_ns()
    for seq in range(n):
        header[1] = seq
        unpackb(packb(header), raw=False)
        unpackb(packb(values, use_bin_type=True), raw=False)
    return (time.perf_counter_ns() - t0) / n / 1e3


def measure(cls: type[Message], blocks: int, n: int) -> tuple[float, float]:
    """Median over alternating blocks of (ours, plain) microseconds per message."""
    msg = sample(cls)
    frames = encode(msg, 0, 1_000_000_000, "bench")
    header = msgpack.unpackb(frames[1])
    values = msgpack.unpackb(frames[2], raw=False)
    assert decode(frames)[1] == msg
    ours, plain = [], []
    for _ in range(blocks):
        ours.append(_ours(msg, n))
        plain.append(_plain(header, values, n))
    return float(np.median(ours)), float(np.median(plain))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=9, help="alternating blocks per type")
    ap.add_argument("-n", type=int, default=300, help="messages per block")
    args = ap.parse_args()
    rows = {topic: measure(cls, args.blocks, args.n) for topic, cls in sorted(all_types().items())}
    print(f"{'message (encode + decode, us)':<32}{'ours':>10}{'msgpack':>10}{'ratio':>8}")
    for topic, (ours, plain) in rows.items():
        print(f"{topic:<32}{ours:>10.1f}{plain:>10.1f}{ours / plain:>8.2f}")
    mean_ours = float(np.mean([o for o, _ in rows.values()]))
    mean_plain = float(np.mean([p for _, p in rows.values()]))
    ratio = mean_ours / mean_plain
    print(f"{'mean over types':<32}{mean_ours:>10.1f}{mean_plain:>10.1f}{ratio:>8.2f}"
          f"   target <= {TARGET_RATIO:.1f}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    print(json.dumps({
        "per_type_us": {t: {"ours": round(o, 2), "msgpack": round(p, 2)}
                        for t, (o, p) in rows.items()},
        "mean_ours_us": round(mean_ours, 2), "mean_msgpack_us": round(mean_plain, 2),
        "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO,
        "worst_type_ratio": round(max(o / p for o, p in rows.values()), 2),
    }))


if __name__ == "__main__":
    main()
