"""Attitude truth of the plant: rigid body with reaction wheels, and the project's quaternions.

RigidBody(inertia_B_kgm2, wheels=..., q_BN=..., omega_BN_B=...)   .step(dt_s, wheel_cmd, torque)
ReactionWheels(spin_axes_B, spin_inertia_kgm2, max_torque_Nm, max_momentum_Nms)
quat_mult, quat_conj, quat_normalize, quat_to_dcm, dcm_to_quat   scalar-first, Hamilton
"""

from hil.attitude.quaternion import dcm_to_quat, quat_conj, quat_mult, quat_normalize, quat_to_dcm
from hil.attitude.rigid_body import DEFAULT_MAX_SUBSTEP_ANGLE_RAD, DEFAULT_MAX_SUBSTEP_S, RigidBody
from hil.attitude.wheels import ReactionWheels

__all__ = [
    "DEFAULT_MAX_SUBSTEP_ANGLE_RAD",
    "DEFAULT_MAX_SUBSTEP_S",
    "ReactionWheels",
    "RigidBody",
    "dcm_to_quat",
    "quat_conj",
    "quat_mult",
    "quat_normalize",
    "quat_to_dcm",
]
