"""Message contracts: round trips, and a decoder that rejects and counts everything bad."""
import math

import msgpack
import numpy as np
import pytest
from hypothesis import given, strategies as st

from flightsw.msg import (REASONS, AppHealth, CameraFrame, Decoder, HealthStatus, MessageError,
                          TimeTone, all_types, decode, encode)
from flightsw.msg.codec import topic_frame


def frame_msg(shape=(8, 6), dtype=np.uint16):
    img = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    return CameraFrame(frame_id=3, t_exposure_start_ns=10, exposure_s=0.25, gain_e_per_dn=1.5,
                       image=img)


def health_msg(**over):
    values = dict(app="nav", boot=0, steps=5, inputs_accepted=4, inputs_rejected=[0.0] * 6,
                  inputs_refused=0,
                  inputs_dropped=0, outputs_rejected=0, outputs_dropped=0, step_faults=0,
                  last_error="")
    values.update(over)
    return AppHealth(**values)


def test_every_message_type_declares_units_and_docs():
    for topic, cls in all_types().items():
        assert cls.VERSION >= 1
        for f in cls.FIELDS:
            assert f.doc, f"{topic}.{f.name} has no doc"
            assert f.kind == "str" or f.unit, f"{topic}.{f.name} has no unit"


def test_camera_frame_round_trips_with_pixels_in_a_separate_frame_without_copy():
    msg = frame_msg((1024, 1024))
    frames = encode(msg, seq=9, t_ns=123, source="camera")
    assert len(frames) == 4 and memoryview(frames[3]).nbytes == 1024 * 1024 * 2
    assert len(frames[2]) < 64  # the pixels are not in the payload
    env, out = decode(frames)
    assert (env.topic, env.seq, env.t_ns, env.source) == ("sensor.camera.frame", 9, 123, "camera")
    assert out == msg
    assert np.shares_memory(out.image, msg.image)
    assert not out.image.flags.writeable


def test_vector_fields_round_trip_exactly():
    msg = health_msg(inputs_rejected=[1.0, 2.0, 3.0, 0.0, 0.0, 1e9])
    env, out = decode(encode(msg, 0, 0, "x"))
    np.testing.assert_array_equal(out.inputs_rejected, msg.inputs_rejected)


@pytest.mark.parametrize("bad, reason", [
    (dict(steps=-1), "out_of_range"),
    (dict(steps=1.5), "wrong_type"),
    (dict(steps=True), "wrong_type"),
    (dict(app=7), "wrong_type"),
    (dict(app="x" * 33), "out_of_range"),
    (dict(inputs_rejected=[0.0] * 5), "wrong_type"),
    (dict(inputs_rejected=[math.nan] * 6), "out_of_range"),
    (dict(inputs_rejected=[-1.0] * 6), "out_of_range"),
    (dict(inputs_rejected=["1"] * 6), "wrong_type"),
])
def test_encoding_a_message_that_breaks_its_contract_raises_with_the_reason(bad, reason):
    with pytest.raises(MessageError) as exc:
        encode(health_msg(**bad), 0, 0, "nav")
    assert exc.value.reason == reason


def test_enumerated_text_fields_only_take_their_choices():
    msg = HealthStatus(apps_expected=1, apps_alive=1, stale_apps="", restarts=0,
                       inputs_rejected=0, inputs_dropped=0, outputs_rejected=0, step_faults=0,
                       mode="panic")
    with pytest.raises(MessageError, match="not one of"):
        encode(msg, 0, 0, "health")


def test_frame_with_wrong_dtype_or_oversized_shape_is_rejected():
    with pytest.raises(MessageError, match="dtype"):
        encode(frame_msg(dtype=np.float32), 0, 0, "camera")
    with pytest.raises(MessageError, match="shape"):
        encode(frame_msg((4097, 2)), 0, 0, "camera")


def _reencode_payload(frames, values):
    return [frames[0], frames[1], msgpack.packb(values), *frames[3:]]


def test_decoder_counts_each_kind_of_bad_message_by_reason():
    good = encode(TimeTone(tone=1, vehicle_time_ns=5), 0, 5, "clock")
    dec = Decoder()
    cases = {
        "malformed": [good[0], b"\xc1", good[2]],
        "unknown_topic": [topic_frame("nav.nothing"), good[1], good[2]],
        "wrong_version": [good[0], msgpack.packb([2, 0, 5, "clock"]), good[2]],
        "wrong_type": _reencode_payload(good, [1, "five"]),
        "out_of_range": _reencode_payload(good, [-1, 5]),
        "bad_array": encode(frame_msg(), 0, 0, "camera")[:3],
    }
    for reason, frames in cases.items():
        assert dec(frames) is None, reason
        assert dec.rejected[reason] == 1, (reason, dec.last_error)
    assert dec(good) is not None
    assert (dec.accepted, dec.n_rejected) == (1, len(cases))


frame_bytes = st.binary(max_size=64)
any_frames = st.lists(frame_bytes, max_size=6)


@given(any_frames)
def test_arbitrary_bytes_never_raise_past_the_decoder_and_are_counted(frames):
    dec = Decoder()
    out = dec(frames)
    assert out is None
    assert dec.n_rejected == 1
    assert set(dec.rejected) <= set(REASONS)


msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=80)
    | st.binary(max_size=16),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=20,
)
known_topics = st.sampled_from(sorted(all_types()))


@given(known_topics, msgpack_values, msgpack_values, st.lists(frame_bytes, max_size=2))
def test_wellformed_frames_with_wrong_types_versions_or_values_are_rejected_or_valid(
        topic, header, payload, blobs):
    frames = [topic_frame(topic), msgpack.packb(header, use_bin_type=True),
              msgpack.packb(payload, use_bin_type=True), *blobs]
    dec = Decoder()
    out = dec(frames)
    assert dec.accepted + dec.n_rejected == 1
    if out is not None:  # anything accepted really satisfies its contract
        env, msg = out
        encode(msg, env.seq, env.t_ns, env.source)


@given(
    steps=st.integers(-2**63, 2**64 - 1) | st.floats() | st.booleans() | st.text(max_size=3),
    vec=st.lists(st.floats() | st.integers(-10, 10) | st.booleans(), max_size=8),
    version=st.integers(-5, 5),
    t_ns=st.integers(-2**63, 2**64 - 1) | st.floats(),
)
def test_mutated_health_reports_are_accepted_only_when_within_contract(steps, vec, version, t_ns):
    good = encode(health_msg(), 0, 0, "nav")
    values = msgpack.unpackb(good[2])
    values[2] = steps
    values[4] = vec
    frames = [good[0], msgpack.packb([version, 0, t_ns, "nav"]), msgpack.packb(values)]
    dec = Decoder()
    out = dec(frames)
    valid = (version == 1 and isinstance(t_ns, int) and 0 <= t_ns < 2**63
             and isinstance(steps, int) and not isinstance(steps, bool) and 0 <= steps < 2**64
             and len(vec) == 6 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                      and math.isfinite(v) and v >= 0 for v in vec))
    assert (out is not None) == valid, dec.last_error
    assert dec.accepted + dec.n_rejected == 1


@given(st.binary(min_size=0, max_size=200), st.integers(0, 3))
def test_truncated_or_corrupted_pixels_are_rejected(noise, cut):
    frames = encode(frame_msg(), 0, 0, "camera")
    blob = bytes(memoryview(frames[3]))
    frames[3] = blob[: len(blob) - cut] + noise[:cut]
    dec = Decoder()
    out = dec(frames)
    assert (out is None) == (cut > 0 and len(noise) < cut)
