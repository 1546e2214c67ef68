"""The chaser's sensors as the plant models them: noise, biases, rate, latency, dropouts, faults.

Each sensor is built from its config (units in the field names) and the scenario's generator,
which draws its per-unit errors once; `measure(t_ns, <truth>, rng)` samples it now and
`poll(t_ns, <truth>, rng)` samples it on its own rate grid and returns the readings whose
latency has elapsed (hil.sensors.base). A reading is a NamedTuple whose fields are those of the
flightsw.msg.sensors message it fills: `Message(**reading._asdict())`.

StarTracker(StarTrackerConfig, rng)   .measure(t_ns, q_BN, s_sun_N, r_BN_N, rng)
Gyro(GyroConfig, rng)                 .measure(t_ns, omega_BN_B, rng)
GnssReceiver(GnssConfig, rng)         .measure(t_ns, r_BN_N, v_BN_N, rng)
Rangefinder(RangefinderConfig, rng)   .measure(t_ns, r_TB_N, q_BN, target_radius_m, rng)
every sensor                          .set_fault("dropout" | "freeze" | None)
"""

from hil.sensors.base import SENSOR_FAULTS
from hil.sensors.gnss import GnssConfig, GnssReading, GnssReceiver
from hil.sensors.gyro import Gyro, GyroConfig, GyroReading
from hil.sensors.rangefinder import Rangefinder, RangefinderConfig, RangefinderReading
from hil.sensors.star_tracker import StarTracker, StarTrackerConfig, StarTrackerReading

__all__ = [
    "SENSOR_FAULTS",
    "GnssConfig",
    "GnssReading",
    "GnssReceiver",
    "Gyro",
    "GyroConfig",
    "GyroReading",
    "Rangefinder",
    "RangefinderConfig",
    "RangefinderReading",
    "StarTracker",
    "StarTrackerConfig",
    "StarTrackerReading",
]
