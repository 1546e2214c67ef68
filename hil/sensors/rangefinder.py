"""Laser rangefinder: range to the target's near surface along the camera boresight.

Geometry. The beam is a cone of half-angle alpha about the boresight b (the camera boresight,
fixed in B); the target is a sphere of radius R whose centre is at r (target w.r.t. chaser, N)
at distance d, angular radius rho = asin(R / d), theta off the boresight. The beam meets the
sphere when theta <= alpha + rho; the first return then comes from the nearest point of the
sphere inside the cone, along the beam ray closest to the centre, delta = max(0, theta - alpha)
off it, at the ray-sphere distance

    range_true = d cos(delta) - sqrt(R^2 - d^2 sin^2(delta))

which is d - R, the near surface, when the centre is inside the beam. A return is valid only
for min_range_m <= range_true <= max_range_m (beyond max range the echo is below threshold).

Errors: range_meas = range_true + b + sigma(range) n, with a range bias b ~ N(0, bias_sigma_m^2)
drawn once (time-of-flight calibration residual) and sigma(range) = sigma_floor_m +
sigma_range_fraction * range, reported as sigma_m (evaluated at the measured range).

API:
    lrf = Rangefinder(RangefinderConfig(boresight_B=...), rng)       # draws the bias
    reading = lrf.measure(t_ns, r_TB_N, q_BN, target_radius_m, rng)  # or lrf.poll(...)
    reading: RangefinderReading(t_meas_ns, range_m, sigma_m, valid), the RangefinderRange
    message's fields; r_TB_N is the target's centre w.r.t. the chaser (m, ECI), q_BN the true
    attitude. lrf.set_fault("dropout" | "freeze" | None).
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hil.attitude.quaternion import quat_to_dcm
from hil.sensors.base import (SampledSensor, angle_between, check_timing, finite_vector, require,
                              require_non_negative, unit_quaternion, vector_norm)


@dataclass(frozen=True)
class RangefinderConfig:
    """A compact pulsed time-of-flight laser rangefinder module (eye-safe, a few km on a
    satellite-size target, decimetre noise), representative of that class rather than one
    datasheet. The plant sets boresight_B to the camera boresight in B."""

    boresight_B: tuple = (0.0, 0.0, 1.0)  # unit beam axis in B (the camera boresight)
    beam_half_angle_deg: float = 0.1  # half-angle of the beam (and receiver field)
    min_range_m: float = 1.0
    max_range_m: float = 5000.0
    sigma_floor_m: float = 0.1  # range-independent 1-sigma noise
    sigma_range_fraction: float = 1e-4  # 1-sigma noise per metre of range (0.01 %)
    bias_sigma_m: float = 0.05  # 1-sigma range bias, drawn once
    rate_hz: float = 2.0
    latency_s: float = 0.02
    dropout_probability: float = 0.02

    def __post_init__(self):
        check_timing(self)
        require_non_negative(self, ("sigma_floor_m", "sigma_range_fraction", "bias_sigma_m",
                                    "min_range_m"))
        require(self, "beam_half_angle_deg", 0.0 < self.beam_half_angle_deg < 45.0,
                "in (0, 45) deg")
        require(self, "max_range_m", self.min_range_m < self.max_range_m <= 1e6,
                "in (min_range_m, 1e6] m")
        boresight = finite_vector(self.boresight_B, 3, "RangefinderConfig.boresight_B")
        require(self, "boresight_B", abs(np.linalg.norm(boresight) - 1.0) < 1e-9,
                "a unit vector")

    def sigma_m(self, range_m: float) -> float:
        """1-sigma range noise (m) at range_m (m)."""
        return self.sigma_floor_m + self.sigma_range_fraction * range_m


class RangefinderReading(NamedTuple):
    t_meas_ns: int
    range_m: float
    sigma_m: float
    valid: bool


class Rangefinder(SampledSensor):
    """A laser rangefinder along the camera boresight; see the module docstring."""

    def __init__(self, config: RangefinderConfig, rng: np.random.Generator):
        super().__init__(config)
        self.boresight_B = np.asarray(config.boresight_B, dtype=np.float64)
        self.bias_m = config.bias_sigma_m * float(rng.standard_normal())
        self._beam_half_angle_rad = math.radians(config.beam_half_angle_deg)

    def first_return_m(self, r_TB_N, q_BN, target_radius_m):
        """True range (m) to the first return from the sphere, or None when the beam misses."""
        distance_m = vector_norm(r_TB_N)
        boresight_N = quat_to_dcm(q_BN).T @ self.boresight_B
        off_axis = angle_between(boresight_N, r_TB_N)
        angular_radius = math.asin(target_radius_m / distance_m)
        alpha = self._beam_half_angle_rad
        if off_axis > alpha + angular_radius:
            return None
        delta = max(0.0, off_axis - alpha)
        chord_half_sq = target_radius_m ** 2 - (distance_m * math.sin(delta)) ** 2
        return distance_m * math.cos(delta) - math.sqrt(max(chord_half_sq, 0.0))

    def measure(self, t_ns, r_TB_N, q_BN, target_radius_m, rng: np.random.Generator):
        """The rangefinder's return at t_ns (see module docstring)."""
        self._elapsed_s(t_ns)
        r_TB_N = finite_vector(r_TB_N, 3, "r_TB_N")
        q_BN = unit_quaternion(q_BN)
        if not 0.0 <= target_radius_m < math.inf:
            raise ValueError(f"target_radius_m must be finite and >= 0, got {target_radius_m!r}")
        if not vector_norm(r_TB_N) > target_radius_m:
            raise ValueError("the chaser is inside the target sphere: |r_TB_N| <= target_radius_m")
        noise = float(rng.standard_normal())
        range_true_m = self.first_return_m(r_TB_N, q_BN, target_radius_m)
        config = self.config
        if range_true_m is None or not config.min_range_m <= range_true_m <= config.max_range_m:
            reading = RangefinderReading(int(t_ns), 0.0, config.sigma_m(0.0), False)
        else:
            range_m = max(range_true_m + self.bias_m + config.sigma_m(range_true_m) * noise, 0.0)
            reading = RangefinderReading(int(t_ns), range_m, config.sigma_m(range_m), True)
        return self._conclude(reading, rng)

    def _invalid(self, reading):
        return reading._replace(range_m=0.0, valid=False)
