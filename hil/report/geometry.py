"""Truth geometry of a run: the chaser relative to the target in the target's RTN frame, read
between the truth samples, and the imaging coverage of the target's surface.

Truth is recorded at the plant's truth_rate_hz only; flight estimates and detections refer to
other times. Between two samples the relative position is read off the cubic Hermite
polynomial through the two positions and velocities (both in the rotating RTN frame, where the
velocity is the time derivative of the position components), so the error falls as the fourth
power of the sample interval: well under a metre at 10 s intervals and 2000 km range.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.orbit.frames import relative_rtn

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class RelativeTruth:
    """True chaser-minus-target state at the truth samples: t_ns (n,), r_CT_rtn (n, 3) m,
    v_CT_rtn (n, 3) m/s (seen in the rotating frame), the target's argument of latitude
    u_T_rad (n,)."""

    t_ns: np.ndarray
    r_CT_rtn: np.ndarray
    v_CT_rtn: np.ndarray
    u_T_rad: np.ndarray

    @classmethod
    def from_truth(cls, truth: dict) -> "RelativeTruth":
        """From the columns of truth.state (Recording.arrays)."""
        n = len(truth["t_ns"])
        r = np.empty((n, 3))
        v = np.empty((n, 3))
        for k in range(n):
            r[k], v[k] = relative_rtn(truth["r_TN_N"][k], truth["v_TN_N"][k],
                                      truth["r_BN_N"][k], truth["v_BN_N"][k])
        return cls(np.asarray(truth["t_ns"], dtype=np.int64), r, v,
                   argument_of_latitude(truth["r_TN_N"], truth["v_TN_N"]))

    @property
    def range_m(self) -> np.ndarray:
        return np.linalg.norm(self.r_CT_rtn, axis=1)

    def r_at(self, t_ns) -> np.ndarray:
        """(k, 3) relative position at sim times t_ns (k,), NaN outside the sampled span."""
        return hermite(self.t_ns, self.r_CT_rtn, self.v_CT_rtn, t_ns)

    def u_at(self, t_ns) -> np.ndarray:
        """The target's argument of latitude at t_ns, linear in the unwrapped angle."""
        t = np.asarray(t_ns, dtype=np.float64)
        return np.interp(t, self.t_ns.astype(np.float64), np.unwrap(self.u_T_rad),
                         left=np.nan, right=np.nan)


def argument_of_latitude(r_N, v_N) -> np.ndarray:
    """Argument of latitude (rad) of each ECI state (n, 3): the angle from the ascending node
    to the position, in the direction of motion (Vallado 2013, Algorithm 9, u = omega + nu)."""
    r = np.atleast_2d(np.asarray(r_N, dtype=np.float64))
    h = np.cross(r, np.atleast_2d(np.asarray(v_N, dtype=np.float64)))
    h_hat = h / np.linalg.norm(h, axis=1, keepdims=True)
    node = np.cross(np.array([0.0, 0.0, 1.0]), h_hat)
    node /= np.linalg.norm(node, axis=1, keepdims=True)
    in_plane = np.cross(h_hat, node)
    return np.arctan2(np.einsum("ij,ij->i", r, in_plane), np.einsum("ij,ij->i", r, node))


def hermite(t_ns, x, xdot, t_query_ns) -> np.ndarray:
    """Cubic Hermite interpolation of samples x (n, d) with derivatives xdot (n, d) per second,
    at sample times t_ns (n,), increasing; (k, d) at t_query_ns (k,), NaN outside [t0, tn]."""
    t = np.asarray(t_ns, dtype=np.int64)
    q = np.atleast_1d(np.asarray(t_query_ns, dtype=np.int64))
    out = np.full((len(q), x.shape[1]), np.nan)
    inside = (q >= t[0]) & (q <= t[-1]) if len(t) else np.zeros(len(q), dtype=bool)
    if len(t) == 1:
        out[inside] = x[0]
        return out
    k = np.clip(np.searchsorted(t, q[inside], side="right") - 1, 0, len(t) - 2)
    h_s = (t[k + 1] - t[k]) / NS_PER_S
    s = ((q[inside] - t[k]) / NS_PER_S / h_s)[:, None]
    h = h_s[:, None]
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    out[inside] = h00 * x[k] + h10 * h * xdot[k] + h01 * x[k + 1] + h11 * h * xdot[k + 1]
    return out


# -- coverage of the target's surface ----------------------------------------------------------
# The surface lattice and the visibility rule are those of the guidance's CoverageMap
# (flightsw.guidance.flyaround), rebuilt here because the plant does not import flight code;
# a test holds the two equal.
COVERAGE_LATTICE = 4000


def fibonacci_sphere(count: int) -> np.ndarray:
    """(count, 3) nearly uniform unit vectors (Gonzalez, Math. Geosci. 42, 2010)."""
    k = np.arange(count) + 0.5
    z = 1.0 - 2.0 * k / count
    phi = np.pi * (1.0 + np.sqrt(5.0)) * k
    rho = np.sqrt(1.0 - z * z)
    return np.column_stack([rho * np.cos(phi), rho * np.sin(phi), z])


def viewing_directions(r_CT_rtn, u_T_rad=None) -> np.ndarray:
    """(k, 3) unit directions from the target to the chaser, r_CT_rtn (k, 3): in the target's
    RTN frame, or with the target's argument of latitude u_T_rad (k,), in its orbit frame
    fixed in inertial space (RTN turned by -u about N: node line, its in-plane normal, N)."""
    d = np.asarray(r_CT_rtn, dtype=np.float64)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    if u_T_rad is None:
        return d
    c, s = np.cos(u_T_rad), np.sin(u_T_rad)
    return np.column_stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1], d[:, 2]])


def coverage_history(directions, max_incidence_rad, lattice=COVERAGE_LATTICE):
    """Fraction of the surface seen so far after each viewing direction (k,), and the seen
    flags of the lattice normals at the end: a surface normal s is seen once some direction
    d has s.d >= cos(max_incidence)."""
    normals = fibonacci_sphere(lattice)
    seen = np.zeros(lattice, dtype=bool)
    cos_max = np.cos(max_incidence_rad)
    fraction = np.empty(len(directions))
    for k, d in enumerate(np.asarray(directions, dtype=np.float64)):
        seen |= normals @ d >= cos_max
        fraction[k] = seen.mean()
    return fraction, seen
