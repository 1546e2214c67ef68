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


class OrbitEstimate(Message):
    """The chaser's own orbit from the GNSS filter."""

    TOPIC = "nav.orbit"
    VERSION = 1
    FIELDS = (
        Field.u64("t_est_ns", "ns", "sim time the estimate refers to"),
        Field.vec("r_BN_N", "m", "chaser position, ECI J2000", 3, lo=-1e8, hi=1e8),
        Field.vec("v_BN_N", "m/s", "chaser velocity, ECI J2000", 3, lo=-2e4, hi=2e4),
        Field.vec("P_rv", "m^2, m^2/s, m^2/s^2", "6x6 covariance of [r, v]", (6, 6),
                  lo=-1e16, hi=1e16),
        Field.boolean("valid", "the filter is initialised"),
    )


class RelativeState(Message):
    """The relative navigation filter's estimate of the target with respect to the chaser.

    Position and velocity of the chaser C relative to the target T, in the target's RTN frame
    (R radial, T along-track, N orbit normal; velocity as seen in that rotating frame), and the
    same state as quasi-nonsingular relative orbital elements (D'Amico 2010):
    [a da/a, d lambda, de_x, de_y, di_x, di_y] (dimensionless; multiply by a for metres).
    """

    TOPIC = "nav.relative"
    VERSION = 1
    FIELDS = (
        Field.u64("t_est_ns", "ns", "sim time the estimate refers to"),
        Field.vec("r_CT_rtn", "m", "chaser position relative to the target, target RTN", 3,
                  lo=-1e8, hi=1e8),
        Field.vec("v_CT_rtn", "m/s", "chaser velocity relative to the target, target RTN", 3,
                  lo=-2e4, hi=2e4),
        Field.vec("P_rtn", "m^2, m^2/s, m^2/s^2", "6x6 covariance of [r_CT_rtn, v_CT_rtn]",
                  (6, 6), lo=-1e18, hi=1e18),
        Field.vec("roe", "1", "relative orbital elements [da, dlambda, dex, dey, dix, diy]", 6,
                  lo=-10.0, hi=10.0),
        Field.vec("P_roe", "1", "6x6 covariance of roe", (6, 6), lo=-100.0, hi=100.0),
        Field.f64("range_m", "m", "estimated range", lo=0.0),
        Field.f64("range_sigma_m", "m", "1-sigma range uncertainty", lo=0.0),
        Field.boolean("valid", "the filter is initialised"),
    )


class NavHealth(Message):
    """Consistency of the navigation filters, for fault detection."""

    TOPIC = "nav.health"
    VERSION = 1
    FIELDS = (
        Field.f64("nis_bearing", "1", "normalised innovation squared of the last bearing",
                  lo=0.0, allow_nan=True),
        Field.f64("nis_bearing_avg", "1", "moving average of the bearing NIS (expect ~2)",
                  lo=0.0, allow_nan=True),
        Field.u64("bearings_used", "count", "bearings accepted, cumulative"),
        Field.u64("bearings_gated", "count", "bearings rejected by the innovation gate"),
        Field.u64("measurements_rejected", "count", "NaN, stale or out-of-order measurements"),
        Field.boolean("diverged", "the relative filter failed its consistency test"),
    )
