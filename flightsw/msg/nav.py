"""Navigation outputs: the vehicle's own attitude and orbit estimates."""
from flightsw.msg.schema import Field, Message


class AttitudeEstimate(Message):
    """Attitude filter output (star tracker + gyro)."""

    TOPIC = "nav.attitude"
    VERSION = 1
    FIELDS = (
        Field.u64("t_est_ns", "ns", "sim time the estimate refers to"),
        Field.vec("q_BN", "1", "estimated attitude of B w.r.t. ECI J2000, scalar first", 4,
                  lo=-1.0, hi=1.0),
        Field.vec("omega_BN_B", "rad/s", "estimated body rate (gyro less estimated bias)", 3,
                  lo=-20.0, hi=20.0),
        Field.vec("P_att", "rad^2", "3x3 covariance of the small-angle attitude error, in B",
                  (3, 3), lo=-10.0, hi=10.0),
        Field.boolean("valid", "the filter is initialised and converged"),
    )
