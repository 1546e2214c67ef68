"""When each app steps: rate-monotonic release times on the integer-nanosecond sim clock.

Both topologies run the compiled ``Schedule`` (``_lockstep.pyx``, on the lockstep hot
path); ``ReferenceSchedule`` is its plain-Python reference, which the tests compare it to.
"""
from __future__ import annotations

from flightsw.native import require

Schedule = require("flightsw.runtime._lockstep").Schedule


class ReferenceSchedule:
    """Release times of a set of apps, each stepping every ``period_ns`` from ``t0_ns``.

    Ticks are the union of the apps' release times, so a 0.01 Hz app costs
    nothing between its releases and a run over days visits only the instants
    at which some app has work.
    """

    def __init__(self, periods_ns: dict[str, int], t0_ns: int = 0):
        if any(p <= 0 for p in periods_ns.values()):
            raise ValueError("periods must be positive")
        if not periods_ns:
            raise ValueError("a schedule needs at least one app")
        self.periods_ns = dict(periods_ns)
        self._names = sorted(periods_ns)
        self._next = {name: t0_ns for name in self._names}

    def next_tick(self) -> int:
        return min(self._next.values())

    def pop_due(self, t_end_ns: int | None = None) -> tuple[int, list[str]] | None:
        """The next tick and the apps released at it (sorted by name); advance them.

        None, and nothing advanced, if the next tick lies beyond ``t_end_ns``.
        """
        nxt = self._next
        t = min(nxt.values())
        if t_end_ns is not None and t > t_end_ns:
            return None
        due = [n for n in self._names if nxt[n] == t]
        for n in due:
            nxt[n] = t + self.periods_ns[n]
        return t, due
