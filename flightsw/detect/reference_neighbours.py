"""Plain numpy reference of the star-matching kernel (``_stars.pyx``), for the tests only."""
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
