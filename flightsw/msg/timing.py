"""Time distribution: the time master's tone, as a real vehicle's time card would send it."""
from flightsw.msg.schema import Field, Message


class TimeTone(Message):
    """Periodic time tone: vehicle time and the tone count."""

    TOPIC = "time.tone"
    VERSION = 1
    FIELDS = (
        Field.u64("tone", "count", "tones since the scenario epoch"),
        Field.u64("vehicle_time_ns", "ns", "sim time of the tone since the scenario epoch"),
    )
