"""Attitude truth of the chaser: a rigid body with reaction wheels under external torque.

The equations of motion and their RK4 integration are in hil.attitude._rigid_body (numba);
this class holds the configuration and the state, checks input, and reports the physical
quantities the plant's sensors and the tests need. The model, the state, the applied wheel
torques and the kernel's scratch live in one packed array, which a fused stepper that advances
the attitude inside its own kernel (hil.plant.truth) gets from `RigidBody.kernel_buffer()`.
"""

import math

import numpy as np

from hil.attitude import _rigid_body as _kernel
from hil.attitude.quaternion import quat_to_dcm

DEFAULT_MAX_SUBSTEP_S = 1.0
DEFAULT_MAX_SUBSTEP_ANGLE_RAD = 0.025

_STEP_ERRORS = {
    _kernel.BAD_STEP: "dt_s must be finite and >= 0, got {dt_s!r}",
    _kernel.NON_FINITE_INPUT: "wheel_torque_cmd_Nm or ext_torque_B_Nm contains a non-finite value",
}


class RigidBody:
    """Rigid spacecraft with optional reaction wheels; attitude q_BN, rate omega_BN_B.

    inertia_B_kgm2: (3, 3) inertia of the whole spacecraft, rotors included, about its centre of
        mass, in B.
    wheels: ReactionWheels or None.
    q_BN: initial attitude (scalar-first quaternion, normalised here); omega_BN_B: initial rate
        (rad/s, B); wheel_speed_rad_s: (n,) initial rotor speeds relative to the body (rad/s).
    max_substep_s, max_substep_angle_rad: longest RK4 substep (s), and largest turn (rad) of the
        motion's fastest rate (body rate, or the precession the wheels' momentum causes) in one
        substep; each step is cut into as many equal substeps as both need. RK4's error grows
        as the fifth power of that angle: the defaults keep the attitude error of a body
        tumbling at 0.1-0.4 rad/s, or pointing with wheels holding up to 5 N m s, under
        ~3e-7 rad per hour (tests/hil/test_attitude.py measures it).
    """

    def __init__(self, inertia_B_kgm2, *, wheels=None, q_BN=(1.0, 0.0, 0.0, 0.0),
                 omega_BN_B=(0.0, 0.0, 0.0), wheel_speed_rad_s=None,
                 max_substep_s=DEFAULT_MAX_SUBSTEP_S,
                 max_substep_angle_rad=DEFAULT_MAX_SUBSTEP_ANGLE_RAD):
        inertia = np.asarray(inertia_B_kgm2, dtype=np.float64)
        if inertia.shape != (3, 3) or not np.isfinite(inertia).all():
            raise ValueError(f"inertia_B_kgm2 must be a finite (3, 3) matrix, got {inertia!r}")
        if not np.allclose(inertia, inertia.T, rtol=1e-12, atol=0.0):
            raise ValueError("inertia_B_kgm2 must be symmetric")
        for name, value in (("max_substep_s", max_substep_s),
                            ("max_substep_angle_rad", max_substep_angle_rad)):
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        if wheels is None:
            axes, spin_inertia = np.zeros((0, 3)), np.zeros(0)
            max_torque, max_momentum = np.zeros(0), np.zeros(0)
        else:
            axes, spin_inertia = wheels.spin_axes_B, wheels.spin_inertia_kgm2
            max_torque, max_momentum = wheels.max_torque_Nm, wheels.max_momentum_Nms
        n = axes.shape[0]
        self.inertia_B_kgm2 = inertia
        self.wheels = wheels
        # body inertia less the rotors' axial inertia J': the rotors' axial momentum is in h
        self._inertia = inertia - np.einsum("i,ij,ik->jk", spin_inertia, axes, axes)
        if np.linalg.eigvalsh(self._inertia).min() <= 0.0:
            raise ValueError("inertia less the wheels' axial inertia must be positive definite")
        inertia_inv = np.linalg.inv(self._inertia)
        self_gain = 1.0 + spin_inertia * np.einsum("ij,jk,ik->i", axes, inertia_inv, axes)
        model = _kernel.pack_model(self._inertia, inertia_inv, axes, spin_inertia, self_gain,
                                   max_torque, max_momentum, float(max_substep_s),
                                   float(max_substep_angle_rad))
        self._axes = axes
        self._spin_inertia = spin_inertia
        # one array for the life of the object (hil.attitude._rigid_body's layout), and views
        self._packed = _kernel.pack_body(model, n)
        _, self._x, self._applied, _ = _kernel.unpack_body.py_func(self._packed)
        self._zero_cmd = np.zeros(n)
        self._zero_torque = np.zeros(3)
        self.set_state(q_BN, omega_BN_B,
                       np.zeros(n) if wheel_speed_rad_s is None else wheel_speed_rad_s)

    def set_state(self, q_BN, omega_BN_B, wheel_speed_rad_s):
        """Set attitude (normalised here), body rate (rad/s, B) and rotor speeds (rad/s)."""
        q = np.asarray(q_BN, dtype=np.float64)
        w = np.asarray(omega_BN_B, dtype=np.float64)
        speeds = np.asarray(wheel_speed_rad_s, dtype=np.float64)
        if q.shape != (4,) or not np.isfinite(q).all() or np.linalg.norm(q) == 0.0:
            raise ValueError(f"q_BN must be a finite non-zero 4-vector, got {q_BN!r}")
        if w.shape != (3,) or not np.isfinite(w).all():
            raise ValueError(f"omega_BN_B must be a finite 3-vector, got {omega_BN_B!r}")
        if speeds.shape != self._applied.shape or not np.isfinite(speeds).all():
            raise ValueError(f"wheel_speed_rad_s must be finite with shape "
                             f"{self._applied.shape}, got {wheel_speed_rad_s!r}")
        self._x[:4] = q / np.linalg.norm(q)
        self._x[4:7] = w
        self._x[7:] = self._spin_inertia * (speeds + self._axes @ w)

    def step(self, dt_s, wheel_torque_cmd_Nm=None, ext_torque_B_Nm=None):
        """Advance the attitude by dt_s (s) >= 0 with torques held over the step.

        wheel_torque_cmd_Nm: (n,) commanded motor torque on each rotor (N m; the body feels the
            opposite), clipped by the drives to their torque and momentum limits; None = 0.
        ext_torque_B_Nm: (3,) external torque on the body in B (N m), e.g. thrusters; None = 0.
        The motor torques actually applied are then in `wheel_torque_applied_Nm`.
        """
        cmd = self._zero_cmd if wheel_torque_cmd_Nm is None else np.asarray(
            wheel_torque_cmd_Nm, dtype=np.float64)
        torque = self._zero_torque if ext_torque_B_Nm is None else np.asarray(
            ext_torque_B_Nm, dtype=np.float64)
        if cmd.shape != self._applied.shape:
            raise ValueError(f"wheel_torque_cmd_Nm must have shape {self._applied.shape}, "
                             f"got {cmd.shape}")
        if torque.shape != (3,):
            raise ValueError(f"ext_torque_B_Nm must have shape (3,), got {torque.shape}")
        status = _kernel.step_packed_kernel(self._packed, float(dt_s), cmd, torque)
        if status != _kernel.OK:
            raise ValueError(_STEP_ERRORS[status].format(dt_s=dt_s))

    def kernel_buffer(self) -> np.ndarray:
        """The packed array (layout of hil.attitude._rigid_body) that holds this body's model and
        state, for a stepper that advances it in its own compiled call (hil.plant.truth) with
        `_rigid_body.step_packed_kernel`: the same array for this object's life."""
        return self._packed

    @property
    def wheel_torque_applied_Nm(self):
        """Motor torques (N m) the drives applied over the last step, after saturation."""
        return self._applied.copy()

    @property
    def q_BN(self):
        return self._x[:4].copy()

    @property
    def omega_BN_B(self):
        return self._x[4:7].copy()

    @property
    def C_BN(self):
        return quat_to_dcm(self._x[:4])

    @property
    def wheel_momentum_Nms(self):
        """Rotor angular momentum relative to the body, J_s Omega (N m s), per wheel."""
        return self._x[7:] - self._spin_inertia * (self._axes @ self._x[4:7])

    @property
    def wheel_speed_rad_s(self):
        """Rotor speed relative to the body, Omega (rad/s), per wheel (what a tachometer reads)."""
        return self.wheel_momentum_Nms / self._spin_inertia

    def angular_momentum_B(self):
        """Total angular momentum of body and rotors, H = J' omega + G h (N m s), in B."""
        return self._inertia @ self._x[4:7] + self._axes.T @ self._x[7:]

    def angular_momentum_N(self):
        """Total angular momentum (N m s) in N: constant without external torque."""
        return self.C_BN.T @ self.angular_momentum_B()

    def kinetic_energy_J(self):
        """Rotational kinetic energy of body and rotors, 1/2 w.J'w + sum h_i^2 / (2 J_s,i) (J)."""
        w = self._x[4:7]
        return 0.5 * w @ self._inertia @ w + 0.5 * np.sum(self._x[7:] ** 2 / self._spin_inertia)
