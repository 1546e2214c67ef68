# cython: language_level=3
"""The lockstep hot path, compiled: the launcher's tick loop and the node's serve loop.

A lockstep cycle is the time master asking an app to step and waiting for its
answer. What the runtime adds to the bare request/reply (see tools/bench_bus.py)
is the work done here, so it is done in C: release times on typed arrays, the
liveness check as one raw ``waitid``, the common control messages (no pending
inputs, no outputs) assembled from prebuilt bytes instead of packed. Everything
off the common path (an app silent for a receive slice, a child that exited, a
restart, the handshake, recording) stays in the Python of ``launcher.py`` and
``node.py``, which this module calls back.

References for the tests: ``schedule.ReferenceSchedule`` (release times) and
``msgpack.packb`` (every control message is byte-identical to its packing).
"""
import os
import time

import msgpack
import zmq
import zmq.backend

from flightsw.bus.zmq_transport import send_frames

from libc.stdlib cimport free, malloc
from libc.string cimport memset
from posix.signal cimport siginfo_t
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from posix.wait cimport P_ALL, WEXITED, WNOHANG, WNOWAIT, waitid

# msgpack of the array head ["STEP", ... and ["DONE", ...; an empty map is 0x80
cdef bytes STEP_HEAD = b"\x93\xa4STEP"
cdef bytes DONE_HEAD = b"\x93\xa4DONE"

# pyzmq's compiled send, called on the control sockets past the Python-level override,
# which adds only DRAFT routing-id and group handling (unused here) and costs as much
# again as the send itself
_send = zmq.backend.Socket.send


# -- release times -------------------------------------------------------------------------
cdef class Schedule:
    """Release times of a set of apps, each stepping every ``period_ns`` from ``t0_ns``.

    Ticks are the union of the apps' release times, so a 0.01 Hz app costs
    nothing between its releases and a run over days visits only the instants
    at which some app has work. Same interface and results as
    ``schedule.ReferenceSchedule``.
    """

    cdef readonly dict periods_ns
    cdef list _names  # sorted: the order of the due list
    cdef Py_ssize_t _n
    cdef long long *_period_ns
    cdef long long *_next_ns

    def __cinit__(self, periods_ns: dict, long long t0_ns=0):
        if any(p <= 0 for p in periods_ns.values()):
            raise ValueError("periods must be positive")
        if not periods_ns:
            raise ValueError("a schedule needs at least one app")
        self.periods_ns = dict(periods_ns)
        self._names = sorted(periods_ns)
        self._n = len(self._names)
        self._period_ns = <long long *>malloc(self._n * sizeof(long long))
        self._next_ns = <long long *>malloc(self._n * sizeof(long long))
        if self._period_ns == NULL or self._next_ns == NULL:
            raise MemoryError()
        for i, name in enumerate(self._names):
            self._period_ns[i] = periods_ns[name]
            self._next_ns[i] = t0_ns

    def __dealloc__(self):
        free(self._period_ns)
        free(self._next_ns)

    cpdef long long next_tick(self):
        cdef long long t = self._next_ns[0]
        cdef Py_ssize_t i
        for i in range(1, self._n):
            if self._next_ns[i] < t:
                t = self._next_ns[i]
        return t

    cpdef object pop_due(self, object t_end_ns=None):
        """The next tick and the apps released at it (sorted by name); advance them.

        None, and nothing advanced, if the next tick lies beyond ``t_end_ns``.
        """
        cdef long long t = self.next_tick()
        cdef Py_ssize_t i
        if t_end_ns is not None and t > <long long>t_end_ns:
            return None
        due = []
        for i in range(self._n):
            if self._next_ns[i] == t:
                due.append(self._names[i])
                self._next_ns[i] = t + self._period_ns[i]
        return t, due


# -- control messages ----------------------------------------------------------------------
cdef int _put_uint(unsigned char *out, long long v):
    """Write msgpack's own (smallest) encoding of a non-negative integer; its length."""
    cdef int n, i
    if v < 0x80:
        out[0] = <unsigned char>v
        return 1
    if v < 0x100:
        out[0], n = 0xcc, 1
    elif v < 0x10000:
        out[0], n = 0xcd, 2
    elif v < 0x100000000:
        out[0], n = 0xce, 4
    else:
        out[0], n = 0xcf, 8
    for i in range(n):
        out[n - i] = <unsigned char>((v >> (8 * i)) & 0xff)
    return n + 1


cdef bytes _idle_command(bytes head, long long t_ns):
    """``[word, t_ns, {}]`` as msgpack, for t_ns >= 0, built in one buffer."""
    cdef unsigned char buf[16]
    cdef const unsigned char *h = head
    cdef int i, n
    for i in range(6):
        buf[i] = h[i]
    n = 6 + _put_uint(buf + 6, t_ns)
    buf[n] = 0x80  # the empty map
    return (<char *>buf)[:n + 1]


cdef inline bytes _command(bytes head, str word, object t_ns, dict counts):
    if not counts and t_ns >= 0:
        return _idle_command(head, t_ns)
    return msgpack.packb([word, t_ns, counts])


cpdef bytes step_request(t_ns, dict expect):
    """``["STEP", t_ns, expect]`` as msgpack."""
    return _command(STEP_HEAD, "STEP", t_ns, expect)


cpdef bytes done_reply(t_ns, dict counts):
    """``["DONE", t_ns, counts]`` as msgpack."""
    return _command(DONE_HEAD, "DONE", t_ns, counts)


cpdef long long idle_step_t_ns(bytes msg):
    """t_ns of ``["STEP", t_ns, {}]`` packed as msgpack packs it, else -1 (unpack it then)."""
    cdef const unsigned char *p = msg
    cdef Py_ssize_t n = len(msg), width, i
    cdef unsigned long long v
    if n < 8 or p[n - 1] != 0x80 or msg[:6] != STEP_HEAD:
        return -1
    if p[6] < 0x80:
        width, v = 0, p[6]
    elif 0xcc <= p[6] <= 0xcf:
        width, v = 1 << (p[6] - 0xcc), 0
    else:
        return -1
    if n != 8 + width:
        return -1
    for i in range(width):
        v = (v << 8) | p[7 + i]
    if v >> 63:
        return -1
    return <long long>v


# -- the launcher ----------------------------------------------------------------------------
cdef inline double _monotonic_s():
    """``time.monotonic()`` (the same clock), without the call through Python."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cpdef bint a_child_exited():
    """Whether some child process has exited and not been reaped (one syscall, reaps nothing)."""
    cdef siginfo_t info
    memset(&info, 0, sizeof(info))  # WNOHANG leaves si_pid untouched when no child is waitable
    if waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0:
        return False  # ECHILD: no children at all
    return info.si_pid != 0


cdef dict _tick(run, long long t, list due, dict req, dict pending, subscribers_of):
    """Step the released apps; return how many messages each published.

    The answers are taken in order, each by a blocking receive of one slice; the
    first silence hands the apps still unanswered to the launcher's supervised
    wait (``ProcessRun._supervise``), which detects a crash or a hang and restarts.
    """
    cdef double sent_at = _monotonic_s()
    for name in due:
        p = pending[name]
        if p or t < 0:
            _send(req[name], step_request(t, {q: c for q, c in p.items() if c}))
            p.clear()
        else:
            _send(req[name], _idle_command(STEP_HEAD, t))
    cdef dict published = {}
    cdef bytes done_empty = _idle_command(DONE_HEAD, t) if t >= 0 else None
    cdef Py_ssize_t i
    for i in range(len(due)):
        name = due[i]
        try:
            reply = req[name].recv()
        except zmq.Again:
            return run._supervise(due[i:], sent_at, published)
        if reply != done_empty:
            count_published(name, msgpack.unpackb(reply)[2], published, pending, subscribers_of)
    return published


cpdef count_published(str name, dict counts, dict published, dict pending, subscribers_of):
    """Credit what ``name`` published to every subscriber's pending inputs."""
    if not counts:
        return
    published[name] = sum(counts.values())
    for topic, c in counts.items():
        for s in subscribers_of.get(topic, ()):
            pending[s][name] += c


def run_lockstep(run, Schedule schedule, long long t_end_ns, on_tick):
    """``ProcessRun.run``'s loop: every tick of ``schedule`` up to ``t_end_ns``."""
    cdef dict req = run.req  # the launcher replaces entries, never the dicts
    cdef dict pending = run.pending
    subscribers_of = run.subscribers_of  # a defaultdict
    cdef double pace = run.pace or 0.0
    cdef double wall0 = time.monotonic()
    cdef long long t0 = schedule.next_tick()
    cdef long long t
    cdef double delay
    while True:
        released = schedule.pop_due(t_end_ns)
        if released is None:
            return
        t = released[0]
        if pace > 0.0:
            delay = wall0 + (t - t0) / 1e9 / pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if a_child_exited():
            run._check_alive()
        published = _tick(run, t, released[1], req, pending, subscribers_of)
        if published:
            run._record(published)
        run.t_ns = t
        if on_tick is not None:
            on_tick(t)


# -- the node --------------------------------------------------------------------------------
cdef inline void _step(runner, run_step, pub, ctl, t_ns, list inputs) except *:
    """Step the app on ``inputs``, publish what it produced, answer DONE with the counts."""
    cdef dict counts = {}
    for frames in run_step(t_ns, inputs):
        if send_frames(pub, frames):
            head = bytes(frames[0])  # the topic, NUL-terminated
            topic = head[:len(head) - 1].decode("ascii")
            counts[topic] = counts.get(topic, 0) + 1
        else:
            runner.outputs_dropped += 1
    _send(ctl, done_reply(t_ns, counts))


def serve(node):
    """``Node.serve``'s loop: answer the launcher's requests until it says STOP or dies."""
    ctl = node.ctl
    pub = node.pub
    runner = node.runner
    run_step = runner.run_step
    collect = node.collect
    launcher_pid = node.launcher_pid
    cdef long long t_ns
    while True:
        try:
            msg = ctl.recv()
        except zmq.Again:
            if os.getppid() != launcher_pid:  # the launcher died: don't linger
                return
            continue
        t_ns = idle_step_t_ns(msg)
        if t_ns >= 0:  # the common request, read without unpacking
            _step(runner, run_step, pub, ctl, t_ns, [])
            continue
        cmd = msgpack.unpackb(msg)
        what = cmd[0]
        if what == "STEP":
            _step(runner, run_step, pub, ctl, cmd[1], collect(cmd[2]))
        elif what == "SYNC":
            node.on_sync(cmd[1], cmd[2])
        elif what == "HELLO":
            node.reply("HELLO", node.name, runner.boot, os.getpid())
        elif what == "STOP":
            node.reply("BYE")
            return
