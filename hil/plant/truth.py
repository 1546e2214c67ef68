"""The plant's truth step: every orbit and the chaser's attitude advanced in one compiled call.

    truth = PlantTruth(orbits, body)       # row 0 of `orbits` is the chaser, `body` its attitude
    truth.step(dt_s, force_B_N, mass_kg, torque_B_Nm, wheel_torque_cmd_Nm)

does, in one numba call (hil.plant._truth), what these three calls do:

    accel_N = np.zeros((n, 3))
    accel_N[0] = quat_to_dcm(body.q_BN).T @ (force_B_N / mass_kg)
    orbits.step(dt_s, accel_N)
    body.step(dt_s, wheel_torque_cmd_Nm, torque_B_Nm)

on the same state arrays (`Orbits.kernel_buffers`, `RigidBody.kernel_buffers`), so `orbits` and
`body` report the truth as before. The thrust is turned into ECI with the attitude at the start
of the step and held over it, as the thrusters' window-averaged force is (hil.thrusters). The
results equal those of the three calls to rounding: bit for bit without thrust, within an ulp
of the thrust acceleration with it (numpy's 3x3 product may sum in another order);
tests/hil/test_plant_truth.py checks both.
"""

import numpy as np

from hil.orbit.propagate import KERNEL_ERRORS
from hil.plant import _truth


class PlantTruth:
    """Steps `orbits` (hil.orbit.Orbits, row 0 the chaser) and the chaser's attitude `body`
    (hil.attitude.RigidBody) together; both objects keep holding and reporting the state."""

    def __init__(self, orbits, body):
        self.orbits = orbits
        self.body = body
        orbit, attitude = orbits.kernel_buffers(), body.kernel_buffers()
        self._accel_N = np.zeros((orbit.states.shape[0], 3))
        self._n_wheels = attitude.applied.shape[0]
        self._no_wheel_cmd = np.zeros(self._n_wheels)
        self._no_torque = np.zeros(3)
        # the kernel's leading arguments, the same arrays every step
        self._buffers = (orbit.states, orbit.scratch, orbit.inv_ballistic, orbit.params,
                         attitude.x, attitude.model, attitude.applied, attitude.work,
                         self._accel_N)

    @property
    def thrust_accel_N(self):
        """(n, 3) thrust acceleration (m/s^2, ECI) held over the last step, a copy."""
        return self._accel_N.copy()

    def step(self, dt_s, force_B_N, mass_kg, torque_B_Nm=None, wheel_torque_cmd_Nm=None):
        """Advance every orbit and the chaser's attitude by dt_s (s) >= 0.

        force_B_N (3,): thrust force on the chaser (N, B); mass_kg its mass; torque_B_Nm (3,):
        external torque about its centre of mass (N m, B), None = 0; wheel_torque_cmd_Nm (n,):
        commanded wheel motor torques (N m), None = 0. All are held over the step. On bad input,
        or a spacecraft ending inside the Earth, raises ValueError and changes nothing.
        """
        force = _vector(force_B_N, 3, "force_B_N")
        torque = self._no_torque if torque_B_Nm is None else _vector(torque_B_Nm, 3,
                                                                      "torque_B_Nm")
        wheel_cmd = self._no_wheel_cmd if wheel_torque_cmd_Nm is None else _vector(
            wheel_torque_cmd_Nm, self._n_wheels, "wheel_torque_cmd_Nm")
        status = _truth.truth_step_kernel(*self._buffers, float(dt_s), float(mass_kg), force,
                                          torque, wheel_cmd)
        if status != _truth.OK:
            raise ValueError(_error_message(status, dt_s, mass_kg))


def _vector(value, size, name):
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}")
    return array


def _error_message(status, dt_s, mass_kg):
    if status >= _truth.ORBIT_ERROR:
        return KERNEL_ERRORS[status - _truth.ORBIT_ERROR]
    return {
        _truth.BAD_STEP: f"dt_s must be finite and >= 0, got {dt_s!r}",
        _truth.BAD_THRUST: f"force_B_N must be finite and mass_kg finite and > 0, "
                           f"got mass_kg {mass_kg!r}",
        _truth.NON_FINITE_TORQUE: "torque_B_Nm or wheel_torque_cmd_Nm contains a non-finite value",
    }[status]
