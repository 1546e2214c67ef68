"""Uplink from ground operations: what the operators tell the vehicle."""
from flightsw.msg.schema import Field, Message


class TargetCue(Message):
    """The target's planned insertion orbit with its stated uncertainty — not the truth."""

    TOPIC = "ground.cue"
    VERSION = 1
    FIELDS = (
        Field.u64("epoch_ns", "ns", "sim time the state refers to"),
        Field.vec("r_TN_N", "m", "planned target position, ECI J2000", 3, lo=-1e8, hi=1e8),
        Field.vec("v_TN_N", "m/s", "planned target velocity, ECI J2000", 3, lo=-2e4, hi=2e4),
        Field.vec("P_rv", "m^2, m^2/s, m^2/s^2", "6x6 covariance of [r_TN_N, v_TN_N]", (6, 6),
                  lo=-1e16, hi=1e16),
        Field.f64("radius_m", "m", "nominal target size (radius of the enclosing sphere)",
                  lo=0.0, hi=100.0),
    )


class GroundCommand(Message):
    """A command from the operators. Each is answered by the mission manager (accepted or not)."""

    TOPIC = "ground.command"
    VERSION = 1
    FIELDS = (
        Field.u64("cmd_id", "count", "operator's command counter"),
        Field.text("opcode", "what to do", choices=("go", "hold", "resume", "abort")),
        Field.f64("argument", "1", "opcode-specific argument (0 if none)", lo=-1e9, hi=1e9),
    )
