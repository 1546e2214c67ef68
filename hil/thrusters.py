"""Truth reaction-control system of the chaser: twelve thrusters with the errors of real hardware.

Nominal geometry -- the flight software's reference RCS (flightsw/control/thrusters.py,
`reference_layout()`, re-declared here because the plant may not import flight code; a test
checks the two agree): twelve 1 N thrusters in four three-nozzle clusters on alternate corners
of a 0.5 m cube bus, each nozzle exhausting along the outward normal of one face at its corner:

    cluster  corner (x, y, z)/h   nozzles: thrust direction (= -exhaust direction)
    C1       (+1, +1, +1)         T01 -x   T02 -y   T03 -z
    C2       (-1, -1, +1)         T04 +x   T05 +y   T06 -z
    C3       (+1, -1, -1)         T07 -x   T08 +y   T09 +z
    C4       (-1, +1, -1)         T10 +x   T11 -y   T12 +z

h = 0.25 m, each nozzle 0.02 m outboard of its face along the exhaust; the body-frame origin
is the bus geometric centre; nominal centre of mass (0.010, -0.005, 0.030) m.

Truth errors, drawn once at construction from the scenario's generator (in this order) and
unknown to the flight software:
  thrust magnitude   F_j = F_nom (1 + e_j),        e_j ~ N(0, thrust_scale_sigma^2)
  direction          d_j rotated by a small angle: the error vector in the plane normal to the
                     nominal d_j has two independent N(0, misalignment_sigma_rad^2) components,
                     so the misalignment angle is Rayleigh-distributed with that scale
  centre of mass     cg = cg_nominal + N(0, cg_sigma_m^2) per axis

Pulse model, per thruster and firing window (each pulse opens at the window start):
  1. the valve driver realises the command in whole ticks: t_q = on_time_quantum_s *
     floor(on_time / on_time_quantum_s + 1/2), at most the window;
  2. a command that realises below min_on_time_s is suppressed by the driver: no impulse;
  3. a valve that opens in this window (it was closed at the end of the previous one) loses
     `impulse_deficit_s` of full-thrust time to its opening transient (opening is slower than
     the closing tail), so the impulse of a pulse is F_j (t_q - deficit);
  4. the impulse of a fresh pulse scatters pulse to pulse, 1-sigma
     pulse_scatter_at_min * min_on_time_s / t_q relative (repeatability worsens as pulses
     shorten towards the minimum impulse bit), truncated at zero impulse.
Faults (`set_fault`): "stuck_off" (no thrust whatever the command), "stuck_on" (valve open the
whole window whatever the command), "degraded" (thrust times scale in (0, 1)), None (repair).

Propellant: one tank feeds all valves, m_dot = F / (Isp g0), so the mass a window uses is
sum(impulse) / (Isp g0). If the demand exceeds what is left, every impulse of the window is
scaled down by the same factor (the tank runs dry in the window); an empty tank gives nothing.
The centre of mass is held fixed as propellant is used.

Window averaging: `fire` returns the force and torque averaged over the window (total impulse /
window), for the plant to apply as constants over its step. The impulse, hence the change of
momentum, is exact; what is approximated is when within the window it is applied, which shifts
the position by at most dv * window / 2 (0.5 mm for a 1 mm/s pulse in a 1 s window) and ignores
the body's rotation during the window.

API:
    rcs = Thrusters(ThrusterConfig(), rng)                  # draws the truth errors
    firing = rcs.fire(on_time_s (12,), window_s, rng)        # -> Firing
    firing.force_B_N (3,), firing.torque_B_Nm (3,) about the truth centre of mass (averages),
    firing.impulse_Ns (12,), firing.propellant_used_kg
    rcs.set_fault(index, "stuck_off" | "stuck_on" | "degraded" | None, scale=None)
    rcs.set_latches(closed (12,) bool)                      # latch valves: closed = no thrust
    rcs.propellant_kg, rcs.cg_B_m, rcs.directions_B, rcs.thrust_N     truth, for recording
The geometry (positions, directions, centre of mass) is fixed at construction: `fire` uses
the torque arms computed from it then.
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hil.constants import G0_M_S2

N_THRUSTERS = 12
HALF_SIDE_M = 0.25
NOZZLE_OUTBOARD_M = 0.02
CLUSTER_CORNERS = np.array([[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]], dtype=np.float64)
FAULT_KINDS = ("stuck_off", "stuck_on", "degraded")


def nominal_geometry():
    """Nominal nozzle positions (12, 3) (m, B) and unit thrust directions (12, 3) (B).

    Thrusters T01..T12 in the order of the module table: per cluster corner c, one nozzle per
    axis k exhausting along c_k e_k from h c + 0.02 m c_k e_k, thrusting along -c_k e_k.
    """
    exhausts = np.einsum("ck,kl->ckl", CLUSTER_CORNERS, np.eye(3)).reshape(N_THRUSTERS, 3)
    corners = np.repeat(CLUSTER_CORNERS, 3, axis=0)
    positions_B_m = HALF_SIDE_M * corners + NOZZLE_OUTBOARD_M * exhausts
    return positions_B_m, -exhausts


@dataclass(frozen=True)
class ThrusterConfig:
    """Truth parameters of the RCS. Defaults: a 1 N hydrazine monopropellant class thruster
    (e.g. ArianeGroup 1N, Aerojet Rocketdyne MR-103: Isp about 200-225 s, pulse mode down to
    ~10 ms), with 1-sigma build errors typical of a small-satellite integration."""

    thrust_N: float = 1.0  # nominal full thrust of each valve
    isp_s: float = 220.0  # specific impulse
    propellant_kg: float = 4.0  # loaded in the tank at scenario start
    cg_nominal_B_m: tuple = (0.010, -0.005, 0.030)  # as the flight software configures it
    cg_sigma_m: float = 0.003  # truth centre of mass error, per axis
    thrust_scale_sigma: float = 0.03  # relative thrust magnitude error, per thruster
    misalignment_sigma_rad: float = float(np.radians(0.5))  # per axis normal to the thrust
    min_on_time_s: float = 0.010  # shortest pulse the valve driver fires
    on_time_quantum_s: float = 0.001  # valve driver timing resolution
    impulse_deficit_s: float = 0.001  # full-thrust time lost to a valve's opening transient
    pulse_scatter_at_min: float = 0.05  # relative impulse 1-sigma of a minimum-length pulse

    def __post_init__(self):
        for name in ("thrust_N", "isp_s", "min_on_time_s", "on_time_quantum_s"):
            _require(self, name, getattr(self, name) > 0.0, "> 0")
        for name in ("propellant_kg", "cg_sigma_m", "thrust_scale_sigma",
                     "misalignment_sigma_rad", "impulse_deficit_s", "pulse_scatter_at_min"):
            _require(self, name, getattr(self, name) >= 0.0, ">= 0")
        cg = np.asarray(self.cg_nominal_B_m, dtype=np.float64)
        _require(self, "cg_nominal_B_m", cg.shape == (3,) and bool(np.isfinite(cg).all()),
                 "a finite 3-vector")
        _require(self, "on_time_quantum_s", self.on_time_quantum_s <= self.min_on_time_s,
                 "<= min_on_time_s")
        _require(self, "impulse_deficit_s", self.impulse_deficit_s < self.min_on_time_s,
                 "< min_on_time_s (a minimum pulse must give thrust)")
        _require(self, "thrust_scale_sigma", self.thrust_scale_sigma < 0.2,
                 "< 0.2 (a thrust scale must stay positive)")
        _require(self, "misalignment_sigma_rad", self.misalignment_sigma_rad < 0.1,
                 "< 0.1 rad (a small misalignment)")


def _require(config, name, condition, what):
    if not condition:
        raise ValueError(f"{type(config).__name__}.{name} must be {what}, "
                         f"got {getattr(config, name)!r}")


class Firing(NamedTuple):
    """What one firing window did: window-averaged force (N, B) and torque about the truth
    centre of mass (N m, B), the impulse of each thruster (N s) and the propellant used (kg)."""

    force_B_N: np.ndarray
    torque_B_Nm: np.ndarray
    impulse_Ns: np.ndarray
    propellant_used_kg: float


class Thrusters:
    """The truth RCS: nominal layout plus per-unit errors drawn from `rng`; see module doc."""

    def __init__(self, config: ThrusterConfig, rng: np.random.Generator):
        self.config = config
        self.positions_B_m, nominal_directions_B = nominal_geometry()
        self.thrust_N = config.thrust_N * (1.0 + config.thrust_scale_sigma
                                           * rng.standard_normal(N_THRUSTERS))
        self.directions_B = misaligned_directions(
            nominal_directions_B, config.misalignment_sigma_rad
            * rng.standard_normal((N_THRUSTERS, 2)))
        self.cg_B_m = (np.asarray(config.cg_nominal_B_m, dtype=np.float64)
                       + config.cg_sigma_m * rng.standard_normal(3))
        # torque per newton of each thruster about the centre of mass, (3, 12): constant, and
        # np.cross on (12, 3) costs more than the rest of a firing
        lever_B_m = self.positions_B_m - self.cg_B_m
        self._torque_arms_B_m = np.cross(lever_B_m, self.directions_B).T
        self.propellant_kg = float(config.propellant_kg)
        self.fault_kinds = [None] * N_THRUSTERS
        self._fault_scale = np.ones(N_THRUSTERS)
        self._stuck_on = np.zeros(N_THRUSTERS, dtype=bool)
        self._valve_open = np.zeros(N_THRUSTERS, dtype=bool)
        # whether any valve is stuck on, or held open from the last window: if neither, and
        # nothing is commanded, a window fires nothing
        self._any_stuck_on = False
        self._any_valve_open = False
        # latch valves upstream of each thruster valve: a closed latch stops its thruster,
        # stuck-on valve or not
        self.latched = np.zeros(N_THRUSTERS, dtype=bool)

    def set_latches(self, closed) -> None:
        """Close (True) or open the latch valve of each thruster, (12,) booleans."""
        closed = np.asarray(closed, dtype=bool)
        if closed.shape != (N_THRUSTERS,):
            raise ValueError(f"latch states must have shape ({N_THRUSTERS},), got {closed.shape}")
        self.latched = closed.copy()

    def set_fault(self, index: int, kind, scale=None) -> None:
        """Fault thruster `index` (0..11): "stuck_off", "stuck_on", "degraded" (thrust times
        `scale`, 0 < scale < 1), or None to clear its fault."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < N_THRUSTERS:
            raise ValueError(f"thruster index must be an integer in [0, {N_THRUSTERS}), "
                             f"got {index!r}")
        if kind is not None and kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS} or None, got {kind!r}")
        if kind == "degraded":
            if scale is None or not 0.0 < scale < 1.0:
                raise ValueError(f"a degraded thruster needs 0 < scale < 1, got {scale!r}")
        elif scale is not None:
            raise ValueError(f"scale applies only to a degraded thruster, not to {kind!r}")
        self.fault_kinds[index] = kind
        self._fault_scale[index] = {"stuck_off": 0.0, "degraded": scale}.get(kind, 1.0)
        self._stuck_on[index] = kind == "stuck_on"
        self._any_stuck_on = bool(self._stuck_on.any())

    def fire(self, on_time_s, window_s: float, rng: np.random.Generator) -> Firing:
        """Fire the valves for `on_time_s` (12,) (s) in a window of `window_s` (s)."""
        on_time_s, longest_s = self._checked_on_times(on_time_s, window_s)
        if longest_s == 0.0 and not (self._any_stuck_on or self._any_valve_open):
            # the pulse model would give zero impulse to every valve; the stream still advances
            rng.standard_normal(N_THRUSTERS)
            impulse_Ns = np.zeros(N_THRUSTERS)
        else:
            impulse_Ns = self._pulse_impulses(on_time_s, window_s, rng)
            if self.latched.any():
                impulse_Ns = np.where(self.latched, 0.0, impulse_Ns)
        impulse_Ns, used_kg = self._draw_propellant(impulse_Ns)
        force_B_N = self.directions_B.T @ impulse_Ns / window_s
        torque_B_Nm = self._torque_arms_B_m @ impulse_Ns / window_s
        return Firing(force_B_N, torque_B_Nm, impulse_Ns, used_kg)

    def _pulse_impulses(self, on_time_s, window_s, rng):
        """Impulse (N s) of each valve in the window, by the pulse model (module docstring)."""
        realised_s = realised_on_times(on_time_s, window_s, self.config.min_on_time_s,
                                       self.config.on_time_quantum_s)
        realised_s[self._stuck_on] = window_s
        firing = realised_s > 0.0
        opening = firing & ~self._valve_open
        full_thrust_s = realised_s - np.where(opening, self.config.impulse_deficit_s, 0.0)
        # drawn for every thruster, every window, so the stream does not depend on the command
        scatter = rng.standard_normal(N_THRUSTERS) * self.config.pulse_scatter_at_min \
            * self.config.min_on_time_s / np.maximum(realised_s, self.config.min_on_time_s)
        pulse_factor = np.where(opening, np.maximum(1.0 + scatter, 0.0), 1.0)
        impulse_Ns = self.thrust_N * self._fault_scale * full_thrust_s * pulse_factor
        self._valve_open = firing & (realised_s >= window_s)
        self._any_valve_open = bool(self._valve_open.any())
        return np.where(firing, impulse_Ns, 0.0)

    def _draw_propellant(self, impulse_Ns):
        """Impulses the tank can feed and the propellant they use: m = I / (Isp g0)."""
        exhaust_speed_mps = self.config.isp_s * G0_M_S2
        demand_kg = float(impulse_Ns.sum()) / exhaust_speed_mps
        if demand_kg > self.propellant_kg:
            impulse_Ns = impulse_Ns * (self.propellant_kg / demand_kg)
            used_kg = self.propellant_kg
        else:
            used_kg = demand_kg
        self.propellant_kg -= used_kg
        return impulse_Ns, used_kg

    @staticmethod
    def _checked_on_times(on_time_s, window_s):
        if isinstance(window_s, bool) or not math.isfinite(window_s) or not window_s > 0.0:
            raise ValueError(f"window_s must be finite and > 0, got {window_s!r}")
        on_time_s = np.asarray(on_time_s, dtype=np.float64)
        if on_time_s.shape != (N_THRUSTERS,):
            raise ValueError(f"on_time_s must have shape ({N_THRUSTERS},), got {on_time_s.shape}")
        # min and max carry any NaN or infinity: two reductions instead of three
        shortest_s, longest_s = float(on_time_s.min()), float(on_time_s.max())
        if not (math.isfinite(shortest_s) and math.isfinite(longest_s)):
            raise ValueError("on_time_s must be finite")
        if shortest_s < 0.0:
            raise ValueError(f"on_time_s must be >= 0, got {on_time_s}")
        if longest_s > window_s * (1.0 + 1e-12):
            raise ValueError(f"on_time_s must not exceed the window {window_s} s, got {on_time_s}")
        return on_time_s, longest_s


def realised_on_times(on_time_s, window_s, min_on_time_s, quantum_s):
    """On-times the valve driver realises: rounded to whole ticks of `quantum_s` (half up), at
    most the window, and zero when below `min_on_time_s` (the driver suppresses the pulse)."""
    # the relative nudge keeps commands an exact number of ticks (0.007 / 0.001) on that tick
    ticks = np.floor(np.asarray(on_time_s) / quantum_s * (1.0 + 1e-12) + 0.5)
    realised_s = np.minimum(ticks * quantum_s, window_s)
    return np.where(realised_s >= min_on_time_s * (1.0 - 1e-12), realised_s, 0.0)


def misaligned_directions(directions, errors_rad):
    """Unit vectors (n, 3) tilted from `directions` (n, 3) by the small-angle error vectors
    `errors_rad` (n, 2), given in an orthonormal basis (e1, e2) of the plane normal to each
    direction: d' = cos|a| d + sin|a| a / |a|, with a = a1 e1 + a2 e2, exactly |a| off d."""
    directions = np.asarray(directions, dtype=np.float64)
    e1, e2 = normal_plane_basis(directions)
    tilt = errors_rad[:, :1] * e1 + errors_rad[:, 1:] * e2
    angle = np.linalg.norm(tilt, axis=1, keepdims=True)
    unit_tilt = np.divide(tilt, angle, out=np.zeros_like(tilt), where=angle > 0.0)
    return np.cos(angle) * directions + np.sin(angle) * unit_tilt


def normal_plane_basis(directions):
    """Orthonormal e1, e2 (n, 3) normal to each unit direction (n, 3), right-handed with it."""
    least_aligned = np.eye(3)[np.argmin(np.abs(directions), axis=1)]
    e1 = np.cross(directions, least_aligned)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    return e1, np.cross(directions, e1)
