"""The figure of a resolved target: centre and apparent radius of its disc from the lit limb.

A sunlit body seen at a phase angle shows a lit region bounded by its limb (an arc of the
disc's circle) and by the terminator (half an ellipse of the same centre and semi-major axis,
semi-minor R |cos(phase)|).  The light centroid lies towards the Sun, up to 4R/(3 pi) for a
half-lit disc, so it is a biased centre; the circle through the limb is not.  Steps:

1. background and noise from the border of a cutout around the source (median, 1.4826 MAD);
2. the lit region: pixels above max(threshold_sigma noise, threshold_fraction of the peak);
3. its boundary at sub-pixel precision: where the signal crosses the level between two
   neighbouring pixels, by linear interpolation (one point per crossing, rows and columns);
4. the circle with the most boundary pixels within inlier_px of it, over random triples
   (RANSAC; Fischler & Bolles 1981, Comm. ACM 24(6), 381): the limb outnumbers the part of
   the terminator that lies near any one circle;
5. an algebraic least-squares circle through its inliers (Kasa 1976, IEEE Trans. Instrum.
   Meas. 25(1), 8), refined by Gauss-Newton on the geometric distances, twice with the
   inliers of the refined circle.

Near the cusps the terminator stays within inlier_px of the limb circle and pulls the centre
a little towards the dark side's opposite (a few tenths of a pixel at large radii).  Falls back
to the centre and half-size of the lit region's bounding box when the boundary is too short.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Figure:
    """Centre (x_px, y_px) and radius_px of the disc; fitted: from a limb circle (else the box)."""

    x_px: float
    y_px: float
    radius_px: float
    fitted: bool


def circles_through(triples: np.ndarray):
    """Centres (n, 2) and radii (n,) of the circles through triples of points (n, 3, 2); NaN
    where the three points are collinear (circumcentre formula)."""
    (ax, ay), (bx, by), (cx, cy) = (triples[:, k].T for k in range(3))
    d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    d = np.where(np.abs(d) < 1e-9, np.nan, d)  # collinear or repeated points
    a2, b2, c2 = ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy
    ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    return np.stack([ux, uy], axis=1), np.hypot(ax - ux, ay - uy)


def fit_circle(points: np.ndarray, iterations: int = 10):
    """Least-squares circle (centre, radius): Kasa's algebraic fit, then Gauss-Newton."""
    x, y = points[:, 0], points[:, 1]
    A = np.stack([x, y, np.ones_like(x)], axis=1)
    sol, *_ = np.linalg.lstsq(A, x * x + y * y, rcond=None)
    centre = sol[:2] / 2.0
    radius = np.sqrt(max(sol[2] + centre @ centre, 1e-12))
    for _ in range(iterations):
        d = points - centre
        dist = np.maximum(np.linalg.norm(d, axis=1), 1e-12)
        J = np.column_stack([-d[:, 0] / dist, -d[:, 1] / dist, -np.ones_like(dist)])
        step, *_ = np.linalg.lstsq(J, -(dist - radius), rcond=None)
        centre, radius = centre + step[:2], radius + step[2]
        if np.abs(step).max() < 1e-6:
            break
    return centre, float(radius)


def level_crossings(signal: np.ndarray, level: float) -> np.ndarray:
    """(n, 2) (x, y) where the signal crosses level between row or column neighbours."""
    points = []
    for axis in (1, 0):
        a = signal[:, :-1] if axis == 1 else signal[:-1, :]
        b = signal[:, 1:] if axis == 1 else signal[1:, :]
        rows, cols = np.nonzero((a > level) != (b > level))
        t = (level - a[rows, cols]) / (b[rows, cols] - a[rows, cols])
        if axis == 1:
            points.append(np.stack([cols + t, rows], axis=1))
        else:
            points.append(np.stack([cols, rows + t], axis=1))
    return np.concatenate(points).astype(float)


def measure_figure(image: np.ndarray, x_px: float, y_px: float, size_px: float,
                   rng: np.random.Generator, threshold_sigma: float = 5.0,
                   threshold_fraction: float = 0.05, inlier_px: float = 0.3,
                   trials: int = 200, min_boundary: int = 12) -> Figure:
    """Figure of the resolved source near (x_px, y_px) whose extent is about size_px (px).

    image: 2-D frame in DN; rng: the generator of the RANSAC triples.  Raises ValueError if
    the cutout is outside the image.
    """
    half = int(np.ceil(2.0 * size_px + 6))
    x0, x1 = max(int(round(x_px)) - half, 0), min(int(round(x_px)) + half + 1, image.shape[1])
    y0, y1 = max(int(round(y_px)) - half, 0), min(int(round(y_px)) + half + 1, image.shape[0])
    if x1 - x0 < 5 or y1 - y0 < 5:
        raise ValueError(f"figure cutout around ({x_px:.1f}, {y_px:.1f}) lies outside the image")
    cut = image[y0:y1, x0:x1].astype(np.float64)
    border = np.concatenate([cut[:2].ravel(), cut[-2:].ravel(), cut[2:-2, :2].ravel(),
                             cut[2:-2, -2:].ravel()])
    background = np.median(border)
    noise = max(1.4826 * np.median(np.abs(border - background)), 1e-3)
    signal = cut - background
    level = max(threshold_sigma * noise, threshold_fraction * signal.max())
    mask = signal > level
    if not mask.any():
        return Figure(float(x_px), float(y_px), 0.0, False)
    rows, cols = np.nonzero(mask)
    box = Figure(x0 + 0.5 * (cols.min() + cols.max()), y0 + 0.5 * (rows.min() + rows.max()),
                 0.5 * max(cols.max() - cols.min(), rows.max() - rows.min()) + 0.5, False)
    edge = level_crossings(signal, level)
    if len(edge) < min_boundary:
        return box
    # a triple with a repeated point has no unique circle and comes out NaN
    triples = edge[rng.integers(0, len(edge), (trials, 3))]
    centres, radii = circles_through(triples)
    distance = np.linalg.norm(edge[None, :, :] - centres[:, None, :], axis=2)
    counts = np.sum(np.abs(distance - radii[:, None]) < inlier_px, axis=1)
    counts = np.where(np.isfinite(radii) & (radii <= 2 * half), counts, 0)
    best = int(np.argmax(counts))
    if counts[best] < min_boundary:
        return box
    centre, radius = centres[best], radii[best]
    for _ in range(2):
        inliers = edge[np.abs(np.linalg.norm(edge - centre, axis=1) - radius) < inlier_px]
        if len(inliers) < min_boundary:
            return box
        centre, radius = fit_circle(inliers)
    return Figure(float(x0 + centre[0]), float(y0 + centre[1]), radius, True)
