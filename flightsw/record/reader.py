"""Reading a run folder back: messages one by one, or a topic as numpy arrays."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import msgpack
import numpy as np


class Recording:
    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.schema = msgpack.unpackb((self.run_dir / "schema.msgpack").read_bytes())

    def _stream(self, truth: bool) -> Path:
        return self.run_dir / ("truth.msgpack" if truth else "bus.msgpack")

    def messages(self, truth: bool = False) -> Iterator[list]:
        """Yield ``[topic, [version, seq, t_ns, source], values, blobs]`` in bus order."""
        with open(self._stream(truth), "rb") as f:
            yield from msgpack.Unpacker(f, raw=False, max_buffer_size=1 << 30)

    def topics(self) -> dict[str, int]:
        """Message count per topic, flight and truth."""
        counts: dict[str, int] = {}
        for truth in (False, True):
            for topic, *_ in self.messages(truth):
                counts[topic] = counts.get(topic, 0) + 1
        return counts

    def arrays(self, topic: str) -> dict[str, np.ndarray]:
        """One topic as columns: ``t_ns``, ``seq``, ``source`` and one array per field.

        ``vec`` fields stack to (n, *shape); ``array`` fields stack to (n, *shape)
        when every recorded blob has the same shape, else an object array
        (``None`` where the blob was decimated).
        """
        spec = self.schema[topic]
        rows = [m for m in self.messages(spec["truth"]) if m[0] == topic]
        return _columns(spec, rows)

    def select(self, topics, blobs=()) -> dict[str, dict[str, np.ndarray]]:
        """Several topics as arrays() gives them, in one pass over each stream.

        The messages of other topics are skipped undecoded, which makes this much faster
        than one arrays() per topic on a long run. Pixels are kept only for the topics in
        ``blobs``: the ``array`` fields of the others read ``None`` (as for a decimated
        blob). Every topic gets two more columns: ``offset``, each message's byte offset in
        its stream, for at(); ``blobs``, how many blobs were recorded with it.
        """
        wanted = {t for t in topics if t in self.schema}
        rows: dict[str, list] = {t: [] for t in wanted}
        offsets: dict[str, list] = {t: [] for t in wanted}
        keep_blobs = set(blobs)
        for truth in (False, True):
            if not any(self.schema[t]["truth"] == truth for t in wanted):
                continue
            with open(self._stream(truth), "rb") as f:
                un = msgpack.Unpacker(f, raw=False, max_buffer_size=1 << 30)
                while True:
                    start = un.tell()
                    try:
                        un.read_array_header()
                    except msgpack.OutOfData:
                        break
                    topic = un.unpack()
                    if topic not in wanted:
                        un.skip(), un.skip(), un.skip()
                        continue
                    header, values = un.unpack(), un.unpack()
                    if topic in keep_blobs:
                        row_blobs = un.unpack()
                        n_blobs = len(row_blobs)
                    else:
                        n_blobs = un.read_array_header()
                        for _ in range(n_blobs):
                            un.skip()
                        row_blobs = []
                    rows[topic].append([topic, header, values, row_blobs])
                    offsets[topic].append((start, n_blobs))
        out = {}
        for t in wanted:
            out[t] = _columns(self.schema[t], rows[t])
            where = np.array(offsets[t], dtype=np.int64).reshape(-1, 2)
            out[t]["offset"], out[t]["blobs"] = where[:, 0], where[:, 1]
        return out

    def at(self, topic: str, offsets) -> dict[str, np.ndarray]:
        """The messages of ``topic`` at the byte ``offsets`` select() gave, blobs included,
        as arrays() gives columns."""
        spec = self.schema[topic]
        path = self._stream(spec["truth"])
        rows = []
        with open(path, "rb") as f:
            for offset in offsets:
                f.seek(int(offset))
                row = next(msgpack.Unpacker(f, raw=False, max_buffer_size=1 << 30))
                if row[0] != topic:
                    raise ValueError(f"no {topic} message at offset {offset} of {path}")
                rows.append(row)
        return _columns(spec, rows)


def _columns(spec: dict, rows: list) -> dict[str, np.ndarray]:
    """Recorded messages of one topic as columns (see Recording.arrays)."""
    out: dict[str, np.ndarray] = {
        "t_ns": np.array([r[1][2] for r in rows], dtype=np.int64),
        "seq": np.array([r[1][1] for r in rows], dtype=np.int64),
        "source": np.array([r[1][3] for r in rows], dtype=object),
    }
    for i, (name, kind, _unit, _doc, shape) in enumerate(spec["fields"]):
        values = [r[2][i] for r in rows]
        if kind == "vec":
            out[name] = np.array(values, dtype=np.float64).reshape(len(rows), *shape)
        elif kind == "array":
            out[name] = _stack_blobs(values, [r[3] for r in rows])
        elif kind == "str":
            out[name] = np.array(values, dtype=object)
        else:
            out[name] = np.array(values, dtype={"f64": np.float64, "i64": np.int64,
                                                "bool": bool}[kind])
    return out


def _stack_blobs(descs: list, blobs: list) -> np.ndarray:
    arrays = []
    for (dtype, shape, index), b in zip(descs, blobs):
        arrays.append(np.frombuffer(b[index], dtype=dtype).reshape(shape) if b else None)
    shapes = {a.shape for a in arrays if a is not None}
    if arrays and all(a is not None for a in arrays) and len(shapes) == 1:
        return np.stack(arrays)
    out = np.empty(len(arrays), dtype=object)
    out[:] = arrays
    return out
