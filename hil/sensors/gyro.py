"""Rate gyro triad: body rate with Farrenkopf noise, scale factor, misalignment and saturation.

Error model (Farrenkopf, J. Guidance and Control 1(4), 1978; discrete form from Markley &
Crassidis, "Fundamentals of Spacecraft Attitude Determination and Control", 2014, p. 147):

    omega_meas(t_k) = M omega_true(t_k) + (beta_k + beta_{k-1}) / 2
                      + sqrt(sigma_v^2 / dt + sigma_u^2 dt / 12) n_v
    beta_k = beta_{k-1} + sigma_u sqrt(dt) n_u,          n_v, n_u ~ N(0, I3)

with dt the time since the previous sample: the continuous model omega + beta + eta_v,
d(beta)/dt = eta_u (white eta_v, eta_u of spectral densities sigma_v^2, sigma_u^2) integrated
exactly over the sample interval, so the angle error of integrated samples grows with variance
sigma_v^2 t + sigma_u^2 t^3 / 3 per axis, and the Allan variance is
sigma_v^2 / tau + sigma_u^2 tau / 3 (IEEE Std 952-1997, Annex C). The output is the mean rate
over the interval; the truth rate is taken at the sample instant.

M = I + diag(scale errors) + off-diagonal axis misalignments, drawn once, as is the turn-on
bias beta_0 ~ N(0, bias_initial_sigma^2). A sample beyond the measurement range on any axis is
clipped to the range and flagged invalid (the over-range status bit of the unit).

API:
    gyro = Gyro(GyroConfig(), rng)                       # draws M and beta_0
    reading = gyro.measure(t_ns, omega_BN_B, rng)        # or gyro.poll(...)
    reading: GyroReading(t_meas_ns, omega_BN_B (3,), valid), the GyroRate message's fields
    gyro.bias_rad_s (truth, for recording), gyro.set_fault("dropout" | "freeze" | None)
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hil.sensors.base import (SampledSensor, check_timing, finite_vector, require,
                              require_non_negative)

DEG_PER_HOUR = math.radians(1.0) / 3600.0


@dataclass(frozen=True)
class GyroConfig:
    """A tactical-grade MEMS gyro triad, of the class of the Safran Sensonor STIM300 datasheet
    (ARW 0.15 deg/sqrt(h), bias instability 0.3 deg/h, +-400 deg/s, scale factor 500 ppm,
    misalignment 1 mrad). The datasheet gives no rate random walk: sigma_u is set so the bias
    wanders by about the bias instability (0.3 deg/h) in half an hour."""

    sigma_v_rad_per_sqrt_s: float = 0.15 * math.radians(1.0) / 60.0  # angle random walk
    sigma_u_rad_per_s_sqrt_s: float = 0.3 * DEG_PER_HOUR / math.sqrt(1800.0)  # rate random walk
    bias_initial_sigma_rad_s: float = 5.0 * DEG_PER_HOUR  # turn-on bias, per axis
    scale_factor_sigma: float = 500e-6
    misalignment_sigma_rad: float = 1e-3
    max_rate_rad_s: float = math.radians(400.0)
    rate_hz: float = 10.0
    latency_s: float = 0.005
    dropout_probability: float = 0.0

    def __post_init__(self):
        check_timing(self)
        require_non_negative(self, ("sigma_v_rad_per_sqrt_s", "sigma_u_rad_per_s_sqrt_s",
                                    "bias_initial_sigma_rad_s", "scale_factor_sigma",
                                    "misalignment_sigma_rad"))
        require(self, "max_rate_rad_s", 0.0 < self.max_rate_rad_s < math.inf, "finite and > 0")


class GyroReading(NamedTuple):
    t_meas_ns: int
    omega_BN_B: np.ndarray
    valid: bool


class Gyro(SampledSensor):
    """A three-axis rate gyro; see the module docstring for the model."""

    def __init__(self, config: GyroConfig, rng: np.random.Generator):
        super().__init__(config)
        off_diagonal = ~np.eye(3, dtype=bool)
        self.misalignment = np.eye(3) + np.diag(config.scale_factor_sigma
                                                * rng.standard_normal(3))
        self.misalignment[off_diagonal] = config.misalignment_sigma_rad * rng.standard_normal(6)
        self.bias_rad_s = config.bias_initial_sigma_rad_s * rng.standard_normal(3)

    def measure(self, t_ns, omega_BN_B, rng: np.random.Generator):
        """The gyro's sample at t_ns of the true body rate omega_BN_B (rad/s, B)."""
        dt_s = self._elapsed_s(t_ns)
        omega_BN_B = finite_vector(omega_BN_B, 3, "omega_BN_B")
        sigma_v, sigma_u = (self.config.sigma_v_rad_per_sqrt_s,
                            self.config.sigma_u_rad_per_s_sqrt_s)
        bias_before = self.bias_rad_s
        self.bias_rad_s = bias_before + sigma_u * math.sqrt(dt_s) * rng.standard_normal(3)
        noise = math.sqrt(sigma_v ** 2 / dt_s + sigma_u ** 2 * dt_s / 12.0) \
            * rng.standard_normal(3)
        omega = self.misalignment @ omega_BN_B + 0.5 * (bias_before + self.bias_rad_s) + noise
        limit = self.config.max_rate_rad_s
        in_range = all(abs(rate) <= limit for rate in omega.tolist())
        if not in_range:
            omega = np.clip(omega, -limit, limit)
        reading = GyroReading(int(t_ns), omega, in_range)
        return self._conclude(reading, rng)

    def _invalid(self, reading):
        return reading._replace(omega_BN_B=np.zeros(3), valid=False)
