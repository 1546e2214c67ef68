"""The codec's compiled field plans agree with the reference checks on every input.

Each plan takes the clean case fast and hands everything else to the reference check of
its kind (``codec._check_*``). The properties: on arbitrary values — wrong types, numpy
scalars, NaN and infinities, bounds, wrong shapes, slices, byte-swapped arrays — a plan
returns what the reference returns (compared as wire bytes, or as arrays) or raises with
the same reason; and whole messages encode to the same bytes as a reference encoder
built from those checks alone (``reference_codec``), and any payload decodes to the same
message, or fails for the same reason, as there.
"""
import math

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from flightsw.msg import all_types, decode, encode
from flightsw.msg import codec, reference_codec
from flightsw.msg.codec import MessageError
from flightsw.msg.schema import Field

REFERENCE = reference_codec.SCALAR_CHECKS

FIELDS = [
    Field.f64("x", "m", "bounded", lo=-1.0, hi=1.0),
    Field.f64("x", "m", "unbounded"),
    Field.f64("x", "1", "NaN allowed, non-negative", lo=0.0, allow_nan=True),
    Field.i64("n", "count", "signed"),
    Field.u64("n", "count", "small unsigned", hi=64),
    Field.boolean("b", "flag"),
    Field.text("s", "short text", max_len=4),
    Field.text("s", "choice", choices=("a", "bc")),
]
VECS = [
    Field.vec("v", "1", "unit-bounded 3-vector", 3, lo=-1.0, hi=1.0),
    Field.vec("v", "m", "unbounded 2x3", (2, 3)),
    Field.vec("v", "1", "NaN allowed, non-negative", 4, lo=0.0, allow_nan=True),
    Field.vec("v", "count", "non-negative", 6, lo=0),
]

numbers = (st.floats() | st.integers(-2**64, 2**64) | st.booleans()
           | st.sampled_from([-1.0, 1.0, -0.0, 0.0, 1e308, -1e308, 5e-324]))
scalars = (numbers | st.text(max_size=6) | st.none()
           | numbers.filter(lambda x: not isinstance(x, int) or -2**63 <= x < 2**63)
           .map(lambda x: np.array(x)[()]))


def outcome(fn, v):
    """What a check does with ``v``: ("ok", wire bytes of the result) or ("error", reason)."""
    try:
        out = fn(v)
    except MessageError as exc:
        return "error", exc.reason
    if isinstance(out, np.ndarray):
        return "ok", (out.dtype.str, out.shape, out.tobytes())
    return "ok", msgpack.packb(out)


@settings(max_examples=300)
@given(st.sampled_from(FIELDS), scalars)
def test_scalar_plans_accept_return_and_reject_exactly_as_the_reference(f, v):
    check = codec._SCALAR_PLANS[f.kind](f)
    assert outcome(check, v) == outcome(lambda x: REFERENCE[f.kind](f, codec._item(x)), v)


def arrays_for(f):
    shapes = st.sampled_from([f.shape, (f.size,), (f.size + 1,), (1, f.size), ()])
    dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.dtype(">f8"), np.bool_])
    return hnp.arrays(dtypes, shapes)


def _noncontiguous(a):
    """The same values in a strided view (every other element of a doubled buffer)."""
    wide = np.empty(a.shape + (2,), dtype=a.dtype)
    wide[..., 0] = a
    return wide[..., 0]


def vec_values(f):
    lists = st.lists(numbers | st.text(max_size=2), min_size=f.size - 1, max_size=f.size + 1)
    in_range = hnp.arrays(np.float64, f.shape,
                          elements=st.floats(-1.0 if f.lo is None else f.lo, 1.0))
    return (lists | arrays_for(f) | in_range | in_range.map(_noncontiguous)
            | in_range.map(lambda a: a.ravel().tolist()) | st.tuples(numbers, numbers, numbers))


@st.composite
def vec_cases(draw):
    f = draw(st.sampled_from(VECS))
    return f, draw(vec_values(f))


@settings(max_examples=400)
@given(vec_cases())
def test_vector_encoding_gives_the_reference_wire_list_or_the_reference_reason(case):
    f, v = case
    reference = outcome(lambda x: codec._check_vec(f, x).ravel().tolist(), v)
    assert outcome(codec._vec_encode_plan(f), v) == reference


def reference_decode_vec(f, v):
    if not isinstance(v, list):
        raise MessageError("wrong_type", f"{f.name} must be a list")
    return codec._check_vec(f, v)


@st.composite
def wire_vec_cases(draw):
    f = draw(st.sampled_from(VECS))
    v = draw(st.lists(numbers | st.none() | st.text(max_size=2), min_size=f.size - 1,
                      max_size=f.size + 1)
             | st.lists(st.floats(-2.0, 2.0), min_size=f.size, max_size=f.size)
             | numbers | st.text(max_size=3))
    return f, v


@settings(max_examples=400)
@given(wire_vec_cases())
def test_vector_decoding_gives_the_reference_array_or_the_reference_reason(case):
    f, v = case
    assert outcome(codec._vec_decode_plan(f), v) == outcome(lambda x: reference_decode_vec(f, x), v)


def test_decoded_vectors_are_fresh_writable_float64_arrays_of_the_field_shape():
    f = VECS[1]
    a = codec._vec_decode_plan(f)([0.5] * 6)
    assert a.dtype == np.float64 and a.shape == (2, 3) and a.flags.writeable
    assert a.flags.c_contiguous and a.base is None


@pytest.mark.parametrize("v, reason", [
    ([0.0, math.nan, 0.0], "out_of_range"),
    ([0.0, math.inf, 0.0], "out_of_range"),
    ([0.0, 1.5, 0.0], "out_of_range"),
    ([0.0, True, 0.0], "wrong_type"),
    ([0.0, 0.0], "wrong_type"),
    ((0.0, 0.0, 0.0), "wrong_type"),
])
def test_a_bad_wire_vector_is_rejected_with_its_reason(v, reason):
    with pytest.raises(MessageError) as exc:
        codec._vec_decode_plan(VECS[0])(v)
    assert exc.value.reason == reason


# -- whole messages ------------------------------------------------------------------------
def field_value(f):
    lo = -1e6 if f.lo is None else max(f.lo, -1e6)
    hi = 1e6 if f.hi is None else min(f.hi, 1e6)
    if f.kind == "f64":
        return st.floats(lo, hi) | st.floats(lo, hi).map(np.float64)
    if f.kind == "i64":
        small = st.integers(int(max(lo, 0)), int(min(hi, 100)))
        return st.integers(int(max(lo, 0)), int(hi)) | small.map(np.int64)
    if f.kind == "bool":
        return st.booleans() | st.booleans().map(np.bool_)
    if f.kind == "str":
        return st.sampled_from(f.choices) if f.choices else st.text(max_size=min(f.max_len, 8))
    if f.kind == "vec":
        arrays = hnp.arrays(np.float64, f.shape, elements=st.floats(lo, hi))
        return arrays | arrays.map(_noncontiguous) | arrays.map(lambda a: a.ravel().tolist())
    return hnp.arrays(np.dtype(f.dtypes[0]), st.tuples(st.integers(0, 5), st.integers(0, 5)))


@st.composite
def messages(draw):
    cls = draw(st.sampled_from(sorted(all_types().values(), key=lambda c: c.TOPIC)))
    return cls(**{f.name: draw(field_value(f)) for f in cls.FIELDS})


@settings(max_examples=200)
@given(messages())
def test_every_message_type_encodes_to_the_reference_bytes_and_decodes_back(msg):
    payload, blobs = codec.encode_payload(msg)
    ref_payload, ref_blobs = reference_codec.encode_payload(msg)
    assert payload == ref_payload
    assert [bytes(b) for b in blobs] == [bytes(b) for b in ref_blobs]
    frames = encode(msg, 7, 11, "src")
    assert frames[1] == msgpack.packb([type(msg).VERSION, 7, 11, "src"])
    env, back = decode(frames)
    assert type(back) is type(msg) and encode(back, 7, 11, "src")[:3] == frames[:3]
    for f in msg.FIELDS:
        if f.kind == "vec":
            assert getattr(back, f.name).shape == f.shape


msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6), max_leaves=12)


def decode_outcome(decode_payload, cls, payload, blobs):
    try:
        msg = decode_payload(cls, payload, blobs)
    except MessageError as exc:
        return "error", exc.reason
    return "ok", encode(msg, 0, 0, "x")[2]


@settings(max_examples=300)
@given(messages(), st.data())
def test_a_payload_with_any_field_replaced_decodes_as_the_reference_decodes_it(msg, data):
    payload, blobs = codec.encode_payload(msg)
    values = msgpack.unpackb(payload)
    i = data.draw(st.integers(0, len(values)), label="field replaced (len: one appended)")
    if i == len(values):
        values.append(None)
    else:
        f = msg.FIELDS[i]
        near = (st.lists(st.floats() | st.integers(-3, 3), min_size=f.size, max_size=f.size)
                if f.kind == "vec" else msgpack_values)
        values[i] = data.draw(near | msgpack_values, label="wire value")
    bad = msgpack.packb(values)
    cls = type(msg)
    assert (decode_outcome(codec.decode_payload, cls, bad, blobs)
            == decode_outcome(reference_codec.decode_payload, cls, bad, blobs))
