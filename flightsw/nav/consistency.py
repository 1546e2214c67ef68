"""Consistency of the relative filter, from its bearing innovations, for fault detection.

For a consistent filter each accepted bearing's NIS is chi-square with 2 degrees of freedom, and
the mean of n of them is chi2(2n) / n (Bar-Shalom, Li & Kirubarajan 2001, sec. 5.4). The filter
is declared diverged when the moving average over a full window exceeds its
``divergence_probability`` bound, or when ``max_consecutive_gated`` bearings in a row fail the
gate (a filter that has lost the target rejects everything and its average stays quiet).
"""
from collections import deque

import numpy as np
from scipy.stats import chi2


class BearingConsistency:
    """Counts, moving-average NIS and the divergence flag of the bearing updates."""

    def __init__(self, window: int = 20, divergence_probability: float = 0.999,
                 max_consecutive_gated: int = 10):
        if window < 1 or max_consecutive_gated < 1 or not 0.0 < divergence_probability < 1.0:
            raise ValueError("window and max_consecutive_gated >= 1, probability in (0, 1)")
        self.recent = deque(maxlen=window)
        self.bound = float(chi2.ppf(divergence_probability, 2 * window) / window)
        self.max_consecutive_gated = max_consecutive_gated
        self.nis_last = float("nan")
        self.used = 0
        self.gated = 0
        self.consecutive_gated = 0

    def record(self, nis: float, accepted: bool) -> None:
        self.nis_last = float(nis)
        if accepted:
            self.used += 1
            self.consecutive_gated = 0
            self.recent.append(float(nis))
        else:
            self.gated += 1
            self.consecutive_gated += 1

    @property
    def nis_average(self) -> float:
        return float(np.mean(self.recent)) if self.recent else float("nan")

    @property
    def diverged(self) -> bool:
        window_full = len(self.recent) == self.recent.maxlen
        return bool((window_full and self.nis_average > self.bound)
                    or self.consecutive_gated >= self.max_consecutive_gated)

    def reset(self) -> None:
        """Forget the history (the filter was re-initialised); the counters are kept."""
        self.recent.clear()
        self.consecutive_gated = 0
