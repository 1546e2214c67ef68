"""Sensor data as the hardware interfaces deliver it to the flight software."""
from flightsw.msg.schema import Field, Message


class CameraFrame(Message):
    """One exposure of the navigation camera. Pixels travel as a separate zero-copy frame."""

    TOPIC = "sensor.camera.frame"
    VERSION = 1
    FIELDS = (
        Field.u64("frame_id", "count", "frame counter of the camera"),
        Field.u64("t_exposure_start_ns", "ns", "sim time the exposure opened"),
        Field.f64("exposure_s", "s", "integration time", lo=0.0, hi=60.0),
        Field.f64("gain_e_per_dn", "e-/DN", "conversion gain", lo=1e-3, hi=1e3),
        Field.array("image", "DN", "pixel values, row-major, row 0 at the top",
                    dtypes=("<u2",), max_shape=(4096, 4096)),
    )


class StarTrackerAttitude(Message):
    """Attitude solution of the star tracker, already rotated into the body frame."""

    TOPIC = "sensor.star_tracker"
    VERSION = 1
    FIELDS = (
        Field.u64("t_meas_ns", "ns", "sim time the solution refers to"),
        Field.vec("q_BN", "1", "measured attitude of body B w.r.t. ECI J2000 N, scalar first",
                  4, lo=-1.0, hi=1.0),
        Field.f64("sigma_cross_rad", "rad", "1-sigma noise about the cross-boresight axes",
                  lo=0.0, hi=1.0),
        Field.f64("sigma_roll_rad", "rad", "1-sigma noise about the boresight", lo=0.0, hi=1.0),
        Field.boolean("valid", "a solution (not blinded, enough stars); q_BN is meaningless if not"),
    )


class GyroRate(Message):
    """Body rate from the inertial measurement unit's gyros."""

    TOPIC = "sensor.gyro"
    VERSION = 1
    FIELDS = (
        Field.u64("t_meas_ns", "ns", "sim time of the sample"),
        Field.vec("omega_BN_B", "rad/s", "angular rate of B w.r.t. N, in B", 3, lo=-20.0, hi=20.0),
        Field.boolean("valid", "sample valid"),
    )


class GnssFix(Message):
    """Navigation solution of the chaser's GNSS receiver (ECI J2000)."""

    TOPIC = "sensor.gnss"
    VERSION = 1
    FIELDS = (
        Field.u64("t_meas_ns", "ns", "sim time of the fix"),
        Field.vec("r_BN_N", "m", "chaser position, ECI J2000", 3, lo=-1e8, hi=1e8),
        Field.vec("v_BN_N", "m/s", "chaser velocity, ECI J2000", 3, lo=-2e4, hi=2e4),
        Field.f64("sigma_r_m", "m", "1-sigma position noise per axis", lo=0.0, hi=1e5),
        Field.f64("sigma_v_mps", "m/s", "1-sigma velocity noise per axis", lo=0.0, hi=1e3),
        Field.u64("n_sats", "count", "satellites used", hi=64),
        Field.boolean("valid", "a fix; r and v are meaningless if not"),
    )


class RangefinderRange(Message):
    """Laser rangefinder return along its boresight (the camera boresight)."""

    TOPIC = "sensor.rangefinder"
    VERSION = 1
    FIELDS = (
        Field.u64("t_meas_ns", "ns", "sim time of the return"),
        Field.f64("range_m", "m", "range to the first return", lo=0.0, hi=1e6),
        Field.f64("sigma_m", "m", "1-sigma range noise", lo=0.0, hi=1e3),
        Field.boolean("valid", "a return above threshold; range is meaningless if not"),
    )


class WheelSpeeds(Message):
    """Reaction wheel tachometers, as angular momentum about each spin axis."""

    TOPIC = "sensor.wheels"
    VERSION = 1
    FIELDS = (
        Field.u64("t_meas_ns", "ns", "sim time of the sample"),
        Field.vec("momentum_Nms", "N m s", "momentum of each of the 4 wheels", 4, lo=-10.0,
                  hi=10.0),
        Field.boolean("valid", "sample valid"),
    )
