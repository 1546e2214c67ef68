"""Reaction-control thruster layout: geometry, force/torque matrix, reference RCS.

The reference layout is twelve 1 N-class thrusters in four three-nozzle clusters on
the corners of a 0.5 m cube bus. The clusters sit on alternate corners (a regular
tetrahedron of corners), and every nozzle exhausts along the outward normal of one
of the three faces meeting at its corner, so no plume crosses the bus:

    cluster  corner (x, y, z)/h   nozzles: thrust direction (= -exhaust direction)
    C1       (+1, +1, +1)         T01 -x   T02 -y   T03 -z
    C2       (-1, -1, +1)         T04 +x   T05 +y   T06 -z
    C3       (+1, -1, -1)         T07 -x   T08 +y   T09 +z
    C4       (-1, +1, -1)         T10 +x   T11 -y   T12 +z

with h = 0.25 m (half the bus side) and each nozzle 0.02 m outboard of the face along
its exhaust. Each axis has two thrusters per sign whose moments about the centre
cancel, so pure forces need no torque trim; pairing a +x and a -x thruster on
different clusters gives a pure torque, so every force and torque direction is
reachable with non-negative thrusts (the matrix B is positively spanning). The body
frame origin is the bus geometric centre; the nominal centre of mass is slightly
offset, as on a real vehicle, which the allocation absorbs.

The pulse parameters are representative of small monopropellant/cold-gas valves:
a 10 ms minimum on-time (the minimum impulse bit at 1 N is 0.01 N s) and a 1 ms
valve-driver timing resolution.
"""
from dataclasses import dataclass

import numpy as np

HALF_SIDE_M = 0.25
NOZZLE_OUTBOARD_M = 0.02


def build_B(positions_B_m, directions_B, cg_B_m) -> np.ndarray:
    """Force/torque matrix B (6, N): rows force x, y, z (N per N) and torque x, y, z (m).

    Column j is [d_j; (r_j - r_cg) x d_j] for a thruster at r_j (m, body frame) with
    unit thrust direction d_j (body frame), so B @ u gives the body-frame force (N)
    and the torque about the centre of mass (N m) of thrusts u (N).
    """
    positions_B_m = _as_vectors(positions_B_m, "positions_B_m")
    directions_B = _as_vectors(directions_B, "directions_B")
    if positions_B_m.shape != directions_B.shape:
        raise ValueError(
            f"positions_B_m {positions_B_m.shape} and directions_B {directions_B.shape} differ"
        )
    norms = np.linalg.norm(directions_B, axis=1)
    if not np.all(np.abs(norms - 1.0) <= 1e-9):
        raise ValueError("directions_B must be unit vectors (thrust direction per thruster)")
    cg_B_m = np.asarray(cg_B_m, dtype=np.float64)
    if cg_B_m.shape != (3,) or not np.all(np.isfinite(cg_B_m)):
        raise ValueError(f"cg_B_m must be a finite 3-vector, got shape {cg_B_m.shape}")
    lever_B_m = positions_B_m - cg_B_m
    return np.ascontiguousarray(np.vstack([directions_B.T, np.cross(lever_B_m, directions_B).T]))


def _as_vectors(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, 3) with N >= 1, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


@dataclass(frozen=True)
class ThrusterLayout:
    """A reaction-control system as the flight software configures it.

    positions_B_m (N, 3) nozzle positions, body frame (m); directions_B (N, 3) unit
    thrust directions (opposite to the exhaust), body frame; thrust_max_N (N,) full
    thrust of each valve when open (N); cg_B_m (3,) centre of mass, body frame (m);
    min_on_time_s the shortest valve opening that gives a repeatable impulse;
    on_time_quantum_s the valve driver's timing resolution.
    """

    names: tuple
    positions_B_m: np.ndarray
    directions_B: np.ndarray
    thrust_max_N: np.ndarray
    cg_B_m: np.ndarray
    min_on_time_s: float
    on_time_quantum_s: float

    def __post_init__(self):
        for field in ("positions_B_m", "directions_B", "thrust_max_N", "cg_B_m"):
            frozen = np.array(getattr(self, field), dtype=np.float64)
            frozen.flags.writeable = False
            object.__setattr__(self, field, frozen)
        n = len(self.names)
        if self.thrust_max_N.shape != (n,) or not np.all(self.thrust_max_N > 0.0):
            raise ValueError("thrust_max_N must hold one positive thrust per thruster")
        if build_B(self.positions_B_m, self.directions_B, self.cg_B_m).shape[1] != n:
            raise ValueError("names, positions_B_m and directions_B must have one row per thruster")
        if not 0.0 < self.on_time_quantum_s <= self.min_on_time_s:
            raise ValueError("need 0 < on_time_quantum_s <= min_on_time_s")

    @property
    def B(self) -> np.ndarray:
        """Force/torque matrix (6, N) about the centre of mass; see build_B."""
        return build_B(self.positions_B_m, self.directions_B, self.cg_B_m)


def reference_layout() -> ThrusterLayout:
    """The twelve-thruster, four-cluster reference RCS of the module docstring."""
    corners = np.array([[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]], dtype=np.float64)
    positions, directions = [], []
    for corner in corners:
        for axis in range(3):
            exhaust = np.zeros(3)
            exhaust[axis] = corner[axis]
            positions.append(HALF_SIDE_M * corner + NOZZLE_OUTBOARD_M * exhaust)
            directions.append(-exhaust)
    n = len(positions)
    return ThrusterLayout(
        names=tuple(f"T{k + 1:02d}" for k in range(n)),
        positions_B_m=np.array(positions),
        directions_B=np.array(directions),
        thrust_max_N=np.full(n, 1.0),
        cg_B_m=np.array([0.010, -0.005, 0.030]),
        min_on_time_s=0.010,
        on_time_quantum_s=0.001,
    )
