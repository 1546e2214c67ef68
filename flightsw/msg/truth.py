"""Plant truth. Recorded apart from flight messages; no flight app may subscribe to it.

Defined here only because every message type is defined in one module; the
``TRUTH`` flag makes the runtime refuse it to any app in ``flightsw``.
"""
from flightsw.msg.actuators import N_WHEELS
from flightsw.msg.schema import Field, Message


class TruthState(Message):
    """True state of chaser (B) and target (T) at the plant's step."""

    TOPIC = "truth.state"
    VERSION = 1
    TRUTH = True
    FIELDS = (
        Field.vec("r_BN_N", "m", "chaser position, ECI J2000", 3),
        Field.vec("v_BN_N", "m/s", "chaser velocity, ECI J2000", 3),
        Field.vec("q_BN", "1", "chaser attitude, scalar first", 4),
        Field.vec("omega_BN_B", "rad/s", "chaser body rate", 3),
        Field.vec("h_wheels_Nms", "N m s", "reaction wheel momenta about their spin axes",
                  N_WHEELS),
        Field.f64("propellant_kg", "kg", "propellant left", lo=0.0),
        Field.vec("r_TN_N", "m", "target position, ECI J2000", 3),
        Field.vec("v_TN_N", "m/s", "target velocity, ECI J2000", 3),
    )
