"""The schedule releases each app exactly at multiples of its period, and only then."""
from hypothesis import given, strategies as st

from flightsw.runtime.schedule import Schedule


@given(st.dictionaries(st.sampled_from("abcdef"), st.integers(1, 50), min_size=1),
       st.integers(1, 400))
def test_every_app_is_released_at_every_multiple_of_its_period_and_nowhere_else(periods, horizon):
    sched = Schedule(periods)
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
