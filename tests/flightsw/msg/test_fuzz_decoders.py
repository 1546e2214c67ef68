"""Hostile input at the decoder: whatever arrives, ``decode`` returns a message that keeps its
contract or raises MessageError with one of its reasons — never anything else — and the
``Decoder`` counts it.

Cases: arbitrary frames; valid encodings of every registered message type mutated at the byte
level (bits flipped, bytes cut, inserted or overwritten, frames dropped, added or swapped);
payloads whose array descriptors carry any dtype string, shape or blob index; and the round
trip of every valid message.
"""
import math

import msgpack
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from flightsw.msg import REASONS, Decoder, MessageError, all_types, decode, encode
from flightsw.msg.codec import MAX_T_NS, decode_payload, topic_frame

TYPES = sorted(all_types().values(), key=lambda c: c.TOPIC)
ARRAY_TYPES = [c for c in TYPES if any(f.kind == "array" for f in c.FIELDS)]


def field_value(f):
    """A valid value of field ``f`` (its whole range, bounded to what a test can hold)."""
    lo = -1e12 if f.lo is None else max(f.lo, -1e12)
    hi = 1e12 if f.hi is None else min(f.hi, 1e12)
    if f.kind == "f64":
        return st.floats(lo, hi)
    if f.kind == "i64":
        return st.integers(int(max(f.lo, -2**63)), int(min(f.hi, 2**64 - 1)))
    if f.kind == "bool":
        return st.booleans()
    if f.kind == "str":
        return st.sampled_from(f.choices) if f.choices else st.text(max_size=min(f.max_len, 12))
    if f.kind == "vec":
        return hnp.arrays(np.float64, f.shape, elements=st.floats(lo, hi))
    return hnp.arrays(np.dtype(f.dtypes[0]), st.tuples(st.integers(0, 4), st.integers(0, 4)))


@st.composite
def messages(draw, types=TYPES):
    cls = draw(st.sampled_from(types))
    return cls(**{f.name: draw(field_value(f)) for f in cls.FIELDS})


def envelopes():
    return st.tuples(st.integers(0, MAX_T_NS), st.integers(0, MAX_T_NS),
                     st.text(min_size=1, max_size=32))


def decoded_or_refused(frames):
    """decode's outcome: the message, or the MessageError's reason. Anything else fails."""
    try:
        return decode(frames)
    except MessageError as exc:
        assert exc.reason in REASONS
        return exc.reason


def assert_counted(frames):
    dec = Decoder()
    out = dec(frames)
    assert dec.accepted + dec.n_rejected == 1
    assert not dec.last_error.startswith("internal"), dec.last_error
    return out


# -- round trips ---------------------------------------------------------------------------
@settings(max_examples=200)
@given(messages(), envelopes())
def test_every_valid_message_of_every_type_decodes_back_to_itself(msg, env):
    seq, t_ns, source = env
    got_env, back = decode(encode(msg, seq, t_ns, source))
    assert (got_env.topic, got_env.seq, got_env.t_ns, got_env.source) == (
        msg.TOPIC, seq, t_ns, source)
    assert back == msg


# -- arbitrary frames ----------------------------------------------------------------------
@settings(max_examples=200)
@given(st.lists(st.binary(max_size=80), max_size=6))
def test_arbitrary_frames_are_refused_with_a_reason(frames):
    assert isinstance(decoded_or_refused(frames), str)
    assert assert_counted(frames) is None


@settings(max_examples=200)
@given(st.sampled_from(TYPES), st.lists(st.binary(max_size=80), min_size=2, max_size=5))
def test_arbitrary_frames_under_a_known_topic_decode_or_are_refused(cls, rest):
    frames = [topic_frame(cls.TOPIC), *rest]
    decoded_or_refused(frames)
    assert_counted(frames)


# -- mutated valid encodings ---------------------------------------------------------------
def _mutate(data, frames):
    """One byte-level damage to one frame, or to the list of frames."""
    frames = [bytes(f) for f in frames]
    kind = data.draw(st.sampled_from(["flip", "cut", "insert", "overwrite", "drop", "add",
                                      "swap"]), label="damage")
    i = data.draw(st.integers(0, len(frames) - 1), label="frame")
    f = frames[i]
    if kind == "flip" and f:
        k = data.draw(st.integers(0, len(f) - 1))
        bit = data.draw(st.integers(0, 7))
        frames[i] = f[:k] + bytes([f[k] ^ (1 << bit)]) + f[k + 1:]
    elif kind == "cut":
        frames[i] = f[:data.draw(st.integers(0, len(f)))]
    elif kind == "insert":
        k = data.draw(st.integers(0, len(f)))
        frames[i] = f[:k] + data.draw(st.binary(min_size=1, max_size=8)) + f[k:]
    elif kind == "overwrite" and f:
        k = data.draw(st.integers(0, len(f) - 1))
        new = data.draw(st.binary(min_size=1, max_size=8))
        frames[i] = f[:k] + new + f[k + len(new):]
    elif kind == "drop":
        del frames[i]
    elif kind == "add":
        frames.insert(i, data.draw(st.binary(max_size=16)))
    elif kind == "swap":
        j = data.draw(st.integers(0, len(frames) - 1))
        frames[i], frames[j] = frames[j], frames[i]
    return frames


@settings(max_examples=300)
@given(messages(), st.data())
def test_a_damaged_valid_encoding_of_any_type_decodes_within_contract_or_is_refused(msg, data):
    frames = _mutate(data, encode(msg, 1, 2, "src"))
    out = decoded_or_refused(frames)
    if not isinstance(out, str):
        env, back = out
        encode(back, env.seq, env.t_ns, env.source)   # what is accepted keeps its contract
    assert_counted(frames)


# -- array descriptors ---------------------------------------------------------------------
dtype_strings = (st.sampled_from(["<u2", ">u2", "u2", "uint16", "<f8", "f8,", "i8,i8", "(2)u2",
                                  "f8 (3,)", "M8[q]", "O", "V", "U", "S", "|V0", "<u2 ", "u2;",
                                  "[('a', 'u2')]", "\x00", "c16", "a" * 300])
                 | st.text(max_size=12))
shapes = st.lists(st.integers(-2**63, 2**64 - 1) | st.booleans() | st.floats()
                  | st.sampled_from([0, 1, 2, 4096, 4097]), max_size=4)


@settings(max_examples=300)
@given(messages(ARRAY_TYPES), dtype_strings, shapes,
       st.integers(-2**63, 2**64 - 1) | st.sampled_from([0, 1]), st.data())
def test_any_array_descriptor_decodes_within_contract_or_is_refused_as_bad_array(
        msg, dtype_str, shape, index, data):
    cls = type(msg)
    frames = encode(msg, 0, 0, "camera")
    values = msgpack.unpackb(frames[2])
    i = next(k for k, f in enumerate(cls.FIELDS) if f.kind == "array")
    values[i] = [dtype_str, shape, index]
    n = math.prod(n for n in shape if isinstance(n, int) and 0 <= n < 64) if shape else 0
    blobs = data.draw(st.lists(st.binary(max_size=min(n, 64) * 8) | st.just(bytes(frames[3])),
                               max_size=2))
    payload = msgpack.packb(values, use_bin_type=True)
    try:
        back = decode_payload(cls, payload, blobs)
    except MessageError as exc:
        assert exc.reason in ("bad_array", "wrong_type", "out_of_range", "malformed")
    else:
        encode(back, 0, 0, "camera")
    assert_counted([frames[0], frames[1], payload, *blobs])


def test_a_malformed_dtype_string_is_refused_as_a_bad_array():
    # numpy raises ValueError, not TypeError, on a comma string with a bad sub-format
    frame = next(m for m in ARRAY_TYPES)(frame_id=1, t_exposure_start_ns=0, exposure_s=0.1,
                                         gain_e_per_dn=1.0, image=np.zeros((2, 2), "<u2"))
    frames = encode(frame, 0, 0, "camera")
    for bad in ("f8 (3,)", "M8[q]"):
        values = msgpack.unpackb(frames[2])
        values[-1][0] = bad
        payload = msgpack.packb(values)
        try:
            decode([frames[0], frames[1], payload, frames[3]])
        except MessageError as exc:
            assert exc.reason == "bad_array", bad
        else:
            raise AssertionError(f"dtype {bad!r} accepted")
