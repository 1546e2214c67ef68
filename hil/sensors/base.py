"""What every plant sensor shares: its sample grid, its latency, random dropouts and faults.

Timing. A sensor samples truth on the grid t_k = k * period_ns of sim time (period = 1 /
rate_hz, whole nanoseconds). A reading is stamped with the instant it refers to, t_meas_ns,
and reaches the bus latency_ns later, as a real unit's solution is time-tagged at its
measurement epoch and delivered after processing and transfer. `poll(t_ns, <truth at t_ns>,
rng)`, called by the plant every step, takes a sample when one is due (at the first step at
or after a grid instant; the truth is the step's, so a plant step coarser than the period
lowers the rate to the step's) and returns every reading whose delivery time has come.
`measure(t_ns, <truth>, rng)` takes one sample now; it is what `poll` calls.

Dropouts. Each sample independently comes out invalid with probability
`dropout_probability` (a missed star-field solution, a lost laser return, a skipped fix).

Faults (`set_fault`):
  None       nominal.
  "dropout"  every reading is invalid, as a unit that has lost lock or is rebooting; its
             internal processes (biases, correlated errors) keep evolving underneath.
  "freeze"   the unit keeps delivering the last reading it made before the fault (or, with
             none yet, its first one after), with fresh time stamps and its validity flag
             unchanged: stale data that looks current, which a health monitor must catch.
A reading without a measurement (dropped, blinded, out of range, no fix) carries placeholder
values (zeros, the identity quaternion) that satisfy the message contracts' ranges; a flight
app must look at `valid`.
"""

import math
from collections import deque

import numpy as np

SENSOR_FAULTS = ("dropout", "freeze")


class SampledSensor:
    """Timing and faults of a sensor; a subclass implements `measure` by calling `_conclude`."""

    def __init__(self, config):
        self.config = config
        self.period_ns = round(1e9 / config.rate_hz)
        self.latency_ns = round(config.latency_s * 1e9)
        self.fault = None
        self._next_sample_ns = 0
        self._t_last_ns = None
        self._in_transit = deque()
        self._last = None
        self._frozen = None

    def set_fault(self, kind) -> None:
        """Set the unit's fault: "dropout", "freeze", or None to clear it."""
        if kind is not None and kind not in SENSOR_FAULTS:
            raise ValueError(f"sensor fault must be one of {SENSOR_FAULTS} or None, got {kind!r}")
        self._frozen = self._last if kind == "freeze" else None
        self.fault = kind

    def poll(self, t_ns, *truth):
        """Readings delivered at sim time t_ns (oldest first); samples `truth` if one is due."""
        if t_ns >= self._next_sample_ns:
            self._in_transit.append(self.measure(t_ns, *truth))
            self._next_sample_ns = (t_ns // self.period_ns + 1) * self.period_ns
        delivered = []
        while self._in_transit and self._in_transit[0].t_meas_ns + self.latency_ns <= t_ns:
            delivered.append(self._in_transit.popleft())
        return delivered

    def measure(self, t_ns, *truth):
        raise NotImplementedError

    def _elapsed_s(self, t_ns) -> float:
        """Seconds since the previous sample (one period for the first); t_ns must advance."""
        if isinstance(t_ns, bool) or not isinstance(t_ns, (int, np.integer)) or t_ns < 0:
            raise ValueError(f"t_ns must be a non-negative integer of sim time, got {t_ns!r}")
        if self._t_last_ns is None:
            dt_s = self.period_ns * 1e-9
        elif t_ns <= self._t_last_ns:
            raise ValueError(f"t_ns must advance: sampled at {self._t_last_ns}, now {t_ns}")
        else:
            dt_s = (t_ns - self._t_last_ns) * 1e-9
        self._t_last_ns = int(t_ns)
        return dt_s

    def _conclude(self, reading, rng: np.random.Generator):
        """The reading the unit delivers, from the one its physics made: dropout and faults."""
        dropped = rng.random() < self.config.dropout_probability
        if self.fault == "freeze":
            if self._frozen is None:
                self._frozen = reading
            return self._frozen._replace(t_meas_ns=reading.t_meas_ns)
        if dropped or self.fault == "dropout":
            reading = self._invalid(reading)
        self._last = reading
        return reading

    def _invalid(self, reading):
        raise NotImplementedError


def check_timing(config) -> None:
    """Validate the rate_hz, latency_s and dropout_probability every sensor config carries."""
    require(config, "rate_hz", 0.0 < config.rate_hz <= 1e4, "in (0, 1e4] Hz")
    require(config, "latency_s", 0.0 <= config.latency_s <= 60.0, "in [0, 60] s")
    require(config, "dropout_probability", 0.0 <= config.dropout_probability <= 1.0,
            "in [0, 1]")


def require(config, name, condition, what) -> None:
    """Raise a ValueError naming config.name unless `condition` holds."""
    if not condition:
        raise ValueError(f"{type(config).__name__}.{name} must be {what}, "
                         f"got {getattr(config, name)!r}")


def require_non_negative(config, names) -> None:
    for name in names:
        value = getattr(config, name)
        require(config, name, math.isfinite(value) and value >= 0.0, "finite and >= 0")


def finite_vector(value, size: int, name: str) -> np.ndarray:
    """`value` as a float64 array of shape (size,), or a ValueError naming it."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}")
    # on a handful of elements the scalar test costs a fifth of np.isfinite(array).all()
    if not all(map(math.isfinite, array.tolist())):
        raise ValueError(f"{name} must be finite, got {array}")
    return array


def vector_norm(vector) -> float:
    """Euclidean norm of a vector: what np.linalg.norm computes for it, sqrt(x . x) in
    float64, bit for bit, without its general argument handling (a third of the cost)."""
    x = np.asarray(vector, dtype=np.float64)
    return math.sqrt(x.dot(x))


def unit_quaternion(value, name: str = "q_BN") -> np.ndarray:
    """`value` as a unit quaternion (4,), or a ValueError if it is not one to 1e-6."""
    q = finite_vector(value, 4, name)
    norm = vector_norm(q)
    if abs(norm - 1.0) > 1e-6:
        raise ValueError(f"{name} must be a unit quaternion, |q| = {norm}")
    return q / norm


def angle_between(a, b) -> float:
    """Angle (rad) between two non-zero 3-vectors, as atan2(|a x b|, a . b): accurate at small
    and large angles (scalar arithmetic: np.cross costs ~50x more on single vectors)."""
    ax, ay, az = np.asarray(a, dtype=np.float64).tolist()
    bx, by, bz = np.asarray(b, dtype=np.float64).tolist()
    cross_norm = math.sqrt((ay * bz - az * by) ** 2 + (az * bx - ax * bz) ** 2
                           + (ax * by - ay * bx) ** 2)
    return math.atan2(cross_norm, ax * bx + ay * by + az * bz)
