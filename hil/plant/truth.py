"""The plant's truth step: every orbit and the chaser's attitude advanced in one compiled call.

    truth = PlantTruth(orbits, body)       # row 0 of `orbits` is the chaser, `body` its attitude
    truth.step(dt_s, force_B_N, mass_kg, torque_B_Nm, wheel_torque_cmd_Nm)

does, in one numba call (hil.plant._truth), what these three calls do:

    accel_N = np.zeros((n, 3))
    accel_N[0] = quat_to_dcm(body.q_BN).T @ (force_B_N / mass_kg)
    orbits.step(dt_s, accel_N)
    body.step(dt_s, wheel_torque_cmd_Nm, torque_B_Nm)

on the same state arrays (`Orbits.kernel_buffer`, `RigidBody.kernel_buffer`), so `orbits` and
`body` report the truth as before. The thrust is turned into ECI with the attitude at the start
of the step and held over it, as the thrusters' window-averaged force is (hil.thrusters). The
results equal those of the three calls to rounding: bit for bit without thrust, within a few
ulp of the thrust acceleration with it (numpy's 3x3 product may sum in another order);
tests/hil/test_plant_truth.py checks both.
"""

import numpy as np

from hil.orbit import _propagate
from hil.orbit.propagate import KERNEL_ERRORS
from hil.plant import _truth


class PlantTruth:
    """Steps `orbits` (hil.orbit.Orbits, row 0 the chaser) and the chaser's attitude `body`
    (hil.attitude.RigidBody) together; both objects keep holding and reporting the state."""

    def __init__(self, orbits, body):
        self.orbits = orbits
        self.body = body
        self._orbits = orbits.kernel_buffer()
        self._thrust_accel_N = _propagate.unpack.py_func(self._orbits)[3]
        self._body = body.kernel_buffer()
        self._n_wheels = body.wheel_torque_applied_Nm.shape[0]
        self._no_wheel_cmd = np.zeros(self._n_wheels)
        self._no_torque = np.zeros(3)

    @property
    def thrust_accel_N(self):
        """(n, 3) thrust acceleration (m/s^2, ECI) held over the last step, a copy."""
        return self._thrust_accel_N.copy()

    def step(self, dt_s, force_B_N, mass_kg, torque_B_Nm=None, wheel_torque_cmd_Nm=None):
        """Advance every orbit and the chaser's attitude by dt_s (s) >= 0.

        force_B_N (3,): thrust force on the chaser (N, B); mass_kg its mass; torque_B_Nm (3,):
        external torque about its centre of mass (N m, B), None = 0; wheel_torque_cmd_Nm (n,):
        commanded wheel motor torques (N m), None = 0. All are held over the step. On bad input,
        or a spacecraft ending inside the Earth, raises ValueError and changes nothing.
        """
        if torque_B_Nm is None:
            torque_B_Nm = self._no_torque
        if wheel_torque_cmd_Nm is None:
            wheel_torque_cmd_Nm = self._no_wheel_cmd
        try:
            status = _truth.truth_step_kernel(self._orbits, self._body, dt_s, mass_kg, force_B_N,
                                              torque_B_Nm, wheel_torque_cmd_Nm)
        except TypeError:
            # not floats and contiguous float64 vectors, as the plant passes: convert them
            status = _truth.truth_step_kernel(
                self._orbits, self._body, float(dt_s), float(mass_kg),
                _vector(force_B_N, 3, "force_B_N"), _vector(torque_B_Nm, 3, "torque_B_Nm"),
                _vector(wheel_torque_cmd_Nm, self._n_wheels, "wheel_torque_cmd_Nm"))
        if status != _truth.OK:
            raise ValueError(_error_message(status, dt_s, mass_kg, self._n_wheels))


def _vector(value, size, name):
    array = np.ascontiguousarray(value, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}")
    return array


def _error_message(status, dt_s, mass_kg, n_wheels):
    if status >= _truth.ORBIT_ERROR:
        return KERNEL_ERRORS[status - _truth.ORBIT_ERROR]
    return {
        _truth.BAD_STEP: f"dt_s must be finite and >= 0, got {dt_s!r}",
        _truth.BAD_THRUST: f"force_B_N must be finite and mass_kg finite and > 0, "
                           f"got mass_kg {mass_kg!r}",
        _truth.NON_FINITE_TORQUE: "torque_B_Nm or wheel_torque_cmd_Nm contains a non-finite "
                                  "value",
        _truth.BAD_SHAPE: f"force_B_N and torque_B_Nm must have shape (3,) and "
                          f"wheel_torque_cmd_Nm shape ({n_wheels},)",
    }[status]
