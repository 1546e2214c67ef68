"""GNSS receiver: the chaser's own position and velocity (ECI J2000) with correlated errors.

Error model, per axis of N, for position and velocity alike:

    error(t_k) = x(t_k) + sigma_white n_k
    x(t_k) = phi x(t_{k-1}) + sigma_gm sqrt(1 - phi^2) w_k,   phi = exp(-dt / tau_gm)

a first-order Gauss-Markov process x (orbit/clock and ionospheric residuals of a single-frequency
receiver, correlated over minutes) of steady-state 1-sigma sigma_gm, discretised exactly over the
time dt since the previous fix, so its autocorrelation is exp(-lag / tau_gm) at any fix rate
(Brown & Hwang, "Introduction to Random Signals and Applied Kalman Filtering", 4th ed. 2012,
the first-order Gauss-Markov process and its exact discrete model), plus white noise;
x starts in its steady state. The receiver reports sigma = sqrt(sigma_white^2 + sigma_gm^2).

Outages (antenna masking, loss of lock) follow a two-state Markov chain: tracking -> outage at
rate 1 / mean_time_between_outages_s, outage -> tracking at rate 1 / mean_outage_s, with the
exact transition probabilities over dt, p = rate / (sum of rates) * (1 - exp(-sum dt)), and the
first state drawn from the chain's steady state. In an outage the receiver tracks fewer than 4
satellites (uniform 0..3) and has no fix; otherwise it tracks n_sats_min..n_sats_max (uniform),
the typical visible GPS count of a zenith antenna in LEO. The truth is taken at the fix epoch.

API:
    receiver = GnssReceiver(GnssConfig(), rng)           # draws the initial error and state
    reading = receiver.measure(t_ns, r_BN_N, v_BN_N, rng) # or receiver.poll(...)
    reading: GnssReading(t_meas_ns, r_BN_N, v_BN_N, sigma_r_m, sigma_v_mps, n_sats, valid),
    the GnssFix message's fields. receiver.in_outage, receiver.error_r_m, receiver.error_v_mps
    are the correlated truth states; receiver.set_fault("dropout" | "freeze" | None).
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hil.sensors.base import (SampledSensor, check_timing, finite_vector, require,
                              require_non_negative)

MIN_SATS_FOR_FIX = 4


@dataclass(frozen=True)
class GnssConfig:
    """A single-frequency L1 C/A receiver of the CubeSat/small-satellite class in single-point
    positioning: metre-level position and cm/s-level velocity at 1 Hz."""

    sigma_r_white_m: float = 3.0  # white position noise, per axis
    sigma_v_white_mps: float = 0.03  # white velocity noise, per axis
    sigma_r_gm_m: float = 2.0  # steady-state 1-sigma of the correlated position error
    sigma_v_gm_mps: float = 0.01  # steady-state 1-sigma of the correlated velocity error
    tau_gm_s: float = 600.0  # correlation time of both correlated errors
    mean_time_between_outages_s: float = 6 * 3600.0  # math.inf for none
    mean_outage_s: float = 120.0
    n_sats_min: int = 7
    n_sats_max: int = 12
    rate_hz: float = 1.0
    latency_s: float = 0.1
    dropout_probability: float = 0.0

    def __post_init__(self):
        check_timing(self)
        require_non_negative(self, ("sigma_r_white_m", "sigma_v_white_mps", "sigma_r_gm_m",
                                    "sigma_v_gm_mps"))
        require(self, "tau_gm_s", 0.0 < self.tau_gm_s < math.inf, "finite and > 0")
        require(self, "mean_time_between_outages_s", self.mean_time_between_outages_s > 0.0,
                "> 0 (math.inf for no outages)")
        require(self, "mean_outage_s", 0.0 < self.mean_outage_s < math.inf, "finite and > 0")
        require(self, "n_sats_min", MIN_SATS_FOR_FIX <= self.n_sats_min <= self.n_sats_max,
                f"in [{MIN_SATS_FOR_FIX}, n_sats_max]")
        require(self, "n_sats_max", self.n_sats_max <= 64, "<= 64")

    @property
    def sigma_r_m(self) -> float:
        return math.hypot(self.sigma_r_white_m, self.sigma_r_gm_m)

    @property
    def sigma_v_mps(self) -> float:
        return math.hypot(self.sigma_v_white_mps, self.sigma_v_gm_mps)

    @property
    def outage_rates_per_s(self) -> tuple:
        """(tracking -> outage, outage -> tracking) transition rates, 1/s."""
        return 1.0 / self.mean_time_between_outages_s, 1.0 / self.mean_outage_s


class GnssReading(NamedTuple):
    t_meas_ns: int
    r_BN_N: np.ndarray
    v_BN_N: np.ndarray
    sigma_r_m: float
    sigma_v_mps: float
    n_sats: int
    valid: bool


class GnssReceiver(SampledSensor):
    """The chaser's GNSS receiver; see the module docstring for the model."""

    def __init__(self, config: GnssConfig, rng: np.random.Generator):
        super().__init__(config)
        self.error_r_m = config.sigma_r_gm_m * rng.standard_normal(3)
        self.error_v_mps = config.sigma_v_gm_mps * rng.standard_normal(3)
        to_outage, to_tracking = config.outage_rates_per_s
        self.in_outage = bool(rng.random() < to_outage / (to_outage + to_tracking))

    def measure(self, t_ns, r_BN_N, v_BN_N, rng: np.random.Generator):
        """The receiver's fix at t_ns of the true position (m) and velocity (m/s), ECI."""
        dt_s = self._elapsed_s(t_ns)
        r_BN_N = finite_vector(r_BN_N, 3, "r_BN_N")
        v_BN_N = finite_vector(v_BN_N, 3, "v_BN_N")
        config = self.config
        self.in_outage = self._next_outage_state(dt_s, rng.random())
        phi = math.exp(-dt_s / config.tau_gm_s)
        drive = math.sqrt(-math.expm1(-2.0 * dt_s / config.tau_gm_s))
        self.error_r_m = phi * self.error_r_m + config.sigma_r_gm_m * drive \
            * rng.standard_normal(3)
        self.error_v_mps = phi * self.error_v_mps + config.sigma_v_gm_mps * drive \
            * rng.standard_normal(3)
        white_r = config.sigma_r_white_m * rng.standard_normal(3)
        white_v = config.sigma_v_white_mps * rng.standard_normal(3)
        n_tracking = int(rng.integers(config.n_sats_min, config.n_sats_max + 1))
        n_in_outage = int(rng.integers(0, MIN_SATS_FOR_FIX))
        if self.in_outage:
            reading = GnssReading(int(t_ns), np.zeros(3), np.zeros(3), config.sigma_r_m,
                                  config.sigma_v_mps, n_in_outage, False)
        else:
            reading = GnssReading(int(t_ns), r_BN_N + self.error_r_m + white_r,
                                  v_BN_N + self.error_v_mps + white_v, config.sigma_r_m,
                                  config.sigma_v_mps, n_tracking, True)
        return self._conclude(reading, rng)

    def _next_outage_state(self, dt_s, uniform) -> bool:
        """Outage state after dt_s: exact two-state Markov transition (see module docstring)."""
        to_outage, to_tracking = self.config.outage_rates_per_s
        total = to_outage + to_tracking
        settle = -math.expm1(-total * dt_s)
        if self.in_outage:
            return not uniform < to_tracking / total * settle
        return bool(uniform < to_outage / total * settle)

    def _invalid(self, reading):
        return reading._replace(r_BN_N=np.zeros(3), v_BN_N=np.zeros(3), valid=False)
