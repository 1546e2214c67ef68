"""Reaction wheel assembly: spin axes, rotor inertias and the limits of each wheel's drive."""

from dataclasses import dataclass

import numpy as np

# elevation of pyramid spin axes above the base plane for equal authority about all axes
EQUAL_AUTHORITY_ELEVATION_RAD = float(np.arctan(np.sqrt(0.5)))


@dataclass(frozen=True)
class ReactionWheels:
    """n reaction wheels fixed in the body frame B.

    spin_axes_B: (n, 3) spin axis of each wheel in B (normalised here).
    spin_inertia_kgm2: (n,) rotor moment of inertia about its spin axis.
    max_torque_Nm: (n,) largest motor torque magnitude the drive applies.
    max_momentum_Nms: (n,) momentum capacity: largest |J_s Omega| with Omega the rotor speed
        relative to the body; max speed = max_momentum / J_s.
    """

    spin_axes_B: np.ndarray
    spin_inertia_kgm2: np.ndarray
    max_torque_Nm: np.ndarray
    max_momentum_Nms: np.ndarray

    def __post_init__(self):
        axes = np.atleast_2d(np.asarray(self.spin_axes_B, dtype=np.float64))
        if axes.ndim != 2 or axes.shape[1] != 3 or axes.shape[0] == 0:
            raise ValueError(f"spin_axes_B must have shape (n, 3), n >= 1, got {axes.shape}")
        n = axes.shape[0]
        norms = np.linalg.norm(axes, axis=1)
        if not (np.isfinite(norms).all() and (norms > 0.0).all()):
            raise ValueError("every spin axis must be finite and non-zero")
        object.__setattr__(self, "spin_axes_B", axes / norms[:, np.newaxis])
        for name in ("spin_inertia_kgm2", "max_torque_Nm", "max_momentum_Nms"):
            values = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (n,))
            if not (np.isfinite(values).all() and (values > 0.0).all()):
                raise ValueError(f"{name} must be finite and > 0 for every wheel, got {values}")
            object.__setattr__(self, name, values.copy())

    @property
    def count(self):
        return self.spin_axes_B.shape[0]

    @property
    def max_speed_rad_s(self):
        return self.max_momentum_Nms / self.spin_inertia_kgm2

    @classmethod
    def pyramid(cls, *, elevation_rad=EQUAL_AUTHORITY_ELEVATION_RAD, spin_inertia_kgm2=0.01,
                max_torque_Nm=0.1, max_momentum_Nms=1.0):
        """Four wheels in the classic pyramid about +z of B: axes at `elevation_rad` above the
        x-y plane, at azimuths 45, 135, 225, 315 deg (the default elevation, atan(1/sqrt(2)) =
        35.26 deg, gives equal authority about all three axes: G^T G = 4/3 I)."""
        azimuths = np.radians([45.0, 135.0, 225.0, 315.0])
        axes = np.column_stack((np.cos(elevation_rad) * np.cos(azimuths),
                                np.cos(elevation_rad) * np.sin(azimuths),
                                np.full(4, np.sin(elevation_rad))))
        return cls(axes, spin_inertia_kgm2, max_torque_Nm, max_momentum_Nms)
