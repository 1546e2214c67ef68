"""The bench's time card: distributes the time tone, as the plant's clock will."""
from __future__ import annotations

from flightsw.msg import TimeTone
from flightsw.runtime.app import App


class TimeCard(App):
    """Publishes a time tone every period with the sim time it was sent at."""

    PUBLISHES = (TimeTone,)
    RATE_HZ = 1.0

    def reset(self) -> None:
        self.tones = 0

    def step(self, t_ns: int, inbox) -> list:
        tone = TimeTone(tone=self.tones, vehicle_time_ns=t_ns)
        self.tones += 1
        return [tone]
