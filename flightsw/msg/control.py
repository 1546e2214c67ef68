"""Control outputs for the rest of the vehicle: what the thrusters actually delivered."""
from flightsw.msg.schema import Field, Message


class BurnReport(Message):
    """A burn as executed (from the allocator's realised thrusts), so navigation can use it."""

    TOPIC = "control.burn"
    VERSION = 1
    FIELDS = (
        Field.u64("burn_id", "count", "the BurnCommand this executes"),
        Field.u64("t_start_ns", "ns", "sim time the first pulse opened"),
        Field.u64("t_end_ns", "ns", "sim time the last pulse closed"),
        Field.vec("dv_N", "m/s", "delta-v delivered, ECI J2000 (commanded thrust / mass)", 3,
                  lo=-50.0, hi=50.0),
        Field.f64("sigma_dv_mps", "m/s", "1-sigma per-axis uncertainty of dv_N", lo=0.0, hi=50.0),
    )
