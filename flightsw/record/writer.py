"""Recording of every message of a run, in a format that msgpack alone can read.

A run folder holds::

    bus.msgpack     flight messages (everything but plant truth)
    truth.msgpack   plant truth, recorded apart
    damaged.msgpack messages whose header or payload is not one msgpack object (as a link
                    fault leaves them), [topic, header bytes, payload bytes, [blob bytes...]];
                    only when there are any
    schema.msgpack  {topic: {"version": v, "truth": bool, "wall_clock": bool,
                     "fields": [[name, kind, unit, doc, shape], ...]}}

``bus.msgpack`` and ``truth.msgpack`` are a stream of msgpack arrays, one per
message, in bus order (tick, then source, topic, seq)::

    [topic, [version, seq, t_ns, source], [field values...], [blob bytes...]]

The field values are the payload exactly as it travelled (see
:mod:`flightsw.msg.schema` for each kind's form); an ``array`` field's value is
``[dtype, shape, blob index]`` into the last element. Blobs of a topic may be
decimated by ``blobs_every`` (then that list is empty for skipped messages).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgpack

from flightsw.msg import all_types, lookup


def schema_table() -> dict:
    return {
        topic: {
            "version": cls.VERSION, "truth": cls.TRUTH, "wall_clock": cls.WALL_CLOCK,
            "fields": [[f.name, f.kind, f.unit, f.doc, list(f.shape)] for f in cls.FIELDS],
        }
        for topic, cls in sorted(all_types().items())
    }


def _bin_header(n: int) -> bytes:
    """msgpack bin 8/16/32 header, so a blob is written straight from its buffer."""
    if n < 1 << 8:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 1 << 16:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


class Recorder:
    """Appends wire messages to a run folder, one tick at a time, in bus order."""

    def __init__(self, run_dir: Path, blobs_every: dict[str, int] | None = None):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "schema.msgpack").write_bytes(msgpack.packb(schema_table()))
        self._bus = open(self.run_dir / "bus.msgpack", "wb", buffering=1 << 20)
        self._truth = open(self.run_dir / "truth.msgpack", "wb", buffering=1 << 20)
        self._damaged = None
        self._packer = msgpack.Packer(use_bin_type=True)
        self.blobs_every = dict(blobs_every or {})
        self.counts: Counter[str] = Counter()
        self.damaged = 0
        self.latest: dict[str, list | None] = {}

    def watch(self, topics) -> None:
        """Keep the wire frames of the last message of each of ``topics`` in ``latest``
        (``None`` until one is recorded): a live display, such as the progress bar, then
        sees the run in either topology without a subscription of its own."""
        for topic in topics:
            self.latest.setdefault(topic, None)

    def write_tick(self, messages: list) -> None:
        """Record the wire messages of one tick (any order in, bus order out)."""
        keyed, damaged = [], []
        for frames in messages:
            topic = bytes(frames[0])[:-1].decode("ascii")
            try:
                header = msgpack.unpackb(frames[1])
                msgpack.unpackb(frames[2])  # the stream must stay readable: one object each
                key = (int(header[2]), str(header[3]), topic, int(header[1]))
            except Exception:
                damaged.append([topic, *(bytes(memoryview(f)) for f in frames[1:3]),
                                [bytes(memoryview(b)) for b in frames[3:]]])
                continue
            keyed.append((key, topic, frames))
        keyed.sort(key=lambda k: k[0])
        for _, topic, frames in keyed:
            self._write(topic, frames)
        if damaged:
            self._write_damaged(sorted(damaged))

    def _write_damaged(self, damaged: list) -> None:
        if self._damaged is None:
            self._damaged = open(self.run_dir / "damaged.msgpack", "wb")
        for row in damaged:
            self._damaged.write(self._packer.pack(row))
        self.damaged += len(damaged)

    def _write(self, topic: str, frames) -> None:
        cls = lookup(topic)
        out = self._truth if cls is not None and cls.TRUTH else self._bus
        n = self.counts[topic]
        self.counts[topic] += 1
        if topic in self.latest:
            self.latest[topic] = frames
        every = self.blobs_every.get(topic, 1)
        blobs = frames[3:] if every > 0 and n % every == 0 else []
        pack = self._packer.pack
        out.write(self._packer.pack_array_header(4))
        out.write(pack(topic))
        out.write(memoryview(frames[1]))
        out.write(memoryview(frames[2]))
        out.write(self._packer.pack_array_header(len(blobs)))
        for b in blobs:
            mv = memoryview(b).cast("B")
            out.write(_bin_header(mv.nbytes))
            out.write(mv)

    def close(self) -> None:
        self._bus.close()
        self._truth.close()
        if self._damaged is not None:
            self._damaged.close()
