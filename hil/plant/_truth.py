"""Numba kernel of the plant's truth step: every orbit and the chaser's attitude in one call.

It runs, in compiled code, what the plant would otherwise do in three calls from Python: turn
the thrusters' force from the body frame into an ECI acceleration with the attitude at the start
of the step, propagate the orbits (hil.orbit._propagate) and the attitude
(hil.attitude._rigid_body) over the step. A call from Python into numba costs about as much as
the arithmetic of a whole plant tick, and more the more arguments it passes: so one call, on the
two packed arrays that hold the orbits and the chaser's body, and the step's inputs.

The signature is given, so the kernel is compiled (or loaded from the cache) at import and a
call is never a compilation; anything but C-contiguous float64 vectors and floats is refused
with a TypeError, for the caller to convert.

Nothing is changed unless the whole step succeeds: every input is checked before anything is
integrated, the orbit kernel writes the orbits only when all of them have been propagated, and
then the attitude step cannot fail.
"""

import numpy as np
from numba import njit

from hil.attitude import _rigid_body as attitude_kernel
from hil.orbit import _propagate as orbit_kernel

OK = 0
BAD_STEP = 1
BAD_THRUST = 2
NON_FINITE_TORQUE = 3
BAD_SHAPE = 4
# the orbit kernel's failures are reported as ORBIT_ERROR + its status
ORBIT_ERROR = 10


@njit(cache=True, inline="always")
def _thrust_accel_N(x, force_B_N, mass_kg, accel_N):
    """accel_N[0] = C_BN^T (force_B_N / mass_kg), C_BN of the quaternion x[:4] (the formula of
    hil.attitude.quaternion.quat_to_dcm); the other rows zero."""
    q0, q1, q2, q3 = x[0], x[1], x[2], x[3]
    f0, f1, f2 = force_B_N[0] / mass_kg, force_B_N[1] / mass_kg, force_B_N[2] / mass_kg
    c00 = q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3
    c01 = 2 * (q1 * q2 + q0 * q3)
    c02 = 2 * (q1 * q3 - q0 * q2)
    c10 = 2 * (q1 * q2 - q0 * q3)
    c11 = q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3
    c12 = 2 * (q2 * q3 + q0 * q1)
    c20 = 2 * (q1 * q3 + q0 * q2)
    c21 = 2 * (q2 * q3 - q0 * q1)
    c22 = q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3
    accel_N[0, 0] = c00 * f0 + c10 * f1 + c20 * f2
    accel_N[0, 1] = c01 * f0 + c11 * f1 + c21 * f2
    accel_N[0, 2] = c02 * f0 + c12 * f1 + c22 * f2
    for i in range(1, accel_N.shape[0]):
        for c in range(3):
            accel_N[i, c] = 0.0


_VECTOR = "float64[::1]"


@njit(f"int64(float64[:, ::1], {_VECTOR}, float64, float64, {_VECTOR}, {_VECTOR}, {_VECTOR})",
      cache=True)
def truth_step_kernel(orbits, body, dt_s, mass_kg, force_B_N, torque_B_Nm, wheel_cmd):
    """Advance the orbits and the chaser's attitude by dt_s (s) >= 0; returns OK or an error.

    orbits: packed array of hil.orbit._propagate (the first spacecraft the chaser); its thrust
    acceleration is written here: C_BN^T force_B_N / mass_kg for the chaser, zero for the
    others. body: packed body of hil.attitude._rigid_body. force_B_N (3,) (N) and torque_B_Nm
    (3,) (N m, about the centre of mass) in B, and the wheel motor torques wheel_cmd (n_wheels,)
    (N m), all held over the step.
    """
    thrust_accel = orbit_kernel.unpack(orbits)[3]
    x, applied = attitude_kernel.unpack_body(body)[1:3]
    if (force_B_N.shape[0] != 3 or torque_B_Nm.shape[0] != 3
            or wheel_cmd.shape[0] != applied.shape[0]):
        return BAD_SHAPE
    if not (np.isfinite(dt_s) and dt_s >= 0.0):
        return BAD_STEP
    if not (np.isfinite(mass_kg) and mass_kg > 0.0):
        return BAD_THRUST
    for i in range(3):
        if not np.isfinite(force_B_N[i]):
            return BAD_THRUST
        if not np.isfinite(torque_B_Nm[i]):
            return NON_FINITE_TORQUE
    for i in range(wheel_cmd.shape[0]):
        if not np.isfinite(wheel_cmd[i]):
            return NON_FINITE_TORQUE
    _thrust_accel_N(x, force_B_N, mass_kg, thrust_accel)
    status = orbit_kernel.step_packed_kernel(orbits, dt_s)
    if status != orbit_kernel.OK:
        return ORBIT_ERROR + status
    # its inputs are checked above: the attitude step cannot fail
    attitude_kernel.step_packed_kernel(body, dt_s, wheel_cmd, torque_B_Nm)
    return OK
