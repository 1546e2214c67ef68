"""The compiled lockstep path speaks exactly the control protocol that msgpack would."""
import subprocess
import sys

import msgpack
from hypothesis import given, strategies as st

from flightsw.native import require

_lockstep = require("flightsw.runtime._lockstep")

COUNTS = st.dictionaries(st.text(min_size=1, max_size=12), st.integers(0, 2**40), max_size=4)
T_NS = st.one_of(st.integers(0, 2**63 - 1), st.sampled_from(
    [0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1]))


@given(T_NS, COUNTS)
def test_step_request_is_byte_identical_to_its_msgpack_packing(t_ns, expect):
    assert _lockstep.step_request(t_ns, expect) == msgpack.packb(["STEP", t_ns, expect])


@given(T_NS, COUNTS)
def test_done_reply_is_byte_identical_to_its_msgpack_packing(t_ns, counts):
    assert _lockstep.done_reply(t_ns, counts) == msgpack.packb(["DONE", t_ns, counts])


def test_negative_sim_times_are_packed_by_msgpack_itself():
    assert _lockstep.step_request(-5, {}) == msgpack.packb(["STEP", -5, {}])


CHILD_CHECK = """
import os, subprocess, sys, time
from flightsw.runtime._lockstep import a_child_exited
assert not a_child_exited()  # no children at all
child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                         stdin=subprocess.PIPE)
assert not a_child_exited()  # a child, alive
child.stdin.close()
deadline = time.monotonic() + 10.0
while not a_child_exited():
    assert time.monotonic() < deadline
    time.sleep(0.005)
# still a zombie: the check reaped nothing, so the launcher's own wait still can
assert os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
assert child.wait() == 0
assert not a_child_exited()
"""


def test_a_child_exited_sees_an_unreaped_exit_and_reaps_nothing():
    # in a fresh process, whose only children are the ones the check is about
    # -P: the working directory (a checkout's uncompiled source) must not shadow the package
    subprocess.run([sys.executable, "-P", "-c", CHILD_CHECK], check=True, timeout=60)


@given(T_NS)
def test_the_node_reads_an_idle_step_without_unpacking_it(t_ns):
    assert _lockstep.idle_step_t_ns(msgpack.packb(["STEP", t_ns, {}])) == t_ns


@given(st.one_of(
    st.binary(max_size=24),
    st.builds(lambda t, e: msgpack.packb(["STEP", t, e]), T_NS, COUNTS.filter(bool)),
    st.builds(lambda w, t: msgpack.packb([w, t, {}]), st.sampled_from(["DONE", "SYNC", "STEP "]),
              st.integers(-2**63, 2**64 - 1)),
    st.sampled_from([msgpack.packb(["HELLO"]), msgpack.packb(["STOP"]), b"\x93\xa4STEP\xcf\x80"]),
))
def test_anything_else_is_left_to_msgpack(msg):
    t_ns = _lockstep.idle_step_t_ns(msg)
    if t_ns != -1:  # only what unpacks to an idle step is read as one
        assert msgpack.unpackb(msg) == ["STEP", t_ns, {}]
