"""A cube-sphere grid of sky cells: the index for cone searches and the unit of faint-star generation.

Each of the six cube faces (+x, -x, +y, -y, +z, -z) is cut into n x n cells in gnomonic
coordinates (a, b) in [-1, 1]^2; a direction u on face f has (a, b) = (u.e1, u.e2) / |u.n|.
Cells span 90/n deg at the face centre and half that at the face corners.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

# Face normal, first and second tangent axes (right-handed: e1 x e2 = n).
_FACE_AXES = np.array(
    [
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        [[-1, 0, 0], [0, 0, 1], [0, 1, 0]],
        [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
        [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
        [[0, 0, 1], [1, 0, 0], [0, 1, 0]],
        [[0, 0, -1], [0, 1, 0], [1, 0, 0]],
    ],
    dtype=float,
)


def _gnomonic_rectangle_solid_angle(a, b):
    """Solid angle [sr] of the gnomonic rectangle [0, a] x [0, b] on a cube face (signed)."""
    return np.arctan(a * b / np.sqrt(1.0 + a * a + b * b))


@dataclass(frozen=True)
class SkyGrid:
    """Cube-sphere cells; cell id = face * n^2 + i * n + j with i along e1 and j along e2."""

    n: int = 32

    def __post_init__(self):
        if not 1 <= self.n <= 1024:
            raise ValueError("SkyGrid.n must lie in [1, 1024]")
        edges = np.linspace(-1.0, 1.0, self.n + 1)
        a0, b0 = np.meshgrid(edges[:-1], edges[:-1], indexing="ij")
        a1, b1 = np.meshgrid(edges[1:], edges[1:], indexing="ij")
        omega = (
            _gnomonic_rectangle_solid_angle(a1, b1)
            - _gnomonic_rectangle_solid_angle(a0, b1)
            - _gnomonic_rectangle_solid_angle(a1, b0)
            + _gnomonic_rectangle_solid_angle(a0, b0)
        )
        ac, bc = (a0 + a1) / 2, (b0 + b1) / 2
        centres, radii, bounds = [], [], []
        for f in range(6):
            nrm, e1, e2 = _FACE_AXES[f]
            centre = nrm + ac[..., None] * e1 + bc[..., None] * e2
            centre /= np.linalg.norm(centre, axis=-1, keepdims=True)
            radius = np.zeros_like(ac)
            for ca, cb in ((a0, b0), (a0, b1), (a1, b0), (a1, b1)):
                corner = nrm + ca[..., None] * e1 + cb[..., None] * e2
                corner /= np.linalg.norm(corner, axis=-1, keepdims=True)
                radius = np.maximum(radius, np.arccos(np.clip(np.sum(corner * centre, -1), -1, 1)))
            centres.append(centre.reshape(-1, 3))
            radii.append(radius.ravel())
            bounds.append(np.stack([a0, a1, b0, b1], axis=-1).reshape(-1, 4))
        object.__setattr__(self, "cell_centres", np.concatenate(centres))
        object.__setattr__(self, "cell_radii_rad", np.concatenate(radii))
        object.__setattr__(self, "cell_bounds_ab", np.concatenate(bounds))
        object.__setattr__(self, "cell_solid_angle_sr", np.tile(omega.ravel(), 6))
        object.__setattr__(self, "_cos_radii", np.cos(self.cell_radii_rad))
        object.__setattr__(self, "_sin_radii", np.sin(self.cell_radii_rad))

    @property
    def n_cells(self) -> int:
        return 6 * self.n * self.n

    def cell_of(self, u):
        """Cell id of each unit vector in u (n, 3)."""
        return _cell_of(np.ascontiguousarray(u, dtype=float).reshape(-1, 3), self.n, _FACE_AXES)

    def cell_of_reference(self, u):
        """Plain-numpy reference for cell_of."""
        u = np.asarray(u, dtype=float)
        axis = np.argmax(np.abs(u), axis=1)
        negative = u[np.arange(len(u)), axis] < 0
        face = 2 * axis + negative
        nrm, e1, e2 = _FACE_AXES[face, 0], _FACE_AXES[face, 1], _FACE_AXES[face, 2]
        depth = np.sum(u * nrm, axis=1)
        a = np.sum(u * e1, axis=1) / depth
        b = np.sum(u * e2, axis=1) / depth
        i = np.clip(((a + 1.0) * 0.5 * self.n).astype(np.int64), 0, self.n - 1)
        j = np.clip(((b + 1.0) * 0.5 * self.n).astype(np.int64), 0, self.n - 1)
        return face * self.n * self.n + i * self.n + j

    def face_axes(self, cell):
        """(normal, e1, e2) of the face holding each cell id."""
        return _FACE_AXES[np.asarray(cell) // (self.n * self.n)]

    def cells_in_cone(self, axis_N, radius_rad):
        """Ids of every cell that may hold a direction within radius_rad of the unit vector axis_N."""
        if not 0 <= radius_rad < np.pi / 2:
            raise ValueError("cone radius must lie in [0, pi/2) rad")
        axis = np.asarray(axis_N, dtype=float)
        return _cells_in_cone(self.cell_centres, self._cos_radii, self._sin_radii, axis, radius_rad)


@njit(cache=True)
def _cells_in_cone(centres, cos_radii, sin_radii, axis, radius_rad):
    # angle(centre, axis) <= radius + cell radius  <=>  dot >= cos(radius + cell radius)
    cos_r, sin_r = np.cos(radius_rad), np.sin(radius_rad)
    out = np.empty(len(centres), dtype=np.int64)
    count = 0
    for k in range(len(centres)):
        dot = centres[k, 0] * axis[0] + centres[k, 1] * axis[1] + centres[k, 2] * axis[2]
        if dot >= cos_r * cos_radii[k] - sin_r * sin_radii[k]:
            out[count] = k
            count += 1
    return out[:count]


@njit(cache=True)
def _cell_of(u, n, face_axes):
    # the face of the largest |component| (the first on ties), then the gnomonic (a, b) on it
    out = np.empty(len(u), dtype=np.int64)
    for k in range(len(u)):
        axis = 0
        if abs(u[k, 1]) > abs(u[k, axis]):
            axis = 1
        if abs(u[k, 2]) > abs(u[k, axis]):
            axis = 2
        face = 2 * axis + (1 if u[k, axis] < 0 else 0)
        nrm, e1, e2 = face_axes[face, 0], face_axes[face, 1], face_axes[face, 2]
        depth = u[k, 0] * nrm[0] + u[k, 1] * nrm[1] + u[k, 2] * nrm[2]
        a = (u[k, 0] * e1[0] + u[k, 1] * e1[1] + u[k, 2] * e1[2]) / depth
        b = (u[k, 0] * e2[0] + u[k, 1] * e2[1] + u[k, 2] * e2[2]) / depth
        i = min(max(int((a + 1.0) * 0.5 * n), 0), n - 1)
        j = min(max(int((b + 1.0) * 0.5 * n), 0), n - 1)
        out[k] = face * n * n + i * n + j
    return out
