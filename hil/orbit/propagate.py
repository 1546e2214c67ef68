"""Truth orbit propagation of spacecraft around the Earth, ECI J2000 (N), metres and m/s.

Force model (hil.orbit.forces): two-body + J2, optional drag in a co-rotating exponential
atmosphere, optional thrust acceleration held constant over the call. Integrator
(hil.orbit._propagate), fixed-step so that a run is reproducible bit for bit: a call of at most
`RK4_MAX_STEP_S` (the plant's 1-10 Hz ticks) is one classic RK4 step; a longer call is cut into
equal 8th-order Runge-Kutta substeps of at most `max_substep_s`. Over 24 h in LEO, without
drag, either stays within a millimetre of a tolerance-controlled reference (1 Hz ticks or 30 s
substeps; tests/hil/test_orbit.py measures it); with drag, within a few millimetres, except
that on orbits crossing the density table's band edges, where the density has kinks, the
reference itself is only good to ~0.1 m.

`propagate` is the one-spacecraft interface; `Orbits` holds the plant's spacecraft and steps
them all, each with its own thrust and drag, in one compiled call (`propagate_states` is the
same as a function of an (n, 6) state array). `Orbits` keeps its state, model and scratch in
one packed array, which a fused stepper that advances the orbits inside its own kernel
(hil.plant.truth) gets from `Orbits.kernel_buffer()`.
"""

import math
from dataclasses import dataclass

import numpy as np

from hil.constants import FLATTENING_EARTH, J2_EARTH, R_EARTH_M
from hil.orbit import _propagate as _kernel
from hil.orbit._propagate import propagate_states_kernel, step_packed_kernel

DEFAULT_MAX_SUBSTEP_S = 30.0
RK4_MAX_STEP_S = 2.0

_POLAR_RADIUS_M = R_EARTH_M * (1.0 - FLATTENING_EARTH)


@dataclass(frozen=True)
class Drag:
    """Drag parameters of one spacecraft.

    ballistic_coefficient_kg_m2: B = m / (C_D A), kg/m^2 (Vallado 2013, Sec. 8.6); typical
    small satellites lie between 20 and 200 kg/m^2. Larger B means less drag.
    """

    ballistic_coefficient_kg_m2: float

    def __post_init__(self):
        b = self.ballistic_coefficient_kg_m2
        if not (np.isfinite(b) and b > 0.0):
            raise ValueError(f"ballistic coefficient must be finite and > 0 kg/m^2, got {b!r}")

    @classmethod
    def from_mass_area(cls, mass_kg, area_m2, drag_coefficient=2.2):
        """Drag of a spacecraft of `mass_kg` showing `area_m2` to the flow, with C_D (2.2 is
        the customary value for a flat-faced satellite in free-molecular flow)."""
        if not (mass_kg > 0.0 and area_m2 > 0.0 and drag_coefficient > 0.0):
            raise ValueError(
                f"mass, area and drag coefficient must be > 0, got {mass_kg!r} kg, "
                f"{area_m2!r} m^2, C_D {drag_coefficient!r}")
        return cls(mass_kg / (drag_coefficient * area_m2))


def propagate(r_N, v_N, dt_s, *, drag=None, accel_N=None):
    """Position (m) and velocity (m/s), ECI, of a spacecraft after `dt_s` seconds.

    r_N, v_N: (3,) initial position and velocity, ECI J2000. dt_s may be negative (backwards).
    drag: a `Drag`, or None for no drag. accel_N: (3,) thrust acceleration (m/s^2, ECI) held
    constant over the whole interval, or None. Returns new arrays (r_N, v_N).
    """
    state = np.empty((1, 6))
    state[0, :3] = _vector3(r_N, "r_N")
    state[0, 3:] = _vector3(v_N, "v_N")
    accel = _NO_THRUST if accel_N is None else _vector3(accel_N, "accel_N").reshape(1, 3)
    out = np.empty((1, 6))
    _run_kernel(state, dt_s, accel, _inverse_ballistic(drag, 1), J2_EARTH,
                DEFAULT_MAX_SUBSTEP_S, out)
    return out[0, :3], out[0, 3:]


def propagate_states(states_N, dt_s, *, accel_N=None, drag=None, j2=J2_EARTH,
                     max_substep_s=DEFAULT_MAX_SUBSTEP_S):
    """States (n, 6) [r_N (m), v_N (m/s)] of n spacecraft after `dt_s` seconds (a new array).

    accel_N: (n, 3) thrust accelerations (m/s^2, ECI) held over the interval, or None; the
    other arguments are those of `Orbits`. Raises ValueError as `Orbits.step` does.
    """
    orbits = Orbits(states_N, drag=drag, j2=j2, max_substep_s=max_substep_s)
    orbits.step(dt_s, accel_N)
    return orbits.states_N


class Orbits:
    """The truth orbits of n spacecraft, stepped together: the plant's orbit state.

    states_N: (n, 6) initial [r_N (m), v_N (m/s)], ECI J2000.
    drag: None (no drag for any), one `Drag` for all, or a sequence of n `Drag`-or-None.
    j2: zonal coefficient (0 for pure two-body). max_substep_s: longest internal RK8 step (s).
    """

    def __init__(self, states_N, *, drag=None, j2=J2_EARTH,
                 max_substep_s=DEFAULT_MAX_SUBSTEP_S):
        states = np.array(states_N, dtype=np.float64)
        if states.ndim != 2 or states.shape[1] != 6:
            raise ValueError(f"states_N must have shape (n, 6), got {states.shape}")
        if not (math.isfinite(max_substep_s) and max_substep_s > 0.0):
            raise ValueError(f"max_substep_s must be finite and > 0, got {max_substep_s!r}")
        if not math.isfinite(j2):
            raise ValueError(f"j2 must be finite, got {j2!r}")
        n = states.shape[0]
        # one array for the life of the object (hil.orbit._propagate's layout), and views of it
        self._packed = np.zeros(_kernel.packed_shape(n))
        self._packed[0, _kernel.J2] = j2
        self._packed[0, _kernel.MAX_SUBSTEP_S] = max_substep_s
        self._packed[0, _kernel.RK4_MAX_STEP_S] = RK4_MAX_STEP_S
        self._packed[0, _kernel.MIN_RADIUS_M] = _POLAR_RADIUS_M
        inv_ballistic, self._states, _, self._thrust_accel = _kernel.unpack.py_func(self._packed)
        inv_ballistic[:] = _inverse_ballistic(drag, n)
        self._states[:] = states

    @property
    def j2(self):
        """Zonal coefficient J2 of the gravity model (0 for two-body)."""
        return float(self._packed[0, _kernel.J2])

    @property
    def max_substep_s(self):
        """Longest internal RK8 substep (s)."""
        return float(self._packed[0, _kernel.MAX_SUBSTEP_S])

    @property
    def states_N(self):
        """(n, 6) [r_N (m), v_N (m/s)], a copy."""
        return self._states.copy()

    def kernel_buffer(self) -> np.ndarray:
        """The packed array (layout of hil.orbit._propagate) that holds the states, for a
        stepper that advances these orbits in its own compiled call (hil.plant.truth) with
        `_propagate.step_packed_kernel`: the same array for this object's life."""
        return self._packed

    def step(self, dt_s, accel_N=None):
        """Advance every orbit by dt_s (s, may be negative) under thrust accel_N (n, 3) m/s^2 ECI
        held over the step (None = coast). On error (non-finite input, a spacecraft starting or
        ending inside the Earth) raises ValueError and leaves the states as they were."""
        if accel_N is None:
            self._thrust_accel.fill(0.0)
        else:
            accel = np.asarray(accel_N, dtype=np.float64)
            if accel.shape != self._thrust_accel.shape:
                raise ValueError(f"accel_N must have shape {self._thrust_accel.shape}, "
                                 f"got {accel.shape}")
            self._thrust_accel[:] = accel
        if not math.isfinite(dt_s):
            raise ValueError(f"dt_s must be finite, got {dt_s!r}")
        status = step_packed_kernel(self._packed, float(dt_s))
        if status != _kernel.OK:
            raise ValueError(KERNEL_ERRORS[status])


def _run_kernel(states, dt_s, accel, inv_ballistic, j2, max_substep_s, out):
    """Propagate with the compiled kernel into `out`; raise ValueError for what it reports."""
    if not math.isfinite(dt_s):
        raise ValueError(f"dt_s must be finite, got {dt_s!r}")
    status = propagate_states_kernel(states, float(dt_s), accel, inv_ballistic, j2,
                                     max_substep_s, RK4_MAX_STEP_S, _POLAR_RADIUS_M, out)
    if status != _kernel.OK:
        raise ValueError(KERNEL_ERRORS[status])


_NO_THRUST = np.zeros((1, 3))
# the ValueError message of each failure status of the kernels
KERNEL_ERRORS = {
    _kernel.NON_FINITE_INPUT: "states_N or accel_N contains a non-finite value",
    _kernel.STARTS_INSIDE_EARTH: "an initial position is inside the Earth",
    _kernel.ENDS_INSIDE_EARTH: "a spacecraft ends inside the Earth (or its state diverged)",
}


def _inverse_ballistic(drag, n):
    """C_D A / m (m^2/kg) for each of n spacecraft; 0 where drag is off."""
    if drag is None:
        return np.zeros(n)
    if isinstance(drag, Drag):
        return np.full(n, 1.0 / drag.ballistic_coefficient_kg_m2)
    drags = list(drag) if isinstance(drag, (list, tuple)) else None
    if drags is None or len(drags) != n or not all(d is None or isinstance(d, Drag)
                                                    for d in drags):
        raise ValueError(f"drag must be None, a Drag, or a list of {n} items each a Drag or "
                         f"None; got {drag!r}")
    return np.array([0.0 if d is None else 1.0 / d.ballistic_coefficient_kg_m2 for d in drags])


def _vector3(x, name):
    a = np.asarray(x, dtype=np.float64)
    if a.shape != (3,):
        raise ValueError(f"{name} must be a 3-vector, got shape {a.shape}")
    return a
