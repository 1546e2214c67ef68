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
import sys
import threading
from collections import Counter
from operator import attrgetter
from typing import Any, Callable, NamedTuple, Sequence

import msgpack
import numpy as np

from flightsw.msg.registry import lookup
from flightsw.native import require
from flightsw.msg.schema import Field, Message

MAX_SOURCE_LEN = 32
MAX_DTYPE_LEN = 16  # an array descriptor's dtype string, e.g. '<u2'
MAX_T_NS = 2**63 - 1
_vec = require("flightsw.msg._vec")

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


# -- plans: each field's check, compiled once per message type --------------------------
# A plan's check takes the common case — the exact type a clean message carries, inside
# its range — in a few C-level operations, and hands everything else to the reference
# check of its kind above, which decides (the value, or the MessageError with its reason).
# The fast path accepts only values the reference accepts, and returns what the reference
# would, so the two agree on every input and the wire bytes are unchanged.
_DBL_MAX = sys.float_info.max


def _item(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _finite_bounds(f: Field) -> tuple[float, float]:
    """The closed interval a value of ``f`` must lie in, clipped to the finite doubles, so
    that NaN and the infinities always fall outside it."""
    lo = -_DBL_MAX if f.lo is None else max(float(f.lo), -_DBL_MAX)
    hi = _DBL_MAX if f.hi is None else min(float(f.hi), _DBL_MAX)
    return lo, hi


def _ranged_plan(f: Field, exact: type, lo, hi, reference) -> Callable[[Any], Any]:
    """A scalar of the exact type ``exact`` inside [lo, hi] as it is; else ``reference``."""
    def check_ranged(v):
        if type(v) is exact and lo <= v <= hi:
            return v
        return reference(f, _item(v))
    return check_ranged


def _f64_plan(f: Field) -> Callable[[Any], float]:
    return _ranged_plan(f, float, *_finite_bounds(f), _check_f64)


def _i64_plan(f: Field) -> Callable[[Any], int]:
    lo = -math.inf if f.lo is None else f.lo
    hi = math.inf if f.hi is None else f.hi
    return _ranged_plan(f, int, lo, hi, _check_i64)


def _bool_plan(f: Field) -> Callable[[Any], bool]:
    def check_bool(v):
        return v if type(v) is bool else _check_bool(f, _item(v))
    return check_bool


def _str_plan(f: Field) -> Callable[[Any], str]:
    max_len, choices = f.max_len, frozenset(f.choices)

    def check_str(v):
        if type(v) is str and len(v) <= max_len and (not choices or v in choices):
            return v
        return _check_str(f, _item(v))
    return check_str


def _vec_encode_plan(f: Field) -> Callable[[Any], list]:
    """An app's vector (a float64 array of the field's shape, or flat) to its wire list."""
    lo, hi = _finite_bounds(f)
    shape, size = f.shape, f.size

    def encode_vec(v):
        wire = (_vec.wire_of_array(v, shape, size, lo, hi) if type(v) is np.ndarray
                else _vec.wire_of_list(v, size, lo, hi))
        return _check_vec(f, v).ravel().tolist() if wire is None else wire
    return encode_vec


def _vec_decode_plan(f: Field) -> Callable[[Any], np.ndarray]:
    """A wire list (msgpack floats) to the field's float64 array."""
    lo, hi = _finite_bounds(f)
    shape, size = f.shape, f.size

    def decode_vec(v):
        a = _vec.array_of_wire(v, shape, size, lo, hi)
        if a is not None:
            return a
        if not isinstance(v, list):
            raise MessageError("wrong_type", f"{f.name} must be a list")
        return _check_vec(f, v)
    return decode_vec


def _array_encode_plan(f: Field) -> Callable[[Any], np.ndarray]:
    """A pixel array to its C-contiguous self (``_payload`` makes its descriptor and blob)."""
    def encode_array(v):
        if not isinstance(v, np.ndarray):
            raise MessageError("bad_array", f"{f.name} must be an ndarray")
        _check_array_shape(f, v.dtype, v.shape)
        return np.ascontiguousarray(v)
    return encode_array


_SCALAR_PLANS = {"f64": _f64_plan, "i64": _i64_plan, "bool": _bool_plan, "str": _str_plan}


class _Plan(NamedTuple):
    """How one message type goes to and from the wire."""

    topic_frame: bytes
    values_of: Callable[[Message], tuple]  # the field values in declared order
    encoders: tuple  # per field: app value -> wire value (arrays: contiguous ndarray)
    decoders: tuple  # per field: wire value -> checked value (arrays: None, see below)
    array_index: tuple[int, ...]  # positions of the ``array`` fields


def _compile(cls: type) -> _Plan:
    fields = cls.FIELDS
    names = [f.name for f in fields]
    if len(names) > 1:
        values_of = attrgetter(*names)
    else:  # attrgetter of one name returns the value itself, of none it cannot be built
        def values_of(msg):
            return tuple(getattr(msg, n) for n in names)
    encoders, decoders = [], []
    for f in fields:
        if f.kind == "vec":
            encoders.append(_vec_encode_plan(f))
            decoders.append(_vec_decode_plan(f))
        elif f.kind == "array":
            encoders.append(_array_encode_plan(f))
            decoders.append(None)
        else:
            check = _SCALAR_PLANS[f.kind](f)
            encoders.append(check)
            decoders.append(check)
    array_index = tuple(i for i, f in enumerate(fields) if f.kind == "array")
    return _Plan(topic_frame(cls.TOPIC), values_of, tuple(encoders), tuple(decoders),
                 array_index)


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _compile(cls)
    return plan


class _Packers(threading.local):
    """One reusable msgpack Packer per thread (a Packer is not safe to share across threads;
    reusing one spares building it at every message)."""

    def __init__(self):
        self.pack = msgpack.Packer(use_bin_type=True).pack


_PACKERS = _Packers()


# -- encode ----------------------------------------------------------------------------
def _payload(plan: _Plan, msg: Message, pack) -> tuple[bytes, list]:
    values = [enc(v) for enc, v in zip(plan.encoders, plan.values_of(msg))]
    blobs: list = []
    for i in plan.array_index:
        a = values[i]
        values[i] = [a.dtype.str, list(a.shape), len(blobs)]
        blobs.append(memoryview(a.reshape(-1).view(np.uint8)))  # bytes, as a view (empty too)
    return pack(values), blobs


def encode_payload(msg: Message) -> tuple[bytes, list]:
    """Validate ``msg`` against its type and return (payload bytes, blob buffers)."""
    return _payload(_plan(type(msg)), msg, _PACKERS.pack)


def encode(msg: Message, seq: int, t_ns: int, source: str) -> list:
    """The wire frames of ``msg`` (raises MessageError if it breaks its contract, or its
    envelope is one decode would refuse)."""
    if not (0 <= seq <= MAX_T_NS and 0 <= t_ns <= MAX_T_NS
            and 0 < len(source) <= MAX_SOURCE_LEN):
        raise MessageError("malformed", f"envelope seq={seq!r} t_ns={t_ns!r} source={source!r}")
    cls = type(msg)
    plan = _plan(cls)
    pack = _PACKERS.pack
    payload, blobs = _payload(plan, msg, pack)
    return [plan.topic_frame, pack([cls.VERSION, seq, t_ns, source]), payload, *blobs]


# -- decode ----------------------------------------------------------------------------
def _buffer(frame) -> memoryview:
    return frame if isinstance(frame, memoryview) else memoryview(frame)


def _packed(frame):
    """A frame as msgpack can read it (bytes as they are: wrapping costs as much as reading)."""
    return frame if type(frame) is bytes else _buffer(frame)


def decode_envelope(frames: Sequence) -> tuple[Envelope, type]:
    """Validate the topic and header frames; return the envelope and the message type."""
    if len(frames) < 3:
        raise MessageError("malformed", f"{len(frames)} frames, need at least 3")
    raw_topic = frames[0]
    if type(raw_topic) is not bytes:
        raw_topic = bytes(memoryview(raw_topic))
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
        header = msgpack.unpackb(_packed(frames[1]), raw=False, strict_map_key=True)
    except Exception as exc:
        raise MessageError("malformed", f"header: {type(exc).__name__}") from None
    if type(header) is not list or len(header) != 4:
        raise MessageError("malformed", "header must be [version, seq, t_ns, source]")
    version, seq, t_ns, source = header
    # msgpack yields exact ints (and bools, which must not pass as ints)
    if type(version) is not int:
        raise MessageError("malformed", "version must be an integer")
    if version != cls.VERSION:
        raise MessageError("wrong_version", f"{topic} v{version}, expected v{cls.VERSION}")
    if type(seq) is not int or not 0 <= seq <= MAX_T_NS:
        raise MessageError("malformed", f"header seq={seq!r}")
    if type(t_ns) is not int or not 0 <= t_ns <= MAX_T_NS:
        raise MessageError("malformed", f"header t_ns={t_ns!r}")
    if type(source) is not str or not 0 < len(source) <= MAX_SOURCE_LEN:
        raise MessageError("malformed", "header source must be a short string")
    return Envelope(topic, version, seq, t_ns, source), cls


def decode_payload(cls: type, payload_frame, blob_frames: Sequence) -> Message:
    """Validate the payload of a message of type ``cls``; return the message."""
    try:
        values = msgpack.unpackb(_packed(payload_frame), raw=False, strict_map_key=True)
    except Exception as exc:
        raise MessageError("malformed", f"payload: {type(exc).__name__}") from None
    plan = _plan(cls)
    decoders = plan.decoders
    if type(values) is not list or len(values) != len(decoders):
        raise MessageError("malformed", f"payload must be a list of {len(decoders)} values")
    if plan.array_index:
        used: set = set()
        out = [_decode_array(f, v, blob_frames, used) if dec is None else dec(v)
               for f, dec, v in zip(cls.FIELDS, decoders, values)]
        n_used = len(used)
    else:
        out = [dec(v) for dec, v in zip(decoders, values)]
        n_used = 0
    if n_used != len(blob_frames):
        raise MessageError("bad_array", "unreferenced blob frames")
    return cls.from_checked(out)


def _decode_array(f: Field, desc: Any, blob_frames: Sequence, used: set) -> np.ndarray:
    if not (isinstance(desc, list) and len(desc) == 3 and isinstance(desc[0], str)
            and isinstance(desc[1], list) and isinstance(desc[2], int)
            and not isinstance(desc[2], bool)):
        raise MessageError("bad_array", f"{f.name} descriptor must be [dtype, shape, index]")
    dtype_str, shape, index = desc
    # numpy's parser of dtype strings raises TypeError, ValueError or SyntaxError (it
    # literal_evals the parts of a comma string): whatever it raises, the descriptor is bad.
    # The length cap keeps hostile text from its recursion.
    if len(dtype_str) > MAX_DTYPE_LEN:
        raise MessageError("bad_array", f"{f.name} dtype string longer than {MAX_DTYPE_LEN}")
    try:
        dtype = np.dtype(dtype_str)
    except Exception:
        raise MessageError("bad_array", f"{f.name} dtype {dtype_str!r}") from None
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise MessageError("bad_array", f"{f.name} shape must be integers")
    shape = tuple(shape)
    _check_array_shape(f, dtype, shape)
    if not 0 <= index < len(blob_frames) or index in used:
        raise MessageError("bad_array", f"{f.name} blob index {index}")
    used.add(index)
    buf = _buffer(blob_frames[index])
    if buf.nbytes != math.prod(shape) * dtype.itemsize:
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
