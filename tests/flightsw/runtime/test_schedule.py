"""The schedule releases each app exactly at multiples of its period, and only then."""
import pytest
from hypothesis import given, strategies as st

from flightsw.runtime.schedule import ReferenceSchedule, Schedule

PERIODS = st.dictionaries(st.sampled_from("abcdef"), st.integers(1, 50), min_size=1)


@pytest.mark.parametrize("cls", [Schedule, ReferenceSchedule])
@given(periods=PERIODS, horizon=st.integers(1, 400))
def test_every_app_is_released_at_every_multiple_of_its_period_and_nowhere_else(
        cls, periods, horizon):
    sched = cls(periods)
    seen = {n: [] for n in periods}
    ticks = []
    while sched.next_tick() <= horizon:
        t, due = sched.pop_due()
        assert due == sorted(due) and due
        ticks.append(t)
        for n in due:
            seen[n].append(t)
    assert ticks == sorted(set(ticks))
    for n, p in periods.items():
        assert seen[n] == list(range(0, horizon + 1, p))


@given(periods=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3),
                               st.integers(1, 10**12), min_size=1, max_size=8),
       t0_ns=st.integers(0, 10**15), ends=st.lists(st.integers(0, 5 * 10**12), max_size=30))
def test_compiled_schedule_releases_exactly_as_the_reference(periods, t0_ns, ends):
    compiled, reference = Schedule(periods, t0_ns), ReferenceSchedule(periods, t0_ns)
    for end in ends:
        assert compiled.pop_due(t0_ns + end) == reference.pop_due(t0_ns + end)
        assert compiled.next_tick() == reference.next_tick()


@pytest.mark.parametrize("cls", [Schedule, ReferenceSchedule])
@pytest.mark.parametrize("periods", [{}, {"a": 0}, {"a": 5, "b": -1}])
def test_a_schedule_without_apps_or_with_a_non_positive_period_is_refused(cls, periods):
    with pytest.raises(ValueError):
        cls(periods)
