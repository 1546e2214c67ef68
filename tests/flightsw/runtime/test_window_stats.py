"""The step-time figures of health.app_timing against numpy's median and percentile."""
import numpy as np
from hypothesis import given, strategies as st

from flightsw.runtime.runner import window_stats_us


@given(st.lists(st.integers(0, 10**11), min_size=1, max_size=300))
def test_window_stats_equal_numpy_median_p99_and_max(step_ns):
    us = np.asarray(step_ns, dtype=np.float64) / 1e3
    median, p99, top = window_stats_us(step_ns)
    np.testing.assert_allclose([median, p99, top],
                               [np.median(us), np.percentile(us, 99), us.max()],
                               rtol=1e-12, atol=1e-9)


def test_an_empty_window_reports_zeros():
    assert window_stats_us([]) == (0.0, 0.0, 0.0)
