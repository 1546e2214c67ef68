"""Truth orbits of the plant: propagation under two-body + J2 + drag + thrust, ECI J2000 (N), SI.

propagate(r_N, v_N, dt_s, *, drag=None, accel_N=None) -> (r_N, v_N)   one spacecraft
Orbits(states_N (n, 6), drag=...).step(dt_s, accel_N)               the plant's step
propagate_states(states_N (n, 6), dt_s, *, accel_N, drag, ...)        the same as a function
Drag(ballistic_coefficient_kg_m2)                                     drag parameters
elements_to_rv, rv_to_elements, OrbitalElements                       Keplerian elements
rtn_dcm(r_N, v_N), relative_rtn(r_c, v_c, r_d, v_d)                   RTN frame, relative state
"""

from hil.orbit.elements import OrbitalElements, elements_to_rv, rv_to_elements
from hil.orbit.frames import relative_rtn, rtn_dcm
from hil.orbit.propagate import DEFAULT_MAX_SUBSTEP_S, Drag, Orbits, propagate, propagate_states

__all__ = [
    "DEFAULT_MAX_SUBSTEP_S",
    "Drag",
    "OrbitalElements",
    "Orbits",
    "elements_to_rv",
    "propagate",
    "propagate_states",
    "relative_rtn",
    "rtn_dcm",
    "rv_to_elements",
]
