"""Consistency of the relative filter, from its bearing innovations, for fault detection.

For a consistent filter each accepted bearing's NIS is chi-square with 2 degrees of freedom, and
the mean of n of them is chi2(2n) / n (Bar-Shalom, Li & Kirubarajan 2001, sec. 5.4). The filter
fails its test when the moving average over a full window of accepted bearings exceeds its
``divergence_probability`` bound, or when ``max_consecutive_gated`` bearings in a row fail the
gate (a filter that has lost the target rejects everything and its average stays quiet).

Evidence expires. A bearing older than ``memory_s`` before the newest instant the filter has
reached (``advance``) no longer counts: it leaves the average and the run of gated bearings.
When the bearings stop (the target in eclipse, the track lost) the test therefore decays to
"no information" (not diverged, average NaN) instead of holding its last verdict for hours.

Recovery. When the test fails, the app resets the filter's covariance around its estimate
(``RelativeFilter.inflate_target``) and calls ``begin_recovery``: the old innovations, judged
against the old covariance, are forgotten, and the filter is reported diverged until a full
window of new bearings has been judged (then the test alone decides), or until no bearing
has come for ``memory_s`` (no information).
"""
import math
from collections import deque

from scipy.stats import chi2

from flightsw.nav.ekf import NS_PER_S


class BearingConsistency:
    """Counts, moving-average NIS and the divergence flag of the bearing updates."""

    def __init__(self, window: int = 20, memory_s: float = 1200.0,
                 divergence_probability: float = 0.999, max_consecutive_gated: int = 10):
        if window < 1 or max_consecutive_gated < 1 or not 0.0 < divergence_probability < 1.0:
            raise ValueError("window and max_consecutive_gated >= 1, probability in (0, 1)")
        if not memory_s > 0.0:
            raise ValueError(f"memory_s must be positive, got {memory_s!r}")
        self.window = window
        self.memory_ns = int(round(memory_s * NS_PER_S))
        self.bound = float(chi2.ppf(divergence_probability, 2 * window) / window)
        self.max_consecutive_gated = max_consecutive_gated
        self.recent: deque[tuple[int, float]] = deque(maxlen=window)   # (t_ns, nis) accepted
        self.gated_run: deque[int] = deque(maxlen=max_consecutive_gated)   # t_ns, since one was
        self.nis_last = float("nan")
        self.used = 0
        self.gated = 0
        self.resets = 0
        self.t_ns = -1
        self.t_last_bearing_ns = -1
        self.recovering_since_ns: int | None = None

    def record(self, t_ns: int, nis: float, accepted: bool, counted: bool = True) -> None:
        """A bearing at t_ns: its NIS and whether the gate accepted it; not counted in the
        cumulative counts when it is one already counted, judged again."""
        self.nis_last = float(nis)
        self.t_last_bearing_ns = max(self.t_last_bearing_ns, int(t_ns))
        if accepted:
            self.used += counted
            self.gated_run.clear()
            self.recent.append((int(t_ns), float(nis)))
        else:
            self.gated += counted
            self.gated_run.append(int(t_ns))
        self.advance(t_ns)
        if self.recovering_since_ns is not None and len(self.recent) == self.window:
            self.recovering_since_ns = None

    def advance(self, t_ns: int) -> None:
        """The filter has reached t_ns: evidence older than memory_s before it expires."""
        self.t_ns = max(self.t_ns, int(t_ns))
        oldest_ns = self.t_ns - self.memory_ns
        while self.recent and self.recent[0][0] < oldest_ns:
            self.recent.popleft()
        while self.gated_run and self.gated_run[0] < oldest_ns:
            self.gated_run.popleft()
        if self.recovering_since_ns is not None and \
                max(self.recovering_since_ns, self.t_last_bearing_ns) < oldest_ns:
            self.recovering_since_ns = None

    @property
    def nis_average(self) -> float:
        """Mean NIS of the accepted bearings still in memory (NaN with none)."""
        if not self.recent:
            return float("nan")
        return math.fsum(nis for _, nis in self.recent) / len(self.recent)

    @property
    def failing(self) -> bool:
        """The evidence in memory fails the test (a full window too high, or a gated run)."""
        window_full = len(self.recent) == self.window
        return bool((window_full and self.nis_average > self.bound)
                    or len(self.gated_run) >= self.max_consecutive_gated)

    @property
    def diverged(self) -> bool:
        """Failing, or recovering from a covariance reset."""
        return self.failing or self.recovering_since_ns is not None

    def begin_recovery(self, t_ns: int) -> None:
        """The filter's covariance was reset at t_ns: judge it afresh, diverged meanwhile."""
        self.resets += 1
        self.recent.clear()
        self.gated_run.clear()
        self.recovering_since_ns = int(t_ns)

    def reset(self) -> None:
        """Forget the history (the filter was re-initialised); the counters are kept."""
        self.recent.clear()
        self.gated_run.clear()
        self.recovering_since_ns = None
