"""Wire encoding and validating decode of messages.

On the wire a message is a list of frames::

    [topic + b"\\0", header, payload, blob_0, blob_1, ...]

* ``topic``: ASCII topic name, NUL-terminated so that a ZeroMQ prefix
  subscription matches exactly one topic;
* ``header``: msgpack array ``[version, seq, t_ns, source]`` (the envelope);
* ``payload``: msgpack array of the field values in declared order (see
  :mod:`flightsw.msg.schema` for each kind's wire form);
* ``blob_i``: raw bytes of the i-th ``array`` field (C order), sent without copy.

Decoding validates everything and raises :class:`MessageError` with one of a
small, fixed set of reasons; :class:`Decoder` turns those into counters so a
bad message is counted and dropped and never reaches an app.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, NamedTuple, Sequence

import msgpack
import numpy as np

from flightsw.msg.registry import lookup
from flightsw.msg.schema import Field, Message

MAX_SOURCE_LEN = 32
MAX_T_NS = 2**63 - 1
REASONS = ("malformed", "unknown_topic", "wrong_version", "wrong_type", "out_of_range", "bad_array")


class Envelope(NamedTuple):
    """Routing facts of a message: what, which schema, which one, when (sim ns), from whom."""

    topic: str
    version: int
    seq: int
    t_ns: int
    source: str


class MessageError(ValueError):
    """A message that does not satisfy its contract. ``reason`` is one of REASONS."""

    def __init__(self, reason: str, detail: str):
        assert reason in REASONS
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def topic_frame(topic: str) -> bytes:
    return topic.encode("ascii") + b"\0"


# -- field checks, one per kind ------------------------------------------------------
def _check_range(f: Field, x: float) -> None:
    if f.lo is not None and x < f.lo or f.hi is not None and x > f.hi:
        raise MessageError("out_of_range", f"{f.name}={x!r} outside [{f.lo}, {f.hi}] {f.unit}")


def _check_f64(f: Field, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (float, int)):
        raise MessageError("wrong_type", f"{f.name} must be a number, got {type(v).__name__}")
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        if not f.allow_nan:
            raise MessageError("out_of_range", f"{f.name} is not finite")
        return v
    _check_range(f, v)
    return v


def _check_i64(f: Field, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise MessageError("wrong_type", f"{f.name} must be an integer, got {type(v).__name__}")
    _check_range(f, v)
    return v


def _check_bool(f: Field, v: Any) -> bool:
    if not isinstance(v, bool):
        raise MessageError("wrong_type", f"{f.name} must be a bool, got {type(v).__name__}")
    return v


def _check_str(f: Field, v: Any) -> str:
    if not isinstance(v, str):
        raise MessageError("wrong_type", f"{f.name} must be a string, got {type(v).__name__}")
    if len(v) > f.max_len:
        raise MessageError("out_of_range", f"{f.name} longer than {f.max_len}")
    if f.choices and v not in f.choices:
        raise MessageError("out_of_range", f"{f.name}={v!r} not one of {f.choices}")
    return v


def _check_vec(f: Field, v: Any) -> np.ndarray:
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "fiu":
            raise MessageError("wrong_type", f"{f.name} must be numeric, got {v.dtype}")
        if v.size != f.size or (v.ndim > 1 and v.shape != f.shape):
            raise MessageError("wrong_type", f"{f.name} must have shape {f.shape}, got {v.shape}")
        a = v.astype(np.float64).reshape(f.shape)
    elif isinstance(v, (list, tuple)):
        if len(v) != f.size or not all(
            isinstance(x, (float, int)) and not isinstance(x, bool) for x in v
        ):
            raise MessageError("wrong_type", f"{f.name} must be a flat list of {f.size} numbers")
        a = np.array(v, dtype=np.float64).reshape(f.shape)
    else:
        raise MessageError("wrong_type", f"{f.name} must be a list or ndarray")
    if not f.allow_nan and not np.isfinite(a).all():
        raise MessageError("out_of_range", f"{f.name} has non-finite elements")
    if (f.lo is not None and (a < f.lo).any()) or (f.hi is not None and (a > f.hi).any()):
        raise MessageError("out_of_range", f"{f.name} outside [{f.lo}, {f.hi}] {f.unit}")
    return a


def _check_array_shape(f: Field, dtype: np.dtype, shape: tuple) -> None:
    if dtype.str not in f.dtypes and dtype.name not in f.dtypes:
        raise MessageError("bad_array", f"{f.name} dtype {dtype} not one of {f.dtypes}")
    if len(shape) != len(f.max_shape) or any(not 0 <= n <= m for n, m in zip(shape, f.max_shape)):
        raise MessageError("bad_array", f"{f.name} shape {shape} exceeds {f.max_shape}")


_SCALAR_CHECKS = {"f64": _check_f64, "i64": _check_i64, "bool": _check_bool, "str": _check_str}


# -- encode ----------------------------------------------------------------------------
def encode_payload(msg: Message) -> tuple[bytes, list]:
    """Validate ``msg`` against its type and return (payload bytes, blob buffers)."""
    values: list[Any] = []
    blobs: list = []
    for f in type(msg).FIELDS:
        v = getattr(msg, f.name)
        if f.kind == "vec":
            values.append(_check_vec(f, v).ravel().tolist())
        elif f.kind == "array":
            if not isinstance(v, np.ndarray):
                raise MessageError("bad_array", f"{f.name} must be an ndarray")
            _check_array_shape(f, v.dtype, v.shape)
            a = np.ascontiguousarray(v)
            values.append([a.dtype.str, list(a.shape), len(blobs)])
            blobs.append(memoryview(a).cast("B"))
        else:
            check = _SCALAR_CHECKS[f.kind]
            values.append(check(f, v.item() if isinstance(v, np.generic) else v))
    return msgpack.packb(values, use_bin_type=True), blobs


def encode(msg: Message, seq: int, t_ns: int, source: str) -> list:
    """The wire frames of ``msg`` (raises MessageError if it breaks its contract)."""
    cls = type(msg)
    payload, blobs = encode_payload(msg)
    header = msgpack.packb([cls.VERSION, seq, t_ns, source])
    return [topic_frame(cls.TOPIC), header, payload, *blobs]


# -- decode ----------------------------------------------------------------------------
def _buffer(frame) -> memoryview:
    return frame if isinstance(frame, memoryview) else memoryview(frame)


def decode_envelope(frames: Sequence) -> tuple[Envelope, type]:
    """Validate the topic and header frames; return the envelope and the message type."""
    if len(frames) < 3:
        raise MessageError("malformed", f"{len(frames)} frames, need at least 3")
    raw_topic = bytes(_buffer(frames[0]))
    if not raw_topic.endswith(b"\0"):
        raise MessageError("malformed", "topic frame not NUL-terminated")
    try:
        topic = raw_topic[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise MessageError("malformed", "topic is not ASCII") from None
    cls = lookup(topic)
    if cls is None:
        raise MessageError("unknown_topic", repr(topic))
    try:
        header = msgpack.unpackb(_buffer(frames[1]), raw=False, strict_map_key=True)
    except Exception as exc:
        raise MessageError("malformed", f"header: {type(exc).__name__}") from None
    if not isinstance(header, list) or len(header) != 4:
        raise MessageError("malformed", "header must be [version, seq, t_ns, source]")
    version, seq, t_ns, source = header
    if isinstance(version, bool) or not isinstance(version, int):
        raise MessageError("malformed", "version must be an integer")
    if version != cls.VERSION:
        raise MessageError("wrong_version", f"{topic} v{version}, expected v{cls.VERSION}")
    for name, v in (("seq", seq), ("t_ns", t_ns)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_T_NS:
            raise MessageError("malformed", f"header {name}={v!r}")
    if not isinstance(source, str) or not 0 < len(source) <= MAX_SOURCE_LEN:
        raise MessageError("malformed", "header source must be a short string")
    return Envelope(topic, version, seq, t_ns, source), cls


def decode_payload(cls: type, payload_frame, blob_frames: Sequence) -> Message:
    """Validate the payload of a message of type ``cls``; return the message."""
    try:
        values = msgpack.unpackb(_buffer(payload_frame), raw=False, strict_map_key=True)
    except Exception as exc:
        raise MessageError("malformed", f"payload: {type(exc).__name__}") from None
    fields = cls.FIELDS
    if not isinstance(values, list) or len(values) != len(fields):
        raise MessageError("malformed", f"payload must be a list of {len(fields)} values")
    out = {}
    used_blobs = set()
    for f, v in zip(fields, values):
        if f.kind == "vec":
            if not isinstance(v, list):
                raise MessageError("wrong_type", f"{f.name} must be a list")
            out[f.name] = _check_vec(f, v)
        elif f.kind == "array":
            out[f.name] = _decode_array(f, v, blob_frames, used_blobs)
        else:
            out[f.name] = _SCALAR_CHECKS[f.kind](f, v)
    if len(used_blobs) != len(blob_frames):
        raise MessageError("bad_array", "unreferenced blob frames")
    return cls(**out)


def _decode_array(f: Field, desc: Any, blob_frames: Sequence, used: set) -> np.ndarray:
    if not (isinstance(desc, list) and len(desc) == 3 and isinstance(desc[0], str)
            and isinstance(desc[1], list) and isinstance(desc[2], int)
            and not isinstance(desc[2], bool)):
        raise MessageError("bad_array", f"{f.name} descriptor must be [dtype, shape, index]")
    dtype_str, shape, index = desc
    try:
        dtype = np.dtype(dtype_str)
    except TypeError:
        raise MessageError("bad_array", f"{f.name} dtype {dtype_str!r}") from None
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise MessageError("bad_array", f"{f.name} shape must be integers")
    shape = tuple(shape)
    _check_array_shape(f, dtype, shape)
    if not 0 <= index < len(blob_frames) or index in used:
        raise MessageError("bad_array", f"{f.name} blob index {index}")
    used.add(index)
    buf = _buffer(blob_frames[index])
    if buf.nbytes != int(np.prod(shape)) * dtype.itemsize:
        raise MessageError("bad_array", f"{f.name} has {buf.nbytes} bytes for shape {shape}")
    a = np.frombuffer(buf, dtype=dtype).reshape(shape)
    a.flags.writeable = False
    return a


def decode(frames: Sequence) -> tuple[Envelope, Message]:
    """Validate and decode wire frames (raises MessageError)."""
    env, cls = decode_envelope(frames)
    return env, decode_payload(cls, frames[2], frames[3:])


class Decoder:
    """Decodes wire frames, counting every rejection by reason; never raises.

    ``accepted`` and ``rejected`` feed the owning app's health telemetry. With ``topics``
    given, a message on any other topic is rejected as ``unknown_topic`` before its payload
    is decoded.
    """

    def __init__(self, topics: set[str] | None = None):
        self.topics = topics
        self.accepted = 0
        self.rejected: Counter[str] = Counter()
        self.last_error = ""

    def __call__(self, frames: Sequence) -> tuple[Envelope, Message] | None:
        try:
            env, cls = decode_envelope(frames)
            if self.topics is not None and env.topic not in self.topics:
                raise MessageError("unknown_topic", f"{env.topic} is not subscribed")
            out = env, decode_payload(cls, frames[2], frames[3:])
        except MessageError as exc:
            self.rejected[exc.reason] += 1
            self.last_error = str(exc)[:200]
            return None
        except Exception as exc:  # a decoder bug must not take the app down either
            self.rejected["malformed"] += 1
            self.last_error = f"internal: {type(exc).__name__}: {exc}"[:200]
            return None
        self.accepted += 1
        return out

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())
