"""The navigation camera's geometry: a pinhole mounted in the body.

Camera frame C: boresight +z, +x along increasing pixel column, +y along increasing row.
Pinhole projection (Hartley & Zisserman, Multiple View Geometry, 2nd ed., eq. 6.1 with zero
skew and square pixels): x_px = cx + f X_C / Z_C, y_px = cy + f Y_C / Z_C with the principal
point (cx, cy) = ((W - 1) / 2, (H - 1) / 2) (pixel centres on integers) and the focal length
f = (W / 2) / tan(fov / 2) in pixels, fov the full field across the columns.
"""
from dataclasses import dataclass, field

import numpy as np

from flightsw.detect.rotation import dcm_from_quaternion, unit_quaternion


@dataclass(frozen=True)
class CameraModel:
    """n_cols x n_rows pixels, fov_deg across the columns, attitude q_CB in the body."""

    n_cols: int = 1024
    n_rows: int = 1024
    fov_deg: float = 10.0
    q_CB: tuple = (1.0, 0.0, 0.0, 0.0)
    f_px: float = field(init=False)
    C_CB: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not (isinstance(self.n_cols, (int, np.integer)) and isinstance(self.n_rows, (int, np.integer))
                and self.n_cols >= 8 and self.n_rows >= 8):
            raise ValueError(f"camera must be at least 8x8 pixels, got {self.n_cols}x{self.n_rows}")
        if not 0.0 < self.fov_deg < 120.0:
            raise ValueError(f"fov_deg must lie in (0, 120), got {self.fov_deg}")
        q_CB = unit_quaternion(self.q_CB, "q_CB")
        object.__setattr__(self, "q_CB", tuple(float(v) for v in q_CB))
        object.__setattr__(self, "f_px", (self.n_cols / 2.0) / np.tan(np.radians(self.fov_deg) / 2.0))
        c_cb = dcm_from_quaternion(q_CB)
        c_cb.setflags(write=False)
        object.__setattr__(self, "C_CB", c_cb)

    @property
    def principal_point_px(self) -> tuple[float, float]:
        return (self.n_cols - 1) / 2.0, (self.n_rows - 1) / 2.0

    @property
    def half_diagonal_rad(self) -> float:
        """Angle from the boresight to a frame corner."""
        return float(np.arctan(np.hypot(self.n_cols, self.n_rows) / (2.0 * self.f_px)))

    @property
    def pixel_rad(self) -> float:
        """Angle subtended by one pixel at the boresight."""
        return 1.0 / self.f_px

    def C_CN(self, q_BN) -> np.ndarray:
        return self.C_CB @ dcm_from_quaternion(unit_quaternion(q_BN, "q_BN"))

    def project(self, u_C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel (x, y) of camera-frame directions (n, 3), and whether each is in front (Z_C > 0)."""
        u_C = np.atleast_2d(u_C)
        z = u_C[:, 2]
        front = z > 1e-12
        safe_z = np.where(front, z, 1.0)
        cx, cy = self.principal_point_px
        return cx + self.f_px * u_C[:, 0] / safe_z, cy + self.f_px * u_C[:, 1] / safe_z, front

    def unproject(self, x_px, y_px) -> np.ndarray:
        """Unit camera-frame directions (n, 3) of pixel positions."""
        cx, cy = self.principal_point_px
        v = np.stack([(np.asarray(x_px, float) - cx) / self.f_px,
                      (np.asarray(y_px, float) - cy) / self.f_px,
                      np.ones(np.shape(x_px))], axis=-1)
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    def unproject_jacobian(self, u_C: np.ndarray) -> np.ndarray:
        """d u_C / d (x, y): (n, 3, 2), the change of the unit direction per pixel of centroid.

        u = v / |v| with v = ((x - cx)/f, (y - cy)/f, 1): du = (I - u u^T) dv / |v|, and
        dv/dx = e_x / f, dv/dy = e_y / f.
        """
        u_C = np.atleast_2d(u_C)
        inv_norm = u_C[:, 2]
        projector = np.eye(3) - u_C[:, :, None] * u_C[:, None, :]
        return projector[:, :, :2] * (inv_norm / self.f_px)[:, None, None]

    def inside(self, x_px, y_px, margin_px: float = 0.0) -> np.ndarray:
        """Whether pixel positions lie in the frame shrunk by margin_px (grown if negative)."""
        x_px, y_px = np.asarray(x_px), np.asarray(y_px)
        return ((x_px >= -0.5 + margin_px) & (x_px <= self.n_cols - 0.5 - margin_px)
                & (y_px >= -0.5 + margin_px) & (y_px <= self.n_rows - 0.5 - margin_px))
