"""Plain numpy references of the neighbour-search kernels (``_neighbours.pyx``), for the tests only."""
import numpy as np


def mutual_nearest(px, py, sx, sy, gate_px) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i_pred, i_src): each the other's nearest over all points, within the source's gate.

    The full distance matrix; numpy.argmin breaks ties towards the lower index.
    """
    px, py, sx, sy = (np.asarray(a, dtype=float) for a in (px, py, sx, sy))
    if len(px) == 0 or len(sx) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    with np.errstate(invalid="ignore"):
        d2 = (px[:, None] - sx[None, :]) ** 2 + (py[:, None] - sy[None, :]) ** 2
    d2 = np.where(np.isfinite(d2), d2, np.inf)
    nearest_src = np.argmin(d2, axis=1)
    nearest_pred = np.argmin(d2, axis=0)
    pred = np.arange(len(px))
    gate = np.broadcast_to(np.asarray(gate_px, dtype=float), (len(sx),))
    ok = ((nearest_pred[nearest_src] == pred) & np.isfinite(d2[pred, nearest_src])
          & (d2[pred, nearest_src] <= gate[nearest_src] ** 2))
    return pred[ok].astype(np.int64), nearest_src[ok].astype(np.int64)


def nearest_within(qx, qy, gate, x, y) -> np.ndarray:
    """For each query the index of the nearest point (lowest index on ties) if within its gate, else -1."""
    qx, qy, x, y = (np.asarray(a, dtype=float) for a in (qx, qy, x, y))
    out = np.full(len(qx), -1, np.int64)
    if len(qx) == 0 or len(x) == 0:
        return out
    with np.errstate(invalid="ignore"):
        d2 = (qx[:, None] - x[None, :]) ** 2 + (qy[:, None] - y[None, :]) ** 2
    d2 = np.where(np.isfinite(d2), d2, np.inf)
    nearest = np.argmin(d2, axis=1)
    ok = d2[np.arange(len(qx)), nearest] <= np.asarray(gate, dtype=float) ** 2
    out[ok] = nearest[ok]
    return out


def pairs_within(qx, qy, radius, x, y) -> tuple[np.ndarray, np.ndarray]:
    """All (i_query, i_point) with the point within the query's radius, sorted by query then point."""
    qx, qy, x, y = (np.asarray(a, dtype=float) for a in (qx, qy, x, y))
    if len(qx) == 0 or len(x) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    with np.errstate(invalid="ignore"):
        d2 = (qx[:, None] - x[None, :]) ** 2 + (qy[:, None] - y[None, :]) ** 2
    iq, ip = np.nonzero(d2 <= np.asarray(radius, dtype=float)[:, None] ** 2)
    return iq.astype(np.int64), ip.astype(np.int64)
