"""Star tracker: the body attitude as a tracker mounted on the chaser measures it.

The tracker frame S has its boresight along +z_S; its nominal mount is q_SB (config), and its
true mount differs by a small alignment error (thermo-elastic and calibration residual) drawn
once, which the unit does not know. Each sample:

  1. truth in the tracker's true frame: q_SN = q_BN (x) q_SB_true        (C_SN = C_SB C_BN);
  2. noise: a rotation vector dtheta_S = (s_c n1, s_c n2, s_r n3), n ~ N(0, 1), s_c the
     cross-boresight and s_r the about-boresight (roll) 1-sigma, turns S to the measured S':
     q_S'N = q_SN (x) q_S'S, with q_S'S = [cos(|dtheta|/2), sin(|dtheta|/2) dtheta/|dtheta|];
  3. the unit rotates its solution into the body with its nominal mount:
     q_BN_meas = q_S'N (x) q_BS_nominal, reported with scalar part >= 0;
  4. blinding: no solution (valid False) when the Sun is within `sun_exclusion_deg` of the
     boresight, or when the lit Earth's limb is: the Earth disc, of angular radius
     asin(R_E / |r|) seen from the chaser, counts as lit when any sunlit point of it is in
     view, i.e. when the sub-chaser point is within 90 deg + acos(R_E / |r|) of the sub-solar
     point (conservative: the whole disc is then treated as bright).
The noise and alignment follow the usual star-tracker error budget split (e.g. ECSS-E-ST-60-20C,
"Star sensors terminology and performance specification": temporal noise and low-frequency
bias); the Moon's exclusion and rate-induced star smear are not modelled.

API:
    tracker = StarTracker(StarTrackerConfig(), rng)     # draws the alignment error
    reading = tracker.measure(t_ns, q_BN, s_sun_N, r_BN_N, rng)  # or tracker.poll(...)
    reading: StarTrackerReading(t_meas_ns, q_BN (4,), sigma_cross_rad, sigma_roll_rad, valid),
    field for field the StarTrackerAttitude message; s_sun_N is the direction from the chaser
    to the Sun (any length), r_BN_N the chaser position (m, ECI).
    tracker.set_fault("dropout" | "freeze" | None)       see hil.sensors.base
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hil.attitude.quaternion import quat_conj, quat_mult, quat_to_dcm
from hil.constants import R_EARTH_M
from hil.sensors.base import (SampledSensor, angle_between, check_timing, finite_vector, require,
                              require_non_negative, unit_quaternion, vector_norm)

ARCSEC_RAD = math.pi / (180.0 * 3600.0)
BORESIGHT_S = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class StarTrackerConfig:
    """A nanosatellite-class star tracker. Defaults are of the class of e.g. Blue Canyon NST or
    arcsec Sagitta datasheets: a few arcsec (1-sigma) across the boresight, some tens of arcsec
    about it, 5-10 Hz, ~45 deg Sun and ~25 deg Earth-limb exclusion with the standard baffle."""

    sigma_cross_arcsec: float = 5.0  # 1-sigma noise about each cross-boresight axis
    sigma_roll_arcsec: float = 40.0  # 1-sigma noise about the boresight
    alignment_sigma_arcsec: float = 10.0  # 1-sigma true-mount error per axis, drawn once
    q_SB: tuple = (1.0, 0.0, 0.0, 0.0)  # nominal mount: tracker frame S w.r.t. body B
    sun_exclusion_deg: float = 45.0  # Sun to boresight half-angle below which it is blinded
    earth_exclusion_deg: float = 25.0  # lit Earth limb to boresight half-angle
    rate_hz: float = 5.0
    latency_s: float = 0.1
    dropout_probability: float = 0.01

    def __post_init__(self):
        check_timing(self)
        require_non_negative(self, ("sigma_cross_arcsec", "sigma_roll_arcsec",
                                    "alignment_sigma_arcsec"))
        for name in ("sun_exclusion_deg", "earth_exclusion_deg"):
            require(self, name, 0.0 <= getattr(self, name) < 180.0, "in [0, 180) deg")
        unit_quaternion(self.q_SB, "StarTrackerConfig.q_SB")

    @property
    def sigma_cross_rad(self) -> float:
        return self.sigma_cross_arcsec * ARCSEC_RAD

    @property
    def sigma_roll_rad(self) -> float:
        return self.sigma_roll_arcsec * ARCSEC_RAD


class StarTrackerReading(NamedTuple):
    t_meas_ns: int
    q_BN: np.ndarray
    sigma_cross_rad: float
    sigma_roll_rad: float
    valid: bool


class StarTracker(SampledSensor):
    """A star tracker on the chaser; see the module docstring for the model."""

    def __init__(self, config: StarTrackerConfig, rng: np.random.Generator):
        super().__init__(config)
        self.q_SB_nominal = unit_quaternion(config.q_SB, "q_SB")
        alignment_S = config.alignment_sigma_arcsec * ARCSEC_RAD * rng.standard_normal(3)
        # the true tracker frame is the nominal one turned by the alignment error
        self.q_SB_true = quat_mult(self.q_SB_nominal, rotation_quaternion(alignment_S))
        self.boresight_B = quat_to_dcm(self.q_SB_true).T @ BORESIGHT_S
        # p (x) q = R(q) p: the constant right factors as 4x4 matrices, columns e_i (x) q
        self._right_SB_true = quat_mult(np.eye(4), self.q_SB_true).T
        self._right_BS_nominal = quat_mult(np.eye(4), quat_conj(self.q_SB_nominal)).T
        self._noise_sigma_S = np.array([config.sigma_cross_rad, config.sigma_cross_rad,
                                        config.sigma_roll_rad])
        self._sun_exclusion_rad = math.radians(config.sun_exclusion_deg)
        self._earth_exclusion_rad = math.radians(config.earth_exclusion_deg)

    def boresight_N(self, q_BN) -> np.ndarray:
        """Unit vector of the true boresight in N for the body attitude q_BN."""
        return quat_to_dcm(q_BN).T @ self.boresight_B

    def blinded(self, q_BN, s_sun_N, r_BN_N) -> bool:
        """True when the Sun or the lit Earth is inside its exclusion angle of the boresight."""
        boresight_N = self.boresight_N(q_BN)
        if angle_between(boresight_N, s_sun_N) < self._sun_exclusion_rad:
            return True
        if not earth_in_view_is_lit(r_BN_N, s_sun_N):
            return False
        earth_angular_radius = math.asin(R_EARTH_M / vector_norm(r_BN_N))
        limb_angle = angle_between(boresight_N, -r_BN_N) - earth_angular_radius
        return limb_angle < self._earth_exclusion_rad

    def measure(self, t_ns, q_BN, s_sun_N, r_BN_N, rng: np.random.Generator):
        """The tracker's reading at t_ns of the true attitude q_BN (see module docstring)."""
        self._elapsed_s(t_ns)
        q_BN = unit_quaternion(q_BN)
        s_sun_N = finite_vector(s_sun_N, 3, "s_sun_N")
        if not vector_norm(s_sun_N) > 0.0:
            raise ValueError("s_sun_N must be a non-zero direction to the Sun")
        r_BN_N = finite_vector(r_BN_N, 3, "r_BN_N")
        if not vector_norm(r_BN_N) > R_EARTH_M:
            raise ValueError(f"r_BN_N must lie outside the Earth, |r| = {vector_norm(r_BN_N)} m")
        noise_S = rng.standard_normal(3) * self._noise_sigma_S
        q_SN = self._right_SB_true @ q_BN
        q_BN_meas = self._right_BS_nominal @ quat_mult(q_SN, rotation_quaternion(noise_S))
        q_BN_meas = q_BN_meas / vector_norm(q_BN_meas)
        if q_BN_meas[0] < 0.0:
            q_BN_meas = -q_BN_meas
        reading = StarTrackerReading(int(t_ns), q_BN_meas, self.config.sigma_cross_rad,
                                     self.config.sigma_roll_rad, True)
        if self.blinded(q_BN, s_sun_N, r_BN_N):
            reading = self._invalid(reading)
        return self._conclude(reading, rng)

    def _invalid(self, reading):
        return reading._replace(q_BN=np.array([1.0, 0.0, 0.0, 0.0]), valid=False)


def rotation_quaternion(rotation_vector) -> np.ndarray:
    """q of the frame rotation by the angle |a| about the unit axis a / |a| (a in rad):
    [cos(|a|/2), sin(|a|/2) a/|a|] (Schaub & Junkins 2018, Sec. 3.5)."""
    a = np.asarray(rotation_vector, dtype=np.float64)
    angle = vector_norm(a)
    if angle == 0.0:
        return np.array([1.0, 0.0, 0.0, 0.0])
    axis_scale = math.sin(angle / 2) / angle
    a0, a1, a2 = a.tolist()
    return np.array([math.cos(angle / 2), axis_scale * a0, axis_scale * a1, axis_scale * a2])


def earth_in_view_is_lit(r_BN_N, s_sun_N) -> bool:
    """True when some sunlit point of the Earth is visible from r_BN_N (m, ECI): the visible
    cap, within acos(R_E/|r|) of the sub-chaser point, reaches within 90 deg of the Sun."""
    r_m = vector_norm(r_BN_N)
    cap_half_angle = math.acos(R_EARTH_M / r_m)
    return angle_between(r_BN_N, s_sun_N) < math.pi / 2 + cap_half_angle
