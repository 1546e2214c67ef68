"""Neighbour searches between point sets in the image plane (pixels).

Star matching pairs predictions with sources one to one; track association finds, for each
predicted track position, the nearest detection in its gate; track initiation lists every
detection within reach of an earlier one.  Compiled (``_neighbours.pyx``, bucket grid, linear
time); ``reference_neighbours.py`` holds the numpy twins the tests compare against.
"""
import numpy as np

from flightsw.native import require

_neighbours = require("flightsw.detect._neighbours")


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def mutual_nearest(px, py, sx, sy, gate_px) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairs (i_pred, i_src): each the other's nearest, within the source's gate.

    gate_px: scalar or one gate per source.  Non-finite positions never match.
    """
    gate = np.broadcast_to(np.asarray(gate_px, dtype=np.float64), (len(sx),))
    return _neighbours.mutual_nearest(_f64(px), _f64(py), _f64(sx), _f64(sy), _f64(gate))


def nearest_within(qx, qy, gate_px, x, y) -> np.ndarray:
    """Index of the nearest point within each query's gate (scalar or per query), or -1."""
    gate = np.broadcast_to(np.asarray(gate_px, dtype=np.float64), (len(qx),))
    return _neighbours.nearest_within(_f64(qx), _f64(qy), _f64(gate), _f64(x), _f64(y))


def pairs_within(qx, qy, radius_px, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Every (i_query, i_point) with the point within the query's radius, sorted by query."""
    radius = np.broadcast_to(np.asarray(radius_px, dtype=np.float64), (len(qx),))
    return _neighbours.pairs_within(_f64(qx), _f64(qy), _f64(radius), _f64(x), _f64(y))
