"""The payload codec as the per-kind checks alone define it: no plans, no compiled loops.

This is the codec's reference, for the tests (which compare the planned codec against it,
value for value and reason for reason) and for ``tools/bench_codec.py`` (which times both):
every field goes through its kind's check in :mod:`flightsw.msg.codec`, vectors through
numpy, the message through ``__init__``. It is not on any flight path.
"""
from __future__ import annotations

from typing import Any, Sequence

import msgpack
import numpy as np

from flightsw.msg.codec import (MessageError, _buffer, _check_array_shape, _check_bool,
                                _check_f64, _check_i64, _check_str, _check_vec, _decode_array,
                                _item)
from flightsw.msg.schema import Message

SCALAR_CHECKS = {"f64": _check_f64, "i64": _check_i64, "bool": _check_bool, "str": _check_str}


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
            blobs.append(memoryview(a.reshape(-1).view(np.uint8)))
        else:
            values.append(SCALAR_CHECKS[f.kind](f, _item(v)))
    return msgpack.packb(values, use_bin_type=True), blobs


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
    used_blobs: set = set()
    for f, v in zip(fields, values):
        if f.kind == "vec":
            if not isinstance(v, list):
                raise MessageError("wrong_type", f"{f.name} must be a list")
            out[f.name] = _check_vec(f, v)
        elif f.kind == "array":
            out[f.name] = _decode_array(f, v, blob_frames, used_blobs)
        else:
            out[f.name] = SCALAR_CHECKS[f.kind](f, v)
    if len(used_blobs) != len(blob_frames):
        raise MessageError("bad_array", "unreferenced blob frames")
    return cls(**out)
